"""Write files so that a crash never leaves a half-written one.

The data goes to a hidden temporary file in the target's folder, is flushed
to disk (``fsync``) and then renamed over the target (``os.replace``, atomic
on POSIX and Windows). Readers see the old file or the new one, never a mix.
A writer killed mid-write leaves a stray ``.NAME.tmp-PID-XXXXXXXX`` file
beside the target; the next successful write of ``NAME`` removes it.
"""
import glob
import os
import os.path as osp
import secrets
import shutil
from contextlib import contextmanager, suppress
from typing import IO, Iterator

TMP_INFIX = '.tmp-'
#: As ``open(path, 'w')``: the process umask applies to the new file.
NEW_FILE_MODE = 0o666
_TOKEN_BYTES = 4  # random suffix of the temporary name, 8 hex digits


def temp_path_for(path: str) -> str:
    """A fresh hidden temporary path in the folder of ``path``."""
    folder, name = osp.split(osp.abspath(path))
    token = secrets.token_hex(_TOKEN_BYTES)
    return osp.join(folder, f'.{name}{TMP_INFIX}{os.getpid()}-{token}')


@contextmanager
def atomic_open(path: str, mode: str = 'w', **kwargs) -> Iterator[IO]:
    """``open(path, mode)`` for writing, committed only on success.

    Args:
        path (str): The file to write; its folder is created if missing.
        mode (str): ``'w'``, ``'wt'`` or ``'wb'``. Defaults to 'w'.
        **kwargs: Passed to :func:`open` (e.g. ``encoding``).

    Yields:
        IO: A file object on the temporary file. When the ``with`` block
        ends without an exception the data is synced and the file replaces
        ``path``; otherwise the temporary file is removed and ``path`` is
        left as it was.
    """
    if not mode.startswith('w') or '+' in mode:
        raise ValueError(f'atomic_open writes whole files; mode {mode!r} is '
                         "not one of 'w', 'wt', 'wb'")
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = temp_path_for(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0)
    try:
        with os.fdopen(os.open(tmp, flags, NEW_FILE_MODE), mode,
                       **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)
    _remove_stale_temps(path)


def atomic_write_bytes(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, 'wb') as f:
        f.write(data)


def atomic_copy(src: str, dst: str) -> None:
    """Copy the file ``src`` to the file ``dst`` atomically."""
    with open(src, 'rb') as fsrc, atomic_open(dst, 'wb') as fdst:
        shutil.copyfileobj(fsrc, fdst)


def _remove_stale_temps(path: str) -> None:
    """Delete temporary files of ``path`` left by writers that died (POSIX;
    elsewhere they stay)."""
    if os.name != 'posix':  # os.kill(pid, 0) would end the process there
        return
    folder, name = osp.split(osp.abspath(path))
    pattern = f'.{glob.escape(name)}{TMP_INFIX}*'
    for tmp in glob.glob(osp.join(glob.escape(folder), pattern)):
        pid = tmp.rsplit(TMP_INFIX, 1)[1].split('-', 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with suppress(OSError):
                os.remove(tmp)


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. no permission to signal it: it exists
        return True
    return True


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op elsewhere)."""
    if os.name != 'posix':
        return
    with suppress(OSError):  # some file systems refuse fsync on folders
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
