"""int8 quantisation of the exported graphs (tiny config, random weights):
the quantised graphs hold int8 weights and QDQ pairs around every conv, keep
the export's metadata, run through ``ORTChainedTracker``, give outputs close
to (but not equal to) the fp32 graphs', and misuse stops with one line.

One fp32 export and one run of ``tools/deployment/quantize_onnx.py`` serve
the module.
"""
import copy
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdmw.apis.inference import init_tracker, track_frames
from mmdmw.apis.video_io import iter_frames
from mmdmw.deploy import (DeployError, ORTGraph, check_frames,
                          exit_on_deploy_error, export_onnx, use_onnxruntime)
from mmdmw.deploy.graphs import FEATURES_FILE, HEAD_FILE, head_input_names
from mmdmw.deploy.ort_runtime import META_NUM_LEVELS, META_SIZE_DIVISOR
from mmdmw.deploy.quantize import (META_QUANTIZATION, calibration_pairs,
                                   quantization_of, quantize_onnx)

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime.quantization')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
NUM_FRAMES = 6
CALIB_FRAMES = 4  # frames 0-3 calibrate; 4 and 5 are held out
#: int8 vs fp32 tolerances, per output tensor. A uint8 activation has
#: range/255 steps, so rounding moves one quantised tensor by at most 0.2%
#: of its range; ~20 quantised tensors in sequence and the gain of random
#: weights make more. Measured on these frames (held out of calibration):
#: max |diff| / fp32 range <= 0.14 and RMS diff / fp32 std <= 0.18 with
#: random weights, <= 0.10 and <= 0.07 with the trained quick-start model.
#: Bounds: a quarter of the range, and an RMS of 0.3 std (correlation with
#: fp32 about 0.95 or more; an unrelated or zero output scores 1 to 1.4).
RANGE_TOL = 0.25
RMS_TOL = 0.3
#: The fp32 export equals PyTorch within 1e-4 relative (test_deploy.py);
#: int8 must differ by more, or quantisation did nothing.
FP32_REL_TOL = 1e-4


@pytest.fixture(scope='module')
def cfg() -> Config:
    return Config.fromfile(CONFIG)


@pytest.fixture(scope='module')
def frames_dir(synthetic_frames) -> str:
    return synthetic_frames(NUM_FRAMES)


@pytest.fixture(scope='module')
def frames(cfg, frames_dir) -> list:
    return check_frames(cfg, (192, 320), frames_dir, NUM_FRAMES)


