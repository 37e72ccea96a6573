"""What a weights-only checkpoint load may build beyond PyTorch's defaults.

PyTorch's weights-only unpickler builds tensors, plain containers and numbers
and calls nothing else unless it is allowlisted. MMEngine's checkpoints need a
few more globals (:func:`checkpoint_safe_globals`):

* numpy arrays, dtypes and scalars (the message hub's ``HistoryBuffer`` holds
  arrays; evaluation scores may be numpy scalars), of bool, integer, float
  and complex dtypes only (:data:`NUMPY_TYPECODES`);
* MMEngine's ``HistoryBuffer`` (data only: two arrays and a length);
* for checkpoints written before :mod:`mmdmw.compat` mend 7, a restricted
  ``builtins.getattr`` (:func:`history_buffer_getattr`) that resolves only
  ``HistoryBuffer.min`` / ``max`` / ``current`` / ``mean``.

numpy's dtype is checked where an array, dtype or scalar is made
(``numpy.dtype``, ``_reconstruct``, ``scalar`` stand-ins) and once more on the
loaded object (:func:`check_numpy_data`): ``numpy.ndarray`` and
``HistoryBuffer`` must be allowlisted (the unpickler only restores the state
of allowlisted types), which also lets a pickle call them with a dtype or
a list of strings of its choosing.
"""
from typing import Any, Callable, Iterator, List, Tuple, Union

import numpy as np
from mmengine.logging import HistoryBuffer

#: Methods that MMEngine < mend 7 pickled with each HistoryBuffer
#: (``HistoryBuffer.__getstate__`` stores ``_statistics_methods``).
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')
#: numpy dtypes whose arrays / scalars a checkpoint may hold: bool, integers,
#: floats and complex numbers (no object, string, void or datetime dtypes).
NUMPY_TYPECODES = '?' + np.typecodes['AllInteger'] + np.typecodes['AllFloat']
#: What the refused dtype kinds are, for messages.
NUMPY_KIND_NAMES = {'O': 'object', 'U': 'unicode string', 'S': 'byte string',
                    'V': 'void / structured', 'M': 'datetime',
                    'm': 'timedelta'}

SafeGlobal = Union[Callable, Tuple[Callable, str]]
NumpyData = Union[np.ndarray, np.generic, np.dtype]

_multiarray = np._core.multiarray if hasattr(np, '_core') else \
    np.core.multiarray


class UnsafeCheckpointError(RuntimeError):
    """The checkpoint needs a global that could run code when unpickled, or
    holds data a weights-only load does not allow."""


class RefusedDataError(UnsafeCheckpointError):
    """The checkpoint holds numpy data of a refused dtype."""


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


def check_numpy_dtype(dtype: Any) -> np.dtype:
    """Return ``dtype`` if a checkpoint may hold it.

    Raises:
        RefusedDataError: Object, string, void / structured, datetime
            dtypes, or something that is not a dtype.
    """
    if not isinstance(dtype, np.dtype):
        raise RefusedDataError(
            f'a numpy dtype made from {type(dtype).__name__}')
    if dtype.char not in NUMPY_TYPECODES or dtype.fields is not None:
        kind = NUMPY_KIND_NAMES.get(dtype.kind, dtype.kind)
        raise RefusedDataError(
            f'numpy data of dtype {dtype.str} ({kind}; only bool, integer, '
            'float and complex dtypes are allowed)')
    return dtype


def numpy_dtype(obj: Any, align: bool = False, copy: bool = False
                ) -> np.dtype:
    """``numpy.dtype`` for the unpickler: an allowed dtype, always a new
    object (pickles pass ``copy=True``; a shared one could be altered by a
    later BUILD)."""
    return check_numpy_dtype(np.dtype(obj, bool(align), True))


def numpy_reconstruct(subtype: type, shape: Any, dtype: Any) -> np.ndarray:
    """``numpy.core.multiarray._reconstruct`` for the unpickler: a plain
    ``ndarray`` of an allowed dtype."""
    if subtype is not np.ndarray:
        raise RefusedDataError(
            'a numpy array of subtype '
            f'{getattr(subtype, "__name__", type(subtype).__name__)}')
    check_numpy_dtype(np.dtype(dtype))
    return _multiarray._reconstruct(np.ndarray, shape, dtype)


def numpy_scalar(dtype: Any, *args: Any) -> np.generic:
    """``numpy.core.multiarray.scalar`` for the unpickler: a scalar of an
    allowed dtype."""
    return _multiarray.scalar(check_numpy_dtype(dtype), *args)


def numpy_data_in(obj: Any) -> Iterator[NumpyData]:
    """Every numpy array, scalar and dtype in a loaded checkpoint: in
    containers (keys too), and in the attributes of objects (tensors, an
    ``OrderedDict``'s ``_metadata``, ``HistoryBuffer``)."""
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (np.ndarray, np.generic, np.dtype)):
            yield item
            continue
        if isinstance(item, (str, bytes, bytearray, int, float, complex,
                             type(None), type)):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        stack.extend(getattr(item, '__dict__', {}).values())


def check_numpy_data(obj: Any) -> None:
    """Refuse a loaded checkpoint that holds numpy data of a dtype outside
    :data:`NUMPY_TYPECODES`, however the pickle made it.

    Raises:
        RefusedDataError: Naming the dtype.
    """
    for data in numpy_data_in(obj):
        check_numpy_dtype(data if isinstance(data, np.dtype) else data.dtype)


def checkpoint_safe_globals() -> List[SafeGlobal]:
    """The allowlist: what MMEngine's and mmdmw's checkpoints need beyond
    PyTorch's own defaults (tensors, ``OrderedDict``, ``Counter``, ...).

    Returns:
        list: Globals and ``(global, name in the pickle)`` pairs for
        :class:`torch.serialization.safe_globals`. numpy 1.x pickles under
        ``numpy.core``, numpy 2 under ``numpy._core``; both names resolve.
    """
    allowed: List[SafeGlobal] = [np.ndarray, HistoryBuffer,
                                 (numpy_dtype, 'numpy.dtype')]
    for core in ('numpy.core', 'numpy._core'):
        allowed += [(numpy_reconstruct, f'{core}.multiarray._reconstruct'),
                    (numpy_scalar, f'{core}.multiarray.scalar')]
    # the dtypes' own classes: the unpickler restores the state (BUILD) of
    # allowlisted types only
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
