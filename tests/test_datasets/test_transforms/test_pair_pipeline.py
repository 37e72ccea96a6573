"""The training pipeline of the synthetic config, PairFrameSample ->
TransformBroadcaster (resize, photometric distortion, crop, flip) ->
PackTrackInputs, on a hand-made video.

Two people walk right at SPEED px per frame, so between frames f1 < f2 each
person's box moves by SPEED * (f2 - f1) px in x and 0 in y. If both frames
get the same resize, crop and flip, every person moves by the same vector
after the pipeline: (SPEED * (f2 - f1) * scale, 0), negated in x when
flipped. A crop or flip applied to one frame only breaks that.
"""
import os.path as osp
import random

import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmdmw  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'configs', 'dmw',
                  'retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
W, H = 320, 192  # the config's img_scale: resize ratio 0.9-1.1, crop 320x192
SPEED = 6  # px per frame, to the right
START = {1: (100, 40), 2: (150, 60)}  # identity: top-left x, y in frame 0
BOX = (30, 90)  # w, h
SEEDS = range(12)  # enough draws to see flipped and unflipped, both orders


def person_box(identity: int, frame: int) -> list:
    x, y = START[identity]
    x += SPEED * frame
    return [x, y, x + BOX[0], y + BOX[1]]


def make_video(tmp_path, length: int) -> dict:
    """``video_infos`` as mmdet's ``BaseVideoDataset`` gives a frame
    sampler: per frame, its image and instances."""
    images = []
    for frame in range(length):
        img = np.full((H, W, 3), 90, np.uint8)
        instances = []
        for identity in START:
            x1, y1, x2, y2 = person_box(identity, frame)
            cv2.rectangle(img, (x1, y1), (x2, y2), (40 * identity, 200, 30),
                          -1)
            instances.append(
                dict(bbox=[float(v) for v in (x1, y1, x2, y2)],
                     bbox_label=0, instance_id=identity, ignore_flag=0,
                     mot_conf=1.0, category_id=1, visibility=1.0))
        path = str(tmp_path / f'{frame:06d}.png')
        cv2.imwrite(path, img)
        images.append(
            dict(img_id=frame + 1, img_path=path, height=H, width=W,
                 frame_id=frame, video_id=0, instances=instances))
    return dict(video_id=0, video_length=length, images=images)


def pipeline(**pair_sample) -> Compose:
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmdet')
    transforms = cfg.train_dataloader.dataset.pipeline
    transforms[0].update(pair_sample)
    assert transforms[0]['type'] == 'PairFrameSample'
    return Compose(transforms)


def run(pipe: Compose, video: dict, seed: int, key_frame_id=None) -> dict:
    random.seed(seed)
    np.random.seed(seed)
    infos = dict(video, images=[dict(i) for i in video['images']])
    if key_frame_id is not None:
        infos['key_frame_id'] = key_frame_id
    return pipe(infos)


def frames_of(packed: dict) -> list:
    return packed['data_samples'].video_data_samples


def moves(packed: dict) -> dict:
    """identity -> (x1, y1, x2, y2) of frame 2 minus frame 1, both
    after the pipeline."""
    first, second = (dict(zip(f.gt_instances.instances_ids.tolist(),
                              f.gt_instances.bboxes.tolist()))
                     for f in frames_of(packed))
    return {i: np.subtract(second[i], first[i]) for i in first
            if i in second}


@pytest.fixture(scope='module')
def video(tmp_path_factory) -> dict:
    return make_video(tmp_path_factory.mktemp('video'), length=6)


def test_both_frames_get_the_same_geometry(video):
    pipe = pipeline()
    flips = set()
    for seed in SEEDS:
        packed = run(pipe, video, seed)
        first, second = frames_of(packed)
        assert packed['inputs'].shape[0] == 2
        for key in ('img_shape', 'scale_factor', 'flip'):
            assert first.metainfo[key] == second.metainfo[key], key
        gap = second.frame_id - first.frame_id
        assert 1 <= gap <= 3  # time order, max_gap 3
        scale = first.metainfo['scale_factor'][0]
        sign = -1 if first.metainfo['flip'] else 1
        flips.add(first.metainfo['flip'])
        per_person = moves(packed)
        assert per_person, seed  # a crop keeps at least one of them
        for moved in per_person.values():
            expected = [sign * SPEED * gap * scale, 0] * 2
            assert moved.tolist() == pytest.approx(expected, abs=1e-3)
    assert flips == {True, False}, 'draws saw no flip (or only flips)'


def test_crop_keeps_the_full_width(video):
    """RandomResize scales 320x192 by 0.9-1.1; the crop to 320x192 must
    leave min(320, resized width) columns."""
    for seed in SEEDS:
        first = frames_of(run(pipeline(), video, seed))[0]
        resized_w = round(W * first.metainfo['scale_factor'][0])
        assert abs(first.metainfo['img_shape'][1] - min(W, resized_w)) <= 1


def test_key_frame_index_follows_the_sampled_order(video):
    orders = set()
    for seed in SEEDS:
        packed = run(pipeline(), video, seed)
        meta = packed['data_samples'].metainfo
        assert sorted(meta['key_frames_inds'] + meta['ref_frames_inds']) == [
            0, 1
        ]
        orders.add(meta['key_frames_inds'][0])
    assert orders == {0, 1}  # reverse_prob 0.5: both orders occur
    forward = run(pipeline(reverse_prob=0.), video, 0, key_frame_id=2)
    backward = run(pipeline(reverse_prob=1.), video, 0, key_frame_id=2)
    for packed, key in ((forward, 0), (backward, 1)):
        meta = packed['data_samples'].metainfo
        assert (meta['key_frames_inds'], meta['ref_frames_inds']) == (
            [key], [1 - key])
        # frames in time order; the sampled key frame is the earlier one
        # here, its partner 1-3 frames later
        assert frames_of(packed)[0].frame_id == 2
        assert 3 <= frames_of(packed)[1].frame_id <= 5


def test_last_frame_takes_an_earlier_partner(video):
    for seed in SEEDS:
        packed = run(pipeline(), video, seed, key_frame_id=5)
        first, second = (f.frame_id for f in frames_of(packed))
        assert second == 5 and 2 <= first <= 4


def test_one_frame_video_pairs_the_frame_with_itself(tmp_path):
    single = make_video(tmp_path, length=1)
    for seed in SEEDS[:4]:
        packed = run(pipeline(), single, seed)
        first, second = frames_of(packed)
        assert first.frame_id == second.frame_id == 0
        assert (packed['inputs'][0] == packed['inputs'][1]).all()
        assert first.gt_instances.bboxes.tolist() == \
            second.gt_instances.bboxes.tolist()
