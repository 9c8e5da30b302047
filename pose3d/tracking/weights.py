"""CoTracker3 weights: download, import, list, find. Never bundled.

The released checkpoints (Meta's facebook/cotracker3 on Hugging Face) are licensed CC BY-NC 4.0:
non-commercial use only. pose3d does not ship them; the user downloads them (``pose3d weights
download``) or installs a copy they already have (``pose3d weights import FILE``), and is bound
by that licence.

Installed files live in :func:`weights_dir` (``user_cache_dir("pose3d")/cotracker3``, or
``$POSE3D_WEIGHTS_DIR``) under their release names (``scaled_offline.pth``, ...). A file whose
SHA-256 matches no release is refused unless forced; a forced file must still load strictly into
the network, and is installed as ``custom_<variant>.pth``. Nothing here imports torch except
the strict-load check of a forced import.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pose3d.errors import Pose3dError

LICENCE = (
    "CoTracker3 weights (Meta, facebook/cotracker3) are licensed CC BY-NC 4.0: non-commercial "
    "use only. pose3d never bundles them; downloading or importing them is your acceptance "
    "of that licence."
)
ENV_DIR = "POSE3D_WEIGHTS_DIR"
CHUNK = 1 << 20
# download progress: (bytes done, bytes total)
ByteProgress = Callable[[int, int], None]


class WeightsError(Pose3dError):
    """A weights file cannot be downloaded, verified or installed."""


@dataclass(frozen=True)
class Release:
    """One released checkpoint (SPEC.md section 1)."""

    name: str  # file name
    variant: str  # "offline" or "online" (the network it loads into)
    url: str
    size: int  # bytes
    sha256: str


_HF = "https://huggingface.co/facebook/cotracker3/resolve/main/"
RELEASES: tuple[Release, ...] = (
    Release(
        "scaled_offline.pth",
        "offline",
        _HF + "scaled_offline.pth",
        101_890_938,
        "2670d4562ed69326dda775a26e54883925cd11b6fc9b24cb7aa9f8078bce7834",
    ),
    Release(
        "scaled_online.pth",
        "online",
        _HF + "scaled_online.pth",
        101_695_610,
        "205d34789f19699d64b22cf93f9b697f15f28d4025240e31532e504109837218",
    ),
    Release(
        "baseline_online.pth",
        "online",
        _HF + "baseline_online.pth",
        101_694_458,
        "8b30b2f239de9987323b729d9115cc5163720a07348a97d045095cd9ebdb7b3a",
    ),
)  # baseline_offline.pth was replaced upstream and its current hash is not known: not listed
VARIANTS = ("offline", "online")
PREFERENCE = ("scaled_{}.pth", "baseline_{}.pth", "custom_{}.pth")  # find_weights order


@dataclass(frozen=True)
class InstalledWeights:
    """A weights file in the weights folder."""

    path: Path
    size: int  # bytes
    sha256: str
    release: Release | None  # the release whose hash it has; None = not verified (custom)

    @property
    def verified(self) -> bool:
        return self.release is not None


def weights_dir() -> Path:
    """Where weights are installed: $POSE3D_WEIGHTS_DIR, else user_cache_dir("pose3d")/cotracker3
    (nothing is created here)."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pose3d")) / "cotracker3"


def release_of(sha256: str) -> Release | None:
    """The release with this SHA-256 (lower-case hex), if any."""
    for release in RELEASES:
        if release.sha256 == sha256.lower():
            return release
    return None


