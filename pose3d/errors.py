"""User-facing errors.

Every error a user can cause (a bad file, a wrong name, a locked session) is a `Pose3dError`
whose message says what was expected, what was found and what to do. The CLI prints the message
alone (no traceback unless ``--debug``); the TUI shows it as a notification.

Errors of the operating system (a full disk, a read-only file system, a failing disk) are said
the same way: `os_error_message` turns an OSError into one line naming the file, the file
system and what its errno means; `pose3d.io.atomic` raises `StorageError`, built from the same
pieces, where a write fails; the CLI prints it for any OSError no command expected.
"""

from __future__ import annotations

import errno
import os
import re


class Pose3dError(Exception):
    """An error caused by input the user can fix; the message is shown as it is."""


class SchemaError(Pose3dError):
    """A dataset or file does not follow pose3d's data contract."""


class CalibrationError(Pose3dError):
    """A calibration file or camera model is unusable."""


class SessionError(Pose3dError):
    """A session folder or session.toml is unusable."""


class SessionLockedError(SessionError):
    """Another process holds the session's lock."""


class VideoError(Pose3dError):
    """A video file or image folder cannot be read as expected."""


class StorageError(Pose3dError):
    """A file could not be written (disk full, read-only, no permission); the target is intact."""


_MEANING = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error (the disk or the network file system failed)",
    errno.EFBIG: "file too large for this file system",
    errno.ENAMETOOLONG: "file name too long for this file system",
}

_ADVICE = {
    errno.ENOSPC: "free some space there (or work on another disk) and run the command again",
    errno.EDQUOT: "free some of your space there or ask for a larger quota, then run it again",
    errno.EROFS: "copy the session to a writable folder, or remount the file system read-write",
    errno.EACCES: "make it writable (chmod u+w) or copy the session somewhere you can write",
    errno.EPERM: "make it writable (chmod u+w) or copy the session somewhere you can write",
    errno.EIO: "check the disk or the network share (dmesg) and copy your data somewhere safe",
    errno.EFBIG: "write to a file system that holds larger files",
    errno.ENAMETOOLONG: "use a shorter name or a shallower folder",
}


def errno_meaning(error: OSError) -> str:
    """What the error's errno means, in words, with its symbolic name: ``disk quota exceeded
    (EDQUOT)``; the error's own text where it has no errno."""
    code = error.errno
    if code is None:
        return " ".join(str(error).split()) or type(error).__name__
    name = errno.errorcode.get(code, str(code))
    meaning = _MEANING.get(code) or os.strerror(code).lower()
    return f"{meaning} ({name})"


def errno_advice(error: OSError) -> str | None:
    """What a user can do about the error's errno, if anything pose3d can say."""
    return _ADVICE.get(error.errno) if error.errno is not None else None


def mount_description(path: str | os.PathLike[str]) -> str:
    """The file system ``path`` lies on, as a user can find it: ``/dev/sda2 (mounted at /home)``,
    or the mount point alone where the device is unknown (not Linux)."""
    here = os.path.realpath(os.fspath(path))
    mounts = _mounts()
    if mounts:
        best = max(
            (
                point
                for point in mounts
                if here == point or here.startswith(point.rstrip("/") + "/")
            ),
            key=len,
            default=None,
        )
        if best is not None:
            return f"{mounts[best]} (mounted at {best})"
    while not os.path.ismount(here) and os.path.dirname(here) != here:
        here = os.path.dirname(here)
    return here


def _mounts() -> dict[str, str]:
    """Mount point -> device, from /proc/self/mounts (empty where there is none)."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return {}
    table: dict[str, str] = {}
    for line in lines:  # "device mount_point type options 0 0", spaces escaped as \040
        fields = line.split()
        if len(fields) >= 2:
            table[_unescape(fields[1])] = _unescape(fields[0])  # the last mount on a point wins
    return table


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


_ON_FILE_SYSTEM = {
    errno.ENOSPC: "no space left on {} (ENOSPC)",
    errno.EDQUOT: "disk quota exceeded on {} (EDQUOT)",
    errno.EROFS: "the file system {} is read-only (EROFS)",
}


def _file_name(name: object) -> str:
    return os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else str(name)


def os_error_message(error: OSError) -> str:
    """One line for an OSError nobody expected: the file, what the errno means, what to do."""
    names = [_file_name(f) for f in (error.filename, error.filename2) if f is not None]
    template = _ON_FILE_SYSTEM.get(error.errno) if error.errno is not None else None
    if template and names:
        meaning = template.format(mount_description(names[-1]))
    else:
        meaning = errno_meaning(error)
    message = f"{' -> '.join(names)}: {meaning}" if names else meaning
    advice = errno_advice(error)
    return f"{message}; {advice}" if advice else message


def shown(name: object, limit: int = 60) -> str:
    """A name from a file as a message shows it: cut to ``limit`` characters, saying how long it
    was (a damaged or hostile file can hold a name of megabytes)."""
    text = str(name)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"
