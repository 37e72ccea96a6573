"""Trust is given to one named checkpoint, not to the process
(mmdmw.utils.safe_checkpoint.trust_checkpoint, ``--trust-checkpoint``)."""
import os
import os.path as osp
import shutil

import pytest
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

from mmdmw.utils.safe_checkpoint import (UnsafeCheckpointError,
                                         checkpoint_trusted,
                                         load_checkpoint_file,
                                         trust_checkpoint,
                                         trusted_checkpoints)


@pytest.fixture
def second(crafted, tmp_path) -> str:
    """Another file with the same booby trap, at another path."""
    os.makedirs(tmp_path / 'other')
    return shutil.copy(crafted[0], tmp_path / 'other' / 'crafted.pth')


def test_trusting_one_file_leaves_another_refused(crafted, second):
    path, marker = crafted
    trust_checkpoint(path)
    with pytest.raises(UnsafeCheckpointError, match='other/crafted.pth'):
        CheckpointLoader.load_checkpoint(str(second), map_location='cpu')
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(str(second))
    assert not osp.exists(marker)
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert loaded['state_dict']['w'].tolist() == [1.0, 1.0]
    assert osp.exists(marker)  # the trusted one was unpickled in full


def test_pretrained_init_is_not_trusted_with_the_checkpoint(crafted, second):
    """init_cfg=dict(type='Pretrained', checkpoint=...) loads through the
    same loader: trusting the run's checkpoint does not cover it."""
    path, marker = crafted
    trust_checkpoint(path)
    with pytest.raises(UnsafeCheckpointError, match='other/crafted.pth'):
        PretrainedInit(checkpoint=str(second))(nn.Linear(2, 2))
    assert not osp.exists(marker)


def test_trust_follows_the_file_not_the_spelling(crafted, tmp_path,
                                                 monkeypatch):
    path, _ = crafted
    monkeypatch.chdir(tmp_path)
    trust_checkpoint(osp.join('other', '..', 'crafted.pth'))
    assert checkpoint_trusted(path)
    os.symlink(path, tmp_path / 'link.pth')
    assert checkpoint_trusted(str(tmp_path / 'link.pth'))  # same file
    assert not checkpoint_trusted(str(tmp_path / 'crafted2.pth'))


def test_trusted_block_ends(crafted):
    path, marker = crafted
    with trusted_checkpoints(path):
        load_checkpoint_file(path)
    assert osp.exists(marker)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(path)
