"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The new content goes to a temporary file in the same folder, is flushed and fsynced, then
renamed over the target (``os.replace`` is atomic on POSIX and Windows); the folder is fsynced
so the rename survives a power cut. A crash at any point leaves the previous file intact (and,
after a kill, a hidden ``.NAME.*.tmp`` beside it: the next successful write of NAME removes
those older than ``STALE_SECONDS``, so that a slow concurrent writer's file is left alone).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pose3d.errors import (
    Pose3dError,
    StorageError,
    errno_advice,
    errno_meaning,
    mount_description,
)

STALE_SECONDS = 15 * 60


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform / filesystem
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# errnos of a write refused by the storage, whoever raised them
_STORAGE_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.EFBIG,
        errno.ENAMETOOLONG,
    }
)


def write_failure(target: Path, error: OSError) -> StorageError:
    """The one message for a write of ``target`` that the storage refused: which file, on which
    file system, what the errno means and what to do; the target was not changed."""
    code = error.errno
    advice = errno_advice(error)
    if code in (errno.EACCES, errno.EPERM):  # the wording tests and users already know
        return StorageError(
            f"cannot write {target}: folder {target.parent} is read-only; {advice} "
            "(nothing was changed)"
        )
    if code in (errno.ENOSPC, errno.EDQUOT):
        full = "no space left" if code == errno.ENOSPC else "disk quota exceeded"
        what = f"{full} on {mount_description(target.parent)} while writing {target}"
    elif code == errno.EROFS:
        what = (
            f"cannot write {target}: the file system {mount_description(target.parent)} "
            "is read-only (EROFS)"
        )
    else:
        what = f"cannot write {target}: {errno_meaning(error)}"
    return StorageError(f"{what}; nothing was changed" + (f": {advice}" if advice else ""))


def _about(error: OSError, *paths: Path) -> bool:
    """Whether ``error`` is the storage refusing a write of one of ``paths`` (or of a file it
    does not name, as h5py and FFmpeg report)."""
    if error.errno not in _STORAGE_ERRNOS:
        return False
    named = error.filename
    if not isinstance(named, (str, bytes, os.PathLike)):
        return True  # no file, or a descriptor: the write in hand
    return os.fsdecode(named) in {str(p) for p in paths}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    The caller writes the whole file to the yielded path (with any library) and closes it. On
    an exception the temporary file is removed and ``path`` is untouched. A write the storage
    refuses (full disk, quota, read-only file system, no permission, I/O error) raises
    `StorageError` naming ``path``, whether the caller's writer or the fsync and rename met it.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise Pose3dError(f"cannot write {target}: folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise write_failure(target, error) from error
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
        except OSError as error:
            if _about(error, tmp, target):
                raise write_failure(target, error) from error
            raise
        try:
            _commit(tmp, target)
        except OSError as error:
            raise write_failure(target, error) from error
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)
    _remove_stale(folder, target.name)


def _commit(tmp: Path, target: Path) -> None:
    """fsync ``tmp``, give it ``target``'s mode (or the umask's), rename it over ``target``."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    if target.exists():
        os.chmod(tmp, target.stat().st_mode & 0o7777)
    else:
        os.chmod(tmp, 0o666 & ~current_umask())
    os.replace(tmp, target)


def current_umask() -> int:
    """The process's umask (reading it means setting it: it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale(folder: Path, name: str) -> None:
    """Remove the temporary files of ``name`` that a killed writer left behind."""
    now = time.time()
    for leftover in folder.glob(f".{glob.escape(name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
