"""ChainTracker: exact identities on tiny hand-made scenes.

A scene is a list of people per frame; each person is (key, box) with the
box in that frame. The helper turns it into nodes the way the network would:
the pair (box in t-1, box in t), or (box, box) for someone new.
"""
from typing import Dict, List, Optional, Tuple

import pytest
import torch

from mmdmw.models.trackers import ChainTracker

HIGH = 0.9  # a confident person score
W, H = 20.0, 40.0  # person box size in the scenes, pixels


def box_at(x: float, y: float = 0.0) -> List[float]:
    """A W x H person box with top-left (x, y), x1y1x2y2."""
    return [x, y, x + W, y + H]


def nodes_for(frame: Dict[str, List[float]],
              before: Dict[str, List[float]],
              order: Optional[List[str]] = None,
              scores: Optional[Dict[str, float]] = None,
              id_scores: Optional[Dict[str, float]] = None) -> Tuple:
    """Node tensors for one frame of a scene.

    Args:
        frame: key -> box in frame t of the people with a node.
        before: key -> box in frame t-1 (people absent there pair with
            themselves).
        order: order of the nodes; defaults to the keys of ``frame``.
        scores / id_scores: key -> score; default HIGH / 1.

    Returns:
        tuple: prev_bboxes (K, 4), cur_bboxes (K, 4), scores (K,),
        id_scores (K,).
    """
    keys = list(frame) if order is None else order
    cur = torch.tensor([frame[k] for k in keys]).reshape(-1, 4)
    prev = torch.tensor([before.get(k, frame[k]) for k in keys]).reshape(-1, 4)
    s = torch.tensor([(scores or {}).get(k, HIGH) for k in keys])
    ids = torch.tensor([(id_scores or {}).get(k, 1.0) for k in keys])
    return prev, cur, s, ids


def run(tracker: ChainTracker, scene: List[Dict[str, List[float]]],
        **kwargs) -> List[Dict[str, int]]:
    """Track a scene; return per frame key -> output id.

    Output boxes are mapped back to keys by exact equality with the input
    frame t boxes (matched and new tracks output their node's box).
    """
    out = []
    for t, frame in enumerate(scene):
        before = scene[t - 1] if t else {}
        res = tracker.track(*nodes_for(frame, before, **kwargs), frame_id=t)
        ids = {}
        for box, track_id in zip(res.bboxes.tolist(),
                                 res.instances_id.tolist()):
            key = next(k for k, v in frame.items() if v == box)
            ids[key] = track_id
        out.append(ids)
    return out


def test_output_fields_and_frame0_births():
    tracker = ChainTracker(init_score_thr=0.5)
    prev, cur, _, ids = nodes_for({'a': box_at(0), 'b': box_at(50)}, {})
    res = tracker.track(prev, cur, torch.tensor([0.9, 0.4]), ids, frame_id=0)
    assert set(res.keys()) == {'bboxes', 'scores', 'labels', 'instances_id'}
    # b's score 0.4 < init_score_thr: no birth
    assert res.instances_id.tolist() == [0]
    assert res.instances_id.dtype == torch.long
    assert res.labels.tolist() == [0]
    assert res.bboxes.tolist() == [box_at(0)]
    assert res.scores.tolist() == pytest.approx([0.9])


def test_low_score_continues_but_never_starts():
    tracker = ChainTracker(init_score_thr=0.5, score_thr=0.3)
    a0, a1, b1 = box_at(0), box_at(2), box_at(60)
    prev, cur, _, ids = nodes_for({'a': a0}, {})
    tracker.track(prev, cur, torch.tensor([0.9]), ids, frame_id=0)
    prev, cur, _, ids = nodes_for({'a': a1, 'b': b1}, {'a': a0})
    res = tracker.track(prev, cur, torch.tensor([0.4, 0.4]), ids, frame_id=1)
    # a continues at 0.4 >= score_thr; b at 0.4 < init_score_thr is not born
    assert res.instances_id.tolist() == [0]
    assert res.bboxes.tolist() == [a1]
    # below score_thr a node cannot even continue a track
    prev, cur, _, ids = nodes_for({'a': box_at(4)}, {'a': a1})
    res = tracker.track(prev, cur, torch.tensor([0.2]), ids, frame_id=2)
    assert res.instances_id.numel() == 0


