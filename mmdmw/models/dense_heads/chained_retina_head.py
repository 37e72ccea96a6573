"""RetinaNet head for a pair of frames: person score, paired boxes, re-ID.

Shape letters: N image pairs, C channels of one frame's FPN level, A anchors
per location (1 in CTracker), P anchors of an image over all levels.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import ConfigType, OptConfigType
from mmengine.structures import InstanceData
from torch import Tensor

from ..task_modules import PairTargets, pair_targets
from .pair_decoding import (DEFAULT_TEST_CFG, anchors_of, decode_pairs,
                            flatten_levels)

#: How the task losses of an image pair are normalised (``loss_normalization``
#: of :class:`ChainedRetinaHead`); see :func:`loss_denominators`.
LOSS_NORMALIZATIONS = ('ctracker', 'mmdet')


@MODELS.register_module()
class ChainedRetinaHead(RetinaHead):
    """Chained RetinaHead (CTracker) with the position-sensitive operation.

    The input of each level is the channel-wise concatenation of the two
    frames' FPN maps, (N, 2C, H, W). Three branches, each ``stacked_convs`` ×
    (3×3 conv + GroupNorm + ReLU) and one 3×3 output conv, predict per anchor:

    * classification, 2A channels: the person score in the first frame and
      whether the same person is present in the second frame (Eq. 1-3);
    * paired regression, 8A channels: the deltas of the first-frame box and
      of the same person's second-frame box (Eq. 4-5);
    * ID verification, A channels: whether the two boxes are one identity
      (Eq. 6).

    With ``use_pso`` the first conv of every branch is a ``CoordConv`` that
    concatenates normalised x, y coordinate channels to its input (the
    paper's position-sensitive operation, C -> C+2).

    Args:
        in_channels (int): Channels C of one frame's FPN level; the head's
            input has 2C.
        feat_channels (int): Channels inside the branches. Defaults to 256.
        stacked_convs (int): Convs per branch before the output conv.
            Defaults to 4.
        use_pso (bool): Position-sensitive operation at each branch input.
            Defaults to True.
        use_attention (bool): CTracker's attention: the regression branch's
            input is multiplied by the classification and ID-verification
            maps. Defaults to False.
        loss_normalization (str): What each image pair's summed task losses
            are divided by (see :func:`loss_denominators`): ``'ctracker'``,
            the paper's base code (regression averaged over #positives × 8
            coordinates, ID verification over #ID-positive anchors), or
            ``'mmdet'``, RetinaNet's convention in mmdet (every loss over
            #positives). Eq. 8 reacts to the losses' relative scale, so this
            decides what DMW's weights become. Defaults to ``'ctracker'``.
        norm_cfg (dict): Normalisation of the branch convs. Defaults to
            GroupNorm with 32 groups.
        loss_reid (dict): ID-verification loss. Defaults to focal loss with
            alpha 0.25 and gamma 2 (Eq. 6).
        train_cfg (dict, optional): ``pos_iou_thr`` (0.5) and
            ``neg_iou_thr`` (0.4) of the target assignment.
        test_cfg (dict, optional): ``nms_pre`` (1000), ``score_thr`` (0.05),
            ``nms`` (mmcv ``nms`` / ``soft_nms`` config, IoU 0.5) and
            ``max_per_img`` (100).
        **kwargs: Passed to :class:`RetinaHead` (``anchor_generator``,
            ``bbox_coder``, ``loss_cls``, ``loss_bbox``, ``init_cfg``).
    """

    def __init__(self,
                 in_channels: int,
                 feat_channels: int = 256,
                 stacked_convs: int = 4,
                 use_pso: bool = True,
                 use_attention: bool = False,
                 loss_normalization: str = 'ctracker',
                 norm_cfg: ConfigType = dict(
                     type='GN', num_groups=32, requires_grad=True),
                 anchor_generator: ConfigType = dict(
                     type='AnchorGenerator',
                     base_sizes=[38, 86, 112, 156, 328],
                     scales=[1.0],
                     ratios=[2.9],
                     strides=[8, 16, 32, 64, 128]),
                 bbox_coder: ConfigType = dict(
                     type='DeltaXYWHBBoxCoder',
                     target_means=(0., 0., 0., 0.),
                     target_stds=(0.1, 0.1, 0.2, 0.2)),
                 loss_cls: ConfigType = dict(
                     type='FocalLoss',
                     use_sigmoid=True,
                     gamma=2.0,
                     alpha=0.25,
                     loss_weight=1.0),
                 loss_bbox: ConfigType = dict(
                     type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
                 loss_reid: ConfigType = dict(
                     type='FocalLoss',
                     use_sigmoid=True,
                     gamma=2.0,
                     alpha=0.25,
                     loss_weight=1.0),
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptConfigType = dict(
                     type='Normal',
                     layer='Conv2d',
                     std=0.01,
                     override=[
                         dict(
                             type='Normal',
                             name='retina_cls',
                             std=0.01,
                             bias_prob=0.01),
                         dict(
                             type='Normal',
                             name='retina_reid',
                             std=0.01,
                             bias_prob=0.01)
                     ]),
                 **kwargs) -> None:
        if loss_normalization not in LOSS_NORMALIZATIONS:
            raise ValueError(
                f'loss_normalization={loss_normalization!r} is not one of '
                f'{LOSS_NORMALIZATIONS}: set model.head.loss_normalization '
                "to 'ctracker' (the paper's base code) or 'mmdet'")
        self.use_pso = use_pso
        self.use_attention = use_attention
        self.loss_normalization = loss_normalization
        super().__init__(
            num_classes=1,
            in_channels=in_channels,
            feat_channels=feat_channels,
            stacked_convs=stacked_convs,
            norm_cfg=norm_cfg,
            anchor_generator=anchor_generator,
            bbox_coder=bbox_coder,
            loss_cls=loss_cls,
            loss_bbox=loss_bbox,
            init_cfg=init_cfg,
            **kwargs)
        # AnchorHead would build a MaxIoUAssigner from train_cfg; the pair
        # assignment is our own, so the configs are kept aside.
        self.train_cfg = {
            **dict(pos_iou_thr=0.5, neg_iou_thr=0.4),
            **(train_cfg or {})
        }
        self.test_cfg = {**DEFAULT_TEST_CFG, **(test_cfg or {})}
        self.loss_reid = MODELS.build(loss_reid)

    # ------------------------------------------------------------- layers
    def _branch(self) -> nn.Sequential:
        """``stacked_convs`` × (3×3 conv + GN + ReLU); PSO on the first."""
        layers = []
        channels = 2 * self.in_channels
        for i in range(self.stacked_convs):
            pso = self.use_pso and i == 0
            layers.append(
                ConvModule(
                    channels,
                    self.feat_channels,
                    3,
                    padding=1,
                    conv_cfg=dict(type='CoordConv') if pso else None,
                    norm_cfg=self.norm_cfg))
            channels = self.feat_channels
        return nn.Sequential(*layers)

    def _init_layers(self) -> None:
        out_channels = (self.feat_channels
                        if self.stacked_convs > 0 else 2 * self.in_channels)
        num_anchors = self.num_base_priors
        self.cls_convs = self._branch()
        self.reg_convs = self._branch()
        self.reid_convs = self._branch()
        self.retina_cls = nn.Conv2d(out_channels, 2 * num_anchors, 3,
                                    padding=1)
        self.retina_reg = nn.Conv2d(
            out_channels, 2 * self.bbox_coder.encode_size * num_anchors, 3,
            padding=1)
        self.retina_reid = nn.Conv2d(out_channels, num_anchors, 3, padding=1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Predict one level.

        Args:
            x (Tensor): (N, 2C, H, W) the two frames' maps of this level.

        Returns:
            tuple[Tensor, Tensor, Tensor]: classification logits
            (N, 2A, H, W), paired deltas (N, 8A, H, W) and ID-verification
            logits (N, A, H, W).
        """
        cls_score = self.retina_cls(self.cls_convs(x))
        reid_score = self.retina_reid(self.reid_convs(x))
        if self.use_attention:
            # CTracker: regression looks where people and identities are.
            # Channels are laid out per anchor, a*2 + k (as flatten_levels
            # reads them): k = 0 the person score, k = 1 the presence in
            # the other frame. (N, 2A, H, W) -> (N, A, H, W), every k = 0.
            person = cls_score[:, 0::2].sigmoid().mean(1, True)
            identity = reid_score.sigmoid().mean(1, True)
            x = x * person * identity
        bbox_pred = self.retina_reg(self.reg_convs(x))
        return cls_score, bbox_pred, reid_score

    # --------------------------------------------------------------- loss
    def anchors_of(self, featmaps: Sequence[Tensor]) -> Tensor:
        """All anchors of an image, (P, 4) x1y1x2y2, level by level."""
        return anchors_of(self.prior_generator, featmaps)

    flatten_levels = staticmethod(flatten_levels)

    def loss_per_sample(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        reid_scores: List[Tensor],
        first_gts: List[InstanceData],
        second_gts: List[InstanceData],
        first_ignores: Optional[List[Optional[InstanceData]]] = None,
        second_ignores: Optional[List[Optional[InstanceData]]] = None
    ) -> Dict[str, Tensor]:
        """The three task losses of every image pair.

        The losses are computed in float32 whatever the autocast dtype of
        the predictions (mixed-precision training): the focal terms
        ``(1 - p) ** gamma`` and the smooth-L1 of small deltas underflow in
        float16.

        Args:
            cls_scores, bbox_preds, reid_scores (list[Tensor]): Outputs of
                :meth:`forward`, one tensor per level.
            first_gts (list[InstanceData]): Per pair, the first frame's
                ``bboxes`` (G1, 4) and ``instances_ids`` (G1,).
            second_gts (list[InstanceData]): The same for the second frame.
            first_ignores, second_ignores (list[InstanceData | None],
                optional): Per pair, each frame's ignore regions (mmdet's
                ``ignored_instances``: ``bboxes`` and ``instances_ids``);
                see :mod:`..task_modules.pair_targets` for their effect.

        Returns:
            dict[str, Tensor]: ``cls``, ``reg`` and ``reid``, each (N,), every
            loss summed over anchors and divided by its denominator of
            ``loss_normalization`` (:func:`loss_denominators`).
        """
        anchors = self.anchors_of(cls_scores)
        num_pairs = len(first_gts)
        first_ignores = first_ignores or [None] * num_pairs
        second_ignores = second_ignores or [None] * num_pairs
        targets = [
            pair_targets(
                anchors, a.bboxes, a.instances_ids, b.bboxes,
                b.instances_ids, **self.train_cfg,
                ignore_bboxes=_field(ia, 'bboxes'),
                pair_ignore_bboxes=_field(ib, 'bboxes'),
                pair_ignore_ids=_field(ib, 'instances_ids'))
            for a, b, ia, ib in zip(first_gts, second_gts, first_ignores,
                                    second_ignores)
        ]
        # float32 under autocast (see the docstring): predictions cast up,
        # and autocast off so no op inside the losses casts them down.
        with torch.autocast(anchors.device.type, enabled=False):
            return self._task_losses(cls_scores, bbox_preds, reid_scores,
                                     anchors, targets)

    def _task_losses(self, cls_scores: List[Tensor],
                     bbox_preds: List[Tensor], reid_scores: List[Tensor],
                     anchors: Tensor,
                     targets: List[PairTargets]) -> Dict[str, Tensor]:
        """Eq. 1-6 from the head outputs and the targets, in float32."""
        stack = lambda name: torch.stack([getattr(t, name) for t in targets])
        denominators = loss_denominators(targets, self.loss_normalization,
                                         anchors)
        cls = self.flatten_levels(cls_scores, 2).float()  # (N, P, 2)
        reid = self.flatten_levels(reid_scores, 1).float()  # (N, P, 1)
        reg = self.flatten_levels(bbox_preds, 8).float()  # (N, P, 8)
        box_targets = stack('box_targets')  # (N, P, 8)
        num_pairs, num_anchors = box_targets.shape[:2]
        flat_anchors = anchors.repeat(num_pairs, 1)
        delta_targets = torch.cat([
            self.bbox_coder.encode(flat_anchors, box_targets[..., :4].reshape(
                -1, 4)),
            self.bbox_coder.encode(flat_anchors, box_targets[..., 4:].reshape(
                -1, 4))
        ], dim=1).view(num_pairs, num_anchors, 8)

        def per_sample(loss_fn, pred, target, weight, task) -> Tensor:
            k = pred.size(-1)
            loss = loss_fn(
                pred.reshape(-1, k), target.reshape(-1, k),
                reduction_override='none').view_as(pred)
            return (loss * weight).flatten(1).sum(1) / denominators[task]

        return dict(
            cls=per_sample(self.loss_cls, cls, stack('cls_targets'),
                           stack('cls_weights'), 'cls'),  # Eq. 1-3
            reg=per_sample(self.loss_bbox, reg, delta_targets,
                           stack('box_weights'), 'reg'),  # Eq. 4-5
            reid=per_sample(self.loss_reid, reid, stack('reid_targets'),
                            stack('reid_weights'), 'reid'))  # Eq. 6

    # ---------------------------------------------------------- inference
    def predict_pairs(self,
                      cls_scores: List[Tensor],
                      bbox_preds: List[Tensor],
                      reid_scores: List[Tensor],
                      img_meta: dict,
                      rescale: bool = True) -> InstanceData:
        """Decode the paired detections of one image pair (N = 1).

        Args:
            cls_scores, bbox_preds, reid_scores (list[Tensor]): Outputs of
                :meth:`forward` for one pair.
            img_meta (dict): Meta of the first frame (``img_shape``,
                ``scale_factor``).
            rescale (bool): Return boxes in original-image coordinates.

        Returns:
            InstanceData: ``bboxes`` (K, 4) in the first frame,
            ``pair_bboxes`` (K, 4) in the second frame, ``scores`` (K,),
            ``pair_scores`` (K,) presence in the second frame, ``id_scores``
            (K,) ID verification, ``labels`` (K,) zeros.
        """
        return decode_pairs(cls_scores, bbox_preds, reid_scores, img_meta,
                            self.prior_generator, self.bbox_coder,
                            self.test_cfg, rescale)


def loss_denominators(targets: Sequence[PairTargets], normalization: str,
                      like: Tensor) -> Dict[str, Tensor]:
    """What each pair's summed task losses are divided by, (N,) per task.

    ``'ctracker'`` (pjl1995/CTracker, ``losses.py``, on which the paper
    builds): classification over max(#positive anchors, 1); regression
    averaged over #positives × 8 coordinates (``regression_loss.mean()`` over
    the positives' 8 deltas, an absent partner's masked half counted as
    zeros); ID verification over max(#anchors labelled 1, 1). ``'mmdet'``
    (RetinaNet in mmdet): all three over max(#positive anchors, 1), so
    regression is 8 times CTracker's.

    CTracker also returns zero losses for a pair whose first frame holds
    nobody; here such a pair still teaches background (its negatives are
    summed and divided by 1), in both normalisations.

    Args:
        targets (Sequence[PairTargets]): The targets of the N pairs.
        normalization (str): One of :data:`LOSS_NORMALIZATIONS`.
        like (Tensor): Gives the dtype and device of the result.

    Returns:
        dict[str, Tensor]: ``cls``, ``reg`` and ``reid`` denominators.
    """
    num_pos = like.new_tensor([max(t.num_pos, 1) for t in targets])
    if normalization == 'mmdet':
        return dict(cls=num_pos, reg=num_pos, reid=num_pos)
    num_id_pos = torch.stack([
        (t.reid_targets * t.reid_weights).sum() for t in targets
    ]).to(num_pos).clamp(min=1)
    coords = targets[0].box_targets.size(-1) if targets else 8
    return dict(cls=num_pos, reg=num_pos * coords, reid=num_id_pos)


def _field(instances: Optional[InstanceData], name: str) -> Optional[Tensor]:
    """``instances.name`` as a tensor, or None when there is no such field.

    Boxes may come as ``HorizontalBoxes``, tensors or (from mmdet's
    ``demo_track_inputs``) numpy arrays.
    """
    if instances is None or name not in instances:
        return None
    value = instances.get(name)
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    return get_box_tensor(value)  # tensors pass unchanged
