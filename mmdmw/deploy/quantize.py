"""Opt-in int8 post-training quantisation of the exported graphs.

ONNX Runtime's static quantisation (QDQ format: ``QuantizeLinear`` /
``DequantizeLinear`` pairs around each quantised op, which ONNX Runtime's CPU
provider fuses into integer kernels such as ``QLinearConv``): activations
uint8 with a scale and zero point per tensor, weights int8 per output
channel, scales from calibration. ``features.onnx`` is calibrated on
preprocessed frames; ``head.onnx`` on the FPN levels of pairs of consecutive
frames that the fp32 ``features.onnx`` gives (a video's first frame paired
with itself, as the tracker does), so both see real inputs.

The quantised folder is used as the fp32 one (``--backend onnxruntime --onnx
DIR``): the graphs keep their inputs, outputs and ``mmdmw.*`` metadata, plus
:data:`META_QUANTIZATION`. Tracks are NOT identical to PyTorch's.
"""
import os
import os.path as osp
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
from torch import Tensor

from .graphs import FEATURES_FILE, HEAD_FILE, IMAGE_INPUT, head_input_names
from .ort_runtime import EXPORT_HINT, DeployError, ORTGraph

#: Metadata key of a quantised graph: its number format ('int8').
META_QUANTIZATION = 'mmdmw.quantization'
QUANTIZATION_INT8 = 'int8'
#: Calibration methods by name (ORT's CalibrationMethod members).
CALIBRATION_METHODS = {'minmax': 'MinMax', 'percentile': 'Percentile'}
#: Ops whose presence marks a graph as already quantised.
QUANTIZED_OPS = ('QuantizeLinear', 'DequantizeLinear', 'QLinearConv',
                 'ConvInteger', 'MatMulInteger')
#: Op types quantised by default: the convs (95-99% of both graphs' time).
#: Quantising the rest too (GroupNorm's affine Mul/Add, PSO's coordinate
#: ops) adds Q/DQ pairs (174 instead of 60 in the tiny head) and error for
#: no int8 kernel; on the quick start's trained model, calibrated on 32
#: half-train frames: MOTA 67.7 (every op) vs 70.4 (convs; PyTorch 70.0).
DEFAULT_OP_TYPES = ('Conv', )
#: Percentile calibration keeps this share of each activation's range.
DEFAULT_PERCENTILE = 99.999


@dataclass
class QuantizeReport:
    """What :func:`quantize_onnx` wrote.

    Attributes:
        features_path (str), head_path (str): The quantised files.
        num_frames (int): Calibration frames (feature graph samples).
        num_pairs (int): Calibration pairs (head graph samples).
        method (str): Calibration method.
        preprocessed (bool): Whether ORT's quant pre-processing (symbolic
            shape inference, graph optimisation) ran.
        seconds (float): Time of calibration and quantisation.
    """
    features_path: str
    head_path: str
    num_frames: int
    num_pairs: int
    method: str
    preprocessed: bool
    seconds: float


def _import_quantization():
    """onnxruntime.quantization, or a DeployError saying how to install."""
    try:
        from onnxruntime import quantization
    except ImportError as err:
        raise DeployError(
            f'onnxruntime.quantization cannot be imported ({err}); install '
            'it with: pip install -r requirements/optional.txt') from None
    return quantization


def quantization_of(path: str) -> str:
    """The number format of an ``.onnx`` file: ``'int8'`` when quantised
    (by metadata or by its ops), else ``'fp32'``."""
    import onnx
    proto = onnx.load(path, load_external_data=False)
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get(META_QUANTIZATION):
        return meta[META_QUANTIZATION]
    if any(n.op_type in QUANTIZED_OPS for n in proto.graph.node):
        return QUANTIZATION_INT8
    return 'fp32'


def check_fp32_folder(onnx_dir: str) -> None:
    """Refuse a folder without both fp32 graphs.

    Raises:
        DeployError: When ``features.onnx`` or ``head.onnx`` is missing, or
            a graph is already quantised.
    """
    for name in (FEATURES_FILE, HEAD_FILE):
        path = osp.join(onnx_dir, name)
        if not osp.isfile(path):
            raise DeployError(f'{path} not found: quantisation needs the '
                              'fp32 graphs; ' +
                              EXPORT_HINT.format(dir=onnx_dir))
        if quantization_of(path) != 'fp32':
            raise DeployError(
                f'{path} is already quantised ({quantization_of(path)}); '
                'quantise the fp32 export of tools/deployment/'
                'pytorch2onnx.py instead')


def calibration_pairs(num_frames: int,
                      video_starts: Sequence[int] = (0, )) -> List[tuple]:
    """(current, previous) frame indices the head is calibrated on: each
    frame with the one before, a video's first frame with itself (as
    :meth:`ChainedTracker.detect_pairs` pairs them)."""
    starts = set(video_starts) | {0}
    return [(t, t if t in starts else t - 1) for t in range(num_frames)]


def feature_feeds(frames: Sequence[Tensor]) -> List[Dict[str, np.ndarray]]:
    """``features.onnx`` inputs: one preprocessed frame (1, 3, H, W) each."""
    return [{
        IMAGE_INPUT: np.ascontiguousarray(f.detach().cpu().numpy(),
                                          dtype=np.float32)
    } for f in frames]


def head_feeds(features_path: str,
               frames: Sequence[Tensor],
               video_starts: Sequence[int] = (0, ),
               progress: Optional[Callable[[Iterable], Iterable]] = None
               ) -> List[Dict[str, np.ndarray]]:
    """``head.onnx`` inputs: the fp32 ``features.onnx`` levels of each
    calibration pair (see :func:`calibration_pairs`)."""
    graph = ORTGraph(features_path)
    feeds = feature_feeds(frames)
    steps = progress(feeds) if progress else feeds
    levels = [graph.run(feed) for feed in steps]
    names = head_input_names(len(levels[0]))
    return [
        dict(zip(names, (*levels[cur], *levels[prev])))
        for cur, prev in calibration_pairs(len(frames), video_starts)
    ]


