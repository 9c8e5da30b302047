"""The one registry of other tools' file formats, 2D and 3D: what pose3d reads and what it exports.

Every format is one `Format` entry in :data:`FORMATS`; its functions live in the format's own
module (``pose3d/io/dlc.py``, ``sleap.py``, ``anipose.py``, ``movement.py``, ``nwb.py``) and are
imported on first use (`Lazy`), so listing the formats (``pose3d export --help``) imports
nothing heavy. Adding a format is a module plus one entry here; no if/elif on suffixes.

- Reading (2D labels): a file is matched by a format's name ``patterns``, then by its ``check``
  (which reads the file's structure); ``read`` returns `ImportedPoints`
  (pose3d.io.label_formats.reader_for, pose3d.pipeline.labels_io.import_labels).
- Exporting: ``export(data, out, options)`` receives the datasets in an `ExportData`, never a
  folder to read; a format that ``streams`` the poses reads them a stretch of time at a time
  (`ExportData.poses_by_part`: poses3d.nc's parts, or the one dataset given). A format
  declares the inputs it ``needs`` (required) and ``uses`` (passed when there are any);
  :func:`export` checks the options and the inputs first and names what is missing and how
  to make it. ``writes="folder"`` formats write files into the folder ``out``
  and never replace a file (`refuse_existing`); ``writes="file"`` formats write the one file
  ``out`` names, atomically. Loading a session's inputs is pose3d.pipeline.labels_io's job.
- Output paths are hostile until checked (names come from files someone else wrote): a folder
  exporter builds each file name from data with pose3d.io.safe_names.file_name and checks its
  files with :func:`new_files` (inside ``out``, no symbolic link on the way, no two names for
  one file, nothing replaced); :func:`export` refuses an ``out`` that is a symbolic link or not
  a regular file (file formats) or a file where a folder is wanted (folder formats) before an
  exporter runs.
"""

from __future__ import annotations

import importlib
import os
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pose3d.errors import Pose3dError
from pose3d.io.safe_names import inside

if TYPE_CHECKING:
    import xarray as xr

    from pose3d.cameras import CameraGroup
    from pose3d.io.label_formats import ImportedPoints
    from pose3d.session import Session

Input = Literal["labels", "poses", "cameras", "session"]
Reader = Callable[[Path], "ImportedPoints"]
Checker = Callable[[Path], "str | None"]  # why the file is not of this format, or None
Exporter = Callable[["ExportData", Path, Mapping[str, str]], list[Path]]  # data, out, options


@dataclass(frozen=True)
class ExportData:
    """What an exporter receives: datasets (validated) and the session's plain data.

    labels   labels.nc's dataset (2D: time, view, space(x, y), keypoint, individual), or None
    poses    poses3d.nc's dataset (3D: time, space(x, y, z), keypoint, individual), or None
    cameras  the calibration, or None
    session  session.toml's data (names, skeleton, fps, cameras' videos and offsets), or None
             for a poses3d.nc without its session
    """

    labels: xr.Dataset | None = None
    poses: xr.Dataset | None = None
    cameras: CameraGroup | None = None
    session: Session | None = None
    # instead of ``poses``, for a format that ``streams`` them: the poses a stretch of time at
    # a time (each call a new pass, e.g. pose3d.io.netcdf.iter_poses of poses3d.nc)
    poses_parts: Callable[[], Iterable[xr.Dataset]] | None = None

    def has(self, name: Input) -> bool:
        """Whether the input ``name`` is here (whole or in parts)."""
        if name == "poses" and self.poses_parts is not None:
            return True
        return getattr(self, name) is not None

    def poses_by_part(self) -> Iterator[xr.Dataset]:
        """The poses, consecutive stretches of time: the parts when given, else the whole
        dataset as one part; raises when there are no poses."""
        if self.poses_parts is not None:
            yield from self.poses_parts()
        elif self.poses is not None:
            yield self.poses
        else:
            raise Pose3dError("no poses to export")


@dataclass(frozen=True)
class Lazy:
    """``module.name``, a function of a format module, imported when first called."""

    module: str
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.name)(*args, **kwargs)


@dataclass(frozen=True)
class Format:
    """One file format: how to recognise and read it, and how to export to it."""

    name: str
    description: str
    patterns: tuple[str, ...] = ()  # fnmatch patterns on the lower-cased file name
    check: Checker | None = None
    read: Reader | None = None
    export: Exporter | None = None
    options: tuple[str, ...] = ()  # the export options it understands
    needs: tuple[Input, ...] = ()  # inputs the export cannot do without
    uses: tuple[Input, ...] = ()  # inputs the export takes when there are any
    writes: Literal["folder", "file"] = "folder"  # what ``out`` names
    # inputs the exporter reads a stretch of time at a time (ExportData.poses_by_part), so that
    # a long recording is exported in memory that does not grow with it
    streams: tuple[Input, ...] = ()


