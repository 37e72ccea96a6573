"""One runner for the loss-weighting studies: rows × seeds → one JSON per
finished run → tables rebuilt from the JSONs.

A study (``benchmarks/ablation.py``, ``benchmarks/dmw_pretrained.py``) names
its rows, how many seeds each gets and a function that trains and scores one
(row, seed); this module orders the runs, skips the finished ones (a study
can be stopped and continued), runs ``jobs`` at a time, writes each result
atomically with the commit it ran on, reads them back, and holds the
statistics of the reports:

* :func:`mean_std` - mean ± sample standard deviation over seeds;
* :func:`bootstrap_ci` - percentile bootstrap interval of a mean paired
  difference (resampling seeds);
* :func:`sign_flip_p` - the exact paired permutation test: under "no
  difference" each seed's difference is as likely negative as positive, so
  all 2^n sign patterns are equally likely; p is the share whose |mean|
  reaches the observed one. With n seeds it cannot go below 2 / 2^n (0.25
  for 3 seeds, 0.0625 for 5);
* :func:`sign_test_p` - the exact two-sided sign test (binomial, p = 1/2).
"""
import glob
import itertools
import json
import os
import os.path as osp
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from math import comb
from typing import (Callable, Dict, Iterable, List, Optional, Sequence,
                    Tuple, TypeVar)

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BOOTSTRAP_RESAMPLES = 10000
CI = 0.95
RowT = TypeVar('RowT')


# ----------------------------------------------------------- the runs
def result_path(results_dir: str, row_key: str, seed, epochs: int) -> str:
    """Where a study writes one finished run's JSON (``seed`` may be a glob
    such as ``'*'``)."""
    return osp.join(results_dir, f'{row_key}_e{epochs}_seed{seed}.json')


def run_order(rows: Sequence[RowT], seeds: Dict[str, int],
              first: Sequence[str] = (),
              key: Callable[[RowT], str] = lambda r: r.key,
              max_seeds: Optional[int] = None) -> List[Tuple[RowT, int]]:
    """(row, seed) in the order to run.

    The rows named in ``first`` come first, their seeds interleaved (seed 0
    of each, then seed 1, ...), then the other rows the same way. Rows
    without an entry in ``seeds`` are left out; ``max_seeds`` caps every
    row's count.
    """
    planned = [r for r in rows if key(r) in seeds]
    count = {key(r): min(seeds[key(r)], max_seeds or seeds[key(r)])
             for r in planned}
    order = []
    for group in ([r for r in planned if key(r) in first],
                  [r for r in planned if key(r) not in first]):
        for seed in range(max((count[key(r)] for r in group), default=0)):
            order += [(r, seed) for r in group if seed < count[key(r)]]
    return order


def code_version(root: str = ROOT) -> str:
    """The commit the code runs on, with ``+dirty`` when tracked code
    (package, configs, tools, benchmarks) differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(['git', *args], cwd=root, capture_output=True,
                              text=True).stdout.strip()

    head = git('rev-parse', 'HEAD') or 'unknown'
    dirty = git('status', '--porcelain', '--untracked-files=no', '--',
                'mmdmw', 'configs', 'tools', 'benchmarks/*.py')
    return head + ('+dirty' if dirty else '')


def write_result(path: str, result: dict) -> None:
    """Write one run's JSON; the file exists only once it is complete."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(path + '.tmp', path)


def finished_stamp() -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())


def run_all(todo: Sequence[Tuple[RowT, int]],
            one: Callable[[RowT, int], dict], jobs: int,
            on_done: Callable[[RowT, int, dict], None]) -> List[str]:
    """Run ``one(row, seed)`` for every pending run, ``jobs`` at a time.

    A failed run is reported and the others go on.

    Returns:
        list[str]: One line per failed run.
    """
    print(f'{len(todo)} run(s) to do, {jobs} at a time', flush=True)
    failed = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(one, r, s): (r, s) for r, s in todo}
        for future in as_completed(futures):
            row, seed = futures[future]
            try:
                result = future.result()
            except Exception as err:  # keep the other runs going
                failed.append(f'{row} seed {seed}: {err}')
                print(f'FAILED {row} seed {seed}: {err}', flush=True)
                continue
            on_done(row, seed, result)
    return failed


def threads_per_job(jobs: int) -> int:
    """The machine's cores shared among ``jobs`` runs."""
    return max(1, (os.cpu_count() or 1) // jobs)


def load_results(results_dir: str, epochs: int,
                 keys: Iterable[str]) -> Dict[str, List[dict]]:
    """Finished runs of ``epochs`` whose row is in ``keys``, by row, sorted
    by seed."""
    keys = set(keys)
    by_row: Dict[str, List[dict]] = {}
    for path in sorted(glob.glob(osp.join(results_dir, '*.json'))):
        with open(path) as f:
            result = json.load(f)
        if result.get('epochs') == epochs and result.get('row') in keys:
            by_row.setdefault(result['row'], []).append(result)
    for runs in by_row.values():
        runs.sort(key=lambda r: r['seed'])
    return by_row


# --------------------------------------------------------- statistics
def finite(values: Iterable[Optional[float]]) -> List[float]:
    """The values that are numbers (None and NaN left out)."""
    return [float(v) for v in values if v is not None and not np.isnan(v)]


def mean_std(values: Iterable[Optional[float]], digits: int = 1) -> str:
    """``mean ± sd`` (sample sd, n - 1); one value alone; ``—`` for none."""
    values = finite(values)
    if not values:
        return '—'
    if len(values) == 1:
        return f'{values[0]:.{digits}f}'
    return (f'{statistics.mean(values):.{digits}f} ± '
            f'{statistics.stdev(values):.{digits}f}')


def bootstrap_ci(diffs: Sequence[float],
                 resamples: int = BOOTSTRAP_RESAMPLES,
                 level: float = CI,
                 seed: int = 0) -> Tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences:
    resample the seeds with replacement. With 2-3 seeds it is close to the
    range of the differences."""
    diffs = np.asarray(diffs, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def sign_flip_p(diffs: Sequence[float]) -> float:
    """Exact two-sided paired permutation (sign-flip) test of mean 0."""
    diffs = np.asarray(diffs, dtype=float)
    observed = abs(diffs.mean())
    signs = np.array(list(itertools.product((1., -1.), repeat=len(diffs))))
    means = np.abs((signs * diffs).mean(axis=1))
    return float(np.mean(means >= observed - 1e-12))


def sign_test_p(diffs: Sequence[float]) -> float:
    """Exact two-sided sign test: ties (0) dropped, then the binomial
    probability of a split at least as uneven as the one seen."""
    nonzero = [d for d in diffs if d != 0]
    n = len(nonzero)
    if n == 0:
        return 1.0
    k = min(sum(d > 0 for d in nonzero), sum(d < 0 for d in nonzero))
    tail = sum(comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_cell(diffs: Sequence[float], digits: int) -> str:
    """``mean [bootstrap interval] p`` of paired differences, p of the exact
    sign-flip test; NaN pairs (no matched prediction in a run) left out."""
    diffs = finite(diffs)
    if not diffs:
        return '—'
    mean = float(np.mean(diffs))
    if len(diffs) < 2:
        return f'{mean:+.{digits}f}'
    low, high = bootstrap_ci(diffs)
    return (f'{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}] '
            f'p={sign_flip_p(diffs):.2f}')
