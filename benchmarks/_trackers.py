"""Our ChainTracker and mmdet's ByteTracker / SORTTracker behind one call.

Every tracker gets the same per-frame nodes (a pair of boxes of one person in
frames t-1 and t, a person score and an ID-verification score). Ours chains
the pairs; mmdet's trackers get the first box of each pair (the box in frame
t), as a detector would give it, through their real ``track()`` API.

mmdet's trackers are built from the tracker dicts of mmdet's own configs
(``bytetrack_yolox_x_...`` and ``sort_faster-rcnn_...``, the latter with
``reid=None``: SORT's ``track(model, img, ...)`` reads ``model`` and ``img``
only for re-ID crops, so without re-ID it needs neither).

Shape letters: K nodes in a frame.
"""
import os
from typing import Callable, Dict, Optional

import mmdet
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmdmw  # noqa: F401  (registers ChainTracker)
from _legacy_chain_tracker import LegacyChainTracker
from mmdmw.models.trackers import ChainTracker

#: mmdet's shipped configs (installed with the package by mim).
MMDET_CONFIGS = os.path.join(os.path.dirname(mmdet.__file__), '.mim',
                             'configs')
BYTETRACK_CONFIG = os.path.join(
    MMDET_CONFIGS, 'bytetrack',
    'bytetrack_yolox_x_8xb4-80e_crowdhuman-mot17halftrain_test-'
    'mot17halfval.py')
SORT_CONFIG = os.path.join(
    MMDET_CONFIGS, 'sort',
    'sort_faster-rcnn_r50_fpn_8xb2-4e_mot17halftrain_test-mot17halfval.py')

#: Display name of the frozen pre-issue-10 tracker (the 'before' row).
LEGACY = 'before (legacy)'

#: One frame's nodes -> the tracks shown in that frame.
StepFn = Callable[[Dict[str, torch.Tensor], int], InstanceData]


def mmdet_tracker_cfg(config_path: str) -> dict:
    """The ``model.tracker`` dict of one of mmdet's configs."""
    return Config.fromfile(config_path).model.tracker.to_dict()


def det_sample(nodes: Dict[str, torch.Tensor], frame_id: int) -> DetDataSample:
    """A frame's nodes as mmdet detections: the first box of each pair.

    Args:
        nodes (dict[str, Tensor]): ``cur_bboxes (K, 4)`` x1y1x2y2 in frame t
            and ``scores (K,)``.
        frame_id (int): Index of the frame in its video, from 0.

    Returns:
        DetDataSample: ``pred_instances`` (bboxes, scores, labels zeros) and
        metainfo ``frame_id``.
    """
    sample = DetDataSample(metainfo=dict(frame_id=frame_id))
    sample.pred_instances = InstanceData(
        bboxes=nodes['cur_bboxes'],
        scores=nodes['scores'],
        labels=torch.zeros(len(nodes['scores']), dtype=torch.long))
    return sample


def chain_step(tracker: ChainTracker) -> StepFn:
    """Our tracker: it chains the pairs themselves."""

    def step(nodes: Dict[str, torch.Tensor], frame_id: int) -> InstanceData:
        return tracker.track(nodes['prev_bboxes'], nodes['cur_bboxes'],
                             nodes['scores'], nodes['id_scores'], frame_id)

    return step


def byte_step(tracker) -> StepFn:
    """mmdet's ByteTracker: ``track(data_sample)``."""
    return lambda nodes, frame_id: tracker.track(
        data_sample=det_sample(nodes, frame_id))


def sort_step(tracker) -> StepFn:
    """mmdet's SORTTracker without re-ID: ``track(model, img, sample)``."""
    return lambda nodes, frame_id: tracker.track(
        model=None, img=None, data_sample=det_sample(nodes, frame_id))


def build_trackers(chain_variants: Optional[Dict[str, dict]] = None,
                   with_mmdet: bool = True,
                   with_legacy: bool = False) -> Dict[str, StepFn]:
    """Fresh trackers, by display name, each as a per-frame step function.

    Args:
        chain_variants (dict[str, dict], optional): Display name ->
            ``ChainTracker`` keyword arguments; None gives the default one as
            ``ours``.
        with_mmdet (bool): Add ``ByteTracker`` and ``SORTTracker``. Defaults
            to True.
        with_legacy (bool): Add the frozen pre-issue-10 tracker
            (``benchmarks/_legacy_chain_tracker.py``, its defaults) as
            ``LEGACY``, for before / after rows from one run. Defaults to
            False.

    Returns:
        dict[str, StepFn]: Name -> ``step(nodes, frame_id)``.
    """
    chain_variants = chain_variants or dict(ours={})
    steps = {
        name: chain_step(ChainTracker(**kwargs))
        for name, kwargs in chain_variants.items()
    }
    if with_legacy:
        steps[LEGACY] = chain_step(LegacyChainTracker())
    if with_mmdet:
        with DefaultScope.overwrite_default_scope('mmdet'):
            byte = MODELS.build(mmdet_tracker_cfg(BYTETRACK_CONFIG))
            sort = MODELS.build(mmdet_tracker_cfg(SORT_CONFIG))
        steps['ByteTracker'] = byte_step(byte)
        steps['SORTTracker'] = sort_step(sort)
    return steps
