"""The pretrained DMW study (benchmarks/dmw_pretrained.py): run order,
bootstrap, the report rebuilt from hand-made JSONs, and the --quick run."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import dmw_pretrained as study  # noqa: E402

ROW_NAMES = [r.name for r in study.ROWS]
RESULTS_HEADER = ('| table | row | PSO | n | HOTA | DetA | AssA | MOTA | '
                  'IDF1 | IDSW | IoU 1st box | IoU 2nd box |')
PAIRED_HEADER = ('| row | vs | pairs | Δ HOTA [95% CI] | Δ DetA [95% CI] '
                 '| Δ AssA [95% CI] | Δ IoU 2nd box [95% CI] |')
SHARES_HEADER = '| row | n | α | β | γ | L_cls | L_reg | L_reid | share cls'
#: A quick run trains one epoch on one tiny video, then scores it.
QUICK_TIMEOUT = 900


def test_rows_and_seeds_planned():
    assert sum(r.seeds for r in study.ROWS) == 30
    five = {r.key for r in study.ROWS if r.seeds == 5}
    assert five == {'pso', 'pso_dmw', 'dmw_normalized'}


def test_run_order_important_rows_first():
    order = [(r.key, s) for r, s in study.run_order(study.ROWS)]
    # the fixed, DMW and variant rows, interleaved by seed, come first
    assert order[:6] == [('pso', 0), ('pso_dmw', 0), ('dmw_normalized', 0),
                         ('pso', 1), ('pso_dmw', 1), ('dmw_normalized', 1)]
    assert {k for k, _ in order[:15]} == set(study.FIRST)
    assert order[15] == ('baseline', 0)
    assert len(order) == 30 and len(set(order)) == 30
    capped = study.run_order(study.ROWS, max_seeds=1)
    assert len(capped) == len(study.ROWS)


def test_bootstrap_ci():
    # all differences equal: every resample has the same mean
    assert study.bootstrap_ci([2., 2., 2.]) == pytest.approx((2., 2.))
    # two values: resampled means lie in [min, max], the interval spans
    # from the first to the second (P(all picks equal) = 1/4 each side)
    low, high = study.bootstrap_ci([0., 10.])
    assert (low, high) == pytest.approx((0., 10.))


def fake_result(row, seed, hota, deta, assa, second_iou):
    return dict(
        row=row, seed=seed, epochs=3,
        metrics=dict(HOTA=hota, DetA=deta, AssA=assa, MOTA=50., IDF1=60.,
                     IDSW=4),
        pair_halves=dict(first_iou=0.8, second_iou=second_iou),
        val_hota_curve=[[1, hota - 10], [3, hota]],
        weights=dict(alpha=1., beta=1., gamma=1.),
        task_losses=dict(cls=0.2, reg=1.5, reid=0.1),
        grad_shares=dict(cls=0.3, reg=0.5, reid=0.2))


def test_report_from_jsons(tmp_path):
    runs = [('pso', 0, 50., 40., 60., .70), ('pso', 1, 54., 42., 66., .72),
            ('pso_dmw', 0, 47., 41., 54., .60),
            ('pso_dmw', 1, 49., 43., 56., .62),
            ('pso_dmw', 2, 90., 90., 90., .90),  # seed 2 has no partner
            ('baseline', 0, 48., 40., 57., .69)]
    for args in runs:
        with open(tmp_path / f'{args[0]}_e3_seed{args[1]}.json', 'w') as f:
            json.dump(fake_result(*args), f)
    # another schedule is left out of the tables
    with open(tmp_path / 'pso_e9_seed0.json', 'w') as f:
        json.dump(dict(fake_result('pso', 0, 0., 0., 0., 0.), epochs=9), f)
    text = study.report(str(tmp_path), epochs=3)
    assert '6 of 30 runs finished' in text
    lines = text.splitlines()
    # fixed + PSO: HOTA 52 ± 2.8 (sd of 50, 54 = 2.83), n 2/5
    assert '| III | + PSO [fixed (1, 1, 1)] | ✓ | 2/5 | 52.0 ± 2.8 |' in text
    # DMW vs fixed, paired over seeds 0 and 1: HOTA -3, -5 -> -4.0,
    # interval [-5, -3]; DetA +1, +1; AssA -6, -10 -> -8; IoU -0.1, -0.1
    row = next(l for l in lines if l.startswith('| + PSO + DMW |'))
    assert row == ('| + PSO + DMW | + PSO [fixed (1, 1, 1)] | 2 | '
                   '-4.0 [-5.0, -3.0] | +1.0 [+1.0, +1.0] | '
                   '-8.0 [-10.0, -6.0] | -0.100 [-0.100, -0.100] |')
    # + PSO vs the baseline, seed 0 only: HOTA +2, DetA 0, AssA +3, IoU +.01
    # (one pair: no interval)
    row = next(l for l in lines if l.startswith('| + PSO [fixed (1, 1, 1)] |'
                                                ' baseline'))
    assert row == ('| + PSO [fixed (1, 1, 1)] | baseline (1, 1, 1) | 1 | '
                   '+2.0 | +0.0 | +3.0 | +0.010 |')
    for header in (RESULTS_HEADER, PAIRED_HEADER, SHARES_HEADER):
        assert header in text
    for name in ROW_NAMES:  # every row printed, done or not
        assert f'| {name} |' in text
    # the fixed row's val curve, mean of the two seeds: 42.0, 52.0
    assert '| + PSO [fixed (1, 1, 1)] | 42.0 | 52.0 |' in text


@pytest.mark.slow
def test_quick_run_prints_rows_and_columns(tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'dmw_pretrained.py'),
         '--quick', '--work-root', str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=QUICK_TIMEOUT,
        env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert '1 of 30 runs finished (1 epochs each' in out
    for header in (RESULTS_HEADER, PAIRED_HEADER, SHARES_HEADER):
        assert header in out
    for name in ROW_NAMES:
        assert f'| {name} |' in out
    # the one finished row has n = 1 of 5 and numbers in every column
    row = next(l for l in out.splitlines()
               if l.startswith('| III | + PSO [fixed (1, 1, 1)] |'))
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[3] == '1/5'
    assert len(cells) == 12 and '—' not in cells[4:10]
    # its JSON is there, under the quick run's own results folder
    saved = json.load(open(tmp_path / 'results' / 'pso_e1_seed0.json'))
    assert set(saved['metrics']) == set(study.METRICS)
    assert {'first_iou', 'second_iou'} <= set(saved['pair_halves'])
    assert saved['grad_shares']['reg'] is not None
    # a rerun skips the finished run
    again = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'dmw_pretrained.py'),
         '--quick', '--work-root', str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=QUICK_TIMEOUT)
    assert '0 run(s) to do' in again.stdout
