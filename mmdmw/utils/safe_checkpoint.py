"""Load checkpoints without letting them run code.

A ``.pth`` file is a pickle: unpickled in full (``weights_only=False``) it can
call any Python function, e.g. write files or start a shell, the moment it
is loaded. Every checkpoint load of mmdmw (``tools/test.py``,
``tools/train.py --resume`` / ``load_from``, the demo, ``init_cfg``
``Pretrained`` backbones, the converters, and every MMEngine URL scheme, see
:mod:`mmdmw.compat` mend 1) goes through :func:`load_checkpoint_file` or
:func:`load_checkpoint_bytes`, which unpickle with ``weights_only=True``:
tensors, plain containers and numbers, plus exactly the globals that
MMEngine's and mmdmw's checkpoints need
(:mod:`mmdmw.utils.checkpoint_allowlist`); numpy data of bool, integer, float
and complex dtypes only.

A file that needs any other global is refused with one line naming it
(:class:`UnsafeCheckpointError`). Who trusts a file's source can load that
file in full with ``--trust-checkpoint`` (tools: the checkpoint the command
names) or :func:`trust_checkpoint` (Python: one path or URL); never the
default, never for other files.
"""
import io
import os
import os.path as osp
import pickle
import re
from contextlib import contextmanager
from typing import IO, Any, Iterator, Optional, Set, Union
from urllib.parse import urlparse

import torch
from mmengine.utils import digit_version

from .checkpoint_allowlist import (HISTORY_BUFFER_METHODS,  # noqa: F401
                                   NUMPY_TYPECODES, RefusedDataError,
                                   UnsafeCheckpointError,
                                   check_numpy_data, checkpoint_safe_globals,
                                   checkpoint_safe_global_names,
                                   history_buffer_getattr)

#: How a refused checkpoint can be loaded anyway, in every message.
TRUST_HINT = ('if you trust its source, load it with --trust-checkpoint '
              '(Python: mmdmw.utils.trust_checkpoint(PATH))')
#: The first PyTorch whose ``torch.load(weights_only=True)`` takes allowlist
#: entries as ``(global, name)`` pairs (``torch.serialization.safe_globals``)
#: and whose weights-only default is on.
MIN_TORCH = '2.6.0'

#: Checkpoints the user trusts: resolved local paths, URLs as given.
_trusted: Set[str] = set()
#: Inside :func:`trusted_checkpoints` without names: every load.
_trust_all = False


def check_torch_allowlists(version: str = torch.__version__,
                           serialization: Any = torch.serialization) -> None:
    """Refuse a PyTorch that cannot load weights-only with allowlists.

    Raises:
        ImportError: One line naming the minimum version.
    """
    missing = [name for name in ('safe_globals',
                                 'get_unsafe_globals_in_checkpoint')
               if not hasattr(serialization, name)]
    if missing or digit_version(version) < digit_version(MIN_TORCH):
        raise ImportError(
            f'mmdmw needs torch >= {MIN_TORCH} to load checkpoints safely '
            '(weights_only loading with allowlists, torch.serialization.'
            f'safe_globals); found torch {version}: pip install '
            f'"torch>={MIN_TORCH}"')


check_torch_allowlists()


def checkpoint_key(name: str) -> str:
    """How a checkpoint is known to the trust set: a local path resolved
    (``~``, ``..``, links), a URL or ``scheme://`` name as given."""
    if re.match(r'^[\w.+-]+:(\S+:)?//', name):
        return name
    return osp.realpath(osp.expanduser(name))


def trust_checkpoint(name: str) -> None:
    """Load this one checkpoint (path or URL) in full from now on.

    What ``--trust-checkpoint`` does for the checkpoint a tool names. Only
    for a file whose source you trust: unpickling may run any code it holds.
    Other files, and ``init_cfg`` ``Pretrained`` weights, stay checked.
    """
    _trusted.add(checkpoint_key(name))


def untrust_checkpoints() -> None:
    """Forget every :func:`trust_checkpoint`."""
    _trusted.clear()


def checkpoint_trusted(name: str) -> bool:
    """Whether ``name`` is loaded in full."""
    return _trust_all or checkpoint_key(name) in _trusted


