"""Association maths: IoU, Hungarian matching, constant velocity."""
import pytest
import torch

from mmdmw.models.trackers.association import (constant_velocity,
                                               hungarian_match, iou_matrix)


def boxes(*rows) -> torch.Tensor:
    """(len(rows), 4) float boxes, x1y1x2y2."""
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)


def test_iou_hand_computed():
    a = boxes([0, 0, 2, 2], [0, 0, 4, 4])
    b = boxes([1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6], [2, 0, 4, 2])
    iou = iou_matrix(a, b)
    assert iou.shape == (2, 4)
    # [0,0,2,2] vs [1,1,3,3]: inter 1x1 = 1, union 4 + 4 - 1 = 7
    assert iou[0, 0].item() == pytest.approx(1 / 7)
    assert iou[0, 1].item() == pytest.approx(1.0)  # identical
    assert iou[0, 2].item() == 0.0  # disjoint
    assert iou[0, 3].item() == 0.0  # touching edge x=2: zero-width overlap
    # [0,0,4,4] contains [1,1,3,3]: inter 4, union 16
    assert iou[1, 0].item() == pytest.approx(4 / 16)
    # [0,0,4,4] vs [2,0,4,2]: inter 2x2 = 4, union 16 + 4 - 4 = 16
    assert iou[1, 3].item() == pytest.approx(4 / 16)


def test_iou_symmetric_and_degenerate():
    a = boxes([0, 0, 2, 2], [3, 3, 3, 3])  # second box has zero area
    b = boxes([1, 1, 3, 3], [3, 3, 3, 3])
    iou = iou_matrix(a, b)
    assert torch.isfinite(iou).all()
    assert iou[1, 1].item() == 0.0  # two points: no area, no NaN
    assert torch.allclose(iou, iou_matrix(b, a).T)


@pytest.mark.parametrize('m, n', [(0, 3), (3, 0), (0, 0)])
def test_iou_empty(m, n):
    assert iou_matrix(torch.zeros(m, 4), torch.zeros(n, 4)).shape == (m, n)


def test_hungarian_rejects_pair_below_threshold():
    iou = torch.tensor([[0.9, 0.0],
                        [0.0, 0.4]])
    rows, cols, u_rows, u_cols = hungarian_match(iou, min_iou=0.5)
    # the only assignment pairs (1, 1) at 0.4 < 0.5: rejected
    assert rows.tolist() == [0] and cols.tolist() == [0]
    assert u_rows.tolist() == [1] and u_cols.tolist() == [1]
    assert rows.dtype == torch.long


def test_hungarian_is_global_not_greedy():
    iou = torch.tensor([[0.9, 0.8],
                        [0.7, 0.0]])
    rows, cols, u_rows, u_cols = hungarian_match(iou, min_iou=0.5)
    # greedy takes (0, 0) = 0.9 and leaves row 1 alone; the optimum is
    # (0, 1) + (1, 0) = 1.5 > 0.9
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert u_rows.numel() == 0 and u_cols.numel() == 0


def test_hungarian_threshold_inclusive_and_zero_never_matched():
    rows, cols, _, _ = hungarian_match(torch.tensor([[0.5]]), min_iou=0.5)
    assert rows.tolist() == [0] and cols.tolist() == [0]
    rows, _, u_rows, _ = hungarian_match(torch.tensor([[0.0]]), min_iou=0.0)
    assert rows.numel() == 0 and u_rows.tolist() == [0]


def test_hungarian_rectangular_and_contested():
    # rows 0 and 1 both want column 1; row 2 has a lonely pair with column 3
    iou = torch.tensor([[0.0, 0.9, 0.6, 0.0],
                        [0.0, 0.8, 0.0, 0.0],
                        [0.0, 0.0, 0.0, 0.7]])
    rows, cols, u_rows, u_cols = hungarian_match(iou, min_iou=0.5)
    # (0, 2) + (1, 1) = 1.4 beats (0, 1) alone = 0.9
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 2), (1, 1), (2, 3)]
    assert u_rows.numel() == 0 and u_cols.tolist() == [0]


@pytest.mark.parametrize('m, n', [(0, 3), (3, 0), (0, 0)])
def test_hungarian_empty(m, n):
    rows, cols, u_rows, u_cols = hungarian_match(torch.zeros(m, n), 0.5)
    assert rows.numel() == 0 and cols.numel() == 0
    assert u_rows.tolist() == list(range(m))
    assert u_cols.tolist() == list(range(n))


def test_constant_velocity():
    last = boxes([10, 20, 30, 60])
    velocity = boxes([2, -1, 2, -1])
    # 3 frames at (+2, -1) per frame: x + 6, y - 3
    expected = boxes([16, 17, 36, 57])
    assert torch.equal(constant_velocity(last, velocity, num_frames=3),
                       expected)
    assert torch.equal(constant_velocity(last, velocity), boxes([12, 19, 32,
                                                                 59]))
    assert constant_velocity(torch.zeros(0, 4), torch.zeros(0, 4)).shape == (
        0, 4)
