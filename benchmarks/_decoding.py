"""The MOT20 config's pair decoding on synthetic head outputs, no network.

``decode_pairs`` (``mmdmw/models/dense_heads/pair_decoding.py``) turns the
chained head's raw maps into the tracker's nodes: anchors, a score filter,
``nms_pre``, delta decoding of both boxes, NMS and ``max_per_img``. Its cost
depends on the number of anchors (the image size) and on how many of them a
crowd lights up, not on the network's weights, so the maps are written by
hand for a frame of N people:

* the canvas is the MOT20 config's test scale (``img_scale`` of
  ``configs/_base_/datasets/mot20_pair.py``, 1600 x 896: 29,841 anchors with
  its one anchor per location);
* N people of MOT20's median height at that scale (93 px; the config's
  comment) and the anchors' h/w of 2.9 stand in a grid over the canvas,
  rows overlapping once N passes ~300;
* every anchor with IoU >= 0.3 to a person (what a trained head scores,
  the config's reasoning for ``nms_pre``) scores its IoU and regresses to
  the person's box in t and in t-1 (2% jitter per anchor, so a person's
  duplicates overlap far above NMS's 0.7); all other anchors score
  sigmoid(N(-6, 1)), about 1 in 1000 above ``score_thr``.

The head (prior generator, box coder, ``test_cfg`` merged as the head
merges it) is built from the config itself, so a changed cap is measured.

Shape letters: P anchors of the image, N people, L pyramid levels.
"""
import os
from typing import Dict, List, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment
from torch import Tensor

import mmdmw  # noqa: F401  (registers ChainedRetinaHead)
from _common import REPO_ROOT
from mmdmw.models.dense_heads.pair_decoding import decode_pairs

MOT20_CONFIG = os.path.join(REPO_ROOT, 'configs', 'dmw',
                            'retina_dmw_r50_mot20.py')
#: A person at MOT20's test scale: median height (px) and the anchors' h/w.
PERSON_H, PERSON_ASPECT = 93.0, 2.9
#: Horizontal pitch of the grid, in person widths.
COLUMN_PITCH = 1.5
#: Anchors with at least this IoU to a person are scored (candidates).
CANDIDATE_IOU = 0.3
#: Jitter of a candidate's regressed box, fraction of the box size.
BOX_JITTER = 0.02
#: Pixels a person moves between frames t-1 and t.
STEP_PX = 3.0
#: Background logits ~ N(mean, std); sigmoid(-6) = 0.0025.
BG_LOGIT = (-6.0, 1.0)
#: ID-verification logits of candidates and of the background.
ID_LOGIT_FG, ID_LOGIT_BG = 2.0, -4.0
#: A person is found by a kept box at this IoU (one-to-one).
FOUND_IOU = 0.5
#: People per IoU chunk (a P x N matrix per chunk).
IOU_CHUNK = 100


