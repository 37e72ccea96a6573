"""Tracking quality: chaining vs ByteTracker, SORT, OC-SORT; real and crowds.

Two families of node pairs (a pair of boxes of one person in frames t-1 and
t, a person score; what the network predicts), built from ground truth, so
the trackers are compared without a network:

1. TUD-Campus (MOT15, 71 frames, 8 people; read in place, the family is
   skipped with a message without the data): ``gt_pairs_per_frame`` at 7
   noise levels (both boxes jittered independently, some dropped, false ones
   added), with true nodes' scores in [0.5, 1] (ByteTrack's high-score
   threshold 0.6 sends a fifth of them to its second stage) or in [0.7, 1]
   (a confident detector).
2. Crowd (``simulate_crowd_gt``: 150 frames, 8-12 groups of 1-4 people
   walking side by side, crossing, hiding one another for many frames,
   entering and leaving; a new scene per seed): people less than 30% visible
   give no node and a node's score is multiplied by its visibility; the two
   boxes of a pair share part of their error (correlation ``pair corr``, as
   one network output predicts both) or not.

Every row runs 10 seeds; the same nodes go through our ChainTracker
(default), the frozen pre-issue-10 tracker (``before (legacy)``,
``benchmarks/_legacy_chain_tracker.py``) and mmdet's ByteTracker,
SORTTracker and OCSORTTracker (given the frame t box of each pair, as a
detector gives it; each with the tracker settings of mmdet's MOT17 config).
TrackEval scores each run; the tables give the mean over seeds, and ours
minus ByteTracker as mean ± std over seeds.

    python benchmarks/tracking_quality.py [--quick] [--family {all,tud,crowd}]
"""
# _common first: it sets OpenMP's wait policy before torch is loaded.
from _common import TUD_CAMPUS, print_header, print_table

import argparse  # noqa: E402,I100
import configparser
import os
from typing import (Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple)

import numpy as np

from _trackers import LEGACY, build_trackers
from mmdmw.datasets.synthetic_mot import CROWD_IMG_SIZE, simulate_crowd_gt
from mmdmw.evaluation.synthetic_detections import (gt_pairs_per_frame,
                                                   load_mot_txt)
from mmdmw.evaluation.trackeval_utils import (evaluate_mot,
                                              instances_to_mot_rows)

METRICS = ('HOTA', 'MOTA', 'IDF1', 'IDSW')
#: Metrics where ours must be >= ByteTracker (percentages, higher better).
GOALS = ('HOTA', 'MOTA', 'IDF1')
OURS = 'ours'
REFERENCE = 'ByteTracker'
SEEDS = tuple(range(10))
QUICK_SEEDS = (0, )
#: Crowd family: frames per sequence, visibility below which no node is
#: produced.
CROWD_FRAMES = 150
QUICK_CROWD_FRAMES = 40
CROWD_MIN_VISIBILITY = 0.3


class Noise(NamedTuple):
    """Node noise: jitter (fraction of the box size), drop probability,
    mean false nodes per frame, lowest true-node score (highest: 1),
    correlation of a pair's two box errors, mean frames a false node lasts
    (1: drawn anew in every frame; more: they persist, 85% of them on a
    person, as a trained network's do)."""
    jitter: float
    drop: float
    false_per_frame: float
    min_score: float
    pair_corr: float = 0.0
    false_life: float = 1.0

    def false_cell(self) -> str:
        """The false/frame column: ``2``, or ``2, last 3`` when they
        persist."""
        if self.false_life == 1 or not self.false_per_frame:
            return f'{self.false_per_frame:g}'
        return f'{self.false_per_frame:g}, last {self.false_life:g}'


#: TUD-Campus: one factor at a time around (0.05, 0.1, 0), then everything
#: at once; all with both true-score ranges.
NOISE_LEVELS = ((0.02, 0.1, 0), (0.05, 0.1, 0), (0.10, 0.1, 0),
                (0.05, 0.0, 0), (0.05, 0.2, 0), (0.05, 0.1, 2),
                (0.10, 0.2, 2))
