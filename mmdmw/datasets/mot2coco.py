"""Convert MOTChallenge-format folders to mmdet's COCO-video JSON.

The JSON is what ``mmdet.datasets.MOTChallengeDataset`` loads; the conventions
follow mmdet 3.x's ``tools/dataset_converters/mot2coco.py``:

* ``categories`` are the 13 MOTChallenge classes (ids 1-13, the names of
  ``MOTChallengeDataset.METAINFO``) and every box keeps its class, so that
  evaluation sees the distractor classes (2, 7, 8, 12) TrackEval needs to
  discount. Training configs select
  ``metainfo=dict(classes=('pedestrian', ))``.
* ``frame_id`` is 0-based within the split, ``mot_frame_id`` the 1-based frame
  of the file; ``half-train`` keeps frames ``1 .. N // 2 + 1`` and ``half-val``
  the rest (its ``frame_id`` restarts at 0).
* ``instance_id`` is unique across the videos of one JSON, 0-based.

Every ground-truth row is kept, with its class (``category_id`` and
``mot_class_id``), ``mot_conf`` and ``visibility``: conf-0 rows ("do not
consider" in MOT16/17/20, also marked ``iscrowd=1``) and the person-like
classes 2 / 7 / 8 / 12 are what training turns into ignore regions and what
TrackEval's MOT17 preprocessing discounts.

MOT17's detector copies (``SEQ-DPM``, ``SEQ-FRCNN``, ``SEQ-SDP``: the same
frames and gt) are kept once, the FRCNN one by default (see
:mod:`mmdmw.datasets.detector_copies`).
"""
import json
import os
import os.path as osp
import warnings
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from .detector_copies import DEFAULT_DETECTOR, select_detector_copies
from .mot_files import (CorruptImageError, image_problem, list_images,
                        read_mot_gt, read_seqinfo)

MOT_CLASSES = ('pedestrian', 'person_on_vehicle', 'car', 'bicycle',
               'motorbike', 'non_mot_vehicle', 'static_person', 'distractor',
               'occluder', 'occluder_on_ground', 'occluder_full', 'reflection',
               'crowd')
CATEGORIES = [dict(id=i, name=name) for i, name in enumerate(MOT_CLASSES, 1)]
# Which folder of the dataset root each split reads.
SPLIT_SOURCES = {
    'train': 'train',
    'half-train': 'train',
    'half-val': 'train',
    'test': 'test'
}
GT_FILE = osp.join('gt', 'gt.txt')
MAX_BAD_FRAMES_SHOWN = 20  # in the error of check_images
COL_FRAME, COL_ID, COL_BOX, COL_CONF, COL_CLASS, COL_VIS = 0, 1, 2, 6, 7, 8


def convert_mot_to_coco(
    data_root: str,
    out_dir: str,
    splits: Sequence[str] = ('train', 'half-train', 'half-val'),
    progress: bool = True,
    check_images: bool = False,
    detector: str = DEFAULT_DETECTOR,
    log: Optional[Callable[[str], None]] = print,
) -> Dict[str, str]:
    """Write ``out_dir/{split}_cocoformat.json`` for each split.

    Args:
        data_root (str): ``ROOT`` holding ``train/SEQ/...`` (and ``test/SEQ``),
            or a flat folder of sequences ``ROOT/SEQ/...``.
        out_dir (str): Folder for the JSON files, e.g. ``ROOT/annotations``.
        splits (Sequence[str]): Any of ``train`` (all frames), ``half-train``,
            ``half-val`` (halves of the train sequences) and ``test`` (the
            ``test/`` folder; ground truth only where ``gt/gt.txt`` exists).
        progress (bool): Show a progress bar over sequences. Defaults to True.
        check_images (bool): Before writing anything, decode every frame
            and look for truncated JPEGs (slow: minutes for MOT17).
            Defaults to False.
        detector (str): Which MOT17 detector copy of each sequence to keep:
            ``'FRCNN'``, ``'DPM'``, ``'SDP'`` or ``'all'``. Sequences without
            a detector suffix (MOT15/16/20) are all kept. Defaults to
            ``'FRCNN'``.
        log (Callable, optional): Receives the lines saying which copies
            were kept and why. Defaults to :func:`print`.

    Returns:
        dict[str, str]: Split name to the JSON path written. Image
        ``file_name`` values are relative to the split's folder, e.g.
        ``data_prefix=dict(img_path='train')``.

    Raises:
        CorruptImageError: With ``check_images``, listing the bad frames.
    """
    unknown = set(splits) - set(SPLIT_SOURCES)
    if unknown:
        raise ValueError(f'unknown splits {sorted(unknown)}; choose from '
                         f'{list(SPLIT_SOURCES)}.')
    folders = {split: find_split_folder(data_root, split) for split in splits}
    # One selection per folder: train, half-train and half-val share it.
    seq_dirs = {
        folder: select_detector_copies(find_sequences(folder), detector, log)
        for folder in dict.fromkeys(folders.values())  # in split order
    }
    if check_images:
        check_frames([d for dirs in seq_dirs.values() for d in dirs],
                     progress)
    os.makedirs(out_dir, exist_ok=True)
    outputs = {}
    for split in splits:
        folder = folders[split]
        coco = convert_split(folder, split, progress, seq_dirs[folder])
        out_file = osp.join(out_dir, f'{split}_cocoformat.json')
        with open(out_file, 'w') as f:
            json.dump(coco, f)
        outputs[split] = out_file
    return outputs


