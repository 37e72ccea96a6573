"""A :class:`ChainedTracker` whose network runs in ONNX Runtime.

It keeps the PyTorch model's contract and code: :meth:`predict` and
:meth:`detect_pairs` (frame 0 paired with itself, the previous frame's FPN
maps kept, state reset at ``frame_id == 0``) are :class:`ChainedTracker`'s,
decoding is :func:`~mmdmw.models.dense_heads.pair_decoding.decode_pairs`
and the tracker is built from the same config. Only the two graphs of
:mod:`.graphs` run in ONNX Runtime, so a deployed model is scored by the same
test loop and TrackEval path as the PyTorch one.
"""
import inspect
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.models.mot import BaseMOTModel
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import ConfigType, OptConfigType
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from torch import Tensor

from ..models.dense_heads.chained_retina_head import ChainedRetinaHead
from ..models.dense_heads.pair_decoding import DEFAULT_TEST_CFG, decode_pairs
from ..models.mot.chained_tracker import ChainedTracker
from .graphs import (FEATURES_FILE, HEAD_FILE, HEAD_OUTPUTS, IMAGE_INPUT,
                     head_input_names)
from .ort_runtime import (META_NUM_LEVELS, DeployError, ORTGraph,
                          check_frame_size)
from .quantize import META_QUANTIZATION


def decoder_parts(head_cfg: dict) -> Tuple[object, object, dict]:
    """The anchor generator, box coder and test settings a
    :class:`ChainedRetinaHead` config gives, with the head's own defaults
    for what the config leaves out.

    Returns:
        tuple: ``(prior_generator, bbox_coder, test_cfg)``.
    """
    defaults = inspect.signature(ChainedRetinaHead.__init__).parameters
    anchor_cfg = head_cfg.get('anchor_generator',
                              defaults['anchor_generator'].default)
    coder_cfg = head_cfg.get('bbox_coder', defaults['bbox_coder'].default)
    test_cfg = {**DEFAULT_TEST_CFG, **(head_cfg.get('test_cfg') or {})}
    return (TASK_UTILS.build(anchor_cfg), TASK_UTILS.build(coder_cfg),
            test_cfg)


class ORTPairHead:
    """``head.onnx`` with the head's decoding: the part of
    :class:`ChainedRetinaHead` that :meth:`ChainedTracker.detect_pairs`
    calls (``__call__`` and :meth:`predict_pairs`).

    Args:
        graph (ORTGraph): The head graph.
        head_cfg (dict): The config's ``model.head`` (anchors, coder,
            ``test_cfg``).
    """

    def __init__(self, graph: ORTGraph, head_cfg: dict) -> None:
        self.graph = graph
        self.prior_generator, self.bbox_coder, self.test_cfg = (
            decoder_parts(head_cfg))

    def __call__(
        self, pair: Tuple[Sequence[Tensor], Sequence[Tensor]]
    ) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """Run the head on (current levels, previous levels).

        Returns:
            tuple[list[Tensor], ...]: per level ``cls`` (1, 2A, h, w),
            ``reg`` (1, 8A, h, w) and ``reid`` (1, A, h, w) logits.
        """
        cur, prev = pair
        names = head_input_names(len(cur))
        feeds = {
            name: t.detach().cpu().numpy()
            for name, t in zip(names, (*cur, *prev))
        }
        outs = [torch.from_numpy(o) for o in self.graph.run(feeds)]
        num = len(cur)
        return tuple(outs[k * num:(k + 1) * num]
                     for k in range(len(HEAD_OUTPUTS)))

    def predict_pairs(self,
                      cls_scores: List[Tensor],
                      bbox_preds: List[Tensor],
                      reid_scores: List[Tensor],
                      img_meta: dict,
                      rescale: bool = True) -> InstanceData:
        """As :meth:`ChainedRetinaHead.predict_pairs` (the same function)."""
        return decode_pairs(cls_scores, bbox_preds, reid_scores, img_meta,
                            self.prior_generator, self.bbox_coder,
                            self.test_cfg, rescale)


