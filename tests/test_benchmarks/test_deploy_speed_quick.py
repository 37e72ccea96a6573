"""``benchmarks/deploy_speed.py --quick`` runs and prints its tables: every
backend row with a numeric time and ratio, the tracks compared.

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
        else:
            assert re.fullmatch(RATIO, ratio), ratio
            assert re.fullmatch(r'identical \(max box diff \S+ px\)|'
                                r'DIFFERENT \(max box diff \S+ px; \d+% of '
                                r'boxes agree\)', tracks), tracks
    exports = table_rows(proc.stdout, '| config | WxH | graph |')
    assert [r[2] for r in exports] == ['dynamic H, W', 'static',
                                       'dynamic H, W, int8']
    assert all(float(r[4]) < 1e-4 for r in exports[:2])  # max rel diff
    assert 1e-4 < float(exports[2][4]) < 1  # int8: close, not equal
    goals = table_rows(proc.stdout, '| config | threads | best ORT variant |')
    assert [r[2] for r in goals] == ['ort all'] or [
        r[2] for r in goals] == ['ort all, static']  # never int8
    int8 = table_rows(proc.stdout, '| config | threads | variant |')
    assert [r[2] for r in int8] == ['ort int8']
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
