"""How accurate each half of the predicted box pairs is.

At inference the chained model pairs the current frame with the previous one
(:meth:`ChainedTracker.detect_pairs`): the *first* box of each pair lies in
the current frame (where the anchors are), the *second* box in the previous
frame, and the tracker chains a pair to a trajectory by the IoU of that
second box with the trajectory's last box. So the second box's accuracy is
what association depends on, the first box's what detection depends on.

Per frame, the confident predictions (score >= ``score_thr``) are matched to
the current frame's ground truth by their first box (Hungarian on IoU,
IoU >= ``match_iou_thr``); for every match we record the IoU of the first box
with its GT box and, when the same identity is in the previous frame, the IoU
of the second box with that identity's previous GT box. Frame 0 of a video is
paired with itself and is skipped.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps
from scipy.optimize import linear_sum_assignment
from torch import Tensor


def match_pair_halves(first_boxes: Tensor,
                      second_boxes: Tensor,
                      gt_boxes: Tensor,
                      gt_ids: Tensor,
                      prev_gt_boxes: Tensor,
                      prev_gt_ids: Tensor,
                      match_iou_thr: float = 0.5) -> Tuple[List[float],
                                                           List[float]]:
    """IoUs of the matched pairs' first and second boxes with the truth.

    Args:
        first_boxes (Tensor): (K, 4) x1y1x2y2 first boxes (current frame),
            already filtered by score.
        second_boxes (Tensor): (K, 4) their second boxes (previous frame).
        gt_boxes (Tensor): (G, 4) current frame's GT boxes.
        gt_ids (Tensor): (G,) their identities.
        prev_gt_boxes (Tensor): (H, 4) previous frame's GT boxes.
        prev_gt_ids (Tensor): (H,) their identities.
        match_iou_thr (float): A first box matches a GT box at IoU >= this.
            Defaults to 0.5.

    Returns:
        tuple[list[float], list[float]]: First-box IoUs, one per match; and
        second-box IoUs, one per match whose identity is in the previous
        frame.
    """
    if first_boxes.numel() == 0 or gt_boxes.numel() == 0:
        return [], []
    ious = bbox_overlaps(first_boxes.float(),
                         gt_boxes.float()).detach().cpu().numpy()
    rows, cols = linear_sum_assignment(-ious)  # maximise the total IoU
    keep = ious[rows, cols] >= match_iou_thr
    rows, cols = rows[keep], cols[keep]
    first = ious[rows, cols].tolist()
    prev = {int(i): k for k, i in enumerate(prev_gt_ids.tolist())}
    second = []
    for row, col in zip(rows, cols):
        k = prev.get(int(gt_ids[col]))
        if k is not None:
            iou = bbox_overlaps(second_boxes[row:row + 1].float(),
                                prev_gt_boxes[k:k + 1].float())
            second.append(float(iou[0, 0]))
    return first, second


class PairHalfAccumulator:
    """Collect :func:`match_pair_halves` over frames and summarise.

    Args:
        score_thr (float): Predictions below it are ignored. Defaults to 0.5.
        match_iou_thr (float): See :func:`match_pair_halves`. Defaults to 0.5.
    """

    def __init__(self, score_thr: float = 0.5, match_iou_thr: float = 0.5):
        self.score_thr = score_thr
        self.match_iou_thr = match_iou_thr
        self.first: List[float] = []
        self.second: List[float] = []
        self.num_gt = 0

    def add(self, first_boxes: Tensor, second_boxes: Tensor, scores: Tensor,
            gt_boxes: Tensor, gt_ids: Tensor, prev_gt_boxes: Tensor,
            prev_gt_ids: Tensor) -> None:
        """One frame (not frame 0); shapes as in :func:`match_pair_halves`,
        ``scores`` (K,)."""
        keep = scores >= self.score_thr
        first, second = match_pair_halves(first_boxes[keep],
                                          second_boxes[keep], gt_boxes,
                                          gt_ids, prev_gt_boxes, prev_gt_ids,
                                          self.match_iou_thr)
        self.first += first
        self.second += second
        self.num_gt += len(gt_boxes)

    def summary(self) -> Dict[str, float]:
        """``first_iou`` / ``second_iou``: mean IoU (NaN without matches);
        ``matched``: matches per GT box of the scored frames;
        ``num_first`` / ``num_second``: how many IoUs each mean has."""
        mean = lambda v: float(np.mean(v)) if v else float('nan')
        return dict(
            first_iou=mean(self.first),
            second_iou=mean(self.second),
            matched=len(self.first) / max(self.num_gt, 1),
            num_first=len(self.first),
            num_second=len(self.second))


@torch.no_grad()
def evaluate_pair_halves(config: str,
                         checkpoint: str,
                         cfg_options: Optional[dict] = None,
                         score_thr: Optional[float] = None,
                         match_iou_thr: float = 0.5,
                         max_frames: Optional[int] = None) -> Dict[str, float]:
    """Pair-half accuracy of a trained model on its config's test split.

    Args:
        config (str): Config file.
        checkpoint (str): Trained weights.
        cfg_options (dict, optional): Config overrides (as ``--cfg-options``,
            already parsed), e.g. the data root.
        score_thr (float, optional): Confident predictions; None takes the
            config's ``model.tracker.score_thr`` (what the tracker chains).
        match_iou_thr (float): See :func:`match_pair_halves`. Defaults to 0.5.
        max_frames (int, optional): Stop after this many frames (tests).

    Returns:
        dict[str, float]: :meth:`PairHalfAccumulator.summary`.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner

    from ..apis.inference import init_tracker
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = init_tracker(cfg, checkpoint)
    if score_thr is None:
        score_thr = cfg.model.tracker.score_thr
    loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    acc = PairHalfAccumulator(score_thr, match_iou_thr)
    prev_gt = None
    for i, batch in enumerate(loader):
        if max_frames is not None and i >= max_frames:
            break
        data = model.data_preprocessor(batch, False)
        frame = data['data_samples'][0][0]  # one video, one frame
        nodes = model.detect_pairs(data['inputs'][:, 0], frame.metainfo,
                                   rescale=True)  # boxes as the GT's
        gt = (_tensor(frame.gt_instances.bboxes),
              frame.gt_instances.instances_ids)
        if frame.metainfo['frame_id'] > 0 and prev_gt is not None:
            acc.add(nodes.bboxes, nodes.pair_bboxes, nodes.scores, *gt,
                    *prev_gt)
        prev_gt = gt
    return acc.summary()


def _tensor(boxes) -> Tensor:
    """mmdet box structures (``HorizontalBoxes``) to a plain (G, 4)."""
    return getattr(boxes, 'tensor', boxes)


def describe(summary: Dict[str, float],
             keys: Sequence[str] = ('first_iou', 'second_iou')) -> str:
    """``first_iou 0.812, second_iou 0.774`` for a log line."""
    return ', '.join(f'{k} {summary[k]:.3f}' for k in keys)
