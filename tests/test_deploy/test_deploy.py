"""ONNX export and ONNX Runtime tracking of the tiny config, random weights:
the exported graphs equal PyTorch, the tracks equal PyTorch's, and every
misuse stops with one line saying how to fix it.

One export (through ``tools/deployment/pytorch2onnx.py``) serves the module.
"""
import copy
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdmw.apis.inference import init_tracker, run_demo, track_frames
from mmdmw.apis.video_io import iter_frames
from mmdmw.datasets.mot2coco import convert_mot_to_coco
from mmdmw.datasets.synthetic_mot import generate_synthetic_mot
from mmdmw.deploy import (DeployError, ORTGraph, exit_on_deploy_error,
                          export_onnx, use_onnxruntime)
from mmdmw.deploy.export import export_graph
from mmdmw.deploy.graphs import FEATURES_FILE, HEAD_FILE, head_input_names
from mmdmw.deploy.ort_runtime import (META_NUM_LEVELS, META_SIZE_DIVISOR,
                                      META_STATIC_SHAPE, check_frame_size)
from mmdmw.models.layers.coord_conv import CoordConv

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
NUM_FRAMES = 8
#: The issue's tolerances.
REL_TOL = 1e-4
BOX_TOL = 0.01  # pixels


def run(*args, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, 'MPLBACKEND': 'Agg'})
    if check:
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc


def rel_diff(got: np.ndarray, want: torch.Tensor) -> float:
    want = want.numpy()
    return float(np.abs(got - want).max() / np.abs(want).max())


@pytest.fixture(scope='module')
def cfg() -> Config:
    return Config.fromfile(CONFIG)


