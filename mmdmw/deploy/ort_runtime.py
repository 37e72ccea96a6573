"""ONNX Runtime sessions of exported graphs, with errors that say how to fix
them: a missing or corrupt ``.onnx`` file, a frame size the graph cannot take.

The export writes what the graph takes into the file's metadata
(``mmdmw.*`` keys, see :data:`META_SIZE_DIVISOR` etc.), so a ``.onnx`` file
is self-describing.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: Metadata keys written by :func:`mmdmw.deploy.export.export_onnx`.
META_SIZE_DIVISOR = 'mmdmw.size_divisor'
META_STATIC_SHAPE = 'mmdmw.static_shape'  # 'H,W', or '' when dynamic
META_NUM_LEVELS = 'mmdmw.num_levels'
META_CONFIG = 'mmdmw.config'
#: ONNX Runtime's graph optimisation levels by name.
OPT_LEVELS = ('disable', 'basic', 'extended', 'all')
EXPORT_HINT = ('export it with: python tools/deployment/pytorch2onnx.py '
               'CONFIG CHECKPOINT --out {dir}')


class DeployError(RuntimeError):
    """A deployed model cannot be used as asked; the message says why and
    what to do, in one line."""


def import_onnxruntime():
    """onnxruntime, or a :class:`DeployError` saying how to install it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise DeployError(
            f'onnxruntime is not installed ({err}); install it with: pip '
            'install -r requirements/optional.txt') from None
    return onnxruntime


def session_options(threads: Optional[int] = None,
                    opt_level: str = 'all',
                    spinning: bool = False):
    """ONNX Runtime session options.

    Args:
        threads (int, optional): Intra-op threads; None lets ONNX Runtime
            choose (one per core).
        opt_level (str): Graph optimisation level, one of :data:`OPT_LEVELS`.
            Defaults to 'all'.
        spinning (bool): Let idle worker threads spin. Off by default: on
            cores shared with other work a spinning thread waits for a
            descheduled peer (as OpenMP's ACTIVE wait policy does).

    Returns:
        onnxruntime.SessionOptions
    """
    ort = import_onnxruntime()
    if opt_level not in OPT_LEVELS:
        raise DeployError(f'unknown graph optimisation level {opt_level!r}; '
                          f'choose one of {", ".join(OPT_LEVELS)}')
    levels = ort.GraphOptimizationLevel
    options = ort.SessionOptions()
    options.graph_optimization_level = {
        'disable': levels.ORT_DISABLE_ALL,
        'basic': levels.ORT_ENABLE_BASIC,
        'extended': levels.ORT_ENABLE_EXTENDED,
        'all': levels.ORT_ENABLE_ALL
    }[opt_level]
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = threads
    options.add_session_config_entry('session.intra_op.allow_spinning',
                                     '1' if spinning else '0')
    options.log_severity_level = 3  # errors only
    return options


class ORTGraph:
    """One exported graph in an ONNX Runtime session.

    Args:
        path (str): The ``.onnx`` file.
        threads, opt_level, spinning: See :func:`session_options`.

    Raises:
        DeployError: When the file is missing or is not a valid ONNX model.
    """

    def __init__(self,
                 path: str,
                 threads: Optional[int] = None,
                 opt_level: str = 'all',
                 spinning: bool = False) -> None:
        ort = import_onnxruntime()
        hint = EXPORT_HINT.format(dir=osp.dirname(path) or '.')
        if not osp.isfile(path):
            raise DeployError(f'{path} not found; {hint}')
        try:
            self.session = ort.InferenceSession(
                path,
                session_options(threads, opt_level, spinning),
                providers=['CPUExecutionProvider'])
        except Exception as err:  # ORT's pybind errors have no common base
            first = str(err).strip().splitlines()[0] if str(err) else ''
            raise DeployError(
                f'{path} is not a valid ONNX model ({type(err).__name__}: '
                f'{first[:200]}); {hint}') from None
        self.path = path
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.meta: Dict[str, str] = dict(
            self.session.get_modelmeta().custom_metadata_map)

    def run(self, feeds: Dict[str, np.ndarray]) -> List[np.ndarray]:
        """Run the graph; outputs in :attr:`output_names` order."""
        return self.session.run(None, feeds)


def frame_rule(meta: Dict[str, str]) -> Tuple[int, Optional[Tuple[int,
                                                                   int]]]:
    """What frame sizes a features graph takes, from its metadata.

    Returns:
        tuple: the size divisor (1 when unknown) and the static (H, W), or
        None when height and width are dynamic.
    """
    divisor = int(meta.get(META_SIZE_DIVISOR, 1) or 1)
    static = meta.get(META_STATIC_SHAPE, '')
    shape = tuple(int(v) for v in static.split(',')) if static else None
    return divisor, shape


def check_frame_size(hw: Sequence[int], meta: Dict[str, str],
                     path: str) -> None:
    """Refuse a frame size the features graph cannot take.

    Args:
        hw (Sequence[int]): The preprocessed frame's (H, W).
        meta (dict): The graph's metadata.
        path (str): The graph's file, for the message.

    Raises:
        DeployError: Naming the size the graph takes and how to get one that
        takes this size.
    """
    h, w = (int(v) for v in hw)
    divisor, static = frame_rule(meta)
    if static is not None and (h, w) != static:
        raise DeployError(
            f'{path} was exported for {static[0]}x{static[1]} (HxW) frames '
            f'only, got {h}x{w}; export again without --static (any size) '
            f'or with --shape {h} {w}')
    if h % divisor or w % divisor or h < divisor or w < divisor:
        raise DeployError(
            f'{path} takes heights and widths that are multiples of '
            f'{divisor}, got {h}x{w} (HxW); pad the frame (the config\'s '
            f'data_preprocessor pad_size_divisor={divisor} does)')
