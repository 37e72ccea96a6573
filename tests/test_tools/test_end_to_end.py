"""A tiny train -> resume -> track -> evaluate run through the real tools on
CPU, with two training processes through tools/dist_train.sh, and every
tool's checkpoint loading refusing a booby-trapped checkpoint."""
import json
import math
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict

import numpy as np
import pytest
import torch

from mmdmw.utils.safe_checkpoint import (checkpoint_safe_global_names,
                                         load_checkpoint_file)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
FRAMES = 12  # per video: half-train 7 frames, half-val 5
BATCH = 4  # the config's train_dataloader.batch_size


def run_tool(*args, env=None, timeout=600, expect_rc=0) -> str:
    env = {**os.environ, 'MPLBACKEND': 'Agg', **(env or {})}
    proc = subprocess.run([*args],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == expect_rc, output[-4000:]
    return output


def num_train_samples(data_root: str) -> int:
    """Frames of the half-train split (7 per video here)."""
    with open(osp.join(data_root, 'annotations',
                       'half-train_cocoformat.json')) as f:
        return len(json.load(f)['images'])


def metrics_printed(out: str) -> dict:
    """``motchallenge-metric/NAME: VALUE`` pairs of a tool's log."""
    return {
        name: float(value) for name, value in re.findall(
            r'motchallenge-metric/(\w+): ([-\d.]+)', out)
    }


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


# With thresholds at 0 even a one-epoch model outputs many tracks, so the
# comparisons below have real content.
EVERY_BOX = [
    'model.head.test_cfg.score_thr=0.0', 'model.tracker.init_score_thr=0.0',
    'model.tracker.score_thr=0.0', 'model.head.test_cfg.max_per_img=20'
]


@pytest.fixture(scope='module')
def trained(data_root, tmp_path_factory) -> str:
    work_dir = str(tmp_path_factory.mktemp('work'))
    run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
             work_dir, *cfg_options(data_root, epochs=1), *EVERY_BOX)
    return work_dir


def scalars(work_dir: str, run: int = -1) -> list:
    """Logged scalars of a run in ``work_dir`` (by default the latest; the
    resume test adds a second run to the ``trained`` work dir)."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                         'scalars.json')))
    with open(osp.join(work_dir, runs[run], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f]


@pytest.mark.slow
def test_train_logs_task_losses_and_weights(trained, data_root):
    train_logs = [s for s in scalars(trained, 0) if 'task_cls' in s]
    # one process, batch 4: every sample once per epoch
    per_epoch = math.ceil(num_train_samples(data_root) / BATCH)
    assert [log['iter'] for log in train_logs] == list(
        range(1, per_epoch + 1))
    assert load_checkpoint_file(osp.join(
        trained, 'epoch_1.pth'))['meta']['iter'] == per_epoch
    for log in train_logs:
        # focal losses of the many negative anchors are never 0
        for key in ('loss', 'task_cls', 'task_reid'):
            assert log[key] > 0, (key, log)
        # Eq. 8: each weight lies in [0, 1], the three sum to 2.
        for key in ('alpha', 'beta', 'gamma'):
            assert 0 <= log[key] <= 1, (key, log)
        assert log['alpha'] + log['beta'] + log['gamma'] == pytest.approx(
            2, abs=1e-3)
    val = [s for s in scalars(trained, 0)
           if 'motchallenge-metric/HOTA' in s]
    assert len(val) == 1  # val_interval=1, one epoch
    hota, det_a, ass_a = (val[0][f'motchallenge-metric/{k}']
                          for k in ('HOTA', 'DetA', 'AssA'))
    # every box kept: some overlap a person at TrackEval's lowest alpha
    assert hota > 0
    # HOTA = mean over alpha of sqrt(DetA_a * AssA_a), which Cauchy-Schwarz
    # bounds by sqrt(mean DetA * mean AssA); the value itself is recomputed
    # from the result files in test_track_and_evaluate
    assert hota <= math.sqrt(det_a * ass_a) + 1e-3


@pytest.mark.slow
def test_resume_continues_from_last_checkpoint(trained, data_root):
    out = run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                   trained, '--resume', *cfg_options(data_root, epochs=2))
    assert 'resumed epoch: 1' in out, out[-3000:]
    first = load_checkpoint_file(osp.join(trained, 'epoch_1.pth'))
    second = load_checkpoint_file(osp.join(trained, 'epoch_2.pth'))
    assert second['meta']['epoch'] == 2
    assert second['meta']['iter'] == 2 * first['meta']['iter']


@pytest.mark.slow
def test_runner_checkpoints_need_only_the_allowlist(trained):
    """What the Runner really writes: no ``builtins.getattr`` (compat mend
    7), nothing outside the safe loader's allowlist."""
    path = osp.join(trained, 'epoch_1.pth')
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert 'builtins.getattr' not in needed
    assert needed <= set(checkpoint_safe_global_names()), needed


