"""MOTVideoDataset marks ignore regions; the pair pipeline carries them.

A hand-written COCO-video file of one 2-frame video, 96 x 64 px. Each frame:

    id 0  pedestrian, conf 1, visibility 0.9   box x 10..30  -> a person
    id 1  pedestrian, conf 1, visibility 0.05  box x 40..60  -> person, or
          ignore with ignore_visibility_thr=0.1 (CTracker's threshold)
    id 2  static person (class 7), conf 0      box x 70..90  -> ignore
    id 3  pedestrian, conf 0 ("do not consider") box x 0..10, y 50..60
                                                             -> ignore
    id 4  car (class 3)                        not loaded at all
"""
import json
import os

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

import mmdmw  # noqa: F401
from mmdmw.datasets.mot2coco import CATEGORIES

W, H = 96, 64
#: (instance id, class, conf, visibility, x, y, w, h)
ROWS = [(0, 1, 1., 0.9, 10, 10, 20, 40), (1, 1, 1., 0.05, 40, 10, 20, 40),
        (2, 7, 0., 1.0, 70, 10, 20, 40), (3, 1, 0., 1.0, 0, 50, 10, 10),
        (4, 3, 0., 1.0, 30, 52, 30, 10)]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('ignore_regions')
    os.makedirs(root / 'train' / 'SEQ' / 'img1')
    images, annotations = [], []
    for frame_id in range(2):
        name = f'SEQ/img1/{frame_id + 1:06d}.jpg'
        cv2.imwrite(str(root / 'train' / name),
                    np.full((H, W, 3), 128, np.uint8))
        images.append(dict(id=frame_id + 1, video_id=1, file_name=name,
                           height=H, width=W, frame_id=frame_id,
                           mot_frame_id=frame_id + 1))
        for inst, cls, conf, vis, x, y, w, h in ROWS:
            annotations.append(
                dict(id=len(annotations) + 1, image_id=frame_id + 1,
                     category_id=cls, instance_id=inst, bbox=[x, y, w, h],
                     area=w * h, iscrowd=int(conf == 0), visibility=vis,
                     mot_instance_id=inst + 1, mot_conf=conf,
                     mot_class_id=cls))
    coco = dict(categories=CATEGORIES, videos=[dict(id=1, name='SEQ')],
                images=images, annotations=annotations)
    os.makedirs(root / 'annotations')
    with open(root / 'annotations' / 'train.json', 'w') as f:
        json.dump(coco, f)
    return str(root)


def dataset(data_root: str, pipeline=(), **kwargs):
    cfg = dict(type='MOTVideoDataset', data_root=data_root,
               ann_file='annotations/train.json',
               data_prefix=dict(img_path='train'),
               metainfo=dict(classes=('pedestrian', )),
               filter_cfg=dict(filter_empty_gt=False),
               pipeline=list(pipeline), **kwargs)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def instances(ds) -> dict:
    """instance id -> (ignore_flag, bbox_label) of the video's first frame."""
    frame = ds.get_data_info(0)['images'][0]
    return {i['instance_id']: (i['ignore_flag'], i['bbox_label'])
            for i in frame['instances']}


def test_ignore_classes_and_conf_zero_are_ignore_regions(data_root):
    # Default: visibility off, so id 1 is a person; id 2 is class 7 (label
    # -1, no class of the model), id 3 has conf 0; the car is absent.
    assert instances(dataset(data_root)) == {
        0: (0, 0), 1: (0, 0), 2: (1, -1), 3: (1, 0)}


def test_visibility_threshold_as_ctracker(data_root):
    ds = dataset(data_root, ignore_visibility_thr=0.1)
    assert instances(ds) == {0: (0, 0), 1: (1, 0), 2: (1, -1), 3: (1, 0)}
    # The model's classes and labels are those of metainfo, unchanged.
    assert ds.metainfo['classes'] == ('pedestrian', )
    assert ds.cat_ids == [1] and ds.cat2label == {1: 0}


def test_without_ignore_classes_as_mmdet(data_root):
    ds = dataset(data_root, ignore_classes=())
    assert instances(ds) == {0: (0, 0), 1: (0, 0), 3: (1, 0)}


def test_test_mode_loads_the_classes_of_metainfo_only(data_root):
    ds = dataset(data_root, test_mode=True)
    assert sorted(instances(ds)) == [0, 1, 3]


def test_pair_pipeline_carries_ignore_regions_through_resize_and_flip(
        data_root):
    pipeline = [
        dict(type='PairFrameSample', max_gap=1, reverse_prob=0.),
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[
                 dict(type='LoadImageFromFile'),
                 dict(type='LoadTrackAnnotations'),
                 dict(type='Resize', scale=(2 * W, 2 * H), keep_ratio=True),
                 dict(type='RandomFlip', prob=1.0),
             ]),
        dict(type='PackTrackInputs')
    ]
    ds = dataset(data_root, pipeline, ignore_visibility_thr=0.1)
    out = ds[0]
    sample = out['data_samples']
    for t in range(2):
        frame = sample[t]
        # Scaled by 2, then flipped in a 192-px wide image: x -> 192 - x.
        assert frame.gt_instances.bboxes.tolist() == [[132., 20.,
                                                              172., 100.]]
        assert frame.gt_instances.instances_ids.tolist() == [0]
        ignored = frame.ignored_instances
        assert ignored.instances_ids.tolist() == [1, 2, 3]
        assert ignored.bboxes.tolist() == [[72., 20., 112., 100.],
                                                  [12., 20., 52., 100.],
                                                  [172., 100., 192., 120.]]


def test_pair_pipeline_crops_ignore_regions_with_the_people(data_root):
    """A 48 x 40 crop at a random offset: every kept box, person or ignore
    region, is its original box shifted by the same offset in both frames,
    and keeps its identity and its ignore flag."""
    pipeline = [
        dict(type='PairFrameSample', max_gap=1, reverse_prob=0.),
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[
                 dict(type='LoadImageFromFile'),
                 dict(type='LoadTrackAnnotations'),
                 dict(type='RandomCrop', crop_size=(40, 48),
                      allow_negative_crop=True, bbox_clip_border=False),
             ]),
        dict(type='PackTrackInputs')
    ]
    ds = dataset(data_root, pipeline, ignore_visibility_thr=0.1)
    original = {inst: [x, y, x + w, y + h]
                for inst, _, _, _, x, y, w, h in ROWS}
    seen = set()
    for seed in range(5):
        np.random.seed(seed)
        sample = ds[0]['data_samples']
        offsets = set()
        for t in range(2):
            for kind, ignore in (('gt_instances', False),
                                 ('ignored_instances', True)):
                found = getattr(sample[t], kind)
                for box, inst in zip(found.bboxes.tolist(),
                                     found.instances_ids.tolist()):
                    assert (inst in (1, 2, 3)) == ignore
                    seen.add(inst)
                    x1, y1 = original[inst][:2]
                    offsets.add((x1 - box[0], y1 - box[1]))
                    assert box[2] - box[0] == original[inst][2] - x1
        assert len(offsets) <= 1  # one crop for every box of both frames
    assert seen & {0} and seen & {1, 2, 3}  # both kinds were cropped
