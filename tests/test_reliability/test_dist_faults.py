"""Two training processes (torchrun, gloo): when one dies the launcher stops
the other and names the failed rank, instead of hanging; ``--resume`` then
continues from the last checkpoint.

The killed run is scheduled for one epoch more than the resumed one, so the
kill always lands mid-run.
"""
import os
import os.path as osp
import re
import signal
import subprocess
import sys

import pytest
from reliability_utils import (CONFIG, cfg_options, free_port,
                               iters_per_epoch, logged_after, run_tool,
                               start_tool, tool_env, wait_for)

from mmdmw.utils.safe_checkpoint import load_checkpoint_file

NUM_PROCS, EPOCHS = 2, 2
#: torchrun stops the surviving workers (SIGTERM, then SIGKILL after its
#: 30 s grace period) as soon as it sees one fail; allow for a busy machine.
STOP_BOUND = 120  # s


def worker_pid(launcher_pid: int, rank: int) -> int:
    """PID of the torchrun worker with ``RANK=rank`` (Linux ``/proc``)."""
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            with open(f'/proc/{pid}/environ', 'rb') as f:
                environ = f.read().split(b'\0')
        except OSError:  # the process ended meanwhile
            continue
        if ppid == launcher_pid and f'RANK={rank}'.encode() in environ:
            return int(pid)
    raise LookupError(f'no worker of rank {rank} under {launcher_pid}')


@pytest.mark.slow
@pytest.mark.skipif(not osp.isdir('/proc'), reason='finds workers in /proc')
def test_dead_worker_stops_the_run_then_resume(data_root, tmp_path):
    work_dir, log = str(tmp_path / 'work'), str(tmp_path / 'launcher.log')
    env = tool_env(PORT=str(free_port()), MMDMW_PYTHON=sys.executable)
    args = ('bash', 'tools/dist_train.sh', CONFIG, str(NUM_PROCS),
            '--work-dir', work_dir)
    launcher = start_tool(*args, *cfg_options(data_root, EPOCHS + 1),
                          env=env, log=log)
    try:
        wait_for(logged_after(work_dir, 1), launcher,
                 'an iteration of epoch 2')
        os.kill(worker_pid(launcher.pid, rank=1), signal.SIGKILL)
        status = launcher.wait(timeout=STOP_BOUND)
    except subprocess.TimeoutExpired:
        pytest.fail(f'the launcher did not stop within {STOP_BOUND} s')
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    output = open(log).read()
    assert status != 0, output[-3000:]
    assert 'Root Cause' in output, output[-3000:]
    root_cause = output[output.index('Root Cause'):]
    assert re.search(r'rank\s*:\s*1 \(local_rank: 1\)', root_cause), output
    assert 'Signal 9 (SIGKILL)' in root_cause
    per_epoch = iters_per_epoch(work_dir)

    resumed = run_tool(*args, '--resume', *cfg_options(data_root, EPOCHS),
                       env=env).output
    assert f'resumed epoch: 1, iter: {per_epoch}' in resumed
    final = load_checkpoint_file(osp.join(work_dir, f'epoch_{EPOCHS}.pth'))
    assert final['meta']['iter'] == EPOCHS * per_epoch
