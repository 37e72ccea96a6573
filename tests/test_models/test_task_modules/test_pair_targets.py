"""Pair targets worked out by hand on 10-pixel boxes."""
import torch

from mmdmw.models.task_modules.pair_targets import pair_targets

GT = torch.tensor([[0., 0., 10., 10.]])
PERSON = torch.tensor([7])


def test_positive_anchor_with_partner():
    anchors = torch.tensor([[0., 0., 10., 10.], [20., 0., 30., 10.]])
    # The person moved 1 px right: IoU with anchor 0 = 90 / 110 = 0.818.
    partner = torch.tensor([[1., 0., 11., 10.]])
    t = pair_targets(anchors, GT, PERSON, partner, PERSON)
    assert t.num_pos == 1
    assert t.cls_targets.tolist() == [[1., 1.], [0., 0.]]
    assert t.cls_weights.tolist() == [[1., 1.], [1., 1.]]
    assert t.box_targets[0].tolist() == [0, 0, 10, 10, 1, 0, 11, 10]
    assert t.box_weights.tolist() == [[1.] * 8, [0.] * 8]
    # Anchor 1 has no box: the anchor stands in, so its deltas are zero.
    assert t.box_targets[1].tolist() == [20, 0, 30, 10] * 2
    # ID verification: IoUs 1.0 and 0.818, same identity -> 1;
    # anchor 1 misses both (IoU 0 < 0.4) -> a negative.
    assert t.reid_targets.tolist() == [[1.], [0.]]
    assert t.reid_weights.tolist() == [[1.], [1.]]


def test_partner_absent_masks_second_box():
    anchors = torch.tensor([[0., 0., 10., 10.]])
    stranger = torch.tensor([8])  # a different identity at the same place
    t = pair_targets(anchors, GT, PERSON, GT.clone(), stranger)
    assert t.cls_targets.tolist() == [[1., 0.]]
    assert t.box_weights.tolist() == [[1.] * 4 + [0.] * 4]
    # Both IoUs are 1 but the identities differ -> label 0, counted.
    assert t.reid_targets.tolist() == [[0.]]
    assert t.reid_weights.tolist() == [[1.]]


def test_forced_positive_and_ignored_anchors():
    # IoUs with the box: 45/100 = 0.45 (its best anchor) and 42/100 = 0.42.
    anchors = torch.tensor([[0., 0., 10., 4.5], [0., 0., 10., 4.2]])
    t = pair_targets(anchors, GT, PERSON, GT.clone(), PERSON)
    assert t.num_pos == 1
    assert t.cls_targets[:, 0].tolist() == [1., 0.]
    # Best anchor forced positive; the other lies in [0.4, 0.5): ignored.
    assert t.cls_weights[:, 0].tolist() == [1., 0.]
    # ID verification: both IoUs in [0.4, 0.5) for both anchors -> ignored.
    assert t.reid_weights.tolist() == [[0.], [0.]]


def test_no_people_in_either_frame():
    anchors = torch.tensor([[0., 0., 10., 10.]])
    empty = torch.zeros(0, 4)
    no_ids = torch.zeros(0, dtype=torch.long)
    t = pair_targets(anchors, empty, no_ids, empty, no_ids)
    assert t.num_pos == 0
    assert t.cls_targets.sum() == 0 and t.cls_weights.sum() == 2
    assert t.reid_targets.sum() == 0 and t.reid_weights.sum() == 1
    assert t.box_weights.sum() == 0
