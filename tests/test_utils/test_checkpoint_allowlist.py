"""What a safely loaded checkpoint may hold (mmdmw.utils.checkpoint_allowlist)
and what it may not do to the process (mmdmw.compat mend 7)."""
import copyreg
from typing import Any, Callable, Dict, Iterator

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmdmw.utils.safe_checkpoint import (UnsafeCheckpointError,
                                         load_checkpoint_file,
                                         trusted_checkpoints)

_multiarray = np._core.multiarray if hasattr(np, '_core') else \
    np.core.multiarray

#: The refused dtypes: name -> (dtype spec, what the message calls it).
REFUSED = {
    'object': ('O', 'object'),
    'unicode': ('<U3', 'unicode string'),
    'bytes': ('S3', 'byte string'),
    'structured': ([('a', '<f8'), ('b', '<i4')], 'void / structured'),
}


class Reduces:
    """Pickles as ``func(*args)`` (REDUCE): how a crafted file calls an
    allowlisted global with arguments of its choosing."""

    def __init__(self, func: Callable, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


class NewNdarray:
    """Pickles as ``ndarray.__new__(ndarray, *args)`` (NEWOBJ)."""

    def __init__(self, *args: Any) -> None:
        self.args = args

    @property
    def __class__(self):  # pickle insists that NEWOBJ's class is the object's
        return np.ndarray

    def __reduce__(self):
        return (copyreg.__newobj__, (np.ndarray, *self.args))


def pickled_array(spec: Any) -> Any:
    """numpy's own pickling: ``numpy.dtype(...)`` then BUILD."""
    values = {'O': [1, None], '<U3': ['abc'], 'S3': [b'abc'], '<f8': [1.5]}
    return np.array(values.get(str(spec), [(1.0, 2)]), dtype=spec)


def pickled_scalar(spec: Any) -> Any:
    """numpy's scalar pickling: ``multiarray.scalar(dtype, bytes)``."""
    if spec == 'O':
        pytest.skip('numpy has no object scalars')
    return pickled_array(spec)[0]


def history_buffer_of(spec: Any) -> Any:
    """``HistoryBuffer(log_history, ...)`` builds its arrays with
    ``np.array`` from whatever list the pickle gives."""
    values = {'O': [None], '<U3': ['abc'], 'S3': [b'abc']}
    if str(spec) not in values:
        pytest.skip('np.array of a list makes no structured array')
    return Reduces(HistoryBuffer, values[str(spec)], [1])


#: How a pickle can make numpy data of a given dtype.
PATHS: Dict[str, Callable[[Any], Any]] = {
    'numpy.dtype': pickled_array,
    'multiarray.scalar': pickled_scalar,
    'ndarray(shape, dtype)': lambda spec: Reduces(np.ndarray, (2,), spec),
    'ndarray.__new__': lambda spec: NewNdarray((2,), spec),
    '_reconstruct(typecode)': lambda spec: Reduces(
        _multiarray._reconstruct, np.ndarray, (0,), spec),
    'HistoryBuffer(list)': history_buffer_of,
}


@pytest.mark.parametrize('path', PATHS)
@pytest.mark.parametrize('dtype', REFUSED)
def test_refused_numpy_dtype_on_every_path(dtype, path, tmp_path):
    spec, kind = REFUSED[dtype]
    file = str(tmp_path / 'numpy.pth')
    torch.save(dict(state_dict={'w': torch.ones(1)},
                    meta=dict(x=PATHS[path](spec))), file)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(file)
    message = str(err.value)
    assert '\n' not in message
    assert 'numpy data of dtype' in message and f'({kind};' in message
    assert file in message and '--trust-checkpoint' in message


@pytest.mark.parametrize('path', PATHS)
def test_allowed_numpy_dtype_on_every_path_loads(path, tmp_path):
    """The same paths with float64 load: refusals above are the dtype's."""
    file = str(tmp_path / 'numpy.pth')
    made = PATHS[path]('<f8') if path != 'HistoryBuffer(list)' else \
        Reduces(HistoryBuffer, [1.5], [1])
    torch.save(dict(x=made), file)
    loaded = load_checkpoint_file(file)['x']
    data = loaded._log_history if path == 'HistoryBuffer(list)' else loaded
    assert np.asarray(data).dtype == np.float64


def test_refused_dtype_inside_a_tensor_attribute_is_found(tmp_path):
    """PyTorch restores a tensor's ``__dict__``: the check looks there too."""
    tensor = torch.ones(2)
    tensor.note = np.array(['abc'])
    file = str(tmp_path / 'tensor_attr.pth')
    torch.save(dict(w=tensor), file)
    with pytest.raises(UnsafeCheckpointError, match=r'\(unicode string;'):
        load_checkpoint_file(file)


@pytest.fixture
def statistics_table() -> Iterator[dict]:
    """HistoryBuffer's class-wide table before the test, restored after it
    whatever the test did."""
    before = dict(HistoryBuffer._statistics_methods)
    yield before
    HistoryBuffer._statistics_methods.clear()
    HistoryBuffer._statistics_methods.update(before)


def swapping_state(self: HistoryBuffer) -> dict:
    """Upstream's ``__getstate__`` format, with a table that swaps ``mean``
    for ``max`` and ``current`` for ``min`` (all four are methods a safe
    load resolves), and an instance table shadowing the class one."""
    state = dict(self.__dict__)
    state['statistics_methods'] = {'mean': HistoryBuffer.max,
                                   'current': HistoryBuffer.min}
    state['_statistics_methods'] = {'mean': HistoryBuffer.max}
    return state


@pytest.mark.parametrize('trusted', [False, True])
def test_checkpoint_cannot_replace_history_buffer_statistics(
        trusted, statistics_table, monkeypatch, tmp_path):
    monkeypatch.setattr(HistoryBuffer, '__getstate__', swapping_state)
    file = str(tmp_path / 'swap.pth')
    torch.save(dict(loss=HistoryBuffer([1.0, 3.0], [1, 1])), file)
    monkeypatch.undo()
    with trusted_checkpoints(*([file] if trusted else [])):
        loaded = load_checkpoint_file(file)['loss']
    assert HistoryBuffer._statistics_methods == statistics_table
    assert '_statistics_methods' not in vars(loaded)
    # [1, 3]: mean 2 (max would say 3), current 3 (min would say 1)
    assert loaded.mean() == 2.0 and loaded.statistics('mean') == 2.0
    assert loaded.statistics('current') == 3.0
    other = HistoryBuffer([1.0, 3.0], [1, 1])
    assert other.statistics('mean') == 2.0
    assert other.statistics('current') == 3.0
