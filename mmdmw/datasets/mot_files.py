"""Reading and writing MOTChallenge files (``seqinfo.ini``, ``gt/gt.txt``).

Ground truth is a float array of shape (K, 9), one row per box, with the
MOT16/17/20 columns ``frame, id, x, y, w, h, conf, class, visibility``
(``x, y`` the top-left corner, frames 1-based). The MOT15 2D format (10
columns ``frame, id, x, y, w, h, conf, -1, -1, -1``) is mapped onto the same
columns with class 1 (pedestrian) and visibility 1.0. Errors name the file and
the 1-based line.
"""
import configparser
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

SEQINFO_FILE = 'seqinfo.ini'
SEQINFO_SECTION = 'Sequence'
DEFAULT_IM_DIR = 'img1'
# MOTChallenge does not define a frame rate for sequences without seqinfo.ini;
# 30 fps is the most common camera rate in MOT17/MOT20.
DEFAULT_FRAME_RATE = 30
IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')

GT_COLUMNS = ('frame', 'id', 'x', 'y', 'w', 'h', 'conf', 'class', 'visibility')
NUM_GT_COLUMNS = len(GT_COLUMNS)  # MOT16/17/20 ground truth
NUM_MOT15_COLUMNS = 10  # MOT15 2D: frame,id,x,y,w,h,conf,-1,-1,-1
PEDESTRIAN_CLASS = 1
FULLY_VISIBLE = 1.0

_SEQINFO_INT_KEYS = ('frameRate', 'seqLength', 'imWidth', 'imHeight')
_SEQINFO_STR_KEYS = ('name', 'imDir', 'imExt')


JPEG_EXTS = ('.jpg', '.jpeg')
JPEG_END_MARKER = b'\xff\xd9'  # EOI; cannot occur inside entropy-coded data
JPEG_TAIL_BYTES = 1024  # the marker is looked for this close to the end


class MOTFormatError(ValueError):
    """A MOTChallenge file that cannot be read as its format requires."""


class CorruptImageError(MOTFormatError):
    """A frame that exists but cannot be decoded, or is truncated."""


def read_seqinfo(seq_dir: str) -> Dict[str, Union[str, int]]:
    """Read ``SEQ/seqinfo.ini``, or derive it from ``SEQ/img1`` if missing.

    Args:
        seq_dir (str): Sequence folder, e.g.
            ``data/MOT17/train/MOT17-02-FRCNN``.

    Returns:
        dict: ``name, imDir, imExt`` (str) and ``frameRate, seqLength, imWidth,
        imHeight`` (int).

    Raises:
        MOTFormatError: A key is missing or a number is not an integer.
        FileNotFoundError: Neither ``seqinfo.ini`` nor images in ``img1/``
            exist.
    """
    ini_path = osp.join(seq_dir, SEQINFO_FILE)
    if not osp.isfile(ini_path):
        return _derive_seqinfo(seq_dir)
    parser = configparser.ConfigParser()
    parser.optionxform = str  # keep the camelCase keys (imDir, ...)
    try:
        parser.read(ini_path)
    except configparser.Error as err:
        raise MOTFormatError(
            f'{ini_path}: not a valid ini file ({err}).') from err
    if not parser.has_section(SEQINFO_SECTION):
        raise MOTFormatError(f'{ini_path}: no [{SEQINFO_SECTION}] section; '
                             'a MOTChallenge seqinfo.ini starts with it.')
    section = parser[SEQINFO_SECTION]
    info: Dict[str, Union[str, int]] = {}
    for key in _SEQINFO_STR_KEYS + _SEQINFO_INT_KEYS:
        if key not in section:
            raise MOTFormatError(f'{ini_path}: key "{key}" is missing; add '
                                 f'"{key}=..." under [{SEQINFO_SECTION}].')
        info[key] = section[key].strip()
    for key in _SEQINFO_INT_KEYS:
        try:
            info[key] = int(float(info[key]))
        except ValueError:
            raise MOTFormatError(f'{ini_path}: {key}={info[key]!r} is not a '
                                 'number; write an integer.') from None
    return info


def list_images(img_dir: str) -> List[str]:
    """Sorted image file names (no folders) in ``img_dir``."""
    return sorted(
        name for name in os.listdir(img_dir)
        if osp.splitext(name)[1].lower() in IMAGE_EXTS)


