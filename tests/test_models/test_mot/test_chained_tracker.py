"""ChainedTracker: losses on tiny image pairs and online, one-pass tracking."""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

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


@pytest.mark.parametrize('first,second', [(NOBODY, NOBODY), (PERSON, MOVED),
                                          (PERSON, NOBODY)],
                         ids=['no-gt', 'one-gt', 'gt-leaves-view'])
def test_losses_finite_per_sample(model, first, second):
    inputs = torch.rand(2, 2, 3, H, W)
    losses = model.loss(inputs, [pair(first, second), pair(first, second)])
    assert torch.isfinite(losses['loss'])
    for key in ('task_cls', 'task_reg', 'task_reid', 'alpha', 'beta',
                'gamma'):
        assert torch.isfinite(losses[key]), key
    # Eq. 8: the dynamic weights sum to 2 (or fall back to 2/3 each).
    total = losses['alpha'] + losses['beta'] + losses['gamma']
    assert total.item() == pytest.approx(2.0, abs=1e-5)
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


def test_new_video_resets_state(model):
    model.eval()
    with torch.no_grad():
        for t in range(2):
            model.predict(torch.rand(1, 1, 3, H, W), [track_sample(t)])
        kept = model._prev_feats
        model.predict(torch.rand(1, 1, 3, H, W), [track_sample(0)])
    assert model._prev_feats is not kept
    assert model.tracker.frame_id == 0
