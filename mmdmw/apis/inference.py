"""Track a video or a folder of images with a trained :class:`ChainedTracker`
(``tools/demo/track_video.py``): build the model, feed frames from memory
through the config's test pipeline, write what :mod:`.video_io` offers.
"""
import copy
from typing import Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader, load_state_dict
from mmengine.structures import InstanceData
from torch import nn
from tqdm import tqdm

from .video_io import (DEFAULT_FPS, ResultWriter, count_frames, iter_frames,
                       source_fps)

#: Test-pipeline transforms that read files; frames come from memory instead.
FILE_LOADERS = ('LoadImageFromFile', 'mmdet.LoadImageFromFile')
ANNOTATION_LOADERS = ('LoadTrackAnnotations', 'mmdet.LoadTrackAnnotations',
                      'LoadAnnotations', 'mmdet.LoadAnnotations')
#: Key prefix that DataParallel / DDP checkpoints carry.
WRAPPER_PREFIX = 'module.'
#: Keys of BN statistics an older checkpoint may lack; they are harmless.
OPTIONAL_KEY_SUFFIX = 'num_batches_tracked'
MAX_KEYS_SHOWN = 10  # per kind of mismatch in the error message


class CheckpointMismatchError(RuntimeError):
    """The checkpoint's weights do not fit the model built from the config."""