def find_sequences(folder: str) -> List[str]:
    """Sorted sub-folders of ``folder`` with ``seqinfo.ini`` or ``img1/``."""
    if not osp.isdir(folder):
        return []
    dirs = (osp.join(folder, name) for name in sorted(os.listdir(folder)))
    return [
        d for d in dirs if osp.isfile(osp.join(d, 'seqinfo.ini'))
        or osp.isdir(osp.join(d, 'img1'))
    ]


def find_split_folder(data_root: str, split: str) -> str:
    """``ROOT/train`` (or ``ROOT/test``) if it exists, else a flat ``ROOT``."""
    source = osp.join(data_root, SPLIT_SOURCES[split])
    if find_sequences(source):
        return source
    if find_sequences(data_root):
        return data_root
    raise FileNotFoundError(
        f'no MOTChallenge sequences in {source} or {data_root}; expected '
        f'{source}/SEQ/img1/000001.jpg (or {data_root}/SEQ/img1/...) with '
        'SEQ/seqinfo.ini and SEQ/gt/gt.txt.')


def check_frames(seq_dirs: Sequence[str], progress: bool = True) -> None:
    """Decode every frame of every sequence folder in ``seq_dirs``.

    Raises:
        CorruptImageError: Naming each frame that is empty, truncated or
            cannot be decoded (up to ``MAX_BAD_FRAMES_SHOWN``).
    """
    bad = []
    for seq_dir in tqdm(seq_dirs, desc='check images', disable=not progress):
        info = read_seqinfo(seq_dir)
        img_dir = osp.join(seq_dir, info['imDir'])
        for name in _frame_files(seq_dir, info).values():
            problem = image_problem(osp.join(img_dir, name))
            if problem:
                bad.append(f'  {osp.join(img_dir, name)}: {problem}')
    if bad:
        more = len(bad) - MAX_BAD_FRAMES_SHOWN
        tail = [f'  ... and {more} more'] if more > 0 else []
        raise CorruptImageError(
            f'{len(bad)} frames cannot be used:\n' +
            '\n'.join(bad[:MAX_BAD_FRAMES_SHOWN] + tail) +
            '\nRe-extract or replace them (a copy of the previous frame '
            'will do), then run the converter again.')


def split_frames(num_frames: int, split: str) -> range:
    """The 1-based MOT frames of a sequence of ``num_frames`` in ``split``."""
    half = num_frames // 2 + 1  # as mmdet's converter
    if split == 'half-train':
        return range(1, min(half, num_frames) + 1)
    if split == 'half-val':
        return range(half + 1, num_frames + 1)
    return range(1, num_frames + 1)


def convert_split(folder: str,
                  split: str,
                  progress: bool = True,
                  seq_dirs: Optional[Sequence[str]] = None) -> dict:
    """The COCO-video dict of one split: ``seq_dirs`` (default: every
    sequence in ``folder``)."""
    coco = dict(categories=CATEGORIES, videos=[], images=[], annotations=[])
    instance_ids: Dict[tuple, int] = {}  # (video_id, mot id) -> instance_id
    if seq_dirs is None:
        seq_dirs = find_sequences(folder)
    for seq_dir in tqdm(seq_dirs, desc=split, disable=not progress):
        gt_path = osp.join(seq_dir, GT_FILE)
        need_gt = split != 'test' or osp.isfile(gt_path)
        _add_sequence(coco, seq_dir, split, need_gt, instance_ids)
    coco['num_instances'] = len(instance_ids)
    return coco


