"""A tracker that outputs nothing is scored, not a crash: every ground-truth
box is a miss, so MOTA = 1 - FN / GT = 0 and HOTA = IDF1 = 0."""
import numpy as np
import pytest

from mmdmw.evaluation.trackeval_utils import evaluate_mot


@pytest.mark.parametrize('columns', [7, 10])
def test_empty_result_scores_zero(columns):
    gt = np.array([[f, pid, 10.0 + 40 * pid, 20.0, 30.0, 60.0, 1, 1, 1]
                   for f in (1, 2, 3) for pid in (1, 2)])
    scores = evaluate_mot(gt, np.zeros((0, columns)), seq_length=3)
    assert scores['HOTA'] == 0.0
    assert scores['MOTA'] == 0.0
    assert scores['IDF1'] == 0.0
    assert scores['IDSW'] == 0.0
