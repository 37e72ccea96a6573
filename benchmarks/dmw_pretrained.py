"""Does DMW help once the backbone is pretrained? The paper's ablations with
the ImageNet MobileNetV2 backbone, several seeds, paired statistics.

    python benchmarks/dmw_pretrained.py [--jobs 2] [--epochs E]   # the study
    python benchmarks/dmw_pretrained.py --report [--epochs E]     # the tables
        (both loss scales and the two side by side; with --results-dir,
        that folder's tables only)
    python benchmarks/dmw_pretrained.py --quick                   # smoke run

``--loss-normalization`` chooses the head's loss scale (``ctracker``, the
default and the paper's base code, or ``mmdet``): each scale has its own plan
of rows and seeds (:data:`PLANS`) and its own results folder
(:data:`RESULTS_DIRS`); every JSON records the scale and the commit it ran
on.

Every finished run writes one small JSON to ``--results-dir`` (default
``benchmarks/results/dmw_pretrained/``): the final val HOTA / DetA / AssA /
MOTA / IDF1 / IDSW, the accuracy of each half of the box pairs
(:func:`mmdmw.evaluation.evaluate_pair_halves`), the val HOTA per validated
epoch, the mean weights and gradient shares (``GradientShareHook``) over the
second half of training and the wall time. A rerun skips the runs whose JSON
exists, so the study can be stopped and continued; ``--report`` rebuilds the
tables from whatever JSONs there are.

Rows: Table III's four (baseline, + PSO, + DMW, + PSO + DMW), Table IV's DMW
without correlation, Table I's fixed (1, 0.5, 1.5), uncertainty weighting and
``dmw_normalized`` (ours, see :class:`DMWLoss`). Runs are ordered so that the
rows that answer the question - fixed (1, 1, 1), DMW and the variant, all with
PSO as the configs ship - finish their seeds first, interleaved by seed.
Each row is compared with the fixed (1, 1, 1) row of the same PSO setting,
seed by seed (same seed, same data order and initialisation of the head),
with a bootstrap 95% interval of the mean paired difference.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from _study import (CI, code_version, finished_stamp, load_results,
                    mean_std, paired_cell, result_path, run_all, run_order,
                    threads_per_job, write_result)
from _tools import ROOT, ensure_synthetic_data, run, weighting_options

CONFIG = 'configs/dmw/retina_dmw_mobilenetv2-imagenet_1xb4-24e_synthetic.py'
WEIGHTS = 'checkpoints/mobilenetv2_imagenet_mmdet.pth'
#: One folder of run JSONs per loss scale (``model.head.loss_normalization``).
RESULTS_DIRS = dict(
    mmdet=osp.join('benchmarks', 'results', 'dmw_pretrained'),
    ctracker=osp.join('benchmarks', 'results', 'dmw_pretrained_ctracker'))
#: DMW's mean weights (alpha, beta, gamma) in the mmdet-scale study, + PSO,
#: 5 seeds, second half of training (the ``weights`` of
#: ``benchmarks/results/dmw_pretrained/pso_dmw_e16_seed*.json``).
DMW_MEAN_WEIGHTS_MMDET = (0.9586, 0.055, 0.9864)
#: Chosen from one fixed (1, 1, 1) run validated every epoch (BENCHMARKS.md
#: §5): noisy and rising at lr 1e-3, flat within ±2 HOTA over the last four
#: epochs after the drop at epoch 12 (milestones at 75% and 90%).
DEFAULT_EPOCHS = 16
DEFAULT_VAL_INTERVAL = 4
GRAD_SHARE_INTERVAL = 10  # iterations between gradient-share measurements
#: The config's (W, H) and the study's shrink factor of images and anchors:
#: 320x192 -> 213x128, 2.25 times fewer pixels (BENCHMARKS.md §5, what was
#: cut). The synthetic people scale with the image.
BASE_IMG_SCALE = (320, 192)
IMG_SCALE = 2 / 3
METRICS = ('HOTA', 'DetA', 'AssA', 'MOTA', 'IDF1', 'IDSW')
PAIRED = ('HOTA', 'DetA', 'AssA', 'IDSW', 'first_iou', 'second_iou')
SECOND_HALF = 0.5  # weights and shares are averaged from here to the end


class Row(NamedTuple):
    """One row of the study: how the head and the loss weighting are set."""
    key: str
    table: str
    name: str
    pso: bool
    mode: str
    weights: Optional[Tuple[float, float, float]]
    reference: str  # key of the row it is compared with, seed by seed


ROWS = (
    Row('baseline', 'III', 'baseline (1, 1, 1)', False, 'fixed',
        (1., 1., 1.), 'baseline'),
    Row('pso', 'III', '+ PSO [fixed (1, 1, 1)]', True, 'fixed', (1., 1., 1.),
        'baseline'),  # Table III's PSO row: against the baseline
    Row('dmw', 'III', '+ DMW', False, 'dmw', None, 'baseline'),
    Row('pso_dmw', 'III', '+ PSO + DMW', True, 'dmw', None, 'pso'),
    Row('independent', 'IV', 'DMW without correlation', True, 'independent',
        None, 'pso'),
    Row('fixed_1_05_15', 'I', 'fixed (1, 0.5, 1.5)', True, 'fixed',
        (1., 0.5, 1.5), 'pso'),
    Row('uncertainty', '—', 'uncertainty (Kendall)', True, 'uncertainty',
        None, 'pso'),
    Row('dmw_normalized', 'ours', 'DMW on EMA-normalised losses', True,
        'dmw_normalized', None, 'pso'),
    # DMW's mean weights held fixed: is DMW's effect its average weights or
    # its per-sample reweighting? Compared with + PSO + DMW, seed by seed.
    Row('fixed_dmw_mean', 'ours', "fixed at DMW's mean weights", True,
        'fixed', DMW_MEAN_WEIGHTS_MMDET, 'pso_dmw'),
)
ROW_BY_KEY = {r.key: r for r in ROWS}
#: Seeds per row at each loss scale; a row missing from a plan is not run at
#: that scale. mmdet: BENCHMARKS.md §5.2, plus the fixed row at DMW's mean
#: weights, which exist at that scale only. ctracker: issue 17's plan.
PLANS = dict(
    mmdet=dict(baseline=3, pso=5, dmw=3, pso_dmw=5, independent=3,
               fixed_1_05_15=3, uncertainty=3, dmw_normalized=5,
               fixed_dmw_mean=3),
    ctracker=dict(pso=5, pso_dmw=5, baseline=3, dmw=3, independent=3,
                  dmw_normalized=3))
#: Rows whose seeds run first, interleaved by seed.
FIRST = ('pso', 'pso_dmw')


# ------------------------------------------------------------- one run
def study_config(work_root: str, grad_interval: int,
                 scale: float = IMG_SCALE) -> str:
    """CONFIG for the study, written to ``work_root``: images and anchors
    shrunk by ``scale`` (the cost of a run on 2 shared cores), and the
    gradient-share hook added (list values such as custom_hooks cannot be
    given by --cfg-options)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    base_w, base_h = BASE_IMG_SCALE
    img_scale = (round(base_w * scale), round(base_h * scale))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in walk_pipeline(cfg[loader].dataset.pipeline):
            if step['type'] in ('Resize', 'RandomResize'):
                step['scale'] = img_scale
            elif step['type'] == 'RandomCrop':
                step['crop_size'] = img_scale  # (w, h)
    anchors = cfg.model.head.anchor_generator
    anchors.base_sizes = [round(b * scale) for b in anchors.base_sizes]
    cfg.custom_hooks = [dict(type='GradientShareHook',
                             interval=grad_interval)]
    path = osp.join(work_root, 'study_config.py')
    os.makedirs(work_root, exist_ok=True)
    cfg.dump(path)
    return path


