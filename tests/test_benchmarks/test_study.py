"""The studies' shared runner (benchmarks/_study.py): run order, result
files, the job loop and the statistics, on numbers worked out by hand."""
import json
import math
import os.path as osp
import subprocess
import sys
from typing import NamedTuple

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import _study as study  # noqa: E402


class Row(NamedTuple):
    key: str


A, B, C, D = Row('a'), Row('b'), Row('c'), Row('d')


def test_run_order_first_rows_then_the_rest_interleaved_by_seed():
    seeds = dict(a=3, b=2, c=1)  # d is not planned
    order = study.run_order([A, B, C, D], seeds, first=('b', ))
    assert order == [(B, 0), (B, 1), (A, 0), (C, 0), (A, 1), (A, 2)]
    assert study.run_order([A, B, C, D], seeds, first=('b', ),
                           max_seeds=1) == [(B, 0), (A, 0), (C, 0)]


def test_mean_std():
    assert study.mean_std([1., 2., 3.]) == '2.0 ± 1.0'
    # None and NaN left out: sd of (4, 6) = sqrt(2) = 1.41
    assert study.mean_std([None, math.nan, 4., 6.], 2) == '5.00 ± 1.41'
    assert study.mean_std([5.]) == '5.0'
    assert study.mean_std([]) == '—'


def test_bootstrap_ci():
    # all differences equal: every resample has the same mean
    assert study.bootstrap_ci([2., 2., 2.]) == pytest.approx((2., 2.))
    # two values: P(both picks the same value) = 1/4 on each side, beyond
    # the 2.5% tails, so the interval is the range
    assert study.bootstrap_ci([0., 10.]) == pytest.approx((0., 10.))


def test_sign_flip_p():
    # (1, 2, 3), mean 2: of the 8 sign patterns only +++ and --- reach
    # |mean| 2 (the others: 0, 2/3, 4/3, 4/3, 2/3, 0) -> 2/8
    assert study.sign_flip_p([1., 2., 3.]) == 0.25
    # (3, 1, -1), mean 1: sums of +-3 +-1 +-1 are 5, 3, 3, 1, -1, -3, -3,
    # -5, so |mean| >= 1 in 6 of 8
    assert study.sign_flip_p([3., 1., -1.]) == 0.75
    # five seeds of one sign: the least p five seeds allow, 2/32
    assert study.sign_flip_p([1., 2., 3., 4., 5.]) == 2 / 32
    assert study.sign_flip_p([1., -1., 1., -1.]) == 1.0


def test_sign_test_p():
    assert study.sign_test_p([1., 2., 3., 4., 5.]) == 2 / 32
    # one of five against: 2 * (C(5,0) + C(5,1)) / 32 = 12/32
    assert study.sign_test_p([1., 1., 1., 1., -1.]) == 12 / 32
    # a tie is dropped: two of two positive, 2 * 1/4
    assert study.sign_test_p([0., 1., 1.]) == 0.5
    assert study.sign_test_p([1., 2., -3.]) == 1.0
    assert study.sign_test_p([0., 0.]) == 1.0


def test_paired_cell():
    # -3, -5: mean -4, interval the range, sign flips give |mean| 4, 1, 1,
    # 4 -> p = 2/4
    assert study.paired_cell([-3., -5.], 1) == '-4.0 [-5.0, -3.0] p=0.50'
    assert study.paired_cell([0.25, math.nan], 2) == '+0.25'
    assert study.paired_cell([], 1) == '—'


def test_results_written_whole_and_read_back_by_row(tmp_path):
    def put(row, seed, epochs):
        study.write_result(
            study.result_path(str(tmp_path), row, seed, epochs),
            dict(row=row, seed=seed, epochs=epochs))

    put('a', 1, 16), put('a', 0, 16), put('b', 0, 16)
    put('a', 2, 24)  # another schedule
    put('z', 0, 16)  # a row not asked for
    assert not list(tmp_path.glob('*.tmp'))
    by_row = study.load_results(str(tmp_path), 16, ['a', 'b'])
    assert {k: [r['seed'] for r in v] for k, v in by_row.items()} == {
        'a': [0, 1], 'b': [0]}
    with open(tmp_path / 'a_e16_seed1.json') as f:
        assert json.load(f) == dict(row='a', seed=1, epochs=16)


def test_run_all_keeps_going_past_a_failure(capsys):
    seen = []

    def one(row, seed):
        if row is B:
            raise RuntimeError('diverged')
        return dict(score=seed)

    failed = study.run_all([(A, 0), (B, 0), (A, 1)], one, 2,
                           lambda r, s, res: seen.append((r, s, res)))
    assert sorted(seen) == [(A, 0, dict(score=0)), (A, 1, dict(score=1))]
    assert failed == ["Row(key='b') seed 0: diverged"]


def test_code_version_names_the_commit_and_uncommitted_code(tmp_path):
    def git(*args):
        return subprocess.run(
            ['git', '-c', 'user.name=t', '-c', 'user.email=t@t', *args],
            cwd=tmp_path, check=True, capture_output=True,
            text=True).stdout.strip()

    git('init', '-q')
    (tmp_path / 'mmdmw').mkdir()
    (tmp_path / 'mmdmw' / 'm.py').write_text('x = 1\n')
    (tmp_path / 'notes.txt').write_text('a\n')
    git('add', '.')
    git('commit', '-qm', 'one')
    head = git('rev-parse', 'HEAD')
    assert study.code_version(str(tmp_path)) == head
    (tmp_path / 'notes.txt').write_text('b\n')  # not code
    assert study.code_version(str(tmp_path)) == head
    (tmp_path / 'mmdmw' / 'm.py').write_text('x = 2\n')
    assert study.code_version(str(tmp_path)) == head + '+dirty'
