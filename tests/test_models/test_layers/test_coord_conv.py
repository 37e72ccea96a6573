"""Tests for the position-sensitive operation (CoordConv)."""
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from mmdmw.models.layers.coord_conv import CoordConv, coord_channels


def test_coord_channels_by_hand():
    # H = 3, W = 2: x = -1 + 2j/(W-1) -> columns (-1, 1);
    # y = -1 + 2i/(H-1) -> rows (-1, 0, 1)
    coords = coord_channels(torch.zeros(1, 5, 3, 2))
    expected_x = torch.tensor([[-1., 1.], [-1., 1.], [-1., 1.]])
    expected_y = torch.tensor([[-1., -1.], [0., 0.], [1., 1.]])
    assert coords.shape == (1, 2, 3, 2)
    assert torch.equal(coords[0, 0], expected_x)
    assert torch.equal(coords[0, 1], expected_y)


def test_coord_channels_odd_sizes_and_batch():
    coords = coord_channels(torch.zeros(2, 1, 5, 7, dtype=torch.float64))
    assert coords.shape == (2, 2, 5, 7) and coords.dtype == torch.float64
    # W = 7: step 2/6 = 1/3; H = 5: step 2/4 = 1/2; both ends exact
    assert torch.allclose(coords[0, 0, 0],
                          torch.arange(7, dtype=torch.float64) / 3 - 1)
    assert torch.allclose(coords[0, 1, :, 0],
                          torch.arange(5, dtype=torch.float64) / 2 - 1)
    assert coords[0, 0, 0, 0] == -1 and coords[0, 0, 0, -1] == 1
    assert coords[0, 1, 0, 0] == -1 and coords[0, 1, -1, 0] == 1
    assert torch.equal(coords[0], coords[1])


def test_coord_channels_length_one_axis_is_zero():
    # a single row / column sits at the centre of [-1, 1]
    assert torch.equal(
        coord_channels(torch.ones(1, 3, 1, 1)), torch.zeros(1, 2, 1, 1))
    coords = coord_channels(torch.ones(1, 3, 1, 3))
    assert torch.equal(coords[0, 0, 0], torch.tensor([-1., 0., 1.]))
    assert torch.equal(coords[0, 1, 0], torch.zeros(3))
    with pytest.raises(ValueError, match='N, C, H, W'):
        coord_channels(torch.zeros(3, 4, 4))


def test_conv_attributes():
    conv = CoordConv(4, 8, 3, padding=1)
    # in_channels is what the layer is fed; the weight holds the coordinates
    assert conv.in_channels == 4 and conv.conv_in_channels == 6
    assert conv.weight.shape == (8, 6, 3, 3)
    assert isinstance(conv, torch.nn.Conv2d)
    assert 'coord_channels=2' in repr(conv)
    with pytest.raises(ValueError, match='groups=1'):
        CoordConv(4, 8, 3, groups=2)


def test_conv_reproduces_coordinate_grid():
    # zero weights on the 3 input channels; a centred 1x1 identity (the middle
    # tap of the 3x3 kernel) on x for output 0 and on y for output 1
    conv = CoordConv(3, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 3, 1, 1] = 1.
        conv.weight[1, 4, 1, 1] = 1.
    x = torch.randn(2, 3, 5, 4)
    assert torch.allclose(conv(x), coord_channels(x))


@pytest.mark.parametrize('size', [(1, 1), (5, 7), (4, 4)])
def test_conv_forward_and_gradients(size):
    conv = CoordConv(3, 6, 3, padding=1)
    x = torch.randn(2, 3, *size, requires_grad=True)
    out = conv(x)
    assert out.shape == (2, 6, *size)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert conv.weight.grad is not None
    # the coordinate taps receive gradient too (unless every coordinate is 0)
    if size != (1, 1):
        assert conv.weight.grad[:, 3:].abs().sum() > 0


def test_registered_in_mmdet_and_mmengine_root():
    from mmdet.registry import MODELS
    from mmengine.registry import MODELS as MMENGINE_MODELS
    assert MODELS.get('CoordConv') is CoordConv
    assert MMENGINE_MODELS.get('CoordConv') is CoordConv


@pytest.mark.parametrize('scope', ['mmdet', None])
def test_build_conv_layer(scope, monkeypatch):
    from mmcv.cnn import build_conv_layer
    if scope is None:  # no default scope at all, e.g. a plain script
        monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict())
    with DefaultScope.overwrite_default_scope(scope):
        conv = build_conv_layer(dict(type='CoordConv'), 4, 8, 3, padding=1)
    assert isinstance(conv, CoordConv) and conv.in_channels == 4
    assert conv(torch.randn(1, 4, 6, 6)).shape == (1, 8, 6, 6)


def test_conv_module_with_group_norm():
    from mmcv.cnn import ConvModule
    with DefaultScope.overwrite_default_scope('mmdet'):
        block = ConvModule(
            4,
            8,
            3,
            padding=1,
            conv_cfg=dict(type='CoordConv'),
            norm_cfg=dict(type='GN', num_groups=4))
    assert isinstance(block.conv, CoordConv)
    assert block.in_channels == 4 and block.out_channels == 8
    assert block.conv.bias is None  # bias='auto' with a norm layer
    assert block(torch.randn(2, 4, 5, 7)).shape == (2, 8, 5, 7)


def test_conv_module_efficient_conv_bn_eval_adds_coordinates():
    # this mmcv path calls conv._conv_forward with fused weights directly
    from mmcv.cnn import ConvModule
    with DefaultScope.overwrite_default_scope('mmdet'):
        block = ConvModule(
            4,
            8,
            3,
            padding=1,
            conv_cfg=dict(type='CoordConv'),
            norm_cfg=dict(type='BN'))
    block.eval()
    x = torch.randn(2, 4, 5, 7)
    expected = block(x)
    block.turn_on_efficient_conv_bn_eval()
    assert torch.allclose(block(x), expected, atol=1e-5)


def test_init_cfg_matching_conv2d_applies():
    from mmengine.model import BaseModule

    class Head(BaseModule):

        def __init__(self):
            super().__init__(
                init_cfg=dict(type='Constant', layer='Conv2d', val=0.5))
            self.conv = CoordConv(2, 3, 1)

    head = Head()
    head.init_weights()
    assert torch.all(head.conv.weight == 0.5)


def _concat_reference(conv, x):
    """The definition: one conv over the input with x, y concatenated."""
    return F.conv2d(torch.cat([x, coord_channels(x)], dim=1), conv.weight,
                    conv.bias, conv.stride, conv.padding, conv.dilation)


def test_split_conv_equals_concatenation_and_cache_follows_weights():
    torch.manual_seed(0)
    conv = CoordConv(5, 4, 3, padding=1)
    x = torch.randn(2, 5, 7, 9)
    assert torch.allclose(conv(x), _concat_reference(conv, x), atol=1e-5)
    with torch.no_grad():
        first = conv(x)
        assert torch.allclose(conv(x), first)  # cached coordinate term
        conv.weight[:, -1] += 1.0  # an optimizer step changes the weights
        assert torch.allclose(conv(x), _concat_reference(conv, x), atol=1e-5)
        other = torch.randn(1, 5, 4, 6)  # another map size
        assert torch.allclose(conv(other), _concat_reference(conv, other),
                              atol=1e-5)
