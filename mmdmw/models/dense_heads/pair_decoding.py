"""Paired detections from the chained head's raw outputs: anchors, delta
decoding, score filter, NMS and rescaling.

Pure functions, shared by :class:`ChainedRetinaHead` (PyTorch) and the ONNX
Runtime model of :mod:`mmdmw.deploy`, so that both backends turn the same
network outputs into the same boxes.

Shape letters: N image pairs, A anchors per location, K channels per anchor,
P anchors of an image over all levels, D kept detections.
"""
from typing import Sequence

import torch
from mmcv.ops import batched_nms
from mmengine.structures import InstanceData
from torch import Tensor

#: Test settings of :class:`ChainedRetinaHead`; a config's ``test_cfg``
#: overrides them key by key.
DEFAULT_TEST_CFG = dict(
    nms_pre=1000,
    score_thr=0.05,
    nms=dict(type='nms', iou_threshold=0.5),
    max_per_img=100)


def flatten_levels(maps: Sequence[Tensor], channels: int) -> Tensor:
    """Join per-level maps into one tensor per image.

    (N, A*K, H, W) per level -> (N, HWA, K) -> (N, P, K).
    """
    flat = [
        m.permute(0, 2, 3, 1).reshape(m.size(0), -1, channels) for m in maps
    ]
    return torch.cat(flat, dim=1)


def anchors_of(prior_generator, featmaps: Sequence[Tensor]) -> Tensor:
    """All anchors of an image, (P, 4) x1y1x2y2, level by level.

    Args:
        prior_generator: mmdet ``AnchorGenerator`` of the head.
        featmaps (Sequence[Tensor]): One (N, *, h, w) map per level; only
            the sizes and the device are read.
    """
    sizes = [f.shape[-2:] for f in featmaps]
    return torch.cat(
        prior_generator.grid_priors(sizes, device=featmaps[0].device))


def decode_pairs(cls_scores: Sequence[Tensor],
                 bbox_preds: Sequence[Tensor],
                 reid_scores: Sequence[Tensor],
                 img_meta: dict,
                 prior_generator,
                 bbox_coder,
                 test_cfg: dict,
                 rescale: bool = True) -> InstanceData:
    """Decode the paired detections of one image pair (N = 1).

    Args:
        cls_scores (Sequence[Tensor]): Per level (1, 2A, h, w) logits: person
            in the first frame, presence in the second.
        bbox_preds (Sequence[Tensor]): Per level (1, 8A, h, w) paired deltas.
        reid_scores (Sequence[Tensor]): Per level (1, A, h, w) logits.
        img_meta (dict): Meta of the first frame (``img_shape``,
            ``scale_factor``).
        prior_generator: mmdet ``AnchorGenerator``.
        bbox_coder: mmdet ``DeltaXYWHBBoxCoder``.
        test_cfg (dict): ``nms_pre``, ``score_thr``, ``nms`` (mmcv ``nms`` /
            ``soft_nms`` config) and ``max_per_img``.
        rescale (bool): Return boxes in original-image coordinates.

    Returns:
        InstanceData: ``bboxes`` (D, 4) in the first frame, ``pair_bboxes``
        (D, 4) in the second frame, ``scores`` (D,), ``pair_scores`` (D,)
        presence in the second frame, ``id_scores`` (D,) ID verification,
        ``labels`` (D,) zeros.
    """
    cfg = test_cfg
    anchors = anchors_of(prior_generator, cls_scores)
    # float32 whatever the network ran in (fp16 scores and fp32 boxes would
    # meet in NMS otherwise)
    cls = flatten_levels(cls_scores, 2)[0].float().sigmoid()  # (P, 2)
    reg = flatten_levels(bbox_preds, 8)[0].float()  # (P, 8)
    reid = flatten_levels(reid_scores, 1)[0, :, 0].float().sigmoid()  # (P,)

    scores = cls[:, 0]
    keep = (scores > cfg['score_thr']).nonzero().squeeze(1)
    if keep.numel() > cfg['nms_pre']:
        keep = keep[scores[keep].topk(cfg['nms_pre']).indices]
    shape = img_meta['img_shape']
    bboxes = bbox_coder.decode(anchors[keep], reg[keep, :4], shape)
    pair_bboxes = bbox_coder.decode(anchors[keep], reg[keep, 4:], shape)
    if keep.numel() == 0:  # mmcv's batched_nms fails on no boxes
        dets, kept = bboxes.new_zeros(0, 5), keep
    else:  # soft-NMS lowers scores, so they are read from ``dets``
        dets, kept = batched_nms(bboxes, scores[keep], torch.zeros_like(keep),
                                 cfg['nms'])
    dets, kept = dets[:cfg['max_per_img']], kept[:cfg['max_per_img']]
    if rescale:
        factor = bboxes.new_tensor(img_meta['scale_factor']).repeat(2)
        bboxes, pair_bboxes = bboxes / factor, pair_bboxes / factor
    keep = keep[kept]
    return InstanceData(
        bboxes=bboxes[kept],
        pair_bboxes=pair_bboxes[kept],
        scores=dets[:, -1],
        pair_scores=cls[keep, 1],
        id_scores=reid[keep],
        labels=torch.zeros_like(keep))
