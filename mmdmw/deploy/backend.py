"""What the tools need to run a config on ONNX Runtime: the ``--backend``
arguments, the config rewrite, the frames an export is checked on, and the
one-line error exit."""
import argparse
import glob
import math
import os.path as osp
import re
import tempfile
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

import mmcv
import torch
from mmengine.config import Config, ConfigDict
from torch import Tensor

from .export import DEFAULT_SIZE_DIVISOR
from .ort_runtime import OPT_LEVELS, DeployError

BACKENDS = ('pytorch', 'onnxruntime')
#: Module that registers :class:`ORTChainedTracker`, for ``custom_imports``.
DEPLOY_MODULE = 'mmdmw.deploy'
#: Frame extensions read from a folder of check frames.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
#: Frames an export is checked on.
NUM_CHECK_FRAMES = 3


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """``--backend {pytorch,onnxruntime}``, ``--onnx DIR``, ``--threads``."""
    parser.add_argument(
        '--backend',
        choices=BACKENDS,
        default='pytorch',
        help='run the network in PyTorch (CHECKPOINT) or ONNX Runtime '
        '(--onnx DIR from tools/deployment/pytorch2onnx.py)')
    parser.add_argument(
        '--onnx', help='folder with features.onnx and head.onnx')
    parser.add_argument(
        '--ort-threads', type=int,
        help='ONNX Runtime threads (default: one per core)')


def check_backend_args(parser: argparse.ArgumentParser,
                       args: argparse.Namespace) -> None:
    """Stop with a usage error when the backend's input is missing."""
    if args.backend == 'onnxruntime' and not args.onnx:
        parser.error('--backend onnxruntime needs --onnx DIR (made by '
                     'tools/deployment/pytorch2onnx.py)')
    if args.backend == 'pytorch' and not args.checkpoint:
        parser.error('give CHECKPOINT (or --backend onnxruntime --onnx DIR)')


def use_onnxruntime(cfg: Config,
                    onnx_dir: str,
                    threads: Optional[int] = None,
                    opt_level: str = 'all') -> Config:
    """Make ``cfg.model`` the ONNX Runtime model of ``onnx_dir``.

    The head's decoding settings, the tracker and the data preprocessor stay
    the config's, so the same test loop, tracker and metrics run.

    Args:
        cfg (Config): A config of a :class:`ChainedTracker`.
        onnx_dir (str): Folder written by ``tools/deployment/pytorch2onnx.py``.
        threads (int, optional): ONNX Runtime threads.
        opt_level (str): Graph optimisation level. Defaults to 'all'.

    Returns:
        Config: The same config, changed in place.
    """
    model = cfg.model
    if model.get('type') not in ('ChainedTracker', 'mmdet.ChainedTracker'):
        raise DeployError(f'--backend onnxruntime runs ChainedTracker '
                          f'models; this config\'s is {model.get("type")}')
    if opt_level not in OPT_LEVELS:
        raise DeployError(f'unknown graph optimisation level {opt_level!r}')
    cfg.model = ConfigDict(
        type='ORTChainedTracker',
        onnx_dir=onnx_dir,
        head=model.head,
        tracker=model.tracker,
        data_preprocessor=model.get('data_preprocessor'),
        threads=threads,
        opt_level=opt_level)
    imports = cfg.get('custom_imports') or dict(
        imports=[], allow_failed_imports=False)
    if DEPLOY_MODULE not in imports['imports']:
        imports['imports'] = list(imports['imports']) + [DEPLOY_MODULE]
    cfg.custom_imports = imports
    cfg.load_from = None  # the weights are in the graphs
    return cfg


@contextmanager
def exit_on_deploy_error() -> Iterator[None]:
    """Turn a :class:`DeployError` into ``error: message`` and exit 1."""
    try:
        yield
    except DeployError as err:
        # mmengine's registry prefixes "class `X` in file: " when building
        message = re.sub(r'^class `\w+` in [^:]+: ', '', str(err))
        raise SystemExit(f'error: {message}') from None


# ------------------------------------------------------------- frames
def size_divisor_of(cfg: Config) -> int:
    """The data preprocessor's ``pad_size_divisor`` (default 32)."""
    prep = cfg.model.get('data_preprocessor') or {}
    return int(prep.get('pad_size_divisor') or DEFAULT_SIZE_DIVISOR)


def default_shape(cfg: Config) -> Tuple[int, int]:
    """(H, W) the test pipeline resizes to, padded to the size divisor.

    Raises:
        DeployError: When the test pipeline has no ``Resize`` with a scale.
    """
    divisor = size_divisor_of(cfg)

    def find(transforms: list) -> Optional[tuple]:
        for t in transforms:
            if t.get('type', '').endswith('Resize') and 'scale' in t:
                return tuple(t['scale'])
            found = find(t.get('transforms', []))
            if found:
                return found
        return None

    scale = find(cfg.test_dataloader.dataset.pipeline)
    if scale is None:
        raise DeployError('the test pipeline has no Resize with a scale; '
                          'give the export size with --shape H W')
    w, h = scale
    return (math.ceil(h / divisor) * divisor, math.ceil(w / divisor) * divisor)


def check_frames(cfg: Config,
                 shape: Tuple[int, int],
                 source: Optional[str] = None,
                 num: int = NUM_CHECK_FRAMES) -> List[Tensor]:
    """Preprocessed frames to export and check on, (1, 3, H, W) each.

    Frames are resized to ``shape`` and normalised as the config's data
    preprocessor does (channel order, mean, std).

    Args:
        cfg (Config): The model's config.
        shape (tuple[int, int]): (H, W).
        source (str, optional): A folder of images; None renders a short
            synthetic video (people walking over a textured background).
        num (int): Number of frames. Defaults to 4.
    """
    h, w = shape
    with tempfile.TemporaryDirectory() as tmp:
        if source is None:
            from ..datasets.synthetic_mot import generate_synthetic_mot
            generate_synthetic_mot(tmp, num_seqs=1, num_frames=num,
                                   img_size=(w, h), progress=False)
            source = osp.join(tmp, 'train', 'SYN-01', 'img1')
        paths = sorted(p for p in glob.glob(osp.join(source, '*'))
                       if p.lower().endswith(IMAGE_EXTENSIONS))[:num]
        if not paths:
            raise DeployError(f'{source} holds no image '
                              f'({", ".join(IMAGE_EXTENSIONS)})')
        images = [mmcv.imresize(mmcv.imread(p), (w, h)) for p in paths]
    prep = cfg.model.get('data_preprocessor') or {}
    mean = torch.tensor(prep.get('mean', (0., 0., 0.))).view(1, 3, 1, 1)
    std = torch.tensor(prep.get('std', (1., 1., 1.))).view(1, 3, 1, 1)
    frames = []
    for img in images:
        if prep.get('bgr_to_rgb'):
            img = img[..., ::-1]
        chw = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float()
        frames.append((chw - mean) / std)
    return frames
