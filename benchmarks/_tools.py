"""Running the project's tools (train, test, data) from a benchmark."""
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
METRICS = ('HOTA', 'MOTA', 'IDF1', 'IDSW')


def run(cmd: List[str], log_file: str, threads: int = 0) -> str:
    """Run a tool from the repository root and keep its output in
    ``log_file``; fail loudly, pointing at the log.

    Args:
        cmd (list[str]): The command.
        log_file (str): Where its stdout and stderr go.
        threads (int): Torch / OpenMP threads; 0 keeps the default.

    Returns:
        str: What it printed.
    """
    env = {**os.environ, 'MPLBACKEND': 'Agg'}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True)
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    with open(log_file, 'w') as f:
        f.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed; see {log_file}')
    return proc.stdout + proc.stderr


def parse_metrics(output: str,
                  names: Sequence[str] = METRICS) -> Dict[str, float]:
    """Read the metrics from tools/test.py's ``Epoch(test)`` line."""
    found = {}
    for name in names:
        match = re.search(rf'motchallenge-metric/{name}: (-?[0-9.]+)', output)
        if match is None:
            raise ValueError(f'{name} not in the test output')
        found[name] = float(match.group(1))
    return found


def ensure_synthetic_data(data_root: str, frames: int,
                          num_train: int) -> None:
    """Generate and convert the synthetic set unless it is there."""
    if osp.isfile(osp.join(data_root, 'annotations',
                           'half-val_cocoformat.json')):
        return
    subprocess.run([
        sys.executable, 'tools/misc/make_synthetic_mot.py', data_root,
        '--num-train', str(num_train), '--num-test', '1', '--frames',
        str(frames)
    ], cwd=ROOT, check=True)


def data_root_options(data_root: str) -> List[str]:
    """``--cfg-options`` pointing every dataloader at ``data_root``."""
    return [
        f'{loader}.dataset.data_root={data_root}/'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ]


def weighting_options(pso: bool, mode: str,
                      weights: Optional[Sequence[float]], seed: int,
                      epochs: int, val_interval: int, data_root: str,
                      normalization: str = 'ctracker') -> List[str]:
    """``--cfg-options`` for one loss-weighting study run: PSO on or off,
    the head's loss scale (``loss_normalization``), the ``DMWLoss`` mode and
    weights, the seed, and a schedule of ``epochs`` with the learning rate
    divided by 10 at 75% and 90% of it."""
    weights_opt = ('None' if weights is None else
                   '(' + ','.join(str(w) for w in weights) + ')')
    return [
        f'model.head.use_pso={pso}',
        f'model.loss_weighting.mode={mode}',
        f'model.loss_weighting.weights={weights_opt}',
        f'randomness.seed={seed}',
        f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={val_interval}',
        f'param_scheduler.1.milestones=[{int(epochs * 0.75)},'
        f'{int(epochs * 0.9)}]',
        'default_hooks.checkpoint.save_best=None',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        f'model.head.loss_normalization={normalization}',
    ] + data_root_options(data_root)
