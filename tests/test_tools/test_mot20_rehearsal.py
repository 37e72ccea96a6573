"""The MOT20 path rehearsed on CPU, on data shaped like MOT20.

A fixture made at test time renders crowds with the project's synthetic
generator (``mmdmw.datasets.synthetic_mot``) and lays them out as MOT20
train and test: ``MOT20-01/02/03/05`` and ``MOT20-04/06/07/08`` under their
own names (no detector copies), each at 1/4 of its MOTChallenge size,
9-column gt with MOT20's other classes (6 non-motorized vehicle, 7 static
person, 10 occluder on the ground, 13 crowd) and conf 0 rows, public
detections, ``seqinfo.ini``; test without gt. The people are as small as
MOT20's and as many: up to 244 a frame. It
then measures the layout against the MOT20 config's anchors and test limits
and runs the converter, one epoch of the R50 config's pipeline and model at
reduced width and size, ``tools/test.py --eval track`` on half-val with
TrackEval's MOT20 conventions and ``tools/test.py --out`` on test, through
the real tools.
"""
import os
import os.path as osp
import sys
from typing import Dict, Tuple

import numpy as np
import pytest
from rehearsal_utils import (PEDESTRIAN, ROOT, cfg_options, load_coco,
                             run_tool, score_hand_placed, write_det)

from mmdmw.datasets.mot_files import read_mot_gt, write_mot_gt
from mmdmw.datasets.synthetic_mot import FAR_SCALE, generate_synthetic_mot

CONFIG = osp.join(ROOT, 'configs', 'dmw', 'retina_dmw_r50_mot20.py')
HALF_CONFIG = osp.join(
    ROOT, 'configs', 'dmw',
    'retina_dmw_r50_8xb1-100e_mot20halftrain_test-mot20halfval.py')
TEST_CONFIG = osp.join(ROOT, 'configs', 'dmw',
                       'retina_dmw_r50_8xb1-100e_mot20train_test-mot20test.py')

# Sequence: ((w, h), people, (min, max) person height in px at full size).
# MOT20's sequences as its paper (Dendorfer et al. 2020, Tables 1 and 3)
# lists them, at 1/4 of their size: resolution; people from 1.25 x the
# published mean density (MOT20-05's 195 -> 244; MOT20's densest frames hold
# 246), all in view from the last frames of so short a sequence; heights
# spanning the published public-detection heights of the sequence.
FULL_SIZE = 4  # the layout's frames are 1/4 of MOT20's
TRAIN_SEQS: Dict[str, tuple] = {
    'MOT20-01': ((480, 270), 58, (30, 289)),
    'MOT20-02': ((480, 270), 70, (25, 463)),
    'MOT20-03': ((293, 220), 163, (16, 161)),
    'MOT20-05': ((414, 270), 244, (26, 245)),
}
TEST_SEQS: Dict[str, tuple] = {
    'MOT20-04': ((386, 270), 165, (23, 241)),
    'MOT20-06': ((480, 184), 165, (27, 304)),
    'MOT20-07': ((480, 270), 71, (21, 381)),
    'MOT20-08': ((480, 184), 120, (37, 302)),
}
TRAIN_FRAMES, TEST_FRAMES = 4, 2  # per sequence
# MOT20's other classes (its Table 2), given to identities modulo 17, conf
# 0: 6 non-motorized vehicle, 7 static person, 10 occluder on the ground.
CLASS_OF_ID_MOD = {3: 7, 5: 7, 7: 6, 11: 10}
CONF0_EVERY = 23  # every 23rd pedestrian is "do not consider"
CROWD_SEQS = ('MOT20-03', 'MOT20-06', 'MOT20-08')  # those with class 13
PEOPLE_CLASSES = (1, 6, 7)
CROWD_ID = 9999  # one crowd box (class 13) per frame, over the far band
IMG_SCALE = (320, 192)  # (w, h), the MOT20 config's 1600 x 896 reduced
MIN_CROWD = 150  # the issue: "a crowd of at least 150 people in some frames"


