"""Fixtures shared by the test packages."""
import os.path as osp
from typing import Callable

import pytest

from mmdmw.datasets.synthetic_mot import generate_synthetic_mot


@pytest.fixture(scope='session')
def synthetic_frames(tmp_path_factory) -> Callable[[int], str]:
    """Make one synthetic video of ``num_frames`` frames; its image folder."""

    def make(num_frames: int) -> str:
        root = str(tmp_path_factory.mktemp('synthetic'))
        generate_synthetic_mot(root, num_seqs=1, num_frames=num_frames,
                               progress=False)
        return osp.join(root, 'train', 'SYN-01', 'img1')

    return make
