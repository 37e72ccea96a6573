"""A tracking run killed midway leaves complete result files for what it
finished; a checkpoint of another config is refused by name."""
import os
import os.path as osp
import shutil
import sys

import pytest
import torch
from mmengine.config import Config
from reliability_utils import (CONFIG, FRAMES, kill_group, run_tool,
                               start_tool, wait_for)

from mmdmw.apis.inference import init_tracker

MOT_FIELDS = 10
#: Random weights score near the focal prior (0.01); zero thresholds make
#: every frame of every sequence hold tracks.
TRACK_ALL = ('model.head.test_cfg.score_thr=0.0',
             'model.tracker.init_score_thr=0.0', 'model.tracker.score_thr=0.0',
             'model.tracker.confirm_score_thr=0.0')
DEMO_FRAMES = 100  # long enough to be killed midway


def save_random_checkpoint(path: str, **head) -> str:
    cfg = Config.fromfile(CONFIG)
    cfg.model.head.update(head)
    torch.manual_seed(0)
    model = init_tracker(cfg)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    return save_random_checkpoint(
        str(tmp_path_factory.mktemp('ckpt') / 'random.pth'))


def mot_frames(path: str) -> list:
    """The frames of a MOTChallenge result file; every line well formed."""
    frames = []
    with open(path) as f:
        for line in f:
            fields = line.rstrip('\n').split(',')
            assert len(fields) == MOT_FIELDS, (path, line)
            frames.append(int(fields[0]))
    return frames


@pytest.mark.slow
def test_test_run_killed_keeps_finished_sequences(data_root, checkpoint,
                                                 tmp_path):
    """Killed while tracking the second of two 12-frame videos."""
    out_dir = str(tmp_path / 'results')
    proc = start_tool(
        sys.executable, 'tools/test.py', CONFIG, checkpoint, '--eval',
        'track', '--out', out_dir, '--work-dir', str(tmp_path / 'work'),
        '--cfg-options', f'test_dataloader.dataset.data_root={data_root}/',
        'test_dataloader.dataset.ann_file=annotations/train_cocoformat.json',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', *TRACK_ALL)
    def results() -> list:  # a file is written to a hidden temporary first
        names = os.listdir(out_dir) if osp.isdir(out_dir) else []
        return sorted(n for n in names if not n.startswith('.'))

    def finished() -> bool:
        return bool(results())

    wait_for(finished, proc, 'the first sequence')
    assert kill_group(proc) == -9, 'the run ended before it was killed'
    # The first sequence, whole; nothing of the second, not even a part.
    assert results() == ['SYN-01.txt']
    frames = mot_frames(osp.join(out_dir, 'SYN-01.txt'))
    assert sorted(set(frames)) == list(range(1, FRAMES + 1))


@pytest.mark.slow
def test_demo_killed_keeps_frames_done(data_root, checkpoint, tmp_path):
    frames_dir = tmp_path / 'frames'
    frames_dir.mkdir()
    source = osp.join(data_root, 'test', 'SYN-03', 'img1')
    names = sorted(os.listdir(source))
    for i in range(DEMO_FRAMES):
        shutil.copy(osp.join(source, names[i % len(names)]),
                    frames_dir / f'{i:06d}.jpg')
    config = tmp_path / 'track_all.py'
    config.write_text(
        f'_base_ = {CONFIG!r}\n'
        'model = dict(head=dict(test_cfg=dict(score_thr=0.0)),\n'
        '             tracker=dict(init_score_thr=0.0, score_thr=0.0,\n'
        '                          confirm_score_thr=0.0))\n')
    txt = str(tmp_path / 'out.txt')
    proc = start_tool(sys.executable, 'tools/demo/track_video.py',
                      str(frames_dir), str(config), checkpoint, '--out-txt',
                      txt)
    def has_frames() -> bool:  # read while written: whole lines only
        text = open(txt).read() if osp.isfile(txt) else ''
        lines = text.splitlines()[:text.count('\n')]
        return len({line.split(',')[0] for line in lines}) >= 3

    wait_for(has_frames, proc, 'three tracked frames')
    assert kill_group(proc) == -9, 'the demo ended before it was killed'
    done = sorted(set(mot_frames(txt)))
    assert done == list(range(1, len(done) + 1)) and len(done) < DEMO_FRAMES


@pytest.mark.slow
def test_test_tool_refuses_checkpoint_of_another_config(data_root, tmp_path):
    other = save_random_checkpoint(str(tmp_path / 'other.pth'),
                                   feat_channels=32)
    proc = run_tool(
        sys.executable, 'tools/test.py', CONFIG, other, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.data_root={data_root}/', expect_rc=1)
    assert 'does not fit the model of this config' in proc.output
    assert 'size mismatch: head.' in proc.output
    assert '(checkpoint (32,' in proc.output
    assert 'Traceback' not in proc.output
