"""BootsTAPIR weights (Google DeepMind's tapnet: Apache 2.0 / CC BY 4.0): import and list.
Never bundled.

The checkpoints are PyTorch state_dicts published in the tapnet README:
``bootstapir_checkpoint_v2.pt`` (offline network) and ``causal_bootstapir_checkpoint.pt``
(online, causal). Their SHA-256 is not published, so a file is verified by loading it strictly
into the TAPIR network (every key, every shape) when it is imported; its hash is recorded then,
in ``<file>.import.json`` beside it, so that ``pose3d weights list`` can say whether the file
is still the one that was checked. Both networks have the same keys and shapes: the variant
comes from the file name ("causal" means online) or is given. pose3d does not download these
files (unverifiable without a published hash): the user fetches them and imports them.
torch is imported only by the strict-load check.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from pose3d.tracking.weights_files import WeightsError, install_copy, sha256_of, tracker_dir

TITLE = "BootsTAPIR"
FOLDER = "tapir"  # under user_cache_dir("pose3d")
LICENCE = (
    "BootsTAPIR weights (Google DeepMind, tapnet) may be used for anything, commercial use "
    "included: tapnet licenses its software under Apache 2.0 and its other materials under "
    "CC BY 4.0 (keep the notices, credit the authors). pose3d never bundles them."
)
SOURCE = "https://github.com/google-deepmind/tapnet"  # the README that publishes them
DOWNLOAD = "https://storage.googleapis.com/dm-tapnet/bootstap/"
RELEASES = {"offline": "bootstapir_checkpoint_v2.pt", "online": "causal_bootstapir_checkpoint.pt"}
VARIANTS = tuple(RELEASES)
RECORD_SUFFIX = ".import.json"
GET = (
    f"download {RELEASES['offline']} (or {RELEASES['online']}, online) from {DOWNLOAD} and "
    "run `pose3d weights import --tracker tapir FILE`"
)


@dataclass(frozen=True)
class ImportRecord:
    """What ``pose3d weights import`` checked, written beside the installed file."""

    file: str  # the installed file's name
    variant: str  # the network it loaded into strictly
    sha256: str
    size: int  # bytes
    source: str  # the file the user imported (for their information only; never opened)
    imported: str  # ISO 8601, UTC


@dataclass(frozen=True)
class TapirWeights:
    """A BootsTAPIR file in the weights folder and its import record, if any."""

    path: Path
    size: int  # bytes
    sha256: str  # now
    record: ImportRecord | None  # None: not imported by pose3d, or its record is unreadable

    @property
    def variant(self) -> str:
        return self.record.variant if self.record is not None else variant_of(self.path.name)

    @property
    def verified(self) -> bool:
        """Loaded strictly at import, and unchanged since."""
        return self.record is not None and self.record.sha256 == self.sha256

    @property
    def status(self) -> str:
        if self.record is None:
            return (
                "NOT verified: no import record (import it with `pose3d weights import "
                "--tracker tapir FILE`, which loads it strictly)"
            )
        if not self.verified:
            return (
                f"CHANGED since import: SHA-256 {self.sha256}, recorded {self.record.sha256} "
                "(import the file again)"
            )
        return f"loads strictly at import; SHA-256 recorded {self.record.sha256}"


def variant_of(name: str) -> str:
    """The network a file name means: "causal" in it is the online one, else offline."""
    return "online" if "causal" in name.lower() else "offline"


def folder_of(folder: Path | None) -> Path:
    return folder if folder is not None else tracker_dir(FOLDER)


def installed(folder: Path | None = None) -> list[TapirWeights]:
    """The release-named files in the folder, hashed, with their import records."""
    folder = folder_of(folder)
    found = []
    for name in RELEASES.values():
        path = folder / name
        if path.is_file():
            record = _read_record(path)
            found.append(TapirWeights(path, path.stat().st_size, sha256_of(path), record))
    return found


def import_weights(
    path: str | os.PathLike[str], *, variant: str | None = None, folder: Path | None = None
) -> TapirWeights:
    """Load ``path`` strictly into the ``variant`` network (default: from its name), install it
    under that variant's release name, record its SHA-256; nothing is installed on failure."""
    source = Path(path)
    if not source.is_file():
        raise WeightsError(f"weights file {source} does not exist")
    variant = variant or variant_of(source.name)
    if variant not in VARIANTS:
        raise WeightsError(f"unknown {TITLE} variant {variant!r}; expected one of {VARIANTS}")
    digest = sha256_of(source)
    check_loads(source, variant)
    target = folder_of(folder) / RELEASES[variant]
    record_path(target).unlink(missing_ok=True)  # a crash below leaves no record, not a wrong one
    install_copy(source, target, digest)
    size = target.stat().st_size
    record = ImportRecord(target.name, variant, digest, size, str(source.resolve()), _now())
    from pose3d.io.atomic import atomic_write_text

    atomic_write_text(record_path(target), json.dumps(asdict(record), indent=2) + "\n")
    return TapirWeights(target, size, digest, record)


def check_loads(path: Path, variant: str) -> None:
    """Raise WeightsError, saying what was expected and found, unless ``path`` loads strictly
    into the ``variant`` TAPIR network."""
    from pose3d.tracking.checkpoint import CheckpointError
    from pose3d.tracking.tapir import build_tapir, load_checkpoint

    network = build_tapir(variant, device="meta")  # shapes only: nothing allocated twice
    try:
        load_checkpoint(network, path, assign=True)
    except CheckpointError as error:
        tensors = len(network.state_dict())
        raise WeightsError(
            f"{path} is not a {TITLE} checkpoint: expected the state_dict of the {variant} TAPIR "
            f"network ({tensors} tensors); the file: {_found(error, path)}. Nothing was "
            f"installed; download {DOWNLOAD}{RELEASES[variant]} (see {SOURCE}) and import "
            "that file"
        ) from None


def record_path(weights: Path) -> Path:
    return weights.with_name(weights.name + RECORD_SUFFIX)


def _found(error: Exception, path: Path) -> str:
    """The checkpoint loader's account of the file, without its path, on one line."""
    text = str(error).removeprefix(str(path)).lstrip(": ")
    text = " ".join(text.split()) or "nothing readable"
    return text if len(text) <= 400 else text[:400] + " ..."


def _read_record(path: Path) -> ImportRecord | None:
    """The import record beside ``path``; None when it is missing or is not one (it is then
    reported as no record, never trusted)."""
    try:
        data = json.loads(record_path(path).read_text(encoding="utf-8"))
        record = ImportRecord(**data)
    except (OSError, ValueError, TypeError):
        return None
    fields = (record.file, record.variant, record.sha256, record.source, record.imported)
    if not all(isinstance(f, str) for f in fields) or not isinstance(record.size, int):
        return None
    if record.file != path.name or record.variant not in VARIANTS or len(record.sha256) != 64:
        return None
    return record


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