_DLC, _SLEAP, _ANIPOSE = "pose3d.io.dlc", "pose3d.io.sleap", "pose3d.io.anipose"
_MOVEMENT, _NWB = "pose3d.io.movement", "pose3d.io.nwb"

FORMATS: tuple[Format, ...] = (
    Format(
        name="dlc",
        description="DeepLabCut labeled-data folders of the manual labels (reads CollectedData "
        "and predictions, .h5 / .csv)",
        patterns=("*.h5", "*.csv"),
        check=Lazy(_DLC, "check_dlc"),
        read=Lazy(_DLC, "read_dlc"),
        export=Lazy(_DLC, "export_dlc"),
        options=("scorer",),
        needs=("labels", "session"),
    ),
    Format(
        name="sleap-analysis",
        description="SLEAP analysis HDF5 (.analysis.h5)",
        patterns=("*.h5", "*.hdf5"),
        check=Lazy(_SLEAP, "check_analysis"),
        read=Lazy(_SLEAP, "read_analysis"),
    ),
    Format(
        name="sleap",
        description="SLEAP labels (.slp)",
        patterns=("*.slp",),
        check=Lazy(_SLEAP, "check_slp"),
        read=Lazy(_SLEAP, "read_slp"),
    ),
    Format(
        name="anipose",
        description="Anipose pose-3d CSV of poses3d.nc, in OUT/pose-3d/",
        export=Lazy(_ANIPOSE, "export_anipose"),
        options=("individual",),
        needs=("poses", "session"),
        streams=("poses",),
    ),
    Format(
        name="movement",
        description="labels.nc and poses3d.nc, movement's netCDF layout",
        export=Lazy(_MOVEMENT, "export_movement"),
        uses=("labels", "poses"),
    ),
    Format(
        name="nwb",
        description="NWB (ndx-pose): 2D labels per camera and, when triangulated, 3D poses",
        export=Lazy(_NWB, "export_nwb"),
        options=("start_time",),
        needs=("labels", "session"),
        uses=("poses", "cameras"),
    ),
    Format(
        name="anipose-csv",
        description="Anipose pose-3d CSV of poses3d.nc, one individual, to the file OUT",
        export=Lazy(_ANIPOSE, "export_anipose_csv"),
        options=("individual",),
        needs=("poses",),
        writes="file",
        streams=("poses",),
    ),
    Format(
        name="dlc-h5",
        description="DeepLabCut 3D h5 of poses3d.nc, to the file OUT",
        export=Lazy(_DLC, "export_dlc_h5"),
        options=("individual",),
        needs=("poses",),
        writes="file",
        streams=("poses",),
    ),
)


def export_formats(inputs: Collection[Input] | None = None) -> dict[str, Format]:
    """The formats that export, by name, in registration order; with ``inputs``, only those
    that need nothing else (``("poses",)``: what a poses3d.nc alone can be exported to)."""
    return {
        f.name: f
        for f in FORMATS
        if f.export is not None and (inputs is None or _can_export(f, inputs))
    }


def _can_export(fmt: Format, inputs: Collection[Input]) -> bool:
    return set(fmt.needs) <= set(inputs) and bool(set(inputs) & {*fmt.needs, *fmt.uses})


def exporter(
    name: str, options: Mapping[str, str] | None = None, inputs: Collection[Input] | None = None
) -> Format:
    """The export format ``name``, checked to take ``options`` and, when ``inputs`` are given,
    to need nothing else; raises naming the formats / options there are."""
    formats = export_formats()
    if name not in formats:
        raise Pose3dError(f"unknown export format {name!r}; pose3d exports to {', '.join(formats)}")
    fmt = formats[name]
    unknown = sorted(set(options or {}) - set(fmt.options))
    if unknown:
        known = ", ".join(fmt.options) or "none"
        raise Pose3dError(
            f"export format {fmt.name} takes no option {', '.join(unknown)} (its options: {known})"
        )
    for need in fmt.needs:
        if inputs is not None and need not in inputs:
            raise Pose3dError(_missing(fmt, need, None))
    return fmt


def export(
    format_name: str,
    data: ExportData,
    out: str | os.PathLike[str],
    options: Mapping[str, str] | None = None,
) -> list[Path]:
    """Export ``data`` in the format ``format_name`` to ``out`` (a folder, or the file of a
    ``writes="file"`` format); returns the files written. Options and inputs are checked before
    anything is written; a missing input is named with what makes it."""
    fmt = exporter(format_name, options)
    assert fmt.export is not None  # export_formats() holds exporting formats only
    for need in fmt.needs:
        if not data.has(need):
            raise Pose3dError(_missing(fmt, need, data.session))
    if data.labels is None and not data.has("poses"):
        raise Pose3dError(_nothing(fmt, data.session))
    _check_out(fmt, Path(out))
    return fmt.export(data, Path(out), dict(options or {}))


