"""Gradient shares beside the learning paces, one column per run.

Rows: the task losses, their weights (as in :mod:`.learning_paces`) and the
share each task takes of the shared layers' gradient norm, logged by
``GradientShareHook`` as ``grad_share/<task>`` in ``scalars.json``. Columns:
the runs compared, e.g. fixed (1, 1, 1) and DMW, so one can read whether DMW
equalises the tasks' gradients.
"""
from typing import Dict, Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from .learning_paces import (DPI, REF_STYLE, TASK_KEYS, WEIGHT_KEYS, Series,
                             _plot_series, extract_series, find_scalars,
                             load_scalars, moving_average)

TASKS = ('cls', 'reg', 'reid')
SHARE_KEYS = tuple(f'grad_share/{t}' for t in TASKS)
NORM_KEYS = tuple(f'grad_norm/{t}' for t in TASKS)
SHARE_LABELS = {
    'grad_share/cls': 'classification',
    'grad_share/reg': 'regression',
    'grad_share/reid': 'ID verification',
}
COLOURS_SHARE = dict(zip(SHARE_KEYS, ['C0', 'C1', 'C2']))
PANEL_SIZE = (4.2, 2.6)  # inches per panel


def load_shares(path: str) -> Dict[str, Series]:
    """``grad_share/<task>`` series of a run (work dir, run dir or
    ``scalars.json``).

    Raises:
        KeyError: The run logged no gradient shares; says how to log them.
    """
    scalars = find_scalars(path)
    shares = extract_series(load_scalars(scalars), SHARE_KEYS)
    if not shares:
        raise KeyError(
            f'{scalars} has no grad_share/* values: train with '
            "custom_hooks=[dict(type='GradientShareHook', interval=10)] "
            '(tools/train.py --cfg-options, or the config)')
    return shares


def mean_shares(shares: Dict[str, Series],
                start_fraction: float = 0.0) -> Dict[str, float]:
    """Mean share per task over the logged points from ``start_fraction``
    of the run on (0.5: the second half)."""
    out = {}
    for key, (steps, values) in shares.items():
        keep = steps >= steps.min() + start_fraction * (steps.max() -
                                                        steps.min())
        out[key.split('/', 1)[1]] = float(np.mean(values[keep]))
    return out


def plot_gradient_shares(paths: Sequence[str],
                         labels: Optional[Sequence[str]] = None,
                         out_file: str = 'gradient_shares.png',
                         smooth: int = 1) -> str:
    """Draw losses, weights and gradient shares of several runs side by
    side.

    Args:
        paths (Sequence[str]): Work dirs, run dirs or ``scalars.json`` files.
        labels (Sequence[str], optional): Column titles; default the paths.
        out_file (str): PNG to write. Defaults to 'gradient_shares.png'.
        smooth (int): Moving-average window in logged points. Defaults to 1.

    Returns:
        str: ``out_file``.
    """
    labels = list(labels) if labels else list(paths)
    if len(labels) != len(paths):
        raise ValueError(f'{len(paths)} runs but {len(labels)} labels')
    fig = Figure(figsize=(PANEL_SIZE[0] * len(paths), PANEL_SIZE[1] * 3),
                 layout='constrained')
    axes = fig.subplots(3, len(paths), squeeze=False, sharex='col')
    for col, (path, label) in enumerate(zip(paths, labels)):
        records = load_scalars(find_scalars(path))
        shares = load_shares(path)
        _plot_series(axes[0, col], extract_series(records, TASK_KEYS),
                     smooth, 'task loss' if col == 0 else '')
        axes[0, col].set_yscale('log')
        axes[0, col].set_title(label, fontsize='medium')
        _plot_series(axes[1, col], extract_series(records, WEIGHT_KEYS),
                     smooth, 'weight' if col == 0 else '')
        _plot_shares(axes[2, col], shares, smooth, col == 0)
        axes[2, col].set_xlabel('iteration')
    fig.savefig(out_file, dpi=DPI, bbox_inches='tight')
    return out_file


def _plot_shares(ax, shares: Dict[str, Series], smooth: int,
                 first_column: bool) -> None:
    """Shares of the three tasks, with the equal share 1/3 dashed."""
    for key, (steps, values) in shares.items():
        ax.plot(steps, moving_average(values, smooth),
                color=COLOURS_SHARE[key], label=SHARE_LABELS[key])
    ax.axhline(1 / len(TASKS), label='equal (1/3)', **REF_STYLE)
    ax.set_ylim(0, 1)
    if first_column:
        ax.set_ylabel('share of shared-layer\ngradient norm')
    ax.legend(loc='best', fontsize='x-small')
    ax.grid(alpha=0.3)
