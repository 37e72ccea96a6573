"""Plot HOTA and its sub-metrics over TrackEval's localisation thresholds
alpha, as the paper's Fig. 3.

The numbers come from ``hota_alpha.json``, which :class:`MOTTableMetric`
writes after scoring (``WORK_DIR/<timestamp>/hota_alpha.json`` of a
``tools/test.py`` run): for each alpha in 0.05, 0.10, ..., 0.95 a box matches
a ground-truth box when their IoU >= alpha. HOTA is the geometric mean of
DetA and AssA at each alpha; the reported HOTA is its mean over alpha.
"""
import glob
import json
import os.path as osp
from typing import Dict, Optional

import numpy as np
# Figure without pyplot renders with Agg and leaves the user's backend alone.
from matplotlib.figure import Figure

from mmdmw.evaluation.metrics.mot_table_metric import (ALPHA_FIELDS,
                                                       HOTA_ALPHA_FILE)

# The paper's Fig. 3: solid headline metrics, dashed recall, dotted precision.
STYLES = {
    'HOTA': dict(color='k', linestyle='-', linewidth=2.2),
    'DetA': dict(color='C0', linestyle='-'),
    'AssA': dict(color='C3', linestyle='-'),
    'DetRe': dict(color='C0', linestyle='--'),
    'DetPr': dict(color='C0', linestyle=':'),
    'AssRe': dict(color='C3', linestyle='--'),
    'AssPr': dict(color='C3', linestyle=':'),
    'LocA': dict(color='C2', linestyle='-.'),
}
FIGSIZE = (6.4, 4.4)  # inches
DPI = 120


def find_hota_alpha(path: str) -> str:
    """``hota_alpha.json`` of ``path``: the file itself, the one in a run
    dir, or in a work dir the latest run's (timestamp folders sort by
    time)."""
    if osp.isfile(path):
        return path
    for pattern in (HOTA_ALPHA_FILE, osp.join('*', HOTA_ALPHA_FILE)):
        found = sorted(glob.glob(osp.join(path, pattern)))
        if found:
            return found[-1]
    raise FileNotFoundError(
        f'no {HOTA_ALPHA_FILE} under {path}; give the work dir of a finished '
        'tools/test.py CONFIG CKPT --eval track --work-dir WORK_DIR run '
        f'(WORK_DIR/<timestamp>/{HOTA_ALPHA_FILE}) or the file itself')


def plot_hota_alpha(path: str,
                    out: str,
                    sequence: Optional[str] = None,
                    title: Optional[str] = None) -> str:
    """Draw HOTA, DetA, AssA, DetRe, DetPr, AssRe, AssPr and LocA (in %)
    against alpha, the mean over alpha in the legend.

    Args:
        path (str): Work dir, run dir or ``hota_alpha.json``.
        out (str): The PNG to write.
        sequence (str, optional): One sequence instead of all combined.
        title (str, optional): Figure title. Defaults to the source file.

    Returns:
        str: ``out``.
    """
    src = find_hota_alpha(path)
    with open(src) as f:
        data = json.load(f)
    if sequence is None:
        curves: Dict[str, list] = data['combined']
    elif sequence in data['sequences']:
        curves = data['sequences'][sequence]
    else:
        raise KeyError(f'sequence {sequence!r} not in {src}; it has '
                       f'{", ".join(sorted(data["sequences"]))}')
    alpha = np.asarray(data['alpha'])
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    for field in ALPHA_FIELDS:
        values = 100 * np.asarray(curves[field])
        ax.plot(alpha, values, label=f'{field} ({values.mean():.1f})',
                **STYLES[field])
    ax.set_xlabel(r'localisation threshold $\alpha$ (IoU)')
    ax.set_ylabel('score (%)')
    ax.set_xlim(alpha[0], alpha[-1])
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc='lower left', fontsize='small', ncol=2,
              title='mean over $\\alpha$')
    ax.set_title(title or (sequence or 'all sequences'), fontsize='medium')
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    return out
