"""The pretrained DMW study (benchmarks/dmw_pretrained.py): plans and run
order, the report rebuilt from hand-made JSONs, and the --quick run (the
statistics are tested in test_study.py)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import dmw_pretrained as study  # noqa: E402

ROW_NAMES = [r.name for r in study.ROWS
             if r.key in study.PLANS['ctracker']]
RESULTS_HEADER = ('| table | row | PSO | n | HOTA | DetA | AssA | MOTA | '
                  'IDF1 | IDSW | IoU 1st box | IoU 2nd box |')
PAIRED_HEADER = ('| row | vs | pairs | Δ HOTA | Δ DetA | Δ AssA | Δ IDSW '
                 '| Δ IoU 1st box | Δ IoU 2nd box |')
SHARES_HEADER = ('| row | n | α | β | γ | L_cls | L_reg | L_reid '
                 '| L_reg / L_cls | share cls')
#: A quick run trains one epoch on one tiny video, then scores it.
QUICK_TIMEOUT = 900


def test_plans_per_loss_scale():
    # mmdet: BENCHMARKS §5.2's 30 runs plus the fixed row at DMW's mean
    # weights (3); ctracker: issue 17's plan, 5 + 5 + 4 x 3
    assert sum(study.PLANS['mmdet'].values()) == 33
    assert sum(study.PLANS['ctracker'].values()) == 22
    assert {k for k, n in study.PLANS['ctracker'].items() if n == 5} == {
        'pso', 'pso_dmw'}
    assert set(study.PLANS['ctracker']) <= set(study.ROW_BY_KEY)


def test_dmw_mean_weights_are_those_of_the_mmdet_scale_jsons():
    """The fixed row copies DMW's mean weights from the study's JSONs."""
    runs = study.load_results(osp.join(ROOT, study.RESULTS_DIRS['mmdet']),
                              16, ['pso_dmw'])['pso_dmw']
    assert len(runs) == 5
    for i, name in enumerate(('alpha', 'beta', 'gamma')):
        mean = sum(r['weights'][name] for r in runs) / len(runs)
        assert study.DMW_MEAN_WEIGHTS_MMDET[i] == pytest.approx(mean,
                                                                abs=5e-5)


def test_run_order_important_rows_first():
    plan = study.PLANS['ctracker']
    order = [(r.key, s) for r, s in study.run_order(study.ROWS, plan,
                                                    study.FIRST)]
    # the fixed and DMW rows with PSO, interleaved by seed, come first
    assert order[:4] == [('pso', 0), ('pso_dmw', 0), ('pso', 1),
                         ('pso_dmw', 1)]
    assert {k for k, _ in order[:10]} == {'pso', 'pso_dmw'}
    assert order[10:14] == [('baseline', 0), ('dmw', 0), ('independent', 0),
                            ('dmw_normalized', 0)]
    assert len(order) == 22 and len(set(order)) == 22


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
    text = study.report(str(tmp_path), epochs=3,
                        plan=study.PLANS['ctracker'])
    assert '6 of 22 runs finished' in text
    lines = text.splitlines()
    # fixed + PSO: HOTA 52 ± 2.8 (sd of 50, 54 = 2.83), n 2/5
    assert '| III | + PSO [fixed (1, 1, 1)] | ✓ | 2/5 | 52.0 ± 2.8 |' in text
    # DMW vs fixed, paired over seeds 0 and 1: HOTA -3, -5 -> -4.0,
    # interval [-5, -3], sign flips |mean| 4, 1, 1, 4 -> p 0.5; DetA +1, +1
    # (p 0.5); AssA -6, -10 -> -8; IDSW 0, 0 (p 1); IoU 1st 0, 0;
    # IoU 2nd -0.1, -0.1
    row = next(l for l in lines if l.startswith('| + PSO + DMW |'))
    assert row == ('| + PSO + DMW | + PSO [fixed (1, 1, 1)] | 2 | '
                   '-4.0 [-5.0, -3.0] p=0.50 | +1.0 [+1.0, +1.0] p=0.50 | '
                   '-8.0 [-10.0, -6.0] p=0.50 | +0.0 [+0.0, +0.0] p=1.00 | '
                   '+0.000 [+0.000, +0.000] p=1.00 | '
                   '-0.100 [-0.100, -0.100] p=0.50 |')
    # + PSO vs the baseline, seed 0 only: HOTA +2, DetA 0, AssA +3, IoU +.01
    # (one pair: no interval)
    row = next(l for l in lines if l.startswith('| + PSO [fixed (1, 1, 1)] |'
                                                ' baseline'))
    assert row == ('| + PSO [fixed (1, 1, 1)] | baseline (1, 1, 1) | 1 | '
                   '+2.0 | +0.0 | +3.0 | +0.0 | +0.000 | +0.010 |')
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
    assert '1 of 22 runs finished (1 epochs each' in out
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
    # the row's table cells are its JSON's numbers (one seed: the mean)
    for cell, metric in zip(cells[4:9], ('HOTA', 'DetA', 'AssA', 'MOTA',
                                         'IDF1')):
        assert float(cell.split(' ± ')[0]) == pytest.approx(
            saved['metrics'][metric], abs=0.05 + 1e-9), metric
    # HOTA = mean over alpha of sqrt(DetA_a * AssA_a) <= sqrt(DetA * AssA)
    # (Cauchy-Schwarz), whatever the model learnt in one epoch
    m = saved['metrics']
    assert m['HOTA'] <= (m['DetA'] * m['AssA'])**0.5 + 1e-3
    # row 'pso' is fixed (1, 1, 1): its logged weights are exactly 1
    assert saved['weights'] == dict(alpha=1., beta=1., gamma=1.)
    # each measurement's three shares divide the shared gradient's norm
    # sum, so their means over the same measurements sum to 1
    shares = saved['grad_shares']
    assert all(0 < shares[k] < 1 for k in ('cls', 'reg', 'reid')), shares
    assert sum(shares.values()) == pytest.approx(1., abs=1e-6), shares
    # a rerun skips the finished run
    again = subprocess.run(
        [sys.executable, osp.join(ROOT, 'benchmarks', 'dmw_pretrained.py'),
         '--quick', '--work-root', str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=QUICK_TIMEOUT)
    assert '0 run(s) to do' in again.stdout
