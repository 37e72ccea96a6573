"""Mixed precision on the CPU: one training step under bfloat16 autocast.

``tools/train.py --amp`` uses MMEngine's ``AmpOptimWrapper``, whose
``optim_context`` is ``mmengine.runner.amp.autocast(dtype=...)``; the wrapper
itself refuses to start without a GPU, so on the CPU the same autocast
context is entered by hand around a plain ``OptimWrapper`` step (bfloat16 is
the only CPU autocast dtype). The CUDA step with float16 and the loss scaler
is in tests/test_cuda/.
"""
import copy
import math
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmengine.runner.amp import autocast
from mmengine.structures import InstanceData
from torch import nn

import mmdmw  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
H, W = 96, 128
#: Anchors of a 96x128 input in the tiny config (P3-P5): 192 + 48 + 12.
NUM_ANCHORS = 252
#: Sigmoid focal loss (alpha 0.25, gamma 2) of a logit 0 for a negative:
#: (1 - alpha) * 0.5**2 * ln 2.
FOCAL_NEG_AT_0 = 0.75 * 0.25 * math.log(2)


def build_model() -> nn.Module:
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        net = MODELS.build(cfg.model)
    net.init_weights()
    return net


def frame(boxes, ids) -> DetDataSample:
    sample = DetDataSample(metainfo=dict(img_shape=(H, W)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).view(-1, 4),
        labels=torch.zeros(len(ids), dtype=torch.long),
        instances_ids=torch.tensor(ids, dtype=torch.long))
    return sample


def pair(first, second) -> TrackDataSample:
    sample = TrackDataSample()
    sample.video_data_samples = [frame(*first), frame(*second)]
    sample.set_metainfo(dict(key_frames_inds=[0], ref_frames_inds=[1]))
    return sample


PERSON = ([[20., 10., 44., 80.]], [3])
MOVED = ([[24., 10., 48., 80.]], [3])
NOBODY = ([], [])


def test_task_losses_are_float32_under_bf16_autocast():
    """Output convs zeroed: every logit is exactly 0 in bfloat16 too, so a
    loss computed in float32 is exactly 2 * 252 * FOCAL_NEG_AT_0 (65.503);
    summed in bfloat16 (8-bit mantissa) it would be off by ~0.1 %."""
    net = build_model()
    for conv in (net.head.retina_cls, net.head.retina_reg,
                 net.head.retina_reid):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    inputs = torch.rand(1, 2, 3, H, W)
    with autocast(device_type='cpu', dtype=torch.bfloat16):
        feats = net.extract_feat(inputs[:, 0])
        assert feats[0].dtype == torch.bfloat16  # autocast is really on
        losses = net.loss(inputs, [pair(NOBODY, NOBODY)])
    assert losses['task_cls'].dtype == torch.float32
    assert losses['task_cls'].item() == pytest.approx(
        2 * NUM_ANCHORS * FOCAL_NEG_AT_0, rel=1e-6)
    assert losses['task_reid'].item() == pytest.approx(
        NUM_ANCHORS * FOCAL_NEG_AT_0, rel=1e-6)
    assert losses['loss'].dtype == torch.float32  # DMWLoss (Eq. 7-8)


def test_one_bf16_training_step_updates_the_weights():
    net = build_model()
    net.train()
    reference = copy.deepcopy(net)
    wrapper = OptimWrapper(torch.optim.Adam(net.parameters(), lr=1e-3))
    inputs = torch.rand(2, 2, 3, H, W)
    samples = [pair(PERSON, MOVED), pair(PERSON, NOBODY)]
    with autocast(device_type='cpu', dtype=torch.bfloat16):
        losses = net.loss(inputs, samples)
    with torch.no_grad():
        full = reference.loss(inputs, samples)
    # bfloat16 convs change the logits a little, not the losses' scale.
    for key in ('task_cls', 'task_reg', 'task_reid'):
        assert losses[key].dtype == torch.float32
        assert losses[key].item() == pytest.approx(full[key].item(), rel=0.1)
    wrapper.backward(losses['loss'])
    grads_ok = [torch.isfinite(p.grad).all() for p in net.parameters()
                if p.grad is not None]
    assert grads_ok and all(grads_ok)
    wrapper.step()
    before = dict(reference.named_parameters())
    changed = [name for name, p in net.named_parameters()
               if not torch.equal(p, before[name])]
    assert 'head.retina_cls.weight' in changed
    assert 'backbone.conv1.weight' in changed


def test_dmw_loss_lifts_low_precision_task_losses_to_float32():
    """Task losses 1, 2, 3 (exact in bfloat16): S = 6, Eq. 8 weights
    5/6, 4/6, 3/6, total (5 + 8 + 9) / 6 = 3.66667 in float32; in bfloat16
    (8-bit mantissa) it would round to 3.671875."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        weighting = MODELS.build(dict(type='DMWLoss'))
    losses = {
        name: torch.tensor([value], dtype=torch.bfloat16)
        for name, value in (('cls', 1.), ('reg', 2.), ('reid', 3.))
    }
    with autocast(device_type='cpu', dtype=torch.bfloat16):
        total, weights = weighting(losses)
    assert total.dtype == torch.float32
    assert total.item() == pytest.approx(22 / 6, rel=1e-6)
    assert weights['alpha'].item() == pytest.approx(5 / 6, rel=1e-6)
