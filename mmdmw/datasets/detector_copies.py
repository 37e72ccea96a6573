"""MOT17's detector copies: one sequence, three folders.

MOT17 ships every sequence three times, ``MOT17-02-DPM``, ``MOT17-02-FRCNN``
and ``MOT17-02-SDP``, with the same frames and the same ``gt/gt.txt``; only
the public detections ``det/det.txt`` differ. A tracker with its own detector
trains and validates on one copy (CenterTrack, FairMOT, ByteTrack and CTracker
take FRCNN's) and submits its tracks of each test sequence under all three
names (21 files for MOT17 test).

Names without a detector suffix (MOT15, MOT16, MOT20, your own data) are
sequences of their own and always kept.
"""
import filecmp
import os.path as osp
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .mot_files import read_seqinfo

MOT17_DETECTORS = ('DPM', 'FRCNN', 'SDP')
DEFAULT_DETECTOR = 'FRCNN'
ALL_DETECTORS = 'all'
DETECTOR_CHOICES = MOT17_DETECTORS + (ALL_DETECTORS, )
_COPY_NAME = re.compile(r'^(?P<base>.+)-(?P<detector>' +
                        '|'.join(MOT17_DETECTORS) + r')$')


def split_copy_name(name: str) -> Optional[Tuple[str, str]]:
    """``'MOT17-02-SDP'`` -> ``('MOT17-02', 'SDP')``; None without a suffix."""
    match = _COPY_NAME.match(name)
    return (match['base'], match['detector']) if match else None


def copy_names(name: str) -> List[str]:
    """Every name a sequence is submitted under.

    ``'MOT17-02-FRCNN'`` -> ``['MOT17-02-DPM', 'MOT17-02-FRCNN',
    'MOT17-02-SDP']``; a name without a detector suffix (``'MOT20-04'``)
    -> ``[name]``.
    """
    parts = split_copy_name(name)
    if parts is None:
        return [name]
    return [f'{parts[0]}-{detector}' for detector in MOT17_DETECTORS]


def select_detector_copies(
        seq_dirs: Sequence[str],
        detector: str = DEFAULT_DETECTOR,
        log: Optional[Callable[[str], None]] = print) -> List[str]:
    """Keep one copy of each MOT17 sequence.

    Args:
        seq_dirs (Sequence[str]): Sequence folders, e.g.
            ``train/MOT17-02-DPM``.
        detector (str): The copy to keep, ``'DPM'``, ``'FRCNN'`` or ``'SDP'``;
            ``'all'`` keeps every copy (each frame then counts three times
            per epoch and in the scores). A sequence whose chosen copy is
            absent keeps the first present one in ``MOT17_DETECTORS`` order.
            Defaults to ``'FRCNN'``.
        log (Callable, optional): Receives one line per sequence with copies
            saying what was kept and why. Defaults to :func:`print`.

    Returns:
        list[str]: The kept folders, in the input order.
    """
    if detector not in DETECTOR_CHOICES:
        raise ValueError(f'detector={detector!r}; choose one of '
                         f'{", ".join(DETECTOR_CHOICES)}.')
    groups: Dict[str, Dict[str, str]] = OrderedDict()
    for seq_dir in seq_dirs:
        parts = split_copy_name(osp.basename(osp.normpath(seq_dir)))
        if parts is not None:
            groups.setdefault(parts[0], {})[parts[1]] = seq_dir
    keep = set(seq_dirs)
    for base, copies in groups.items():
        if detector == ALL_DETECTORS:
            _say(log, f'{base}: kept all {len(copies)} copies '
                 f'({", ".join(copies)}; --detector all): every frame counts '
                 f'{len(copies)} times.')
            continue
        order = [detector] + [d for d in MOT17_DETECTORS if d != detector]
        chosen = next(d for d in order if d in copies)
        dropped = [copies[d] for d in MOT17_DETECTORS
                   if d in copies and d != chosen]
        keep -= set(dropped)
        why = ('the same frames and gt.txt as '
               if _same_sequence(copies[chosen], dropped) else
               'WARNING: frames or gt.txt differ from ')
        names = ', '.join(osp.basename(osp.normpath(d)) for d in dropped)
        reason = (f'--detector {detector}' if chosen == detector else
                  f'no {base}-{detector} copy')
        kept = osp.basename(osp.normpath(copies[chosen]))
        _say(log, f'{base}: kept {kept} ({reason})' +
             (f', left out {names} ({why}the kept copy; '
              '--detector all keeps them).' if dropped else '.'))
    return [d for d in seq_dirs if d in keep]


def _same_sequence(kept: str, others: Sequence[str]) -> bool:
    """Same length and byte-identical ``gt/gt.txt`` (where it exists)."""
    length = read_seqinfo(kept)['seqLength']
    gt = osp.join(kept, 'gt', 'gt.txt')
    for other in others:
        if read_seqinfo(other)['seqLength'] != length:
            return False
        other_gt = osp.join(other, 'gt', 'gt.txt')
        if osp.isfile(gt) != osp.isfile(other_gt):
            return False
        if osp.isfile(gt) and not filecmp.cmp(gt, other_gt, shallow=False):
            return False
    return True


def _say(log: Optional[Callable[[str], None]], message: str) -> None:
    if log is not None:
        log(message)