MIN_SCORES = (0.5, 0.7)
#: Mean frames a persistent false node lasts, as measured on a trained
#: network (``network_false_nodes.py``: mean false chain 2.2-2.3 frames).
FALSE_LIFE = 2.3
#: The rows with false nodes again, with false nodes that persist.
PERSISTENT_LEVELS = ((0.05, 0.1, 2), (0.10, 0.2, 2))
#: The crowd's: as many false nodes as a network trained on rendered crowds
#: gave (about 0.4 per visible person and frame at score >= 0.2; these
#: scenes hold about 8.5 visible people, and a fifth of the generator's false
#: scores lie under 0.2), hence 4 a frame.
CROWD_PERSISTENT_LEVELS = ((0.05, 0.1, 4), (0.10, 0.2, 4))
TUD_CONDITIONS = tuple(
    Noise(*level, low) for low in MIN_SCORES for level in NOISE_LEVELS) + \
    tuple(Noise(*level, low, false_life=FALSE_LIFE) for low in MIN_SCORES
          for level in PERSISTENT_LEVELS)
#: Crowd: independent and correlated pair errors, then one factor at a time
#: (correlated), then everything at once.
CROWD_CONDITIONS = (
    Noise(0.05, 0.1, 0, 0.7, 0.0), Noise(0.05, 0.1, 0, 0.7, 0.6),
    Noise(0.10, 0.1, 0, 0.7, 0.6), Noise(0.05, 0.2, 0, 0.7, 0.6),
    Noise(0.05, 0.1, 2, 0.7, 0.6), Noise(0.05, 0.1, 0, 0.5, 0.6),
    Noise(0.10, 0.2, 2, 0.7, 0.0), Noise(0.10, 0.2, 2, 0.7, 0.6)) + tuple(
        Noise(*level, 0.7, 0.6, FALSE_LIFE)
        for level in CROWD_PERSISTENT_LEVELS)
QUICK_TUD_CONDITIONS = (Noise(0.05, 0.1, 0, 0.5), )
QUICK_CROWD_CONDITIONS = (Noise(0.05, 0.1, 1, 0.7, 0.6), )

#: A sequence: (ground-truth rows, number of frames, per-frame nodes).
Sequence_ = Tuple[np.ndarray, int, List[dict]]
#: Per tracker, per metric: the values over seeds.
PerSeed = Dict[str, Dict[str, List[float]]]


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


def tud_sequence(gt: np.ndarray, info: Dict[str, int],
                 noise: Noise) -> Callable[[int], Sequence_]:
    """Seed -> TUD-Campus nodes at one noise level."""

    def make(seed: int) -> Sequence_:
        frames = gt_pairs_per_frame(
            gt, jitter=noise.jitter, drop=noise.drop,
            false_per_frame=noise.false_per_frame, seed=seed,
            true_score_range=(noise.min_score, 1.0),
            num_frames=info['length'],
            img_wh=(info['width'], info['height']),
            pair_correlation=noise.pair_corr,
            false_lifetime=noise.false_life)
        return gt, info['length'], frames

    return make


def crowd_sequence(noise: Noise,
                   num_frames: int) -> Callable[[int], Sequence_]:
    """Seed -> a crowd scene (its own per seed) and its nodes."""

    def make(seed: int) -> Sequence_:
        gt = simulate_crowd_gt(seed, num_frames=num_frames)
        frames = gt_pairs_per_frame(
            gt, jitter=noise.jitter, drop=noise.drop,
            false_per_frame=noise.false_per_frame, seed=seed,
            true_score_range=(noise.min_score, 1.0),
            num_frames=num_frames, img_wh=CROWD_IMG_SIZE,
            pair_correlation=noise.pair_corr,
            min_visibility=CROWD_MIN_VISIBILITY, score_by_visibility=True,
            false_lifetime=noise.false_life)
        return gt, num_frames, frames

    return make


