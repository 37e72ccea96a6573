"""The two graphs a :class:`ChainedTracker` is exported as.

* ``features.onnx``: one preprocessed frame (1, 3, H, W) -> its L FPN levels
  ``feat_0 .. feat_{L-1}``, each (1, C, h_l, w_l). Run once per frame.
* ``head.onnx``: the current frame's levels ``cur_l`` and the previous
  frame's ``prev_l`` -> per level the classification logits ``cls_l``
  (1, 2A, h_l, w_l), paired deltas ``reg_l`` (1, 8A, h_l, w_l) and
  ID-verification logits ``reid_l`` (1, A, h_l, w_l). The two frames' maps
  are concatenated inside the graph, as :meth:`ChainedTracker.pair_levels`
  does.

Decoding (anchors, deltas, NMS, rescaling) stays outside the graphs, in
:mod:`mmdmw.models.dense_heads.pair_decoding`, shared with PyTorch.
"""
from typing import List, Tuple

from torch import Tensor, nn

FEATURES_FILE = 'features.onnx'
HEAD_FILE = 'head.onnx'
IMAGE_INPUT = 'img'
#: Outputs of the head graph, in order, each once per level.
HEAD_OUTPUTS = ('cls', 'reg', 'reid')


def feature_names(num_levels: int) -> List[str]:
    """Output names of ``features.onnx``: ``feat_0 .. feat_{L-1}``."""
    return [f'feat_{i}' for i in range(num_levels)]


def head_input_names(num_levels: int) -> List[str]:
    """Input names of ``head.onnx``: ``cur_0 ..`` then ``prev_0 ..``."""
    return ([f'cur_{i}' for i in range(num_levels)] +
            [f'prev_{i}' for i in range(num_levels)])


def head_output_names(num_levels: int) -> List[str]:
    """Output names of ``head.onnx``: ``cls_0 .., reg_0 .., reid_0 ..``."""
    return [f'{k}_{i}' for k in HEAD_OUTPUTS for i in range(num_levels)]


class FeatureGraph(nn.Module):
    """Backbone + neck of a :class:`ChainedTracker` on one frame."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.backbone = model.backbone
        self.neck = model.neck

    def forward(self, img: Tensor) -> Tuple[Tensor, ...]:
        """(1, 3, H, W) -> L × (1, C, h_l, w_l)."""
        return tuple(self.neck(self.backbone(img)))


class PairHeadGraph(nn.Module):
    """The chained head on two frames' levels.

    Args:
        model (nn.Module): The :class:`ChainedTracker`.
        num_levels (int): L, FPN levels.
    """

    def __init__(self, model: nn.Module, num_levels: int) -> None:
        super().__init__()
        self.head = model.head
        self.pair_levels = model.pair_levels
        self.num_levels = num_levels

    def forward(self, *levels: Tensor) -> Tuple[Tensor, ...]:
        """2L × (1, C, h_l, w_l) (current, then previous) -> 3L outputs
        (``cls`` of every level, then ``reg``, then ``reid``)."""
        cur, prev = levels[:self.num_levels], levels[self.num_levels:]
        cls_scores, bbox_preds, reid_scores = self.head(
            self.pair_levels(cur, prev))
        return (*cls_scores, *bbox_preds, *reid_scores)
