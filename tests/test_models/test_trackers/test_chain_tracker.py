"""ChainTracker: exact identities on tiny hand-made scenes.

A scene is a list of people per frame; each person is (key, box) with the
box in that frame. The helper turns it into nodes the way the network would:
the pair (box in t-1, box in t), or (box, box) for someone new.

Output boxes are Kalman posteriors (``output_filtered``), close to but not
always equal to the node's box, so outputs are mapped back to people by the
nearest input box (people in these scenes are at least 2 px apart).
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


def nearest_key(frame: Dict[str, List[float]], box: List[float]) -> str:
    """The person of ``frame`` whose box is nearest ``box`` (L1)."""
    return min(frame, key=lambda k: sum(abs(a - b)
                                        for a, b in zip(frame[k], box)))


def run(tracker: ChainTracker, scene: List[Dict[str, List[float]]],
        **kwargs) -> List[Dict[str, int]]:
    """Track a scene; return per frame key -> output id.

    Output boxes are mapped back to keys by the nearest input frame t box.
    """
    out = []
    for t, frame in enumerate(scene):
        before = scene[t - 1] if t else {}
        res = tracker.track(*nodes_for(frame, before, **kwargs), frame_id=t)
        ids = {}
        for box, track_id in zip(res.bboxes.tolist(),
                                 res.instances_id.tolist()):
            ids[nearest_key(frame, box)] = track_id
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


def test_low_score_continues_and_starts_only_a_tentative_track():
    # a continues at 0.4 >= score_thr; b at 0.4 < init_score_thr starts a
    # tentative track (low_birth), not shown; without low_birth, none
    for low_birth, num_tracks in ((True, 2), (False, 1)):
        tracker = ChainTracker(init_score_thr=0.5, score_thr=0.3,
                               low_birth=low_birth)
        a0, a1, b1 = box_at(0), box_at(2), box_at(60)
        prev, cur, _, ids = nodes_for({'a': a0}, {})
        tracker.track(prev, cur, torch.tensor([0.9]), ids, frame_id=0)
        prev, cur, _, ids = nodes_for({'a': a1, 'b': b1}, {'a': a0})
        res = tracker.track(prev, cur, torch.tensor([0.4, 0.4]), ids,
                            frame_id=1)
        assert res.instances_id.tolist() == [0]
        assert res.bboxes.tolist()[0] == pytest.approx(a1, abs=1.0)
        assert len(tracker) == num_tracks
        assert tracker.memo.confirmed.tolist() == [True] + [False] * (
            num_tracks - 1)
        # below score_thr a node cannot even continue a track
        prev, cur, _, ids = nodes_for({'a': box_at(4)}, {'a': a1})
        res = tracker.track(prev, cur, torch.tensor([0.2]), ids, frame_id=2)
        assert res.instances_id.numel() == 0


def test_low_nodes_confirm_a_tentative_track_after_min_hits():
    # b is seen only at 0.4 (a half-hidden person): born tentative (id 1) in
    # frame 1, continued by its low node in frame 2 (low_tentative) -> 2
    # consecutive hits = min_hits: confirmed and shown from frame 2 on.
    # Without low_tentative the low node cannot continue the tentative
    # track, which dies; the node starts another (id 2) each frame: b is
    # never shown. By default (no low births) b's low nodes start nothing
    scene = [{'a': box_at(0)}, {'a': box_at(0), 'b': box_at(100)},
             {'a': box_at(0), 'b': box_at(102)},
             {'a': box_at(0), 'b': box_at(104)}]
    out = run(ChainTracker(low_birth=True), scene, scores={'b': 0.4})
    assert out == [{'a': 0}, {'a': 0}, {'a': 0, 'b': 1}, {'a': 0, 'b': 1}]
    tracker = ChainTracker(low_birth=True, low_tentative=False)
    out = run(tracker, scene, scores={'b': 0.4})
    assert out == [{'a': 0}] * 4
    assert tracker.ids == [0, 3]  # b's tentative tracks 1, 2, 3 in turn
    tracker = ChainTracker()
    assert run(tracker, scene, scores={'b': 0.4}) == [{'a': 0}] * 4
    assert tracker.ids == [0]


def test_low_nodes_continue_a_tentative_track_born_high():
    # b is born from a high but unconfident node (0.6 < confirm 0.7) in
    # frame 1, then seen at 0.4: the low node continues the tentative track
    # (low_tentative), which reaches min_hits = 2 and is shown
    scene = [{'a': box_at(0)}, {'a': box_at(0), 'b': box_at(100)},
             {'a': box_at(0), 'b': box_at(102)}]
    tracker = ChainTracker()
    prevs = [{}] + scene[:-1]
    out = []
    for t, (frame, score) in enumerate(zip(scene, (0.9, 0.6, 0.4))):
        res = tracker.track(*nodes_for(frame, prevs[t],
                                       scores={'b': score}), frame_id=t)
        out.append(sorted(res.instances_id.tolist()))
    assert out == [[0], [0], [0, 1]]
    off = ChainTracker(low_tentative=False)
    for t, (frame, score) in enumerate(zip(scene, (0.9, 0.6, 0.4))):
        res = off.track(*nodes_for(frame, prevs[t], scores={'b': score}),
                        frame_id=t)
    assert res.instances_id.tolist() == [0]


def test_swapped_input_order_keeps_ids():
    scene = [{'a': box_at(x), 'b': box_at(100 - x)} for x in (0, 3, 6, 9)]
    orders = [['a', 'b'], ['b', 'a'], ['a', 'b'], ['b', 'a']]
    tracker = ChainTracker()
    for t, frame in enumerate(scene):
        before = scene[t - 1] if t else {}
        res = tracker.track(
            *nodes_for(frame, before, order=orders[t]), frame_id=t)
        by_key = {nearest_key(frame, b): i for b, i in zip(
            res.bboxes.tolist(), res.instances_id.tolist())}
        assert by_key == {'a': 0, 'b': 1}


def test_missing_three_frames_is_extrapolated_and_refound():
    step = 5.0
    truth = [{'a': box_at(10 + step * t)} for t in range(10)]
    scene = [f if t not in (4, 5, 6) else {} for t, f in enumerate(truth)]
    tracker = ChainTracker(output_lost=True)
    for t, frame in enumerate(scene):
        res = tracker.track(*nodes_for(frame, truth[t - 1] if t else {}),
                            frame_id=t)
        assert res.instances_id.tolist() == [0]
        # the velocity starts at 0 (frame 0's pair is one box) and each
        # node's pair difference (5 px from frame 1 on) pulls it up: 3.5,
        # 4.4, 4.8 px after frames 1-3, so the boxes lag by at most 1.2 px
        # (the last predicted frame of the gap) and, re-found, by < 0.2 px
        error = abs(res.bboxes[0, 0].item() - truth[t]['a'][0])
        assert error < (0.2 if t > 6 else 1.5), (t, error)
    assert tracker.memo.misses.tolist() == [0]


def test_lost_shrinking_track_never_outputs_an_inverted_box():
    # a stands at centre (50, 50) and shrinks 2 px in w and 4 px in h per
    # frame (walking away): 20 x 40, 18 x 36, 16 x 32, 14 x 28 in frames
    # 0-3, then is missed for 12 frames (retain 30, so the track lives and
    # output_lost shows it). obs_noise 1e-3: the filter takes each pair as
    # it is, so after frame 3 the size velocity is (-2, -4) px/frame (frame
    # 0's pair is one box: velocity 0, then each pair says -2, -4).
    # Unfixed, gap frame k (frame 3 + k) predicts w = 14 - 2k, h = 28 - 4k:
    # 0 x 0 at k = 7 (frame 10) and -10 x -20 at k = 12 (frame 15), an
    # inverted box (x2 < x1, y2 < y1). With the floor the size stops at
    # MIN_SIZE = 1 px and the velocity at 0
    sizes = [(20., 40.), (18., 36.), (16., 32.), (14., 28.)]
    seen = [{'a': [50 - w / 2, 50 - h / 2, 50 + w / 2, 50 + h / 2]}
            for w, h in sizes]
    scene = seen + [{}] * 12
    tracker = ChainTracker(obs_noise=1e-3, output_lost=True,
                           num_frames_retain=30)
    out = []
    for t, frame in enumerate(scene):
        before = scene[t - 1] if t else {}
        res = tracker.track(*nodes_for(frame, before), frame_id=t)
        assert res.instances_id.tolist() == [0], t
        out.append(res.bboxes[0])
    boxes = torch.stack(out)  # (16, 4)
    wh = boxes[:, 2:] - boxes[:, :2]
    assert (wh > 0).all(), wh.tolist()
    # frames 3-8 (k = 0-5): w 14 - 2k, h 28 - 4k, as extrapolated
    k = torch.arange(6.)
    torch.testing.assert_close(
        wh[3:9], torch.stack([14 - 2 * k, 28 - 4 * k], dim=1), atol=0.05,
        rtol=0)
    # k = 7 on: both at the floor, centred where a stood
    torch.testing.assert_close(wh[10:], torch.ones(6, 2), atol=1e-4, rtol=0)
    assert boxes[-1].tolist() == pytest.approx([49.5, 49.5, 50.5, 50.5],
                                               abs=0.05)


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
        got = {i: nearest_key(frame, b) for i, b in zip(
            res.instances_id.tolist(), res.bboxes.tolist())}
        expected = {i: k for i, k in enumerate('ab') if k in frame}
        assert got == expected, f'frame {t}'


@pytest.mark.parametrize('motion_iou_weight, a_box', [(0.0, [-9, 0, 11, 40]),
                                                       (0.5, [15, 0, 35, 40])])
def test_motion_iou_weight_resolves_jittered_pairs(motion_iou_weight, a_box):
    # obs_noise 1e-3 makes the filter take each observation as it is (gain ~1),
    # so the tracks' boxes and velocities are the nodes' boxes and pair
    # differences, as in the IoUs worked out here:
    # a at x=0 moving +10 px/frame, b at x=6 moving -10; the next nodes'
    # frame t-1 boxes are jittered towards the other person:
    #   node 1 (a's, cur x=15): prev x=5, IoU with a 600/1000 = 0.6, b 0.905
    #   node 2 (b's, cur x=-9): prev x=1, IoU with a 760/840 = 0.905, b 0.6
    # frame t-1 IoU alone swaps them (0.905 + 0.905 > 0.6 + 0.6); with the
    # moved boxes (a at x=10, b at x=-4) the frame t IoUs are 0.6 for the
    # right pairs and 40/1560 = 0.026 for the wrong ones, so at weight 0.5
    # the right assignment scores 1.2 against 0.93
    tracker = ChainTracker(obs_noise=1e-3,
                           motion_iou_weight=motion_iou_weight)
    start = {'a': box_at(-10), 'b': box_at(16)}
    first = {'a': box_at(0), 'b': box_at(6)}
    tracker.track(*nodes_for(start, {}), frame_id=0)
    tracker.track(*nodes_for(first, start), frame_id=1)
    prev = torch.tensor([box_at(5), box_at(1)])
    cur = torch.tensor([box_at(15), box_at(-9)])
    res = tracker.track(prev, cur, torch.full((2, ), HIGH), None, frame_id=2)
    got = dict(zip(res.instances_id.tolist(), res.bboxes.tolist()))
    # the posterior box lies near the node taken (not on it: that node's
    # pair disagrees with the track by the jitter)
    nodes = {'node 1': box_at(15), 'node 2': box_at(-9)}
    assert nodes[nearest_key(nodes, got[0])] == a_box


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
    # frame 1: a's pair is not verified, so it cannot continue track 0; and
    # as it lies on track 0 (IoU 18*40/(2*800-720) = 0.82 with its
    # prediction) it starts no duplicate either: a is simply not shown
    scene = [{'a': box_at(0)}, {'a': box_at(2)}]
    tracker = ChainTracker(id_score_thr=0.5)
    out = run(tracker, scene, id_scores={'a': 0.2})
    assert out == [{'a': 0}, {}]
    assert len(tracker) == 1 and tracker.num_tracks == 1
    assert tracker.memo.misses.tolist() == [1]  # track 0 coasts
    out = run(ChainTracker(id_score_thr=None), scene, id_scores={'a': 0.2})
    assert out == [{'a': 0}, {'a': 0}]


def gated_run(tracker: ChainTracker, scene: list,
              id_scores: list) -> List[Dict[str, int]]:
    """:func:`run` with ID-verification scores per frame (key -> score)."""
    out = []
    for t, frame in enumerate(scene):
        nodes = nodes_for(frame, scene[t - 1] if t else {},
                          id_scores=id_scores[t])
        res = tracker.track(*nodes, frame_id=t)
        out.append({nearest_key(frame, b): i for b, i in zip(
            res.bboxes.tolist(), res.instances_id.tolist())})
    return out


@pytest.mark.parametrize('output_lost', [False, True])
def test_unverified_node_on_a_track_starts_no_duplicate(output_lost):
    # a walks right 2 px/frame; b appears in frame 1, 200 px away. In frame
    # 1 both nodes fail the gate (0.2 < 0.5): b's is a newcomer's node (its
    # pair is one box: no frame t-1 person to verify), a's overlaps track 0
    # (IoU 0.82 as above). Before the fix a's node started track 1 beside
    # track 0 and b took id 2; frame 2 then had tracks 0 and 1 on one
    # person. Now b alone is born (id 1, confirmed at once: 0.9 >= 0.7),
    # track 0 coasts one frame (shown only with output_lost) and a's
    # verified node of frame 2 continues it
    scene = [{'a': box_at(0)}, {'a': box_at(2), 'b': box_at(200)},
             {'a': box_at(4), 'b': box_at(202)}]
    gate = [{}, {'a': 0.2, 'b': 0.2}, {}]  # missing keys: 1, verified
    tracker = ChainTracker(id_score_thr=0.5, output_lost=output_lost)
    out = gated_run(tracker, scene, gate)
    frame1 = {'a': 0, 'b': 1} if output_lost else {'b': 1}
    assert out == [{'a': 0}, frame1, {'a': 0, 'b': 1}]
    assert tracker.ids == [0, 1] and tracker.num_tracks == 2
    assert tracker.memo.misses.tolist() == [0, 0]


def test_unverified_node_beside_a_track_is_born():
    # b's unverified node 16 px beside a (IoU 4*40/(2*800-160) = 0.11 <
    # match_iou_thr 0.3) is not on a's track: it is a newcomer and is born
    scene = [{'a': box_at(0)}, {'a': box_at(0), 'b': box_at(16)}]
    tracker = ChainTracker(id_score_thr=0.5)
    out = gated_run(tracker, scene, [{}, {'b': 0.2}])
    assert out == [{'a': 0}, {'a': 0, 'b': 1}]


def test_state_stays_flat_over_long_video():
    # 4 people at a time, each in its own lane (y = 50 * (p % 4)), walking
    # right at 1 px/frame for 400 frames; every 100 frames one leaves (at
    # x = 399) and a new one starts at x = 0 in that lane, so tracks are
    # born and dropped all along. (People move smoothly: the filter rightly
    # refuses a box that jumps by several widths in one frame.)
    frames, retain, alive = 2000, 10, 4
    tracker = ChainTracker(num_frames_retain=retain)
    attributes = set(vars(tracker))  # no per-frame list or dict appears
    truth = []
    for t in range(frames):
        first = t // 100
        truth.append({str(p): box_at(t - 100 * (p - 3), 50 * (p % 4))
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


# new state transitions: tentative tracks, confirmation, low-score stage ----

def test_tentative_track_is_confirmed_after_min_hits():
    # score 0.6: starts a track (>= init 0.5) in frame 1 but below
    # confirm_score_thr 0.7, so it is shown from its second consecutive hit
    # on, same id (frame 0 is empty: births there are confirm_at_start's)
    scene = [{}] + [{'a': box_at(2 * t)} for t in range(3)]
    tracker = ChainTracker(min_hits=2)
    out = run(tracker, scene, scores={'a': 0.6})
    assert out == [{}, {}, {'a': 0}, {'a': 0}]
    assert tracker.memo.hits.tolist() == [3]
    assert tracker.memo.confirmed.tolist() == [True]


def test_people_present_at_start_are_shown_at_once():
    # frame 0: no track can have min_hits = 2 hits yet, so a's 0.6 node
    # (>= init 0.5, < confirm 0.7) is confirmed at birth; b's low 0.4 node
    # starts at most a tentative track (with low_birth, shown from its
    # second hit); c, a 0.6 newcomer in frame 1, is shown from its second
    # hit
    scene = [{'a': box_at(0), 'b': box_at(100)},
             {'a': box_at(2), 'b': box_at(102), 'c': box_at(200)},
             {'a': box_at(4), 'b': box_at(104), 'c': box_at(202)}]
    scores = {'a': 0.6, 'b': 0.4, 'c': 0.6}
    out = run(ChainTracker(min_hits=2), scene, scores=scores)
    assert out == [{'a': 0}, {'a': 0}, {'a': 0, 'c': 1}]
    out = run(ChainTracker(min_hits=2, low_birth=True), scene, scores=scores)
    assert out == [{'a': 0}, {'a': 0, 'b': 1}, {'a': 0, 'b': 1, 'c': 2}]
    off = run(ChainTracker(min_hits=2, confirm_at_start=False), scene,
              scores=scores)
    assert off == [{}, {'a': 0}, {'a': 0, 'c': 1}]


def test_confirm_at_start_spans_min_hits_minus_one_frames_of_each_video():
    # min_hits = 3: births in a video's first 2 frames are confirmed at
    # once, a birth in its third frame is not; a new video (frame_id back
    # to 0) starts the count again
    scene = [{'a': box_at(0)}, {'a': box_at(2), 'b': box_at(100)},
             {'a': box_at(4), 'b': box_at(102), 'c': box_at(200)}]
    tracker = ChainTracker(min_hits=3)
    for _ in range(2):
        out = run(tracker, scene, scores={'a': 0.6, 'b': 0.6, 'c': 0.6})
        assert out == [{'a': 0}, {'a': 0, 'b': 1}, {'a': 0, 'b': 1}]


def test_confident_node_is_confirmed_at_once():
    tracker = ChainTracker(confirm_score_thr=0.7, min_hits=3)
    assert run(tracker, [{'a': box_at(0)}], scores={'a': 0.7}) == [{'a': 0}]
    assert tracker.memo.confirmed.tolist() == [True]


def test_tentative_track_dies_at_first_miss():
    # a tentative track (0.6 < confirm 0.7) born in frame 1 and missed in
    # frame 2 is deleted at once (a confirmed one would be kept
    # num_frames_retain frames); the person seen again in frame 3 starts a
    # new tentative track, id 1 (ids are taken at birth)
    scene = [{}, {'a': box_at(0)}, {}, {'a': box_at(0)}, {'a': box_at(0)}]
    tracker = ChainTracker(min_hits=2)
    for t, frame in enumerate(scene[:3]):
        run_frame = nodes_for(frame, scene[t - 1] if t else {},
                              scores={'a': 0.6})
        tracker.track(*run_frame, frame_id=t)
        assert len(tracker) == (1 if t == 1 else 0)
    out = run(ChainTracker(min_hits=2), scene, scores={'a': 0.6})
    assert out == [{}, {}, {}, {}, {'a': 1}]


def test_false_node_never_confirmed_is_never_shown():
    # a one-frame false node at 0.6 (below confirm 0.7) never shows;
    # the confident person is shown from frame 0
    scene = [{'a': box_at(0)}, {'a': box_at(2), 'f': box_at(200)},
             {'a': box_at(4)}]
    out = run(ChainTracker(), scene, scores={'a': 0.9, 'f': 0.6})
    assert out == [{'a': 0}, {'a': 0}, {'a': 0}]


def test_low_node_revives_a_lost_confirmed_track():
    # a (id 0) is missed in frame 3 (lost); in frame 4 a low node (0.4,
    # score_thr 0.3 <= 0.4 < init 0.5) whose pair matches a's chain end and
    # prediction (IoU 1 >= low_match_iou_thr 0.5) continues it: the
    # network linked the node to a's box in t-1 (low_revive). The old rule
    # (low_revive=False): low nodes continue only tracks seen in t-1, so a
    # stays lost (and, with low_birth, the node starts a tentative track)
    seen = [{'a': box_at(0)}, {'a': box_at(0)}]
    prev, cur, _, ids = nodes_for({'a': box_at(0)}, {'a': box_at(0)})
    for low_revive, low_birth, shown, misses in (
            (True, False, [0], [0]), (False, False, [], [2]),
            (False, True, [], [2, 0])):
        tracker = ChainTracker(low_revive=low_revive, low_birth=low_birth)
        run(tracker, seen)
        res = tracker.track(prev, cur, torch.tensor([0.4]), ids, frame_id=2)
        assert res.instances_id.tolist() == [0]  # continued (seen in t-1)
        tracker.track(torch.zeros(0, 4), torch.zeros(0, 4), torch.zeros(0),
                      torch.zeros(0), frame_id=3)  # a missed: lost
        res = tracker.track(prev, cur, torch.tensor([0.4]), ids, frame_id=4)
        assert res.instances_id.tolist() == shown
        assert tracker.memo.misses.tolist() == misses


def test_low_node_does_not_revive_a_lost_track_loosely():
    # the same low node 8 px off a's lost box: association score 0.43
    # (test_low_stage_is_stricter) < low_match_iou_thr 0.5: no revival
    tracker = ChainTracker(obs_noise=1e-3, adapt_noise=False, low_birth=True)
    run(tracker, [{'a': box_at(0)}, {'a': box_at(0)}])
    tracker.track(torch.zeros(0, 4), torch.zeros(0, 4), torch.zeros(0),
                  torch.zeros(0), frame_id=2)
    prev, cur, _, ids = nodes_for({'a': box_at(8)}, {'a': box_at(8)})
    res = tracker.track(prev, cur, torch.tensor([0.4]), ids, frame_id=3)
    assert res.instances_id.numel() == 0
    assert tracker.memo.misses.tolist() == [2, 0]  # lost; a tentative born


def _residual_frames(offset: float) -> List[Tuple]:
    """One person, 20 x 40 at the origin, still; from frame 1 each node's
    t-1 box is off the previous node's t box by ``offset`` of the box size
    at every corner (0.4 px in x, 0.8 px in y for 0.02)."""
    box = torch.tensor([[0., 0., W, H]])
    shift = torch.tensor([[W, H, W, H]]) * offset
    one = torch.ones(1)
    return [(box, box, one * HIGH, one)] + [(box + shift, box, one * HIGH,
                                             one)] * 2


def test_observation_noise_estimated_from_the_chain_residual():
    # the node of frame t predicts the frame t-1 box that the node of t-1
    # predicted too: residual r = 0.02 of the box size at all 4 corners.
    # Per frame: sigma_f = 1.4826 * median|r| / sqrt(2) (independent errors,
    # var(r) = 2 sigma^2) = 1.4826 * 0.02 / 1.41421 = 0.0209673. Running
    # mean from the prior obs_noise 0.1 weighted noise_prior_count 8, 4
    # residuals per frame:
    #   frame 0: no chained track, 0.1
    #   frame 1: (8 * 0.1 + 4 * sigma_f) / 12 = 0.0736558
    #   frame 2: (8 * 0.1 + 8 * sigma_f) / 16 = 0.0604837
    sigma_f = 1.4826 * 0.02 / 2**0.5
    expected = [0.1, (0.8 + 4 * sigma_f) / 12, (0.8 + 8 * sigma_f) / 16]
    tracker = ChainTracker()
    for t, frame in enumerate(_residual_frames(0.02)):
        tracker.track(*frame, frame_id=t)
        assert tracker.current_obs_noise == pytest.approx(expected[t],
                                                          rel=1e-5)
    # a new video starts again from the prior
    tracker.track(*_residual_frames(0.02)[0], frame_id=0)
    assert tracker.current_obs_noise == pytest.approx(0.1)
    # residual 0: the estimate falls toward 0 but is floored at
    # min_obs_noise: (8 * 0.1) / 12 = 0.0667, then 0.8 / 16 = 0.05 ... with
    # noise_prior_count 0.01 it is 0 after frame 1 -> the floor 0.01
    tracker = ChainTracker(noise_prior_count=0.01)
    for t, frame in enumerate(_residual_frames(0.0)):
        tracker.track(*frame, frame_id=t)
    assert tracker.current_obs_noise == pytest.approx(0.01)
    # adapt_noise=False: the filter assumes obs_noise throughout
    tracker = ChainTracker(adapt_noise=False)
    for t, frame in enumerate(_residual_frames(0.02)):
        tracker.track(*frame, frame_id=t)
    assert tracker.current_obs_noise == 0.1


def test_estimated_noise_sets_the_filter_gain():
    # frame 1's update uses the estimate 0.0736558 (above). Position gain of
    # cx with P0 = [[a, b], [b, c]] from kf_init + predict and R from
    # pair_observation_cov: checked against kf_update by rebuilding the
    # same numbers, and smaller noise -> larger gain than obs_noise 0.1
    frames = _residual_frames(0.02)
    gains = {}
    for adapt in (True, False):
        tracker = ChainTracker(adapt_noise=adapt)
        tracker.track(*frames[0], frame_id=0)
        before = tracker.memo.pos[0, 0].item()
        # move frame 1's t box 1 px right: the innovation in cx is 1
        prev, cur, s, i = frames[1]
        tracker.track(prev, cur + torch.tensor([[1., 0., 1., 0.]]), s, i,
                      frame_id=1)
        gains[adapt] = tracker.memo.pos[0, 0].item() - before
    # by hand, cx of a 20 px wide box: born with obs 0.1 -> a = 2, b = 0,
    # c = (0.1 * 20)^2 = 4; predict, q = (0.02 * 20)^2 = 0.16 -> a = 6.04,
    # b = 4.08, c = 4.16. R: v0 = (sigma * 20)^2 / 2, [v0, v0 / 2, v0]
    # (rho 0.5). Innovations dp = 1, dv = 0.6 (cx moved 1 in t, 0.4 in t-1).
    # sigma 0.0736558: v0 = 1.08503, k11 = 0.801089, k12 = 0.0718683 ->
    # 0.801089 + 0.6 * 0.0718683 = 0.844210; sigma 0.1: v0 = 2,
    # k11 = 0.694772, k12 = 0.0893761 -> 0.748398
    assert gains[True] == pytest.approx(0.844210, abs=2e-5)
    assert gains[False] == pytest.approx(0.748398, abs=2e-5)


def test_low_stage_is_stricter():
    # a's node at 0.4 is 8 px off (IoU 12*40/(2*800-480) = 0.43 with the
    # track's box in both frames, score 0.43): enough for a high node
    # (match_iou_thr 0.3), not for a low one (low_match_iou_thr 0.5)
    static = [{'a': box_at(0)}, {'a': box_at(0)}]
    for score, continued in ((0.9, True), (0.4, False)):
        tracker = ChainTracker(obs_noise=1e-3)
        run(tracker, static)
        prev, cur, _, ids = nodes_for({'a': box_at(8)}, {'a': box_at(8)})
        res = tracker.track(prev, cur, torch.tensor([score]), ids,
                            frame_id=2)
        assert (res.instances_id.tolist() == [0]) == continued


def test_lost_neighbour_keeps_its_node():
    # a and b stand 6 px apart (IoU 14*40/(2*800-560) = 0.54). b is missed
    # in frame 1 (lost), a in frame 2. The legacy tracker's first pass
    # offered b's node to the tracks seen in t-1 only, so a took it (0.54 >=
    # 0.5): a swap. Here every confirmed track is in one assignment: b's own
    # box matches b's node with IoU 1
    scene = [{'a': box_at(0), 'b': box_at(6)}, {'a': box_at(0)},
             {'b': box_at(6)}, {'a': box_at(0), 'b': box_at(6)}]
    out = run(ChainTracker(), scene)
    assert out == [{'a': 0, 'b': 1}, {'a': 0}, {'b': 1}, {'a': 0, 'b': 1}]


def test_output_node_boxes_when_not_filtered():
    scene = [{'a': box_at(0)}, {'a': box_at(3)}, {'a': box_at(5)}]
    tracker = ChainTracker(output_filtered=False)
    for t, frame in enumerate(scene):
        res = tracker.track(*nodes_for(frame, scene[t - 1] if t else {}),
                            frame_id=t)
        assert res.bboxes.tolist() == [frame['a']]


@pytest.mark.parametrize('kwargs', [dict(pair_correlation=1.0),
                                    dict(motion_iou_weight=1.5),
                                    dict(min_hits=0)])
def test_bad_arguments_say_which(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ChainTracker(**kwargs)


def test_half_precision_nodes_keep_a_float32_state():
    # fp16 inference hands fp16 boxes; the filter state stays float32 and
    # gives the same ids and (to fp16 rounding) the same boxes
    scene = [{'a': box_at(x), 'b': box_at(100 - x)} for x in (0, 4, 8, 12)]
    ref, half = ChainTracker(), ChainTracker()
    for t, frame in enumerate(scene):
        before = scene[t - 1] if t else {}
        prev, cur, s, ids = nodes_for(frame, before)
        want = ref.track(prev, cur, s, ids, frame_id=t)
        got = half.track(prev.half(), cur.half(), s.half(), ids.half(),
                         frame_id=t)
        assert half.memo.pos.dtype == torch.float32
        assert got.instances_id.tolist() == want.instances_id.tolist()
        assert torch.allclose(got.bboxes, want.bboxes, atol=0.05)
