"""Training runs that are killed, diverge or are repeated: nothing is lost
and a resumed run goes on exactly where the last checkpoint left it.

One killed run (A) is shared: it is SIGKILLed in its second epoch, two
iterations after ``epoch_1.pth`` was written (it is scheduled for one epoch
more than B, so the kill always lands mid-run; the schedule's length changes
neither data nor learning rate). Run B resumes it, run C resumes B with a
loss that turns NaN, run D repeats A's start.
"""
import glob
import os.path as osp
import sys

import pytest
from mmengine.runner import find_latest_checkpoint
from reliability_utils import (CONFIG, cfg_options, iters_per_epoch,
                               kill_group, logged_after, run_scalars,
                               run_tool, start_tool, wait_for)

from mmdmw.utils.safe_checkpoint import load_checkpoint_file

EPOCHS = 2
KILL_AFTER = 2  # iterations of epoch 2 logged before the kill
LOSS_KEYS = ('loss', 'task_cls', 'task_reg', 'task_reid', 'alpha', 'beta',
             'gamma')


def load(path: str) -> dict:
    return load_checkpoint_file(path, map_location='cpu')


@pytest.fixture(scope='module')
def killed(data_root, tmp_path_factory) -> dict:
    """Run A, killed with SIGKILL mid-way through epoch 2."""
    work_dir = str(tmp_path_factory.mktemp('killed'))
    proc = start_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                      work_dir, *cfg_options(data_root, EPOCHS + 1))
    wait_for(logged_after(work_dir, KILL_AFTER), proc,
             'two iterations of epoch 2')
    status = kill_group(proc)
    return dict(work_dir=work_dir, status=status,
                per_epoch=iters_per_epoch(work_dir))


@pytest.fixture(scope='module')
def resumed(killed, data_root) -> dict:
    """Run B: ``tools/train.py CONFIG --resume`` in A's work dir."""
    out = run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                   killed['work_dir'], '--resume',
                   *cfg_options(data_root, EPOCHS)).output
    return dict(output=out)


@pytest.mark.slow
def test_kill_then_resume_continues_exactly(killed, resumed):
    work_dir, per_epoch = killed['work_dir'], killed['per_epoch']
    assert killed['status'] == -9
    assert (f'resumed epoch: 1, iter: {per_epoch}' in resumed['output']
            ), resumed['output'][-3000:]
    run_a, run_b = run_scalars(work_dir)
    by_iter_a = {s['iter']: s for s in run_a}
    # B starts at the first iteration after the checkpoint ...
    assert run_b[0]['iter'] == per_epoch + 1
    assert run_b[-1]['iter'] == EPOCHS * per_epoch
    # ... and sees what A saw there: the same weights and data give the same
    # loss at iteration N + 1; the same learning rate and Adam moments give
    # the same step, hence the same loss at N + 2 (a fresh Adam would not).
    for b in run_b[:KILL_AFTER]:
        a = by_iter_a[b['iter']]
        assert b['lr'] == a['lr']
        for key in LOSS_KEYS:
            assert b[key] == a[key], (b['iter'], key)
    final = load(osp.join(work_dir, f'epoch_{EPOCHS}.pth'))
    assert final['meta']['iter'] == EPOCHS * per_epoch
    first = load(osp.join(work_dir, 'epoch_1.pth'))
    assert first['optimizer']['state'], 'Adam moments are checkpointed'


@pytest.mark.slow
def test_same_seed_same_losses(killed, data_root, tmp_path):
    """Run D repeats A's first iterations bit for bit (seed 0,
    deterministic algorithms)."""
    work_dir = str(tmp_path)
    repeat = 3
    proc = start_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                      work_dir, *cfg_options(data_root, 1))
    try:
        wait_for(lambda: sum(map(len, run_scalars(work_dir))) >= repeat,
                 proc, f'{repeat} logged iterations')
    finally:
        kill_group(proc)
    first_a = run_scalars(killed['work_dir'])[0][:repeat]
    first_d = run_scalars(work_dir)[0][:repeat]
    assert [s['iter'] for s in first_d] == [1, 2, 3]
    for a, d in zip(first_a, first_d):
        for key in LOSS_KEYS + ('lr', ):
            assert d[key] == a[key], (d['iter'], key)


@pytest.mark.slow
def test_nan_loss_names_task_and_iteration(killed, resumed, data_root):
    """Run C resumes B for a third epoch with a NaN regression weight: it
    stops at the first iteration, says where, and loses no checkpoint."""
    work_dir, per_epoch = killed['work_dir'], killed['per_epoch']
    last_good = find_latest_checkpoint(work_dir)
    proc = run_tool(
        sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir,
        '--resume',
        *cfg_options(data_root, EPOCHS + 1,
                     'model.head.loss_bbox.type=SmoothL1Loss',
                     'model.head.loss_bbox.loss_weight=nan'),
        expect_rc=1)
    iteration = EPOCHS * per_epoch + 1
    assert (f'stopped at epoch {EPOCHS + 1}, iteration {iteration}: the reg '
            'loss became nan' in proc.output), proc.output[-3000:]
    assert f'last good checkpoint: {last_good}' in proc.output
    assert 'Traceback' not in proc.output
    assert find_latest_checkpoint(work_dir) == last_good
    assert load(last_good)['meta']['iter'] == EPOCHS * per_epoch
    assert not glob.glob(osp.join(work_dir, f'epoch_{EPOCHS + 1}.pth'))