@pytest.mark.slow
def test_track_and_evaluate(trained, data_root, tmp_path):
    out_dir = str(tmp_path / 'results')
    out = run_tool(sys.executable, 'tools/test.py', CONFIG,
                   osp.join(trained, 'epoch_1.pth'), '--eval', 'track',
                   '--out', out_dir, '--work-dir', str(tmp_path / 'test'),
                   '--show-dir', str(tmp_path / 'show'),
                   *cfg_options(data_root, epochs=1), *EVERY_BOX)
    tested = metrics_printed(out)
    # The validation after epoch 1 tracked the same frames with the same
    # weights: tools/test.py on epoch_1.pth must give its figures.
    val = [s for s in scalars(trained, 0)
           if 'motchallenge-metric/HOTA' in s][0]
    for name in ('HOTA', 'DetA', 'AssA', 'LocA', 'MOTA', 'MOTP', 'IDF1',
                 'IDP', 'IDR', 'FP', 'FN', 'IDSW', 'MT', 'ML'):
        assert tested[name] == pytest.approx(
            val[f'motchallenge-metric/{name}'], abs=1e-3), name
    # What the tool printed is TrackEval's score of the files it wrote:
    # the --out files against the half-val ground truth, scored here by
    # TrackEval directly.
    again = trackeval_of_files(data_root, out_dir, str(tmp_path / 'again'))
    assert again['HOTA'] > 0  # every box kept: something to compare
    for name, value in again.items():
        assert tested[name] == pytest.approx(value, abs=1e-3), name
    # IDF1 is the harmonic mean of IDP and IDR (all three from IDTP).
    idp, idr = tested['IDP'], tested['IDR']
    assert tested['IDF1'] == pytest.approx(2 * idp * idr / (idp + idr),
                                           abs=0.01)
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