def test_swapped_input_order_keeps_ids():
    scene = [{'a': box_at(x), 'b': box_at(100 - x)} for x in (0, 3, 6, 9)]
    orders = [['a', 'b'], ['b', 'a'], ['a', 'b'], ['b', 'a']]
    tracker = ChainTracker()
    for t, frame in enumerate(scene):
        before = scene[t - 1] if t else {}
        res = tracker.track(
            *nodes_for(frame, before, order=orders[t]), frame_id=t)
        by_x = dict(zip([b[0] for b in res.bboxes.tolist()],
                        res.instances_id.tolist()))
        assert by_x == {frame['a'][0]: 0, frame['b'][0]: 1}


def test_missing_three_frames_is_extrapolated_and_refound():
    step = 5.0
    truth = [{'a': box_at(10 + step * t)} for t in range(10)]
    scene = [f if t not in (4, 5, 6) else {} for t, f in enumerate(truth)]
    tracker = ChainTracker(velocity_smoothing=0.0, output_lost=True)
    for t, frame in enumerate(scene):
        res = tracker.track(*nodes_for(frame, truth[t - 1] if t else {}),
                            frame_id=t)
        assert res.instances_id.tolist() == [0]
        # velocity = node pair difference (step per frame from frame 1 on),
        # so the extrapolated box during the gap is exactly the true one
        assert res.bboxes.tolist() == [truth[t]['a']]
    assert tracker.memo.misses.tolist() == [0]


def test_lost_tracks_not_output_by_default():
    truth = [{'a': box_at(0), 'b': box_at(60)} for _ in range(3)]
    tracker = ChainTracker()
    tracker.track(*nodes_for(truth[0], {}), frame_id=0)
    res = tracker.track(*nodes_for({'a': box_at(0)}, truth[0]), frame_id=1)
    assert res.instances_id.tolist() == [0]
    assert len(tracker) == 2  # b is kept, lost, not shown
    assert tracker.memo.misses.tolist() == [0, 1]


@pytest.mark.parametrize('gap, same_id', [(2, True), (3, False)])
def test_dropped_after_num_frames_retain(gap, same_id):
    retain = 2
    scene = [{'a': box_at(0)}] + [{}] * gap + [{'a': box_at(0)}]
    tracker = ChainTracker(num_frames_retain=retain)
    out = run(tracker, scene)
    assert out[-1] == ({'a': 0} if same_id else {'a': 1})


def test_misses_are_consecutive_not_total():
    # 2 misses, back, 2 misses, back: never more than retain=2 in a row
    present = [1, 0, 0, 1, 0, 0, 1]
    scene = [{'a': box_at(0)} if p else {} for p in present]
    out = run(ChainTracker(num_frames_retain=2), scene)
    assert [o for o in out if o] == [{'a': 0}] * 3


@pytest.mark.parametrize('missing', [(), (13, 14)])
def test_crossing_people_keep_ids(missing):
    # a walks right, b walks left, b 10 px lower: at the crossing (x = 48)
    # their boxes overlap with IoU (30 * 20) / (2 * 800 - 600) = 0.6
    speed = 4.0
    truth = [{'a': box_at(speed * t), 'b': box_at(96 - speed * t, 10)}
             for t in range(25)]
    scene = [{k: v for k, v in f.items() if not (k == 'a' and t in missing)}
             for t, f in enumerate(truth)]
    tracker = ChainTracker()
    for t, frame in enumerate(scene):
        order = sorted(frame, reverse=bool(t % 2))  # shuffle input order
        res = tracker.track(
            *nodes_for(frame, truth[t - 1] if t else {}, order=order),
            frame_id=t)
        got = dict(zip(res.instances_id.tolist(), res.bboxes.tolist()))
        expected = {i: frame[k] for i, k in enumerate('ab') if k in frame}
        assert got == expected, f'frame {t}'


@pytest.mark.parametrize('motion_iou_weight, a_box', [(0.0, [-9, 0, 11, 40]),
                                                       (0.5, [15, 0, 35, 40])])
