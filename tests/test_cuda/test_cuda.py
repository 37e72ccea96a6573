"""The GPU path: tracking, prediction, CoordConv's cache, mixed precision and
NCCL training on CUDA. Skipped without a GPU; run them with

    .venv/bin/python -m pytest -m cuda tests/test_cuda -q

Each result on the GPU is compared with the same computation on the CPU.
"""
import copy
import math
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from torch import nn

import mmdmw  # noqa: F401
from mmdmw.models.layers.coord_conv import CoordConv, coord_channels

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason='needs a CUDA GPU')
]

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
H, W = 96, 128
NUM_ANCHORS = 252  # tiny config at 96x128: 192 + 48 + 12 (P3-P5)
FOCAL_NEG_AT_0 = 0.75 * 0.25 * math.log(2)  # focal loss, logit 0, negative
RUN_TIMEOUT = 900  # s, one tool run


@pytest.fixture(autouse=True)
def full_float32():
    """Compare with the CPU in full float32: on Ampere and later GPUs cuDNN's
    convolutions default to TF32 (a 10-bit mantissa), which reorders the
    near-tied scores of an untrained network (seen on an H200: 3 of a
    frame's 50 boxes swapped in ``test_predict_on_cuda_matches_cpu``)."""
    flags = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    yield
    (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
     torch.backends.cudnn.deterministic,
     torch.backends.cudnn.benchmark) = flags


def build_model(**head_test_cfg) -> nn.Module:
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    cfg.model.head.test_cfg.update(head_test_cfg)
    # a random model still tracks with every score accepted
    cfg.model.tracker.update(init_score_thr=0.0, score_thr=0.0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        net = MODELS.build(cfg.model)
    net.init_weights()
    return net


def frame(boxes, ids, device='cpu', frame_id=0) -> DetDataSample:
    sample = DetDataSample(
        metainfo=dict(img_shape=(H, W), scale_factor=(1., 1.),
                      frame_id=frame_id, img_path=f'x/SEQ/img1/{frame_id}'))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32,
                            device=device).view(-1, 4),
        labels=torch.zeros(len(ids), dtype=torch.long, device=device),
        instances_ids=torch.tensor(ids, dtype=torch.long, device=device))
    return sample


def pair(first, second, device) -> TrackDataSample:
    sample = TrackDataSample()
    sample.video_data_samples = [
        frame(*first, device=device), frame(*second, device=device)
    ]
    sample.set_metainfo(dict(key_frames_inds=[0], ref_frames_inds=[1]))
    return sample


PERSON = ([[20., 10., 44., 80.]], [3])
MOVED = ([[24., 10., 48., 80.]], [3])
NOBODY = ([], [])


# ------------------------------------------------------------- tracking
def boxes_at(xs: list) -> torch.Tensor:
    return torch.tensor([[x, 10., x + 20., 60.] for x in xs])


