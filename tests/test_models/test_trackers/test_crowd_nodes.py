"""The crowd ground truth and the node model options of the tracker benchmark
(correlated pair errors, occlusion-dependent nodes)."""
import numpy as np
import pytest

from mmdmw.datasets.synthetic_mot import simulate_crowd_gt
from mmdmw.evaluation.synthetic_detections import gt_pairs_per_frame


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
