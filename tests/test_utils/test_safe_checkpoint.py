"""Checkpoints load without running code unless trusted
(mmdmw.utils.safe_checkpoint, compat mends 1 and 7)."""
import os.path as osp
from collections import Counter, OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import checkpoint as checkpoint_module
from mmengine.runner.checkpoint import CheckpointLoader

from mmdmw.utils.safe_checkpoint import (UnsafeCheckpointError,
                                         checkpoint_safe_global_names,
                                         load_checkpoint_file,
                                         trusted_checkpoints)


class CreatesFile:
    """Unpickled, it creates ``path`` (as any ``open(path, 'w')`` would);
    a checkpoint holding it could as well run a shell."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


def crafted_checkpoint(tmp_path, name: str = 'crafted.pth') -> tuple:
    """A checkpoint with real weights and one booby-trapped entry."""
    marker = str(tmp_path / 'created_by_unpickling')
    path = str(tmp_path / name)
    torch.save(dict(state_dict=OrderedDict(w=torch.ones(2)),
                    meta=dict(note=CreatesFile(marker))), path)
    return path, marker


def runner_like_checkpoint(path: str) -> None:
    """What MMEngine's Runner saves, in miniature: weights, Adam state, a
    MultiStepLR state (a Counter), the message hub (HistoryBuffers, numpy
    scalars from metrics)."""
    buffer = HistoryBuffer([1.0, 2.0], [1, 1])
    buffer.update(3.0)
    torch.save(
        dict(
            meta=dict(epoch=1, iter=4, seed=0, cfg='model = dict()'),
            state_dict=OrderedDict(w=torch.ones(2)),
            optimizer=dict(state={0: dict(step=torch.tensor(4.),
                                          exp_avg=torch.zeros(2))},
                           param_groups=[dict(lr=1e-3, params=[0])]),
            param_schedulers=[dict(milestones=Counter({18: 1, 22: 1}),
                                   last_step=1, base_values=[1e-3])],
            message_hub=dict(
                log_scalars=OrderedDict({'train/loss': buffer}),
                runtime_info=OrderedDict(iter=4, best_score=np.float64(0.5),
                                         counts=np.arange(3)),
                resumed_keys=dict(iter=True))), path)


def test_crafted_checkpoint_is_refused_and_creates_nothing(tmp_path):
    path, marker = crafted_checkpoint(tmp_path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(path)
    message = str(err.value)
    assert '\n' not in message
    assert 'io.open' in message and '--trust-checkpoint' in message
    assert path in message
    assert not osp.exists(marker)


def test_crafted_checkpoint_loads_when_trusted(tmp_path):
    path, marker = crafted_checkpoint(tmp_path)
    loaded = load_checkpoint_file(path, trust=True)
    assert loaded['state_dict']['w'].tolist() == [1., 1.]
    assert osp.exists(marker)  # it really would have run


def test_mmengine_loader_is_the_safe_one(tmp_path):
    """Runner's load_from / resume and init_cfg Pretrained call
    CheckpointLoader.load_checkpoint."""
    path, marker = crafted_checkpoint(tmp_path)
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert not osp.exists(marker)
    with trusted_checkpoints():
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert osp.exists(marker)
    with pytest.raises(UnsafeCheckpointError):  # trust ended with the block
        CheckpointLoader.load_checkpoint(path, map_location='cpu')


def test_downloads_are_loaded_safely(tmp_path):
    """http(s)://, torchvision://, open-mmlab:// go through ``load_url``
    (torch.hub's loader unpickles in full by default); file:// stands in
    for a server."""
    path, marker = crafted_checkpoint(tmp_path)
    cache = str(tmp_path / 'cache')
    with pytest.raises(UnsafeCheckpointError):
        checkpoint_module.load_from_http(
            'file://' + path, map_location='cpu', model_dir=cache)
    assert osp.isfile(osp.join(cache, 'crafted.pth'))  # downloaded ...
    assert not osp.exists(marker)  # ... but not run
    good = str(tmp_path / 'good.pth')
    runner_like_checkpoint(good)
    loaded = checkpoint_module.load_from_http(
        'file://' + good, map_location='cpu', model_dir=cache)
    assert loaded['meta']['iter'] == 4


def test_runner_checkpoint_needs_only_the_allowlist(tmp_path):
    path = str(tmp_path / 'epoch_1.pth')
    runner_like_checkpoint(path)
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    # mend 7: HistoryBuffer no longer pickles its methods via getattr
    assert 'builtins.getattr' not in needed
    assert needed <= set(checkpoint_safe_global_names())
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    hub = loaded['message_hub']
    assert hub['log_scalars']['train/loss'].mean() == 2.0
    assert hub['log_scalars']['train/loss'].statistics('current') == 3.0
    assert hub['runtime_info']['best_score'] == 0.5
    assert hub['runtime_info']['counts'].tolist() == [0, 1, 2]
    assert loaded['param_schedulers'][0]['milestones'] == Counter(
        {18: 1, 22: 1})


def old_history_buffer_state(self) -> dict:
    """``HistoryBuffer.__getstate__`` of mmengine 0.10.7, before mend 7."""
    self.__dict__.update(statistics_methods=self._statistics_methods)
    return self.__dict__


def test_earlier_checkpoints_with_getattr_still_load(tmp_path, monkeypatch):
    monkeypatch.setattr(HistoryBuffer, '__getstate__',
                        old_history_buffer_state)
    path = str(tmp_path / 'old.pth')
    runner_like_checkpoint(path)
    monkeypatch.undo()
    needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    assert 'builtins.getattr' in needed
    loaded = load_checkpoint_file(path)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 2.0


class ReachesOut:
    """``getattr(HistoryBuffer, '__init__')``: getattr beyond the four
    statistics methods is what a raw allowlisted getattr would permit."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_resolves_only_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'reach.pth')
    torch.save(dict(x=ReachesOut()), path)
    with pytest.raises(UnsafeCheckpointError, match=r"getattr\(HistoryBuffer"
                       r", '__init__'\).*--trust-checkpoint"):
        load_checkpoint_file(path)


def test_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        load_checkpoint_file(str(tmp_path / 'none.pth'))


def test_converter_loads_crafted_source_only_when_trusted(tmp_path):
    """tools/model_converters: the source weights go through the safe
    loader (``--trust-checkpoint`` sets ``trust``)."""
    from mmdmw.utils.checkpoint_convert import (
        convert_mobilenetv2_deepsort_file, deepsort_mobilenetv2_path)
    try:
        src = deepsort_mobilenetv2_path()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    state = torch.load(src, map_location='cpu', weights_only=True)
    marker = str(tmp_path / 'created_by_unpickling')
    state.note = CreatesFile(marker)  # pickled with the OrderedDict
    crafted, dst = str(tmp_path / 'crafted.pt'), str(tmp_path / 'out.pth')
    torch.save(state, crafted)
    with pytest.raises(UnsafeCheckpointError, match='io.open'):
        convert_mobilenetv2_deepsort_file(dst, crafted)
    assert not osp.exists(marker) and not osp.exists(dst)
    convert_mobilenetv2_deepsort_file(dst, crafted, trust=True)
    assert osp.exists(marker) and osp.exists(dst)