@contextmanager
def trusted_checkpoints(*names: str) -> Iterator[None]:
    """Trust ``names`` for the ``with`` block; with no names, every
    checkpoint loaded inside the block (Python callers only)."""
    global _trust_all
    before, before_all = set(_trusted), _trust_all
    for name in names:
        trust_checkpoint(name)
    _trust_all = _trust_all or not names
    try:
        yield
    finally:
        _trusted.clear()
        _trusted.update(before)
        _trust_all = before_all


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         trust: bool = False,
                         name: Optional[str] = None) -> Any:
    """``torch.load`` a local file, safely unless trusted.

    Args:
        filename (str): The ``.pth`` file.
        map_location (Any): Passed to :func:`torch.load`.
        trust (bool): Full unpickling (``weights_only=False``) for this
            file; also on after :func:`trust_checkpoint` of this path.
            Defaults to False.
        name (str, optional): What the user called the file (a URL that
            was downloaded to ``filename``), for messages and trust.
            Defaults to ``filename``.

    Returns:
        Any: The loaded object, usually a dict.

    Raises:
        FileNotFoundError: No such file.
        UnsafeCheckpointError: The file needs a global outside the
            allowlist, or holds numpy data of a refused dtype; the message
            names it and says how to load anyway.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint {filename} not found; check the path, drop '
            '--resume / load_from to start from scratch, or make a '
            'converted backbone first (see tools/model_converters/)')
    trust = trust or checkpoint_trusted(filename) or (
        name is not None and checkpoint_trusted(name))
    return _load(filename, name or filename, map_location, trust)


def load_checkpoint_bytes(data: bytes, name: str,
                          map_location: Any = None) -> Any:
    """:func:`load_checkpoint_file` for a checkpoint read into memory
    (object stores such as ``s3://``).

    Args:
        data (bytes): The ``.pth`` file's bytes.
        name (str): Where they came from, for messages and trust.
        map_location (Any): Passed to :func:`torch.load`.
    """
    return _load(io.BytesIO(data), name, map_location,
                 checkpoint_trusted(name))


def _load(source: Union[str, IO[bytes]], name: str, map_location: Any,
          trust: bool) -> Any:
    """Unpickle ``source`` in full if trusted, else weights-only with the
    allowlist, then check its numpy data."""
    if trust:
        return torch.load(  # trusted by the user's explicit choice
            source, map_location=map_location, weights_only=False)
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        try:
            checkpoint = torch.load(source, map_location=map_location,
                                    weights_only=True)
            check_numpy_data(checkpoint)
            return checkpoint
        except RefusedDataError as err:  # numpy data of a refused dtype
            raise UnsafeCheckpointError(
                f'{name} was not loaded: it holds {err}, which mmdmw\'s '
                f'weights-only load refuses; {TRUST_HINT}') from None
        except UnsafeCheckpointError as err:  # from history_buffer_getattr
            raise UnsafeCheckpointError(refusal(name, str(err))) from None
        except pickle.UnpicklingError as err:
            raise UnsafeCheckpointError(
                refusal(name, offending_global(source, err))) from None


def load_url_safe(url: str,
                  model_dir: Optional[str] = None,
                  map_location: Any = None,
                  progress: bool = True,
                  **kwargs) -> Any:
    """Download a checkpoint (once, into torch.hub's cache) and load it with
    :func:`load_checkpoint_file`.

    Stands in for ``torch.hub.load_state_dict_from_url``, which MMEngine's
    ``http(s)://``, ``torchvision://``, ``open-mmlab://``, ``mmcls://``
    loaders call and which unpickles in full by default.

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
        write_source(cached, url)
    # Trust given to the URL covers the cached file only when it was
    # downloaded from that URL: the cache is keyed by file name, so a file
    # put there by hand or fetched from another URL of the same name is
    # judged as a local file (trusted only if its own path is).
    name = url if cached_source(cached) == url else cached
    return load_checkpoint_file(cached, map_location=map_location, name=name)


def source_record(cached: str) -> str:
    """The file beside a downloaded checkpoint naming the URL it came
    from."""
    return cached + '.source'


def write_source(cached: str, url: str) -> None:
    """Record that ``cached`` was downloaded from ``url``."""
    with open(source_record(cached), 'w') as f:
        f.write(url)


def cached_source(cached: str) -> Optional[str]:
    """The URL ``cached`` was downloaded from, or None when unknown."""
    try:
        with open(source_record(cached)) as f:
            return f.read()
    except OSError:
        return None


def refusal(name: str, what: str) -> str:
    """The one-line message of a checkpoint refused for a global."""
    return (f'{name} was not loaded: unpickling it needs {what}, which '
            f'could run code on this machine; {TRUST_HINT}')


def offending_global(source: Union[str, IO[bytes]], err: Exception) -> str:
    """Name the globals that made a safe load fail.

    Read statically from the pickle (nothing is run); when that is not
    possible (a legacy, non-zip file), taken from PyTorch's message.
    """
    try:
        if not isinstance(source, str):
            source.seek(0)
        names = sorted(
            torch.serialization.get_unsafe_globals_in_checkpoint(source))
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