def as_mot20_gt(gt: np.ndarray, width: int, height: int,
                crowd: bool) -> np.ndarray:
    """The generator's pedestrian gt with MOT20's other classes, conf 0
    rows and, with ``crowd``, a crowd box in every frame."""
    gt = gt.copy()
    ids = gt[:, 1].astype(int)
    gt[:, 7] = [CLASS_OF_ID_MOD.get(i % 17, 1) for i in ids]
    gt[:, 6] = ((gt[:, 7] == 1) & (ids % CONF0_EVERY != 0)).astype(float)
    crowds = [[f, CROWD_ID, round(0.3 * width), round(0.35 * height),
               round(0.4 * width), round(0.2 * height), 0, 13, 1.0]
              for f in np.unique(gt[:, 0]) if crowd]
    rows = np.concatenate([gt, np.array(crowds, float).reshape(-1, 9)])
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))]


def write_mot20_split(root: str, split: str, seqs: dict, num_frames: int,
                      with_gt: bool) -> Dict[str, np.ndarray]:
    """Render ``seqs`` into ``root/split/NAME``; their gt (also for test,
    where the files are removed after the det.txt is made)."""
    gts = {}
    for name, ((width, height), people, (low, high)) in seqs.items():
        # the generator's people are 0.55-1 x a height drawn at the bottom
        full_height = height * FULL_SIZE
        person_height = (low / full_height / FAR_SCALE, high / full_height)
        (seq_dir, ) = generate_synthetic_mot(
            root, num_seqs=1, num_frames=num_frames, img_size=(width, height),
            num_people=(people, people), split=split, seq_prefix='MOT20',
            first_index=int(name.split('-')[1]),
            person_height=person_height, progress=False)
        gt_file = osp.join(seq_dir, 'gt', 'gt.txt')
        gt = as_mot20_gt(read_mot_gt(gt_file, width, height), width, height,
                         name in CROWD_SEQS)
        write_det(seq_dir, gt[gt[:, 7] == 1])
        if with_gt:
            write_mot_gt(gt_file, gt)
        else:  # MOT20 test: no gt
            os.remove(gt_file)
            os.rmdir(osp.dirname(gt_file))
        gts[name] = gt
    return gts


@pytest.fixture(scope='module')
def mot20(tmp_path_factory) -> dict:
    """MOT20-shaped data, converted with tools/dataset_converters."""
    root = osp.join(str(tmp_path_factory.mktemp('mot20')), 'MOT20')
    gts = write_mot20_split(root, 'train', TRAIN_SEQS, TRAIN_FRAMES, True)
    gts.update(
        write_mot20_split(root, 'test', TEST_SEQS, TEST_FRAMES, False))
    out = run_tool(sys.executable, 'tools/dataset_converters/mot2coco.py',
                   '-i', root, '-o', osp.join(root, 'annotations'))
    return dict(root=root, gts=gts, converter_output=out)


@pytest.fixture(scope='module')
def trained(mot20, tmp_path_factory) -> str:
    work_dir = str(tmp_path_factory.mktemp('work'))
    run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
             work_dir, *cfg_options(CONFIG, mot20['root'], IMG_SCALE))
    return work_dir


def people(gt: np.ndarray) -> np.ndarray:
    """The rows of people a detector fires on: pedestrians, static people
    and people with non-motorized vehicles (not occluders, not crowds)."""
    return gt[np.isin(gt[:, 7], PEOPLE_CLASSES)]


def people_per_frame(gt: np.ndarray) -> np.ndarray:
    """(F,) people of each frame of one sequence's gt."""
    return np.bincount(people(gt)[:, 0].astype(int))[1:]