@MODELS.register_module()
class ORTChainedTracker(ChainedTracker):
    """Online chained tracking with the network in ONNX Runtime (CPU).

    Made by ``tools/test.py`` and ``tools/demo/track_video.py`` with
    ``--backend onnxruntime --onnx DIR`` from the config's model (see
    :func:`mmdmw.deploy.onnxruntime_model_cfg`). Inference only.

    Args:
        onnx_dir (str): Folder with ``features.onnx`` and ``head.onnx``
            written by ``tools/deployment/pytorch2onnx.py``.
        head (dict): The config's ``ChainedRetinaHead`` (decoding settings
            only; its weights are in the graphs).
        tracker (dict): Tracker config (``ChainTracker``).
        data_preprocessor (dict, optional): ``TrackDataPreprocessor`` config,
            as the PyTorch model's.
        threads (int, optional): ONNX Runtime intra-op threads; None: one
            per core.
        opt_level (str): ONNX Runtime graph optimisation level
            (``disable``, ``basic``, ``extended``, ``all``). Defaults to
            'all'.
        spinning (bool): Let idle ONNX Runtime threads spin. Defaults to
            False.
        init_cfg (dict, optional): Unused (no weights to initialise).
    """

    def __init__(self,
                 onnx_dir: str,
                 head: ConfigType,
                 tracker: ConfigType,
                 data_preprocessor: OptConfigType = None,
                 threads: Optional[int] = None,
                 opt_level: str = 'all',
                 spinning: bool = False,
                 init_cfg: OptConfigType = None) -> None:
        # Not ChainedTracker.__init__: there is no PyTorch network to build.
        BaseMOTModel.__init__(self, data_preprocessor, init_cfg)
        options = dict(threads=threads, opt_level=opt_level,
                       spinning=spinning)
        self.features = ORTGraph(
            osp.join(onnx_dir, FEATURES_FILE), **options)
        head_graph = ORTGraph(osp.join(onnx_dir, HEAD_FILE), **options)
        self.num_levels = int(self.features.meta.get(
            META_NUM_LEVELS, len(self.features.output_names)))
        if len(head_graph.input_names) != 2 * self.num_levels:
            raise DeployError(
                f'{head_graph.path} takes {len(head_graph.input_names)} '
                f'maps but {self.features.path} gives {self.num_levels} '
                'levels: the two files come from different exports; '
                'export both again into one folder')
        self.head = ORTPairHead(head_graph, head)
        kinds = {g.meta.get(META_QUANTIZATION) or 'fp32'
                 for g in (self.features, head_graph)}
        print_log(f'ONNX Runtime graphs of {onnx_dir}: '
                  f'{", ".join(sorted(kinds))}', logger='current')
        self.tracker = MODELS.build(tracker)
        self._prev_feats: Optional[Tuple[Tensor, ...]] = None

    def extract_feat(self, imgs: Tensor) -> Tuple[Tensor, ...]:
        """``features.onnx`` on one preprocessed frame (1, 3, H, W)."""
        check_frame_size(imgs.shape[-2:], self.features.meta,
                         self.features.path)
        img = np.ascontiguousarray(imgs.detach().cpu().numpy(),
                                   dtype=np.float32)
        outs = self.features.run({IMAGE_INPUT: img})
        return tuple(torch.from_numpy(o) for o in outs)

    @staticmethod
    def pair_levels(first: Sequence[Tensor],
                    second: Sequence[Tensor]) -> Tuple[Sequence[Tensor],
                                                       Sequence[Tensor]]:
        """The two frames' levels, kept apart: ``head.onnx`` concatenates
        them itself."""
        return first, second

    def loss(self, *args, **kwargs):
        raise DeployError('an ONNX Runtime model cannot be trained; train '
                          'the PyTorch model (tools/train.py) and export it')
