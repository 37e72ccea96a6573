"""Ignore regions in the pair targets, worked out by hand on 10-px boxes.

One scene, anchors on a row (x1 given; all are 10 × 10 at y 0..10):

first frame: person 7 at x 0, person 8 at x 20, person 9 at x 40 (leaves),
    person 10 at x 100; an ignore box (a static person) at x 60.
second frame, in another order: person 8 at x 20, person 7 moved to x 1;
    ignore boxes: the static person at x 60, person 10 at x 101 (now barely
    visible, so an ignore instance with its identity), a distractor at x 120.

IoU of two 10 × 10 boxes shifted by d px: (10 - d) * 10 / (100 + 10 d):
d = 1 -> 90 / 110 = 0.818, d = 4 -> 60 / 140 = 0.429, d = 6 -> 40 / 160 = 0.25.
"""
import torch

from mmdmw.models.task_modules.pair_targets import pair_targets


def box(x1: float) -> list:
    return [x1, 0., x1 + 10., 10.]


ANCHORS = torch.tensor([
    box(0),  # a0: person 7
    box(20),  # a1: person 8
    box(40),  # a2: person 9, who leaves
    box(61),  # a3: ignore box at 60, IoU 0.818
    box(80),  # a4: background
    box(64),  # a5: ignore box at 60, IoU 0.429 >= 0.4
    box(66),  # a6: ignore box at 60, IoU 0.25 < 0.4
    box(100),  # a7: person 10, an ignore instance in the second frame
    box(120),  # a8: background now, a distractor in the second frame
])
GT = torch.tensor([box(0), box(20), box(40), box(100)])
GT_IDS = torch.tensor([7, 8, 9, 10])
PAIR_GT = torch.tensor([box(20), box(1)])
PAIR_IDS = torch.tensor([8, 7])
IGNORE = torch.tensor([box(60)])
PAIR_IGNORE = torch.tensor([box(60), box(101), box(120)])
PAIR_IGNORE_IDS = torch.tensor([99, 10, 98])


def scene(**overrides):
    args = dict(
        ignore_bboxes=IGNORE,
        pair_ignore_bboxes=PAIR_IGNORE,
        pair_ignore_ids=PAIR_IGNORE_IDS)
    args.update(overrides)
    return pair_targets(ANCHORS, GT, GT_IDS, PAIR_GT, PAIR_IDS, **args)


def test_classification_weights_with_ignore_regions():
    t = scene()
    # a0, a1, a2, a7 are positive (IoU 1 with their person).
    assert t.num_pos == 4
    # Presence in the second frame: 7 and 8 are there (other order), 9 left,
    # 10 is there only as an ignore instance.
    assert t.cls_targets.tolist() == [[1, 1], [1, 1], [1, 0], [0, 0], [0, 0],
                                      [0, 0], [0, 0], [1, 0], [0, 0]]
    assert t.cls_weights.tolist() == [
        [1, 1],  # a0
        [1, 1],  # a1
        [1, 1],  # a2: "left" is a certain label
        [0, 0],  # a3: not positive, IoU 0.818 with the ignore box
        [1, 1],  # a4: background
        [0, 0],  # a5: IoU 0.429 >= neg_iou_thr 0.4
        [1, 1],  # a6: IoU 0.25 < 0.4, still background
        [1, 0],  # a7: person 10 is present, but as an ignore region
        [1, 1],  # a8: second-frame ignore boxes do not touch classification
    ]


def test_partner_boxes_follow_identities_not_order():
    t = scene()
    assert t.box_targets[0].tolist() == box(0) + box(1)  # person 7
    assert t.box_targets[1].tolist() == box(20) + box(20)  # person 8
    assert t.box_weights[:, 0].tolist() == [1, 1, 1, 0, 0, 0, 0, 1, 0]
    # Second half only where the identity is a box of the second frame.
    assert t.box_weights[:, 4].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0]


def test_id_verification_weights_with_ignore_regions():
    t = scene()
    # a0: IoU 1 with 7, 0.818 with 7 in frame 2 -> 1; a1: 8 and 8 -> 1.
    assert t.reid_targets[:, 0].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert t.reid_weights[:, 0].tolist() == [
        1,  # a0
        1,  # a1
        1,  # a2: person 9 is nowhere in frame 2 -> a certain negative
        0,  # a3: on the first-frame ignore box
        1,  # a4
        0,  # a5: on the first-frame ignore box (0.429)
        1,  # a6: 0.25 -> a negative
        0,  # a7: person 10 in frame 1, ignore box at 0.818 in frame 2
        1,  # a8: frame-1 background is a certain negative
    ]


def test_without_ignore_regions_they_are_negatives():
    t = scene(ignore_bboxes=None, pair_ignore_bboxes=None,
              pair_ignore_ids=None)
    assert t.cls_weights.tolist() == [[1, 1]] * 9
    assert t.reid_weights[:, 0].tolist() == [1] * 9
    # Nothing else changes.
    with_ignore = scene()
    assert torch.equal(t.cls_targets, with_ignore.cls_targets)
    assert torch.equal(t.box_targets, with_ignore.box_targets)
    assert torch.equal(t.reid_targets, with_ignore.reid_targets)


def test_positive_anchor_on_an_ignore_box_stays_positive():
    # A person standing in front of a static person: IoU 1 with both.
    anchors = torch.tensor([box(0)])
    t = pair_targets(anchors, torch.tensor([box(0)]), torch.tensor([7]),
                     torch.tensor([box(0)]), torch.tensor([7]),
                     ignore_bboxes=torch.tensor([box(0)]),
                     pair_ignore_bboxes=torch.tensor([box(0)]),
                     pair_ignore_ids=torch.tensor([99]))
    assert t.num_pos == 1
    assert t.cls_targets.tolist() == [[1, 1]]
    assert t.cls_weights.tolist() == [[1, 1]]
    assert t.reid_targets.tolist() == [[1]]
    assert t.reid_weights.tolist() == [[1]]


def test_frame_with_only_ignore_regions():
    # No person at all; the anchor lies on an ignore box in both frames.
    anchors = torch.tensor([box(0), box(50)])
    empty, no_ids = torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)
    t = pair_targets(anchors, empty, no_ids, empty, no_ids,
                     ignore_bboxes=torch.tensor([box(1)]),
                     pair_ignore_bboxes=torch.tensor([box(1)]),
                     pair_ignore_ids=torch.tensor([3]))
    assert t.num_pos == 0
    assert t.cls_weights.tolist() == [[0, 0], [1, 1]]
    assert t.reid_weights.tolist() == [[0], [1]]
