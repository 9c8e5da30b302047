"""File names built from data someone else wrote (session, keypoint, individual, camera names):
never a path out of the folder the user named.

A session folder, a DeepLabCut project or a SLEAP file may come from another lab; the names it
holds become file names when pose3d exports. :func:`file_name` turns a name into one safe path
component (or refuses it), and :func:`inside` checks that a path built from such names stays in
its folder. Every exporter builds its file names through them.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from pose3d.errors import Pose3dError

# characters that are unsafe or awkward in a file name on some system (Windows is the strictest)
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10))} | {
    f"LPT{i}" for i in range(1, 10)
}
MAX_BYTES = 200  # well under every file system's 255-byte name limit, room for a suffix


def file_name(name: str, what: str = "name") -> str:
    """``name`` as one file-name component: path separators, control characters and the
    characters Windows refuses become ``_``; refused (Pose3dError naming ``what``) when nothing
    usable is left, or when the name is ``.`` / ``..`` or starts with a dot or dash."""
    text = unicodedata.normalize("NFC", str(name))
    cleaned = _UNSAFE.sub("_", text).strip().rstrip(".")
    problem = None
    if not cleaned or cleaned.strip("_") == "":
        problem = "has no usable characters"
    elif cleaned in (".", "..") or cleaned.startswith((".", "-")):
        problem = "would be a hidden file, a parent folder or an option"
    elif cleaned.split(".")[0].upper() in _RESERVED:
        problem = "is a name Windows reserves"
    elif len(cleaned.encode("utf-8")) > MAX_BYTES:
        problem = f"is longer than {MAX_BYTES} bytes"
    if problem is not None:
        raise Pose3dError(
            f"the {what} {name!r} cannot name a file: it {problem}; rename it (e.g. in "
            "session.toml) to letters, digits, '_' and '-'"
        )
    return cleaned


def inside(folder: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """``path``, after checking that it lies inside ``folder`` (both resolved, symlinks
    followed); raises naming both otherwise."""
    root = Path(folder).resolve()
    target = Path(path)
    resolved = target.resolve()  # a relative path is relative to the working folder, as open()
    if resolved != root and root not in resolved.parents:
        raise Pose3dError(
            f"refusing to write {target}: it lies outside {folder}, the folder you named "
            "(a name in the input file points elsewhere)"
        )
    return target
