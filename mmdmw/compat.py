"""Mends for upstream bugs of the OpenMMLab stack, all in one place.

Each mend names the upstream problem it works around, so that it can be
deleted the day upstream is fixed. :func:`apply_all` runs when ``mmdmw`` is
imported; :func:`adapt_cfg_for_cpu_distributed` is called by ``tools/train.py``
and ``tools/test.py`` on the loaded config.
"""
import functools
import logging
import os
import os.path as osp
from tempfile import TemporaryDirectory
from typing import Any, Callable, List, Set, Tuple

import cv2
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.hooks import checkpoint_hook as checkpoint_hook_module
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import checkpoint as checkpoint_module
from mmengine.runner.checkpoint import CheckpointLoader

from .utils.atomic_io import atomic_open, atomic_write_bytes
from .utils.safe_checkpoint import (UnsafeCheckpointError,
                                    checkpoint_trusted, load_checkpoint_bytes,
                                    load_checkpoint_file, load_url_safe,
                                    trusted_checkpoints)


# 1. torch >= 2.6 loads checkpoints with ``weights_only=True`` by default, and
#    MMEngine's checkpoints hold objects such as ``HistoryBuffer`` in their
#    message hub, so ``--resume`` fails with "Unsupported global".
#    Upstream: open-mmlab/mmengine#1655 (fix unmerged). Every MMEngine
#    checkpoint scheme is loaded by mmdmw's safe loader
#    (:mod:`mmdmw.utils.safe_checkpoint`):
#    ``weights_only=True`` with an allowlist of what MMEngine's checkpoints
#    need; full unpickling only for the one file named with
#    ``--trust-checkpoint``. In mmengine 0.10.7 the local, ``pavi://``,
#    ``s3://`` / ``petrel://`` loaders and ``open-mmlab://``'s local branch
#    call ``torch.load`` with torch's default: each is replaced; the
#    download schemes (``http(s)://``, ``torchvision://``, ``modelzoo://``,
#    ``mmcls://``, ``open-mmlab://`` URLs) go through ``load_url``, replaced
#    by :func:`~mmdmw.utils.safe_checkpoint.load_url_safe`. A scheme
#    registered by anyone else is refused (:func:`_only_safe_loaders`).
def load_from_local_safe(filename: str, map_location: Any = None) -> Any:
    """MMEngine's local checkpoint loader, safe unless trusted.

    Args:
        filename (str): Path of the checkpoint.
        map_location (Any): Passed to :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    return load_checkpoint_file(filename, map_location=map_location)


def load_from_pavi_safe(filename: str, map_location: Any = None) -> Any:
    """MMEngine's ``pavi://`` loader: download into a temporary folder, then
    the safe loader."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError(
            f'{filename}: pavi:// checkpoints are downloaded with the pavi '
            'package, which is not installed; install it, or download the '
            'file and give its local path') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp_dir:
        downloaded = osp.join(tmp_dir, model.name)
        model.download(downloaded)
        return load_checkpoint_file(downloaded, map_location, name=filename)


def load_from_ceph_safe(filename: str, map_location: Any = None,
                        backend: str = 'petrel') -> Any:
    """MMEngine's ``s3://`` / ``petrel://`` loader: the object's bytes,
    read by MMEngine's file backend, through the safe loader."""
    try:
        file_backend = get_file_backend(
            filename, backend_args={'backend': backend})
    except ImportError as err:  # PetrelBackend needs petrel_client
        raise ImportError(
            f'{filename}: s3:// and petrel:// checkpoints are read with '
            f'{backend} ({err}); install it, or download the file and give '
            'its local path') from None
    return load_checkpoint_bytes(file_backend.get(filename), filename,
                                 map_location)


