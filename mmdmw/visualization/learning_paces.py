"""Plot the learning paces of a training run, as the paper's Fig. 1.

Top: the three task losses against the iteration; middle: their weights
alpha, beta, gamma (:class:`DMWLoss`); bottom, if the run was validated: the
val HOTA / MOTA / IDF1 per epoch. Everything is read from MMEngine's
``WORK_DIR/<timestamp>/vis_data/scalars.json`` (one JSON object a line).
"""
import glob
import json
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
# Figure without pyplot renders with Agg and leaves the user's backend alone.
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mmengine.config import Config

TASK_KEYS = ('task_cls', 'task_reg', 'task_reid')
WEIGHT_KEYS = ('alpha', 'beta', 'gamma')
METRIC_NAMES = ('HOTA', 'MOTA', 'IDF1')
LABELS = {
    'task_cls': r'classification $L_{cls}$',
    'task_reg': r'regression $L_{reg}$',
    'task_reid': r'ID verification $L_{reid}$',
    'alpha': r'$\alpha$ (cls)',
    'beta': r'$\beta$ (reg)',
    'gamma': r'$\gamma$ (reid)',
}
COLOURS = dict(zip(TASK_KEYS + WEIGHT_KEYS, ['C0', 'C1', 'C2'] * 2))
#: Per ``DMWLoss`` mode: (reference weight, its label, note on the sum).
#: With T = 3 tasks, DMW weights sum to T - 1 = 2 (Eq. 8), so equal losses
#: give 2/3 each; "independent" weights sum to 1 (1/3 each).
MODE_REFERENCES = {
    'dmw': (2 / 3, 'equal losses: 2/3', r'$\alpha+\beta+\gamma=2$ (Eq. 8)'),
    'independent': (1 / 3, 'equal losses: 1/3', r'$\alpha+\beta+\gamma=1$'),
    'uncertainty': (1.0, 'start: 1', r'$w_t = e^{-s_t}$ (learned)'),
    'fixed': (None, '', 'fixed weights'),
}
SUM_TOL = 1e-3  # weights "sum to" a value within this (float32 logging)
FIGSIZE_PER_PANEL = (8.0, 2.8)  # inches
DPI = 120
REF_STYLE = dict(color='grey', linestyle='--', linewidth=1)
SCALARS_PATTERNS = ('scalars.json', 'vis_data/scalars.json',
                    '*/vis_data/scalars.json')

Series = Tuple[np.ndarray, np.ndarray]  # (steps, values), both (K,)


def find_scalars(path: str) -> str:
    """The ``scalars.json`` of ``path``: the file itself, or in a work dir
    the one of the latest run (timestamp folders sort by time)."""
    if osp.isfile(path):
        return path
    for pattern in SCALARS_PATTERNS:
        found = sorted(glob.glob(osp.join(path, pattern)))
        if found:
            return found[-1]
    raise FileNotFoundError(
        f'no scalars.json under {path}; give a work dir of tools/train.py '
        '(WORK_DIR/<timestamp>/vis_data/scalars.json) or the file itself')


def load_scalars(path: str) -> List[dict]:
    """Records of a ``scalars.json``; a truncated last line (a killed run)
    is skipped with a warning, a bad line elsewhere raises."""
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            if i < len(lines) - 1:
                raise ValueError(f'{path}:{i + 1}: not JSON ({err})') from None
            warnings.warn(f'{path}: skipped the truncated last line')
    return records


def extract_series(records: Sequence[dict],
                   keys: Sequence[str],
                   step_key: str = 'step') -> Dict[str, Series]:
    """The values of each key against ``step_key``, from the records that
    carry both; keys never logged are left out."""
    series = {}
    for key in keys:
        rows = [(r[step_key], r[key]) for r in records
                if key in r and step_key in r]
        if rows:
            steps, values = np.asarray(rows, dtype=float).T
            series[key] = (steps, values)
    return series