def _add_sequence(coco: dict, seq_dir: str, split: str, need_gt: bool,
                  instance_ids: Dict[tuple, int]) -> None:
    """Append one sequence's video, images and annotations to ``coco``."""
    info = read_seqinfo(seq_dir)
    name = osp.basename(osp.normpath(seq_dir))
    if info['name'] != name:
        warnings.warn(f'{seq_dir}: seqinfo.ini says name={info["name"]}; the '
                      f'folder name {name} is used (image paths need it).')
    video_id = len(coco['videos']) + 1
    width, height = info['imWidth'], info['imHeight']
    coco['videos'].append(
        dict(id=video_id, name=name, fps=info['frameRate'], width=width,
             height=height))
    frame_files = _frame_files(seq_dir, info)
    gt = np.zeros((0, 9))
    if need_gt:
        gt = read_mot_gt(osp.join(seq_dir, GT_FILE), width, height)
        gt = _known_classes(gt, osp.join(seq_dir, GT_FILE))
    late = gt[:, COL_FRAME] > info['seqLength']
    if late.any():
        warnings.warn(f'{osp.join(seq_dir, GT_FILE)}: {int(late.sum())} boxes '
                      f'are on frames after seqLength={info["seqLength"]} and '
                      'are left out.')
    for frame_id, mot_frame in enumerate(
            split_frames(info['seqLength'], split)):
        image_id = len(coco['images']) + 1
        file_name = osp.join(name, info['imDir'], frame_files[mot_frame])
        coco['images'].append(
            dict(id=image_id, video_id=video_id, file_name=file_name,
                 height=height, width=width, frame_id=frame_id,
                 mot_frame_id=mot_frame))
        # gt is sorted by frame: slice this frame's rows.
        lo, hi = np.searchsorted(gt[:, COL_FRAME], [mot_frame, mot_frame + 1])
        for row in gt[lo:hi]:
            key = (video_id, int(row[COL_ID]))
            instance_id = instance_ids.setdefault(key, len(instance_ids))
            coco['annotations'].append(
                _annotation(row, len(coco['annotations']) + 1, image_id,
                            instance_id))


def _frame_files(seq_dir: str, info: dict) -> Dict[int, str]:
    """Map frames 1..seqLength to their image file names; error on a gap."""
    img_dir = osp.join(seq_dir, info['imDir'])
    names = list_images(img_dir) if osp.isdir(img_dir) else []
    by_frame = {
        int(osp.splitext(n)[0]): n
        for n in names if osp.splitext(n)[0].isdigit()
    }
    for frame in range(1, info['seqLength'] + 1):
        if frame not in by_frame:
            expected = osp.join(img_dir, f'{frame:06d}{info["imExt"]}')
            raise FileNotFoundError(
                f'{expected} is missing: seqinfo.ini says seqLength='
                f'{info["seqLength"]}, so frames 1..{info["seqLength"]} must '
                f'exist in {img_dir}; restore the frame or fix seqLength.')
    return by_frame


def _known_classes(gt: np.ndarray, path: str) -> np.ndarray:
    """Drop boxes whose class is not one of the 13 MOTChallenge classes."""
    known = np.isin(gt[:, COL_CLASS], np.arange(1, len(MOT_CLASSES) + 1))
    if not known.all():
        warnings.warn(f'{path}: dropped {int((~known).sum())} boxes of '
                      'classes outside 1..13.')
    return gt[known]


def _annotation(row: np.ndarray, ann_id: int, image_id: int,
                instance_id: int) -> dict:
    """One COCO-video annotation from a (9, ) MOT ground-truth row."""
    x, y, w, h = (float(v) for v in row[COL_BOX:COL_BOX + 4])
    conf, class_id = float(row[COL_CONF]), int(row[COL_CLASS])
    return dict(
        id=ann_id,
        category_id=class_id,
        image_id=image_id,
        instance_id=instance_id,
        bbox=[x, y, w, h],
        area=w * h,
        iscrowd=int(conf == 0),
        visibility=float(row[COL_VIS]),
        mot_instance_id=int(row[COL_ID]),
        mot_conf=conf,
        mot_class_id=class_id)
