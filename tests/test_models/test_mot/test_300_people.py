"""300 people in one frame come out of the decoding and the tracker.

Every cap on the path from the head to the tracker, against a MOT20 crowd:
hand-built head outputs for 300 well-separated people go through
``ChainedRetinaHead.predict_pairs`` (``decode_pairs`` with the MOT20
config's ``test_cfg``) and the MOT20 config's ``ChainTracker``, as
``ChainedTracker.predict`` chains them. (The model itself and the metric /
submission writer cap nothing: see ``test_300_people_a_frame_all_scored`` in
``tests/test_tools/test_mot20_rehearsal.py``.)

Layout (MOT20 anchors, P3: stride 8, base 30, h/w 2.9 -> w 17.62, h 51.09):
person k sits on the P3 anchor of cell (3 * (k % 20) + 2,
7 * (k // 20) + 4), inside the image, 24 px apart in x and 56 px in y, so no
two people overlap. Each of the first 200 ("clear") people also fires 4
neighbouring P3 anchors (cells x +- 1, y +- 1) at score 0.7 whose deltas
decode onto the person's box, as a trained head does; the last 100 ("half
hidden") fire their own anchor only, at score 0.55. Candidates above
score_thr: 200 * 5 + 100 = 1100.
"""
import math
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdmw  # noqa: F401
from mmdmw.models.dense_heads.pair_decoding import DEFAULT_TEST_CFG

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'configs', 'dmw', 'retina_dmw_r50_mot20.py')
H, W = 896, 512  # input size; P3 map 112 x 64
NUM_PEOPLE, NUM_CLEAR = 300, 200
CLEAR_SCORE, NEIGHBOUR_SCORE, HIDDEN_SCORE = 0.9, 0.7, 0.55
NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))
SHIFT = 2.0  # px the crowd moves right between the two frames


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def cell(k: int) -> tuple:
    """P3 grid cell (x, y) of person k."""
    return 3 * (k % 20) + 2, 7 * (k // 20) + 4


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(CONFIG)


@pytest.fixture(scope='module')
def head(cfg):
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model.head).eval()


def outputs(head, shift: float = 0.0):
    """Head outputs of one frame pair: logit -10 (below any score_thr)
    everywhere but on the people; the people's boxes moved ``shift`` px
    right in the current frame, so the pair box (previous frame) is the
    unshifted one."""
    strides = [s[0] for s in head.prior_generator.strides]
    sizes = [(math.ceil(H / s), math.ceil(W / s)) for s in strides]
    cls = [torch.full((1, 2, h, w), -10.) for h, w in sizes]
    reg = [torch.zeros(1, 8, h, w) for h, w in sizes]
    reid = [torch.full((1, 1, h, w), 2.) for h, w in sizes]
    p3_w = sizes[0][1]
    # (h*w, 4) P3 anchors, row by row
    anchors = head.prior_generator.single_level_grid_priors(
        sizes[0], 0, device='cpu')

    def fire(x: int, y: int, box: torch.Tensor, score: float) -> None:
        anchor = anchors[y * p3_w + x]
        moved = box + box.new_tensor([shift, 0, shift, 0])
        cls[0][0, :, y, x] = logit(score)
        reg[0][0, :4, y, x] = head.bbox_coder.encode(anchor[None],
                                                     moved[None])[0]
        reg[0][0, 4:, y, x] = head.bbox_coder.encode(anchor[None],
                                                     box[None])[0]

    for k in range(NUM_PEOPLE):
        x, y = cell(k)
        box = anchors[y * p3_w + x]
        if k < NUM_CLEAR:
            fire(x, y, box, CLEAR_SCORE)
            for dx, dy in NEIGHBOURS:
                fire(x + dx, y + dy, box, NEIGHBOUR_SCORE)
        else:
            fire(x, y, box, HIDDEN_SCORE)
    return cls, reg, reid


META = dict(img_shape=(H, W), scale_factor=(1.0, 1.0))


def test_the_crowd_is_mot20_shaped(cfg, head):
    # the layout's assumptions: P3 anchors 17.6 x 51.1 px, 300 people apart
    assert head.prior_generator.base_sizes[0] == 30
    assert H // 8 > 7 * (NUM_PEOPLE // 20) + 4 and W // 8 > 3 * 20 + 1
    assert cfg.model.head.test_cfg.score_thr < HIDDEN_SCORE


def test_decoding_keeps_all_300(head):
    nodes = head.predict_pairs(*outputs(head), META)
    assert len(nodes) == NUM_PEOPLE
    # one box per person, on the person (every duplicate suppressed)
    anchors = head.prior_generator.single_level_grid_priors(
        (H // 8, W // 8), 0, device='cpu')
    expected = torch.stack([
        anchors[cell(k)[1] * (W // 8) + cell(k)[0]]
        for k in range(NUM_PEOPLE)])
    order = torch.argsort(nodes.bboxes[:, 1] * 10 * W + nodes.bboxes[:, 0])
    assert torch.allclose(nodes.bboxes[order], expected, atol=1e-3)
    assert (nodes.scores >= HIDDEN_SCORE - 1e-4).all()


def test_the_default_limits_drop_people(head):
    """What the MOT20 test_cfg prevents: with nms_pre 1000 the 1000
    highest candidates are the clear people's five each, so all 100 half
    hidden people are gone before NMS; max_per_img 100 then keeps 100."""
    decode_cfg = dict(head.test_cfg)
    try:
        head.test_cfg = {**DEFAULT_TEST_CFG, 'max_per_img': NUM_PEOPLE}
        assert len(head.predict_pairs(*outputs(head), META)) == NUM_CLEAR
        head.test_cfg = dict(DEFAULT_TEST_CFG)
        assert len(head.predict_pairs(*outputs(head), META)) == 100
    finally:
        head.test_cfg = decode_cfg


@pytest.mark.parametrize('confirm_at_start, first_frame',
                         [(True, NUM_PEOPLE), (False, NUM_CLEAR)])
def test_the_tracker_shows_all_300(cfg, head, confirm_at_start, first_frame):
    """Frame 0: the 200 clear people (>= confirm_score_thr) are shown at
    once; the 100 half hidden (>= init_score_thr) too where no track can
    have min_hits hits yet (confirm_at_start, the default), else they start
    tentative tracks. Frame 1: all 300 are matched to their own track and
    shown, ids unchanged."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        tracker = MODELS.build(
            dict(cfg.model.tracker, confirm_at_start=confirm_at_start))
    tracker.reset()
    shown = []
    for frame_id, shift in enumerate((0.0, SHIFT)):
        nodes = head.predict_pairs(*outputs(head, shift), META)
        out = tracker.track(prev_bboxes=nodes.pair_bboxes,
                            cur_bboxes=nodes.bboxes, scores=nodes.scores,
                            id_scores=nodes.id_scores, frame_id=frame_id)
        shown.append(out)
    assert len(shown[0]) == first_frame
    assert len(shown[1]) == NUM_PEOPLE
    assert len(set(shown[1].instances_id.tolist())) == NUM_PEOPLE
    assert set(shown[0].instances_id.tolist()) <= set(
        shown[1].instances_id.tolist())
    # each output box is a person's (P3 anchor width 30 / sqrt(2.9))
    assert torch.allclose(shown[1].bboxes[:, 2] - shown[1].bboxes[:, 0],
                          torch.full((NUM_PEOPLE, ), 17.62), atol=0.2)