def image_problem(path: str, decode: bool = True) -> Optional[str]:
    """Say what is wrong with an image file, if anything.

    A JPEG is truncated when its end marker is missing; OpenCV would decode
    such a file without an error, greying out the lost part.

    Args:
        path (str): The image file.
        decode (bool): Also decode it with OpenCV (slow for long videos).
            Defaults to True.

    Returns:
        str | None: ``'missing'``, ``'empty'``, ``'truncated ...'`` or
        ``'cannot be decoded ...'``; None for a good image.
    """
    if not osp.isfile(path):
        return 'missing'
    size = osp.getsize(path)
    if size == 0:
        return 'empty'
    if osp.splitext(path)[1].lower() in JPEG_EXTS:
        with open(path, 'rb') as f:
            f.seek(max(0, size - JPEG_TAIL_BYTES))
            if JPEG_END_MARKER not in f.read():
                return 'truncated (the JPEG end marker is missing)'
    if decode:
        import cv2  # only needed here
        if cv2.imread(path, cv2.IMREAD_UNCHANGED) is None:
            return 'cannot be decoded (corrupt or not an image)'
    return None


def _derive_seqinfo(seq_dir: str) -> Dict[str, Union[str, int]]:
    """Guess seqinfo from the images in ``SEQ/img1``, and warn."""
    import cv2  # only needed on this fallback path

    img_dir = osp.join(seq_dir, DEFAULT_IM_DIR)
    names = list_images(img_dir) if osp.isdir(img_dir) else []
    if not names:
        raise FileNotFoundError(
            f'{osp.join(seq_dir, SEQINFO_FILE)} is missing and there are no '
            f'images in {img_dir}; a MOTChallenge sequence needs seqinfo.ini '
            f'or frames {DEFAULT_IM_DIR}/000001.jpg, 000002.jpg, ...')
    first = osp.join(img_dir, names[0])
    img = cv2.imread(first)
    if img is None:
        raise MOTFormatError(f'{first}: cannot be read as an image.')
    info = dict(
        name=osp.basename(osp.normpath(seq_dir)),
        imDir=DEFAULT_IM_DIR,
        frameRate=DEFAULT_FRAME_RATE,
        seqLength=len(names),
        imWidth=img.shape[1],
        imHeight=img.shape[0],
        imExt=osp.splitext(names[0])[1])
    warnings.warn(f'{osp.join(seq_dir, SEQINFO_FILE)} is missing; derived '
                  f'{len(names)} frames of {img.shape[1]}x{img.shape[0]} from '
                  f'{img_dir} and assumed {DEFAULT_FRAME_RATE} fps.')
    return info


