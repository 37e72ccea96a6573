"""Helpers for the fault tests: running the tools as subprocesses, waiting
for a run to reach a point and killing it there, reading its logs."""
import glob
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import time
from typing import Callable, Dict, List, Optional

from mmdmw.utils.safe_checkpoint import load_checkpoint_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The small CPU config (its schedule suffix may change, hence the glob).
CONFIG = sorted(
    glob.glob(
        osp.join(ROOT, 'configs', 'dmw',
                 'retina_dmw_r18-tiny_1xb4-*_synthetic.py')))[0]
FRAMES = 12  # per video: half-train 7 frames, half-val 5
NUM_VAL_FRAMES = FRAMES - FRAMES // 2 - 1
RUN_TIMEOUT = 600  # s, a whole tool run
POLL = 0.05  # s
#: One thread per process: runs are reproducible and leave CPU to others.
THREAD_ENV = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}


def tool_env(**extra: str) -> Dict[str, str]:
    return {**os.environ, 'MPLBACKEND': 'Agg', **THREAD_ENV, **extra}


def run_tool(*args: str, expect_rc: Optional[int] = 0,
             env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Run a tool to its end; check the exit status unless None."""
    proc = subprocess.run([*args], cwd=ROOT, env=env or tool_env(),
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    proc.output = proc.stdout + proc.stderr
    if expect_rc is not None:
        assert proc.returncode == expect_rc, proc.output[-4000:]
    return proc


def start_tool(*args: str, env: Optional[dict] = None,
               log: Optional[str] = None) -> subprocess.Popen:
    """Start a tool in its own process group (so the group can be killed),
    output to the file ``log`` (or discarded)."""
    out = open(log, 'w') if log else subprocess.DEVNULL
    return subprocess.Popen([*args], cwd=ROOT, env=env or tool_env(),
                            stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen,
             what: str, timeout: float = RUN_TIMEOUT) -> None:
    """Poll ``condition`` until it holds; fail if ``proc`` ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f'the run ended before {what}'
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(POLL)


def kill_group(proc: subprocess.Popen) -> int:
    """``kill -9`` a run and its children (DataLoader workers); its status."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return proc.wait(timeout=RUN_TIMEOUT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cfg_options(data_root: str, epochs: int, *extra: str) -> List[str]:
    """A short, reproducible run: no validation, a log line and a scalars
    line per iteration, a checkpoint per epoch, seed 0."""
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}/',
        f'val_dataloader.dataset.data_root={data_root}/',
        f'test_dataloader.dataset.data_root={data_root}/',
        f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1000',
        # One worker, re-seeded at every epoch from the seed: a resumed
        # epoch sees the same augmentations as an uninterrupted one.
        'train_dataloader.num_workers=1',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1',
        'default_hooks.checkpoint.save_best=None',
        'randomness.seed=0', 'randomness.deterministic=True', *extra
    ]


def iters_per_epoch(work_dir: str) -> Optional[int]:
    """Training iterations per epoch, from ``epoch_1.pth`` once the
    ``last_checkpoint`` pointer to it exists; None before."""
    if not osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        return None
    ckpt = load_checkpoint_file(osp.join(work_dir, 'epoch_1.pth'), 'cpu')
    return ckpt['meta']['iter']


def logged_after(work_dir: str, num_iters: int) -> Callable[[], bool]:
    """A condition: the latest run logged iteration ``num_iters`` after the
    end of epoch 1."""
    per_epoch = []  # read once

    def condition() -> bool:
        if not per_epoch:
            found = iters_per_epoch(work_dir)
            if found is None:
                return False
            per_epoch.append(found)
        logged = [s['iter'] for s in run_scalars(work_dir)[-1]]
        return max(logged) >= per_epoch[0] + num_iters

    return condition


def run_scalars(work_dir: str) -> List[List[dict]]:
    """Per run in ``work_dir`` (oldest first), the training lines of its
    ``vis_data/scalars.json``."""
    runs = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        runs.append([line for line in lines if 'task_cls' in line])
    return runs