@pytest.fixture(scope='module')
def folders(cfg, frames, frames_dir, tmp_path_factory):
    """fp32 export of random weights, its int8 quantisation by the tool
    (calibrated on the first frames) and the tool's output."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = init_tracker(cfg)
    tmp = tmp_path_factory.mktemp('quantize')
    fp32, int8 = str(tmp / 'fp32'), str(tmp / 'int8')
    export_onnx(model, fp32, frames[:2])
    calib = tmp / 'calib'
    calib.mkdir()
    for name in sorted(os.listdir(frames_dir))[:CALIB_FRAMES]:
        shutil.copy(osp.join(frames_dir, name), calib / name)
    proc = subprocess.run(
        [sys.executable, 'tools/deployment/quantize_onnx.py', CONFIG, fp32,
         '--out', int8, '--images', str(calib)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return fp32, int8, proc.stdout


def run_both(fp32: str, int8: str, frames: list) -> list:
    """(fp32, int8) output pairs of both graphs on held-out frames 4 and 5
    (the head on the fp32 features of the pair (5, 4))."""
    pairs = []
    feats = {}
    for kind, folder in (('fp32', fp32), ('int8', int8)):
        graph = ORTGraph(osp.join(folder, FEATURES_FILE), threads=1)
        feats[kind] = [graph.run({'img': frames[t].numpy()}) for t in (4, 5)]
    pairs += list(zip(feats['fp32'][1], feats['int8'][1]))
    feeds = dict(zip(head_input_names(3), (*feats['fp32'][1],
                                           *feats['fp32'][0])))
    heads = [ORTGraph(osp.join(f, HEAD_FILE), threads=1).run(feeds)
             for f in (fp32, int8)]
    return pairs + list(zip(*heads))


def test_tool_reports_what_it_wrote(folders):
    _, int8, stdout = folders
    assert (f'calibrated (minmax) on {CALIB_FRAMES} frames of 1 videos'
            in stdout), stdout
    assert f'{CALIB_FRAMES} pairs' in stdout
    assert stdout.count('wrote ') == 2
    assert f'--backend onnxruntime --onnx {int8}' in stdout


@pytest.mark.parametrize('name', [FEATURES_FILE, HEAD_FILE])
def test_convs_run_on_int8_weights_between_qdq_pairs(folders, name):
    fp32, int8, _ = folders
    proto = onnx.load(osp.join(int8, name))
    onnx.checker.check_model(proto)
    producer = {out: n for n in proto.graph.node for out in n.output}
    inits = {i.name: i for i in proto.graph.initializer}
    convs = [n for n in proto.graph.node if n.op_type == 'Conv']
    num_fp32 = sum(n.op_type == 'Conv'
                   for n in onnx.load(osp.join(fp32, name)).graph.node)
    assert len(convs) == num_fp32 > 0  # every conv kept, none folded away
    for conv in convs:
        data, weight = (producer[conv.input[0]], producer[conv.input[1]])
        assert data.op_type == 'DequantizeLinear'  # uint8 activations in
        assert producer[data.input[0]].op_type == 'QuantizeLinear'
        assert weight.op_type == 'DequantizeLinear'
        stored = inits[weight.input[0]]
        assert stored.data_type == onnx.TensorProto.INT8
        scales = inits[weight.input[1]]
        # per-channel: one scale per output channel
        assert len(scales.dims) == 1 and scales.dims[0] == stored.dims[0]
        consumers = [n for n in proto.graph.node if conv.output[0] in n.input]
        assert [n.op_type for n in consumers] == ['QuantizeLinear']
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta[META_QUANTIZATION] == 'int8'
    assert meta[META_SIZE_DIVISOR] == '32' and meta[META_NUM_LEVELS] == '3'
    assert quantization_of(osp.join(int8, name)) == 'int8'
    assert quantization_of(osp.join(fp32, name)) == 'fp32'


def test_outputs_close_to_fp32_but_not_equal(folders, frames):
    fp32, int8, _ = folders
    pairs = run_both(fp32, int8, frames)
    assert len(pairs) == 3 + 9  # 3 levels; cls, reg, reid of 3 levels
    for want, got in pairs:
        assert got.shape == want.shape
        diff = np.abs(got - want)
        spread = float(want.max() - want.min())
        assert diff.max() <= RANGE_TOL * spread, (diff.max(), spread)
        rms = float(np.sqrt((diff**2).mean()))
        assert rms <= RMS_TOL * float(want.std()), (rms, want.std())
        # quantisation did change the numbers
        assert diff.max() > FP32_REL_TOL * float(np.abs(want).max())


def test_quantised_folder_tracks(folders, cfg, frames_dir):
    _, int8, _ = folders
    model = init_tracker(use_onnxruntime(copy.deepcopy(cfg), int8, 1))
    assert model.features.meta[META_QUANTIZATION] == 'int8'
    tracks = [t for _, t in track_frames(model, iter_frames(frames_dir),
                                         NUM_FRAMES)]
    assert len(tracks) == NUM_FRAMES
    assert sum(len(t) for t in tracks) > 0, 'random weights give tracks'


def test_calibration_pairs():
    # each frame with the one before; a video's first with itself
    assert calibration_pairs(5, (0, 3)) == [(0, 0), (1, 0), (2, 1), (3, 3),
                                            (4, 3)]


def test_misuse_stops_with_one_line(folders, frames, tmp_path):
    fp32, int8, _ = folders
    empty = str(tmp_path / 'empty')
    os.makedirs(empty)
    with pytest.raises(DeployError,
                       match=r'features.onnx not found: quantisation needs '
                       r'the fp32 graphs; export it with: python tools/'
                       r'deployment/pytorch2onnx.py') as err:
        quantize_onnx(empty, str(tmp_path / 'out'), frames)
    assert '\n' not in str(err.value)
    with pytest.raises(DeployError, match=r'no calibration frames: give'):
        quantize_onnx(fp32, str(tmp_path / 'out'), [])
    with pytest.raises(DeployError,
                       match=r'features.onnx is already quantised \(int8\); '
                       r'quantise the fp32 export'):
        quantize_onnx(int8, str(tmp_path / 'out'), frames)
    with pytest.raises(SystemExit) as exit_info, exit_on_deploy_error():
        quantize_onnx(fp32, str(tmp_path / 'out'), frames, method='kl')
    assert str(exit_info.value.code) == (
        "error: unknown calibration method 'kl'; choose one of minmax, "
        'percentile')


def test_int8_graph_keeps_dynamic_size(folders):
    # calibrated at 192x320 only; the export's dynamic H, W stay dynamic
    _, int8, _ = folders
    graph = ORTGraph(osp.join(int8, FEATURES_FILE), threads=1)
    outs = graph.run({'img': np.zeros((1, 3, 128, 224), np.float32)})
    assert [o.shape[-2:] for o in outs] == [(16, 28), (8, 14), (4, 7)]


def test_tool_stops_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/deployment/quantize_onnx.py', CONFIG,
         str(tmp_path), '--out', str(tmp_path / 'int8'), '--images',
         str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: {tmp_path}/{FEATURES_FILE} not found: quantisation needs '
        'the fp32 graphs; export it with: python tools/deployment/'
        f'pytorch2onnx.py CONFIG CHECKPOINT --out {tmp_path}')


def test_calibration_split_defaults_to_train(monkeypatch):
    """The tool calibrates on the training frames unless told otherwise:
    calibrating on the split that is scored would leak it."""
    import runpy
    tool = runpy.run_path('tools/deployment/quantize_onnx.py')
    cfg = Config.fromfile(CONFIG)
    train = tool['dataset_cfg'](cfg, 'train', None)
    assert train.ann_file == 'annotations/half-train_cocoformat.json'
    assert train.pipeline == cfg.test_dataloader.dataset.pipeline
    test = tool['dataset_cfg'](cfg, 'test', 'annotations/other.json')
    assert test.ann_file == 'annotations/other.json'
    monkeypatch.setattr(sys, 'argv',
                        ['quantize_onnx.py', CONFIG, 'fp32', '--out', 'int8'])
    assert tool['parse_args']().calib_split == 'train'
