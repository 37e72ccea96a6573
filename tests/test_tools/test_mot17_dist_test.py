"""``tools/dist_test.sh`` on the MOT17 layout, two processes (gloo).

``tests/test_tools/test_end_to_end.py`` compares two processes with one on
synthetic sequence names (``SYN-01``). MOT17 adds what the names change: each
sequence is shipped three times (``-DPM``, ``-FRCNN``, ``-SDP``), tracked once
(its FRCNN copy) and written under all three names. Here the ranks share the
FRCNN copies (half-val: 2 sequences, one per rank; test: 3 sequences, 2 and 1)
and the result must be one process's: the same scores on half-val and the
same 9 files (3 names per sequence) on test. The layout is made with the
MOT17 rehearsal's helpers (``rehearsal_utils``), the model is the R50 config
shrunk as there, with random weights (what is compared is the tools, not
what the model learnt).
"""
import argparse
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config, DictAction
from rehearsal_utils import (ROOT, as_mot17_gt, cfg_options, run_tool,
                             source_sequence, write_copies)

from mmdmw.apis.inference import init_tracker

CONFIG = osp.join(ROOT, 'configs', 'dmw', 'retina_dmw_r50_mot17.py')
TEST_CONFIG = osp.join(ROOT, 'configs', 'dmw',
                       'retina_dmw_r50_8xb1-100e_mot17train_test-mot17test.py')
DETECTORS = ('DPM', 'FRCNN', 'SDP')
TRAIN_SEQS = ('MOT17-02', 'MOT17-04')
TEST_SEQS = ('MOT17-01', 'MOT17-03', 'MOT17-06')
TRAIN_FRAMES, TEST_FRAMES = 6, 2  # per sequence; half-val: frames 5-6
IMG_SCALE = (256, 192)  # (w, h)
NUM_PROCS = 2


@pytest.fixture(scope='module')
def mot17(tmp_path_factory) -> str:
    """MOT17-shaped train and test splits, converted; their root."""
    tmp = str(tmp_path_factory.mktemp('mot17_dist'))
    frames, gt, width, height = source_sequence(
        osp.join(tmp, 'source'),
        len(TRAIN_SEQS) * TRAIN_FRAMES + len(TEST_SEQS) * TEST_FRAMES)
    root = osp.join(tmp, 'MOT17')
    first = 1
    for split, seqs, num in (('train', TRAIN_SEQS, TRAIN_FRAMES),
                             ('test', TEST_SEQS, TEST_FRAMES)):
        for seq in seqs:
            seq_gt = as_mot17_gt(gt, first, num) if split == 'train' else None
            write_copies(root, split, seq, frames[first - 1:first - 1 + num],
                         seq_gt, width, height)
            first += num
    run_tool(sys.executable, 'tools/dataset_converters/mot2coco.py', '-i',
             root, '-o', osp.join(root, 'annotations'))
    return root


@pytest.fixture(scope='module')
def checkpoint(mot17, tmp_path_factory) -> str:
    """The shrunk R50 model with random weights, saved as tools/train.py
    saves weights."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(cfg_options(CONFIG, mot17, IMG_SCALE))
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options.cfg_options)
    torch.manual_seed(0)
    model = init_tracker(cfg)
    path = str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


ONE_THREAD = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}


def run_test_tool(config: str, checkpoint: str, procs: int,
                  *args: str) -> str:
    """tools/test.py on one process, or tools/dist_test.sh on ``procs``
    (a free port each time); the output.

    Every process computes with one thread, as torchrun's ranks do by
    default: the same kernels on the same inputs give the same bits, so the
    written tracks can be compared character for character (two threads
    against one may round a box's third decimal the other way)."""
    if procs == 1:
        return run_tool(sys.executable, 'tools/test.py', config, checkpoint,
                        *args, env=ONE_THREAD)
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PORT': str(free_port()),
           'MMDMW_PYTHON': sys.executable, **ONE_THREAD}
    proc = subprocess.run(['bash', 'tools/dist_test.sh', config, checkpoint,
                           str(procs), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    # MMEngine's runtime environment: really `procs` processes
    assert f'GPU number: {procs}' in output, output[-4000:]
    return output


def metrics_printed(out: str) -> dict:
    """``motchallenge-metric/NAME: VALUE`` pairs of a tool's log."""
    return dict(re.findall(r'motchallenge-metric/(\w+): ([-\d.]+)', out))


def read_files(folder: str) -> dict:
    """{file name: content} of a result folder."""
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(osp.join(folder, name)) as f:
            out[name] = f.read()
    return out


@pytest.mark.slow
def test_two_processes_track_each_sequence_once(mot17, checkpoint, tmp_path):
    options = cfg_options(CONFIG, mot17, IMG_SCALE)
    scores, files = {}, {}
    for procs in (1, NUM_PROCS):
        out = run_test_tool(CONFIG, checkpoint, procs, '--eval', 'track',
                            '--work-dir', str(tmp_path / f'val{procs}'),
                            *options)
        scores[procs] = metrics_printed(out)
        out_dir = str(tmp_path / f'files{procs}')
        out = run_test_tool(TEST_CONFIG, checkpoint, procs, '--out',
                            out_dir, '--work-dir',
                            str(tmp_path / f'test{procs}'), *options)
        assert f'9 MOTChallenge result files in {out_dir}' in out, out[-3000:]
        files[procs] = read_files(out_dir)
    # half-val: both sequences scored, the same numbers on two processes
    assert {'HOTA', 'MOTA', 'IDF1'} <= set(scores[1]), scores
    assert scores[NUM_PROCS] == scores[1]
    # test: every sequence once, under its three names, as on one process
    assert sorted(files[1]) == sorted(f'{s}-{d}.txt' for s in TEST_SEQS
                                      for d in DETECTORS)
    assert files[NUM_PROCS] == files[1]
    for seq in TEST_SEQS:
        copies = {files[1][f'{seq}-{d}.txt'] for d in DETECTORS}
        (content, ) = copies  # identical per sequence
        assert content, f'{seq}: no tracks to compare'