@pytest.mark.slow
def test_layout_is_mot20_shaped(mot20):
    root = mot20['root']
    assert sorted(os.listdir(osp.join(root, 'train'))) == list(TRAIN_SEQS)
    assert sorted(os.listdir(osp.join(root, 'test'))) == list(TEST_SEQS)
    for name in TEST_SEQS:
        assert not osp.exists(osp.join(root, 'test', name, 'gt'))
    crowds = [people_per_frame(gt).max() for gt in mot20['gts'].values()]
    assert max(crowds) >= MIN_CROWD, crowds
    # 9 columns, MOT20's classes and conf 0 rows
    gt = np.concatenate(list(mot20['gts'].values()))
    assert gt.shape[1] == 9
    assert set(gt[:, 7].astype(int)) == {1, 6, 7, 10, 13}
    assert set(gt[:, 6]) == {0.0, 1.0}


@pytest.mark.slow
def test_converter_keeps_every_sequence_under_its_name(mot20):
    out = mot20['converter_output']
    assert 'kept' not in out and 'left out' not in out, out  # no copies
    half = TRAIN_FRAMES // 2 + 1
    expected = dict(train=TRAIN_FRAMES, test=TEST_FRAMES)
    expected.update({'half-train': half, 'half-val': TRAIN_FRAMES - half})
    for split, frames in expected.items():
        coco = load_coco(mot20['root'], split)
        seqs = TEST_SEQS if split == 'test' else TRAIN_SEQS
        assert [v['name'] for v in coco['videos']] == list(seqs), split
        assert [(v['width'], v['height']) for v in coco['videos']] == [
            size for size, _, _ in seqs.values()], split
        assert len(coco['images']) == len(seqs) * frames, split
    coco = load_coco(mot20['root'], 'train')
    gt = np.concatenate([mot20['gts'][s] for s in TRAIN_SEQS])
    anns = coco['annotations']
    assert len(anns) == len(gt)
    assert {a['category_id'] for a in anns} == {1, 6, 7, 10, 13}
    assert sum(a['iscrowd'] for a in anns) == int((gt[:, 6] == 0).sum())
    assert load_coco(mot20['root'], 'test')['annotations'] == []


@pytest.mark.slow
def test_training_ignores_mot20s_other_classes(mot20):
    """The MOT20 config's training set keeps pedestrians as people, makes
    boxes of classes 6, 7, 13 and conf-0 rows ignore regions and leaves
    occluders (10) out (background)."""
    from mmengine.config import Config

    from mmdmw.datasets.mot_video_dataset import MOTVideoDataset
    cfg = Config.fromfile(CONFIG).train_dataloader.dataset
    args = {k: v for k, v in cfg.items() if k not in ('type', 'pipeline')}
    args['data_root'] = mot20['root'] + '/'
    dataset = MOTVideoDataset(**args, pipeline=[])
    instances = [inst for i in range(len(dataset))
                 for img in dataset.get_data_info(i)['images']
                 for inst in img['instances']]
    by_flag = {0: set(), 1: set()}
    for inst in instances:
        by_flag[inst['ignore_flag']].add(inst['category_id'])
    assert by_flag[0] == {1}
    assert by_flag[1] == {1, 6, 7, 13}  # 1: the conf-0 pedestrians
    gt = np.concatenate([mot20['gts'][s] for s in TRAIN_SEQS])
    assert len(instances) == (gt[:, 7] != 10).sum()


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) IoU of x1y1x2y2 boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None] - inter)


def nms_survivors(boxes: np.ndarray, scores: np.ndarray,
                  iou_thr: float) -> int:
    """How many of ``boxes`` (x1y1x2y2) greedy NMS at ``iou_thr`` keeps,
    higher ``scores`` first."""
    suppressed = np.zeros(len(boxes), bool)
    kept = 0
    for i in np.argsort(-scores):
        if not suppressed[i]:
            kept += 1
            suppressed |= pairwise_iou(boxes[i:i + 1], boxes)[0] > iou_thr
    return kept