class Mot20Decoding:
    """``decode_pairs`` with the MOT20 config's head and test settings.

    Args:
        config_path (str): Model config. Defaults to the MOT20 leaf.
    """

    def __init__(self, config_path: str = MOT20_CONFIG) -> None:
        cfg = Config.fromfile(config_path)
        with DefaultScope.overwrite_default_scope('mmdet'):
            head = MODELS.build(cfg.model.head)
        self.prior_generator = head.prior_generator
        self.bbox_coder = head.bbox_coder
        self.test_cfg = head.test_cfg  # DEFAULT_TEST_CFG <- the config's
        self.img_wh = tuple(cfg.img_scale)  # (w, h)
        w, h = self.img_wh
        # the data preprocessor pads to 32; each level its stride's ceil
        self.featmap_sizes = [(-(-h // s), -(-w // s))
                              for s, _ in self.prior_generator.strides]
        self.anchors = torch.cat(
            self.prior_generator.grid_priors(self.featmap_sizes,
                                             device='cpu'))  # (P, 4)
        self.img_meta = dict(img_shape=(h, w), scale_factor=(1.0, 1.0))

    def people(self, num_people: int) -> Tensor:
        """(N, 4) x1y1x2y2 boxes of N people in a grid over the canvas."""
        w_img, h_img = self.img_wh
        box_w = PERSON_H / PERSON_ASPECT
        cols = int(w_img // (box_w * COLUMN_PITCH))
        rows = -(-num_people // cols)
        row_pitch = (h_img - PERSON_H) / max(1, rows - 1)
        idx = torch.arange(num_people)
        x1 = (idx % cols).float() * box_w * COLUMN_PITCH
        y1 = (idx // cols).float() * min(row_pitch, PERSON_H * 1.1)
        return torch.stack([x1, y1, x1 + box_w, y1 + PERSON_H], dim=1)

    def head_outputs(self,
                     num_people: int,
                     seed: int = 0) -> Dict[str, List[Tensor]]:
        """Raw maps of one frame of ``num_people`` people.

        Returns:
            dict[str, list[Tensor]]: ``cls_scores`` (1, 2, h, w),
            ``bbox_preds`` (1, 8, h, w) and ``reid_scores`` (1, 1, h, w) per
            level (one anchor per location).
        """
        gen = torch.Generator().manual_seed(seed)
        boxes = self.people(num_people)  # (N, 4)
        num_anchors = len(self.anchors)
        best_iou = torch.zeros(num_anchors)
        owner = torch.zeros(num_anchors, dtype=torch.long)
        for start in range(0, num_people, IOU_CHUNK):
            iou = bbox_overlaps(self.anchors, boxes[start:start + IOU_CHUNK])
            chunk_best, chunk_owner = iou.max(dim=1)  # (P,)
            better = chunk_best > best_iou
            best_iou[better] = chunk_best[better]
            owner[better] = chunk_owner[better] + start
        fg = best_iou >= CANDIDATE_IOU  # (P,)
        cls = torch.normal(*BG_LOGIT, size=(num_anchors, 2), generator=gen)
        cls[fg] = torch.logit(best_iou[fg]).unsqueeze(1)
        reid = torch.full((num_anchors, 1), ID_LOGIT_BG)
        reid[fg] = ID_LOGIT_FG
        reg = torch.zeros(num_anchors, 8)
        if fg.any():
            target = boxes[owner[fg]]  # (F, 4)
            size = (target[:, 2:] - target[:, :2]).repeat(1, 2)
            prev = target - torch.tensor([STEP_PX, 0., STEP_PX, 0.])
            for col, box in ((0, target), (4, prev)):
                noise = torch.randn(box.shape, generator=gen)
                reg[fg, col:col + 4] = self.bbox_coder.encode(
                    self.anchors[fg], box + noise * BOX_JITTER * size)
        return dict(cls_scores=self._to_maps(cls),
                    bbox_preds=self._to_maps(reg),
                    reid_scores=self._to_maps(reid))

    def _to_maps(self, flat: Tensor) -> List[Tensor]:
        """(P, K) -> per level (1, K, h, w), the inverse of flatten_levels."""
        maps, start = [], 0
        for h, w in self.featmap_sizes:
            level = flat[start:start + h * w]  # (hw, K)
            start += h * w
            # (hw, K) -> (1, h, w, K) -> (1, K, h, w)
            maps.append(level.reshape(1, h, w, -1).permute(0, 3, 1, 2))
        return maps

    def decode(self, outputs: Dict[str, List[Tensor]]) -> InstanceData:
        """``decode_pairs`` of one frame's raw maps (what is timed)."""
        return decode_pairs(outputs['cls_scores'], outputs['bbox_preds'],
                            outputs['reid_scores'], self.img_meta,
                            self.prior_generator, self.bbox_coder,
                            self.test_cfg)

    def caps(self, num_people: int,
             outputs: Dict[str, List[Tensor]]) -> Tuple[int, int, int]:
        """What the caps leave of a frame of ``num_people`` people.

        Returns:
            tuple[int, int, int]: candidates over ``score_thr`` (before
            ``nms_pre``), detections kept (after NMS and ``max_per_img``)
            and people found (matched one-to-one to a kept box at IoU >=
            0.5, Hungarian; one box may overlap two people of a dense
            grid).
        """
        flat = torch.cat([m[0, 0].reshape(-1) for m in outputs['cls_scores']])
        candidates = int((flat.sigmoid() > self.test_cfg['score_thr']).sum())
        kept = self.decode(outputs)
        found = 0
        if len(kept):
            iou = bbox_overlaps(self.people(num_people), kept.bboxes)  # (N, D)
            rows, cols = linear_sum_assignment(-iou.numpy())
            found = int((iou[rows, cols] >= FOUND_IOU).sum())
        return candidates, len(kept), found