def score_condition(make: Callable[[int], Sequence_],
                    seeds: Sequence[int],
                    chain_variants: Optional[Dict[str, dict]] = None,
                    with_mmdet: bool = True,
                    with_legacy: bool = True,
                    metrics: Sequence[str] = METRICS,
                    crowd: bool = False) -> PerSeed:
    """Every tracker's ``metrics`` on every seed of one condition; with
    ``crowd``, each tracker with its settings for crowds (MOT20 configs)."""
    out: PerSeed = {}
    for seed in seeds:
        gt, length, frames = make(seed)
        steps = build_trackers(chain_variants or {OURS: {}},
                               with_mmdet=with_mmdet, with_legacy=with_legacy,
                               crowd=crowd)
        for name, step in steps.items():
            scores = evaluate_mot(gt, run_tracker(step, frames), length)
            per_metric = out.setdefault(name, {m: [] for m in metrics})
            for metric in metrics:
                per_metric[metric].append(scores[metric])
    return out


def report(title: str, condition_cols: List[str], conditions: Sequence[Noise],
           make: Callable[[Noise], Callable[[int], Sequence_]],
           seeds: Sequence[int], crowd: bool = False) -> None:
    """Score every condition of a family; print the two tables."""
    rows, delta_rows = [], []
    for noise in conditions:
        res = score_condition(make(noise), seeds, crowd=crowd)
        cells = [*noise[:2], noise.false_cell(), f'[{noise.min_score}, 1]']
        if 'pair corr' in condition_cols:
            cells.append(noise.pair_corr)
        rows.append(cells + [
            ' / '.join(f'{np.mean(per[m]):.1f}' for m in METRICS)
            for per in res.values()
        ])
        ours, ref, old = res[OURS], res[REFERENCE], res[LEGACY]
        deltas = []
        for m in METRICS:
            diff = np.subtract(ours[m], ref[m])
            deltas.append(f'{diff.mean():+.1f} ± {diff.std():.1f}')
        for peer in (ref, old):
            wins = all(np.mean(ours[m]) >= np.mean(peer[m]) for m in GOALS)
            deltas.append('yes' if wins else 'no')
        deltas += [f'{np.mean(old[m]) - np.mean(ref[m]):+.1f}'
                   for m in GOALS]
        delta_rows.append(cells + deltas)
    print_table(condition_cols + list(res), rows,
                caption=f'{title}: {" / ".join(METRICS)}, mean over seeds '
                f'{list(seeds)} (HOTA, MOTA, IDF1 in %, IDSW a count; '
                'TrackEval)')
    print_table(condition_cols + [
        f'ours − Byte: {m}' for m in METRICS
    ] + ['ours ≥ Byte (H, M, I)', 'ours ≥ before (H, M, I)'] + [
        f'before − Byte: {m}' for m in GOALS],
        delta_rows, caption=f'{title}: ours minus {REFERENCE}, mean ± std '
        'over seeds (positive HOTA / MOTA / IDF1 and negative IDSW favour '
        'chaining), and the legacy tracker minus ByteTracker (means)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny sizes, seconds; checks the script runs, not the numbers')
    parser.add_argument(
        '--family', choices=('all', 'tud', 'crowd'), default='all',
        help='run one family only (e.g. the two in parallel jobs)')
    args = parser.parse_args()
    print_header('tracking_quality: TUD-Campus and crowd node pairs',
                 args.quick)
    seeds = QUICK_SEEDS if args.quick else SEEDS
    gt_file = os.path.join(TUD_CAMPUS, 'gt', 'gt.txt')
    if args.family == 'crowd':
        pass
    elif os.path.isfile(gt_file):
        gt, info = load_mot_txt(gt_file), sequence_info(TUD_CAMPUS)
        report('TUD-Campus', ['jitter', 'drop', 'false/frame', 'true scores'],
               QUICK_TUD_CONDITIONS if args.quick else TUD_CONDITIONS,
               lambda noise: tud_sequence(gt, info, noise), seeds)
    else:
        print(f'skipped: {gt_file} is not on this machine')
    if args.family == 'tud':
        return
    frames = QUICK_CROWD_FRAMES if args.quick else CROWD_FRAMES
    report('Crowd (synthetic; every tracker with its MOT20 settings)',
           ['jitter', 'drop', 'false/frame', 'true scores', 'pair corr'],
           QUICK_CROWD_CONDITIONS if args.quick else CROWD_CONDITIONS,
           lambda noise: crowd_sequence(noise, frames), seeds, crowd=True)


if __name__ == '__main__':
    main()
