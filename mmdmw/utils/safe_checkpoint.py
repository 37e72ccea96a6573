"""Load checkpoints without letting them run code.

A ``.pth`` file is a pickle: unpickled in full (``weights_only=False``) it can
call any Python function, e.g. write files or start a shell, the moment it
is loaded. Every checkpoint load of mmdmw (``tools/test.py``,
``tools/train.py --resume`` / ``load_from``, the demo, ``init_cfg``
``Pretrained`` backbones, the converters) goes through
:func:`load_checkpoint_file`, which unpickles with ``weights_only=True``:
tensors, plain containers and numbers, plus exactly the globals that
MMEngine's and mmdmw's checkpoints need (:func:`checkpoint_safe_globals`):

* numpy array, dtype and scalar reconstruction (the message hub's
  ``HistoryBuffer`` holds arrays; evaluation scores may be numpy scalars);
* MMEngine's ``HistoryBuffer`` (data only: two arrays and a length);
* for checkpoints written before :mod:`mmdmw.compat` mend 7, a restricted
  ``builtins.getattr`` (:func:`history_buffer_getattr`) that resolves only
  ``HistoryBuffer.min`` / ``max`` / ``current`` / ``mean``; raw ``getattr``
  is never allowed.

A file that needs any other global is refused with one line naming it
(:class:`UnsafeCheckpointError`). Who trusts the file's source can load it
anyway with ``--trust-checkpoint`` (tools) or :func:`trust_checkpoints`
(Python); that is never the default.
"""
import os
import os.path as osp
import pickle
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

#: How a refused checkpoint can be loaded anyway, in every message.
TRUST_HINT = ('if you trust its source, load it with --trust-checkpoint '
              '(Python: mmdmw.utils.trust_checkpoints())')
#: Methods that MMEngine < mend 7 pickled with each HistoryBuffer
#: (``HistoryBuffer.__getstate__`` stores ``_statistics_methods``).
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')
#: numpy dtypes whose arrays / scalars a checkpoint may hold: bool, integers,
#: floats and complex numbers (no object, string or void dtypes).
NUMPY_TYPECODES = '?' + np.typecodes['AllInteger'] + np.typecodes['AllFloat']

SafeGlobal = Union[Callable, Tuple[Callable, str]]

_trusted = False


class UnsafeCheckpointError(RuntimeError):
    """The checkpoint needs a global that could run code when unpickled."""


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``builtins.getattr`` as old checkpoints use it, and no more.

    Pickle protocol 2 saves a method such as ``HistoryBuffer.mean`` as
    ``getattr(HistoryBuffer, 'mean')``. Only those four look-ups are
    resolved; raw ``getattr`` would reach any attribute of any allowed
    object (e.g. a module's ``system``).

    Raises:
        UnsafeCheckpointError: For any other object or name.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'builtins.getattr({getattr(obj, "__name__", type(obj).__name__)}, '
        f'{name!r})')


def checkpoint_safe_globals() -> List[SafeGlobal]:
    """The allowlist: what MMEngine's and mmdmw's checkpoints need beyond
    PyTorch's own defaults (tensors, ``OrderedDict``, ``Counter``, ...).

    Returns:
        list: Globals and ``(global, name in the pickle)`` pairs for
        :class:`torch.serialization.safe_globals`. numpy 1.x pickles under
        ``numpy.core``, numpy 2 under ``numpy._core``; both names resolve.
    """
    multiarray = np._core.multiarray if hasattr(np, '_core') else \
        np.core.multiarray
    allowed: List[SafeGlobal] = [np.ndarray, np.dtype, HistoryBuffer]
    for core in ('numpy.core', 'numpy._core'):
        allowed += [(multiarray._reconstruct,
                     f'{core}.multiarray._reconstruct'),
                    (multiarray.scalar, f'{core}.multiarray.scalar')]
    allowed += sorted({type(np.dtype(code))
                       for code in NUMPY_TYPECODES}, key=str)
    for module in ('builtins', '__builtin__'):
        allowed.append((history_buffer_getattr, f'{module}.getattr'))
    return allowed


