"""One writer per session: an advisory lock on ``SESSION/.pose3d.lock``.

The lock is an ``fcntl.flock`` on the lock file, so it is released by the kernel when the holder
exits or crashes (no stale locks to clean by hand). The file records who holds it, so a second
writer gets an error that says which process, on which host, since when.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
from pathlib import Path
from types import TracebackType

from pose3d.errors import SessionError, SessionLockedError

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
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:
            raise SessionError(
                f"cannot lock session {self.root}: the folder is read-only; make it writable "
                "(chmod u+w) or copy the session somewhere you can write"
            ) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise SessionLockedError(
                    f"session {self.root} is open for writing by another pose3d process "
                    f"({holder}); close it there first, or open this session read-only"
                ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": _dt.datetime.now().isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

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


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return "holder unknown"
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"
