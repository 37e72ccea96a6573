"""The paper's ablations in miniature: the small CPU config trained on the
synthetic set under each loss weighting, several seeds each, scored with
TrackEval on the held-out half of every video.

    python benchmarks/ablation.py [--seeds 3] [--epochs 12] [--jobs 2]
        [--rows pso pso-dmw ...] [--loss-normalization ctracker|mmdet]
        [--quick]

Each finished run writes its metrics and the commit it ran on to
``<RESULTS_DIRS[scale]>/<row>_e<epochs>_seed<k>.json`` (``ablation/`` for
mmdet's loss scale, ``ablation_ctracker/`` for CTracker's); runs whose JSON
exists are skipped, so a stopped study continues where it stopped, and the
table is built from every JSON of the epoch count. Prints a table of HOTA /
DetA / AssA / MOTA / IDF1 / IDSW (mean ± std over seeds) in the layout of
the paper's Tables I, III and IV, beside the paper's own MOTA and IDF1
(MOT17 half-val, ResNet-50, 100 epochs on a GPU: a different scale, so
compare the ordering, not the values).
"""
import argparse
import os
import os.path as osp
import re
import sys
import time
from typing import Dict, List, NamedTuple, Optional, Tuple

from _study import (code_version, finished_stamp, load_results, mean_std,
                    result_path, run_all, run_order, threads_per_job,
                    write_result)
from _tools import (ensure_synthetic_data, parse_metrics, run,
                    weighting_options)

