"""Mends for upstream bugs of the OpenMMLab stack, all in one place.

Each mend names the upstream problem it works around, so that it can be
deleted the day upstream is fixed. :func:`apply_all` runs when ``mmdmw`` is
imported; :func:`adapt_cfg_for_cpu_distributed` is called by ``tools/train.py``
and ``tools/test.py`` on the loaded config.
"""
import os
import os.path as osp
from typing import Any, Callable

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader


# 1. torch >= 2.6 loads checkpoints with ``weights_only=True`` by default, and
#    MMEngine's checkpoints hold objects such as ``HistoryBuffer`` in their
#    message hub, so ``--resume`` fails with "Unsupported global".
#    Upstream: open-mmlab/mmengine#1655 (fix unmerged). A local checkpoint is
#    a file the user chose, so it is loaded as MMEngine always did.
def load_trusted_local_checkpoint(filename: str, map_location: Any = None):
    """Load a local checkpoint file the user chose (``weights_only=False``).

    Args:
        filename (str): Path of the checkpoint.
        map_location (Any): Passed to :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint {filename} not found; check the path, drop '
            '--resume / load_from to start from scratch, or make a '
            'converted backbone first (see tools/model_converters/)')
    return torch.load(filename, map_location=map_location, weights_only=False)


def _register_trusted_local_loader() -> None:
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_trusted_local_checkpoint, force=True)


# 2. MMEngine's pytorch launcher calls ``torch.cuda.set_device`` even when
#    PyTorch has no CUDA (a CPU-only build, or a machine without GPUs), so
#    ``torchrun ... --launcher pytorch`` crashes before training starts.
#    Upstream: mmengine/dist/utils.py ``_init_dist_pytorch`` (0.10.x).
#    Without CUDA, the process group is set up on ``gloo`` with no device.
def _cpu_aware_init_dist_pytorch(original: Callable) -> Callable:

    def init_dist_pytorch(backend: str, init_backend: str = 'torch',
                          **kwargs) -> None:
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        torch_dist.init_process_group(backend='gloo', **kwargs)

    init_dist_pytorch.__wrapped__ = original
    return init_dist_pytorch


def _patch_cpu_distributed_launch() -> None:
    from mmengine.dist import utils as dist_utils
    if not hasattr(dist_utils._init_dist_pytorch, '__wrapped__'):
        dist_utils._init_dist_pytorch = _cpu_aware_init_dist_pytorch(
            dist_utils._init_dist_pytorch)


def adapt_cfg_for_cpu_distributed(cfg: Config) -> Config:
    """Make a config's distributed settings work when CUDA is absent.

    MMEngine wraps the model in DDP with ``device_ids=[LOCAL_RANK]`` and
    defaults to the ``nccl`` backend; both need GPUs. Without CUDA this
    switches to ``gloo`` and a device-less DDP wrapper. With CUDA the config
    is returned untouched.

    Args:
        cfg (Config): The loaded config; modified in place.

    Returns:
        Config: The same config.
    """
    if torch.cuda.is_available() or 'LOCAL_RANK' not in os.environ:
        return cfg
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return cfg


def apply_all() -> None:
    """Apply every import-time mend. Safe to call more than once."""
    _register_trusted_local_loader()
    _patch_cpu_distributed_launch()


apply_all()
