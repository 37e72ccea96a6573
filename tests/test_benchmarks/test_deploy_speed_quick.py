"""``benchmarks/deploy_speed.py --quick`` runs and prints its tables: every
backend row with a numeric time and ratio, the tracks compared.

The quick run is the tiny config at one thread, where the README and
BENCHMARKS claim that fp32 ONNX Runtime gives PyTorch's tracks exactly: every
fp32 row must say ``identical`` (ids equal, boxes within 0.01 px). Only int8
is allowed to differ. (In the full run the R50 at 1 thread is not identical,
and neither is PyTorch at 1 thread against PyTorch at 2: near-tied random-
weight detections flip with the summation order. That row is not in the
quick run.) The verdicts (goal PASS / FAIL, int8 yes / no) must follow from
the ratios printed beside them.

Timings are not checked (a shared CI machine makes them meaningless as a
pass/fail criterion).
"""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

pytest.importorskip('onnxruntime')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TIMEOUT = 300
SPEED_HEADER = ('| config | WxH | threads | backend | ms/frame (median) | '
                'ratio to PyTorch, median [Q1, Q3] | tracks vs PyTorch |')
#: The quick run's backends: PyTorch and three ORT variants, one thread.
BACKENDS = ('pytorch eager', 'ort all', 'ort all, static', 'ort int8')
RATIO = r'\d+\.\d{3} \[\d+\.\d{3}, \d+\.\d{3}\]'
IDENTICAL = r'identical \(max box diff (\S+) px\)'
FP32 = ('ort all', 'ort all, static')
GOAL_RATIO = 0.67  # the README's deploy goal, as deploy_speed.GOAL_RATIO
BOX_TOLERANCE = 0.01  # px, as deploy_speed.BOX_TOLERANCE


def table_rows(stdout: str, header: str) -> list:
    """The cells of each row of the table whose header line starts with
    ``header``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:  # after the header and |---|
        if not line.startswith('|'):
            break
        rows.append([c.strip() for c in line.strip('|').split('|')])
    return rows


def test_deploy_speed_quick():
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'deploy_speed.py'),
         '--quick'],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'machine: cpu ' in proc.stdout
    assert SPEED_HEADER in proc.stdout, proc.stdout
    rows = table_rows(proc.stdout, SPEED_HEADER)
    assert [r[3] for r in rows] == list(BACKENDS)
    for config, wxh, threads, backend, ms, ratio, tracks in rows:
        assert config.startswith('retina_dmw_r18-tiny') and wxh == '320x192'
        assert threads == '1' and float(ms) > 0
        if backend == 'pytorch eager':
            assert ratio == '1 (ref)'
        elif backend == 'ort int8':  # not identical: an agreement share
            assert re.fullmatch(RATIO, ratio), ratio
            assert re.fullmatch(r'(identical \(max box diff \S+ px\)|'
                                r'differ \(int8\): \d+% of boxes agree)',
                                tracks), tracks
        else:  # fp32: the claim is identity
            assert re.fullmatch(RATIO, ratio), ratio
            same = re.fullmatch(IDENTICAL, tracks)
            assert same, f'{backend}: {tracks}'
            assert float(same.group(1)) <= BOX_TOLERANCE, tracks
    exports = table_rows(proc.stdout, '| config | WxH | graph |')
    assert [r[2] for r in exports] == ['dynamic H, W', 'static',
                                       'dynamic H, W, int8']
    assert all(float(r[4]) < 1e-4 for r in exports[:2])  # max rel diff
    assert 1e-4 < float(exports[2][4]) < 1  # int8: close, not equal
    medians = {r[3]: float(r[5].split()[0]) for r in rows[1:]}
    goals = table_rows(proc.stdout, '| config | threads | best ORT variant |')
    (goal, ) = goals
    # the best fp32 variant (never int8), its median, identical, and the
    # verdict that follows from them
    # (medians are printed to 3 decimals: a tie or a median of exactly
    # 0.670 as printed cannot tell which side it lies on)
    best = goal[2]
    assert best in FP32 and float(goal[3]) == medians[best], goal
    assert medians[best] == min(medians[v] for v in FP32), (goal, medians)
    assert goal[4] == f'<= {GOAL_RATIO}' and goal[5] == 'identical', goal
    if medians[best] != GOAL_RATIO:
        assert goal[6] == ('PASS' if medians[best] < GOAL_RATIO else 'FAIL')
    int8 = table_rows(proc.stdout, '| config | threads | variant |')
    (row, ) = int8
    assert row[2] == 'ort int8' and float(row[3]) == medians['ort int8']
    if medians['ort int8'] != GOAL_RATIO:
        assert row[4] == ('yes' if medians['ort int8'] < GOAL_RATIO else 'no')
    assert row[5] == rows[-1][6]  # the speed table's int8 tracks cell
    assert 'PyTorch eager ran at 1 thread count only' in proc.stdout
    stages = table_rows(proc.stdout, '| config | threads | stage |')
    assert [(r[2], r[3]) for r in stages] == [
        (stage, backend) for stage in ('backbone + FPN', 'head')
        for backend in ('pytorch eager', 'ort all', 'ort int8')
    ]
    for row in stages:
        assert float(row[4]) > 0
        assert (row[5] == '1 (ref)' if row[3] == 'pytorch eager' else
                re.fullmatch(RATIO, row[5])), row
