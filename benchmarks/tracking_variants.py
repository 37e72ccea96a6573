"""ChainTracker variants side by side, and how the annotated boxes move.

A probe for design questions of the tracker (BENCHMARKS §4): the same nodes
as ``tracking_quality.py`` go through ``ChainTracker`` with the default
settings (``ours``), through named variants (any constructor arguments, as
JSON) and through the frozen legacy tracker; TrackEval scores each, HOTA's
parts (DetA, AssA, LocA) included.

``--annotation-motion`` prints instead how fast the ground-truth boxes change
from frame to frame: per coordinate (cx, cy, w, h) the robust std of the
per-frame acceleration, ``sqrt(2) * 1.4826 * median|d|`` with ``d = z_t -
2 z_(t-1) + z_(t-2)`` over three consecutive frames of one person, as a
fraction of the box's width (cx, w) or height (cy, h). Under the filter's
white-acceleration model ``var(d) = q / 2``, so this is the ``sqrt(q)`` that
``motion_noise`` (centre) and ``size_noise`` (size) assume.

    python benchmarks/tracking_variants.py \\
        --variants '{"raw": {"output_filtered": false}}' \\
        --rows 0.02,0.1,0,0.5 0.05,0.1,2,0.5 [--family tud] [--seeds 3]
    python benchmarks/tracking_variants.py --annotation-motion
"""
# _common first: it sets OpenMP's wait policy before torch is loaded.
from _common import TUD_CAMPUS, print_header, print_table

import argparse  # noqa: E402,I100
import json
import os
from typing import Dict, List, Sequence

import numpy as np

from mmdmw.datasets.synthetic_mot import simulate_crowd_gt
from mmdmw.evaluation.synthetic_detections import load_mot_txt
from tracking_quality import (CROWD_FRAMES, OURS, Noise, crowd_sequence,
                              score_condition, sequence_info, tud_sequence)

METRICS = ('HOTA', 'DetA', 'AssA', 'LocA', 'MOTA', 'IDF1', 'IDSW')
COORDS = ('cx', 'cy', 'w', 'h')


def annotation_acceleration(gt: np.ndarray) -> Dict[str, float]:
    """Robust per-frame acceleration std of annotated boxes (see module doc).

    Args:
        gt (np.ndarray): MOTChallenge rows ``frame, id, x, y, w, h, ...``.

    Returns:
        dict[str, float]: per coordinate, a fraction of the box size; NaN
        without three consecutive frames of one person.
    """
    diffs: List[np.ndarray] = []
    for pid in np.unique(gt[:, 1]):
        rows = gt[gt[:, 1] == pid]
        rows = rows[np.argsort(rows[:, 0])]
        x, y, w, h = rows[:, 2:6].T
        boxes = np.stack([x + w / 2, y + h / 2, w, h], axis=1)  # (N, 4)
        frames = rows[:, 0]
        run = (np.diff(frames[:-1]) == 1) & (np.diff(frames[1:]) == 1)
        if not run.any():
            continue
        d = boxes[2:] - 2 * boxes[1:-1] + boxes[:-2]  # (N-2, 4)
        size = boxes[1:-1, [2, 3, 2, 3]]
        diffs.append((d / size)[run])
    if not diffs:
        return {c: float('nan') for c in COORDS}
    d = np.concatenate(diffs)
    robust = np.sqrt(2) * 1.4826 * np.median(np.abs(d), axis=0)
    return dict(zip(COORDS, robust.tolist()))


def parse_row(text: str) -> Noise:
    """``jitter,drop,false_per_frame,min_score[,pair_corr[,false_life]]``
    -> Noise."""
    values = [float(v) for v in text.split(',')]
    if len(values) not in (4, 5, 6):
        raise argparse.ArgumentTypeError(
            'a row is jitter,drop,false_per_frame,min_score[,pair_corr'
            f'[,false_life]]; got {text!r}')
    return Noise(*values)


def score_variants(make, seeds: Sequence[int], variants: Dict[str, dict],
                   crowd: bool = False) -> Dict[str, Dict[str, float]]:
    """Mean over seeds of every metric, per tracker (with ``crowd``, ours
    and its variants start from the MOT20 config's tracker settings)."""
    per_seed = score_condition(make, seeds, {OURS: {}, **variants},
                               with_mmdet=False, metrics=METRICS,
                               crowd=crowd)
    return {name: {m: float(np.mean(v)) for m, v in metrics.items()}
            for name, metrics in per_seed.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--variants', type=json.loads, default={},
                        help='JSON: name -> ChainTracker arguments')
    parser.add_argument('--rows', nargs='+', type=parse_row,
                        default=[Noise(0.02, 0.1, 0, 0.5)])
    parser.add_argument('--family', choices=('tud', 'crowd'), default='tud')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--crowd-frames', type=int, default=CROWD_FRAMES)
    parser.add_argument('--annotation-motion', action='store_true')
    args = parser.parse_args()
    print_header('tracking_variants: ChainTracker variants', False)
    gt_file = os.path.join(TUD_CAMPUS, 'gt', 'gt.txt')
    have_tud = os.path.isfile(gt_file)
    if args.annotation_motion:
        sources = {f'crowd seed {s}': simulate_crowd_gt(s, CROWD_FRAMES)
                   for s in range(3)}
        if have_tud:
            sources = {'TUD-Campus': load_mot_txt(gt_file), **sources}
        print_table(['annotations', *COORDS], [
            [name, *(f'{v:.3f}' for v in annotation_acceleration(g).values())]
            for name, g in sources.items()
        ], caption='Per-frame acceleration of the annotated boxes (robust '
                   'std, fraction of the box size)')
        return
    if args.family == 'tud' and not have_tud:
        raise SystemExit(f'{gt_file} is not on this machine; use '
                         '--family crowd')
    if args.family == 'tud':
        gt, info = load_mot_txt(gt_file), sequence_info(TUD_CAMPUS)
    print(f'variants: {json.dumps(args.variants)}\n')
    for noise in args.rows:
        make = (tud_sequence(gt, info, noise) if args.family == 'tud' else
                crowd_sequence(noise, args.crowd_frames))
        means = score_variants(make, range(args.seeds), args.variants,
                               crowd=args.family == 'crowd')
        print_table(['tracker', *METRICS], [
            [name, *(f'{m[k]:.1f}' for k in METRICS)]
            for name, m in means.items()
        ], caption=f'{args.family} {noise._asdict()}, mean over seeds '
                   f'0-{args.seeds - 1}')


if __name__ == '__main__':
    main()