CONFIG = osp.join('configs', 'dmw', 'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
#: One folder of run JSONs per loss scale (the head's loss_normalization).
RESULTS_DIRS = dict(
    mmdet=osp.join('benchmarks', 'results', 'ablation'),
    ctracker=osp.join('benchmarks', 'results', 'ablation_ctracker'))
#: Metrics read from tools/test.py and tabled.
ABLATION_METRICS = ('HOTA', 'DetA', 'AssA', 'MOTA', 'IDF1', 'IDSW')


class Variant(NamedTuple):
    """One row of the study: how the head and the loss weighting are set."""
    table: str
    name: str
    pso: bool
    mode: str
    weights: Optional[Tuple[float, float, float]]
    paper: Tuple[Optional[float], Optional[float]]  # MOTA, IDF1

    @property
    def key(self) -> str:
        """The row's name for ``--rows``, file and folder names."""
        return re.sub(r'[^a-z0-9]+', '-', self.name.lower()).strip('-')


VARIANTS = (
    Variant('III', 'baseline (1, 1, 1)', False, 'fixed', (1., 1., 1.),
            (73.1, 63.3)),
    Variant('III', '+ PSO', True, 'fixed', (1., 1., 1.), (74.8, 65.5)),
    Variant('III', '+ DMW', False, 'dmw', None, (75.1, 65.4)),
    Variant('III', '+ PSO + DMW', True, 'dmw', None, (75.7, 66.0)),
    Variant('IV', 'DMW without correlation', True, 'independent', None,
            (73.8, 64.7)),
    Variant('I', 'fixed (0.5, 1, 1.5)', True, 'fixed', (0.5, 1., 1.5),
            (74.8, 65.8)),
    Variant('I', 'fixed (1, 0.5, 1.5)', True, 'fixed', (1., 0.5, 1.5),
            (74.9, 65.3)),
    Variant('—', 'uncertainty (Kendall)', True, 'uncertainty', None,
            (None, None)),
)


def train_and_score(variant: Variant, seed: int, epochs: int,
                    data_root: str, work_root: str, threads: int,
                    normalization: str) -> Dict[str, float]:
    """Train one variant with one seed, then track and score it."""
    slug = variant.key
    work_dir = osp.join(work_root, f'{slug}_seed{seed}')
    options = weighting_options(  # scored once, at the end
        variant.pso, variant.mode, variant.weights, seed, epochs, epochs + 1,
        data_root, normalization)
    py = sys.executable
    run([py, 'tools/train.py', CONFIG, '--work-dir', work_dir,
         '--cfg-options', *options], osp.join(work_root, f'{slug}_{seed}.log'),
        threads)
    out = run([py, 'tools/test.py', CONFIG,
               osp.join(work_dir, f'epoch_{epochs}.pth'), '--work-dir',
               osp.join(work_dir, 'test'), '--cfg-options', *options],
              osp.join(work_root, f'{slug}_{seed}_test.log'), threads)
    return parse_metrics(out, ABLATION_METRICS)


def table(results: Dict[str, List[dict]]) -> str:
    """Markdown table in the paper's layout, the paper's numbers beside;
    ``results`` holds the run JSONs by row key."""
    lines = [
        '| table | weighting | PSO | n | ' + ' | '.join(ABLATION_METRICS) +
        ' | paper MOTA | paper IDF1 |',
        '|---|---|---|---|' + '---|' * (len(ABLATION_METRICS) + 2)
    ]
    for v in VARIANTS:
        if v.key not in results:
            continue
        runs = [r['metrics'] for r in results[v.key]]
        cells = [str(len(runs))] + [
            mean_std([r[m] for r in runs]) for m in ABLATION_METRICS
        ]
        paper = [f'{p:.1f}' if p is not None else '—' for p in v.paper]
        lines.append(f'| {v.table} | {v.name} | {"✓" if v.pso else ""} | '
                     + ' | '.join(cells) + ' | ' + ' | '.join(paper) + ' |')
    return '\n'.join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument('--rows', nargs='+',
                        choices=[v.key for v in VARIANTS],
                        help='only these rows (default: all)')
    parser.add_argument('--loss-normalization', default='ctracker',
                        choices=['ctracker', 'mmdet'],
                        help="the head's loss scale (default: %(default)s; "
                        "BENCHMARKS.md §5.1's tables ran at 'mmdet')")
    parser.add_argument('--data-root', default='data/synthetic_mot')
    parser.add_argument('--work-root', default='work_dirs/ablation')
    parser.add_argument('--results-dir',
                        help='one JSON per finished run (default: '
                        'RESULTS_DIRS of the loss scale)')
    parser.add_argument(
        '--jobs',
        type=int,
        default=os.cpu_count() or 1,
        help='runs at a time, the cores shared among them (default: one '
        'per core)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='smoke run: two variants, one seed, one epoch, tiny videos; '
        'results under --work-root')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    variants, seeds, epochs = VARIANTS, range(args.seeds), args.epochs
    if args.rows:
        variants = tuple(v for v in VARIANTS if v.key in args.rows)
    data_root = osp.abspath(args.data_root)
    results_dir = args.results_dir or RESULTS_DIRS[args.loss_normalization]
    if args.quick:
        variants, seeds, epochs = VARIANTS[2:4], range(1), 1
        data_root = osp.abspath(osp.join(args.work_root, 'quick_data'))
        results_dir = osp.join(args.work_root, 'results')
        ensure_synthetic_data(data_root, frames=10, num_train=1)
    else:
        ensure_synthetic_data(data_root, frames=60, num_train=4)
    os.makedirs(args.work_root, exist_ok=True)
    threads = threads_per_job(args.jobs)
    plan = {v.key: len(seeds) for v in variants}
    todo = [(v, seed) for v, seed in run_order(variants, plan)
            if not osp.isfile(result_path(results_dir, v.key, seed, epochs))]
    commit = code_version()
    start = time.time()

    def one(variant: Variant, seed: int) -> dict:
        began = time.time()
        metrics = train_and_score(variant, seed, epochs, data_root,
                                  osp.abspath(args.work_root), threads,
                                  args.loss_normalization)
        result = dict(row=variant.key, name=variant.name, seed=seed,
                      epochs=epochs, commit=commit,
                      loss_normalization=args.loss_normalization,
                      metrics=metrics,
                      wall_time_s=round(time.time() - began, 1),
                      finished=finished_stamp())
        write_result(result_path(results_dir, variant.key, seed, epochs),
                     result)
        return result

    def done(variant: Variant, seed: int, result: dict) -> None:
        print(f'[{time.time() - start:6.0f} s] {variant.name}, seed {seed}: '
              + ', '.join(f'{k} {v:.1f}'
                          for k, v in result['metrics'].items()), flush=True)

    failed = run_all(todo, one, args.jobs, done)
    results = load_results(results_dir, epochs, [v.key for v in VARIANTS])
    print(f'\n{epochs} epoch(s) each, {time.time() - start:.0f} s in all; '
          f'JSONs in {results_dir}\n')
    print(table(results))
    if failed:
        sys.exit('failed runs:\n' + '\n'.join(failed))


if __name__ == '__main__':
    main()
