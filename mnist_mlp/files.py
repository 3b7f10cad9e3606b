"""Writing files and folders so that a crash leaves the old one or the new one, never half of one."""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import sys
import tempfile
from pathlib import Path

RENAME_EXCHANGE = 2  # linux/fs.h: swap the two names in one step
AT_FDCWD = -100  # linux/fcntl.h: paths relative to the working folder


def write_atomically(path: Path, content: bytes, *, prefix: str = ".saving-") -> None:
    """Write `content` to `path` through a hidden temporary file beside it, flushed, then renamed over.

    The folder is flushed too, so the rename itself survives a power cut. A crash part-way leaves at
    most a temporary file whose name starts with `prefix`, for the owner to skip and clean up.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; these files are for every reader
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync(path.parent)


def fsync(path: Path) -> None:
    """Flush a written file's bytes, or a folder's entries (new, renamed or removed files), to disk.

    A file is flushed before the rename that publishes it, so the rename never shows it half-written;
    a folder after the rename, so the rename itself survives a power cut.
    """
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux `renameat2(RENAME_EXCHANGE)`).

    A reader sees either name pointing at a whole folder at every instant, which a plain rename cannot
    give for a non-empty folder. False, with nothing changed, where the system or filesystem cannot do
    it (not Linux, an old C library, a filesystem without the flag); the caller then takes its slower
    path. OSError for any other failure, such as `second` having gone.
    """
    rename = _renameat2()
    if rename is None:
        return False
    result = rename(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


@functools.cache
def _renameat2():
    """The C library's renameat2, or None where it has none (not Linux, glibc before 2.28)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function
