"""``benchmarks/tracking_quality.py --quick`` prints its four tables (TUD-
Campus when the shared sequence is there, crowd always) with one row per
quick condition and numbers in every measured cell, including the legacy
tracker's ("before") and the ours-minus-ByteTracker spread.

The second table must agree with the first: each "ours − Byte" mean is the
difference of the two trackers' means printed in the first (to rounding),
each "before − Byte" likewise, and the verdict "ours ≥ Byte (H, M, I)" is
"yes" exactly when none of the HOTA, MOTA and IDF1 differences is negative
(the script's rule: mean of ours ≥ mean of ByteTracker on all three); the
verdict against the legacy tracker agrees with the printed means."""
import os
import os.path as osp
import re
import subprocess
import sys
from typing import List

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TUD_GT = osp.join(osp.dirname(ROOT), 'shared', 'data', 'TUD-Campus', 'gt',
                  'gt.txt')
TIMEOUT = 300
TRACKERS = [
    'ours', 'before (legacy)', 'ByteTracker', 'SORTTracker', 'OCSORTTracker'
]
METRICS = ['HOTA', 'MOTA', 'IDF1', 'IDSW']
GOALS = 3  # the verdict's metrics: the first three
NUMBER = r'[+-]?\d+(\.\d+)?'
#: Two means printed to 0.1 and their difference printed to 0.1 agree to
#: 0.05 + 0.05 + 0.05, plus float slack.
ROUNDING = 0.15 + 1e-9


def table_after(out: str, caption: str) -> List[List[str]]:
    """Rows (cells) of the markdown table printed after ``caption``."""
    lines = out[out.index(caption):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('|'))
    rows = []
    for line in lines[start:]:
        if not line.startswith('|'):
            break
        rows.append([c.strip() for c in line.strip('|').split('|')])
    return rows


@pytest.fixture(scope='module')
def output() -> str:
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'tracking_quality.py'),
         '--quick'], cwd=ROOT, capture_output=True, text=True,
        timeout=TIMEOUT, env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize('family, conditions', [
    ('TUD-Campus', ['jitter', 'drop', 'false/frame', 'true scores']),
    ('Crowd (synthetic; every tracker with its MOT20 settings)',
     ['jitter', 'drop', 'false/frame', 'true scores', 'pair corr'])])
def test_quick_tables(output, family, conditions):
    if family == 'TUD-Campus' and not osp.isfile(TUD_GT):
        assert 'skipped: ' in output
        return
    table = table_after(output, f'**{family}: HOTA / MOTA / IDF1 / IDSW')
    header, rows = table[0], table[2:]
    assert header == conditions + TRACKERS
    assert len(rows) == 1  # one quick condition
    for cell in rows[0][len(conditions):]:  # "H / M / I / S" per tracker
        values = cell.split(' / ')
        assert len(values) == 4 and all(re.fullmatch(NUMBER, v)
                                        for v in values), cell
    delta = table_after(output, f'**{family}: ours minus ByteTracker')
    assert delta[0] == conditions + [
        'ours − Byte: HOTA', 'ours − Byte: MOTA', 'ours − Byte: IDF1',
        'ours − Byte: IDSW', 'ours ≥ Byte (H, M, I)',
        'ours ≥ before (H, M, I)', 'before − Byte: HOTA',
        'before − Byte: MOTA', 'before − Byte: IDF1'
    ]
    row = delta[2]
    assert len(delta) == 3
    assert row[:len(conditions)] == rows[0][:len(conditions)]
    spreads = row[len(conditions):len(conditions) + 4]
    assert all(re.fullmatch(rf'{NUMBER} ± \d+\.\d', c) for c in spreads), row
    assert all(re.fullmatch(NUMBER, c) for c in row[-3:]), row
    # means per tracker and metric, from the first table
    means = {
        name: dict(zip(METRICS, map(float, cell.split(' / '))))
        for name, cell in zip(TRACKERS, rows[0][len(conditions):])
    }
    ours_minus = [float(c.split(' ± ')[0]) for c in spreads]
    before_minus = [float(c) for c in row[-3:]]
    for i, metric in enumerate(METRICS):
        want = means['ours'][metric] - means['ByteTracker'][metric]
        assert abs(ours_minus[i] - want) <= ROUNDING, (metric, row)
        if i < GOALS:
            want = (means['before (legacy)'][metric] -
                    means['ByteTracker'][metric])
            assert abs(before_minus[i] - want) <= ROUNDING, (metric, row)
    # "-0.0" is a difference in (-0.05, 0): negative, so "no"
    verdict = row[len(conditions) + 4]
    negative = any(c.startswith('-') for c in spreads[:GOALS])
    assert verdict == ('no' if negative else 'yes'), row
    # against the legacy tracker, from the printed means (to 0.1): a printed
    # deficit means "no", a printed lead on all three means "yes"
    gaps = [means['ours'][m] - means['before (legacy)'][m]
            for m in METRICS[:GOALS]]
    against_legacy = row[len(conditions) + 5]
    if min(gaps) < 0:
        assert against_legacy == 'no', row
    elif min(gaps) > 0:
        assert against_legacy == 'yes', row
