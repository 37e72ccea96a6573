"""The head's two loss normalisations, worked out by hand.

One level of four 10 x 10 anchors (stride 20, ratio 1, centred on the grid
points): A0..A3 centred at x = 0, 20, 40, 60, y = 0. Every output is 0, so
every score is 0.5 and every predicted delta is 0. Focal loss (a = 0.25,
b = 2) at p = 0.5 costs POS = 0.25 * 0.5**2 * ln 2 for a positive target and
NEG = 0.75 * 0.5**2 * ln 2 for a negative one. Smooth-L1 (beta = 1/9) of a
delta error d >= 1/9 is d - 1/18.

Pair 1, the second person leaves:
    first frame:  person 1 = A0 moved 1 px right, person 2 = A1 moved 1 px
                  right (IoU with their anchors 90 / 110 = 0.82: positives;
                  A2, A3 negatives). Deltas dx = (1 / 10) / 0.1 = 1.
    second frame: person 1 = A0 moved 2 px right (dx = 2, IoU with A0
                  80 / 120 = 0.67); person 2 gone.
  classification: column 1 (person) 2 POS + 2 NEG; column 2 (also in the
      other frame) POS (A0) + 3 NEG (A1: left)  -> 3 POS + 5 NEG = 9/8 ln 2.
  regression: A0 (1 - 1/18) + (2 - 1/18), A1 (1 - 1/18) and its second half
      masked -> 69/18 = 23/6.
  ID verification: A0 is one identity in both frames (IoU 0.82 and 0.67) ->
      1; A1 has no partner (IoU 0 < 0.4) -> 0; A2, A3 -> 0.
      POS + 3 NEG = 5/8 ln 2, and one ID-positive anchor against two
      detection positives.
Pair 2, nobody: 8 NEG = 3/2 ln 2 of classification, 4 NEG = 3/4 ln 2 of ID
verification, no regression; every denominator is max(0, 1) = 1.
"""
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

import mmdmw  # noqa: F401

LN2 = math.log(2)


def head(normalization: str):
    return MODELS.build(
        dict(
            type='ChainedRetinaHead',
            in_channels=4,
            feat_channels=4,
            stacked_convs=0,
            anchor_generator=dict(
                type='AnchorGenerator',
                base_sizes=[10],
                scales=[1.0],
                ratios=[1.0],
                strides=[20]),
            loss_normalization=normalization))


def people(boxes, ids) -> InstanceData:
    return InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).view(-1, 4),
        instances_ids=torch.tensor(ids, dtype=torch.long))


def losses(normalization: str):
    first = [people([[-4, -5, 6, 5], [16, -5, 26, 5]], [1, 2]),
             people([], [])]
    second = [people([[-3, -5, 7, 5]], [1]), people([], [])]
    # one level each: (N, K, H, W) = (2, 2 | 8 | 1, 1, 4)
    outputs = [[torch.zeros(2, k, 1, 4)] for k in (2, 8, 1)]
    return head(normalization).loss_per_sample(*outputs, first, second)


# pair 1 then pair 2, per normalisation
EXPECTED = {
    'ctracker': dict(cls=[9 / 16 * LN2, 3 / 2 * LN2],   # / #pos (2, 1)
                     reg=[23 / 96, 0.],                # / (#pos x 8)
                     reid=[5 / 8 * LN2, 3 / 4 * LN2]),  # / #ID-pos (1, 1)
    'mmdet': dict(cls=[9 / 16 * LN2, 3 / 2 * LN2],
                  reg=[23 / 12, 0.],                   # / #pos
                  reid=[5 / 16 * LN2, 3 / 4 * LN2]),   # / #pos
}


@pytest.mark.parametrize('normalization', ['ctracker', 'mmdet'])
def test_losses_worked_out_by_hand(normalization):
    found = losses(normalization)
    for task, expected in EXPECTED[normalization].items():
        assert found[task].tolist() == pytest.approx(expected, rel=1e-5), task


def test_ctracker_is_the_default():
    built = MODELS.build(dict(type='ChainedRetinaHead', in_channels=4,
                              feat_channels=4, stacked_convs=0))
    assert built.loss_normalization == 'ctracker'


def test_unknown_normalization_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="'ctracker'.*'mmdet'"):
        head('retinanet')