def openmmlab_model_url(filename: str) -> str:
    """What an ``open-mmlab://NAME`` / ``openmmlab://NAME`` name stands
    for: a URL or a path under MMEngine's home (upstream's look-up, with
    its warning for renamed models)."""
    prefix = 'open-mmlab://' if filename.startswith('open-mmlab://') \
        else 'openmmlab://'
    model_name = filename[len(prefix):]
    renamed = checkpoint_module.get_deprecated_model_names()
    if model_name in renamed:
        print_log(f'{prefix}{model_name} is deprecated in favor of '
                  f'{prefix}{renamed[model_name]}', logger='current',
                  level=logging.WARNING)
        model_name = renamed[model_name]
    return checkpoint_module.get_external_models()[model_name]


def load_from_openmmlab_safe(filename: str, map_location: Any = None) -> Any:
    """MMEngine's ``open-mmlab://`` loader: URLs download as ``http(s)://``,
    local entries (``$MMENGINE_HOME/open_mmlab.json``) load safely."""
    model_url = openmmlab_model_url(filename)
    if model_url.startswith(('http://', 'https://')):
        return checkpoint_module.load_from_http(
            model_url, map_location=map_location)
    return load_checkpoint_file(
        osp.join(checkpoint_module._get_mmengine_home(), model_url),
        map_location, name=filename)


#: Loaders whose every ``torch.load`` is mmdmw's: the replacements, and
#: upstream's download loaders (their ``load_url`` is replaced).
SAFE_LOADERS = (load_from_local_safe, load_from_pavi_safe,
                load_from_ceph_safe, load_from_openmmlab_safe,
                checkpoint_module.load_from_http,
                checkpoint_module.load_from_torchvision,
                checkpoint_module.load_from_mmcls)


def _only_safe_loaders(load_checkpoint: Callable) -> Callable:
    """``CheckpointLoader.load_checkpoint`` that refuses a scheme mmdmw
    has not made safe, and loads a trusted name in full (a download or a
    ``pavi://`` copy included) and nothing else."""

    @functools.wraps(load_checkpoint)
    def load(cls: type, filename: str, map_location: Any = None,
             logger: str = 'current') -> Any:
        loader = cls._get_checkpoint_loader(filename)
        if loader not in SAFE_LOADERS:
            raise UnsafeCheckpointError(
                f'{filename} was not loaded: its scheme is read by '
                f'{loader.__module__}.{loader.__qualname__}, which may '
                'unpickle it in full; download the file and give its local '
                'path')
        if not checkpoint_trusted(filename):
            return load_checkpoint(cls, filename, map_location, logger)
        with trusted_checkpoints():  # this one load, by the user's choice
            return load_checkpoint(cls, filename, map_location, logger)

    return load


def _register_safe_checkpoint_loaders() -> None:
    for prefixes, loader in (
            ('', load_from_local_safe), ('pavi://', load_from_pavi_safe),
            ((r'(\S+\:)?s3://', r'(\S+\:)?petrel://'), load_from_ceph_safe),
            (('open-mmlab://', 'openmmlab://'), load_from_openmmlab_safe)):
        CheckpointLoader.register_scheme(prefixes, loader=loader, force=True)
    # http(s)://, torchvision://, open-mmlab://, mmcls:// all download with
    # ``load_url``, i.e. torch.hub's ``load_state_dict_from_url``, whose
    # ``weights_only`` defaults to False: a downloaded file could run code.
    checkpoint_module.load_url = load_url_safe
    load = CheckpointLoader.__dict__['load_checkpoint'].__func__
    if not hasattr(load, '__wrapped__'):
        CheckpointLoader.load_checkpoint = classmethod(
            _only_safe_loaders(load))


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


# 3. MMEngine writes a checkpoint straight to its final path
#    (``LocalBackend.put``: ``open(path, 'wb').write(...)``), then the
#    ``last_checkpoint`` pointer with a plain ``open(..., 'w')``
#    (``CheckpointHook._save_checkpoint_with_step``). A kill or a full disk
#    during either write leaves a truncated checkpoint, or a pointer naming
#    nothing, and ``--resume`` fails. Upstream: mmengine 0.10.x
#    fileio/backends/local_backend.py and hooks/checkpoint_hook.py. Both
#    writes go to a temporary file, are synced, then renamed over the target.
def _atomic_local_put(self: LocalBackend, obj: bytes, filepath: Any) -> None:
    """``LocalBackend.put`` that never leaves a half-written file."""
    atomic_write_bytes(obj, str(filepath))


