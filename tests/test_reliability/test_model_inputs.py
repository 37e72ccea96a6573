"""The model and tracker on edge-case inputs: no person in a whole batch, a
loss that turns NaN, hundreds of people in a frame, nobody for many frames."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from reliability_utils import CONFIG

from mmdmw.models.trackers import ChainTracker

H, W = 192, 320  # 40x24 + 20x12 + 10x6 = 1260 anchors, one per location
MANY = 500
EMPTY_FRAMES = 30
NEVER = 1.1  # a score threshold no detection reaches


@pytest.fixture(scope='module')
def model():
    torch.set_num_threads(1)
    cfg = Config.fromfile(CONFIG)
    cfg.model.head.test_cfg.update(
        score_thr=0.0, max_per_img=MANY, nms=dict(type='nms',
                                                  iou_threshold=1.0))
    # every node starts a confirmed track at once (no tentative frames)
    cfg.model.tracker.update(
        init_score_thr=0.0, score_thr=0.0, confirm_score_thr=0.0)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        net = MODELS.build(cfg.model)
    net.init_weights()  # scores near the focal prior, 0.01
    return net


def frame(frame_id: int, num_people: int = 0) -> DetDataSample:
    sample = DetDataSample(metainfo=dict(
        img_shape=(H, W), ori_shape=(H, W), scale_factor=(1., 1.),
        frame_id=frame_id, img_path=f'x/SEQ/img1/{frame_id:06d}.jpg'))
    sample.gt_instances = InstanceData(
        bboxes=torch.zeros(num_people, 4),
        labels=torch.zeros(num_people, dtype=torch.long),
        instances_ids=torch.arange(num_people))
    return sample


def empty_pair() -> TrackDataSample:
    sample = TrackDataSample()
    sample.video_data_samples = [frame(0), frame(1)]
    sample.set_metainfo(dict(key_frames_inds=[0], ref_frames_inds=[1]))
    return sample


def track(model, frame_id: int) -> InstanceData:
    sample = TrackDataSample()
    sample.video_data_samples = [frame(frame_id)]
    torch.manual_seed(frame_id)
    with torch.no_grad():
        out = model.predict(torch.rand(1, 1, 3, H, W) * 255, [sample])
    return out[0][0].pred_track_instances


def test_batch_without_people_trains(model):
    model.train()
    model.zero_grad()
    losses = model.loss(torch.rand(2, 2, 3, H, W), [empty_pair()] * 2)
    for key, value in losses.items():
        assert torch.isfinite(value).all(), key
    assert losses['task_reg'].item() == 0  # no box to regress
    # Eq. 8 with Lreg = 0: alpha = Lreid / S, beta = 1, gamma = Lcls / S.
    assert losses['beta'].item() == pytest.approx(1.0)
    assert (losses['alpha'] + losses['gamma']).item() == pytest.approx(1.0)
    losses['loss'].backward()
    for name, param in model.named_parameters():
        if param.grad is not None:
            assert torch.isfinite(param.grad).all(), name


def test_nan_loss_stops_naming_the_task(model):
    model = copy.deepcopy(model)  # a NaN forward spoils the BN statistics
    model.train()
    inputs = torch.rand(1, 2, 3, H, W)
    inputs[0, 0, 0, 0, 0] = float('nan')
    with pytest.raises(FloatingPointError,
                       match='the cls loss became nan; training stopped '
                       'before the weights were updated'):
        model.loss(inputs, [empty_pair()])


def test_hundreds_of_detections_in_a_frame(model):
    model.eval()
    for frame_id in range(2):
        tracks = track(model, frame_id)
        ids = tracks.instances_id.tolist()
        assert len(ids) == MANY and len(set(ids)) == MANY
        assert tracks.bboxes.shape == (MANY, 4)


def test_nobody_for_many_frames_then_people(model):
    model.eval()
    model.head.test_cfg['score_thr'] = NEVER
    try:
        for frame_id in range(EMPTY_FRAMES):
            tracks = track(model, frame_id)
            assert tracks.bboxes.shape == (0, 4)
    finally:
        model.head.test_cfg['score_thr'] = 0.0
    tracks = track(model, EMPTY_FRAMES)
    assert sorted(tracks.instances_id.tolist()) == list(range(MANY))


def test_tracker_chains_hundreds_of_people():
    """500 people on a 25 x 20 grid walking 2 px right per frame: every
    identity is kept."""
    cols = 25
    xy = torch.tensor([[20. * (i % cols), 50. * (i // cols)]
                       for i in range(MANY)])
    size = torch.tensor([10., 40.])
    tracker = ChainTracker(init_score_thr=0.5)
    ids = None
    for t in range(3):
        cur = torch.cat([xy + 2 * t, xy + 2 * t + size], dim=1)
        prev = cur - torch.tensor([2., 0., 2., 0.]) if t else cur
        out = tracker.track(prev, cur, torch.full((MANY, ), 0.9),
                            torch.ones(MANY), frame_id=t)
        order = torch.argsort(out.bboxes[:, 0] * 1e4 + out.bboxes[:, 1])
        now = out.instances_id[order].tolist()
        assert len(set(now)) == MANY
        assert ids is None or now == ids
        ids = now