# ---------------------------------------------------------------- model
def init_tracker(config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu') -> nn.Module:
    """Build a tracker from its config and load trained weights.

    Args:
        config (str | Config): Config file or loaded config.
        checkpoint (str, optional): ``.pth`` written by ``tools/train.py``;
            None keeps the weights as built (not ``init_weights``). Defaults
            to None.
        device (str): ``'cpu'`` or ``'cuda:0'`` etc. Defaults to 'cpu'.

    Returns:
        nn.Module: The model in eval mode, with the config as ``model.cfg``.

    Raises:
        CheckpointMismatchError: When the checkpoint has other keys or shapes
            than the model, naming them.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_state_dict(model, fitting_state_dict(model, checkpoint),
                        strict=True)
    model.cfg = cfg
    return model.to(device).eval()


def fitting_state_dict(model: nn.Module, checkpoint: str) -> dict:
    """Load a checkpoint's weights, refusing those of another config.

    Args:
        model (nn.Module): The (unwrapped) model built from the config.
        checkpoint (str): The ``.pth`` file.

    Returns:
        dict: The state dict, wrapper prefixes stripped.

    Raises:
        CheckpointMismatchError: Naming the missing, unexpected and resized
            keys.
    """
    state = CheckpointLoader.load_checkpoint(checkpoint, 'cpu')
    state = state.get('state_dict', state)
    state = {_strip_prefix(k): v for k, v in state.items()}
    problems = state_dict_mismatches(model.state_dict(), state)
    if problems:
        raise CheckpointMismatchError(
            f'{checkpoint} does not fit the model of this config (was it '
            'trained with another one?):\n' + '\n'.join(problems))
    return state


def _strip_prefix(key: str) -> str:
    return key[len(WRAPPER_PREFIX):] if key.startswith(WRAPPER_PREFIX) else key


def state_dict_mismatches(model_state: dict, ckpt_state: dict) -> List[str]:
    """Describe how a checkpoint's state dict differs from a model's.

    Args:
        model_state (dict): ``model.state_dict()``.
        ckpt_state (dict): The checkpoint's ``state_dict``.

    Returns:
        list[str]: One line per kind of difference (size mismatch, missing,
        unexpected), each naming up to ``MAX_KEYS_SHOWN`` keys; empty when
        the checkpoint fits.
    """
    missing = [
        k for k in model_state
        if k not in ckpt_state and not k.endswith(OPTIONAL_KEY_SUFFIX)
    ]
    unexpected = [k for k in ckpt_state if k not in model_state]
    resized = [
        f'{k} (checkpoint {tuple(v.shape)}, model '
        f'{tuple(model_state[k].shape)})' for k, v in ckpt_state.items()
        if k in model_state and tuple(v.shape) != tuple(model_state[k].shape)
    ]
    lines = []
    for kind, keys in (('size mismatch', resized),
                       ('missing in checkpoint', missing),
                       ('unexpected in checkpoint', unexpected)):
        if keys:
            more = len(keys) - MAX_KEYS_SHOWN
            tail = f', ... and {more} more' if more > 0 else ''
            lines.append(f'  {kind}: ' + ', '.join(keys[:MAX_KEYS_SHOWN]) +
                         tail)
    return lines


# ------------------------------------------------------------- tracking
def build_demo_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline fed with in-memory frames: as mmdet's
    ``inference_mot``, ``LoadImageFromFile`` becomes ``LoadImageFromNDArray``
    and annotation loaders are dropped (a demo has no ground truth)."""

    def adapt(transforms: list) -> list:
        out = []
        for t in copy.deepcopy(transforms):
            if t['type'] in ANNOTATION_LOADERS:
                continue
            if t['type'] in FILE_LOADERS:
                t = dict(type='mmdet.LoadImageFromNDArray')
            if 'transforms' in t:  # TransformBroadcaster and other wrappers
                t['transforms'] = adapt(t['transforms'])
            out.append(t)
        return out

    return Compose(adapt(cfg.test_dataloader.dataset.pipeline))


def track_frames(
        model: nn.Module,
        frames: Iterable[np.ndarray],
        num_frames: Optional[int] = None
) -> Iterator[Tuple[np.ndarray, InstanceData]]:
    """Track a video online, one frame at a time.

    Args:
        model (nn.Module): From :func:`init_tracker`.
        frames (Iterable[np.ndarray]): (H, W, 3) BGR frames of one video.
        num_frames (int, optional): Video length, for the metainfo.

    Yields:
        tuple[np.ndarray, InstanceData]: The frame and its tracks on CPU:
        ``bboxes`` (M, 4) x1y1x2y2 in frame pixels, ``scores`` (M,),
        ``labels`` (M,), ``instances_id`` (M,).
    """
    pipeline = build_demo_pipeline(model.cfg)
    for i, frame in enumerate(frames):
        # Lists: one entry per frame of the TransformBroadcaster clip.
        data = pipeline(
            dict(img=[frame], frame_id=[i], ori_shape=[frame.shape[:2]],
                 img_id=[i + 1], ori_video_length=[num_frames or -1]))
        with torch.no_grad():  # frame_id 0 resets the tracker
            result = model.test_step(pseudo_collate([data]))[0]
        yield frame, result[0].pred_track_instances.cpu()


def run_demo(model: nn.Module,
             source: str,
             out_video: Optional[str] = None,
             out_txt: Optional[str] = None,
             score_thr: float = 0.0,
             fps: Optional[float] = None,
             progress: bool = True) -> int:
    """Track ``source`` and write the drawn video and / or the results.

    Args:
        model (nn.Module): From :func:`init_tracker`.
        source (str): Video file or image folder (see :func:`iter_frames`).
        out_video (str, optional): MP4 path.
        out_txt (str, optional): MOTChallenge result path.
        score_thr (float): Tracks scoring below are neither drawn nor
            written. Defaults to 0.0.
        fps (float, optional): Frame rate of the output video; defaults to
            the input's (:func:`source_fps`), else ``DEFAULT_FPS``.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        int: Number of frames processed.
    """
    num_frames = count_frames(source)
    fps = fps or source_fps(source) or DEFAULT_FPS
    done = 0
    with ResultWriter(out_video, out_txt, fps) as writer:
        tracked = track_frames(model, iter_frames(source), num_frames)
        for frame, tracks in tqdm(tracked, total=num_frames, unit='frame',
                                  disable=not progress):
            writer.write(done, frame, tracks[tracks.scores >= score_thr])
            done += 1
    return done