def _open_writes_atomically(file: Any, mode: str = 'r', *args, **kwargs):
    """``open`` for ``checkpoint_hook.py``, whose one ``open`` call writes
    the ``last_checkpoint`` pointer."""
    if mode.startswith('w') and '+' not in mode:
        return atomic_open(file, mode, *args, **kwargs)
    return open(file, mode, *args, **kwargs)


def _patch_atomic_checkpoint_writes() -> None:
    LocalBackend.put = _atomic_local_put
    # A module global shadows the builtin inside checkpoint_hook.py only.
    checkpoint_hook_module.open = _open_writes_atomically


# 4. CheckpointHook deletes the oldest checkpoint (``max_keep_ckpts``) and
#    the previous best one *before* writing the new one, so a crash during
#    that write can leave no checkpoint at all (e.g. ``max_keep_ckpts=1``).
#    Upstream: ``CheckpointHook._save_checkpoint_with_step`` and
#    ``_save_best_checkpoint`` (mmengine 0.10.x). The deletions are put off
#    until the new checkpoint and the pointer to it are written.
class _DeferredRemovals:
    """Stands in for a hook's file backend; ``remove`` / ``rmtree`` wait for
    :meth:`commit`, everything else goes to the real backend."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.pending: List[Tuple[Callable[[str], None], str]] = []

    def remove(self, filepath: str) -> None:
        self.pending.append((self.backend.remove, filepath))

    def rmtree(self, dir_path: str) -> None:
        self.pending.append((self.backend.rmtree, dir_path))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def commit(self, keep: Set[str]) -> None:
        """Do the removals, except of paths in ``keep``."""
        for remove, path in self.pending:
            if path not in keep:
                remove(path)


def _current_checkpoints(hook: CheckpointHook) -> Set[str]:
    """The paths the hook's state still points at: latest and best."""
    paths = {getattr(hook, 'last_ckpt', None),
             getattr(hook, 'best_ckpt_path', None)}
    paths.update(getattr(hook, 'best_ckpt_path_dict', {}).values())
    return {str(p) for p in paths if p}


def _remove_old_checkpoints_last(method: Callable) -> Callable:

    @functools.wraps(method)
    def save(hook: CheckpointHook, *args, **kwargs) -> Any:
        if isinstance(hook.file_backend, _DeferredRemovals):  # nested call
            return method(hook, *args, **kwargs)
        deferred = _DeferredRemovals(hook.file_backend)
        hook.file_backend = deferred
        try:
            result = method(hook, *args, **kwargs)
        finally:
            hook.file_backend = deferred.backend
        deferred.commit(keep=_current_checkpoints(hook))
        return result

    return save


def _patch_checkpoint_removal_order() -> None:
    for name in ('_save_checkpoint_with_step', '_save_best_checkpoint'):
        method = getattr(CheckpointHook, name)
        if not hasattr(method, '__wrapped__'):
            setattr(CheckpointHook, name, _remove_old_checkpoints_last(method))


# 5. mmcv's ``LoadImageFromFile`` stops on an undecodable frame with a bare
#    ``AssertionError: failed to load image: PATH`` deep in a DataLoader
#    worker, with no hint of what to do. Upstream: mmcv 2.1.0
#    transforms/loading.py. The error says what is wrong and how to find
#    every bad frame at once.
def _clear_image_errors(transform: Callable) -> Callable:

    @functools.wraps(transform)
    def load(self: Any, results: dict) -> Any:
        path = results.get('img_path')
        try:
            return transform(self, results)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f'{path}: frame listed in the annotation file is missing; '
                'restore it, or re-run tools/dataset_converters/mot2coco.py '
                'on the data as it is now') from err
        except (AssertionError, cv2.error) as err:
            # imported here: mmdmw.datasets imports mmdet, compat comes first
            from .datasets.mot_files import CorruptImageError
            raise CorruptImageError(
                f'{path} cannot be decoded as an image (corrupt, truncated '
                'or not an image); replace it (a copy of the previous frame '
                'will do). To list every bad frame run '
                'tools/dataset_converters/mot2coco.py with --check-images.'
            ) from err

    return load