@pytest.mark.slow
def test_mot20_config_fits_the_layouts_people(mot20):
    """Measured on the layout at the MOT20 config's test scale (each
    sequence at its full MOTChallenge size): how many people a frame holds
    and how small and how hidden they are, against the config's anchors and
    test limits (the numbers its comments quote)."""
    import torch
    from mmdet.registry import TASK_UTILS
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    head = cfg.model.head
    (resize, ) = [t for t in cfg.test_pipeline[0].transforms
                  if t.type == 'Resize']
    scale_w, scale_h = resize.scale
    mot17_anchors = Config.fromfile(osp.join(
        ROOT, 'configs', 'dmw', 'retina_dmw_r50_mot17.py')).model.head[
            'anchor_generator']
    generators = dict(
        mot20=TASK_UTILS.build(head.anchor_generator),
        mot17=TASK_UTILS.build(mot17_anchors))
    most, heights, vis, near = 0, [], [], []
    best = {name: [] for name in generators}
    kept = {0.5: 0, head.test_cfg.nms.iou_threshold: 0}
    densest = 0
    for name, ((width, height), _, _) in {**TRAIN_SEQS,
                                          **TEST_SEQS}.items():
        gt = mot20['gts'][name]
        ped = people(gt)
        counts = people_per_frame(gt)
        most = max(most, counts.max())
        # at the test scale: the full-size sequence (FULL_SIZE times the
        # layout's) resized to fit the config's scale, i.e. the layout's
        # frame resized the same way
        factor = min(scale_w / width, scale_h / height)
        boxes = ped[:, 2:6] * factor
        boxes[:, 2:] += boxes[:, :2]
        heights.append(boxes[:, 3] - boxes[:, 1])
        vis.append(ped[:, 8])
        frame = ped[:, 0] == np.argmax(counts) + 1  # the densest frame
        densest += frame.sum()
        for key, generator in generators.items():
            sizes = [(int(np.ceil(height * factor / stride_h)),
                      int(np.ceil(width * factor / stride_w)))
                     for stride_w, stride_h in generator.strides]
            anchors = torch.cat(generator.grid_priors(
                sizes, device='cpu')).numpy()
            iou = pairwise_iou(boxes[frame], anchors)  # (people, anchors)
            best[key].append(iou.max(axis=1))
            if key == 'mot20':
                # anchors a trained head may score near a person
                near.append((iou.max(axis=0) >= 0.3).sum() / frame.sum())
        for thr in kept:
            kept[thr] += nms_survivors(boxes[frame], ped[frame, 8], thr)
    heights, vis = np.concatenate(heights), np.concatenate(vis)
    cover = {k: np.mean(np.concatenate(v) >= 0.5) for k, v in best.items()}
    kept = {thr: n / densest for thr, n in kept.items()}
    print(f'people a frame: up to {most}; heights at {scale_w}x{scale_h}: '
          f'{heights.min():.0f}-{heights.max():.0f} px, median '
          f'{np.median(heights):.0f}; visibility < 0.25: '
          f'{np.mean(vis < 0.25):.0%}; anchor IoU >= 0.5: MOT20 anchors '
          f'{cover["mot20"]:.0%}, MOT17 anchors {cover["mot17"]:.0%}; '
          f'anchors at IoU >= 0.3 a person: up to {max(near):.1f}; '
          f'true boxes NMS keeps: {kept}')
    assert most >= MIN_CROWD
    # more people get an anchor to be taught on than with MOT17's anchors
    assert cover['mot20'] >= cover['mot17'] + 0.05
    # before NMS: every anchor near a person of the densest frame
    assert head.test_cfg.nms_pre >= most * max(near)
    # NMS keeps > 90 % of overlapping true boxes (0.5 would keep 80 %)
    assert kept[head.test_cfg.nms.iou_threshold] > 0.9 > kept[0.5]
    # after NMS: room for the densest frame twice over
    assert head.test_cfg.max_per_img >= 2 * most


@pytest.mark.slow
def test_an_epoch_passes_every_frame_once(trained):
    from mmdmw.utils.safe_checkpoint import load_checkpoint_file
    ckpt = load_checkpoint_file(osp.join(trained, 'epoch_1.pth'), 'cpu')
    assert ckpt['meta']['iter'] == len(TRAIN_SEQS) * TRAIN_FRAMES


