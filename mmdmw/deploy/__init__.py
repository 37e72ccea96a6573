"""Deployment: export to ONNX and track with ONNX Runtime.

``tools/deployment/pytorch2onnx.py`` writes ``features.onnx`` and
``head.onnx`` (:mod:`.graphs`, :func:`export_onnx`); :class:`ORTChainedTracker`
runs them with the PyTorch model's decoding and tracker, for
``tools/test.py`` and ``tools/demo/track_video.py`` with
``--backend onnxruntime --onnx DIR``. onnx and onnxruntime are optional
dependencies (``requirements/optional.txt``), imported on first use.
:func:`quantize_onnx` (``tools/deployment/quantize_onnx.py``) makes an
opt-in int8 copy of an export.
"""
from .backend import (add_backend_args, check_backend_args, check_frames,
                      default_shape, exit_on_deploy_error, size_divisor_of,
                      use_onnxruntime)
from .export import DEFAULT_OPSET, ExportReport, export_onnx
from .ort_chained_tracker import ORTChainedTracker
from .ort_runtime import DeployError, ORTGraph
from .quantize import QuantizeReport, quantize_onnx

__all__ = [
    'export_onnx', 'ExportReport', 'DEFAULT_OPSET', 'ORTChainedTracker',
    'ORTGraph', 'DeployError', 'use_onnxruntime', 'add_backend_args',
    'check_backend_args', 'exit_on_deploy_error', 'check_frames',
    'default_shape', 'size_divisor_of', 'quantize_onnx', 'QuantizeReport'
]