def tracker_run(device: str) -> list:
    """Two videos of three frames: two people walking right, then one person
    walking left (ids restart at 0 in video 2)."""
    cfg = Config.fromfile(CONFIG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        tracker = MODELS.build(cfg.model.tracker)
    outputs = []
    for starts, step in (([10., 60.], 4.), ([90.], -4.)):
        for t in range(3):
            cur = boxes_at([x + step * t for x in starts])
            prev = cur if t == 0 else boxes_at(
                [x + step * (t - 1) for x in starts])
            n = cur.size(0)
            outputs.append(
                tracker.track(
                    prev_bboxes=prev.to(device),
                    cur_bboxes=cur.to(device),
                    scores=torch.full((n, ), 0.9, device=device),
                    id_scores=torch.full((n, ), 0.9, device=device),
                    frame_id=t))
    return outputs


def test_chain_tracker_two_videos_on_cuda_matches_cpu():
    on_cpu, on_gpu = tracker_run('cpu'), tracker_run('cuda')
    assert len(on_gpu) == 6
    for cpu, gpu in zip(on_cpu, on_gpu):
        assert gpu.bboxes.device.type == 'cuda'
        assert gpu.instances_id.device.type == 'cuda'
        assert gpu.instances_id.tolist() == cpu.instances_id.tolist()
        torch.testing.assert_close(gpu.bboxes.cpu(), cpu.bboxes)
    # Video 2 starts its ids at 0 again.
    assert set(on_gpu[3].instances_id.tolist()) <= {0}


# ----------------------------------------------------------- prediction
def predict_two_videos(net: nn.Module, frames: list, device: str) -> list:
    results = []
    with torch.no_grad():
        for _ in range(2):  # the same frames as a second video
            for t, img in enumerate(frames):
                sample = TrackDataSample()
                sample.video_data_samples = [frame(*PERSON, frame_id=t)]
                out = net.predict(img.to(device), [sample])
                results.append(out[0][0].pred_track_instances)
    return results


def test_predict_on_cuda_matches_cpu():
    net = build_model(score_thr=0.0)
    net.eval()
    gpu_net = copy.deepcopy(net).cuda()
    torch.manual_seed(1)
    frames = [torch.rand(1, 1, 3, H, W) for _ in range(3)]
    on_cpu = predict_two_videos(net, frames, 'cpu')
    on_gpu = predict_two_videos(gpu_net, frames, 'cuda')
    assert sum(len(r) for r in on_cpu) > 0  # something was tracked
    for cpu, gpu in zip(on_cpu, on_gpu):
        assert gpu.bboxes.device.type == 'cuda'
        assert gpu.instances_id.tolist() == cpu.instances_id.tolist()
        torch.testing.assert_close(gpu.bboxes.cpu(), cpu.bboxes,
                                   atol=1e-2, rtol=1e-3)
    # The second video repeats the first: state was reset on the GPU too.
    for first, second in zip(on_gpu[:3], on_gpu[3:]):
        assert first.instances_id.tolist() == second.instances_id.tolist()


# ------------------------------------------------------------ CoordConv
def test_coord_conv_cache_follows_the_device():
    torch.manual_seed(0)
    conv = CoordConv(4, 3, 3, padding=1).eval()
    x = torch.rand(2, 4, 7, 9)

    def reference(x: torch.Tensor) -> torch.Tensor:
        full = torch.cat([x, coord_channels(x)], dim=1)
        return nn.functional.conv2d(full, conv.weight, conv.bias, padding=1)

    with torch.no_grad():
        on_cpu = conv(x)  # fills the cache with CPU tensors
        torch.testing.assert_close(on_cpu, reference(x))
        conv.cuda()
        on_gpu = conv(x.cuda())  # must not reuse the CPU terms
        assert on_gpu.device.type == 'cuda'
        torch.testing.assert_close(on_gpu.cpu(), on_cpu, atol=1e-5,
                                   rtol=1e-4)
        conv.cpu()
        torch.testing.assert_close(conv(x), on_cpu)  # and back


# ------------------------------------------------------ mixed precision
def test_amp_losses_are_float32_and_exact():
    """Output convs zeroed: logits are exactly 0 in float16 too, so a loss
    computed in float32 is exactly 2 * 252 * FOCAL_NEG_AT_0."""
    net = build_model().cuda()
    for conv in (net.head.retina_cls, net.head.retina_reg,
                 net.head.retina_reid):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.Adam(net.parameters(), lr=1e-4))
    with wrapper.optim_context(net):
        losses = net.loss(torch.rand(1, 2, 3, H, W, device='cuda'),
                          [pair(NOBODY, NOBODY, 'cuda')])
    assert losses['task_cls'].dtype == torch.float32
    assert losses['task_cls'].item() == pytest.approx(
        2 * NUM_ANCHORS * FOCAL_NEG_AT_0, rel=1e-6)
    assert losses['loss'].dtype == torch.float32


def test_one_amp_training_step_on_cuda():
    net = build_model().cuda().train()
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.Adam(net.parameters(), lr=1e-3))
    inputs = torch.rand(2, 2, 3, H, W, device='cuda')
    samples = [pair(PERSON, MOVED, 'cuda'), pair(PERSON, NOBODY, 'cuda')]
    with wrapper.optim_context(net):
        feats = net.extract_feat(inputs[:, 0])
        assert feats[0].dtype == torch.float16  # autocast is on
        losses = net.loss(inputs, samples)
    for key in ('task_cls', 'task_reg', 'task_reid', 'loss'):
        assert losses[key].dtype == torch.float32, key
        assert torch.isfinite(losses[key]).all(), key
    wrapper.update_params(losses['loss'])
    changed = [k for k, v in net.named_parameters()
               if not torch.equal(v, before[k])]
    # The first step of a dynamic loss scale may be skipped (inf grads at
    # 2**16); a second one must update.
    if not changed:
        with wrapper.optim_context(net):
            losses = net.loss(inputs, samples)
        wrapper.update_params(losses['loss'])
        changed = [k for k, v in net.named_parameters()
                   if not torch.equal(v, before[k])]
    assert 'head.retina_cls.weight' in changed


# --------------------------------------------------------- whole tools
def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthetic_mot'))
    subprocess.run([
        sys.executable, 'tools/misc/make_synthetic_mot.py', root,
        '--num-train', '2', '--num-test', '1', '--frames', '12'
    ], cwd=ROOT, check=True, timeout=RUN_TIMEOUT)
    return root


def short_run(data_root: str, work_dir: str) -> list:
    return [
        '--work-dir', work_dir, '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}/',
        f'val_dataloader.dataset.data_root={data_root}/',
        f'test_dataloader.dataset.data_root={data_root}/',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1000',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'default_hooks.checkpoint.save_best=None'
    ]


def run(args: list, **env) -> str:
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT,
                          env={**os.environ, 'MPLBACKEND': 'Agg', **env})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def test_train_tool_with_amp(data_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    output = run([sys.executable, 'tools/train.py', CONFIG, '--amp',
                  *short_run(data_root, work_dir)])
    assert 'AmpOptimWrapper' in output
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs 2 GPUs')
def test_two_process_nccl_training(data_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    output = run(['bash', 'tools/dist_train.sh', CONFIG, '2',
                  *short_run(data_root, work_dir)],
                 PORT=str(free_port()), MMDMW_PYTHON=sys.executable)
    assert 'Distributed training: True' in output
    assert 'GPU number: 2' in output
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
