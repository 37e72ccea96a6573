"""Our ChainTracker and mmdet's ByteTracker / SORTTracker / OCSORTTracker
behind one call.

Every tracker gets the same per-frame nodes (a pair of boxes of one person in
frames t-1 and t, a person score and an ID-verification score). Ours chains
the pairs; mmdet's trackers get the first box of each pair (the box in frame
t), as a detector would give it, through their real ``track()`` API.

mmdet's trackers are built from the tracker dicts of mmdet's own MOT17
configs, or with ``crowd=True`` its MOT20 ones where they exist (ByteTrack,
OC-SORT) (``bytetrack_yolox_x_...``, ``ocsort_yolox_x_...`` and
``sort_faster-rcnn_...``, the latter with ``reid=None``: SORT's
``track(model, img, ...)`` reads ``model`` and ``img`` only for re-ID crops,
so without re-ID it needs neither). OC-SORT's MOT17 dict is its class
defaults written out (score thresholds 0.3 / 0.7, IoU 0.3, 3 tentative
frames, velocity-consistency weight 0.2 over 3 frames) plus
``num_frames_retain=30``, ByteTrack's value.

Shape letters: K nodes in a frame.
"""
import os
from typing import Callable, Dict, Optional, Sequence

import mmdet
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmdmw  # noqa: F401  (registers ChainTracker)
from _common import REPO_ROOT
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
OCSORT_CONFIG = os.path.join(
    MMDET_CONFIGS, 'ocsort',
    'ocsort_yolox_x_8xb4-amp-80e_crowdhuman-mot17halftrain_test-'
    'mot17halfval.py')
#: The same trackers' settings for crowds, from mmdet's MOT20 configs (SORT
#: has none: its MOT17 one is used).
BYTETRACK_MOT20_CONFIG = os.path.join(
    MMDET_CONFIGS, 'bytetrack',
    'bytetrack_yolox_x_8xb4-80e_crowdhuman-mot20train_test-mot20test.py')
OCSORT_MOT20_CONFIG = os.path.join(
    MMDET_CONFIGS, 'ocsort',
    'ocsort_yolox_x_8xb4-amp-80e_crowdhuman-mot20train_test-mot20test.py')
#: Our model config whose ``model.tracker`` is the shipped ChainTracker.
CHAIN_CONFIG = os.path.join(REPO_ROOT, 'configs', '_base_', 'models',
                            'retina_dmw_r50_fpn.py')
#: Our MOT20 config: the ChainTracker settings for crowds.
CHAIN_MOT20_CONFIG = os.path.join(REPO_ROOT, 'configs', 'dmw',
                                  'retina_dmw_r50_mot20.py')

#: Display name of the frozen pre-issue-10 tracker (the 'before' row).
LEGACY = 'before (legacy)'

#: One frame's nodes -> the tracks shown in that frame.
StepFn = Callable[[Dict[str, torch.Tensor], int], InstanceData]


def mmdet_tracker_cfg(config_path: str) -> dict:
    """The ``model.tracker`` dict of one of mmdet's configs."""
    return Config.fromfile(config_path).model.tracker.to_dict()


def config_chain_kwargs(config_path: str = CHAIN_CONFIG) -> dict:
    """``ChainTracker`` keyword arguments of a model config's tracker."""
    cfg = Config.fromfile(config_path).model.tracker.to_dict()
    cfg.pop('type')
    return cfg


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
    """mmdet's ByteTracker or OCSORTTracker: ``track(data_sample)``."""
    return lambda nodes, frame_id: tracker.track(
        data_sample=det_sample(nodes, frame_id))


def sort_step(tracker) -> StepFn:
    """mmdet's SORTTracker without re-ID: ``track(model, img, sample)``."""
    return lambda nodes, frame_id: tracker.track(
        model=None, img=None, data_sample=det_sample(nodes, frame_id))


#: mmdet's trackers by display name: (config, adapter to a step function).
MMDET_TRACKERS = {
    'ByteTracker': (BYTETRACK_CONFIG, byte_step),
    'SORTTracker': (SORT_CONFIG, sort_step),
    'OCSORTTracker': (OCSORT_CONFIG, byte_step),
}
#: Their configs for crowds (``crowd=True``).
MMDET_CROWD_CONFIGS = {
    'ByteTracker': BYTETRACK_MOT20_CONFIG,
    'SORTTracker': SORT_CONFIG,
    'OCSORTTracker': OCSORT_MOT20_CONFIG,
}


def build_trackers(chain_variants: Optional[Dict[str, dict]] = None,
                   with_mmdet: bool = True,
                   with_legacy: bool = False,
                   mmdet_names: Sequence[str] = tuple(MMDET_TRACKERS),
                   crowd: bool = False) -> Dict[str, StepFn]:
    """Fresh trackers, by display name, each as a per-frame step function.

    Args:
        chain_variants (dict[str, dict], optional): Display name ->
            ``ChainTracker`` keyword arguments; None gives the default one as
            ``ours``.
        with_mmdet (bool): Add mmdet's trackers ``mmdet_names``. Defaults to
            True.
        with_legacy (bool): Add the frozen pre-issue-10 tracker
            (``benchmarks/_legacy_chain_tracker.py``, its defaults) as
            ``LEGACY``, for before / after rows from one run. Defaults to
            False.
        mmdet_names (Sequence[str]): Which of :data:`MMDET_TRACKERS`, in
            this order. Defaults to all three (``ByteTracker``,
            ``SORTTracker``, ``OCSORTTracker``).
        crowd (bool): Every tracker with its settings for crowds, as the
            MOT20 configs set them: ours from ``retina_dmw_r50_mot20.py``
            (the variants' arguments on top), mmdet's from
            :data:`MMDET_CROWD_CONFIGS`. Defaults to False (ours: the class
            defaults, which the MOT17 configs keep; mmdet's: their MOT17
            configs).

    Returns:
        dict[str, StepFn]: Name -> ``step(nodes, frame_id)``.
    """
    chain_variants = chain_variants or dict(ours={})
    base = config_chain_kwargs(CHAIN_MOT20_CONFIG) if crowd else {}
    steps = {
        name: chain_step(ChainTracker(**{**base, **kwargs}))
        for name, kwargs in chain_variants.items()
    }
    if with_legacy:
        steps[LEGACY] = chain_step(LegacyChainTracker())
    if with_mmdet:
        for name in mmdet_names:
            config, adapter = MMDET_TRACKERS[name]
            if crowd:
                config = MMDET_CROWD_CONFIGS[name]
            with DefaultScope.overwrite_default_scope('mmdet'):
                tracker = MODELS.build(mmdet_tracker_cfg(config))
            steps[name] = adapter(tracker)
    return steps
