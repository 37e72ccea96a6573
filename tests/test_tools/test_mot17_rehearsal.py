"""The paper's MOT17 path rehearsed on CPU, on data shaped like MOT17.

A fixture made at test time lays real TUD-Campus frames (synthetic frames
when ``../shared/data`` is absent) out exactly as MOT17 train and test: each
sequence three times (``-DPM``, ``-FRCNN``, ``-SDP``: same frames, same gt,
different ``det/det.txt``), 9-column gt with classes 1 / 2 / 7 / 8 / 12,
conf 0 / 1 and visibility, ``seqinfo.ini``; test without gt. It then runs
the converter, a short training of the R50 config's pipeline and model at
reduced width and image size, ``tools/test.py --eval track`` on half-val and
``tools/test.py --out`` on test, through the real tools.
"""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import List, Optional, Tuple

import numpy as np
import pytest

from mmdmw.datasets.mot_files import (list_images, read_mot_gt,
                                      write_mot_gt, write_seqinfo)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'dmw', 'retina_dmw_r50_mot17.py')
TEST_CONFIG = osp.join(ROOT, 'configs', 'dmw',
                       'retina_dmw_r50_8xb1-100e_mot17train_test-mot17test.py')
TUD_CAMPUS = osp.join(ROOT, '..', 'shared', 'data', 'TUD-Campus')

DETECTORS = ('DPM', 'FRCNN', 'SDP')
TRAIN_SEQS = ('MOT17-02', 'MOT17-04')
TEST_SEQS = ('MOT17-01', 'MOT17-03', 'MOT17-06', 'MOT17-07', 'MOT17-08',
             'MOT17-12', 'MOT17-14')
TRAIN_FRAMES, TEST_FRAMES = 6, 2  # per sequence
# Identities of the source turned into MOT17's other person-like classes:
# 7 static person, 8 distractor, 12 reflection, 2 person on vehicle.
CLASS_OF_ID = {2: 7, 3: 8, 4: 12, 5: 2}
CONF0_ID = 6  # a pedestrian marked "do not consider"
IMG_SCALE = (256, 192)  # (w, h), the R50 config's 1088 x 608 reduced


