"""Pair-half accuracy: IoUs worked out by hand in the comments."""
import math

import pytest
import torch

from mmdmw.evaluation.pair_accuracy import (PairHalfAccumulator,
                                            match_pair_halves)


def boxes(*rows):
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)


# current frame: id 1 at [0, 0, 10, 10], id 2 at [20, 0, 30, 10];
# previous frame: id 1 at [0, 0, 10, 10], id 3 elsewhere (id 2 is new)
GT = boxes([0, 0, 10, 10], [20, 0, 30, 10])
GT_IDS = torch.tensor([1, 2])
PREV_GT = boxes([0, 0, 10, 10], [50, 50, 60, 60])
PREV_IDS = torch.tensor([1, 3])
# p0: first box the upper half of id 1 (IoU 50/100 = 0.5), second box
#     exactly id 1's previous box (IoU 1);
# p1: first box exactly id 2 (IoU 1), second box anywhere (id 2 is new);
# p2: far from everyone
FIRST = boxes([0, 0, 10, 5], [20, 0, 30, 10], [100, 100, 110, 110])
SECOND = boxes([0, 0, 10, 10], [0, 0, 1, 1], [100, 100, 110, 110])


def test_match_pair_halves_by_hand():
    first, second = match_pair_halves(FIRST, SECOND, GT, GT_IDS, PREV_GT,
                                      PREV_IDS)
    assert sorted(first) == pytest.approx([0.5, 1.0])
    assert second == pytest.approx([1.0])


def test_second_box_iou_is_read_against_the_previous_frame():
    # p0's second box shifted right by 5: IoU with [0, 0, 10, 10] is
    # 50 / (100 + 100 - 50) = 1/3
    shifted = boxes([5, 0, 15, 10], [0, 0, 1, 1], [100, 100, 110, 110])
    _, second = match_pair_halves(FIRST, shifted, GT, GT_IDS, PREV_GT,
                                  PREV_IDS)
    assert second == pytest.approx([1 / 3])


def test_one_match_per_gt_and_threshold():
    # two predictions on id 2: the exact one (IoU 1) wins, the other
    # (x shifted by 2: IoU 80/120 = 2/3) stays unmatched; a 0.7 threshold
    # drops p0's 0.5
    first = boxes([20, 0, 30, 10], [22, 0, 32, 10], [0, 0, 10, 5])
    second = boxes([0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 10, 10])
    ious, _ = match_pair_halves(first, second, GT, GT_IDS, PREV_GT, PREV_IDS,
                                match_iou_thr=0.7)
    assert ious == pytest.approx([1.0])


def test_accumulator_filters_scores_and_summarises():
    acc = PairHalfAccumulator(score_thr=0.5)
    # frame A: p1 scored below the threshold -> only p0 matches
    acc.add(FIRST, SECOND, torch.tensor([0.9, 0.3, 0.9]), GT, GT_IDS,
            PREV_GT, PREV_IDS)
    # frame B: all confident -> p0 (0.5, 1.0) and p1 (1.0, no second)
    acc.add(FIRST, SECOND, torch.tensor([0.9, 0.9, 0.9]), GT, GT_IDS,
            PREV_GT, PREV_IDS)
    summary = acc.summary()
    # first IoUs 0.5, 0.5, 1.0 -> 2/3; second IoUs 1, 1 -> 1;
    # 3 matches of 4 GT boxes
    assert summary['first_iou'] == pytest.approx(2 / 3)
    assert summary['second_iou'] == pytest.approx(1.0)
    assert summary['matched'] == pytest.approx(0.75)
    assert (summary['num_first'], summary['num_second']) == (3, 2)


def test_empty_inputs():
    assert match_pair_halves(boxes(), boxes(), GT, GT_IDS, PREV_GT,
                             PREV_IDS) == ([], [])
    summary = PairHalfAccumulator().summary()
    assert math.isnan(summary['first_iou']) and summary['matched'] == 0
