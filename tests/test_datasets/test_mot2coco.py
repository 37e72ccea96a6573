"""MOTChallenge folders to mmdet's COCO-video JSON, checked field by field."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmdmw.datasets.mot2coco import convert_mot_to_coco, split_frames
from mmdmw.datasets.mot_files import write_seqinfo
from mmdmw.datasets.synthetic_mot import generate_synthetic_mot

TUD_CAMPUS = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared',
                      'data', 'TUD-Campus')
NUM_FRAMES, WIDTH, HEIGHT = 4, 64, 48


def make_seq(root: str, name: str, gt_lines: list) -> str:
    """A 4-frame 64x48 sequence ``root/name`` with the given gt.txt lines."""
    seq_dir = osp.join(root, name)
    os.makedirs(osp.join(seq_dir, 'img1'))
    os.makedirs(osp.join(seq_dir, 'gt'))
    write_seqinfo(
        seq_dir,
        dict(name=name, imDir='img1', frameRate=30, seqLength=NUM_FRAMES,
             imWidth=WIDTH, imHeight=HEIGHT, imExt='.jpg'))
    for frame in range(1, NUM_FRAMES + 1):
        cv2.imwrite(osp.join(seq_dir, 'img1', f'{frame:06d}.jpg'),
                    np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    with open(osp.join(seq_dir, 'gt', 'gt.txt'), 'w') as f:
        f.writelines(line + '\n' for line in gt_lines)
    return seq_dir


def convert(root, splits=('train', ), **kwargs) -> dict:
    out = convert_mot_to_coco(str(root), osp.join(root, 'annotations'),
                              splits, progress=False, **kwargs)
    return {split: json.load(open(path)) for split, path in out.items()}


@pytest.fixture
def two_seqs(tmp_path) -> str:
    # MOT id 7 in both sequences: two different people.
    make_seq(tmp_path / 'train', 'SEQA',
             ['1,7,10,5,8,20,1,1,0.75', '3,7,12,6,8,20,1,1,1'])
    make_seq(tmp_path / 'train', 'SEQB', ['4,7,1,2,3,4,1,1,0.5'])
    return tmp_path


def test_two_line_gt_field_by_field(two_seqs):
    coco = convert(two_seqs)['train']
    assert coco['categories'][0] == dict(id=1, name='pedestrian')
    assert len(coco['categories']) == 13  # all MOT classes, ids 1..13
    assert coco['videos'] == [
        dict(id=1, name='SEQA', fps=30, width=WIDTH, height=HEIGHT),
        dict(id=2, name='SEQB', fps=30, width=WIDTH, height=HEIGHT)
    ]
    assert len(coco['images']) == 2 * NUM_FRAMES
    assert coco['images'][2] == dict(
        id=3, video_id=1, file_name='SEQA/img1/000003.jpg', height=HEIGHT,
        width=WIDTH, frame_id=2, mot_frame_id=3)
    assert coco['images'][4]['file_name'] == 'SEQB/img1/000001.jpg'
    assert coco['images'][4]['frame_id'] == 0
    first, second, third = coco['annotations']
    assert first == dict(
        id=1, category_id=1, image_id=1, instance_id=0,
        bbox=[10.0, 5.0, 8.0, 20.0], area=160.0, iscrowd=0,
        visibility=0.75, mot_instance_id=7, mot_conf=1.0, mot_class_id=1)
    assert (second['image_id'], second['instance_id']) == (3, 0)
    # SEQB's id 7 is a new instance; frame 4 of SEQB is image 4 + 4.
    assert (third['id'], third['image_id'], third['instance_id']) == (3, 8, 1)
    assert coco['num_instances'] == 2


def test_half_splits(two_seqs):
    # 4 frames: half-train keeps 1 .. 4 // 2 + 1 = 3, half-val frame 4.
    assert list(split_frames(4, 'half-train')) == [1, 2, 3]
    assert list(split_frames(4, 'half-val')) == [4]
    assert list(split_frames(71, 'half-val'))[0] == 37
    coco = convert(two_seqs, ('half-train', 'half-val'))
    train, val = coco['half-train'], coco['half-val']
    assert [im['mot_frame_id'] for im in train['images']] == [1, 2, 3] * 2
    assert [(im['frame_id'], im['mot_frame_id'], im['file_name'])
            for im in val['images']] == [(0, 4, 'SEQA/img1/000004.jpg'),
                                         (0, 4, 'SEQB/img1/000004.jpg')]
    assert [a['mot_instance_id'] for a in train['annotations']] == [7, 7]
    (ann, ) = val['annotations']
    assert (ann['image_id'], ann['instance_id'], ann['bbox']) == (
        2, 0, [1.0, 2.0, 3.0, 4.0])


def test_classes_and_ignored_boxes(tmp_path):
    make_seq(tmp_path / 'train', 'SEQ', [
        '1,1,0,0,5,5,1,1,1',  # pedestrian
        '1,2,0,0,5,5,0,1,1',  # pedestrian, not to be considered
        '1,3,0,0,5,5,0,7,1',  # static person: kept for TrackEval
        '1,4,0,0,5,5,1,99,1',  # not a MOT class
    ])
    with pytest.warns(UserWarning, match='dropped 1 boxes of classes'):
        coco = convert(tmp_path)['train']
    assert [(a['mot_instance_id'], a['category_id'], a['iscrowd'])
            for a in coco['annotations']] == [(1, 1, 0), (2, 1, 1), (3, 7, 1)]


def test_sequence_without_people(tmp_path):
    make_seq(tmp_path / 'train', 'EMPTY', [])
    with pytest.warns(UserWarning, match='no people'):
        coco = convert(tmp_path)['train']
    assert len(coco['images']) == NUM_FRAMES
    assert coco['annotations'] == []


def test_missing_frame_names_the_file(tmp_path):
    seq_dir = make_seq(tmp_path / 'train', 'SEQ', ['1,1,0,0,5,5,1,1,1'])
    os.remove(osp.join(seq_dir, 'img1', '000003.jpg'))
    with pytest.raises(FileNotFoundError, match=r'000003\.jpg is missing'):
        convert(tmp_path)


def test_flat_folder_and_bad_input(tmp_path):
    make_seq(tmp_path, 'SEQ', ['2,1,0,0,5,5,1,1,1'])
    coco = convert(tmp_path)['train']
    assert coco['images'][0]['file_name'] == 'SEQ/img1/000001.jpg'
    assert coco['annotations'][0]['image_id'] == 2
    with pytest.raises(ValueError, match='unknown splits'):
        convert(tmp_path, ('val', ))
    with pytest.raises(FileNotFoundError, match='no MOTChallenge sequences'):
        convert(tmp_path / 'SEQ' / 'gt')


def test_test_split_needs_no_gt(tmp_path):
    for split in ('train', 'test'):
        seq_dir = make_seq(tmp_path / split, 'SEQ', [])
        os.remove(osp.join(seq_dir, 'gt', 'gt.txt'))
    coco = convert(tmp_path, ('test', ))['test']
    assert (len(coco['images']), coco['annotations']) == (NUM_FRAMES, [])
    with pytest.raises(FileNotFoundError, match='gt.txt not found'):
        convert(tmp_path, ('train', ))


def test_tud_campus(tmp_path):
    if not osp.isdir(TUD_CAMPUS):
        pytest.skip(f'{TUD_CAMPUS} is absent')
    # The shared folder is read only: a flat folder of sequences.
    data_root = osp.dirname(osp.abspath(TUD_CAMPUS))
    out = convert_mot_to_coco(data_root, str(tmp_path), ('train', 'half-val'),
                              progress=False)
    coco = json.load(open(out['train']))
    assert len(coco['images']) == 71
    assert len(coco['annotations']) == 359
    assert len({a['instance_id'] for a in coco['annotations']}) == 8
    assert coco['videos'][0] == dict(id=1, name='TUD-Campus', fps=25,
                                     width=640, height=480)
    assert len(json.load(open(out['half-val']))['images']) == 71 - 36


def test_mmdet_loads_and_scores_gt_perfectly(tmp_path, monkeypatch):
    """mmdet's MOTChallengeDataset loads the JSON and its MOTChallengeMetric
    scores the ground truth as predictions at 100% (TrackEval fractions)."""
    pytest.importorskip('mmcv.ops')
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    import torch
    from mmdet.datasets import MOTChallengeDataset
    from mmdet.evaluation import MOTChallengeMetric
    from mmdet.structures import DetDataSample, TrackDataSample
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData

    generate_synthetic_mot(str(tmp_path), num_seqs=2, num_frames=8,
                           img_size=(128, 96), num_people=(2, 4),
                           progress=False)
    ann = convert(tmp_path, ('half-val', ))  # frame_id restarts at 0
    dataset = MOTChallengeDataset(
        ann_file=osp.join(tmp_path, 'annotations',
                          'half-val_cocoformat.json'),
        data_prefix=dict(img_path=osp.join(tmp_path, 'train')),
        test_mode=True, pipeline=[])
    assert len(dataset) == 2
    num_boxes = sum(
        len(img['instances']) for i in range(len(dataset))
        for img in dataset.get_data_info(i)['images'])
    assert num_boxes == len(ann['half-val']['annotations'])

    # The Evaluator turns data samples into dicts, as in a test loop.
    evaluator = Evaluator(MOTChallengeMetric())
    for i in range(len(dataset)):
        images = dataset.get_data_info(i)['images']
        frames = []
        for img in images:
            sample = DetDataSample(metainfo=dict(
                img_path=img['img_path'], frame_id=img['frame_id'],
                instances=img['instances'], ori_video_length=len(images)))
            boxes = [inst['bbox'] for inst in img['instances']]
            sample.pred_track_instances = InstanceData(
                bboxes=torch.tensor(boxes).reshape(-1, 4),
                instances_id=torch.tensor(
                    [inst['instance_id'] for inst in img['instances']]),
                scores=torch.ones(len(boxes)))
            frames.append(sample)
        evaluator.process([TrackDataSample(video_data_samples=frames)], {})
    results = evaluator.evaluate(size=len(dataset))
    results = {k.split('/')[-1]: v for k, v in results.items()}
    for key in ('HOTA', 'MOTA', 'IDF1'):
        assert results[key] == pytest.approx(1.0)
    assert (results['TP'], results['FP'], results['FN']) == (num_boxes, 0, 0)


# MOT17 ships each sequence as three folders with the same frames and gt.
MOT17_GT = ['1,1,10,5,8,20,1,1,0.8', '1,2,30,5,8,20,0,1,0.1',
            '2,3,40,6,8,20,0,8,1', '3,4,50,6,8,20,1,12,0.5']


@pytest.fixture
def mot17_layout(tmp_path) -> str:
    """train: MOT17-02 and MOT17-04, test: MOT17-01, each as -DPM, -FRCNN
    and -SDP; MOT16-09 (no detector suffix) beside them in train."""
    for split, seqs in (('train', ('MOT17-02', 'MOT17-04')),
                        ('test', ('MOT17-01', ))):
        for seq in seqs:
            for detector in ('DPM', 'FRCNN', 'SDP'):
                make_seq(tmp_path / split, f'{seq}-{detector}', MOT17_GT)
    make_seq(tmp_path / 'train', 'MOT16-09', MOT17_GT)
    return tmp_path


ALL_SPLITS = ('train', 'half-train', 'half-val', 'test')


def test_mot17_one_copy_per_sequence(mot17_layout):
    messages = []
    coco = convert(mot17_layout, ALL_SPLITS, log=messages.append)
    for split in ('train', 'half-train', 'half-val'):
        assert [v['name'] for v in coco[split]['videos']] == [
            'MOT16-09', 'MOT17-02-FRCNN', 'MOT17-04-FRCNN'], split
    assert [v['name'] for v in coco['test']['videos']] == ['MOT17-01-FRCNN']
    # 4 frames per copy: train 3 x 4, half-train 3 x 3, half-val 3 x 1.
    assert [len(coco[s]['images']) for s in ALL_SPLITS] == [12, 9, 3, 4]
    # One message per MOT17 sequence (train once, not once per split).
    assert messages == [
        f'{seq}: kept {seq}-FRCNN (--detector FRCNN), left out {seq}-DPM, '
        f'{seq}-SDP (the same frames and gt.txt as the kept copy; '
        '--detector all keeps them).'
        for seq in ('MOT17-02', 'MOT17-04', 'MOT17-01')]


def test_mot17_keeps_every_gt_row_with_its_fields(mot17_layout):
    coco = convert(mot17_layout, ('train', ), log=None)['train']
    video = coco['videos'][1]['id']  # MOT17-02-FRCNN
    images = {im['id'] for im in coco['images'] if im['video_id'] == video}
    anns = [a for a in coco['annotations'] if a['image_id'] in images]
    # conf 0 and the distractor classes 8 / 12 stay, for ignore regions and
    # TrackEval's preprocessing.
    assert [(a['mot_instance_id'], a['category_id'], a['mot_class_id'],
             a['mot_conf'], a['iscrowd'], a['visibility']) for a in anns] == [
                 (1, 1, 1, 1.0, 0, 0.8), (2, 1, 1, 0.0, 1, 0.1),
                 (3, 8, 8, 0.0, 1, 1.0), (4, 12, 12, 1.0, 0, 0.5)]


@pytest.mark.parametrize('detector, names', [
    ('SDP', ['MOT16-09', 'MOT17-02-SDP', 'MOT17-04-SDP']),
    ('all', ['MOT16-09'] + [f'MOT17-{s}-{d}' for s in ('02', '04')
                            for d in ('DPM', 'FRCNN', 'SDP')]),
])
def test_mot17_detector_choice(mot17_layout, detector, names):
    messages = []
    coco = convert(mot17_layout, ('half-val', ), detector=detector,
                   log=messages.append)['half-val']
    assert [v['name'] for v in coco['videos']] == names
    if detector == 'all':
        assert messages[0] == ('MOT17-02: kept all 3 copies (DPM, FRCNN, '
                               'SDP; --detector all): every frame counts 3 '
                               'times.')


def test_mot17_missing_or_different_copy(tmp_path):
    # Only DPM and SDP downloaded; SDP's gt differs from DPM's.
    make_seq(tmp_path / 'train', 'MOT17-05-DPM', MOT17_GT)
    make_seq(tmp_path / 'train', 'MOT17-05-SDP', MOT17_GT[:1])
    messages = []
    coco = convert(tmp_path, log=messages.append)['train']
    assert [v['name'] for v in coco['videos']] == ['MOT17-05-DPM']
    assert messages == [
        'MOT17-05: kept MOT17-05-DPM (no MOT17-05-FRCNN copy), left out '
        'MOT17-05-SDP (WARNING: frames or gt.txt differ from the kept copy; '
        '--detector all keeps them).'
    ]
    with pytest.raises(ValueError, match='choose one of DPM, FRCNN, SDP, all'):
        convert(tmp_path, detector='frcnn')