def run_tool(*args, timeout=600) -> str:
    env = {**os.environ, 'MPLBACKEND': 'Agg'}
    proc = subprocess.run([*args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def source_sequence(tmp: str) -> Tuple[List[str], np.ndarray, int, int]:
    """Frames, (K, 9) gt, width and height of TUD-Campus, or of synthetic
    frames with the same six identities when it is absent."""
    if osp.isdir(TUD_CAMPUS):
        img_dir = osp.join(TUD_CAMPUS, 'img1')
        frames = [osp.join(img_dir, name) for name in list_images(img_dir)]
        gt = read_mot_gt(osp.join(TUD_CAMPUS, 'gt', 'gt.txt'), 640, 480)
        return frames, gt, 640, 480
    return synthetic_sequence(tmp)


def synthetic_sequence(tmp: str,
                       width: int = 320,
                       height: int = 240) -> Tuple[List[str], np.ndarray,
                                                   int, int]:
    """Noise frames with six boxes (ids 1-6) walking right, each in every
    frame, so every class of the fixture occurs."""
    import cv2
    num_frames = len(TRAIN_SEQS) * TRAIN_FRAMES + len(TEST_SEQS) * TEST_FRAMES
    rng = np.random.default_rng(0)
    os.makedirs(tmp, exist_ok=True)
    frames, rows = [], []
    for frame in range(1, num_frames + 1):
        img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        for track_id in range(1, 7):
            x, y, w, h = 10 + 48 * (track_id - 1) + frame, 60, 30, 80
            cv2.rectangle(img, (x, y), (x + w, y + h),
                          (40 * track_id, 255 - 40 * track_id, 128), -1)
            rows.append([frame, track_id, x, y, w, h, 1, 1, 1.0])
        frames.append(osp.join(tmp, f'{frame:06d}.jpg'))
        cv2.imwrite(frames[-1], img)
    return frames, np.array(rows, float), width, height


def as_mot17_gt(gt: np.ndarray, first: int, num: int) -> np.ndarray:
    """Frames ``first .. first + num - 1`` of ``gt`` renumbered from 1, with
    MOT17's classes, conf 0 rows and visibilities."""
    rows = gt[(gt[:, 0] >= first) & (gt[:, 0] < first + num)].copy()
    rows[:, 0] -= first - 1
    ids = rows[:, 1].astype(int)
    rows[:, 7] = [CLASS_OF_ID.get(i, 1) for i in ids]
    rows[:, 6] = (ids != CONF0_ID).astype(float)
    rows[:, 8] = np.choose(np.arange(len(rows)) % 3, [1.0, 0.55, 0.1])
    return rows


def write_copies(root: str, split: str, seq: str, frames: List[str],
                 gt: Optional[np.ndarray], width: int, height: int) -> None:
    """``root/split/seq-{DPM,FRCNN,SDP}``: same frames and gt, each copy its
    own public detections."""
    for offset, detector in enumerate(DETECTORS):
        name = f'{seq}-{detector}'
        seq_dir = osp.join(root, split, name)
        os.makedirs(osp.join(seq_dir, 'img1'))
        os.makedirs(osp.join(seq_dir, 'det'))
        for i, frame in enumerate(frames, start=1):
            shutil.copyfile(frame, osp.join(seq_dir, 'img1', f'{i:06d}.jpg'))
        write_seqinfo(seq_dir, dict(name=name, imDir='img1', frameRate=25,
                                    seqLength=len(frames), imWidth=width,
                                    imHeight=height, imExt='.jpg'))
        boxes = gt if gt is not None else np.array(
            [[i, 1, 10, 10, 40, 100, 1, 1, 1]
             for i in range(1, len(frames) + 1)], float)
        with open(osp.join(seq_dir, 'det', 'det.txt'), 'w') as f:
            for row in boxes:
                x, y, w, h = row[2:6] + offset  # detectors differ
                f.write(f'{int(row[0])},-1,{x:.2f},{y:.2f},{w:.2f},{h:.2f},'
                        f'{0.9 - 0.1 * offset:.2f}\n')
        if gt is not None:
            write_mot_gt(osp.join(seq_dir, 'gt', 'gt.txt'), gt)


@pytest.fixture(scope='module')
def mot17(tmp_path_factory) -> dict:
    """MOT17-shaped data, converted with tools/dataset_converters."""
    tmp = str(tmp_path_factory.mktemp('mot17'))
    frames, gt, width, height = source_sequence(osp.join(tmp, 'source'))
    root = osp.join(tmp, 'MOT17')
    first = 1
    gts = {}
    for seq in TRAIN_SEQS:
        gts[seq] = as_mot17_gt(gt, first, TRAIN_FRAMES)
        write_copies(root, 'train', seq,
                     frames[first - 1:first - 1 + TRAIN_FRAMES], gts[seq],
                     width, height)
        first += TRAIN_FRAMES
    for seq in TEST_SEQS:  # MOT17 test: no gt
        write_copies(root, 'test', seq,
                     frames[first - 1:first - 1 + TEST_FRAMES], None, width,
                     height)
        first += TEST_FRAMES
    out = run_tool(sys.executable, 'tools/dataset_converters/mot2coco.py',
                   '-i', root, '-o', osp.join(root, 'annotations'))
    return dict(root=root, gts=gts, converter_output=out)


def load_json(mot17: dict, split: str) -> dict:
    with open(osp.join(mot17['root'], 'annotations',
                       f'{split}_cocoformat.json')) as f:
        return json.load(f)


def check_pipeline_positions() -> None:
    """The transforms cfg_options reaches by position are the ones meant."""
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG, import_custom_modules=False)
    train = cfg.train_dataloader.dataset.pipeline[1].transforms
    assert [train[2].type, train[4].type] == ['RandomResize', 'RandomCrop']
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.pipeline[0].transforms[1].type == 'Resize'


def cfg_options(root: str) -> list:
    """The R50 config's pipeline and model, narrower and at a small size."""
    check_pipeline_positions()
    w, h = IMG_SCALE
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    return [
        '--cfg-options', *[f'{d}.dataset.data_root={root}/' for d in loaders],
        *[f'{d}.num_workers=0' for d in loaders],
        *[f'{d}.persistent_workers=False' for d in loaders],
        # TransformBroadcaster's RandomResize, RandomCrop and Resize
        f'train_dataloader.dataset.pipeline.1.transforms.2.scale=({w},{h})',
        'train_dataloader.dataset.pipeline.1.transforms.4.crop_size='
        f'({w},{h})',
        f'test_dataloader.dataset.pipeline.0.transforms.1.scale=({w},{h})',
        f'val_dataloader.dataset.pipeline.0.transforms.1.scale=({w},{h})',
        # ResNet-50 at 1/4 width, no ImageNet download
        'model.backbone.base_channels=16', 'model.backbone.init_cfg=None',
        'model.neck.in_channels=[128,256,512]', 'model.neck.out_channels=32',
        'model.head.in_channels=32', 'model.head.feat_channels=32',
        'train_cfg.max_epochs=1', 'train_cfg.val_begin=2',  # no val
        'default_hooks.logger.interval=5', 'randomness.seed=0',
        # every box of the one-epoch model, so tracks exist to write
        'model.head.test_cfg.score_thr=0.0',
        'model.head.test_cfg.max_per_img=5',
        'model.tracker.init_score_thr=0.0', 'model.tracker.score_thr=0.0'
    ]


@pytest.fixture(scope='module')
def trained(mot17, tmp_path_factory) -> str:
    work_dir = str(tmp_path_factory.mktemp('work'))
    run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
             work_dir, *cfg_options(mot17['root']))
    return work_dir