def trackeval_of_files(data_root: str, out_dir: str, tmp: str) -> dict:
    """Score MOTChallenge result files ``out_dir/SEQ.txt`` against the
    half-val ground truth with TrackEval, as the config's ``MOTTableMetric``
    does (benchmark MOT17, its preprocessing, CLEAR and Identity at IoU
    0.5), but from the files and the annotation JSON only.

    Returns:
        dict: HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1 (%), FP, FN, IDSW.
    """
    import trackeval
    with open(osp.join(data_root, 'annotations',
                       'half-val_cocoformat.json')) as f:
        coco = json.load(f)
    videos = {v['id']: v['name'] for v in coco['videos']}
    images = {im['id']: im for im in coco['images']}
    lengths = Counter(videos[im['video_id']] for im in images.values())
    gt_rows = defaultdict(list)
    for ann in coco['annotations']:
        image = images[ann['image_id']]
        gt_rows[videos[image['video_id']]].append(
            (image['frame_id'] + 1, ann['instance_id'], *ann['bbox'],
             ann['mot_conf'], ann['category_id'], ann['visibility']))
    gt_dir, tracker_dir = osp.join(tmp, 'gt'), osp.join(tmp, 'trackers')
    os.makedirs(gt_dir)
    os.makedirs(osp.join(tracker_dir, 'files'))
    for seq in lengths:
        np.savetxt(osp.join(gt_dir, f'{seq}.txt'), np.array(gt_rows[seq]),
                   fmt='%d,%d,%d,%d,%d,%d,%d,%d,%.5f')
        shutil.copy(osp.join(out_dir, f'{seq}.txt'),
                    osp.join(tracker_dir, 'files', f'{seq}.txt'))
    dataset = trackeval.datasets.MotChallenge2DBox(dict(
        GT_FOLDER=gt_dir, TRACKERS_FOLDER=tracker_dir,
        TRACKERS_TO_EVAL=['files'], BENCHMARK='MOT17', DO_PREPROC=True,
        SEQ_INFO=dict(lengths), GT_LOC_FORMAT='{gt_folder}/{seq}.txt',
        SKIP_SPLIT_FOL=True, TRACKER_SUB_FOLDER='', PRINT_CONFIG=False))
    config = trackeval.Evaluator.get_default_eval_config()
    config.update(PRINT_RESULTS=False, PRINT_CONFIG=False,
                  TIME_PROGRESS=False, OUTPUT_SUMMARY=False,
                  OUTPUT_DETAILED=False, PLOT_CURVES=False)
    quiet = dict(PRINT_CONFIG=False, THRESHOLD=0.5)
    metrics = [trackeval.metrics.HOTA(quiet), trackeval.metrics.CLEAR(quiet),
               trackeval.metrics.Identity(quiet)]
    out, _ = trackeval.Evaluator(config).evaluate([dataset], metrics)
    res = out['MotChallenge2DBox']['files']['COMBINED_SEQ']['pedestrian']
    scores = {k: 100 * float(np.mean(res['HOTA'][k]))
              for k in ('HOTA', 'DetA', 'AssA', 'LocA')}
    scores.update({k: 100 * float(res['CLEAR'][k]) for k in ('MOTA', 'MOTP')})
    scores['IDF1'] = 100 * float(res['Identity']['IDF1'])
    scores.update({k: float(res['CLEAR'][f]) for k, f in (
        ('FP', 'CLR_FP'), ('FN', 'CLR_FN'), ('IDSW', 'IDSW'))})
    return scores


@pytest.mark.slow
def test_dist_train_two_processes(data_root, tmp_path):
    """Each of the two ranks sees half of the samples: an epoch takes
    ceil(ceil(n / 2) / batch) iterations, not ceil(n / batch)."""
    work_dir = str(tmp_path / 'dist')
    out = run_tool('bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
                   work_dir, *cfg_options(data_root, epochs=1),
                   'train_cfg.val_interval=2',
                   env={'PORT': '29517', 'MMDMW_PYTHON': sys.executable})
    assert 'Distributed training is not used' not in out
    samples = num_train_samples(data_root)
    per_rank = math.ceil(math.ceil(samples / 2) / BATCH)
    assert per_rank < math.ceil(samples / BATCH)  # the test can tell
    ckpt = load_checkpoint_file(osp.join(work_dir, 'epoch_1.pth'))
    assert ckpt['meta']['iter'] == per_rank, out[-3000:]
    assert re.search(rf'Epoch\(train\)\s+\[1\]\[\s*{per_rank}/{per_rank}\]',
                     out), out[-3000:]


def read_results(out_dir: str) -> dict:
    results = {}
    for name in sorted(os.listdir(out_dir)):
        with open(osp.join(out_dir, name)) as f:
            results[name] = f.read()
    return results


@pytest.mark.slow
def test_dist_test_matches_single_process(trained, data_root, tmp_path):
    # One thread in every process, as torchrun gives each rank: the same
    # kernels give the same bits, so the files can match character for
    # character (two threads against one can round a third decimal apart).
    one_thread = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    checkpoint = osp.join(trained, 'epoch_1.pth')
    single = run_tool(sys.executable, 'tools/test.py', CONFIG, checkpoint,
                      '--eval', 'track', 'bbox', '--out',
                      str(tmp_path / 'single'), '--work-dir',
                      str(tmp_path / 'w1'),
                      *cfg_options(data_root, epochs=1), *EVERY_BOX,
                      env=one_thread)
    dist = run_tool('bash', 'tools/dist_test.sh', CONFIG, checkpoint, '2',
                    '--eval', 'track', '--out', str(tmp_path / 'dist'),
                    '--work-dir', str(tmp_path / 'w2'),
                    *cfg_options(data_root, epochs=1), *EVERY_BOX,
                    env={'PORT': '29518', 'MMDMW_PYTHON': sys.executable,
                         **one_thread})
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


