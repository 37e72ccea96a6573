"""Export a :class:`ChainedTracker` to ``features.onnx`` + ``head.onnx`` and
check both against PyTorch.

Two exporters: ``torchscript`` (``torch.onnx.export(..., dynamo=False)``,
the default: 8 s for the tiny model on 2 cores) and ``dynamo``
(``torch.export`` based: the same outputs, ~8x slower to export here, and it
refuses code that would fix a size). Both export CoordConv faithfully: its
coordinates are tensor ops on the map's size (arange, see
:func:`mmdmw.models.layers.coord_conv.coord_channels`) and its inference
cache is off while tracing or exporting. A dynamic export is also checked at
a second frame size, so a size baked into the graph cannot pass unseen.
"""
import os
import os.path as osp
import time
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .graphs import (FEATURES_FILE, HEAD_FILE, IMAGE_INPUT, FeatureGraph,
                     PairHeadGraph, feature_names, head_input_names,
                     head_output_names)
from .ort_runtime import (META_CONFIG, META_NUM_LEVELS, META_SIZE_DIVISOR,
                          META_STATIC_SHAPE, DeployError, ORTGraph)

#: ONNX opset of the export (GroupNormalization needs 18 or later).
DEFAULT_OPSET = 18
EXPORTERS = ('torchscript', 'dynamo')
#: Frame sizes are multiples of this when the config does not say.
DEFAULT_SIZE_DIVISOR = 32
#: Shown characters of an exporter error.
ERROR_CHARS = 300
#: ONNX domains ONNX Runtime's CPU provider runs; others are custom ops.
STANDARD_DOMAINS = ('', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft')


@dataclass
class ExportReport:
    """What :func:`export_onnx` wrote and how close it is to PyTorch.

    Attributes:
        features_path (str), head_path (str): The written files.
        max_abs_diff (float): Largest |ONNX Runtime - PyTorch| over every
            output of both graphs on the check frames.
        max_rel_diff (float): The largest per-tensor
            ``max |ORT - PyTorch| / max |PyTorch|``.
        num_frames (int): Check frames (each paired with the one before).
        seconds (float): Time of the export and the check.
    """
    features_path: str
    head_path: str
    max_abs_diff: float
    max_rel_diff: float
    num_frames: int
    seconds: float


def export_onnx(model: nn.Module,
                out_dir: str,
                frames: Sequence[Tensor],
                opset: int = DEFAULT_OPSET,
                static: bool = False,
                size_divisor: int = DEFAULT_SIZE_DIVISOR,
                config: str = '',
                exporter: str = 'torchscript') -> ExportReport:
    """Write ``out_dir/features.onnx`` and ``out_dir/head.onnx``.

    Args:
        model (nn.Module): A :class:`ChainedTracker` (eval mode is set).
        out_dir (str): Output folder (made if missing).
        frames (Sequence[Tensor]): Preprocessed frames (1, 3, H, W) of one
            size, H and W multiples of ``size_divisor``: the first is the
            example input, all are checked (each paired with the previous);
            a dynamic export is checked on them resized to
            (H + divisor, W + 2 divisor) too.
        opset (int): ONNX opset. Defaults to :data:`DEFAULT_OPSET`.
        static (bool): Fix H and W to the frames' size (else dynamic).
        size_divisor (int): H and W are multiples of it. Defaults to 32.
        config (str): Config file name, stored in the files' metadata.
        exporter (str): ``torchscript`` or ``dynamo``. Defaults to
            'torchscript'.

    Returns:
        ExportReport

    Raises:
        DeployError: When the model holds an operation ONNX cannot express,
            or the frames have a size the export cannot take.
    """
    start = time.perf_counter()
    if exporter not in EXPORTERS:
        raise DeployError(f'unknown exporter {exporter!r}; choose one of '
                          f'{", ".join(EXPORTERS)}')
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    img = frames[0]
    h, w = img.shape[-2:]
    if h % size_divisor or w % size_divisor:
        raise DeployError(f'frames of {h}x{w} (HxW) cannot be exported: '
                          f'height and width must be multiples of '
                          f'{size_divisor}')
    with torch.no_grad():
        feats = model.extract_feat(img)
    num_levels = len(feats)
    meta = {
        META_SIZE_DIVISOR: str(size_divisor),
        META_STATIC_SHAPE: f'{h},{w}' if static else '',
        META_NUM_LEVELS: str(num_levels),
        META_CONFIG: config,
    }
    features_path = osp.join(out_dir, FEATURES_FILE)
    head_path = osp.join(out_dir, HEAD_FILE)
    names = head_input_names(num_levels)
    # distinct tensors: an input passed twice is exported as one input
    prev = tuple(f.clone() for f in feats)
    feature_dims, head_dims = (None, None) if static else dynamic_dims(
        exporter, num_levels, size_divisor)
    export_graph(FeatureGraph(model).eval(), (img, ), features_path,
                 [IMAGE_INPUT], feature_names(num_levels), feature_dims,
                 opset, meta, exporter)
    export_graph(PairHeadGraph(model, num_levels).eval(), (*feats, *prev),
                 head_path, names, head_output_names(num_levels), head_dims,
                 opset, meta, exporter)

    checked = list(frames)
    if not static:  # a second size: nothing may be fixed to the first
        size = (h + size_divisor, w + 2 * size_divisor)
        checked += [F.interpolate(f, size=size, mode='bilinear')
                    for f in frames[:2]]
    abs_diff, rel_diff = check_against_pytorch(model, features_path,
                                               head_path, checked)
    return ExportReport(features_path, head_path, abs_diff, rel_diff,
                        len(checked), time.perf_counter() - start)


def dynamic_dims(exporter: str, num_levels: int,
                 size_divisor: int) -> Tuple[object, object]:
    """Dynamic height and width of both graphs' inputs, as each exporter
    takes them.

    Returns:
        tuple: for ``features.onnx`` and ``head.onnx``, ``dynamic_axes``
        dicts (torchscript) or ``dynamic_shapes`` tuples (dynamo; the image
        is declared a multiple of ``size_divisor``, each level map has its
        own size, shared by both frames).
    """
    names = head_input_names(num_levels)
    if exporter == 'torchscript':
        return ({IMAGE_INPUT: {2: 'height', 3: 'width'}}, {
            name: {2: f'level{i % num_levels}_height',
                   3: f'level{i % num_levels}_width'}
            for i, name in enumerate(names)
        })
    Dim = torch.export.Dim
    image = ({2: size_divisor * Dim('height_blocks', min=1),
              3: size_divisor * Dim('width_blocks', min=1)}, )
    levels = [(Dim(f'level{i}_height', min=1), Dim(f'level{i}_width', min=1))
              for i in range(num_levels)]
    # one entry for the *levels argument: a spec per level map
    return image, (tuple({2: lh, 3: lw} for lh, lw in levels * 2), )


def export_graph(module: nn.Module,
                 args: tuple,
                 path: str,
                 input_names: List[str],
                 output_names: List[str],
                 dynamic: Optional[object],
                 opset: int,
                 meta: Dict[str, str],
                 exporter: str = 'torchscript') -> None:
    """Export one module to ``path``, add the metadata, check the file with
    ``onnx.checker`` (full check) and refuse ops outside standard ONNX.

    Args:
        module (nn.Module): What to export.
        args (tuple): Example inputs.
        path (str): The ``.onnx`` file.
        input_names, output_names (list[str]): Graph input / output names.
        dynamic (dict | tuple, optional): ``dynamic_axes`` (torchscript) or
            ``dynamic_shapes`` (dynamo); None fixes every size.
        opset (int): ONNX opset.
        meta (dict[str, str]): Metadata written into the file.
        exporter (str): ``torchscript`` or ``dynamo``.

    Raises:
        DeployError: When the exporter fails or the graph holds a custom op
            (e.g. mmcv's deformable conv), naming it.
    """
    try:
        import onnx
    except ImportError as err:
        raise DeployError(f'onnx is not installed ({err}); install it with: '
                          'pip install -r requirements/optional.txt') from None
    kwargs = dict(dynamo=False, dynamic_axes=dynamic) if (
        exporter == 'torchscript') else dict(
            dynamo=True, dynamic_shapes=dynamic, external_data=False,
            report=False)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # the exporters' chatter
            torch.onnx.export(
                module,
                args,
                path,
                input_names=input_names,
                output_names=output_names,
                opset_version=opset,
                verbose=False,
                **kwargs)
    except Exception as err:  # the exporters raise many kinds
        raise DeployError(
            f'the model cannot be exported to ONNX: {_summary(err)}. If an '
            'operation is named, replace it in the config (e.g. a plain '
            'conv for a deformable one); else use the PyTorch '
            'backend') from None
    proto = onnx.load(path)
    custom = sorted({f'{n.domain}::{n.op_type}' for n in proto.graph.node
                     if n.domain not in STANDARD_DOMAINS})
    if custom:
        os.remove(path)
        raise DeployError(
            f'the model uses {", ".join(custom)}, which standard ONNX cannot '
            'express (ONNX Runtime has no kernel for it); replace it in the '
            'config (e.g. a plain conv for a deformable one) or use the '
            'PyTorch backend')
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, path)


