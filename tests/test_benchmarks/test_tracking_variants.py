"""benchmarks/tracking_variants.py: the annotation-motion statistic on boxes
worked out by hand, and variants that are applied (an empty variant is the
default tracker to the bit; one that can start no track scores nothing)."""
import math
import os.path as osp
import sys

import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import tracking_variants as tv  # noqa: E402
from tracking_quality import Noise, crowd_sequence  # noqa: E402


def gt_rows(pid, frames, widths, height=20.0):
    """MOT rows of one person centred at x = 0, y = 10."""
    return np.array([[f, pid, -w / 2, 0.0, w, height, 1, 1, 1]
                     for f, w in zip(frames, widths)])


def test_annotation_acceleration_by_hand():
    # widths 10, 10, 12, 16: second differences 2 and 2, over the middle
    # widths 10 and 12 -> 0.2 and 1/6; their median is their mean
    growing = gt_rows(1, [1, 2, 3, 4], [10, 10, 12, 16])
    # frames 1, 2, 4: no three consecutive frames, ignored
    gappy = gt_rows(2, [1, 2, 4], [10, 50, 10])
    acc = tv.annotation_acceleration(np.concatenate([growing, gappy]))
    expected_w = math.sqrt(2) * 1.4826 * (0.2 + 1 / 6) / 2
    assert acc['w'] == pytest.approx(expected_w, rel=1e-12)
    assert acc['cx'] == acc['cy'] == acc['h'] == 0.0


def test_annotation_acceleration_constant_velocity_is_zero():
    rows = np.array([[f, 1, 3.0 * f, 2.0 * f, 10 + f, 30 - f, 1, 1, 1]
                     for f in range(1, 8)])
    assert tv.annotation_acceleration(rows) == dict(cx=0.0, cy=0.0, w=0.0,
                                                    h=0.0)


def test_annotation_acceleration_without_runs_is_nan():
    acc = tv.annotation_acceleration(gt_rows(1, [1, 3, 5], [10, 20, 30]))
    assert all(math.isnan(v) for v in acc.values())


def test_parse_row_rejects_wrong_length():
    assert tv.parse_row('0.05,0.1,0,0.7,0.6') == Noise(0.05, 0.1, 0, 0.7, 0.6)
    assert tv.parse_row('0.05,0.1,2,0.7,0.6,3') == Noise(
        0.05, 0.1, 2, 0.7, 0.6, false_life=3)
    with pytest.raises(Exception, match='jitter,drop'):
        tv.parse_row('0.05,0.1')


def test_variants_are_applied():
    make = crowd_sequence(Noise(0.05, 0.1, 0, 0.7, 0.6), num_frames=30)
    means = tv.score_variants(make, [0], {
        'same': {},
        'no births': {'init_score_thr': 1.01, 'low_birth': False}})
    assert set(means) == {'ours', 'same', 'no births', 'before (legacy)'}
    assert means['same'] == means['ours']
    assert means['ours']['HOTA'] > 20
    assert means['no births']['HOTA'] == 0.0
    assert means['no births']['IDSW'] == 0.0
