"""Build the benchmarked networks from the shipped configs, and variants:
the same model without PSO, and a plain RetinaNet with its backbone and neck.

Weights are PyTorch's default random initialisation: ``init_weights`` is not
called, as the R50 config's would download ImageNet weights, and timing does
not depend on the values (except through the number of detections, which
the benchmarks print).
"""
import copy
import glob
import os

import torch
from mmdet.registry import MODELS
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from torch import nn

import mmdmw  # noqa: F401  (registers the model)
from _common import REPO_ROOT
from mmdmw.models.layers.coord_conv import CoordConv

CONFIG_DIR = os.path.join(REPO_ROOT, 'configs', 'dmw')
#: The small CPU config (the schedule in its name may change) and the paper's.
TINY_PATTERN = 'retina_dmw_r18-tiny_*_synthetic.py'
R50_NAME = 'retina_dmw_r50_mot17.py'


def find_config(pattern: str) -> str:
    """The one config in ``configs/dmw`` whose name matches ``pattern``.

    Raises:
        FileNotFoundError: When no config or more than one matches.
    """
    found = sorted(glob.glob(os.path.join(CONFIG_DIR, pattern)))
    if len(found) != 1:
        raise FileNotFoundError(
            f'expected one config {pattern} in {CONFIG_DIR}, found {found}')
    return found[0]


def load_config(pattern: str) -> Config:
    """Load the config matching ``pattern`` (see :func:`find_config`)."""
    return Config.fromfile(find_config(pattern))


def build(cfg: dict) -> nn.Module:
    """Build a model config in mmdet's scope (no ``init_weights``)."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg)


def config_name(cfg: Config) -> str:
    """The config's file name without the folder and ``.py``."""
    return os.path.splitext(os.path.basename(cfg.filename))[0]


def zero_coord_weights(model: nn.Module) -> None:
    """Zero the weights CoordConv layers give the coordinate channels."""
    for module in model.modules():
        if isinstance(module, CoordConv):
            with torch.no_grad():
                module.weight[:, module.in_channels:] = 0


def without_pso(cfg, pso_model: nn.Module) -> nn.Module:
    """The same model with ``use_pso=False`` and the same weights (the
    coordinate channels' weights dropped)."""
    cfg = copy.deepcopy(cfg)
    cfg.model.head.use_pso = False
    plain = build(cfg.model)
    state = pso_model.state_dict()
    for name, value in plain.state_dict().items():
        state[name] = state[name][:, :value.size(1)] if (
            value.dim() == 4 and state[name].shape != value.shape) else (
                state[name])
    plain.load_state_dict(state)
    return plain.eval()


def plain_retinanet(cfg, tracker: nn.Module) -> nn.Module:
    """mmdet's RetinaNet with the tracker's backbone + neck (and weights),
    a standard RetinaHead with its anchors and test settings."""
    head = cfg.model.head
    test_cfg = ConfigDict(min_bbox_size=0, **head.test_cfg)
    detector = build(
        dict(
            type='RetinaNet',
            backbone=cfg.model.backbone,
            neck=cfg.model.neck,
            bbox_head=dict(
                type='RetinaHead',
                num_classes=1,
                in_channels=head.in_channels,
                feat_channels=head.feat_channels,
                stacked_convs=head.stacked_convs,
                anchor_generator=head.anchor_generator,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=(0., 0., 0., 0.),
                    target_stds=(0.1, 0.1, 0.2, 0.2)),
                loss_cls=dict(type='FocalLoss', use_sigmoid=True),
                loss_bbox=dict(type='SmoothL1Loss')),
            test_cfg=test_cfg))
    detector.backbone.load_state_dict(tracker.backbone.state_dict())
    detector.neck.load_state_dict(tracker.neck.state_dict())
    return detector.eval()