def read_mot_gt(path: str,
                img_width: Optional[int] = None,
                img_height: Optional[int] = None) -> np.ndarray:
    """Read a MOTChallenge ground-truth file.

    Args:
        path (str): ``SEQ/gt/gt.txt`` in the MOT15 2D (10 columns) or the
            MOT16/17/20 (9 columns) format.
        img_width (int, optional): Image width; with ``img_height`` it lets
            boxes entirely outside the image be dropped. Defaults to None.
        img_height (int, optional): Image height. Defaults to None.

    Returns:
        np.ndarray: (K, 9) float64, columns ``frame, id, x, y, w, h, conf,
        class, visibility``, sorted by frame then id. (0, 9) for an empty file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MOTFormatError: A line has the wrong number of columns, a value that
            is not a number, or repeats a (frame, id) pair.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found; expected MOTChallenge ground truth with one '
            'box per line: frame,id,x,y,w,h,conf,class,visibility '
            '(MOT16/17/20) or frame,id,x,y,w,h,1,-1,-1,-1 (MOT15).')
    with open(path) as f:
        lines = f.read().splitlines()
    rows, line_nos = _parse_gt_lines(path, lines)
    if not rows:
        warnings.warn(f'{path} is empty: the sequence has no people.')
        return np.zeros((0, NUM_GT_COLUMNS))
    gt = np.asarray(rows, dtype=np.float64)
    _check_duplicates(path, gt, line_nos)
    gt = _drop_invalid_boxes(path, gt, img_width, img_height)
    order = np.lexsort((gt[:, 1], gt[:, 0]))  # by frame, then id
    return gt[order]


def _parse_gt_lines(path: str,
                    lines: List[str]) -> Tuple[List[List[float]], List[int]]:
    """Parse non-blank lines into 9-value rows, and return their numbers."""
    rows, line_nos = [], []
    first_num_cols, first_line_no = None, None
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        values = [v.strip() for v in line.split(',')]
        num_cols = len(values)
        where = f'{path}, line {line_no}'
        if num_cols < NUM_GT_COLUMNS:
            raise MOTFormatError(
                f'{where}: {num_cols} columns, too few; expected 9 '
                '(frame,id,x,y,w,h,conf,class,visibility) or 10 (MOT15: '
                'frame,id,x,y,w,h,1,-1,-1,-1), comma-separated.')
        if num_cols > NUM_MOT15_COLUMNS:
            raise MOTFormatError(
                f'{where}: {num_cols} columns, too many; expected 9 (MOT16/17/'
                '20) or 10 (MOT15), comma-separated.')
        if first_num_cols is None:
            first_num_cols, first_line_no = num_cols, line_no
        elif num_cols != first_num_cols:
            raise MOTFormatError(
                f'{where}: {num_cols} columns but line {first_line_no} has '
                f'{first_num_cols}; one file must use one format.')
        numbers = [_to_float(v, col, where) for col, v in enumerate(values)]
        if numbers[0] < 1 or numbers[0] != int(numbers[0]):
            raise MOTFormatError(f'{where}: frame {values[0]!r} must be an '
                                 'integer >= 1 (MOT frames are 1-based).')
        if num_cols == NUM_MOT15_COLUMNS:
            numbers = numbers[:7] + [PEDESTRIAN_CLASS, FULLY_VISIBLE]
        rows.append(numbers)
        line_nos.append(line_no)
    return rows, line_nos


def _to_float(value: str, col: int, where: str) -> float:
    try:
        return float(value)
    except ValueError:
        name = GT_COLUMNS[col] if col < NUM_GT_COLUMNS else f'column {col + 1}'
        raise MOTFormatError(
            f'{where}: {name} (column {col + 1}) is {value!r}, not a number; '
            'fix or delete the line.') from None


def _check_duplicates(path: str, gt: np.ndarray, line_nos: List[int]) -> None:
    """Raise on the first (frame, id) pair that occurs twice."""
    seen: Dict[Tuple[int, int], int] = {}
    for (frame, track_id), line_no in zip(gt[:, :2].astype(np.int64).tolist(),
                                          line_nos):
        if (frame, track_id) in seen:
            raise MOTFormatError(
                f'{path}, line {line_no}: frame {frame} id {track_id} repeats '
                f'line {seen[(frame, track_id)]}; an identity has one box per '
                'frame, delete one of the two lines.')
        seen[(frame, track_id)] = line_no


def _drop_invalid_boxes(path: str, gt: np.ndarray, img_width: Optional[int],
                        img_height: Optional[int]) -> np.ndarray:
    """Drop boxes with no area or (size known) no pixel in the image."""
    x, y, w, h = gt[:, 2], gt[:, 3], gt[:, 4], gt[:, 5]
    valid = (w > 0) & (h > 0)
    if img_width is not None and img_height is not None:
        valid &= (x + w > 0) & (y + h > 0) & (x < img_width) & (y < img_height)
    num_dropped = int((~valid).sum())
    if num_dropped:
        warnings.warn(f'{path}: dropped {num_dropped} of {len(gt)} boxes with '
                      'w or h <= 0 or entirely outside the image.')
    return gt[valid]


def write_seqinfo(seq_dir: str, info: Dict[str, Union[str, int]]) -> str:
    """Write ``SEQ/seqinfo.ini`` as MOTChallenge does (``key=value``).

    mmdet's own converter splits these lines on ``=`` by position, so the key
    order and the absence of spaces matter.

    Returns:
        str: The path written.
    """
    path = osp.join(seq_dir, SEQINFO_FILE)
    keys = ('name', 'imDir', 'frameRate', 'seqLength', 'imWidth', 'imHeight',
            'imExt')
    with open(path, 'w') as f:
        f.write(f'[{SEQINFO_SECTION}]\n')
        f.writelines(f'{key}={info[key]}\n' for key in keys)
    return path


def write_mot_gt(path: str, gt: np.ndarray) -> None:
    """Write (K, 9) ground truth as MOT17 ``gt.txt`` lines."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(','.join(_format_number(v) for v in row) + '\n'
                     for row in np.asarray(gt, dtype=np.float64).tolist())


def _format_number(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f'{value:.6f}'.rstrip('0')
