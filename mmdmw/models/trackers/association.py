"""Association maths for chained tracking, as pure functions.

Shape letters: M rows (usually tracks), N columns (usually nodes, i.e. the
paired boxes one network call predicts). Boxes are ``x1y1x2y2`` in pixels.

All functions take and return ``torch.Tensor`` and accept empty inputs
(``M == 0`` or ``N == 0``). Only :func:`hungarian_match` leaves torch, for
``scipy.optimize.linear_sum_assignment``, on the rows and columns that can
still be matched.
"""
from typing import Tuple

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

#: Guards the IoU denominator against two zero-area boxes.
IOU_EPS = 1e-6


def _area(boxes: Tensor) -> Tensor:
    """Areas (B,) of boxes (B, 4) x1y1x2y2; inverted boxes count as 0."""
    wh = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0)  # (B, 2)
    return wh[:, 0] * wh[:, 1]


def iou_matrix(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise IoU of two sets of boxes, vectorised.

    Args:
        a (Tensor): (M, 4) boxes, x1y1x2y2.
        b (Tensor): (N, 4) boxes, x1y1x2y2.

    Returns:
        Tensor: (M, N) IoU in [0, 1], dtype of ``a``.
    """
    area_a = _area(a)  # (M,)
    area_b = _area(b)  # (N,)
    # (M, 1) against (1, N) -> (M, N); in-place ops keep to two (M, N) buffers,
    # which matters at 1000 x 1000
    inter_w = torch.minimum(a[:, None, 2], b[None, :, 2]).sub_(
        torch.maximum(a[:, None, 0], b[None, :, 0])).clamp_(min=0)
    inter_h = torch.minimum(a[:, None, 3], b[None, :, 3]).sub_(
        torch.maximum(a[:, None, 1], b[None, :, 1])).clamp_(min=0)
    inter = inter_w.mul_(inter_h)  # (M, N)
    union = (area_a[:, None] + area_b[None, :]).sub_(inter).clamp_(min=IOU_EPS)
    return inter.div_(union)


def _unambiguous_pairs(valid: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Find pairs that are each other's only admissible partner.

    Such a pair is a connected component of its own in the bipartite graph of
    admissible pairs, so every optimal assignment contains it; taking it
    directly keeps the Hungarian solver for the contested rest.

    Args:
        valid (np.ndarray): (M, N) bool, admissible pairs.

    Returns:
        tuple[np.ndarray, np.ndarray]: (P,) rows and (P,) columns.
    """
    rows = np.flatnonzero(valid.sum(axis=1) == 1)  # (R,) one option each
    if rows.size == 0:  # also covers N == 0, where argmax is undefined
        return rows, rows.copy()
    cols = valid[rows].argmax(axis=1)  # (R,) that single admissible column
    keep = (valid.sum(axis=0) == 1)[cols]  # the column has one option too
    return rows[keep], cols[keep]


def _flatnonzero_except(mask: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Indices where ``mask`` (K,) is True, less ``taken``, ascending
    (a boolean mask: cheaper than ``np.setdiff1d``'s sort)."""
    mask = mask.copy()
    mask[taken] = False
    return np.flatnonzero(mask)


def hungarian_match(iou: Tensor,
                    min_iou: float) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """One-to-one matching that maximises the summed IoU of admissible pairs.

    A pair is admissible when ``iou >= min_iou`` and ``iou > 0``; the others
    are never matched. Equivalent to ``linear_sum_assignment`` on the cost
    ``1 - IoU`` with inadmissible costs raised to 1 (zero gain) and the pairs
    with such a cost rejected afterwards. Rows and columns without any
    admissible pair, and pairs that are each other's only option, are settled
    before the solver runs, so it only sees the contested sub-matrix.

    Args:
        iou (Tensor): (M, N) IoU between rows (tracks) and columns (nodes).
        min_iou (float): Smallest IoU of a match.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: ``matched_rows (P,)``,
        ``matched_cols (P,)`` (``matched_rows[i]`` is matched to
        ``matched_cols[i]``), ``unmatched_rows (M - P,)`` and
        ``unmatched_cols (N - P,)``; all int64 on ``iou.device``, ascending
        except the matched pairs, which follow ``matched_rows`` order.
    """
    num_rows, num_cols = iou.shape
    gain = iou.detach().cpu().numpy()
    valid = (gain >= min_iou) & (gain > 0)  # (M, N)
    rows, cols = _unambiguous_pairs(valid)

    # contested rows and columns: admissible pairs left after the lonely ones
    rest_rows = _flatnonzero_except(valid.any(axis=1), rows)
    rest_cols = _flatnonzero_except(valid.any(axis=0), cols)
    if rest_rows.size and rest_cols.size:
        sub_valid = valid[np.ix_(rest_rows, rest_cols)]
        sub_gain = gain[np.ix_(rest_rows, rest_cols)]
        sub_cost = np.where(sub_valid, 1.0 - sub_gain, 1.0)
        sub_r, sub_c = linear_sum_assignment(sub_cost)
        keep = sub_valid[sub_r, sub_c]
        rows = np.concatenate([rows, rest_rows[sub_r[keep]]])
        cols = np.concatenate([cols, rest_cols[sub_c[keep]]])

    order = np.argsort(rows, kind='stable')
    rows, cols = rows[order], cols[order]
    unmatched_rows = _flatnonzero_except(np.ones(num_rows, bool), rows)
    unmatched_cols = _flatnonzero_except(np.ones(num_cols, bool), cols)

    def as_long(x: np.ndarray) -> Tensor:
        return torch.as_tensor(x, dtype=torch.long, device=iou.device)

    return (as_long(rows), as_long(cols), as_long(unmatched_rows),
            as_long(unmatched_cols))


def constant_velocity(last_box: Tensor,
                      velocity: Tensor,
                      num_frames: int = 1) -> Tensor:
    """Extrapolate boxes with a constant velocity.

    Args:
        last_box (Tensor): (M, 4) boxes in the last frame, x1y1x2y2.
        velocity (Tensor): (M, 4) per-frame change of each coordinate,
            x1y1x2y2 deltas in pixels per frame.
        num_frames (int): How many frames ahead. Defaults to 1.

    Returns:
        Tensor: (M, 4) boxes ``num_frames`` later, x1y1x2y2.
    """
    return last_box + velocity * num_frames