@pytest.mark.slow
def test_converter_keeps_one_copy_per_sequence(mot17):
    out = mot17['converter_output']
    for seq in TRAIN_SEQS + TEST_SEQS:
        assert (f'{seq}: kept {seq}-FRCNN (--detector FRCNN), left out '
                f'{seq}-DPM, {seq}-SDP (the same frames') in out, out
    half = TRAIN_FRAMES // 2 + 1
    expected = dict(train=TRAIN_FRAMES, test=TEST_FRAMES)
    expected.update({'half-train': half, 'half-val': TRAIN_FRAMES - half})
    for split, frames in expected.items():
        coco = load_json(mot17, split)
        seqs = TEST_SEQS if split == 'test' else TRAIN_SEQS
        assert [v['name'] for v in coco['videos']] == [
            f'{s}-FRCNN' for s in seqs], split
        assert len(coco['images']) == len(seqs) * frames, split
    # Every gt row of one copy, with its class, conf and visibility.
    coco = load_json(mot17, 'train')
    gt = np.concatenate([mot17['gts'][s] for s in TRAIN_SEQS])
    anns = coco['annotations']
    assert len(anns) == len(gt)
    assert {a['category_id'] for a in anns} == {1, 2, 7, 8, 12}
    assert {a['mot_conf'] for a in anns} == {0.0, 1.0}
    assert sorted(a['visibility'] for a in anns) == sorted(gt[:, 8])


@pytest.mark.slow
def test_an_epoch_passes_one_copy_once(trained):
    from mmdmw.utils.safe_checkpoint import load_checkpoint_file
    ckpt = load_checkpoint_file(osp.join(trained, 'epoch_1.pth'), 'cpu')
    # batch 1: one iteration per frame of one copy, not of three
    assert ckpt['meta']['iter'] == len(TRAIN_SEQS) * TRAIN_FRAMES