def checkpoint_safe_global_names() -> List[str]:
    """Full names (``module.qualname``) of :func:`checkpoint_safe_globals`."""
    return sorted(
        g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
        for g in checkpoint_safe_globals())


def trust_checkpoints(trusted: bool = True) -> None:
    """Load every later checkpoint of this process with full unpickling.

    What ``--trust-checkpoint`` does. Only for files whose source you trust:
    unpickling may run any code the file holds.
    """
    global _trusted
    _trusted = trusted


def checkpoints_trusted() -> bool:
    """Whether :func:`trust_checkpoints` is on."""
    return _trusted


@contextmanager
def trusted_checkpoints() -> Iterator[None]:
    """:func:`trust_checkpoints` for the ``with`` block only."""
    before = _trusted
    trust_checkpoints(True)
    try:
        yield
    finally:
        trust_checkpoints(before)


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         trust: bool = False) -> Any:
    """``torch.load`` a local file, safely unless trusted.

    Args:
        filename (str): The ``.pth`` file.
        map_location (Any): Passed to :func:`torch.load`.
        trust (bool): Full unpickling (``weights_only=False``) for this
            file; also on after :func:`trust_checkpoints`. Defaults to
            False.

    Returns:
        Any: The loaded object, usually a dict.

    Raises:
        FileNotFoundError: No such file.
        UnsafeCheckpointError: The file needs a global outside the
            allowlist; the message names it and says how to load anyway.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint {filename} not found; check the path, drop '
            '--resume / load_from to start from scratch, or make a '
            'converted backbone first (see tools/model_converters/)')
    if trust or _trusted:
        return torch.load(  # trusted by the user's explicit choice
            filename, map_location=map_location, weights_only=False)
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        try:
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
        except UnsafeCheckpointError as err:  # from history_buffer_getattr
            raise UnsafeCheckpointError(refusal(filename, str(err))) from None
        except pickle.UnpicklingError as err:
            raise UnsafeCheckpointError(
                refusal(filename, offending_global(filename, err))) from None


def load_url_safe(url: str,
                  model_dir: Optional[str] = None,
                  map_location: Any = None,
                  progress: bool = True,
                  **kwargs) -> Any:
    """Download a checkpoint (once, into torch.hub's cache) and load it with
    :func:`load_checkpoint_file`.

    Stands in for ``torch.hub.load_state_dict_from_url``, which MMEngine's
    ``http(s)://``, ``torchvision://``, ``open-mmlab://`` loaders call and
    which unpickles in full by default.

    Args:
        url (str): Where the checkpoint lies.
        model_dir (str, optional): Download folder. Defaults to
            ``$TORCH_HOME/hub/checkpoints``.
        map_location (Any): Passed to :func:`torch.load`.
        progress (bool): Show a download progress bar.
        **kwargs: Other ``load_state_dict_from_url`` arguments, ignored.
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(urlparse(url).path))
    if not osp.exists(cached):
        torch.hub.download_url_to_file(url, cached, progress=progress)
    return load_checkpoint_file(cached, map_location=map_location)


def refusal(filename: str, what: str) -> str:
    """The one-line message of a refused checkpoint."""
    return (f'{filename} was not loaded: unpickling it needs {what}, which '
            f'could run code on this machine; {TRUST_HINT}')


def offending_global(filename: str, err: Exception) -> str:
    """Name the globals that made a safe load fail.

    Read statically from the pickle (nothing is run); when that is not
    possible (a legacy, non-zip file), taken from PyTorch's message.
    """
    try:
        names = sorted(
            torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    except Exception:  # legacy format or an opcode the scanner lacks
        names = []
    if names:
        return 'the global' + ('s ' if len(names) > 1 else ' ') + \
            ', '.join(names)
    found = re.search(r'GLOBAL ([\w.]+)', str(err))
    if found:
        return f'the global {found.group(1)}'
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f'more than weights ({lines[-1] if lines else type(err).__name__})'