def _patch_image_loading_errors() -> None:
    from mmcv.transforms import LoadImageFromFile
    if not hasattr(LoadImageFromFile.transform, '__wrapped__'):
        LoadImageFromFile.transform = _clear_image_errors(
            LoadImageFromFile.transform)


# 6. mmdet's ``TrackLocalVisualizer`` colours boxes by ``instances_id``,
#    the key of predictions, but ground truth names it ``instances_ids``
#    (``PackTrackInputs``), so ``tools/test.py --show-dir`` (which draws
#    ground truth beside the predictions) stops with an AttributeError.
#    Upstream: mmdet 3.3.0 visualization/local_visualizer.py
#    ``TrackLocalVisualizer._draw_instances``.
def _draw_gt_ids_too(draw: Callable) -> Callable:

    @functools.wraps(draw)
    def draw_instances(self: Any, image: Any, instances: Any) -> Any:
        if 'instances_id' not in instances and 'instances_ids' in instances:
            instances = instances.clone()
            instances.instances_id = instances.instances_ids
        return draw(self, image, instances)

    return draw_instances


def _patch_track_visualizer() -> None:
    from mmdet.visualization import TrackLocalVisualizer
    if not hasattr(TrackLocalVisualizer._draw_instances, '__wrapped__'):
        TrackLocalVisualizer._draw_instances = _draw_gt_ids_too(
            TrackLocalVisualizer._draw_instances)


# 7. ``HistoryBuffer.__getstate__`` pickles the class-wide table of
#    statistics methods with every buffer; protocol 2 writes each method as
#    ``builtins.getattr(HistoryBuffer, 'mean')``, so every Runner checkpoint
#    needs ``getattr``, which a safe load must not allow (it reaches any
#    attribute of anything). And ``HistoryBuffer.__setstate__`` copies the
#    pickled table into the class-wide one: a checkpoint could replace
#    ``mean`` / ``current`` for every buffer of the process. Upstream:
#    mmengine 0.10.x logging/history_buffer.py. A buffer is saved as its
#    data only (arrays and length); loading drops any pickled table, then
#    re-registers the default methods; older checkpoints still load
#    (:func:`~mmdmw.utils.checkpoint_allowlist.history_buffer_getattr`).
#    Custom methods are registered at import.
#: State keys that are code, not data: upstream's pickled table, and an
#: instance attribute that would shadow the class-wide table.
HISTORY_BUFFER_CODE_KEYS = ('statistics_methods', '_statistics_methods')


def _history_buffer_data(self: HistoryBuffer) -> dict:
    """``HistoryBuffer.__getstate__`` without the statistics methods."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def _history_buffer_restore(setstate: Callable) -> Callable:

    @functools.wraps(setstate)
    def restore(self: HistoryBuffer, state: dict) -> None:
        if isinstance(state, dict):
            state = {key: value for key, value in state.items()
                     if key not in HISTORY_BUFFER_CODE_KEYS}
        setstate(self, state)
        self._set_default_statistics()

    return restore


def _patch_history_buffer_pickling() -> None:
    if not hasattr(HistoryBuffer.__setstate__, '__wrapped__'):
        HistoryBuffer.__getstate__ = _history_buffer_data
        HistoryBuffer.__setstate__ = _history_buffer_restore(
            HistoryBuffer.__setstate__)


def apply_all() -> None:
    """Apply every import-time mend. Safe to call more than once."""
    _register_safe_checkpoint_loaders()
    _patch_history_buffer_pickling()
    _patch_cpu_distributed_launch()
    _patch_atomic_checkpoint_writes()
    _patch_checkpoint_removal_order()
    _patch_image_loading_errors()
    _patch_track_visualizer()


apply_all()
