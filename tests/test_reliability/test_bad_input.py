"""Bad input stops with one message that names the file (and line) and
says what to do, never a traceback from deep inside."""
import os
import os.path as osp
import re
import runpy
import shutil
import sys

import cv2
import numpy as np
import pytest
from mmdet.registry import MODELS, TRANSFORMS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from reliability_utils import CONFIG, ROOT, cfg_options, run_tool

from mmdmw.apis.config_errors import explain_build_error
from mmdmw.datasets.mot_files import CorruptImageError, write_seqinfo

CONVERTER = osp.join(ROOT, 'tools', 'dataset_converters', 'mot2coco.py')
NUM_FRAMES, WIDTH, HEIGHT = 3, 64, 48
GOOD_GT = '1,1,10,5,8,20,1,1,1'
KEPT_SHARE = 0.8  # of a truncated JPEG: it still decodes, greyed out


def make_seq(root, gt_lines=(GOOD_GT, ), name='SEQ') -> str:
    """A 3-frame 64x48 MOTChallenge sequence under ``root/train``."""
    seq_dir = osp.join(root, 'train', name)
    os.makedirs(osp.join(seq_dir, 'img1'))
    os.makedirs(osp.join(seq_dir, 'gt'))
    write_seqinfo(seq_dir, dict(name=name, imDir='img1', frameRate=30,
                                seqLength=NUM_FRAMES, imWidth=WIDTH,
                                imHeight=HEIGHT, imExt='.jpg'))
    noise = np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3))
    for frame in range(1, NUM_FRAMES + 1):
        cv2.imwrite(frame_path(seq_dir, frame), noise.astype(np.uint8))
    with open(osp.join(seq_dir, 'gt', 'gt.txt'), 'w') as f:
        f.writelines(line + '\n' for line in gt_lines)
    return seq_dir


def frame_path(seq_dir: str, frame: int) -> str:
    return osp.join(seq_dir, 'img1', f'{frame:06d}.jpg')


def truncate(path: str) -> None:
    """Cut a JPEG inside its image data, as an interrupted copy does."""
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:int(len(data) * KEPT_SHARE)])
    assert cv2.imread(path) is not None  # OpenCV alone would not notice


def convert(root, *flags: str) -> None:
    """``tools/dataset_converters/mot2coco.py`` in this process."""
    argv = sys.argv
    sys.argv = [CONVERTER, '-i', str(root), '-o', str(root / 'ann'), *flags]
    try:
        runpy.run_path(CONVERTER, run_name='__main__')
    finally:
        sys.argv = argv


def drop_frame(seq):
    os.remove(frame_path(seq, 2))


def truncate_frame(seq):
    truncate(frame_path(seq, 2))


def garble_frame(seq):
    open(frame_path(seq, 2), 'wb').write(b'\xff\xd8 not a jpeg \xff\xd9')


def drop_gt(seq):
    os.remove(osp.join(seq, 'gt', 'gt.txt'))


@pytest.mark.parametrize('gt_lines,damage,flags,message', [
    ((GOOD_GT, ), drop_frame, (), r'000002\.jpg is missing'),
    ((GOOD_GT, ), truncate_frame, ('--check-images', ),
     r'000002\.jpg: truncated'),
    ((GOOD_GT, ), garble_frame, ('--check-images', ),
     r'000002\.jpg: cannot be decoded'),
    ((GOOD_GT, ), drop_gt, (), r'gt\.txt not found; expected'),
    (('1,1,10,5', ), None, (), r'gt\.txt, line 1: 4 columns, too few'),
    ((GOOD_GT, '2,1,x,5,8,20,1,1,1'), None, (),
     r"gt\.txt, line 2: x \(column 3\) is 'x', not a number"),
    ((GOOD_GT, GOOD_GT), None, (), r'line 2: frame 1 id 1 repeats line 1'),
], ids=['missing-frame', 'truncated-jpeg', 'corrupt-jpeg', 'missing-gt',
        'few-columns', 'not-a-number', 'duplicate-row'])
