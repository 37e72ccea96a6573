"""Checkpoints for the safe-loading tests: one booby-trapped, one good."""
from collections import OrderedDict
from typing import Iterator, Tuple

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmdmw.utils.safe_checkpoint import untrust_checkpoints


class CreatesFile:
    """Unpickled, it creates ``path`` (as any ``open(path, 'w')`` would);
    a checkpoint holding it could as well run a shell."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.fixture
def crafted(tmp_path) -> Tuple[str, str]:
    """A checkpoint with real weights and one booby-trapped entry, and the
    file that loading it in full creates."""
    marker = str(tmp_path / 'created_by_unpickling')
    path = str(tmp_path / 'crafted.pth')
    torch.save(dict(state_dict=OrderedDict(w=torch.ones(2)),
                    meta=dict(note=CreatesFile(marker))), path)
    return path, marker


@pytest.fixture
def good(tmp_path) -> str:
    """Weights and MMEngine bookkeeping only (a HistoryBuffer, a numpy
    scalar): loads safely."""
    path = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict=OrderedDict(w=torch.ones(2)),
                    message_hub=dict(loss=HistoryBuffer([1.0, 3.0], [1, 1]),
                                     best=np.float64(0.5))), path)
    return path


@pytest.fixture(autouse=True)
def no_trust() -> Iterator[None]:
    """Trust given in one test ends with it."""
    untrust_checkpoints()
    yield
    untrust_checkpoints()
