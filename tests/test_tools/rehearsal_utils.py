"""Helpers of the MOTChallenge rehearsals (MOT17, MOT16, MOT20): run a tool,
lay out sequences as a benchmark ships them, and shrink a config's pipeline
and model through ``--cfg-options``. A plain module (as
``tests/test_reliability/reliability_utils.py``): pytest does not let tests
import from a conftest."""
import json
import os
import os.path as osp
import shutil
import subprocess
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest

from mmdmw.datasets.mot_files import (list_images, read_mot_gt,
                                      write_mot_gt, write_seqinfo)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TUD_CAMPUS = osp.join(ROOT, '..', 'shared', 'data', 'TUD-Campus')
# Identities of the source turned into MOT16/17's other person-like classes:
# 7 static person, 8 distractor, 12 reflection, 2 person on vehicle.
CLASS_OF_ID = {2: 7, 3: 8, 4: 12, 5: 2}
CONF0_ID = 6  # a pedestrian marked "do not consider"


def run_tool(*args, timeout=600, env=None) -> str:
    """Run a command from the repository root; its stdout and stderr."""
    env = {**os.environ, 'MPLBACKEND': 'Agg', **(env or {})}
    proc = subprocess.run([*args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def load_coco(root: str, split: str) -> dict:
    """The converter's ``root/annotations/{split}_cocoformat.json``."""
    with open(osp.join(root, 'annotations',
                       f'{split}_cocoformat.json')) as f:
        return json.load(f)


def source_sequence(tmp: str, num_frames: int
                    ) -> Tuple[List[str], np.ndarray, int, int]:
    """Frames, (K, 9) gt, width and height of TUD-Campus (71 frames), or of
    ``num_frames`` synthetic frames with the same six identities when it is
    absent."""
    if osp.isdir(TUD_CAMPUS):
        img_dir = osp.join(TUD_CAMPUS, 'img1')
        frames = [osp.join(img_dir, name) for name in list_images(img_dir)]
        assert len(frames) >= num_frames
        gt = read_mot_gt(osp.join(TUD_CAMPUS, 'gt', 'gt.txt'), 640, 480)
        return frames, gt, 640, 480
    return synthetic_sequence(tmp, num_frames)


def synthetic_sequence(tmp: str,
                       num_frames: int,
                       width: int = 320,
                       height: int = 240) -> Tuple[List[str], np.ndarray,
                                                   int, int]:
    """Noise frames with six boxes (ids 1-6) walking right, each in every
    frame, so every class of the fixture occurs."""
    import cv2
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
    MOT16/17's classes, conf 0 rows and visibilities."""
    rows = gt[(gt[:, 0] >= first) & (gt[:, 0] < first + num)].copy()
    rows[:, 0] -= first - 1
    ids = rows[:, 1].astype(int)
    rows[:, 7] = [CLASS_OF_ID.get(i, 1) for i in ids]
    rows[:, 6] = (ids != CONF0_ID).astype(float)
    rows[:, 8] = np.choose(np.arange(len(rows)) % 3, [1.0, 0.55, 0.1])
    return rows


def write_det(seq_dir: str, boxes: np.ndarray, offset: float = 0) -> None:
    """``seq_dir/det/det.txt``: public detections made from ``boxes``
    ((K, >= 6) MOT rows), shifted by ``offset`` pixels."""
    os.makedirs(osp.join(seq_dir, 'det'), exist_ok=True)
    with open(osp.join(seq_dir, 'det', 'det.txt'), 'w') as f:
        for row in boxes:
            x, y, w, h = row[2:6] + offset
            f.write(f'{int(row[0])},-1,{x:.2f},{y:.2f},{w:.2f},{h:.2f},'
                    f'{0.9 - 0.1 * offset:.2f}\n')


def write_copies(root: str, split: str, seq: str, frames: List[str],
                 gt: Optional[np.ndarray], width: int, height: int,
                 detectors: Sequence[str] = ('DPM', 'FRCNN', 'SDP')) -> None:
    """``root/split/seq-{DPM,FRCNN,SDP}`` (MOT17: same frames and gt, each
    copy its own public detections), or ``root/split/seq`` alone with
    ``detectors=()`` (MOT16)."""
    suffixes = [f'-{d}' for d in detectors] or ['']
    for offset, suffix in enumerate(suffixes):
        name = f'{seq}{suffix}'
        seq_dir = osp.join(root, split, name)
        os.makedirs(osp.join(seq_dir, 'img1'))
        for i, frame in enumerate(frames, start=1):
            shutil.copyfile(frame, osp.join(seq_dir, 'img1', f'{i:06d}.jpg'))
        write_seqinfo(seq_dir, dict(name=name, imDir='img1', frameRate=25,
                                    seqLength=len(frames), imWidth=width,
                                    imHeight=height, imExt='.jpg'))
        boxes = gt if gt is not None else np.array(
            [[i, 1, 10, 10, 40, 100, 1, 1, 1]
             for i in range(1, len(frames) + 1)], float)
        write_det(seq_dir, boxes, offset)  # detectors differ
        if gt is not None:
            write_mot_gt(osp.join(seq_dir, 'gt', 'gt.txt'), gt)


def check_pipeline_positions(config: str) -> None:
    """The transforms cfg_options reaches by position are the ones meant."""
    from mmengine.config import Config
    cfg = Config.fromfile(config, import_custom_modules=False)
    train = cfg.train_dataloader.dataset.pipeline[1].transforms
    assert [train[2].type, train[4].type] == ['RandomResize', 'RandomCrop']
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.pipeline[0].transforms[1].type == 'Resize'


def cfg_options(config: str, root: str, img_scale: Tuple[int, int],
                max_per_img: int = 5) -> list:
    """The R50 config's pipeline and model, narrower and at ``img_scale``
    (w, h); every box of the one-epoch model up to ``max_per_img`` a frame,
    so tracks exist to write."""
    check_pipeline_positions(config)
    w, h = img_scale
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
        'model.head.test_cfg.score_thr=0.0',
        f'model.head.test_cfg.max_per_img={max_per_img}',
        'model.tracker.init_score_thr=0.0', 'model.tracker.score_thr=0.0'
    ]


# Hand-placed boxes (x, y, w, h) on one 2-frame sequence.
PEDESTRIAN = (10, 10, 40, 100)
DISTRACTOR = (100, 10, 40, 100)  # class 8
BACKGROUND = (150, 120, 30, 60)  # nobody there
Box = Tuple[float, float, float, float]


def score_hand_placed(tmp_path,
                      preds: Dict[int, Box],
                      gt_boxes: Sequence[Tuple[int, Box, int]] = (
                          (1, PEDESTRIAN, 1), (2, DISTRACTOR, 8)),
                      seq: str = 'MOT17-09',
                      detectors: Sequence[str] = ('DPM', 'FRCNN', 'SDP'),
                      benchmark: str = 'MOT17',
                      img_size: Tuple[int, int] = (200, 200),
                      **metric_kwargs) -> dict:
    """Convert a 2-frame train sequence ``seq`` (one folder per detector,
    or one without) whose gt holds ``gt_boxes`` ((id, box, class) in both
    frames), feed ``preds`` ({track id: box}, the same in both frames) to
    MOTTableMetric(benchmark) as tools/test.py does, and return its
    scores."""
    pytest.importorskip('mmcv.ops')
    import cv2
    import torch
    from mmdet.structures import DetDataSample, TrackDataSample
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData

    from mmdmw.datasets.mot2coco import convert_mot_to_coco
    from mmdmw.datasets.mot_video_dataset import MOTVideoDataset
    from mmdmw.evaluation.metrics.mot_table_metric import MOTTableMetric

    root = str(tmp_path / benchmark)
    gt = np.array([[f, i, *box, 1, cls, 1.0] for f in (1, 2)
                   for i, box, cls in gt_boxes], float)
    os.makedirs(tmp_path, exist_ok=True)
    image = osp.join(str(tmp_path), 'frame.jpg')
    width, height = img_size
    cv2.imwrite(image, np.zeros((height, width, 3), np.uint8))
    write_copies(root, 'train', seq, [image, image], gt, width, height,
                 detectors)
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
    evaluator = Evaluator(MOTTableMetric(benchmark=benchmark,
                                         **metric_kwargs))
    evaluator.process([TrackDataSample(video_data_samples=frames)], {})
    results = evaluator.evaluate(size=1)
    return {k.split('/')[-1]: v for k, v in results.items()}
