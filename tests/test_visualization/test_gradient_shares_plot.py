"""Gradient-share plot: parsing, second-half means, the error, the PNG."""
import json

import pytest

from mmdmw.visualization.gradient_shares import (load_shares, mean_shares,
                                                 plot_gradient_shares)

PNG_MAGIC = b'\x89PNG'


def write_run(path, shares):
    """A scalars.json: LoggerHook lines, then the hook's lines at steps
    10, 20, ... with the given (cls, reg, reid) shares."""
    with open(path, 'w') as f:
        for i, (cls, reg, reid) in enumerate(shares):
            step = 10 * (i + 1)
            f.write(json.dumps(dict(task_cls=0.5, task_reg=3., task_reid=.4,
                                    alpha=1., beta=1., gamma=1., iter=step,
                                    step=step)) + '\n')
            f.write(json.dumps({'grad_norm/cls': cls, 'grad_norm/reg': reg,
                                'grad_norm/reid': reid,
                                'grad_share/cls': cls, 'grad_share/reg': reg,
                                'grad_share/reid': reid, 'step': step}) +
                    '\n')
    return str(path)


SHARES = [(0.2, 0.7, 0.1), (0.3, 0.6, 0.1), (0.4, 0.4, 0.2),
          (0.5, 0.3, 0.2)]


def test_mean_shares_over_second_half(tmp_path):
    run = write_run(tmp_path / 'scalars.json', SHARES)
    shares = load_shares(run)
    assert shares['grad_share/reg'][0].tolist() == [10, 20, 30, 40]
    # steps 10..40, second half from 25: the last two points
    means = mean_shares(shares, start_fraction=0.5)
    assert means == pytest.approx(dict(cls=0.45, reg=0.35, reid=0.2))
    assert mean_shares(shares)['reg'] == pytest.approx(0.5)


def test_plot_two_runs(tmp_path):
    fixed = write_run(tmp_path / 'fixed.json', SHARES)
    dmw = write_run(tmp_path / 'dmw.json', SHARES[::-1])
    out = plot_gradient_shares([fixed, dmw], ['fixed', 'DMW'],
                               str(tmp_path / 'shares.png'), smooth=2)
    with open(out, 'rb') as f:
        assert f.read(4) == PNG_MAGIC


def test_no_shares_logged_says_how(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text(json.dumps(dict(task_cls=1., step=1)) + '\n')
    with pytest.raises(KeyError, match='GradientShareHook'):
        load_shares(str(path))
    with pytest.raises(ValueError, match='2 runs but 1 labels'):
        plot_gradient_shares([str(path), str(path)], ['one'])
