"""Every benchmark runs in ``--quick`` mode and prints its result table:
the table is found, has rows, every row has the header's number of cells,
and the measured columns hold numbers.

Timings are never compared with a bound (a shared CI machine makes them
meaningless as a pass/fail criterion).
"""
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, List, Sequence

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: Seconds a quick run may take (they take ~5-15 s on 2 cores).
TIMEOUT = 180
#: A cell that starts with a number: ``12.5``, ``-0.3 ± 1.2``, ``+4.1%``,
#: ``1.02 [0.98, 1.05]``, ``58.1 / 60.2 / 70.3 / 2``.
NUMBER = re.compile(r'^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?')

#: Script -> (the first cells of its main table's header, columns that
#: must hold numbers in every row).
TABLES = {
    'train_overhead.py': (['config', 'batch (pairs x frames x WxH)',
                           'rounds', 'mode'],
                          ['rounds', 'iteration ms']),
    'inference_speed.py': (['config', 'WxH', 'variant'],
                           ['ms/frame (median)']),
    'tracker_scaling.py': (['people', 'nodes/frame', 'ours ms'],
                           ['people', 'nodes/frame', 'ours ms',
                            'ByteTracker ms']),
    # TUD-Campus conditions, or synthetic ones when TUD-Campus is absent
    'tracking_quality.py': (['jitter', 'drop', 'false/frame'],
                            ['jitter', 'drop', 'false/frame']),
}


def cells(line: str) -> List[str]:
    """``| a | b |`` -> ``['a', 'b']``."""
    return [c.strip() for c in line.strip().strip('|').split('|')]


def find_table(stdout: str, header_start: Sequence[str]) -> List[Dict]:
    """Rows of the first markdown table whose header starts with
    ``header_start``, as dicts by column name."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith('|'):
            continue
        header = cells(line)
        if header[:len(header_start)] != list(header_start):
            continue
        rows = []
        for row in lines[i + 2:]:  # after the |---| line
            if not row.startswith('|'):
                break
            values = cells(row)
            assert len(values) == len(header), (header, row)
            rows.append(dict(zip(header, values)))
        return rows
    raise AssertionError(f'no table with header {header_start}:\n{stdout}')


def check_table(stdout: str, header_start: Sequence[str],
                numeric: Sequence[str]) -> List[Dict]:
    rows = find_table(stdout, header_start)
    assert rows, f'the table {header_start} has no rows'
    for row in rows:
        for column in numeric:
            assert NUMBER.match(row[column]), (column, row)
    return rows


def run_benchmark(script: str, *args: str, timeout: int) -> str:
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', script), '--quick',
         *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_table_checker_fails_on_a_missing_number():
    out = '| a | b |\n|---|---|\n| x | 1.5 ± 0.2 |\n| y | n/a |\n'
    assert [r['a'] for r in check_table(out, ['a'], [])] == ['x', 'y']
    with pytest.raises(AssertionError):
        check_table(out, ['a'], ['b'])
    with pytest.raises(AssertionError):
        check_table(out, ['c'], [])


@pytest.mark.parametrize('script', sorted(TABLES))
def test_benchmark_quick(script):
    stdout = run_benchmark(script, timeout=TIMEOUT)
    assert 'machine: cpu ' in stdout
    check_table(stdout, *TABLES[script])


#: Benchmarks that train: script -> (header start, numeric columns).
TRAINING = {
    'ablation.py': (['table', 'weighting', 'PSO', 'n'],
                    ['n', 'HOTA', 'DetA', 'AssA', 'MOTA', 'IDF1', 'IDSW']),
    'pretrained_backbone.py': (['backbone init', 'test set'],
                               ['HOTA', 'MOTA', 'IDF1', 'IDSW', 'FP',
                                'FN']),
}
#: A quick training benchmark trains for one epoch on one tiny video.
TRAINING_TIMEOUT = 900
#: What a benchmark prints when the data it needs is not on this machine.
ABSENT = 'is absent: nothing to compare'


@pytest.mark.slow
@pytest.mark.parametrize('script', sorted(TRAINING))
def test_training_benchmark_quick(script, tmp_path):
    stdout = run_benchmark(script, '--work-root', str(tmp_path),
                           timeout=TRAINING_TIMEOUT)
    if ABSENT in stdout:
        reason = [line for line in stdout.splitlines() if ABSENT in line]
        pytest.skip(reason[0])
    check_table(stdout, *TRAINING[script])