class CreatesFile:
    """Unpickled, it creates ``path``; a checkpoint holding it could as
    well run a shell."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.fixture
def crafted(trained, tmp_path) -> tuple:
    """``epoch_1.pth`` with one booby-trapped entry in its meta, and the
    file that loading it in full would create."""
    ckpt = load_checkpoint_file(osp.join(trained, 'epoch_1.pth'))
    marker = str(tmp_path / 'created_by_unpickling')
    ckpt['meta']['note'] = CreatesFile(marker)
    path = str(tmp_path / 'shared' / 'epoch_1.pth')
    os.makedirs(osp.dirname(path))
    torch.save(ckpt, path)
    return path, marker


def assert_refused(out: str, path: str, marker: str) -> None:
    errors = [line for line in out.splitlines() if line.startswith('error:')]
    assert errors, out[-3000:]
    assert path in errors[-1] and 'io.open' in errors[-1]
    assert '--trust-checkpoint' in errors[-1]
    assert 'Traceback' not in out
    assert not osp.exists(marker)


@pytest.mark.slow
def test_test_tool_loads_crafted_checkpoint_only_when_trusted(
        crafted, data_root, tmp_path):
    path, marker = crafted
    args = ['--work-dir', str(tmp_path / 'w'), *cfg_options(data_root, 1)]
    out = run_tool(sys.executable, 'tools/test.py', CONFIG, path, *args,
                   expect_rc=1)
    assert_refused(out, path, marker)
    out = run_tool(sys.executable, 'tools/test.py', CONFIG, path,
                   '--trust-checkpoint', *args)
    assert osp.exists(marker)
    assert 'motchallenge-metric/HOTA:' in out


@pytest.mark.slow
def test_train_resume_and_load_from_refuse_crafted_checkpoint(
        crafted, data_root, tmp_path):
    path, marker = crafted
    work = ['--work-dir', str(tmp_path / 'w')]
    out = run_tool(sys.executable, 'tools/train.py', CONFIG, *work,
                   '--resume', path, *cfg_options(data_root, 1),
                   expect_rc=1)
    assert_refused(out, path, marker)
    out = run_tool(sys.executable, 'tools/train.py', CONFIG, *work,
                   *cfg_options(data_root, 1), f'load_from={path}',
                   expect_rc=1)
    assert_refused(out, path, marker)
    # --trust-checkpoint reaches the Runner's loader through load_cfg, as
    # in tools/test.py above (test_safe_checkpoint.py: the loader itself).


@pytest.mark.slow
def test_demo_loads_crafted_checkpoint_only_when_trusted(
        crafted, data_root, tmp_path):
    path, marker = crafted
    frames = str(tmp_path / 'frames')  # two frames are enough here
    os.makedirs(frames)
    for name in ('000001.jpg', '000002.jpg'):
        shutil.copy(osp.join(data_root, 'train', 'SYN-01', 'img1', name),
                    frames)
    out_txt = str(tmp_path / 'demo.txt')
    args = [sys.executable, 'tools/demo/track_video.py', frames, CONFIG,
            path, '--out-txt', out_txt]
    assert_refused(run_tool(*args, expect_rc=1), path, marker)
    assert not osp.exists(out_txt)
    out = run_tool(*args, '--trust-checkpoint')
    assert osp.exists(marker)
    assert 'tracked 2 frames' in out


@pytest.mark.slow
def test_converter_refuses_crafted_checkpoint(crafted, tmp_path):
    path, marker = crafted
    out = run_tool(sys.executable,
                   'tools/model_converters/mobilenetv2_deepsort_to_mmdet.py',
                   path, str(tmp_path / 'converted.pth'), expect_rc=1)
    assert_refused(out, path, marker)
    assert not osp.exists(tmp_path / 'converted.pth')