def _check_out(fmt: Format, out: Path) -> None:
    """Refuse an ``out`` the format must not write: for a file format, a symbolic link (the
    file it points to could be anything) or something that is not a regular file; for a folder
    format, something that is not a folder (the user's own link to a folder is followed)."""
    head = f"cannot export to {fmt.name}"
    if fmt.writes == "file":
        if out.is_symlink():
            raise Pose3dError(
                f"{head}: {out} is a symbolic link (to {_link_target(out)}); pose3d replaces "
                "the file OUT names but never writes through a link. Name the file itself, "
                "or remove the link first"
            )
        if out.exists() and not out.is_file():
            what = "a folder" if out.is_dir() else "not a regular file (a FIFO, device or socket)"
            raise Pose3dError(
                f"{head}: {out} is {what}; {fmt.name} writes one file: name the file to write "
                "(a new one, or a regular file to replace)"
            )
    elif os.path.lexists(out) and not out.is_dir():
        what = (
            f"a symbolic link to {_link_target(out)}, not to a folder"
            if out.is_symlink()
            else "a file"
        )
        raise Pose3dError(
            f"{head}: {out} is {what}; {fmt.name} writes files into the folder OUT: name a new "
            "folder or an existing one"
        )


def new_files(out: Path, paths: Iterable[Path]) -> list[Path]:
    """``paths``, the files a folder export will create in ``out``, checked before anything is
    written: each lies inside ``out`` (its names made with pose3d.io.safe_names.file_name), no
    folder on the way from ``out`` and no file is a symbolic link or in a file's place, no two
    are one file (names that differ in case only, on a case-insensitive disk), none exists yet
    (`refuse_existing`). Raises a Pose3dError naming the first problem."""
    files = list(paths)
    seen: dict[str, Path] = {}
    for path in files:
        _refuse_links(out, path)
        inside(out, path.absolute())
        key = unicodedata.normalize("NFC", str(path)).casefold()
        if key in seen:
            raise Pose3dError(
                f"{seen[key].name} and {path.name} would be the same file in {path.parent} "
                "(the names they are made of differ only in case or in characters a file name "
                "cannot hold); rename them, e.g. in session.toml"
            )
        seen[key] = path
    refuse_existing(files)
    return files


def _refuse_links(out: Path, path: Path) -> None:
    """Raise if ``path`` or a folder between ``out`` and it is a symbolic link, or a folder on
    the way is a file."""
    try:
        parts = path.relative_to(out).parts
    except ValueError:
        raise Pose3dError(f"refusing to write {path}: it lies outside {out}") from None
    step = out
    for i, part in enumerate(parts):
        step = step / part
        if step.is_symlink():
            raise Pose3dError(
                f"refusing to write {path}: {step} is a symbolic link (to "
                f"{_link_target(step)}); an export never writes through a link, which could "
                "point anywhere. Export into a new folder, or remove the link"
            )
        if i < len(parts) - 1 and step.exists() and not step.is_dir():
            raise Pose3dError(
                f"cannot write {path}: {step} is a file, where the export writes a folder; "
                "export into a new folder, or move that file away"
            )


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "somewhere unknown"


def _missing(fmt: Format, need: Input, session: Session | None) -> str:
    """What is missing for ``fmt`` and how to make it (naming the session's file)."""
    head = f"cannot export to {fmt.name}"
    if session is None:
        if "session" in fmt.needs:  # the fix is to export the session, whatever else is missing
            return (
                f"{head} without a session: it writes what session.toml describes (names, "
                f"videos, fps); export the session: pose3d export SESSION --format {fmt.name} OUT"
            )
        return f"{head}: it needs the {_WHAT[need]}, and none were given"
    root, paths = session.root, session.paths
    fixes = {
        "labels": f"{paths.labels} does not exist: session {root} has no 2D labels; label "
        f"keypoints (pose3d tui {root}) or import them (pose3d import {root} --view VIEW FILE) "
        "first",
        "poses": f"{paths.poses} does not exist: session {root} has no 3D poses; run "
        f"`pose3d triangulate {root}` first",
        "cameras": f"{paths.calibration} does not exist: session {root} has no calibration; "
        f"run `pose3d calibrate {root}` first",
    }
    return f"{head}: {fixes[need]}"


def _nothing(fmt: Format, session: Session | None) -> str:
    if session is None:
        return f"cannot export to {fmt.name}: neither 2D labels nor 3D poses were given"
    root, paths = session.root, session.paths
    return (
        f"cannot export to {fmt.name}: session {root} has neither {paths.labels} nor "
        f"{paths.poses}; label keypoints (pose3d tui {root}) or import them, and run "
        f"`pose3d triangulate {root}`"
    )


_WHAT: dict[Input, str] = {
    "labels": "2D labels (labels.nc)",
    "poses": "3D poses (poses3d.nc)",
    "cameras": "calibration (calibration.toml)",
    "session": "session (session.toml)",
}


def refuse_existing(paths: Iterable[Path]) -> None:
    """Raise if any of ``paths`` exists (a symbolic link counts, even one pointing nowhere): a
    folder export never replaces a file."""
    existing = [str(p) for p in paths if os.path.lexists(p)]
    if existing:
        raise Pose3dError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "export into a new folder or remove them first"
        )
