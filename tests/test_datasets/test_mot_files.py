"""Reading MOTChallenge files: formats, and errors that name file and line."""
import os.path as osp

import cv2
import numpy as np
import pytest

from mmdmw.datasets.mot_files import (MOTFormatError, read_mot_gt,
                                      read_seqinfo, write_mot_gt,
                                      write_seqinfo)

SEQINFO = dict(name='SEQ', imDir='img1', frameRate=30, seqLength=3,
               imWidth=40, imHeight=30, imExt='.jpg')


def write_text(path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_read_seqinfo(tmp_path):
    write_seqinfo(str(tmp_path), SEQINFO)
    assert (tmp_path / 'seqinfo.ini').read_text().splitlines()[:2] == [
        '[Sequence]', 'name=SEQ'
    ]  # mmdet's converter splits these lines by position
    assert read_seqinfo(str(tmp_path)) == SEQINFO


def test_read_seqinfo_missing_key(tmp_path):
    write_text(tmp_path / 'seqinfo.ini', '[Sequence]\nname=SEQ\nimDir=img1\n')
    with pytest.raises(MOTFormatError, match=r'seqinfo\.ini.*"imExt"'):
        read_seqinfo(str(tmp_path))


def test_read_seqinfo_not_a_number(tmp_path):
    text = ''.join(f'{k}={v}\n' for k, v in SEQINFO.items())
    write_text(tmp_path / 'seqinfo.ini',
               '[Sequence]\n' + text.replace('seqLength=3', 'seqLength=x'))
    with pytest.raises(MOTFormatError, match="seqLength='x' is not a number"):
        read_seqinfo(str(tmp_path))


def test_read_seqinfo_derived_from_images(tmp_path):
    seq = tmp_path / 'MySeq'
    (seq / 'img1').mkdir(parents=True)
    for frame in (1, 2, 3):
        cv2.imwrite(str(seq / 'img1' / f'{frame:06d}.jpg'),
                    np.zeros((30, 40, 3), np.uint8))
    with pytest.warns(UserWarning, match='seqinfo.ini is missing'):
        info = read_seqinfo(str(seq))
    assert info == dict(SEQINFO, name='MySeq')


def test_read_seqinfo_nothing_to_derive(tmp_path):
    with pytest.raises(FileNotFoundError, match='no images'):
        read_seqinfo(str(tmp_path))


def test_read_mot17_gt_sorted(tmp_path):
    path = write_text(tmp_path / 'gt.txt', '2,5,10,20,30,40,1,1,0.5\n'
                      '1,9,1.5,2,3,4,0,7,1\n'
                      '1,5,0,0,8,9,1,1,0.25\n')
    gt = read_mot_gt(path)
    # Sorted by (frame, id): (1, 5), (1, 9), (2, 5).
    np.testing.assert_array_equal(
        gt, [[1, 5, 0, 0, 8, 9, 1, 1, 0.25], [1, 9, 1.5, 2, 3, 4, 0, 7, 1],
             [2, 5, 10, 20, 30, 40, 1, 1, 0.5]])


def test_read_mot15_gt(tmp_path):
    # CRLF endings and a trailing blank line, as in the MOT15 release.
    path = write_text(tmp_path / 'gt.txt',
                      '1,1,399,182,121,229,1,-1,-1,-1\r\n'
                      '1,2,282.5,201,92,184,1,-1,-1,-1\r\n\r\n')
    gt = read_mot_gt(path)
    # MOT15 has no class or visibility: pedestrian (1) and fully visible.
    np.testing.assert_array_equal(gt, [[1, 1, 399, 182, 121, 229, 1, 1, 1],
                                       [1, 2, 282.5, 201, 92, 184, 1, 1, 1]])


def test_too_few_columns_names_file_and_line(tmp_path):
    path = write_text(tmp_path / 'gt.txt',
                      '1,1,0,0,5,5,1,1,1\n\n2,1,0,0,5,5,1\n')
    with pytest.raises(MOTFormatError) as err:
        read_mot_gt(path)
    # Line 3: the blank line 2 still counts.
    assert f'{path}, line 3: 7 columns, too few' in str(err.value)


def test_not_a_number_names_file_line_and_column(tmp_path):
    path = write_text(tmp_path / 'gt.txt', '1,1,0,0,5,5,1,1,1\n'
                      '2,1,0,abc,5,5,1,1,1\n')
    with pytest.raises(MOTFormatError) as err:
        read_mot_gt(path)
    assert f'{path}, line 2: y (column 4)' in str(err.value)
    assert "'abc', not a number" in str(err.value)


def test_mixed_formats_rejected(tmp_path):
    path = write_text(tmp_path / 'gt.txt', '1,1,0,0,5,5,1,1,1\n'
                      '2,1,0,0,5,5,1,-1,-1,-1\n')
    with pytest.raises(MOTFormatError, match='line 2: 10 columns but line 1'):
        read_mot_gt(path)


def test_frame_must_be_positive_integer(tmp_path):
    path = write_text(tmp_path / 'gt.txt', '0,1,0,0,5,5,1,1,1\n')
    with pytest.raises(MOTFormatError, match='line 1: frame .* 1-based'):
        read_mot_gt(path)


def test_duplicate_frame_id_names_both_lines(tmp_path):
    path = write_text(tmp_path / 'gt.txt', '1,4,0,0,5,5,1,1,1\n'
                      '1,5,0,0,5,5,1,1,1\n'
                      '1,4,9,9,5,5,1,1,1\n')
    with pytest.raises(MOTFormatError,
                       match='line 3: frame 1 id 4 repeats line 1'):
        read_mot_gt(path)


def test_empty_gt_warns_no_people(tmp_path):
    path = write_text(tmp_path / 'gt.txt', '\n')
    with pytest.warns(UserWarning, match='no people'):
        gt = read_mot_gt(path)
    assert gt.shape == (0, 9)


def test_missing_gt_says_what_is_expected(tmp_path):
    path = str(tmp_path / 'gt' / 'gt.txt')
    with pytest.raises(FileNotFoundError, match='gt.txt not found; expected'):
        read_mot_gt(path)


def test_invalid_boxes_dropped_with_one_counted_warning(tmp_path):
    # In a 40x30 image: zero width, negative height, right of the image,
    # above it; the last box is only partly outside and is kept.
    path = write_text(tmp_path / 'gt.txt', '1,1,0,0,0,5,1,1,1\n'
                      '1,2,0,0,5,-1,1,1,1\n'
                      '1,3,40,0,5,5,1,1,1\n'
                      '1,4,0,-5,5,5,1,1,1\n'
                      '1,5,-3,-3,5,5,1,1,1\n')
    with pytest.warns(UserWarning) as record:
        gt = read_mot_gt(path, img_width=40, img_height=30)
    assert len(record) == 1
    assert f'{path}: dropped 4 of 5 boxes' in str(record[0].message)
    np.testing.assert_array_equal(gt[:, 1], [5])


def test_write_then_read_roundtrip(tmp_path):
    gt = np.array([[1, 2, 3, 4, 5, 6, 1, 1, 0.12345],
                   [2, 2, 3.5, 4, 5, 6, 0, 7, 1]])
    path = osp.join(tmp_path, 'gt', 'gt.txt')
    write_mot_gt(path, gt)
    assert open(path).readline() == '1,2,3,4,5,6,1,1,0.12345\n'
    np.testing.assert_array_equal(read_mot_gt(path), gt)
