"""The crowd ground truth and the node model options of the tracker benchmark
(correlated pair errors, occlusion-dependent nodes)."""
import numpy as np
import pytest
import torch

from mmdmw.datasets.synthetic_mot import simulate_crowd_gt
from mmdmw.evaluation.synthetic_detections import gt_pairs_per_frame
from mmdmw.models.trackers.association import iou_matrix


def test_crowd_gt_is_deterministic_and_well_formed():
    gt = simulate_crowd_gt(3, num_frames=60)
    assert np.array_equal(gt, simulate_crowd_gt(3, num_frames=60))
    assert not np.array_equal(gt, simulate_crowd_gt(4, num_frames=60))
    assert gt.shape[1] == 9 and set(gt[:, 6]) == {1.0}
    assert gt[:, 0].min() == 1 and gt[:, 0].max() <= 60
    assert (gt[:, 8] >= 0).all() and (gt[:, 8] <= 1).all()
    ids = np.unique(gt[:, 1])
    assert ids[0] == 1 and len(ids) >= 6  # at least one person per group
    # a crowd: a fifth of the boxes are more than half hidden (seed 3)
    assert (gt[:, 8] < 0.5).mean() > 0.2


def static_gt(num_ids: int, frames: int = 2) -> np.ndarray:
    """``num_ids`` 10 x 20 boxes standing still, MOT17 rows, visibility
    0.5 for odd ids and 1 for even ones."""
    rows = [[f, i, 0, 0, 10, 20, 1, 1, 0.5 if i % 2 else 1.0]
            for f in range(1, frames + 1) for i in range(1, num_ids + 1)]
    return np.array(rows, dtype=np.float64)


@pytest.mark.parametrize('rho', [0.0, 0.6])
def test_pair_correlation_of_box_errors(rho):
    # x1 error std 0.1 * width = 1 px in both boxes; their correlation rho
    frames = gt_pairs_per_frame(static_gt(20000), jitter=0.1, drop=0.0,
                                pair_correlation=rho)
    second = frames[1]  # frame 2: pairs (frame 1 box, frame 2 box)
    e_prev = second['prev_bboxes'][:, 0].numpy()  # true x1 = 0
    e_cur = second['cur_bboxes'][:, 0].numpy()
    assert np.std(e_prev) == pytest.approx(1.0, abs=0.03)
    assert np.std(e_cur) == pytest.approx(1.0, abs=0.03)
    assert np.corrcoef(e_prev, e_cur)[0, 1] == pytest.approx(rho, abs=0.03)


def test_visibility_options():
    gt = static_gt(4)
    plain = gt_pairs_per_frame(gt, jitter=0.0, drop=0.0)
    assert plain[0]['gt_ids'].tolist() == [1, 2, 3, 4]
    # ids 1 and 3 are half visible: below 0.6 they give no node
    hidden = gt_pairs_per_frame(gt, jitter=0.0, drop=0.0, min_visibility=0.6)
    assert hidden[0]['gt_ids'].tolist() == [2, 4]
    # scores scale with visibility: same draws, halved for ids 1 and 3
    scaled = gt_pairs_per_frame(gt, jitter=0.0, drop=0.0,
                                score_by_visibility=True)
    ratio = (scaled[0]['scores'] / plain[0]['scores']).tolist()
    assert ratio == pytest.approx([0.5, 1.0, 0.5, 1.0])


def walking_gt(num_ids: int, frames: int) -> np.ndarray:
    """``num_ids`` 20 x 40 people 100 px apart, each walking 2 px right a
    frame, fully visible, MOT17 rows."""
    rows = [[f, i, 100 * i + 2 * f, 50, 20, 40, 1, 1, 1.0]
            for f in range(1, frames + 1) for i in range(1, num_ids + 1)]
    return np.array(rows, dtype=np.float64)


def false_nodes(frames: list) -> list:
    """Per frame: (prev boxes, cur boxes, scores) of the false nodes."""
    out = []
    for f in frames:
        false = f['gt_ids'] == -1
        out.append((f['prev_bboxes'][false].numpy(),
                    f['cur_bboxes'][false].numpy(),
                    f['scores'][false].numpy()))
    return out


def test_independent_false_nodes_are_the_default_draws():
    gt = walking_gt(5, 30)
    default = gt_pairs_per_frame(gt, false_per_frame=2, seed=7)
    explicit = gt_pairs_per_frame(gt, false_per_frame=2, seed=7,
                                  false_lifetime=1.0, false_on_person=0.9)
    for a, b in zip(default, explicit):
        for key in a:
            assert torch.equal(a[key], b[key]), key


def test_persistent_false_nodes_last_and_keep_the_mean_count():
    frames = false_nodes(gt_pairs_per_frame(
        walking_gt(5, 3000), jitter=0.0, drop=0.0, false_per_frame=2,
        seed=0, img_wh=(640, 480), false_lifetime=3, false_on_person=0.0))
    counts = [len(scores) for _, _, scores in frames]
    assert np.mean(counts) == pytest.approx(2.0, rel=0.1)  # as independent
    # Without jitter a node that lasts has the t box of frame t-1 as its
    # t-1 box (background nodes stand still: prev == cur): a node is new
    # with probability 1/lifetime, so 2/3 of them continue one.
    continuing = total = 0
    for (_, before, _), (prev, cur, _) in zip(frames[:-1], frames[1:]):
        np.testing.assert_array_equal(prev, cur)
        total += len(cur)
        continuing += sum(bool((before == box).all(1).any()) for box in cur)
    assert continuing / total == pytest.approx(2 / 3, abs=0.03)


def test_persistent_false_nodes_on_people_follow_them():
    gt = walking_gt(4, 400)
    frames = gt_pairs_per_frame(gt, jitter=0.0, drop=0.0, false_per_frame=1,
                                seed=1, false_lifetime=5,
                                false_on_person=1.0)
    moved = 0
    for f, (prev, cur, scores) in enumerate(false_nodes(frames)):
        people = gt[gt[:, 0] == f + 1][:, 2:6]
        people = np.c_[people[:, :2], people[:, :2] + people[:, 2:]]
        for p_box, c_box in zip(prev, cur):
            iou = iou_matrix(torch.as_tensor(c_box[None]),
                             torch.as_tensor(people, dtype=torch.float32))
            # a part of a person or a box beside them (PART_SHIFT/SCALE)
            assert 0.05 < iou.max() < 0.6
            # the person walked 2 px right; a node born this frame did not
            moved += np.allclose(c_box - p_box, [2, 0, 2, 0], atol=1e-4)
        assert ((scores >= 0) & (scores <= 1)).all()
    assert moved > 200  # nodes that lasted moved with their person