def walk_pipeline(steps: List[dict]):
    """Every transform dict of a pipeline, inside broadcasters too."""
    for step in steps:
        yield step
        yield from walk_pipeline(step.get('transforms', []))


def cfg_options(row: Row, seed: int, epochs: int, val_interval: int,
                data_root: str, normalization: str) -> List[str]:
    """``--cfg-options`` that turn the config into one row of the study at
    one loss scale."""
    return weighting_options(
        row.pso, row.mode, row.weights, seed, epochs, val_interval,
        data_root, normalization) + [
            f'default_hooks.checkpoint.interval={epochs}'
        ]


def read_scalars(work_dir: str) -> List[dict]:
    """Records of the latest run's scalars.json in ``work_dir``."""
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not found:
        raise FileNotFoundError(f'no scalars.json under {work_dir}')
    with open(found[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarise_scalars(records: List[dict]) -> dict:
    """Final val metrics, val HOTA per validated epoch, and the mean weights
    and gradient shares over the second half of training."""
    prefix = 'motchallenge-metric/'
    vals = [r for r in records if prefix + 'HOTA' in r]
    if not vals:
        raise ValueError('the run logged no val metrics')
    final = {m: vals[-1][prefix + m] for m in METRICS}
    curve = [[r['step'], r[prefix + 'HOTA']] for r in vals]
    train = [r for r in records if 'iter' in r or any(
        k.startswith('grad_share/') for k in r)]
    last = max((r['step'] for r in train), default=0)
    late = [r for r in train if r['step'] >= SECOND_HALF * last]

    def late_mean(key: str) -> Optional[float]:
        values = [r[key] for r in late if key in r]
        return float(np.mean(values)) if values else None

    return dict(
        metrics=final,
        val_hota_curve=curve,
        weights={k: late_mean(k) for k in ('alpha', 'beta', 'gamma')},
        task_losses={k: late_mean(f'task_{k}')
                     for k in ('cls', 'reg', 'reid')},
        grad_shares={k: late_mean(f'grad_share/{k}')
                     for k in ('cls', 'reg', 'reid')})


def train_and_score(row: Row, seed: int, args: argparse.Namespace,
                    config: str, threads: int) -> dict:
    """Train one row with one seed, read its val metrics, score the pair
    halves, write the JSON."""
    start = time.time()
    work_dir = osp.join(args.work_root, f'{row.key}_e{args.epochs}_seed{seed}')
    options = cfg_options(row, seed, args.epochs, args.val_interval,
                          args.data_root, args.loss_normalization)
    py = sys.executable
    run([py, 'tools/train.py', config, '--work-dir', work_dir,
         '--cfg-options', *options], work_dir + '_train.log', threads)
    summary = summarise_scalars(read_scalars(work_dir))
    halves_file = work_dir + '_halves.json'
    run([py, 'tools/analysis_tools/eval_pair_halves.py', config,
         osp.join(work_dir, f'epoch_{args.epochs}.pth'), '--out',
         halves_file, '--cfg-options', *options], work_dir + '_halves.log',
        threads)
    with open(halves_file) as f:
        halves = json.load(f)
    result = dict(
        row=row.key, name=row.name, table=row.table, pso=row.pso,
        mode=row.mode, weights_cfg=row.weights, seed=seed,
        epochs=args.epochs, val_interval=args.val_interval, config=CONFIG,
        loss_normalization=args.loss_normalization, commit=args.commit,
        img_scale_factor=args.scale, grad_interval=args.grad_interval,
        cfg_options=[o for o in options if 'data_root' not in o],
        pair_halves=halves, wall_time_s=round(time.time() - start, 1),
        finished=finished_stamp(), **summary)
    write_result(result_path(args.results_dir, row.key, seed, args.epochs),
                 result)
    return result


# --------------------------------------------------------------- report
def value(result: dict, key: str) -> float:
    """A metric or a pair-half IoU of one run."""
    if key in result['metrics']:
        return float(result['metrics'][key])
    return float(result['pair_halves'][key])


def results_table(by_row: Dict[str, List[dict]], plan: Dict[str, int]) -> str:
    """Per row: n seeds done of planned, mean ± std of every metric."""
    lines = [
        '| table | row | PSO | n | HOTA | DetA | AssA | MOTA | IDF1 | IDSW '
        '| IoU 1st box | IoU 2nd box |', '|---|---|---|---|' + '---|' * 8
    ]
    for row in planned_rows(plan):
        runs = by_row.get(row.key, [])
        cells = [mean_std([value(r, m) for r in runs]) for m in METRICS]
        cells += [mean_std([value(r, k) for r in runs], 3)
                  for k in ('first_iou', 'second_iou')]
        lines.append(f'| {row.table} | {row.name} | '
                     f'{"✓" if row.pso else ""} | {len(runs)}/{plan[row.key]} | '
                     + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def planned_rows(plan: Dict[str, int]) -> List[Row]:
    return [row for row in ROWS if row.key in plan]


def paired_diffs(by_row: Dict[str, List[dict]], row: Row,
                 key: str) -> List[float]:
    """``key`` of ``row`` minus that of its reference row, seed by seed, over
    the seeds both have."""
    ref = {r['seed']: r for r in by_row.get(row.reference, [])}
    return [value(r, key) - value(ref[r['seed']], key)
            for r in by_row.get(row.key, []) if r['seed'] in ref]


def paired_table(by_row: Dict[str, List[dict]], plan: Dict[str, int]) -> str:
    """Per row: mean paired difference to its reference row over the seeds
    both have, with the bootstrap interval and the exact sign-flip p."""
    lines = [
        '| row | vs | pairs | Δ HOTA | Δ DetA | Δ AssA | Δ IDSW '
        '| Δ IoU 1st box | Δ IoU 2nd box |', '|---|---|---|' + '---|' * 6
    ]
    for row in planned_rows(plan):
        if row.key == row.reference or row.reference not in plan:
            continue
        cells = [
            paired_cell(paired_diffs(by_row, row, k),
                        3 if k.endswith('iou') else 1) for k in PAIRED
        ]
        pairs = len(paired_diffs(by_row, row, 'HOTA'))
        lines.append(f'| {row.name} | {ROW_BY_KEY[row.reference].name} | '
                     f'{pairs} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def late_mean(runs: List[dict], group: str, key: str) -> Optional[float]:
    """Mean over seeds of a second-half-of-training average."""
    values = [r[group][key] for r in runs if r[group].get(key) is not None]
    return float(np.mean(values)) if values else None


def reg_to_cls(runs: List[dict]) -> Optional[float]:
    """Mean over seeds of L_reg / L_cls (second half of training)."""
    ratios = [r['task_losses']['reg'] / r['task_losses']['cls']
              for r in runs if r['task_losses'].get('cls')]
    return float(np.mean(ratios)) if ratios else None


def cell(number: Optional[float], digits: int) -> str:
    return '—' if number is None else f'{number:.{digits}f}'


def shares_table(by_row: Dict[str, List[dict]], plan: Dict[str, int]) -> str:
    """Mean weights, task losses and gradient shares, second half of
    training, averaged over the seeds."""
    lines = [
        '| row | n | α | β | γ | L_cls | L_reg | L_reid | L_reg / L_cls '
        '| share cls | share reg | share reid |', '|---|---|' + '---|' * 10
    ]
    for row in planned_rows(plan):
        runs = by_row.get(row.key, [])
        cells = [cell(late_mean(runs, 'weights', k), 2)
                 for k in ('alpha', 'beta', 'gamma')]
        cells += [cell(late_mean(runs, 'task_losses', k), 3)
                  for k in ('cls', 'reg', 'reid')]
        cells.append(cell(reg_to_cls(runs), 2))
        cells += [cell(late_mean(runs, 'grad_shares', k), 2)
                  for k in ('cls', 'reg', 'reid')]
        lines.append(f'| {row.name} | {len(runs)} | ' + ' | '.join(cells) +
                     ' |')
    return '\n'.join(lines)


def curve_table(by_row: Dict[str, List[dict]],
                keys: Sequence[str] = ('baseline', 'pso')) -> str:
    """Val HOTA per validated epoch of the fixed (1, 1, 1) rows (mean over
    seeds): has it flattened by the last epoch?"""
    epochs = sorted({e for k in keys for r in by_row.get(k, [])
                     for e, _ in r['val_hota_curve']})
    lines = ['| row | ' + ' | '.join(f'ep {e}' for e in epochs) + ' |',
             '|---|' + '---|' * len(epochs)]
    for key in keys:
        runs = by_row.get(key, [])
        if not runs:
            continue
        cells = []
        for epoch in epochs:
            values = [h for r in runs for e, h in r['val_hota_curve']
                      if e == epoch]
            cells.append(f'{np.mean(values):.1f}' if values else '—')
        lines.append(f'| {ROW_BY_KEY[key].name} | ' + ' | '.join(cells) +
                     ' |')
    return '\n'.join(lines)


def report(results_dir: str, epochs: int, plan: Dict[str, int]) -> str:
    by_row = load_results(results_dir, epochs, plan)
    done = sum(len(v) for v in by_row.values())
    planned = sum(plan.values())
    return '\n\n'.join([
        f'{done} of {planned} runs finished ({epochs} epochs each; '
        f'JSONs in {osp.relpath(results_dir, ROOT)})',
        '### Results per row (mean ± std over seeds; n = seeds done/planned)',
        results_table(by_row, plan),
        '### Paired difference to the reference row, same seeds (mean '
        f'[bootstrap {CI:.0%} interval] p of the exact sign-flip test; with '
        'n pairs p cannot go below 2/2^n: 0.25 for 3, 0.0625 for 5)',
        paired_table(by_row, plan),
        '### Weights, task losses and gradient shares (second half of '
        'training, mean over seeds)', shares_table(by_row, plan),
        '### Val HOTA per validated epoch, fixed (1, 1, 1)',
        curve_table(by_row)
    ])


def scales_table(by_scale: Dict[str, Dict[str, List[dict]]]) -> str:
    """The rows run at both loss scales, side by side: HOTA, its paired
    difference to the reference row, L_reg / L_cls, β and regression's share
    of the shared gradient."""
    scales = list(by_scale)
    lines = [
        '| row | ' + ' | '.join(
            f'{name} {scale}' for scale in scales
            for name in ('n', 'HOTA', 'Δ HOTA', 'L_reg/L_cls', 'β',
                         'share reg')) + ' |',
        '|---|' + '---|' * (6 * len(scales))
    ]
    for row in ROWS:
        if not all(row.key in PLANS[scale] for scale in scales):
            continue
        cells = []
        for scale in scales:
            by_row = by_scale[scale]
            runs = by_row.get(row.key, [])
            delta = ('' if row.key == row.reference else paired_cell(
                paired_diffs(by_row, row, 'HOTA'), 1))
            cells += [
                str(len(runs)),
                mean_std([value(r, 'HOTA') for r in runs]), delta,
                cell(reg_to_cls(runs), 2),
                cell(late_mean(runs, 'weights', 'beta'), 2),
                cell(late_mean(runs, 'grad_shares', 'reg'), 2)
            ]
        lines.append(f'| {row.name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def full_report(epochs: int) -> str:
    """Both loss scales' reports, then the two side by side."""
    parts = []
    by_scale = {}
    for scale in ('ctracker', 'mmdet'):
        results_dir = osp.join(ROOT, RESULTS_DIRS[scale])
        by_scale[scale] = load_results(results_dir, epochs, PLANS[scale])
        parts += [f'## Loss scale: {scale}',
                  report(results_dir, epochs, PLANS[scale])]
    parts += ['## The two loss scales side by side', scales_table(by_scale)]
    return '\n\n'.join(parts)


# ----------------------------------------------------------------- main
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=DEFAULT_EPOCHS)
    parser.add_argument('--val-interval', type=int,
                        default=DEFAULT_VAL_INTERVAL,
                        help='validate every this many epochs (and the '
                        'last), for the val HOTA curve')
    parser.add_argument('--grad-interval', type=int,
                        default=GRAD_SHARE_INTERVAL,
                        help='iterations between gradient-share '
                        'measurements; 0 turns them off')
    parser.add_argument('--scale', type=float, default=IMG_SCALE,
                        help='shrink images and anchors by this factor '
                        '(default: %(default).3f)')
    parser.add_argument('--rows', nargs='+', choices=list(ROW_BY_KEY),
                        help='only these rows (default: all)')
    parser.add_argument('--max-seeds', type=int,
                        help='at most this many seeds per row')
    parser.add_argument('--data-root', default='data/synthetic_mot')
    parser.add_argument('--work-root', default='work_dirs/dmw_pretrained')
    parser.add_argument('--loss-normalization', default='ctracker',
                        choices=list(PLANS),
                        help="the head's loss scale (default: %(default)s)")
    parser.add_argument('--results-dir',
                        help='where the run JSONs go (default: '
                        'RESULTS_DIRS of the loss scale)')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                        help='runs at a time (default: one per core)')
    parser.add_argument('--report', action='store_true',
                        help='only rebuild the tables from the JSONs')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: one row, one seed, one epoch, one '
                        'tiny video; results under --work-root')
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    args.work_root = osp.abspath(args.work_root)
    args.data_root = osp.abspath(args.data_root)
    rows = [ROW_BY_KEY[k] for k in args.rows] if args.rows else list(ROWS)
    if args.quick:
        rows, args.max_seeds = [ROW_BY_KEY['pso']], 1
        args.epochs, args.val_interval, args.grad_interval = 1, 1, 2
        args.data_root = osp.join(args.work_root, 'quick_data')
        args.results_dir = osp.join(args.work_root, 'results')
    plan = PLANS[args.loss_normalization]
    if args.report and not args.results_dir:
        print(full_report(args.epochs))
        return
    args.results_dir = osp.abspath(
        args.results_dir
        or osp.join(ROOT, RESULTS_DIRS[args.loss_normalization]))
    if args.report:
        print(report(args.results_dir, args.epochs, plan))
        return
    args.commit = code_version()
    if args.quick:
        ensure_synthetic_data(args.data_root, frames=10, num_train=1)
    else:
        ensure_synthetic_data(args.data_root, frames=60, num_train=4)
    ensure_weights(args.work_root)
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    config = study_config(args.work_root, args.grad_interval, args.scale)
    todo = [(r, s) for r, s in run_order(rows, plan, FIRST,
                                         max_seeds=args.max_seeds)
            if not osp.isfile(result_path(args.results_dir, r.key, s,
                                          args.epochs))]
    threads = threads_per_job(args.jobs)
    start = time.time()

    def done(row: Row, seed: int, result: dict) -> None:
        m, h = result['metrics'], result['pair_halves']
        print(f'[{time.time() - start:6.0f} s] {row.name}, seed {seed}: ' +
              ', '.join(f'{k} {m[k]:.1f}' for k in METRICS) +
              f', IoU 1st {h["first_iou"]:.3f}, 2nd {h["second_iou"]:.3f} '
              f'({result["wall_time_s"]:.0f} s)', flush=True)

    failed = run_all(
        todo, lambda r, s: train_and_score(r, s, args, config, threads),
        args.jobs, done)
    print()
    print(report(args.results_dir, args.epochs, plan))
    if failed:
        sys.exit('failed runs:\n' + '\n'.join(failed))


def ensure_weights(log_dir: str) -> None:
    """Convert the packaged ImageNet weights unless done already."""
    if not osp.isfile(osp.join(ROOT, WEIGHTS)):
        run([sys.executable,
             'tools/model_converters/mobilenetv2_deepsort_to_mmdet.py',
             WEIGHTS], osp.join(log_dir, 'convert_weights.log'))


if __name__ == '__main__':
    main()
