"""One writer per session: an advisory lock on ``SESSION/.pose3d.lock``.

The lock is an ``fcntl.flock`` on the lock file, so it is released by the kernel when the holder
exits or crashes (no stale locks to clean by hand). The file records who holds it, so a second
writer gets an error that says which process, on which host, since when.

A session folder may come from someone else, so the lock path is hostile until checked: a
symbolic link, a folder, a FIFO, a device or a file with several hard links (which could be
another file under a second name) is refused with a SessionError naming it, before anything is
truncated or written (``O_NOFOLLOW``, and ``fstat`` on the opened file so that a swap between
the check and the open is caught too). Only a regular file of one link is ever written.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import os
import socket
import stat
from pathlib import Path
from types import TracebackType

from pose3d.errors import SessionError, SessionLockedError
from pose3d.io.file_kinds import REGULAR, kind

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class SessionLock:
    """Exclusive lock on a session folder; use as a context manager or acquire()/release().

    >>> with SessionLock(session.root):   # doctest: +SKIP
    ...     save_labels(session.paths.labels, labels)
    """

    def __init__(self, root: str | os.PathLike[str], lock_name: str = ".pose3d.lock") -> None:
        self.root = Path(root)
        self.path = self.root / lock_name
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> SessionLock:
        if self._fd is not None:
            return self
        if not self.root.is_dir():
            raise SessionError(f"session folder {self.root} does not exist")
        fd = self._open()
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise SessionLockedError(
                    f"session {self.root} is open for writing by another pose3d process "
                    f"({holder}); close it there first, or look at it meanwhile with "
                    "`pose3d tui --read-only` (`pose3d info`, `review` and `export` read it too)"
                ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": _dt.datetime.now().isoformat(timespec="seconds"),
        }
        try:  # who holds it, for the next one's message; the OS lock works without it
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                os.close(fd)
                raise
        self._fd = fd
        return self

    def _open(self) -> int:
        """The lock file, opened read-write (created when missing), checked to be a regular
        file of one link; never a link followed, never a FIFO waited on."""
        _refuse_odd(self.path, os.lstat(self.path) if os.path.lexists(self.path) else None)
        try:
            fd = os.open(self.path, _OPEN_FLAGS, 0o644)
        except PermissionError:
            raise SessionError(
                f"cannot lock session {self.root}: the folder is read-only; make it writable "
                "(chmod u+w) or copy the session somewhere you can write"
            ) from None
        except OSError as exc:
            if exc.errno == errno.EROFS:
                raise SessionError(
                    f"cannot lock session {self.root}: the file system is read-only; copy the "
                    "session to a writable folder, or remount the file system read-write"
                ) from None
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EMLINK):
                _refuse_odd(self.path, None, exc)  # replaced between the check and the open
            raise
        try:
            _refuse_odd(self.path, os.fstat(fd))
        except BaseException:
            os.close(fd)
            raise
        return fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> SessionLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


# O_NOFOLLOW: a symbolic link at the lock path fails (ELOOP) instead of being followed;
# O_NONBLOCK: opening a FIFO never waits for a peer (no effect on a regular file)
_OPEN_FLAGS = (
    os.O_RDWR
    | os.O_CREAT
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _refuse_odd(path: Path, info: os.stat_result | None, error: OSError | None = None) -> None:
    """Raise a SessionError when the lock path is not a plain file pose3d may truncate: a
    symbolic link, a folder, a FIFO, a device, a socket, or a file with several hard links.
    ``info`` is its lstat / fstat (None: nothing there yet, or ``error`` says what it is)."""
    problem = None
    if error is not None:
        problem = "a symbolic link" if error.errno == errno.ELOOP else "not a regular file"
    elif info is None:
        return
    elif stat.S_ISLNK(info.st_mode):
        problem = f"a symbolic link (to {_target(path)})"
    elif kind(info.st_mode) != REGULAR:
        problem = kind(info.st_mode)
    elif info.st_nlink > 1:
        problem = f"a file with {info.st_nlink} hard links (it may be another file's content)"
    if problem is not None:
        fix = (
            f"remove the link (rm {_quoted(path)} removes the link, not what it points to)"
            if problem.startswith("a symbolic link")
            else "move it out of the session folder (or remove it if nothing in it is yours)"
        )
        raise SessionError(
            f"cannot lock session {path.parent}: {path} is {problem}, not pose3d's lock file, "
            f"and pose3d never writes through it; nothing was changed. To open the session, "
            f"{fix} and run the command again: pose3d creates a new lock file"
        )


def _target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "somewhere unknown"


def _quoted(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return "holder unknown"
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"
