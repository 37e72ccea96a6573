"""Training targets of a chained (paired-frame) detector, for one image pair.

Shape letters: A anchors of the image (all levels), G1 / G2 ground-truth
boxes in the first / second frame of the pair. Boxes are x1y1x2y2 in the
input image's coordinates. The *first* frame is the one anchors are assigned
on; the *second* is its partner (earlier or later in time).

The rules follow CTracker (Peng et al., ECCV 2020) and the paper's Sec. III:

* classification (Eq. 1-3): an anchor is positive when its IoU with a
  first-frame box is at least ``pos_iou_thr``, negative below
  ``neg_iou_thr``, ignored in between; each box's best anchor is forced
  positive. A second score per anchor says whether the person it covers is
  also present in the second frame.
* paired regression (Eq. 4-5): a positive anchor regresses its first-frame
  box and the box with the same identity in the second frame; the second
  half is masked when that identity is absent.
* ID verification (Eq. 6): the anchor is matched to each frame separately; it
  is a valid pair when both IoUs reach ``neg_iou_thr`` and one reaches
  ``pos_iou_thr`` (label 1 when both matches are the same identity, else 0),
  a negative (label 0) when either IoU is below ``neg_iou_thr``, and ignored
  when both IoUs lie in ``[neg_iou_thr, pos_iou_thr)``.

Ignore regions (mmdet's ``ignored_instances``: MOT conf-0 rows, the
person-like classes 2 / 7 / 8 / 12, optionally barely visible pedestrians)
are never taught as background:

* classification: an anchor that is not positive and whose IoU with an
  ignore box *of the first frame* is at least ``neg_iou_thr`` gets weight 0
  in both columns instead of being a negative. Only the first frame's ignore
  boxes count here: anchors are assigned on the first frame, and the person
  score is about the first frame. A positive anchor whose identity appears
  in the second frame only as an ignore instance gets weight 0 in the
  presence column (the person is there, but not as a trainable box).
* ID verification: an anchor that would be a negative gets weight 0 when
  it overlaps a first-frame ignore box at IoU >= ``neg_iou_thr`` (as in
  classification), or when it matches a person in the first frame and
  overlaps a *second-frame* ignore box (that person may go on as the
  ignore region, e.g. turned barely visible, so "not the same person" may
  be false). Second-frame ignore boxes count only there: an anchor on
  first-frame background is a certain negative, whatever the second frame
  holds.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor


@dataclass
class PairTargets:
    """Targets of one image pair.

    Attributes:
        cls_targets (Tensor): (A, 2) float, person in the first frame /
            same person present in the second frame.
        cls_weights (Tensor): (A, 2) float, 0 for ignored anchors.
        box_targets (Tensor): (A, 8) x1y1x2y2 of the first-frame box, then of
            the second-frame box; where there is none, the anchor itself
            stands in (its deltas are 0, so the masked loss stays finite).
        box_weights (Tensor): (A, 8) float, 1 where a box target exists.
        reid_targets (Tensor): (A, 1) float, 1 when the anchor covers the
            same identity in both frames.
        reid_weights (Tensor): (A, 1) float, 0 for ignored anchors.
        num_pos (int): number of positive anchors.
    """
    cls_targets: Tensor
    cls_weights: Tensor
    box_targets: Tensor
    box_weights: Tensor
    reid_targets: Tensor
    reid_weights: Tensor
    num_pos: int


def max_iou_match(anchors: Tensor, gt_bboxes: Tensor) -> Tuple[Tensor, Tensor]:
    """Best ground-truth box of each anchor.

    Args:
        anchors (Tensor): (A, 4) x1y1x2y2.
        gt_bboxes (Tensor): (G, 4) x1y1x2y2.

    Returns:
        tuple[Tensor, Tensor]: ``(max_iou, gt_index)`` each of shape (A,);
        ``max_iou`` is 0 and ``gt_index`` is 0 when G == 0.
    """
    num_anchors = anchors.size(0)
    if gt_bboxes.numel() == 0:
        return (anchors.new_zeros(num_anchors),
                anchors.new_zeros(num_anchors, dtype=torch.long))
    return bbox_overlaps(anchors, gt_bboxes).max(dim=1)


def first_frame_assignment(anchors: Tensor, gt_bboxes: Tensor,
                           pos_iou_thr: float,
                           neg_iou_thr: float) -> Tuple[Tensor, Tensor, Tensor]:
    """Positive / negative anchors on the first frame (RetinaNet rule).

    Args:
        anchors (Tensor): (A, 4) x1y1x2y2.
        gt_bboxes (Tensor): (G, 4) first-frame boxes.
        pos_iou_thr (float): IoU at or above which an anchor is positive.
        neg_iou_thr (float): IoU below which an anchor is negative.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``pos`` (A,) bool, ``neg`` (A,) bool,
        ``gt_index`` (A,) long, the box each positive anchor regresses.
    """
    max_iou, gt_index = max_iou_match(anchors, gt_bboxes)
    pos = max_iou >= pos_iou_thr
    neg = max_iou < neg_iou_thr
    if gt_bboxes.numel() > 0:
        # Each box's best anchor is positive, so no person goes unlearned.
        ious = bbox_overlaps(anchors, gt_bboxes)  # (A, G)
        best_iou, best_anchor = ious.max(dim=0)  # (G,)
        covered = best_iou > 0
        gt_ids = torch.arange(gt_bboxes.size(0), device=anchors.device)
        pos[best_anchor[covered]] = True
        neg[best_anchor[covered]] = False
        gt_index[best_anchor[covered]] = gt_ids[covered]
    return pos, neg, gt_index


def ignore_overlap(anchors: Tensor,
                   ignore_bboxes: Optional[Tensor]) -> Tensor:
    """Largest IoU of each anchor with an ignore box, (A,); 0 without any."""
    if ignore_bboxes is None or ignore_bboxes.numel() == 0:
        return anchors.new_zeros(anchors.size(0))
    return bbox_overlaps(anchors, ignore_bboxes.to(anchors)).max(dim=1)[0]


def pair_targets(anchors: Tensor,
                 gt_bboxes: Tensor,
                 gt_ids: Tensor,
                 pair_gt_bboxes: Tensor,
                 pair_gt_ids: Tensor,
                 pos_iou_thr: float = 0.5,
                 neg_iou_thr: float = 0.4,
                 ignore_bboxes: Optional[Tensor] = None,
                 pair_ignore_bboxes: Optional[Tensor] = None,
                 pair_ignore_ids: Optional[Tensor] = None) -> PairTargets:
    """Classification, paired-box and ID-verification targets of one pair.

    Args:
        anchors (Tensor): (A, 4) x1y1x2y2.
        gt_bboxes (Tensor): (G1, 4) first-frame boxes.
        gt_ids (Tensor): (G1,) identities of ``gt_bboxes``.
        pair_gt_bboxes (Tensor): (G2, 4) second-frame boxes.
        pair_gt_ids (Tensor): (G2,) identities of ``pair_gt_bboxes``.
        pos_iou_thr (float): Positive IoU threshold. Defaults to 0.5.
        neg_iou_thr (float): Negative IoU threshold; also the IoU with an
            ignore box from which an anchor is not a negative. Defaults to
            0.4.
        ignore_bboxes (Tensor, optional): (I1, 4) first-frame ignore regions.
        pair_ignore_bboxes (Tensor, optional): (I2, 4) second-frame ignore
            regions.
        pair_ignore_ids (Tensor, optional): (I2,) identities of
            ``pair_ignore_bboxes``.

    Returns:
        PairTargets: The targets, see its docstring for shapes.
    """
    pos, neg, gt_index = first_frame_assignment(anchors, gt_bboxes,
                                                pos_iou_thr, neg_iou_thr)
    # An anchor on a first-frame ignore region is not background.
    neg &= ignore_overlap(anchors, ignore_bboxes) < neg_iou_thr

    # Partner box of every anchor: the same identity in the second frame.
    if gt_bboxes.numel() > 0 and pair_gt_bboxes.numel() > 0:
        same_id = gt_ids[gt_index][:, None] == pair_gt_ids[None, :]  # (A, G2)
        has_partner = pos & same_id.any(dim=1)
        partner_index = same_id.float().argmax(dim=1)
        partner_boxes = torch.where(has_partner[:, None],
                                    pair_gt_bboxes[partner_index], anchors)
    else:
        has_partner = torch.zeros_like(pos)
        partner_boxes = anchors
    first_boxes = (torch.where(pos[:, None], gt_bboxes[gt_index], anchors)
                   if gt_bboxes.numel() > 0 else anchors)

    cls_valid = pos | neg
    presence_valid = cls_valid
    if (pair_ignore_ids is not None and pair_ignore_ids.numel() > 0
            and gt_bboxes.numel() > 0):
        # The person is in the second frame, but only as an ignore region.
        hidden = (gt_ids[gt_index][:, None] == pair_ignore_ids[None, :].to(
            gt_ids)).any(dim=1)
        presence_valid = cls_valid & ~(pos & ~has_partner & hidden)
    cls_targets = torch.stack([pos, has_partner], dim=1).float()
    cls_weights = torch.stack([cls_valid, presence_valid], dim=1).float()
    box_targets = torch.cat([first_boxes, partner_boxes], dim=1)
    box_weights = torch.cat([
        pos[:, None].expand(-1, 4),
        has_partner[:, None].expand(-1, 4)
    ], dim=1).float()

    reid_targets, reid_weights = id_verification_targets(
        anchors, gt_bboxes, gt_ids, pair_gt_bboxes, pair_gt_ids, pos_iou_thr,
        neg_iou_thr, ignore_bboxes, pair_ignore_bboxes)
    return PairTargets(cls_targets, cls_weights, box_targets, box_weights,
                       reid_targets, reid_weights, int(pos.sum()))


def id_verification_targets(
        anchors: Tensor,
        gt_bboxes: Tensor,
        gt_ids: Tensor,
        pair_gt_bboxes: Tensor,
        pair_gt_ids: Tensor,
        pos_iou_thr: float,
        neg_iou_thr: float,
        ignore_bboxes: Optional[Tensor] = None,
        pair_ignore_bboxes: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """ID-verification label of every anchor (see the module docstring).

    Returns:
        tuple[Tensor, Tensor]: targets (A, 1) and weights (A, 1), float.
    """
    iou1, index1 = max_iou_match(anchors, gt_bboxes)
    iou2, index2 = max_iou_match(anchors, pair_gt_bboxes)
    hit1, hit2 = iou1 >= neg_iou_thr, iou2 >= neg_iou_thr
    both_matched = hit1 & hit2
    ignored = both_matched & (iou1 < pos_iou_thr) & (iou2 < pos_iou_thr)
    # A would-be negative on a first-frame ignore region, or on a person who
    # may go on as a second-frame ignore region: its label is unknown.
    on_ignore1 = ignore_overlap(anchors, ignore_bboxes) >= neg_iou_thr
    on_ignore2 = ignore_overlap(anchors, pair_ignore_bboxes) >= neg_iou_thr
    ignored |= ~both_matched & (on_ignore1 | (hit1 & on_ignore2))
    if both_matched.any():
        same = gt_ids[index1] == pair_gt_ids[index2]
    else:
        same = torch.zeros_like(both_matched)
    targets = (both_matched & ~ignored & same).float()[:, None]
    weights = (~ignored).float()[:, None]
    return targets, weights
