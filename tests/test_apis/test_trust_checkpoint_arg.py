"""``--trust-checkpoint`` of tools/train.py and tools/test.py trusts the one
checkpoint the command loads (mmdmw.apis.runner_utils)."""
import argparse
import os.path as osp
import shutil
from collections import OrderedDict
from typing import Iterator, List, Tuple

import pytest
import torch
from mmengine.config import Config
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

from mmdmw.apis import (add_runner_args, checkpoint_to_load,
                        prepare_test_cfg, prepare_train_cfg, trust_if_asked)
from mmdmw.utils import (UnsafeCheckpointError, checkpoint_trusted,
                         untrust_checkpoints)


class CreatesFile:
    """Unpickled, it creates ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.fixture
def crafted(tmp_path) -> Iterator[Tuple[str, str, str]]:
    """Two booby-trapped checkpoints (the run's and a Pretrained one) and
    the file unpickling either creates; no trust left behind."""
    marker = str(tmp_path / 'created_by_unpickling')
    run = str(tmp_path / 'work' / 'epoch_1.pth')
    (tmp_path / 'work').mkdir()
    torch.save(dict(state_dict=OrderedDict(w=torch.ones(2)),
                    meta=dict(note=CreatesFile(marker))), run)
    pretrained = shutil.copy(run, tmp_path / 'backbone.pth')
    untrust_checkpoints()
    yield run, str(pretrained), marker
    untrust_checkpoints()


def parse(*argv: str) -> argparse.Namespace:
    """The arguments tools/train.py and tools/test.py share."""
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_runner_args(parser)
    return parser.parse_args(['cfg.py', *argv])


def train_cfg(work_dir: str, resume: str) -> Config:
    cfg = Config(dict(work_dir=work_dir, load_from=None, resume=False))
    return prepare_train_cfg(cfg, resume=resume)


def assert_only(trusted: str, refused: List[str], marker: str) -> None:
    """``trusted`` loads in full; each of ``refused`` is refused, also as
    an init_cfg Pretrained checkpoint."""
    for path in refused:
        assert not checkpoint_trusted(path)
        with pytest.raises(UnsafeCheckpointError):
            PretrainedInit(checkpoint=path)(nn.Linear(2, 2))
        assert not osp.exists(marker)
    CheckpointLoader.load_checkpoint(trusted, map_location='cpu')
    assert osp.exists(marker)


def test_train_resume_path_trusts_that_file_only(crafted):
    run, pretrained, marker = crafted
    cfg = train_cfg(osp.dirname(run), resume=run)
    trust_if_asked(parse('--trust-checkpoint'), cfg=cfg)  # as train.py
    assert_only(run, [pretrained], marker)


def test_train_auto_resume_trusts_the_latest_checkpoint(crafted):
    run, pretrained, marker = crafted
    with open(osp.join(osp.dirname(run), 'last_checkpoint'), 'w') as f:
        f.write(run)
    cfg = train_cfg(osp.dirname(run), resume='auto')
    assert checkpoint_to_load(cfg) == run
    trust_if_asked(parse('--trust-checkpoint'), cfg=cfg)
    assert_only(run, [pretrained], marker)


def test_test_tool_trusts_its_checkpoint_only(crafted):
    run, pretrained, marker = crafted
    cfg = prepare_test_cfg(Config(dict(work_dir='w')), run)
    assert checkpoint_to_load(cfg) == run  # what the Runner loads
    trust_if_asked(parse('--trust-checkpoint'), run)  # as test.py
    assert_only(run, [pretrained], marker)


def test_without_the_flag_nothing_is_trusted(crafted):
    run, pretrained, marker = crafted
    cfg = train_cfg(osp.dirname(run), resume=run)
    trust_if_asked(parse(), cfg=cfg)
    for path in (run, pretrained):
        with pytest.raises(UnsafeCheckpointError):
            CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert not osp.exists(marker)
