"""Learned trackers' weights: what pose3d knows of each (licence, source, file names, folder),
and downloading, importing, listing and finding them. Never bundled.

Each learned tracker is one :class:`TrackerWeights` in :data:`WEIGHTS` (``cotracker3``,
``tapir``); the functions here take a tracker name and defer to its entry, so a third tracker
is one more entry. CoTracker3's release facts and its hash-checked import live in this module;
BootsTAPIR's in :mod:`pose3d.tracking.weights_tapir`; the folder, hashing and atomic install
they share in :mod:`pose3d.tracking.weights_files`.

CoTracker3: the released checkpoints (Meta's facebook/cotracker3 on Hugging Face) are licensed
CC BY-NC 4.0: non-commercial use only. The user downloads them (``pose3d weights download``)
or installs a copy they already have (``pose3d weights import FILE``), and is bound by that
licence. Installed files live in :func:`weights_dir` (``user_cache_dir("pose3d")/cotracker3``,
or ``$POSE3D_WEIGHTS_DIR``) under their release names (``scaled_offline.pth``, ...). A file
whose SHA-256 matches no release is refused unless forced; a forced file must still load
strictly into the network, and is installed as ``custom_<variant>.pth``. Nothing here imports
torch except the strict-load checks.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pose3d.tracking import weights_tapir
from pose3d.tracking.weights_files import (
    CHUNK,
    ENV_DIR,
    Installed,
    WeightsError,
    install_copy,
    make_folder,
    sha256_of,
    tracker_dir,
)

__all__ = [
    "CHUNK",
    "ENV_DIR",
    "WEIGHTS",
    "Installed",
    "InstalledWeights",
    "Release",
    "TrackerWeights",
    "WeightsError",
    "download",
    "find_weights",
    "import_weights",
    "installed",
    "release_of",
    "sha256_of",
    "strict_variant",
    "weights_dir",
]

LICENCE = (
    "CoTracker3 weights (Meta, facebook/cotracker3) are licensed CC BY-NC 4.0: non-commercial "
    "use only. pose3d never bundles them; downloading or importing them is your acceptance "
    "of that licence."
)
# download progress: (bytes done, bytes total)
ByteProgress = Callable[[int, int], None]


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
    """A CoTracker3 weights file in the weights folder."""

    path: Path
    size: int  # bytes
    sha256: str
    release: Release | None  # the release whose hash it has; None = not verified (custom)

    @property
    def verified(self) -> bool:
        return self.release is not None

    @property
    def variant(self) -> str | None:
        if self.release is not None:
            return self.release.variant
        stem = self.path.stem  # custom_online.pth -> online
        return next((v for v in VARIANTS if stem == f"custom_{v}"), None)

    @property
    def status(self) -> str:
        if self.release is not None:
            return f"verified (SHA-256 of {self.release.name})"
        return "NOT verified (matches no release; installed with --force, loads strictly)"


@dataclass(frozen=True)
class TrackerWeights:
    """What pose3d knows of one learned tracker's weights, and how it installs and lists them."""

    title: str  # "CoTracker3"
    licence: str  # who publishes the weights and under which licence
    source: str  # where the user gets them
    get: str  # how to install them, one line: "run `pose3d weights download`, ..."
    files: Mapping[str, tuple[str, ...]]  # variant -> file names find_weights takes, best first
    folder: str  # the tracker's folder under user_cache_dir("pose3d")
    # (file, folder, variant or None, force) -> the installed file; raises WeightsError
    install: Callable[[Path, Path, str | None, bool], Installed]
    installed: Callable[[Path], Sequence[Installed]]  # folder -> its files of this tracker


def weights_dir(tracker: str = "cotracker3") -> Path:
    """Where ``tracker``'s weights are installed: $POSE3D_WEIGHTS_DIR (shared by every tracker),
    else user_cache_dir("pose3d")/<tracker> (nothing is created here)."""
    return tracker_dir(tracker_weights(tracker).folder)


def tracker_weights(tracker: str) -> TrackerWeights:
    """The registered facts of a learned tracker."""
    try:
        return WEIGHTS[tracker]
    except KeyError:
        raise WeightsError(
            f"no weights are known for tracker {tracker!r}; the learned trackers are "
            f"{', '.join(WEIGHTS)}"
        ) from None


def release_of(sha256: str) -> Release | None:
    """The CoTracker3 release with this SHA-256 (lower-case hex), if any."""
    for release in RELEASES:
        if release.sha256 == sha256.lower():
            return release
    return None


def installed(folder: Path | None = None, *, tracker: str = "cotracker3") -> list[Installed]:
    """``tracker``'s files in its weights folder, hashed, each with how it was verified."""
    facts = tracker_weights(tracker)
    return list(facts.installed(folder or tracker_dir(facts.folder)))


