"""A crash while a checkpoint is written never costs the last good one
(mends 3 and 4 of mmdmw/compat.py)."""
import os
import os.path as osp
import signal
import stat
import sys

import pytest
from mmengine.hooks import checkpoint_hook
from mmengine.runner import find_latest_checkpoint
from reliability_utils import run_tool

from mmdmw.utils.atomic_io import TMP_INFIX, atomic_open, atomic_write_bytes
from mmdmw.utils.safe_checkpoint import load_checkpoint_file

TOY_RUN = osp.join(osp.dirname(osp.abspath(__file__)), 'toy_full_disk_run.py')


def crash_in_second_checkpoint(work_dir: str, fault: str) -> str:
    """Run the toy until writing iter_2.pth fails; return iter_1.pth after
    checking it is still the latest, loadable checkpoint."""
    crash = run_tool(sys.executable, TOY_RUN, work_dir, fault,
                     expect_rc=None)
    if fault == '--kill':
        assert crash.returncode == -signal.SIGXFSZ, crash.output[-3000:]
    else:
        assert crash.returncode == 1 and 'File too large' in crash.output
    first = osp.join(work_dir, 'iter_1.pth')
    # Upstream deletes iter_1.pth (max_keep_ckpts=1) before writing
    # iter_2.pth, and leaves iter_2.pth truncated.
    assert not osp.exists(osp.join(work_dir, 'iter_2.pth'))
    assert find_latest_checkpoint(work_dir) == first
    assert load_checkpoint_file(first)['meta']['iter'] == 1
    return first


@pytest.mark.slow
def test_disk_full_during_checkpoint_write_keeps_the_previous(tmp_path):
    crash_in_second_checkpoint(str(tmp_path), '--full')
    assert not [n for n in os.listdir(tmp_path) if TMP_INFIX in n]


@pytest.mark.slow
def test_kill_during_checkpoint_write_keeps_the_previous(tmp_path):
    work_dir = str(tmp_path)
    first = crash_in_second_checkpoint(work_dir, '--kill')
    strays = [n for n in os.listdir(work_dir) if TMP_INFIX in n]
    assert len(strays) == 1 and strays[0].startswith('.iter_2.pth')

    resume = run_tool(sys.executable, TOY_RUN, work_dir, '--resume')
    assert 'resumed epoch: 0, iter: 1' in resume.output
    last = load_checkpoint_file(find_latest_checkpoint(work_dir))
    assert last['meta']['iter'] == 3
    assert not osp.exists(first)  # removed once a newer one was written
    # the killed writer's temporary file went with the next iter_2.pth
    assert not [n for n in os.listdir(work_dir) if TMP_INFIX in n]


def test_interrupted_pointer_write_keeps_the_old_pointer(tmp_path):
    pointer = str(tmp_path / 'last_checkpoint')
    with open(pointer, 'w') as f:
        f.write('/work/epoch_1.pth')
    # CheckpointHook writes last_checkpoint through this module's open().
    with pytest.raises(KeyboardInterrupt):
        with checkpoint_hook.open(pointer, 'w') as f:
            f.write('/work/epo')
            raise KeyboardInterrupt  # e.g. Ctrl-C in the middle
    assert open(pointer).read() == '/work/epoch_1.pth'
    assert os.listdir(tmp_path) == ['last_checkpoint']
    with checkpoint_hook.open(pointer, 'w') as f:
        f.write('/work/epoch_2.pth')
    assert open(pointer).read() == '/work/epoch_2.pth'
    with checkpoint_hook.open(pointer) as f:  # reading is unchanged
        assert f.read() == '/work/epoch_2.pth'


def test_atomic_write_replaces_whole_files_with_normal_permissions(tmp_path):
    path = str(tmp_path / 'sub' / 'file.bin')
    atomic_write_bytes(b'first', path)
    atomic_write_bytes(b'second', path)
    assert open(path, 'rb').read() == b'second'
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
    assert os.listdir(tmp_path / 'sub') == ['file.bin']
    with pytest.raises(ValueError, match='mode'):
        with atomic_open(path, 'a'):
            pass
