"""ChainedRetinaHead's attention (``use_attention``) with two anchors per
location reads the person channel of every anchor.

The classification output has 2A channels laid out per anchor, a*2 + k
(k = 0 person, k = 1 presence in the other frame), as ``flatten_levels``
reads them. With A = 2 and every conv weight 0, each channel is its bias:

    channel   0 (a0 person)  1 (a0 presence)  2 (a1 person)  3 (a1 presence)
    logit     0              -ln 3            ln 3           -ln 3
    sigmoid   0.5            0.25             0.75           0.25

and both ID-verification channels have logit 0 (sigmoid 0.5). The
regression branch's input is x * mean_a(person_a) * mean_a(identity_a):

    right (channels 0, 2):  (0.5 + 0.75) / 2 * 0.5 = 0.625 * 0.5 = 0.3125
    wrong (channels 0, 1):  (0.5 + 0.25) / 2 * 0.5 = 0.375 * 0.5 = 0.1875
"""
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.registry import DefaultScope

import mmdmw  # noqa: F401
from mmdmw.models.dense_heads.pair_decoding import flatten_levels

C = 4  # channels of one frame's level; the head's input has 2C
CLS_LOGITS = (0., -math.log(3.), math.log(3.), -math.log(3.))
RIGHT_SCALE = 0.3125
WRONG_SCALE = 0.1875


def build_head(use_attention: bool):
    with DefaultScope.overwrite_default_scope('mmdet'):
        head = MODELS.build(
            dict(type='ChainedRetinaHead', in_channels=C, feat_channels=8,
                 stacked_convs=1, use_pso=False,
                 use_attention=use_attention,
                 norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                 anchor_generator=dict(type='AnchorGenerator',
                                       base_sizes=[16], scales=[1.0],
                                       ratios=[1.0, 2.0], strides=[8])))
    assert head.num_base_priors == 2
    with torch.no_grad():
        for conv, bias in ((head.retina_cls, CLS_LOGITS),
                           (head.retina_reid, (0., 0.))):
            conv.weight.zero_()
            conv.bias.copy_(torch.tensor(bias))
    return head.eval()


def regression_input(head, x: torch.Tensor) -> torch.Tensor:
    """What the regression branch receives for input ``x``; and the
    classification logits, flattened as decoding reads them."""
    seen = []
    hook = head.reg_convs.register_forward_pre_hook(
        lambda _, args: seen.append(args[0].clone()))
    with torch.no_grad():
        cls_score, _, _ = head.forward_single(x)
    hook.remove()
    return seen[0], cls_score


@pytest.mark.parametrize('use_attention, scale',
                         [(True, RIGHT_SCALE), (False, 1.)])
def test_attention_takes_the_person_channel_of_every_anchor(
        use_attention, scale):
    torch.manual_seed(0)
    x = torch.rand(1, 2 * C, 3, 4) + 0.5
    got, cls_score = regression_input(build_head(use_attention), x)
    assert torch.allclose(got, x * scale, atol=1e-6)
    assert not torch.allclose(got, x * WRONG_SCALE, atol=1e-3)
    # the layout the attention assumes is the one decoding reads:
    # (N, 2A, H, W) -> (N, HWA, 2), k = 0 the person score of each anchor
    person = flatten_levels([cls_score], 2)[0, :, 0].sigmoid()
    assert person.shape == (3 * 4 * 2, )
    assert torch.allclose(person.view(12, 2),
                          torch.tensor([[0.5, 0.75]]).expand(12, 2))
