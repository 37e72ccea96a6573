"""Helpers shared by the benchmarks: interleaved timing, machine, tables.

Timings on a shared machine drift (another job may start or stop mid-run),
so every benchmark compares variants measured side by side: in each round
every variant runs once, the order rotating from round to round, and the
reports are medians of per-round ratios, never absolute times alone.

Import this module before torch and numpy: it sets OpenMP's wait policy to
PASSIVE and OpenBLAS (numpy / scipy) to one thread, unless already set. Both
spin-wait by default, so on two cores shared with another busy process a
parallel region waits for a descheduled peer: on the 2-core machine, while a
training job ran, a tiny backbone pass took 25-1400 ms instead of 11 ms
(torch, OpenMP) and SORT's Kalman gating 50-330 ms instead of 13 ms a frame
(scipy's triangular solves, OpenBLAS).
"""
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable, Dict, List, Optional, Sequence, Tuple  # noqa

import torch  # noqa: E402

#: Where ``python benchmarks/NAME.py`` finds the repository (configs, data).
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Read-only real sequence (MOT15 layout) in the shared/ folder beside the
#: repository; never copied into it.
TUD_CAMPUS = os.path.join(os.path.dirname(REPO_ROOT), 'shared', 'data',
                          'TUD-Campus')
#: Quartiles: ``statistics.quantiles(n=QUARTILES)`` gives Q1, Q2, Q3.
QUARTILES = 4
#: Seconds -> milliseconds / microseconds.
MS, US = 1e3, 1e6


def parse_args(description: str,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the common command line: ``[--quick]``.

    Args:
        description (str): What the benchmark measures (its ``--help``).
        argv (Sequence[str], optional): Arguments; None reads ``sys.argv``.

    Returns:
        argparse.Namespace: ``quick`` (bool), tiny sizes that run in seconds.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny sizes, seconds; checks the script runs, not the numbers')
    return parser.parse_args(argv)


# ------------------------------------------------------------------ machine
def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (``platform`` as a fallback)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> Dict[str, str]:
    """What the numbers were measured on, including the load at the start.

    Returns:
        dict[str, str]: cpu, cores, torch, threads, omp_wait_policy,
        openblas_threads, python, load (the 1-min load average at the
        start; near or above the core count means another job competed).
    """
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    return dict(
        cpu=cpu_model(),
        cores=str(os.cpu_count()),
        torch=torch.__version__,
        threads=str(torch.get_num_threads()),
        omp_wait_policy=os.environ.get('OMP_WAIT_POLICY', 'unset'),
        openblas_threads=os.environ.get('OPENBLAS_NUM_THREADS', 'unset'),
        python=platform.python_version(),
        load=f'{load:.2f}')


def print_header(title: str, quick: bool) -> None:
    """Print the benchmark's title, the machine and the command line."""
    info = machine_info()
    print(f'## {title}{" (--quick)" if quick else ""}\n')
    print('machine: ' + ', '.join(f'{k} {v}' for k, v in info.items()))
    print(f'command: python {" ".join(sys.argv)}\n')
    sys.stdout.flush()


def markdown_table(headers: Sequence[str],
                   rows: Sequence[Sequence[object]]) -> str:
    """Format rows as a markdown table (cells with ``str``).

    Args:
        headers (Sequence[str]): Column names.
        rows (Sequence[Sequence[object]]): One sequence of cells per row.

    Returns:
        str: The table, one line per row, without a trailing newline.
    """
    lines = ['| ' + ' | '.join(headers) + ' |',
             '|' + '|'.join('---' for _ in headers) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                caption: Optional[str] = None) -> None:
    """Print a markdown table, with an optional bold caption above it."""
    if caption:
        print(f'**{caption}**\n')
    print(markdown_table(headers, rows) + '\n')
    sys.stdout.flush()


# ------------------------------------------------------------------- timing
def time_call(fn: Callable[[], object], number: int = 1) -> float:
    """Seconds per call of ``fn``, averaged over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def interleaved(fns: Dict[str, Callable[[], object]],
                repeats: int,
                warmup: int = 1,
                number: int = 1) -> Dict[str, List[float]]:
    """Time several variants side by side, round by round.

    In each round every variant is timed once (``number`` calls, averaged);
    the order rotates by one each round (A B C, B C A, C A B, ...) so that no
    variant always runs first or right after a given other. Warm-up rounds
    run the same way and are discarded.

    Args:
        fns (dict[str, Callable]): Variant name -> a call to time.
        repeats (int): Timed rounds.
        warmup (int): Discarded rounds first. Defaults to 1.
        number (int): Calls per timing, for calls too short to time one by
            one. Defaults to 1.

    Returns:
        dict[str, list[float]]: Variant name -> seconds per call, one value
        per round, in round order (so ratios can be paired by round).
    """
    names = list(fns)
    times = {name: [] for name in names}
    for round_idx in range(warmup + repeats):
        shift = round_idx % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = time_call(fns[name], number)
            if round_idx >= warmup:
                times[name].append(seconds)
    return times


def interleaved_steps(fns: Dict[str, Callable[[int], object]],
                      steps: int,
                      warmup: int = 1) -> Dict[str, List[float]]:
    """Like :func:`interleaved` for stateful variants that walk a sequence.

    Round r calls every variant with ``r`` (e.g. the index of the frame to
    process), the order rotating as in :func:`interleaved`.

    Args:
        fns (dict[str, Callable[[int], object]]): Variant name -> a call
            taking the step index.
        steps (int): Timed steps, after ``warmup`` discarded ones.
        warmup (int): Steps run first, not timed. Defaults to 1.

    Returns:
        dict[str, list[float]]: Variant name -> seconds per timed step.
    """
    counters = {name: 0 for name in fns}

    def advance(name: str) -> Callable[[], None]:
        def call() -> None:
            fns[name](counters[name])
            counters[name] += 1
        return call

    return interleaved({name: advance(name) for name in fns},
                       repeats=steps, warmup=warmup)


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return statistics.median(values)


def quartiles(values: Sequence[float]) -> Tuple[float, float]:
    """First and third quartiles (both the value itself if only one)."""
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=QUARTILES, method='inclusive')
    return q1, q3


def paired_ratios(numer: Sequence[float],
                  denom: Sequence[float]) -> List[float]:
    """Per-round ratios ``numer[i] / denom[i]`` of two interleaved variants."""
    return [a / b for a, b in zip(numer, denom)]


def ratio_summary(ratios: Sequence[float]) -> str:
    """``median [Q1, Q3]`` of ratios, e.g. ``1.003 [0.991, 1.012]``."""
    q1, q3 = quartiles(ratios)
    return f'{median(ratios):.3f} [{q1:.3f}, {q3:.3f}]'


def pass_fail(ok: bool) -> str:
    """PASS or FAIL."""
    return 'PASS' if ok else 'FAIL'


def rss_mib() -> float:
    """Current resident memory of this process in MiB (Linux /proc)."""
    with open('/proc/self/statm') as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf('SC_PAGE_SIZE') / 2**20
