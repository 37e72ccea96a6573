"""A tiny train -> resume -> track -> evaluate run through the real tools on
CPU, with two training processes through tools/dist_train.sh."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
FRAMES = 12  # per video: half-train 7 frames, half-val 5


def run_tool(*args, env=None, timeout=600) -> str:
    env = {**os.environ, 'MPLBACKEND': 'Agg', **(env or {})}
    proc = subprocess.run([*args],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthetic_mot'))
    run_tool(sys.executable, 'tools/misc/make_synthetic_mot.py', root,
             '--num-train', '2', '--num-test', '1', '--frames', str(FRAMES))
    return root


def cfg_options(data_root: str, epochs: int) -> list:
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}/',
        f'val_dataloader.dataset.data_root={data_root}/',
        f'test_dataloader.dataset.data_root={data_root}/',
        f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1'
    ]


@pytest.fixture(scope='module')
def trained(data_root, tmp_path_factory) -> str:
    work_dir = str(tmp_path_factory.mktemp('work'))
    run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
             work_dir, *cfg_options(data_root, epochs=1))
    return work_dir


def scalars(work_dir: str) -> list:
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                         'scalars.json')))
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f]


@pytest.mark.slow
def test_train_logs_task_losses_and_weights(trained):
    assert osp.isfile(osp.join(trained, 'epoch_1.pth'))
    train_logs = [s for s in scalars(trained) if 'task_cls' in s]
    assert train_logs, 'no training iteration was logged'
    for log in train_logs:
        for key in ('loss', 'task_cls', 'task_reg', 'task_reid'):
            assert log[key] >= 0
        # Eq. 8: the three dynamic weights always sum to 2.
        assert log['alpha'] + log['beta'] + log['gamma'] == pytest.approx(
            2, abs=1e-3)
    val = [s for s in scalars(trained) if 'motchallenge-metric/HOTA' in s]
    assert val and 0 <= val[-1]['motchallenge-metric/HOTA'] <= 100


@pytest.mark.slow
def test_resume_continues_from_last_checkpoint(trained, data_root):
    out = run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                   trained, '--resume', *cfg_options(data_root, epochs=2))
    assert 'resumed epoch: 1' in out, out[-3000:]
    first = torch.load(osp.join(trained, 'epoch_1.pth'), weights_only=False)
    second = torch.load(osp.join(trained, 'epoch_2.pth'), weights_only=False)
    assert second['meta']['epoch'] == 2
    assert second['meta']['iter'] == 2 * first['meta']['iter']


@pytest.mark.slow
def test_track_and_evaluate(trained, data_root, tmp_path):
    out_dir = str(tmp_path / 'results')
    out = run_tool(sys.executable, 'tools/test.py', CONFIG,
                   osp.join(trained, 'epoch_1.pth'), '--eval', 'track',
                   '--out', out_dir, '--work-dir', str(tmp_path / 'test'),
                   '--show-dir', str(tmp_path / 'show'),
                   *cfg_options(data_root, epochs=1))
    for name in ('HOTA', 'DetA', 'AssA', 'LocA', 'MOTA', 'MOTP', 'IDF1',
                 'IDSW', 'MT', 'ML'):
        assert f'motchallenge-metric/{name}:' in out, name
    assert sorted(os.listdir(out_dir)) == ['SYN-01.txt', 'SYN-02.txt']
    # --show-dir renders every tracked frame, ground truth beside it.
    shown = [f for _, _, files in os.walk(tmp_path / 'show') for f in files]
    assert len(shown) == 2 * (FRAMES - FRAMES // 2 - 1)
    with open(osp.join(out_dir, 'SYN-01.txt')) as f:
        for line in f:
            fields = line.strip().split(',')
            assert len(fields) == 10
            # half-val frames restart at 1; five frames per video here
            assert 1 <= int(fields[0]) <= FRAMES - FRAMES // 2 - 1


@pytest.mark.slow
def test_dist_train_two_processes(data_root, tmp_path):
    work_dir = str(tmp_path / 'dist')
    out = run_tool('bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
                   work_dir, *cfg_options(data_root, epochs=1),
                   'train_cfg.val_interval=2',
                   env={'PORT': '29517', 'MMDMW_PYTHON': sys.executable})
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth')), out[-3000:]
    assert 'Distributed training is not used' not in out


# With thresholds at 0 even a one-epoch model outputs many tracks, so the
# comparison below has real content.
EVERY_BOX = [
    'model.head.test_cfg.score_thr=0.0', 'model.tracker.init_score_thr=0.0',
    'model.tracker.score_thr=0.0', 'model.head.test_cfg.max_per_img=20'
]


def read_results(out_dir: str) -> dict:
    results = {}
    for name in sorted(os.listdir(out_dir)):
        with open(osp.join(out_dir, name)) as f:
            results[name] = f.read()
    return results


@pytest.mark.slow
def test_dist_test_matches_single_process(trained, data_root, tmp_path):
    checkpoint = osp.join(trained, 'epoch_1.pth')
    single = run_tool(sys.executable, 'tools/test.py', CONFIG, checkpoint,
                      '--eval', 'track', 'bbox', '--out',
                      str(tmp_path / 'single'), '--work-dir',
                      str(tmp_path / 'w1'),
                      *cfg_options(data_root, epochs=1), *EVERY_BOX)
    dist = run_tool('bash', 'tools/dist_test.sh', CONFIG, checkpoint, '2',
                    '--eval', 'track', '--out', str(tmp_path / 'dist'),
                    '--work-dir', str(tmp_path / 'w2'),
                    *cfg_options(data_root, epochs=1), *EVERY_BOX,
                    env={'PORT': '29518', 'MMDMW_PYTHON': sys.executable})
    single_files = read_results(str(tmp_path / 'single'))
    assert all(single_files.values()), 'expected tracks in every sequence'
    assert read_results(str(tmp_path / 'dist')) == single_files

    def table(out: str) -> str:
        lines = out.splitlines()
        head = [i for i, line in enumerate(lines)
                if line.strip().startswith('HOTA |')][-1]
        return '\n'.join(lines[head:head + 3])

    assert table(dist) == table(single)
    assert 'coco/bbox_mAP:' in single