def test_motion_iou_weight_resolves_jittered_pairs(motion_iou_weight, a_box):
    # a at x=0 moving +10 px/frame, b at x=6 moving -10; the next nodes'
    # frame t-1 boxes are jittered towards the other person:
    #   node 1 (a's, cur x=15): prev x=5, IoU with a 600/1000 = 0.6, b 0.905
    #   node 2 (b's, cur x=-9): prev x=1, IoU with a 760/840 = 0.905, b 0.6
    # frame t-1 IoU alone swaps them (0.905 + 0.905 > 0.6 + 0.6); with the
    # moved boxes (a at x=10, b at x=-4) the frame t IoUs are 0.6 for the
    # right pairs and 40/1560 = 0.026 for the wrong ones, so at weight 0.5
    # the right assignment scores 1.2 against 0.93
    tracker = ChainTracker(velocity_smoothing=0.0,
                           motion_iou_weight=motion_iou_weight)
    start = {'a': box_at(-10), 'b': box_at(16)}
    first = {'a': box_at(0), 'b': box_at(6)}
    tracker.track(*nodes_for(start, {}), frame_id=0)
    tracker.track(*nodes_for(first, start), frame_id=1)
    prev = torch.tensor([box_at(5), box_at(1)])
    cur = torch.tensor([box_at(15), box_at(-9)])
    res = tracker.track(prev, cur, torch.full((2, ), HIGH), None, frame_id=2)
    got = dict(zip(res.instances_id.tolist(), res.bboxes.tolist()))
    assert got[0] == a_box


def test_empty_frames():
    tracker = ChainTracker(num_frames_retain=10)
    run(tracker, [{'a': box_at(0)}])
    for t in range(1, 31):
        res = tracker.track(torch.zeros(0, 4), torch.zeros(0, 4),
                            torch.zeros(0), torch.zeros(0), frame_id=t)
        assert res.bboxes.shape == (0, 4) and res.instances_id.numel() == 0
    assert tracker.empty and len(tracker) == 0
    prev, cur, s, i = nodes_for({'a': box_at(0)}, {})
    res = tracker.track(prev, cur, s, i, frame_id=31)
    assert res.instances_id.tolist() == [1]  # the counter was kept


def test_frame_id_zero_resets_ids():
    scene = [{'a': box_at(0), 'b': box_at(60)}] * 3
    tracker = ChainTracker()
    run(tracker, scene)
    prev, cur, s, i = nodes_for({'c': box_at(200)}, {})
    res = tracker.track(prev, cur, s, i, frame_id=0)
    assert res.instances_id.tolist() == [0]
    assert len(tracker) == 1 and tracker.num_tracks == 1


def test_id_score_gate():
    scene = [{'a': box_at(0)}, {'a': box_at(2)}]
    tracker = ChainTracker(id_score_thr=0.5)
    out = run(tracker, scene, id_scores={'a': 0.2})
    # frame 1: a's pair is not verified, so it starts a new track instead
    assert out == [{'a': 0}, {'a': 1}]
    out = run(ChainTracker(id_score_thr=None), scene, id_scores={'a': 0.2})
    assert out == [{'a': 0}, {'a': 0}]


def test_state_stays_flat_over_long_video():
    # 4 people at a time walking on a loop; every 100 frames one leaves and
    # a new one arrives, so tracks are born and dropped all along
    frames, retain, alive = 2000, 10, 4
    tracker = ChainTracker(num_frames_retain=retain)
    attributes = set(vars(tracker))  # no per-frame list or dict appears
    truth = []
    for t in range(frames):
        first = t // 100
        truth.append({str(p): box_at(100 * (p - first) + (t % 50), 5 * p)
                      for p in range(first, first + alive)})
    sizes, lengths = [], []
    for t, frame in enumerate(truth):
        tracker.track(*nodes_for(frame, truth[t - 1] if t else {}),
                      frame_id=t)
        sizes.append(sum(v.numel() for v in tracker.memo.values()))
        lengths.append(len(tracker))
        assert set(vars(tracker)) == attributes
    # at most the people alive plus those lost within the last retain frames
    assert max(lengths) <= alive + 1
    per_track = sizes[0] // alive
    assert max(sizes) <= (alive + 1) * per_track
    assert tracker.num_tracks > alive  # people did come and go


def test_registered_in_mmdet():
    from mmdet.registry import MODELS
    tracker = MODELS.build(dict(type='ChainTracker', match_iou_thr=0.6))
    assert isinstance(tracker, ChainTracker) and tracker.match_iou_thr == 0.6
