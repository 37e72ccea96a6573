"""The MOT16 path rehearsed on CPU, on data shaped like MOT16.

A fixture made at test time lays real TUD-Campus frames (synthetic frames
when ``../shared/data`` is absent) out as MOT16 train and test: MOT17's 7
train sequences under MOT16 names without a detector suffix, the 7 test
sequences likewise (without gt), 9-column gt with classes 1 / 2 / 7 / 8 /
12, conf 0 / 1 and visibility, public detections, ``seqinfo.ini``. It then
runs the converter, one epoch of the R50 config's pipeline and model at
reduced width and image size, ``tools/test.py --eval track`` on half-val
with TrackEval's MOT16 conventions and ``tools/test.py --out`` on test,
through the real tools.
"""
import os
import os.path as osp
import sys

import numpy as np
import pytest
from rehearsal_utils import (ROOT, as_mot17_gt, cfg_options, load_coco,
                             run_tool, source_sequence, write_copies)

CONFIG = osp.join(ROOT, 'configs', 'dmw', 'retina_dmw_r50_mot16.py')
HALF_CONFIG = osp.join(
    ROOT, 'configs', 'dmw',
    'retina_dmw_r50_8xb1-100e_mot16halftrain_test-mot16halfval.py')
TEST_CONFIG = osp.join(ROOT, 'configs', 'dmw',
                       'retina_dmw_r50_8xb1-100e_mot16train_test-mot16test.py')

TRAIN_SEQS = ('MOT16-02', 'MOT16-04', 'MOT16-05', 'MOT16-09', 'MOT16-10',
              'MOT16-11', 'MOT16-13')
TEST_SEQS = ('MOT16-01', 'MOT16-03', 'MOT16-06', 'MOT16-07', 'MOT16-08',
             'MOT16-12', 'MOT16-14')
TRAIN_FRAMES, TEST_FRAMES = 3, 2  # per sequence
IMG_SCALE = (256, 192)  # (w, h), the R50 config's 1088 x 608 reduced


@pytest.fixture(scope='module')
def mot16(tmp_path_factory) -> dict:
    """MOT16-shaped data, converted with tools/dataset_converters."""
    tmp = str(tmp_path_factory.mktemp('mot16'))
    frames, gt, width, height = source_sequence(
        osp.join(tmp, 'source'),
        len(TRAIN_SEQS) * TRAIN_FRAMES + len(TEST_SEQS) * TEST_FRAMES)
    root = osp.join(tmp, 'MOT16')
    first = 1
    gts = {}
    for seq in TRAIN_SEQS:
        gts[seq] = as_mot17_gt(gt, first, TRAIN_FRAMES)
        write_copies(root, 'train', seq,
                     frames[first - 1:first - 1 + TRAIN_FRAMES], gts[seq],
                     width, height, detectors=())
        first += TRAIN_FRAMES
    for seq in TEST_SEQS:  # MOT16 test: no gt
        write_copies(root, 'test', seq,
                     frames[first - 1:first - 1 + TEST_FRAMES], None, width,
                     height, detectors=())
        first += TEST_FRAMES
    out = run_tool(sys.executable, 'tools/dataset_converters/mot2coco.py',
                   '-i', root, '-o', osp.join(root, 'annotations'))
    return dict(root=root, gts=gts, converter_output=out)


@pytest.fixture(scope='module')
def trained(mot16, tmp_path_factory) -> str:
    work_dir = str(tmp_path_factory.mktemp('work'))
    run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
             work_dir, *cfg_options(CONFIG, mot16['root'], IMG_SCALE))
    return work_dir


@pytest.mark.slow
def test_converter_keeps_every_sequence_under_its_name(mot16):
    out = mot16['converter_output']
    assert 'kept' not in out and 'left out' not in out, out  # no copies
    half = TRAIN_FRAMES // 2 + 1
    expected = dict(train=TRAIN_FRAMES, test=TEST_FRAMES)
    expected.update({'half-train': half, 'half-val': TRAIN_FRAMES - half})
    for split, frames in expected.items():
        coco = load_coco(mot16['root'], split)
        seqs = TEST_SEQS if split == 'test' else TRAIN_SEQS
        assert [v['name'] for v in coco['videos']] == list(seqs), split
        assert len(coco['images']) == len(seqs) * frames, split
    coco = load_coco(mot16['root'], 'train')
    gt = np.concatenate([mot16['gts'][s] for s in TRAIN_SEQS])
    anns = coco['annotations']
    assert len(anns) == len(gt)
    assert {a['category_id'] for a in anns} == {1, 2, 7, 8, 12}
    assert {a['mot_conf'] for a in anns} == {0.0, 1.0}


@pytest.mark.slow
def test_an_epoch_passes_every_frame_once(trained):
    from mmdmw.utils.safe_checkpoint import load_checkpoint_file
    ckpt = load_checkpoint_file(osp.join(trained, 'epoch_1.pth'), 'cpu')
    assert ckpt['meta']['iter'] == len(TRAIN_SEQS) * TRAIN_FRAMES


@pytest.mark.slow
def test_track_and_score_half_val_as_mot16(mot16, trained, tmp_path):
    work_dir = str(tmp_path / 'val')
    out = run_tool(sys.executable, 'tools/test.py', HALF_CONFIG,
                   osp.join(trained, 'epoch_1.pth'), '--eval', 'track',
                   '--work-dir', work_dir,
                   *cfg_options(HALF_CONFIG, mot16['root'], IMG_SCALE))
    for name in ('HOTA', 'MOTA', 'IDF1'):
        assert f'motchallenge-metric/{name}:' in out, name


@pytest.mark.slow
def test_submission_has_the_7_mot16_test_files(mot16, trained, tmp_path):
    out_dir = str(tmp_path / 'submission')
    out = run_tool(sys.executable, 'tools/test.py', TEST_CONFIG,
                   osp.join(trained, 'epoch_1.pth'), '--out', out_dir,
                   '--work-dir', str(tmp_path / 'test'),
                   *cfg_options(TEST_CONFIG, mot16['root'], IMG_SCALE))
    assert 'no ground truth in this split' in out
    assert f'7 MOTChallenge result files in {out_dir}. Zip' in out
    assert sorted(os.listdir(out_dir)) == [f'{s}.txt' for s in TEST_SEQS]
    for seq in TEST_SEQS:
        with open(osp.join(out_dir, f'{seq}.txt')) as f:
            frames = {int(line.split(',')[0]) for line in f}
        assert frames <= set(range(1, TEST_FRAMES + 1)) and frames, seq


def test_mot16_config_is_mot17s_model_with_mot16s_benchmark():
    from mmengine.config import Config
    mot16 = Config.fromfile(TEST_CONFIG)
    mot17 = Config.fromfile(osp.join(
        ROOT, 'configs', 'dmw',
        'retina_dmw_r50_8xb1-100e_mot17train_test-mot17test.py'))
    assert mot16.model == mot17.model
    assert mot16.test_pipeline == mot17.test_pipeline
    assert mot16.test_evaluator.benchmark == 'MOT16'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert mot16[loader].dataset.data_root == 'data/MOT16/'