@pytest.mark.slow
def test_track_and_score_half_val(mot17, trained, tmp_path):
    work_dir = str(tmp_path / 'val')
    out = run_tool(sys.executable, 'tools/test.py', CONFIG,
                   osp.join(trained, 'epoch_1.pth'), '--eval', 'track',
                   '--work-dir', work_dir, *cfg_options(mot17['root']))
    for name in ('HOTA', 'MOTA', 'IDF1'):
        assert f'motchallenge-metric/{name}:' in out, name
    # The per-alpha arrays of Fig. 3, and the plot of them.
    (path, ) = glob.glob(osp.join(work_dir, '*', 'hota_alpha.json'))
    with open(path) as f:
        curves = json.load(f)
    assert len(curves['alpha']) == 19
    assert sorted(curves['sequences']) == [f'{s}-FRCNN' for s in TRAIN_SEQS]
    png = str(tmp_path / 'fig3.png')
    run_tool(sys.executable, 'tools/analysis_tools/plot_hota_alpha.py',
             work_dir, '--out', png)
    assert osp.getsize(png) > 0


@pytest.mark.slow
def test_submission_has_21_files(mot17, trained, tmp_path):
    out_dir = str(tmp_path / 'submission')
    out = run_tool(sys.executable, 'tools/test.py', TEST_CONFIG,
                   osp.join(trained, 'epoch_1.pth'), '--out', out_dir,
                   '--work-dir', str(tmp_path / 'test'),
                   *cfg_options(mot17['root']))
    assert 'no ground truth in this split' in out
    assert f'21 MOTChallenge result files in {out_dir}' in out
    assert 'python -m zipfile -c submission.zip' in out
    names = sorted(os.listdir(out_dir))
    assert names == sorted(f'{s}-{d}.txt' for s in TEST_SEQS
                           for d in DETECTORS)
    for seq in TEST_SEQS:
        contents = set()
        for detector in DETECTORS:
            with open(osp.join(out_dir, f'{seq}-{detector}.txt')) as f:
                contents.add(f.read())
        (content, ) = contents  # identical per sequence
        frames = {int(line.split(',')[0]) for line in content.splitlines()}
        assert frames <= set(range(1, TEST_FRAMES + 1)) and frames, seq


# Hand-placed boxes (x, y, w, h) on one 2-frame MOT17 sequence.
PEDESTRIAN = (10, 10, 40, 100)
DISTRACTOR = (100, 10, 40, 100)  # class 8
BACKGROUND = (150, 120, 30, 60)  # nobody there


def score_hand_placed(tmp_path, preds: dict, **metric_kwargs) -> dict:
    """Convert a 2-frame MOT17 train sequence (three copies) whose gt holds
    a pedestrian and a distractor, feed ``preds`` ({track id: (x, y, w, h)},
    the same in both frames) to MOTTableMetric as tools/test.py does, and
    return its scores."""
    pytest.importorskip('mmcv.ops')
    import cv2
    import torch
    from mmdet.structures import DetDataSample, TrackDataSample
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData

    from mmdmw.datasets.mot2coco import convert_mot_to_coco
    from mmdmw.datasets.mot_video_dataset import MOTVideoDataset
    from mmdmw.evaluation.metrics.mot_table_metric import MOTTableMetric

    root = str(tmp_path / 'MOT17')
    gt = np.array([[f, i, *box, 1, cls, 1.0] for f in (1, 2)
                   for i, box, cls in ((1, PEDESTRIAN, 1),
                                       (2, DISTRACTOR, 8))], float)
    os.makedirs(tmp_path, exist_ok=True)
    image = osp.join(str(tmp_path), 'frame.jpg')
    cv2.imwrite(image, np.zeros((200, 200, 3), np.uint8))
    write_copies(root, 'train', 'MOT17-09', [image, image], gt, 200, 200)
    convert_mot_to_coco(root, osp.join(root, 'annotations'), ('train', ),
                        progress=False, log=None)
    dataset = MOTVideoDataset(
        ann_file=osp.join(root, 'annotations', 'train_cocoformat.json'),
        data_prefix=dict(img_path=osp.join(root, 'train')), test_mode=True,
        pipeline=[])
    (images, ) = [dataset.get_data_info(i)['images']
                  for i in range(len(dataset))]
    frames = []
    for img in images:
        sample = DetDataSample(metainfo=dict(
            img_path=img['img_path'], frame_id=img['frame_id'],
            instances=img['instances'], ori_video_length=len(images)))
        boxes = torch.tensor([[x, y, x + w, y + h]
                              for x, y, w, h in preds.values()], dtype=float)
        sample.pred_track_instances = InstanceData(
            bboxes=boxes.reshape(-1, 4), instances_id=torch.tensor(
                list(preds)), scores=torch.ones(len(preds)))
        frames.append(sample)
    evaluator = Evaluator(MOTTableMetric(benchmark='MOT17', **metric_kwargs))
    evaluator.process([TrackDataSample(video_data_samples=frames)], {})
    results = evaluator.evaluate(size=1)
    return {k.split('/')[-1]: v for k, v in results.items()}


