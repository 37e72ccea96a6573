"""ChainedRetinaHead.predict_pairs: decoding and rescaling, by hand.

With every regression delta 0, a kept anchor decodes to itself, in both
frames of the pair. The anchors below are worked out from mmdet's
``AnchorGenerator`` rule (centre offset 0): at grid cell (x, y) of a level
with stride s and base size b, ratio r = h / w,

    w = b / sqrt(r),  h = b * sqrt(r),
    box = (x*s - w/2, y*s - h/2, x*s + w/2, y*s + h/2).
"""
import math
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdmw  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
H, W = 96, 128  # input size; P3-P5 maps are 12x16, 6x8, 3x4
STRIDES = (8, 16, 32)
BASES = (20, 32, 48)  # the tiny config's anchor base sizes
RATIO = 2.9  # h / w, CTracker's
LOGIT = 3.0  # sigmoid(3) = 0.9526


def anchor(level: int, x: int, y: int) -> list:
    s, b = STRIDES[level], BASES[level]
    w, h = b / math.sqrt(RATIO), b * math.sqrt(RATIO)
    return [x * s - w / 2, y * s - h / 2, x * s + w / 2, y * s + h / 2]


#: Two anchors inside the image and far apart (NMS keeps both):
#: P3 cell (3, 5): w 11.744, h 34.059 around (24, 40);
#: P4 cell (6, 2): w 18.791, h 54.495 around (96, 32).
PICKED = ((0, 3, 5), (1, 6, 2))


@pytest.fixture(scope='module')
def head():
    cfg = Config.fromfile(CONFIG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model.head).eval()


def outputs(head, pair_logit: float = -1.0, reid_logit: float = 2.0):
    """Head outputs for one pair: every delta 0, person logit -10 (score
    4.5e-5, below score_thr) except at PICKED."""
    cls, reg, reid = [], [], []
    for s in STRIDES:
        h, w = H // s, W // s
        cls.append(torch.full((1, 2, h, w), -10.))
        reg.append(torch.zeros(1, 8, h, w))
        reid.append(torch.full((1, 1, h, w), reid_logit))
    for level, x, y in PICKED:
        cls[level][0, 0, y, x] = LOGIT
        cls[level][0, 1, y, x] = pair_logit
    return cls, reg, reid


def sort_by_x(t: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    return t[boxes[:, 0].argsort()]


def test_head_anchors_match_the_hand_rule(head):
    anchors = head.anchors_of([torch.zeros(1, 1, H // s, W // s)
                               for s in STRIDES])
    for level, x, y in PICKED:
        offset = sum((H // s) * (W // s) for s in STRIDES[:level])
        index = offset + y * (W // STRIDES[level]) + x
        assert anchors[index].tolist() == pytest.approx(anchor(level, x, y),
                                                        abs=1e-4)


@pytest.mark.parametrize('scale_factor', [(1., 1.), (0.5, 0.25)])
def test_zero_deltas_return_the_anchors_rescaled(head, scale_factor):
    meta = dict(img_shape=(H, W), scale_factor=scale_factor)
    with torch.no_grad():
        pairs = head.predict_pairs(*outputs(head), meta, rescale=True)
    assert len(pairs) == 2
    factor = torch.tensor(scale_factor).repeat(2)
    expected = torch.tensor([anchor(*p) for p in PICKED]) / factor
    bboxes = sort_by_x(pairs.bboxes, pairs.bboxes)
    pair_bboxes = sort_by_x(pairs.pair_bboxes, pairs.bboxes)
    expected = sort_by_x(expected, expected)
    assert torch.allclose(bboxes, expected, atol=1e-3)
    assert torch.allclose(pair_bboxes, expected, atol=1e-3)
    sigmoid = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    assert pairs.scores.tolist() == pytest.approx([sigmoid(LOGIT)] * 2,
                                                  abs=1e-5)
    assert pairs.pair_scores.tolist() == pytest.approx([sigmoid(-1.)] * 2,
                                                       abs=1e-5)
    assert pairs.id_scores.tolist() == pytest.approx([sigmoid(2.)] * 2,
                                                     abs=1e-5)
    assert pairs.labels.tolist() == [0, 0]


def test_without_rescale_boxes_stay_in_input_pixels(head):
    meta = dict(img_shape=(H, W), scale_factor=(0.5, 0.25))
    with torch.no_grad():
        pairs = head.predict_pairs(*outputs(head), meta, rescale=False)
    expected = torch.tensor([anchor(*p) for p in PICKED])
    assert torch.allclose(sort_by_x(pairs.bboxes, pairs.bboxes),
                          sort_by_x(expected, expected), atol=1e-3)


def test_boxes_are_clipped_to_the_input(head):
    """An anchor sticking out of the image (P5 cell (0, 0): w 28.19,
    h 81.74 around (0, 0)) decodes clipped to [0, W] x [0, H]."""
    cls, reg, reid = outputs(head)
    for level in range(3):
        cls[level][:, 0] = -10.
    cls[2][0, 0, 0, 0] = LOGIT
    meta = dict(img_shape=(H, W), scale_factor=(1., 1.))
    with torch.no_grad():
        pairs = head.predict_pairs(cls, reg, reid, meta, rescale=True)
    w, h = 48 / math.sqrt(RATIO), 48 * math.sqrt(RATIO)
    assert pairs.bboxes.tolist() == [pytest.approx([0, 0, w / 2, h / 2],
                                                   abs=1e-3)]
