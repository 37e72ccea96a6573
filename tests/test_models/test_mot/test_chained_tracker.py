"""ChainedTracker: losses on tiny image pairs and online, one-pass tracking."""
import copy
import math
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from torch import nn

import mmdmw  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
H, W = 96, 128


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        net = MODELS.build(cfg.model)
    net.init_weights()
    return net


def frame(boxes, ids, frame_id=0) -> DetDataSample:
    sample = DetDataSample(
        metainfo=dict(img_shape=(H, W), scale_factor=(1., 1.),
                      frame_id=frame_id, img_path=f'x/SEQ/img1/{frame_id}'))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).view(-1, 4),
        labels=torch.zeros(len(ids), dtype=torch.long),
        instances_ids=torch.tensor(ids, dtype=torch.long))
    return sample


def pair(first, second, key=0) -> TrackDataSample:
    """Two frames in time order; ``key`` is the first frame of the pair."""
    sample = TrackDataSample()
    sample.video_data_samples = [frame(*first), frame(*second)]
    sample.set_metainfo(dict(key_frames_inds=[key], ref_frames_inds=[1 - key]))
    return sample


PERSON = ([[20., 10., 44., 80.]], [3])
MOVED = ([[24., 10., 48., 80.]], [3])
NOBODY = ([], [])


#: mmdet's sigmoid focal loss (alpha 0.25, gamma 2) of a logit of 0 for a
#: negative target: (1 - alpha) * p**gamma * -ln(1 - p) with p = 0.5.
FOCAL_NEG_AT_0 = 0.75 * 0.25 * math.log(2)
#: Anchors of a 96x128 input in the tiny config: one per location on P3-P5
#: (strides 8, 16, 32): 12*16 + 6*8 + 3*4.
NUM_ANCHORS = 192 + 48 + 12


def silenced(model):
    """A copy of the model whose output convs are zero: every logit and
    every delta is 0, whatever the image."""
    quiet = copy.deepcopy(model)
    for conv in (quiet.head.retina_cls, quiet.head.retina_reg,
                 quiet.head.retina_reid):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    return quiet


def test_losses_of_a_hand_built_pair_without_people(model):
    """No person in either frame, all logits 0: every anchor is a negative
    of both classification columns and of ID verification, each costing
    FOCAL_NEG_AT_0; losses are divided by max(#positives, 1) = 1."""
    losses = silenced(model).loss(
        torch.rand(2, 2, 3, H, W), [pair(NOBODY, NOBODY)] * 2)
    cls = 2 * NUM_ANCHORS * FOCAL_NEG_AT_0  # Eq. 1-3: 65.503
    reid = NUM_ANCHORS * FOCAL_NEG_AT_0  # Eq. 6: 32.751
    assert losses['task_cls'].item() == pytest.approx(cls, rel=1e-5)
    assert losses['task_reid'].item() == pytest.approx(reid, rel=1e-5)
    assert losses['task_reg'].item() == 0  # Eq. 4-5: no positive anchor
    # Eq. 8, S = cls + reid = 3 * reid: alpha = reid / S = 1/3,
    # beta = (cls + reid) / S = 1, gamma = cls / S = 2/3.
    assert losses['alpha'].item() == pytest.approx(1 / 3, rel=1e-5)
    assert losses['beta'].item() == pytest.approx(1, rel=1e-5)
    assert losses['gamma'].item() == pytest.approx(2 / 3, rel=1e-5)
    # Eq. 7: cls / 3 + 2 * reid / 3 = 336 * FOCAL_NEG_AT_0 = 43.668
    assert losses['loss'].item() == pytest.approx(
        336 * FOCAL_NEG_AT_0, rel=1e-5)


@pytest.mark.parametrize('first,second', [(PERSON, MOVED), (PERSON, NOBODY)],
                         ids=['one-gt', 'gt-leaves-view'])