def metric_keys(records: Sequence[dict],
                names: Sequence[str] = METRIC_NAMES) -> List[str]:
    """Logged keys of the given metrics, with or without an evaluator prefix
    (``motchallenge-metric/HOTA``), in the order of ``names``."""
    logged = {k for r in records for k in r}
    return [k for name in names for k in sorted(logged)
            if k.rsplit('/', 1)[-1] == name]


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` values (fewer at the start),
    as MMEngine's log window; ``window <= 1`` returns the values."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or values.size == 0:
        return values
    cumsum = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    return (cumsum[ends] - cumsum[starts]) / (ends - starts)


def weight_mode(scalars_path: str,
                weights: Dict[str, Series]) -> Optional[str]:
    """The ``DMWLoss`` mode of the run: from the config MMEngine saved next
    to ``scalars.json``, else guessed from the weights' sum (2 or 1)."""
    cfg_path = osp.join(osp.dirname(scalars_path), 'config.py')
    if osp.isfile(cfg_path):
        try:
            cfg = Config.fromfile(cfg_path, import_custom_modules=False)
            return cfg.model.loss_weighting.get('mode', 'dmw')
        except Exception:  # any odd config: fall back to the guess
            pass
    if set(WEIGHT_KEYS) <= set(weights):
        total = sum(weights[k][1] for k in WEIGHT_KEYS)
        for mode, target in (('dmw', len(WEIGHT_KEYS) - 1),
                             ('independent', 1)):
            if np.all(np.abs(total - target) < SUM_TOL):
                return mode
    return None


def plot_learning_paces(path: str,
                        out_file: str = 'learning_paces.png',
                        smooth: int = 1,
                        log_y: bool = False,
                        title: Optional[str] = None) -> str:
    """Draw the learning paces of a run to a PNG.

    Args:
        path (str): Work dir, run dir or ``scalars.json``.
        out_file (str): Image to write. Defaults to 'learning_paces.png'.
        smooth (int): Moving-average window in logged points (each is
            ``LoggerHook.interval`` iterations); 1 plots them raw.
            Defaults to 1.
        log_y (bool): Log scale for the losses. Defaults to False.
        title (str, optional): Figure title. Defaults to the scalars file,
            relative to the current directory when it lies below it (a
            picture for the docs should not show a machine's paths).

    Returns:
        str: ``out_file``.

    Raises:
        KeyError: The file logs none of the task losses and weights; the
            message lists the keys it has.
    """
    scalars = find_scalars(path)
    records = load_scalars(scalars)
    losses = extract_series(records, TASK_KEYS)
    weights = extract_series(records, WEIGHT_KEYS)
    if not losses and not weights:
        found = sorted({k for r in records for k in r})
        raise KeyError(
            f'{scalars} logs none of {TASK_KEYS + WEIGHT_KEYS} (it has: '
            f'{", ".join(found) or "nothing"}). They are logged by '
            "ChainedTracker.loss with its DMWLoss (model.type='ChainedTracker'"
            ' in configs/dmw) through the LoggerHook; is this a run of '
            'another model?')
    metrics = extract_series(records, metric_keys(records))
    fig = draw_paces(losses, weights, metrics, weight_mode(scalars, weights),
                     smooth, log_y)
    fig.suptitle(title or _shown_path(scalars), fontsize='small')
    fig.savefig(out_file, dpi=DPI, bbox_inches='tight')
    return out_file


def _shown_path(path: str) -> str:
    """``path`` relative to the current directory if it lies below it."""
    rel = osp.relpath(osp.abspath(path))
    return path if rel.startswith('..') else rel


def draw_paces(losses: Dict[str, Series], weights: Dict[str, Series],
               metrics: Dict[str, Series], mode: Optional[str], smooth: int,
               log_y: bool) -> Figure:
    """The figure: losses, weights and, when logged, val metrics."""
    num_panels = 3 if metrics else 2
    fig = Figure(figsize=(FIGSIZE_PER_PANEL[0],
                          FIGSIZE_PER_PANEL[1] * num_panels),
                 layout='constrained')  # leaves room for the suptitle
    ax_loss = fig.add_subplot(num_panels, 1, 1)
    ax_weight = fig.add_subplot(num_panels, 1, 2, sharex=ax_loss)
    _plot_series(ax_loss, losses, smooth, 'task loss')
    if log_y:
        ax_loss.set_yscale('log')
    _plot_series(ax_weight, weights, smooth, 'weight')
    ax_weight.set_xlabel('iteration')
    reference, ref_label, note = MODE_REFERENCES.get(mode, (None, '', ''))
    if reference is not None:
        ax_weight.axhline(reference, label=ref_label, **REF_STYLE)
        ax_weight.legend(loc='best', fontsize='small')
    ax_weight.set_title(f'weights, mode {mode or "unknown"}: {note}'.rstrip(
        ': '), fontsize='medium')
    ax_loss.set_title('task losses' + (f' (moving average of {smooth})'
                                       if smooth > 1 else ''),
                      fontsize='medium')
    if metrics:
        ax_val = fig.add_subplot(num_panels, 1, 3)
        for key, (epochs, values) in metrics.items():
            ax_val.plot(epochs, values, marker='o',
                        label=key.rsplit('/', 1)[-1])
        ax_val.set_xlabel('epoch')
        ax_val.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_val.set_ylabel('val metric')
        ax_val.legend(loc='best', fontsize='small')
        ax_val.grid(alpha=0.3)
    return fig


def _plot_series(ax: Axes, series: Dict[str, Series], smooth: int,
                 ylabel: str) -> None:
    """Raw values faint, the moving average on top."""
    for key, (steps, values) in series.items():
        colour = COLOURS.get(key)
        if smooth > 1:
            ax.plot(steps, values, color=colour, alpha=0.25, linewidth=0.8)
        ax.plot(steps, moving_average(values, smooth), color=colour,
                label=LABELS.get(key, key))
    if not series:
        ax.text(0.5, 0.5, 'not logged', ha='center', va='center',
                transform=ax.transAxes)
    else:
        ax.legend(loc='best', fontsize='small')
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
