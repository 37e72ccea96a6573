"""Fixtures of the reliability tests: the tiny synthetic set."""
import sys

import pytest
from reliability_utils import FRAMES, run_tool


@pytest.fixture(scope='session')
def data_root(tmp_path_factory) -> str:
    """Two 12-frame synthetic videos (4 training iterations per epoch)."""
    root = str(tmp_path_factory.mktemp('synthetic_mot'))
    run_tool(sys.executable, 'tools/misc/make_synthetic_mot.py', root,
             '--num-train', '2', '--num-test', '1', '--frames', str(FRAMES))
    return root