@pytest.mark.slow
def test_track_and_score_half_val_as_mot20(mot20, trained, tmp_path):
    work_dir = str(tmp_path / 'val')
    out = run_tool(sys.executable, 'tools/test.py', HALF_CONFIG,
                   osp.join(trained, 'epoch_1.pth'), '--eval', 'track',
                   '--work-dir', work_dir,
                   *cfg_options(HALF_CONFIG, mot20['root'], IMG_SCALE,
                                max_per_img=500))
    for name in ('HOTA', 'MOTA', 'IDF1'):
        assert f'motchallenge-metric/{name}:' in out, name


@pytest.mark.slow
def test_submission_has_the_4_mot20_test_files(mot20, trained, tmp_path):
    out_dir = str(tmp_path / 'submission')
    out = run_tool(sys.executable, 'tools/test.py', TEST_CONFIG,
                   osp.join(trained, 'epoch_1.pth'), '--out', out_dir,
                   '--work-dir', str(tmp_path / 'test'),
                   *cfg_options(TEST_CONFIG, mot20['root'], IMG_SCALE,
                                max_per_img=500))
    assert 'no ground truth in this split' in out
    assert f'4 MOTChallenge result files in {out_dir}. Zip' in out
    assert sorted(os.listdir(out_dir)) == [f'{s}.txt' for s in TEST_SEQS]
    for seq in TEST_SEQS:
        with open(osp.join(out_dir, f'{seq}.txt')) as f:
            rows = [line.split(',') for line in f.read().splitlines()]
        frames = {int(row[0]) for row in rows}
        assert frames <= set(range(1, TEST_FRAMES + 1)) and frames, seq
        assert all(len(row) == 10 for row in rows)


# A non-motorized vehicle (class 6) beside the pedestrian.
VEHICLE = (100, 10, 40, 100)


def test_mot20_preprocessing_discounts_non_motorized_vehicles(tmp_path):
    """TrackEval's benchmark name reaches TrackEval: under MOT20 a track on
    a class-6 box is neither a true nor a false positive; under MOT17 the
    same track is 2 false positives (2 frames)."""
    gt_boxes = ((1, PEDESTRIAN, 1), (2, VEHICLE, 6))
    preds = {1: PEDESTRIAN, 2: VEHICLE}
    submission = str(tmp_path / 'out')
    scores = score_hand_placed(tmp_path / 'mot20', preds, gt_boxes,
                               seq='MOT20-01', detectors=(),
                               benchmark='MOT20', submission_dir=submission)
    assert (scores['FP'], scores['FN'], scores['MOTA']) == (0, 0, 100.0)
    assert os.listdir(submission) == ['MOT20-01.txt']  # its own name only
    scores = score_hand_placed(tmp_path / 'mot17', preds, gt_boxes,
                               seq='MOT20-01', detectors=(),
                               benchmark='MOT17')
    assert (scores['FP'], scores['FN'], scores['MOTA']) == (2, 0, 0.0)


def test_300_people_a_frame_all_scored(tmp_path):
    """No cap in the metric or the submission writer: 300 pedestrians a
    frame (20 x 15 grid, 30 x 70 boxes 10 px apart), each tracked exactly,
    are 300 true positives a frame."""
    boxes = {i + 1: (10 + 40 * (i % 20), 10 + 80 * (i // 20), 30, 70)
             for i in range(300)}
    submission = str(tmp_path / 'out')
    scores = score_hand_placed(
        tmp_path, boxes, [(i, box, 1) for i, box in boxes.items()],
        seq='MOT20-05', detectors=(), benchmark='MOT20',
        img_size=(820, 1220), submission_dir=submission)
    assert (scores['FP'], scores['FN'], scores['IDSW']) == (0, 0, 0)
    assert scores['MOTA'] == 100.0 and scores['IDF1'] == 100.0
    with open(osp.join(submission, 'MOT20-05.txt')) as f:
        rows = f.read().splitlines()
    assert len(rows) == 2 * 300
