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
import sys

import numpy as np
import pytest
from rehearsal_utils import (BACKGROUND, DISTRACTOR, PEDESTRIAN, ROOT,
                             as_mot17_gt, cfg_options, load_coco, run_tool,
                             score_hand_placed, source_sequence,
                             write_copies)

CONFIG = osp.join(ROOT, 'configs', 'dmw', 'retina_dmw_r50_mot17.py')
TEST_CONFIG = osp.join(ROOT, 'configs', 'dmw',
                       'retina_dmw_r50_8xb1-100e_mot17train_test-mot17test.py')

DETECTORS = ('DPM', 'FRCNN', 'SDP')
TRAIN_SEQS = ('MOT17-02', 'MOT17-04')
TEST_SEQS = ('MOT17-01', 'MOT17-03', 'MOT17-06', 'MOT17-07', 'MOT17-08',
             'MOT17-12', 'MOT17-14')
TRAIN_FRAMES, TEST_FRAMES = 6, 2  # per sequence
IMG_SCALE = (256, 192)  # (w, h), the R50 config's 1088 x 608 reduced


@pytest.fixture(scope='module')
def mot17(tmp_path_factory) -> dict:
    """MOT17-shaped data, converted with tools/dataset_converters."""
    tmp = str(tmp_path_factory.mktemp('mot17'))
    frames, gt, width, height = source_sequence(
        osp.join(tmp, 'source'),
        len(TRAIN_SEQS) * TRAIN_FRAMES + len(TEST_SEQS) * TEST_FRAMES)
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


@pytest.fixture(scope='module')
def trained(mot17, tmp_path_factory) -> str:
    work_dir = str(tmp_path_factory.mktemp('work'))
    run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
             work_dir, *cfg_options(CONFIG, mot17['root'], IMG_SCALE))
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
        coco = load_coco(mot17['root'], split)
        seqs = TEST_SEQS if split == 'test' else TRAIN_SEQS
        assert [v['name'] for v in coco['videos']] == [
            f'{s}-FRCNN' for s in seqs], split
        assert len(coco['images']) == len(seqs) * frames, split
    # Every gt row of one copy, with its class, conf and visibility.
    coco = load_coco(mot17['root'], 'train')
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
                   '--work-dir', work_dir,
                   *cfg_options(CONFIG, mot17['root'], IMG_SCALE))
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
                   *cfg_options(CONFIG, mot17['root'], IMG_SCALE))
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