@pytest.fixture(scope='module')
def model(cfg):
    torch.manual_seed(0)  # PyTorch's default init: varied scores, tracks
    torch.set_num_threads(1)  # keep the test light beside other jobs
    return init_tracker(cfg)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    """One synthetic video with COCO-video annotations (half-val: the
    second half of its frames)."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_mot(root, num_seqs=1, num_frames=NUM_FRAMES,
                           progress=False)
    convert_mot_to_coco(root, osp.join(root, 'annotations'), ['half-val'],
                        progress=False)
    return root


@pytest.fixture(scope='module')
def frames_dir(data_root) -> str:
    return osp.join(data_root, 'train', 'SYN-01', 'img1')


@pytest.fixture(scope='module')
def exported(model, frames_dir, tmp_path_factory):
    """Random weights -> checkpoint -> the export tool; its folder, its
    output and the checkpoint."""
    tmp = tmp_path_factory.mktemp('deploy')
    ckpt = str(tmp / 'random.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = str(tmp / 'onnx')
    proc = run('tools/deployment/pytorch2onnx.py', CONFIG, ckpt, '--out',
               out, '--frames', frames_dir)
    return out, proc.stdout, ckpt


# ------------------------------------------------------------------ export
def test_export_tool_writes_checked_graphs(exported):
    out, stdout, _ = exported
    assert stdout.count('onnx.checker: ok') == 2
    diff = float(re.search(r'max rel diff ([0-9.e+-]+)', stdout).group(1))
    assert diff < REL_TOL, stdout
    for name in (FEATURES_FILE, HEAD_FILE):
        proto = onnx.load(osp.join(out, name))
        onnx.checker.check_model(proto)
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta[META_SIZE_DIVISOR] == '32'
        assert meta[META_STATIC_SHAPE] == ''  # dynamic height and width
        assert meta[META_NUM_LEVELS] == '3'  # P3-P5


def test_graphs_equal_pytorch_at_another_size(exported, model):
    # exported at 192x320; 128x224 must work too, and PSO's coordinates be
    # those of the new size (a constant baked at export would differ here)
    out, _, _ = exported
    torch.manual_seed(1)
    img = torch.randn(1, 3, 128, 224)
    features = ORTGraph(osp.join(out, FEATURES_FILE))
    head = ORTGraph(osp.join(out, HEAD_FILE))
    with torch.no_grad():
        want = model.extract_feat(img)
        got = features.run({'img': img.numpy()})
        assert [g.shape for g in got] == [tuple(w.shape) for w in want]
        assert max(rel_diff(g, w) for g, w in zip(got, want)) < REL_TOL
        prev = model.extract_feat(torch.randn(1, 3, 128, 224))
        outs = model.head(model.pair_levels(want, prev))
        names = head_input_names(3)
        assert len(names) == 2 * 3  # the current and the previous levels
        feeds = dict(zip(names, [t.numpy() for t in (*want, *prev)]))
        got = head.run(feeds)
    want = [t for per_kind in outs for t in per_kind]
    # cls, reg, reid per level: 3 kinds x 3 levels, every shape the same
    assert len(want) == 9 and [g.shape for g in got] == [
        tuple(w.shape) for w in want]
    assert max(rel_diff(g, w) for g, w in zip(got, want)) < REL_TOL
    ops = {n.op_type for n in onnx.load(osp.join(out, HEAD_FILE)).graph.node}
    assert 'Range' in ops  # coordinates: arange of the map's size, in-graph


@pytest.mark.parametrize(
    'exporter',
    ['torchscript', pytest.param('dynamo', marks=pytest.mark.slow)])
def test_coord_conv_coordinates_follow_the_input_size(exporter, tmp_path):
    # A 1x1 CoordConv that outputs only its x channel (weight 1 on x, 0 on
    # the input and y, no bias): at width W the output is -1 + 2j/(W-1).
    conv = CoordConv(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 1] = 1.  # channels: input, x, y
    conv.eval()
    with torch.no_grad():
        conv(torch.zeros(1, 1, 2, 3))  # fills the inference cache (2x3)
    path = str(tmp_path / 'coord.onnx')
    if exporter == 'torchscript':
        dynamic = {'x': {2: 'h', 3: 'w'}}
    else:
        dims = torch.export.Dim('h', min=1), torch.export.Dim('w', min=1)
        dynamic = (dict(zip((2, 3), dims)), )
    export_graph(conv, (torch.zeros(1, 1, 2, 3), ), path, ['x'], ['y'],
                 dynamic, 18, {}, exporter)
    graph = ORTGraph(path)
    out = graph.run({'x': np.zeros((1, 1, 2, 5), np.float32)})[0]
    # W = 5: step 2/4 -> -1, -0.5, 0, 0.5, 1 on both rows
    assert np.allclose(out[0, 0], [[-1, -.5, 0, .5, 1]] * 2, atol=1e-6)
    out = graph.run({'x': np.zeros((1, 1, 1, 3), np.float32)})[0]
    assert np.allclose(out[0, 0], [[-1, 0, 1]], atol=1e-6)


@pytest.mark.slow  # the dynamo exporter takes about a minute here
def test_dynamo_export_equals_pytorch(model, tmp_path):
    frames = [torch.randn(1, 3, 96, 128) for _ in range(2)]
    report = export_onnx(model, str(tmp_path), frames, exporter='dynamo')
    assert report.max_rel_diff < REL_TOL  # at 96x128 and at 128x192
    graph = ORTGraph(report.features_path)
    assert graph.session.get_inputs()[0].shape == [
        1, 3, '32*height_blocks', '32*width_blocks']


# ---------------------------------------------------------------- tracking
def test_tracks_identical_between_backends(exported, cfg, model, frames_dir):
    out, _, _ = exported
    ort_model = init_tracker(use_onnxruntime(copy.deepcopy(cfg), out))
    frames = list(iter_frames(frames_dir))
    want = [t for _, t in track_frames(model, frames, NUM_FRAMES)]
    got = [t for _, t in track_frames(ort_model, frames, NUM_FRAMES)]
    assert sum(len(t) for t in want) > 0, 'random weights should give tracks'
    assert len(want) == len(got) == NUM_FRAMES  # one answer per frame each
    for a, b in zip(want, got):
        assert torch.equal(a.instances_id, b.instances_id)
        assert torch.allclose(a.bboxes, b.bboxes, rtol=0, atol=BOX_TOL)


def test_demo_and_test_tools_on_onnxruntime(exported, model, frames_dir,
                                            data_root, tmp_path):
    out, _, _ = exported
    want_txt = str(tmp_path / 'pytorch.txt')
    got_txt = str(tmp_path / 'ort.txt')
    run_demo(model, frames_dir, out_txt=want_txt, progress=False)
    run('tools/demo/track_video.py', frames_dir, CONFIG, '--backend',
        'onnxruntime', '--onnx', out, '--out-txt', got_txt)
    a = np.loadtxt(want_txt, delimiter=',', ndmin=2)
    b = np.loadtxt(got_txt, delimiter=',', ndmin=2)
    assert len(a) > 0 and a.shape == b.shape
    assert np.array_equal(a[:, :2], b[:, :2])  # frames and identities
    assert np.abs(a[:, 2:6] - b[:, 2:6]).max() <= BOX_TOL
    # the test tool scores the ORT model through TrackEval, as PyTorch's
    proc = run('tools/test.py', CONFIG, '--backend', 'onnxruntime', '--onnx',
               out, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
               f'test_dataloader.dataset.data_root={data_root}/',
               'test_dataloader.num_workers=0',
               'test_dataloader.persistent_workers=False')
    assert 'HOTA | DetA | AssA' in proc.stdout + proc.stderr


# ------------------------------------------------------------------ errors
def test_missing_and_corrupt_onnx_files(exported, cfg, tmp_path):
    out, _, _ = exported
    with pytest.raises(DeployError,
                       match=r'features.onnx not found; export it with: '
                       r'python tools/deployment/pytorch2onnx.py'):
        ORTGraph(str(tmp_path / FEATURES_FILE))
    corrupt = tmp_path / FEATURES_FILE
    with open(osp.join(out, FEATURES_FILE), 'rb') as f:
        corrupt.write_bytes(f.read()[:5000])  # a truncated copy
    with pytest.raises(DeployError, match='is not a valid ONNX model') as err:
        ORTGraph(str(corrupt))
    assert '\n' not in str(err.value)
    # as the tools build the model: one line, exit status 1
    nowhere = str(tmp_path / 'nowhere')
    with pytest.raises(SystemExit) as exit_info, exit_on_deploy_error():
        init_tracker(use_onnxruntime(copy.deepcopy(cfg), nowhere))
    message = str(exit_info.value.code)
    assert message.startswith(f'error: {nowhere}/{FEATURES_FILE} not found; '
                              'export it with: python tools/deployment/'
                              'pytorch2onnx.py CONFIG CHECKPOINT --out')
    assert '\n' not in message


def test_frame_sizes_the_graph_cannot_take(exported, cfg):
    out, _, _ = exported
    ort_model = init_tracker(use_onnxruntime(copy.deepcopy(cfg), out))
    with pytest.raises(DeployError, match=r'multiples of 32, got 100x320'):
        ort_model.extract_feat(torch.zeros(1, 3, 100, 320))
    static = {META_SIZE_DIVISOR: '32', META_STATIC_SHAPE: '192,320'}
    check_frame_size((192, 320), static, 'f.onnx')  # the exported size
    with pytest.raises(DeployError,
                       match=r'f.onnx was exported for 192x320 \(HxW\) '
                       r'frames only, got 224x320; export again without '
                       r'--static \(any size\) or with --shape 224 320'):
        check_frame_size((224, 320), static, 'f.onnx')


def test_static_export_takes_its_size_only(model, tmp_path):
    frames = [torch.randn(1, 3, 64, 96)]
    report = export_onnx(model, str(tmp_path), frames, static=True)
    assert report.max_rel_diff < REL_TOL
    graph = ORTGraph(report.features_path)
    assert graph.session.get_inputs()[0].shape == [1, 3, 64, 96]
    assert graph.meta[META_STATIC_SHAPE] == '64,96'


def test_an_op_onnx_cannot_express(cfg, tmp_path):
    # mmcv's modulated deformable conv (DCNv2) in every FPN conv: exported
    # as the custom op mmcv::MMCVModulatedDeformConv2d, which ORT cannot run
    bad = copy.deepcopy(cfg)
    bad.model.neck.conv_cfg = dict(type='DCNv2', deform_groups=1)
    model = init_tracker(bad)
    with pytest.raises(DeployError,
                       match='the model uses mmcv::MMCVModulatedDeformConv2d, '
                       'which standard ONNX cannot express') as err:
        export_onnx(model, str(tmp_path), [torch.randn(1, 3, 64, 64)])
    assert '\n' not in str(err.value)
    assert not os.listdir(tmp_path)  # no unusable file left behind
