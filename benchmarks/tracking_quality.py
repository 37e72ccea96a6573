"""Tracking quality on a real sequence: chaining vs ByteTracker / SORTTracker.

TUD-Campus (MOT15, 71 frames, 8 people) ground truth turned into node pairs
(``gt_pairs_per_frame``: both boxes jittered, some dropped, false ones
added) at several noise levels, with true nodes' scores drawn from [0.5, 1]
(the helper's default; ByteTrack's high-score threshold, 0.6, sends a fifth
of them to its second stage) or from [0.7, 1] (a confident detector: every
true node clears all score thresholds). The same nodes go through our
ChainTracker (default, and with ``motion_iou_weight=0.5``) and mmdet's
ByteTracker and SORTTracker (given the first box of each pair, the box in the
current frame). TrackEval scores each run (HOTA, MOTA, IDF1, IDSW); the
tables give the mean over seeds. Skipped, with a message, without the data.

    python benchmarks/tracking_quality.py [--quick]
"""
# _common first: it sets OpenMP's wait policy before torch is loaded.
from _common import TUD_CAMPUS, parse_args, print_header, print_table

import configparser  # noqa: E402,I100
import os
from typing import Dict, List, NamedTuple, Sequence

import numpy as np

from _trackers import build_trackers
from mmdmw.evaluation.synthetic_detections import (gt_pairs_per_frame,
                                                   load_mot_txt)
from mmdmw.evaluation.trackeval_utils import (evaluate_mot,
                                              instances_to_mot_rows)

METRICS = ('HOTA', 'MOTA', 'IDF1', 'IDSW')
#: Our tracker's variants (name -> ChainTracker arguments).
CHAIN_VARIANTS = {'ours': {}, 'ours, motion 0.5': dict(motion_iou_weight=0.5)}
REFERENCE = 'ByteTracker'
SEEDS = (0, 1, 2)
QUICK_SEEDS = (0, )


class Noise(NamedTuple):
    """Node noise: jitter (fraction of the box size), drop probability,
    mean false nodes per frame, lowest true-node score (highest: 1)."""
    jitter: float
    drop: float
    false_per_frame: float
    min_score: float


#: One factor at a time around (0.05, 0.1, 0), then everything at once;
#: all with both true-score ranges.
NOISE_LEVELS = ((0.02, 0.1, 0), (0.05, 0.1, 0), (0.10, 0.1, 0),
                (0.05, 0.0, 0), (0.05, 0.2, 0), (0.05, 0.1, 2),
                (0.10, 0.2, 2))
MIN_SCORES = (0.5, 0.7)
CONDITIONS = tuple(
    Noise(*level, low) for low in MIN_SCORES for level in NOISE_LEVELS)
QUICK_CONDITIONS = (Noise(0.05, 0.1, 0, 0.5), )


def sequence_info(seq_dir: str) -> Dict[str, int]:
    """Length and image size from ``seqinfo.ini``."""
    parser = configparser.ConfigParser()
    parser.read(os.path.join(seq_dir, 'seqinfo.ini'))
    info = parser['Sequence']
    return dict(length=int(info['seqLength']), width=int(info['imWidth']),
                height=int(info['imHeight']))


def run_tracker(step, frames: List[dict]) -> np.ndarray:
    """Track a sequence frame by frame; (P, 10) MOTChallenge result rows."""
    rows = []
    for frame_id, nodes in enumerate(frames):
        res = step(nodes, frame_id)
        rows.append(instances_to_mot_rows(frame_id + 1, res.bboxes,
                                          res.scores, res.instances_id))
    return np.concatenate(rows)


def score_condition(gt: np.ndarray, info: Dict[str, int], noise: Noise,
                    seeds: Sequence[int]) -> Dict[str, Dict[str, float]]:
    """Mean metrics over seeds of every tracker on one noise level."""
    sums: Dict[str, Dict[str, float]] = {}
    for seed in seeds:
        frames = gt_pairs_per_frame(
            gt, jitter=noise.jitter, drop=noise.drop,
            false_per_frame=noise.false_per_frame, seed=seed,
            true_score_range=(noise.min_score, 1.0),
            num_frames=info['length'],
            img_wh=(info['width'], info['height']))
        for name, step in build_trackers(CHAIN_VARIANTS).items():
            scores = evaluate_mot(gt, run_tracker(step, frames),
                                  info['length'])
            total = sums.setdefault(name, dict.fromkeys(METRICS, 0.0))
            for metric in METRICS:
                total[metric] += scores[metric]
    return {name: {m: v / len(seeds) for m, v in total.items()}
            for name, total in sums.items()}


def main() -> None:
    args = parse_args(__doc__.split('\n')[0])
    print_header('tracking_quality: TUD-Campus, GT-derived node pairs',
                 args.quick)
    gt_file = os.path.join(TUD_CAMPUS, 'gt', 'gt.txt')
    if not os.path.isfile(gt_file):
        print(f'skipped: {gt_file} is not on this machine')
        return
    gt, info = load_mot_txt(gt_file), sequence_info(TUD_CAMPUS)
    seeds = QUICK_SEEDS if args.quick else SEEDS
    conditions = QUICK_CONDITIONS if args.quick else CONDITIONS
    rows, delta_rows = [], []
    for noise in conditions:
        results = score_condition(gt, info, noise, seeds)
        condition = [*noise[:3], f'[{noise.min_score}, 1]']
        rows.append(condition + [
            ' / '.join(f'{scores[m]:.1f}' for m in METRICS)
            for scores in results.values()
        ])
        ref = results[REFERENCE]
        delta_rows.append(condition + [
            f'{results[name][m] - ref[m]:+.1f}' for name in CHAIN_VARIANTS
            for m in METRICS
        ])
    condition_cols = ['jitter', 'drop', 'false/frame', 'true scores']
    print_table(condition_cols + list(results), rows,
                caption=f'{" / ".join(METRICS)}, mean over seeds '
                f'{list(seeds)} (HOTA, MOTA, IDF1 in %, IDSW a count; '
                'TrackEval)')
    print_table(condition_cols + [
        f'{name}: {m}' for name in CHAIN_VARIANTS for m in METRICS
    ], delta_rows, caption=f'Ours minus {REFERENCE} (positive HOTA / MOTA '
        '/ IDF1 and negative IDSW favour chaining)')


if __name__ == '__main__':
    main()
