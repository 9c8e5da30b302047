"""The weights folder and its files, for every learned tracker: where they live, their SHA-256,
installing a copy atomically, and the one error type. No tracker's facts live here.

With ``$POSE3D_WEIGHTS_DIR`` set, every tracker's files share that folder (their names do not
collide); else each tracker has its own, ``user_cache_dir("pose3d")/<tracker>``. Nothing is
created on import or by asking where a folder is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Protocol

from pose3d.errors import Pose3dError

ENV_DIR = "POSE3D_WEIGHTS_DIR"
CHUNK = 1 << 20


class WeightsError(Pose3dError):
    """A weights file cannot be downloaded, verified or installed."""


class Installed(Protocol):
    """A weights file in a tracker's folder, as ``pose3d weights list`` shows it."""

    @property
    def path(self) -> Path: ...

    @property
    def size(self) -> int: ...  # bytes

    @property
    def sha256(self) -> str: ...  # of the file as it is now

    @property
    def variant(self) -> str | None: ...  # "offline" / "online"; None: not known

    @property
    def status(self) -> str: ...  # how it was verified, one line


def weights_root() -> Path:
    """$POSE3D_WEIGHTS_DIR, else user_cache_dir("pose3d"): where the trackers' folders are (and
    the default-tracker setting)."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pose3d"))


def tracker_dir(name: str) -> Path:
    """A tracker's weights folder: $POSE3D_WEIGHTS_DIR itself (shared), else
    user_cache_dir("pose3d")/name."""
    root = weights_root()
    return root if os.environ.get(ENV_DIR) else root / name


def sha256_of(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WeightsError(
            f"cannot create the weights folder {folder} ({error.strerror}); set "
            f"{ENV_DIR} to a folder you can write"
        ) from None


def install_copy(source: Path, target: Path, sha256: str) -> None:
    """Copy ``source`` to ``target`` atomically (a temporary file beside it, fsynced, renamed
    into place); the copy must still have ``sha256``."""
    from pose3d.io.atomic import atomic_path

    make_folder(target.parent)
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
        if sha256_of(tmp) != sha256:
            raise WeightsError(f"copying {source} to {target.parent} changed it; check the disk")