def sha256_of(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def installed(folder: Path | None = None) -> list[InstalledWeights]:
    """Every .pth file in the weights folder, hashed and matched against the releases."""
    folder = folder or weights_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.pth")):
        digest = sha256_of(path)
        found.append(InstalledWeights(path, path.stat().st_size, digest, release_of(digest)))
    return found


def find_weights(variant: str = "offline", folder: Path | None = None) -> Path | None:
    """The installed weights file for a network variant (scaled, then baseline, then custom),
    or None. Files are matched by name; ``pose3d weights list`` verifies their hashes."""
    if variant not in VARIANTS:
        raise WeightsError(f"unknown CoTracker3 variant {variant!r}; expected one of {VARIANTS}")
    folder = folder or weights_dir()
    for pattern in PREFERENCE:
        path = folder / pattern.format(variant)
        if path.is_file():
            return path
    return None


def download(
    variant: str = "offline",
    *,
    url: str | None = None,
    folder: Path | None = None,
    timeout: float = 30.0,
    progress: ByteProgress | None = None,
) -> Path:
    """Download the scaled checkpoint of ``variant`` (or ``url``, e.g. a mirror, which must still
    have the release's SHA-256), verify it and install it atomically; returns its path."""
    release = _scaled_release(variant)
    source = url or release.url
    folder = folder or weights_dir()
    _make_folder(folder)
    target = folder / release.name
    fd, tmp_name = tempfile.mkstemp(prefix=f".{release.name}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(source, release, out, timeout, progress, folder)
            out.flush()
            os.fsync(out.fileno())
        if digest != release.sha256:
            raise WeightsError(
                f"{source} gave a file with SHA-256 {digest}, expected {release.sha256} "
                f"({release.name}); nothing was installed — the download was corrupted or the "
                "URL serves another file"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def import_weights(
    path: str | os.PathLike[str], *, force: bool = False, folder: Path | None = None
) -> InstalledWeights:
    """Install a weights file the user has: its SHA-256 must match a release (it is installed
    under the release's name); with ``force`` an unknown file is installed as
    ``custom_<variant>.pth`` once it loads strictly into the offline or online network."""
    source = Path(path)
    if not source.is_file():
        raise WeightsError(f"weights file {source} does not exist")
    digest = sha256_of(source)
    release = release_of(digest)
    if release is None and not force:
        known = ", ".join(r.name for r in RELEASES)
        raise WeightsError(
            f"{source} has SHA-256 {digest}, which matches no released CoTracker3 checkpoint "
            f"({known}); get the file from {_HF} (pose3d weights download), or install it "
            "anyway with --force (it must still load into the network)"
        )
    name = release.name if release is not None else f"custom_{strict_variant(source)}.pth"
    folder = folder or weights_dir()
    _make_folder(folder)
    target = folder / name
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(source, tmp)
        if sha256_of(tmp) != digest:
            raise WeightsError(f"copying {source} to {folder} changed it; check the disk")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return InstalledWeights(target, target.stat().st_size, digest, release)


def strict_variant(path: Path) -> str:
    """The network variant ("offline" or "online") a weights file loads into strictly; raise
    WeightsError when it loads into neither."""
    from pose3d.tracking.cotracker3 import CheckpointError, build_cotracker3, load_checkpoint

    problems = []
    for variant in VARIANTS:
        try:
            load_checkpoint(build_cotracker3(variant), path)
            return variant
        except CheckpointError as error:
            problems.append(f"{variant}: {error}")
    raise WeightsError(
        f"{path} is not a CoTracker3 checkpoint: it loads into neither network "
        f"({'; '.join(problems)})"
    )


def _scaled_release(variant: str) -> Release:
    for release in RELEASES:
        if release.name == f"scaled_{variant}.pth":
            return release
    raise WeightsError(f"unknown CoTracker3 variant {variant!r}; expected one of {VARIANTS}")


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WeightsError(
            f"cannot create the weights folder {folder} ({error.strerror}); set "
            f"{ENV_DIR} to a folder you can write"
        ) from None


def _fetch(
    url: str,
    release: Release,
    out: BinaryIO,
    timeout: float,
    progress: ByteProgress | None,
    folder: Path,
) -> str:
    """Stream ``url`` into ``out`` (a binary file), return the SHA-256 of what was read."""
    digest = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or release.size)
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except urllib.error.HTTPError as error:
        raise WeightsError(
            f"cannot download {url}: the server answered HTTP {error.code} ({error.reason}); "
            f"check the URL (the release is {release.url})"
        ) from None
    except OSError as error:  # URLError, timeouts, refused or reset connections
        reason = getattr(error, "reason", None) or error
        raise WeightsError(_offline_message(url, release, str(reason), folder)) from None
    return digest.hexdigest()


def _offline_message(url: str, release: Release, reason: str, folder: Path) -> str:
    return (
        f"cannot download {url} ({reason}): this machine looks offline or the server cannot be "
        f"reached. On a machine with internet, download {release.url} ({release.size:,} bytes, "
        f"SHA-256 {release.sha256}), copy it here and run `pose3d weights import "
        f"{release.name}` — or put it in {folder}/ yourself. Until then pose3d tracks "
        "with the classical tracker."
    )