def test_mot17_preprocessing_on_hand_placed_boxes(tmp_path):
    """TrackEval's MOT17 preprocessing: a track on the distractor is neither
    a true nor a false positive, one on the pedestrian is a true positive,
    one on the background a false positive."""
    submission = str(tmp_path / 'out')
    scores = score_hand_placed(
        tmp_path, {1: PEDESTRIAN, 2: DISTRACTOR, 3: BACKGROUND},
        submission_dir=submission)
    # 2 frames: the pedestrian is found twice (FN 0), the background box is
    # 2 FP, the distractor box 0 FP; MOTA = 1 - (0 + 2 + 0) / 2 = 0.
    assert (scores['FP'], scores['FN'], scores['IDSW']) == (2, 0, 0)
    assert scores['MOTA'] == pytest.approx(0.0)
    # The distractor is no person to find (without preprocessing: FN 2) ...
    scores = score_hand_placed(tmp_path / 'b', {1: PEDESTRIAN})
    assert (scores['FP'], scores['FN'], scores['MOTA']) == (0, 0, 100.0)
    # ... and a track on it costs nothing (without preprocessing it would
    # match the distractor's gt; with the gt alone dropped, 2 FP).
    scores = score_hand_placed(tmp_path / 'c', {1: PEDESTRIAN, 2: DISTRACTOR})
    assert (scores['FP'], scores['FN'], scores['MOTA']) == (0, 0, 100.0)
    # The half-val sequence tracked once is written under all three names.
    names = sorted(os.listdir(submission))
    assert names == [f'MOT17-09-{d}.txt' for d in DETECTORS]
    contents = {open(osp.join(submission, n)).read() for n in names}
    assert len(contents) == 1


def test_hota_alpha_arrays_of_a_hand_placed_box(tmp_path):
    """A track whose box covers 62 of the pedestrian's 100 rows (IoU 0.62)
    matches at alpha 0.05 .. 0.60 (12 thresholds: DetA = AssA = HOTA = 1)
    and misses above (DetA = HOTA = 0); the reported HOTA is the mean."""
    path = str(tmp_path / 'alpha.json')
    x, y, w, _ = PEDESTRIAN
    scores = score_hand_placed(tmp_path, {1: (x, y, w, 62), 2: DISTRACTOR},
                               hota_alpha_file=path)
    with open(path) as f:
        curves = json.load(f)
    assert curves['alpha'][0] == 0.05 and curves['alpha'][-1] == 0.95
    expected = [1.0] * 12 + [0.0] * 7
    for field in ('HOTA', 'DetA', 'DetRe', 'DetPr'):
        assert curves['combined'][field] == pytest.approx(expected), field
    assert curves['sequences']['MOT17-09-FRCNN']['HOTA'] == pytest.approx(
        expected)
    assert scores['HOTA'] == pytest.approx(100 * 12 / 19, abs=1e-3)