def find_weights(
    variant: str = "offline", folder: Path | None = None, *, tracker: str = "cotracker3"
) -> Path | None:
    """The installed weights file of ``tracker`` for a network variant (CoTracker3: scaled, then
    baseline, then custom), or None. Files are matched by name; ``pose3d weights list``
    verifies them, and a tracker loads its file strictly when it is built."""
    facts = tracker_weights(tracker)
    if variant not in facts.files:
        raise WeightsError(
            f"unknown {facts.title} variant {variant!r}; expected one of {tuple(facts.files)}"
        )
    folder = folder or tracker_dir(facts.folder)
    for name in facts.files[variant]:
        path = folder / name
        if path.is_file():
            return path
    return None


def import_weights(
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    folder: Path | None = None,
    tracker: str = "cotracker3",
    variant: str | None = None,
) -> Installed:
    """Install a weights file the user has, verified as ``tracker``'s registered importer does
    (CoTracker3: the SHA-256 of a release, or with ``force`` a strict load; BootsTAPIR: a strict
    load into the ``variant`` network, its hash recorded). Nothing is installed on failure."""
    facts = tracker_weights(tracker)
    return facts.install(Path(path), folder or tracker_dir(facts.folder), variant, force)


def download(
    variant: str = "offline",
    *,
    url: str | None = None,
    folder: Path | None = None,
    timeout: float = 30.0,
    progress: ByteProgress | None = None,
) -> Path:
    """Download CoTracker3's scaled checkpoint of ``variant`` (or ``url``, e.g. a mirror, which
    must still have the release's SHA-256), verify it and install it atomically; returns its
    path."""
    release = _scaled_release(variant)
    source = url or release.url
    folder = folder or weights_dir()
    make_folder(folder)
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


def _import_cotracker3(
    source: Path, folder: Path, variant: str | None, force: bool
) -> InstalledWeights:
    """CoTracker3's import: the file's SHA-256 must match a release (it is installed under the
    release's name); with ``force`` an unknown file is installed as ``custom_<variant>.pth``
    once it loads strictly into the offline or online network."""
    if not source.is_file():
        raise WeightsError(f"weights file {source} does not exist")
    digest = sha256_of(source)
    release = release_of(digest)
    if release is None and not force:
        known = ", ".join(r.name for r in RELEASES)
        raise WeightsError(
            f"{source} has SHA-256 {digest}, which matches no released CoTracker3 checkpoint "
            f"({known}); get the file from {_HF} (pose3d weights download), or install it "
            "anyway with --force (it must still load into the network); a BootsTAPIR file "
            "is imported with --tracker tapir"
        )
    found = release.variant if release is not None else strict_variant(source)
    if variant is not None and variant != found:
        raise WeightsError(
            f"{source} is the {found} CoTracker3 network's weights, not the {variant} one's; "
            "nothing was installed (leave out --variant: it is read from the file)"
        )
    name = release.name if release is not None else f"custom_{found}.pth"
    target = folder / name
    install_copy(source, target, digest)
    return InstalledWeights(target, target.stat().st_size, digest, release)


def _installed_cotracker3(folder: Path) -> list[InstalledWeights]:
    """Every .pth file in the folder, hashed and matched against the releases."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.pth")):
        digest = sha256_of(path)
        found.append(InstalledWeights(path, path.stat().st_size, digest, release_of(digest)))
    return found


def strict_variant(path: Path) -> str:
    """The CoTracker3 network variant ("offline" or "online") a weights file loads into
    strictly; raise WeightsError when it loads into neither."""
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


def _import_tapir(source: Path, folder: Path, variant: str | None, force: bool) -> Installed:
    if force:
        raise WeightsError(
            "--force is for CoTracker3 files of unknown hash; a BootsTAPIR file is always "
            "checked by loading it strictly, and installed if it loads (leave out --force)"
        )
    return weights_tapir.import_weights(source, variant=variant, folder=folder)


WEIGHTS: dict[str, TrackerWeights] = {
    "cotracker3": TrackerWeights(
        title="CoTracker3",
        licence=LICENCE,
        source=_HF,
        get="run `pose3d weights download`, or `pose3d weights import FILE`",
        files={v: tuple(p.format(v) for p in PREFERENCE) for v in VARIANTS},
        folder="cotracker3",
        install=_import_cotracker3,
        installed=_installed_cotracker3,
    ),
    "tapir": TrackerWeights(
        title=weights_tapir.TITLE,
        licence=weights_tapir.LICENCE,
        source=weights_tapir.SOURCE,
        get=weights_tapir.GET,
        files={v: (name,) for v, name in weights_tapir.RELEASES.items()},
        folder=weights_tapir.FOLDER,
        install=_import_tapir,
        installed=weights_tapir.installed,
    ),
}


def _scaled_release(variant: str) -> Release:
    for release in RELEASES:
        if release.name == f"scaled_{variant}.pth":
            return release
    raise WeightsError(f"unknown CoTracker3 variant {variant!r}; expected one of {VARIANTS}")


def _fetch(
    url: str,
    release: Release,
    out: BinaryIO,
    timeout: float,
    progress: ByteProgress | None,
    folder: Path,
) -> str:
    """Stream ``url`` into ``out`` (a binary file), return the SHA-256 of what was read."""
    import urllib.error
    import urllib.request

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