def test_converter_names_file_and_line(tmp_path, gt_lines, damage, flags,
                                       message):
    seq = make_seq(tmp_path, gt_lines)
    if damage:
        damage(seq)
    with pytest.raises(SystemExit) as exit_info:
        convert(tmp_path, *flags)
    text = str(exit_info.value.code)
    assert text.startswith('error: ') and seq in text
    assert re.search(message, text), text
    assert not osp.exists(tmp_path / 'ann' / 'train_cocoformat.json')


@pytest.mark.parametrize('gt_lines,seqinfo,warning', [
    ((), True, 'no people'),
    ((GOOD_GT, '1,2,10,5,0,20,1,1,1', '1,3,99,99,5,5,1,1,1'), True,
     'dropped 2 of 3 boxes with w or h <= 0 or entirely outside'),
    ((GOOD_GT, ), False, 'seqinfo.ini is missing; derived 3 frames of 64x48'),
], ids=['no-people', 'bad-boxes', 'no-seqinfo'])
def test_converter_warns_and_goes_on(tmp_path, gt_lines, seqinfo, warning):
    seq = make_seq(tmp_path, gt_lines)
    if not seqinfo:
        os.remove(osp.join(seq, 'seqinfo.ini'))
    with pytest.warns(UserWarning, match=warning):
        convert(tmp_path, '--check-images')
    assert osp.isfile(tmp_path / 'ann' / 'train_cocoformat.json')


def test_loading_a_corrupt_frame_names_it(tmp_path):
    seq = make_seq(tmp_path)
    garble_frame(seq)
    with DefaultScope.overwrite_default_scope('mmdet'):
        load = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    assert load(dict(img_path=frame_path(seq, 1)))['img'].shape == (HEIGHT,
                                                                    WIDTH, 3)
    with pytest.raises(CorruptImageError, match='000002.jpg cannot be '
                       'decoded.*--check-images'):
        load(dict(img_path=frame_path(seq, 2)))
    with pytest.raises(FileNotFoundError, match='000009.jpg: frame listed'):
        load(dict(img_path=frame_path(seq, 9)))


@pytest.mark.slow
def test_training_on_a_corrupt_frame_stops_with_its_name(data_root, tmp_path):
    root = str(tmp_path / 'data')
    shutil.copytree(data_root, root)
    bad = osp.join(root, 'train', 'SYN-02', 'img1', '000003.jpg')
    open(bad, 'wb').write(b'\xff\xd8 not a jpeg')
    proc = run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                    str(tmp_path / 'work'), *cfg_options(root, 1),
                    expect_rc=1)  # one DataLoader worker: a wrapped error
    last = proc.output.strip().splitlines()[-1]
    assert last.startswith(f'error: {bad} cannot be decoded'), last
    assert 'Traceback' not in proc.output


@pytest.mark.slow
def test_unknown_type_names_config_key(data_root, tmp_path):
    proc = run_tool(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                    str(tmp_path), *cfg_options(data_root, 1),
                    'model.head.type=ChainedRetinaHeed', expect_rc=1)
    last = proc.output.strip().splitlines()[-1]
    assert last == ("error: config model.head.type: type 'ChainedRetinaHeed' "
                    "is not registered in mmdet's model registry (did you "
                    "mean 'ChainedRetinaHead', 'RetinaHead' or "
                    "'GARetinaHead'?). Fix the spelling, or add the module "
                    'that registers it to custom_imports in the config.')
    assert 'Traceback' not in proc.output


def build_error(cfg: Config) -> Exception:
    """What building ``cfg.model`` raises."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        with pytest.raises((KeyError, TypeError)) as info:
            MODELS.build(cfg.model)
    return info.value


def test_missing_or_unknown_argument_names_config_key():
    cfg = Config.fromfile(CONFIG)
    del cfg.model['neck']
    assert explain_build_error(cfg, build_error(cfg)) == (
        "config model (type ChainedTracker) lacks the required key(s) "
        "'neck'; add them (the _base_ configs show an example).")
    cfg = Config.fromfile(CONFIG)
    cfg.model.head.feat_chanels = 64
    assert explain_build_error(cfg, build_error(cfg)) == (
        "config model.head.feat_chanels: ChainedRetinaHead takes no "
        "argument 'feat_chanels' (did you mean 'feat_channels' or "
        "'in_channels'?). Rename or delete the key.")
    assert explain_build_error(cfg, KeyError('img_path')) is None