def test_losses_follow_eq8_per_sample(model, first, second):
    """Two different pairs in one batch: the weights are those of Eq. 8
    computed on each pair's own task losses, then averaged."""
    model.eval()  # BN from running statistics: a pair's losses alone or
    # in a batch are the same
    inputs = torch.rand(2, 2, 3, H, W)
    samples = [pair(first, second), pair(NOBODY, NOBODY)]
    per_pair = [model.loss(inputs[i:i + 1], samples[i:i + 1])
                for i in range(2)]
    losses = model.loss(inputs, samples)
    expected = dict(alpha=0., beta=0., gamma=0., loss=0.)
    for one in per_pair:
        cls, reg, reid = (one[f'task_{k}'].item()
                          for k in ('cls', 'reg', 'reid'))
        total = cls + reg + reid
        alpha, beta, gamma = ((reg + reid) / total, (cls + reid) / total,
                              (cls + reg) / total)  # Eq. 8
        assert one['alpha'].item() == pytest.approx(alpha, rel=1e-4)
        expected['alpha'] += alpha / 2
        expected['beta'] += beta / 2
        expected['gamma'] += gamma / 2
        expected['loss'] += (alpha * cls + beta * reg + gamma * reid) / 2
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-4), key
    assert per_pair[0]['task_reg'].item() > 0  # the person is regressed
    assert per_pair[1]['task_reg'].item() == 0
    losses['loss'].backward()


def test_no_people_means_no_regression(model):
    losses = model.loss(torch.rand(1, 2, 3, H, W), [pair(NOBODY, NOBODY)])
    assert losses['task_reg'].item() == 0


def test_key_frame_index_is_read_from_metainfo(model):
    """The person is in the later frame only: as the first frame of the
    pair it gives positives and a regression loss; as the partner, not."""
    inputs = torch.rand(1, 2, 3, H, W)
    later_first = model.loss(inputs, [pair(NOBODY, PERSON, key=1)])
    earlier_first = model.loss(inputs, [pair(NOBODY, PERSON, key=0)])
    assert later_first['task_reg'].item() > 0
    assert earlier_first['task_reg'].item() == 0


def track_sample(frame_id: int) -> TrackDataSample:
    sample = TrackDataSample()
    sample.video_data_samples = [frame(*PERSON, frame_id=frame_id)]
    return sample


def test_predict_runs_backbone_once_per_frame_and_reuses_features(model):
    model.eval()
    calls, head_inputs = [], []
    hooks = [
        model.backbone.register_forward_hook(
            lambda m, i, o: calls.append(i[0].shape[0])),
        model.head.register_forward_pre_hook(
            lambda m, i: head_inputs.append([x.clone() for x in i[0]]))
    ]
    frames = [torch.rand(1, 1, 3, H, W) for _ in range(3)]
    try:
        with torch.no_grad():
            for t, img in enumerate(frames):
                out = model.predict(img, [track_sample(t)])
                pred = out[0][0].pred_track_instances
                assert set(pred.keys()) >= {'bboxes', 'scores',
                                            'instances_id', 'labels'}
    finally:
        for h in hooks:
            h.remove()
    assert calls == [1, 1, 1]  # one image, one backbone pass, per frame
    channels = head_inputs[0][0].shape[1] // 2
    # Frame 0 is paired with itself; frame t with frame t-1's kept maps.
    assert torch.equal(head_inputs[0][0][:, :channels],
                       head_inputs[0][0][:, channels:])
    for t in (1, 2):
        for level in range(len(head_inputs[t])):
            assert torch.equal(head_inputs[t][level][:, channels:],
                               head_inputs[t - 1][level][:, :channels])


def test_new_video_resets_state():
    """Video 2 repeats video 1's frames: with its state reset at frame 0,
    the model pairs frame 0 with itself and gives the same boxes and the
    same ids (restarting at 0); without the reset frame 0 would be paired
    with video 1's last frame and continue its ids."""
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    cfg.model.head.test_cfg.update(score_thr=0.0, max_per_img=10)  # tracks
    cfg.model.tracker.update(init_score_thr=0.0, score_thr=0.0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        net = MODELS.build(cfg.model)
    net.init_weights()
    net.eval()
    head_inputs = []
    hook = net.head.register_forward_pre_hook(
        lambda m, i: head_inputs.append(i[0][0].clone()))
    frames = [torch.rand(1, 1, 3, H, W) for _ in range(3)]
    videos = []
    try:
        with torch.no_grad():
            for _ in range(2):
                videos.append([
                    net.predict(img, [track_sample(t)])[0][0]
                    .pred_track_instances for t, img in enumerate(frames)
                ])
    finally:
        hook.remove()
    first, second = videos
    assert sum(len(p) for p in first) > 0, 'nothing tracked: no test'
    for a, b in zip(first, second):
        assert torch.equal(a.instances_id, b.instances_id)
        assert torch.allclose(a.bboxes, b.bboxes)
    ids = torch.cat([p.instances_id for p in first])
    assert ids.min().item() == 0
    channels = head_inputs[3].shape[1] // 2  # video 2, frame 0: itself
    assert torch.equal(head_inputs[3][:, :channels],
                       head_inputs[3][:, channels:])