def _summary(err: BaseException) -> str:
    """The innermost cause of an exporter error, on one line."""
    while err.__cause__ is not None:
        err = err.__cause__
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0] if lines else ''
    return f'{type(err).__name__}: {text}'[:ERROR_CHARS]


def check_against_pytorch(model: nn.Module, features_path: str,
                          head_path: str,
                          frames: Sequence[Tensor]) -> Tuple[float, float]:
    """Largest differences between ONNX Runtime and PyTorch.

    Every frame goes through both feature extractors; frame t is paired with
    frame t-1 (frame 0, or the first of a new size, with itself) through
    both heads, each fed PyTorch's maps.

    Returns:
        tuple[float, float]: max absolute difference, max relative
        difference (per tensor, max |diff| / max |PyTorch|).
    """
    features = ORTGraph(features_path)
    head = ORTGraph(head_path)
    diffs: List[Tuple[float, float]] = []

    def compare(ort_outs: Sequence[np.ndarray],
                torch_outs: Sequence[Tensor]) -> None:
        for got, want in zip(ort_outs, torch_outs):
            want = want.detach().cpu().numpy()
            abs_diff = float(np.abs(got - want).max()) if want.size else 0.
            scale = float(np.abs(want).max()) if want.size else 0.
            diffs.append((abs_diff, abs_diff / max(scale, 1e-12)))

    prev_t = None
    with torch.no_grad():
        for img in frames:
            feats_t = model.extract_feat(img)
            feats_o = features.run({IMAGE_INPUT: img.cpu().numpy()})
            compare(feats_o, feats_t)
            if prev_t is None or prev_t[0].shape != feats_t[0].shape:
                prev_t = feats_t  # a video's first frame: with itself
            outs_t = model.head(model.pair_levels(feats_t, prev_t))
            # ORT's head on PyTorch's maps: each graph checked on its own
            names = head_input_names(len(feats_t))
            feeds = {
                n: t.cpu().numpy()
                for n, t in zip(names, (*feats_t, *prev_t))
            }
            compare(head.run(feeds), [t for out in outs_t for t in out])
            prev_t = feats_t
    return max(d[0] for d in diffs), max(d[1] for d in diffs)
