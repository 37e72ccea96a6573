"""ChainedTracker reads ``ignored_instances``: anchors on a first-frame
ignore region drop out of the classification and ID-verification losses.

Tiny config at 96 x 128: anchors with ratio h/w 2.9 (sqrt = 1.70294),
centred on the grid points (center_offset 0):
    P3 stride 8,  base 20: 11.744 x 34.059 (area 400), 12 x 16 = 192 anchors
    P4 stride 16, base 32: 18.791 x 54.494 (area 1024), 6 x 8 = 48
    P5 stride 32, base 48: 28.187 x 81.741 (area 2304), 3 x 4 = 12
The ignore box is the P5 anchor centred at (64, 32):
x 49.906..78.094, y -8.870..72.870. Anchors at IoU >= 0.4 with it:
    P5 (64, 32) itself: 1.0; P5 (64, 0) and (64, 64): vertical overlap
        81.741 - 32 = 49.741 -> 49.741 / (81.741 + 32) = 0.437; x-neighbours
        are 32 px away, wider than 28.2 -> 0.
    P4 (64, 32): inside it -> 1024 / 2304 = 0.444; P4 (64, 16) and
        (64, 48): 18.791 x 52.12 = 979.4 -> 979.4 / (2304 + 1024 - 979.4)
        = 0.417; P4 (64, 0) / (64, 64): 18.791 x 36.12 -> 0.256; x-neighbours
        overlap 7.5 px -> small.
    P3: at most 400 / 2304 = 0.17.
So 6 anchors are ignored, 252 - 6 = 246 stay negatives.
"""
import math
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from torch import nn

import mmdmw  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
H, W = 96, 128
NUM_ANCHORS = 252
NUM_ON_IGNORE = 6
FOCAL_NEG_AT_0 = 0.75 * 0.25 * math.log(2)  # focal loss, logit 0, negative
HALF_W, HALF_H = 48 / math.sqrt(2.9) / 2, 48 * math.sqrt(2.9) / 2
IGNORE_BOX = [64 - HALF_W, 32 - HALF_H, 64 + HALF_W, 32 + HALF_H]


@pytest.fixture(scope='module')
def silenced():
    """The tiny model with zeroed output convs: every logit is 0."""
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        net = MODELS.build(cfg.model)
    net.init_weights()
    for conv in (net.head.retina_cls, net.head.retina_reg,
                 net.head.retina_reid):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    return net


def frame(ignore_boxes) -> DetDataSample:
    sample = DetDataSample(metainfo=dict(img_shape=(H, W)))
    empty = dict(bboxes=torch.zeros(0, 4),
                 labels=torch.zeros(0, dtype=torch.long),
                 instances_ids=torch.zeros(0, dtype=torch.long))
    sample.gt_instances = InstanceData(**empty)
    n = len(ignore_boxes)
    sample.ignored_instances = InstanceData(
        bboxes=torch.tensor(ignore_boxes).view(-1, 4),
        labels=torch.zeros(n, dtype=torch.long),
        instances_ids=torch.arange(100, 100 + n))
    return sample


def pair(first_ignores, second_ignores, key=0) -> TrackDataSample:
    sample = TrackDataSample()
    frames = [frame(first_ignores), frame(second_ignores)]
    sample.video_data_samples = frames if key == 0 else frames[::-1]
    sample.set_metainfo(dict(key_frames_inds=[key], ref_frames_inds=[1 - key]))
    return sample


def losses_of(model, sample) -> dict:
    with torch.no_grad():
        return model.loss(torch.rand(1, 2, 3, H, W), [sample])


def test_ignore_region_of_the_first_frame(silenced):
    losses = losses_of(silenced, pair([IGNORE_BOX], []))
    negatives = NUM_ANCHORS - NUM_ON_IGNORE  # 246
    assert losses['task_cls'].item() == pytest.approx(
        2 * negatives * FOCAL_NEG_AT_0, rel=1e-5)
    assert losses['task_reid'].item() == pytest.approx(
        negatives * FOCAL_NEG_AT_0, rel=1e-5)


def test_key_frame_read_from_metainfo(silenced):
    """The same pair with the frames stored in the other order."""
    losses = losses_of(silenced, pair([IGNORE_BOX], [], key=1))
    assert losses['task_cls'].item() == pytest.approx(
        2 * (NUM_ANCHORS - NUM_ON_IGNORE) * FOCAL_NEG_AT_0, rel=1e-5)


def test_ignore_region_of_the_second_frame_only(silenced):
    """Anchors lie on the first frame, background there: still negatives of
    both losses (second-frame regions only spare anchors on a person)."""
    losses = losses_of(silenced, pair([], [IGNORE_BOX]))
    assert losses['task_cls'].item() == pytest.approx(
        2 * NUM_ANCHORS * FOCAL_NEG_AT_0, rel=1e-5)
    assert losses['task_reid'].item() == pytest.approx(
        NUM_ANCHORS * FOCAL_NEG_AT_0, rel=1e-5)