def quantize_graph(src: str,
                   dst: str,
                   feeds: Sequence[Dict[str, np.ndarray]],
                   method: str = 'minmax',
                   preprocess: bool = True,
                   op_types: Optional[Sequence[str]] = DEFAULT_OP_TYPES
                   ) -> bool:
    """Quantise one graph: QDQ, uint8 activations, int8 per-channel weights.

    Args:
        src (str): The fp32 ``.onnx`` file.
        dst (str): The int8 file to write.
        feeds (Sequence[dict]): Calibration inputs, one dict per sample.
        method (str): ``minmax`` or ``percentile``. Defaults to 'minmax'.
        preprocess (bool): Run ORT's ``quant_pre_process`` first (symbolic
            shape inference and graph optimisation). Defaults to True.
        op_types (Sequence[str], optional): Op types to quantise; None:
            every type ONNX Runtime can. Defaults to
            :data:`DEFAULT_OP_TYPES`.

    Returns:
        bool: Whether the pre-processing ran.
    """
    import onnx
    quant = _import_quantization()
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(quant.CalibrationDataReader):
        """The calibration samples, once each."""

        def __init__(self) -> None:
            self.samples = iter(feeds)

        def get_next(self) -> Optional[Dict[str, np.ndarray]]:
            return next(self.samples, None)

    meta = {p.key: p.value for p in onnx.load(src).metadata_props}
    with tempfile.TemporaryDirectory() as tmp:
        model_in = src
        if preprocess:
            model_in = osp.join(tmp, 'preprocessed.onnx')
            quant_pre_process(src, model_in)
        extra = {'CalibPercentile': DEFAULT_PERCENTILE} if (
            method == 'percentile') else {}
        quant.quantize_static(
            model_in,
            dst,
            Reader(),
            quant_format=quant.QuantFormat.QDQ,
            activation_type=quant.QuantType.QUInt8,
            weight_type=quant.QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(op_types) if op_types else None,
            calibrate_method=getattr(quant.CalibrationMethod,
                                     CALIBRATION_METHODS[method]),
            extra_options=extra)
    proto = onnx.load(dst)
    del proto.metadata_props[:]
    meta[META_QUANTIZATION] = QUANTIZATION_INT8
    for key, value in meta.items():
        if key.startswith('mmdmw.'):  # not ORT's pre-process marker
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, dst)
    return preprocess


def quantize_onnx(onnx_dir: str,
                  out_dir: str,
                  calibration_frames: Sequence[Tensor],
                  video_starts: Sequence[int] = (0, ),
                  method: str = 'minmax',
                  preprocess: bool = True,
                  op_types: Optional[Sequence[str]] = DEFAULT_OP_TYPES,
                  progress: Optional[Callable[[Iterable], Iterable]] = None
                  ) -> QuantizeReport:
    """Write int8 ``out_dir/features.onnx`` and ``out_dir/head.onnx``.

    Args:
        onnx_dir (str): Folder of the fp32 export
            (``tools/deployment/pytorch2onnx.py``).
        out_dir (str): Output folder (made if missing; not ``onnx_dir``).
        calibration_frames (Sequence[Tensor]): Preprocessed frames
            (1, 3, H, W) in video order, sizes the graphs take.
        video_starts (Sequence[int]): Indices in ``calibration_frames``
            where a new video starts (0 always does). Defaults to (0, ).
        method (str): Calibration: ``minmax`` (each activation's observed
            range) or ``percentile`` (:data:`DEFAULT_PERCENTILE` of it).
            Defaults to 'minmax'.
        preprocess (bool): Run ORT's quant pre-processing. Defaults to True.
        op_types (Sequence[str], optional): See :func:`quantize_graph`.
        progress (callable, optional): Wraps the frame loop (e.g. a progress
            bar).

    Returns:
        QuantizeReport

    Raises:
        DeployError: For a folder without the fp32 graphs, already quantised
            graphs, no calibration frames, an unknown method, or
            ``out_dir`` equal to ``onnx_dir``.
    """
    start = time.perf_counter()
    check_fp32_folder(onnx_dir)
    if not calibration_frames:
        raise DeployError('no calibration frames: give a few frames of the '
                          'videos to track (e.g. --images DIR, or a dataset '
                          'split with frames)')
    if method not in CALIBRATION_METHODS:
        raise DeployError(f'unknown calibration method {method!r}; choose '
                          f'one of {", ".join(CALIBRATION_METHODS)}')
    if osp.abspath(out_dir) == osp.abspath(onnx_dir):
        raise DeployError(f'--out {out_dir} is the fp32 folder; write the '
                          'int8 graphs to another folder')
    os.makedirs(out_dir, exist_ok=True)
    features_in = osp.join(onnx_dir, FEATURES_FILE)
    pairs = head_feeds(features_in, calibration_frames, video_starts,
                       progress)
    features_out = osp.join(out_dir, FEATURES_FILE)
    head_out = osp.join(out_dir, HEAD_FILE)
    done = quantize_graph(features_in, features_out,
                          feature_feeds(calibration_frames), method,
                          preprocess, op_types)
    quantize_graph(osp.join(onnx_dir, HEAD_FILE), head_out, pairs, method,
                   preprocess, op_types)
    return QuantizeReport(features_out, head_out, len(calibration_frames),
                          len(pairs), method, done,
                          time.perf_counter() - start)
