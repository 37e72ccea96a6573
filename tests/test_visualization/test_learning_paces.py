"""Learning-pace plot: file discovery, parsing, smoothing, mode, errors."""
import json
import os
import os.path as osp

import numpy as np
import pytest

from mmdmw.visualization.learning_paces import (_shown_path, extract_series,
                                                find_scalars, load_scalars,
                                                metric_keys, moving_average,
                                                plot_learning_paces,
                                                weight_mode)

PNG_MAGIC = b'\x89PNG'
MIN_PNG_BYTES = 10_000  # three drawn panels; an empty figure is ~2 kB


def train_record(step: int, cls: float, reg: float, reid: float) -> dict:
    """A LoggerHook line with DMW weights (Eq. 8): w_t = (S - L_t) / S."""
    total = cls + reg + reid
    return dict(lr=1e-3, loss=1.0, task_cls=cls, task_reg=reg,
                task_reid=reid, alpha=(total - cls) / total,
                beta=(total - reg) / total, gamma=(total - reid) / total,
                epoch=1 + step // 20, iter=step, step=step)


RECORDS = [
    train_record(10, 1.0, 2.0, 1.0),
    train_record(20, 0.8, 1.6, 0.6),
    dict({'motchallenge-metric/HOTA': 0.2, 'motchallenge-metric/MOTA': 0.1,
          'motchallenge-metric/IDF1': 0.3, 'motchallenge-metric/IDSW': 3.0},
         step=1),
    train_record(30, 0.5, 1.5, 0.5),
    train_record(40, 0.4, 1.2, 0.4),
    dict({'motchallenge-metric/HOTA': 0.4, 'motchallenge-metric/MOTA': 0.3,
          'motchallenge-metric/IDF1': 0.5}, step=2),
]


def write_run(work_dir: str, stamp: str, records: list) -> str:
    vis = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(vis, exist_ok=True)
    path = osp.join(vis, 'scalars.json')
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    return path


def test_plot_writes_png(tmp_path):
    write_run(str(tmp_path), '20240101_000000', RECORDS)
    out = str(tmp_path / 'paces.png')
    assert plot_learning_paces(str(tmp_path), out, smooth=2, log_y=True) == out
    with open(out, 'rb') as f:
        assert f.read(4) == PNG_MAGIC
    assert osp.getsize(out) > MIN_PNG_BYTES


def test_moving_average():
    values = np.array([1., 2., 3., 4., 5.])
    # Trailing windows of 2: [1], [1,2], [2,3], [3,4], [4,5].
    np.testing.assert_allclose(moving_average(values, 2),
                               [1., 1.5, 2.5, 3.5, 4.5])
    # Windows of 3: [1], [1,2], [1,2,3], [2,3,4], [3,4,5].
    np.testing.assert_allclose(moving_average(values, 3),
                               [1., 1.5, 2., 3., 4.])
    np.testing.assert_allclose(moving_average(values, 1), values)
    np.testing.assert_allclose(moving_average(values, 10),
                               [1., 1.5, 2., 2.5, 3.])
    assert moving_average(np.array([]), 3).size == 0


def test_series_and_metrics():
    losses = extract_series(RECORDS, ('task_reg', 'task_nothing'))
    assert list(losses) == ['task_reg']
    steps, values = losses['task_reg']
    np.testing.assert_allclose(steps, [10, 20, 30, 40])
    np.testing.assert_allclose(values, [2.0, 1.6, 1.5, 1.2])
    keys = metric_keys(RECORDS)
    assert keys == ['motchallenge-metric/HOTA', 'motchallenge-metric/MOTA',
                    'motchallenge-metric/IDF1']  # IDSW is not plotted
    epochs, hota = extract_series(RECORDS, keys)[keys[0]]
    np.testing.assert_allclose(epochs, [1, 2])
    np.testing.assert_allclose(hota, [0.2, 0.4])


def test_weight_mode_guessed_from_sums(tmp_path):
    path = write_run(str(tmp_path), 'run', RECORDS)  # no config.py beside
    weights = extract_series(RECORDS, ('alpha', 'beta', 'gamma'))
    assert weight_mode(path, weights) == 'dmw'  # sums to 2 (Eq. 8)
    # Independent weights are the losses' shares: (1, 2, 1) / 4, sum 1.
    shares = {k: (np.array([10.]), np.array([v]))
              for k, v in zip(('alpha', 'beta', 'gamma'), (.25, .5, .25))}
    assert weight_mode(path, shares) == 'independent'
    fixed = {k: (np.array([10.]), np.array([v]))
             for k, v in zip(('alpha', 'beta', 'gamma'), (.5, 1., 1.5))}
    assert weight_mode(path, fixed) is None


def test_weight_mode_from_saved_config(tmp_path):
    path = write_run(str(tmp_path), 'run', RECORDS)
    with open(osp.join(osp.dirname(path), 'config.py'), 'w') as f:
        f.write("model = dict(loss_weighting=dict(type='DMWLoss', "
                "mode='uncertainty'))\n")
    assert weight_mode(path, {}) == 'uncertainty'


def test_find_latest_run_and_truncated_line(tmp_path):
    write_run(str(tmp_path), '20240101_000000', RECORDS[:1])
    latest = write_run(str(tmp_path), '20240102_000000', RECORDS)
    assert find_scalars(str(tmp_path)) == latest
    assert find_scalars(latest) == latest
    with open(latest, 'a') as f:
        f.write('{"task_cls": 0.3, "st')  # a run killed mid-write
    with pytest.warns(UserWarning, match='truncated'):
        assert len(load_scalars(latest)) == len(RECORDS)
    with pytest.raises(FileNotFoundError, match='no scalars.json'):
        find_scalars(str(tmp_path / 'elsewhere'))


def test_missing_keys_error(tmp_path):
    write_run(str(tmp_path), 'run', [dict(lr=0.1, loss=2.0, step=10)])
    with pytest.raises(KeyError, match='it has: loss, lr, step') as err:
        plot_learning_paces(str(tmp_path), str(tmp_path / 'x.png'))
    assert 'ChainedTracker' in str(err.value)
    assert not osp.exists(tmp_path / 'x.png')


def test_title_shows_no_machine_path(tmp_path, monkeypatch):
    # the default title is the scalars file: relative to the current
    # directory when below it, as given otherwise
    monkeypatch.chdir(tmp_path)
    inside = str(tmp_path / 'work' / 'run' / 'vis_data' / 'scalars.json')
    assert _shown_path(inside) == osp.join('work', 'run', 'vis_data',
                                           'scalars.json')
    outside = str(tmp_path.parent / 'elsewhere' / 'scalars.json')
    assert _shown_path(outside) == outside
