"""Files of other tools (DeepLabCut, SLEAP, Anipose, movement, NWB): the format registry,
import of 2D labels, export of a session.

A format module (``pose3d/io/dlc.py``, ``pose3d/io/sleap.py``, ...) declares ``FORMATS``, a
tuple of `LabelFormat`; adding a format is one entry in ``_FORMAT_MODULES``. A file is matched by
its name patterns, then by the format's ``check`` (which reads the file's structure), never by
an if/elif on suffixes.

Import (`import_labels`): the reader returns `ImportedPoints` in the file's own names and camera
frames; keypoints and individuals are renamed through a `NameMap`, checked against the session,
camera frames are checked against the view's video, converted to session frames
(session frame = camera frame + offset) and written into labels.nc under the session lock,
atomically. Manual points already in labels.nc are never overwritten: prelabels (source
IMPORTED) leave them as they are; labels (source MANUAL) that would change one are refused as a
whole. A failed import leaves labels.nc byte-identical.

Export (`export_session`): the format's exporter reads what it needs from the session
(`session_labels`, `session_poses`, which name the missing file), refuses to replace files that
exist, and writes each file atomically; it returns the files written.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.session import Session

ImportAs = Literal["labels", "prelabels"]

_FORMAT_MODULES = (
    "pose3d.io.dlc",
    "pose3d.io.sleap",
    "pose3d.io.anipose",
    "pose3d.io.movement",
    "pose3d.io.nwb",
)
_SAME_PX = 1e-6  # two manual points closer than this (px) are the same point


@dataclass(frozen=True)
class ImportedPoints:
    """2D points read from another tool's file, in the file's names and the camera's frames.

    frames      (F,)          camera frame numbers (0 = first frame of the view's video), unique
    position    (F, I, K, 2)  px, x then y, centre of the top-left pixel = (0, 0); NaN = no point
    confidence  (F, I, K)     0-1, NaN = unknown
    manual      (F, I, K)     bool: the file says a human placed the point
    """

    path: Path
    frames: NDArray[np.int64]
    individuals: tuple[str, ...]
    keypoints: tuple[str, ...]
    position: NDArray[np.float64]
    confidence: NDArray[np.float64]
    manual: NDArray[np.bool_]

    def __post_init__(self) -> None:
        f, i, k = len(self.frames), len(self.individuals), len(self.keypoints)
        if self.position.shape != (f, i, k, 2) or self.confidence.shape != (f, i, k):
            raise ValueError(
                f"ImportedPoints shapes disagree: {self.position.shape} vs {(f, i, k)}"
            )
        if len(set(self.frames.tolist())) != f:
            raise Pose3dError(f"{self.path}: a frame is listed twice; remove the duplicate rows")


Reader = Callable[[Path], ImportedPoints]
Checker = Callable[[Path], "str | None"]  # why the file is not of this format, or None
Exporter = Callable[[Session, Path, Mapping[str, str]], list[Path]]  # session, out folder


@dataclass(frozen=True)
class LabelFormat:
    """One file format: how to recognise it, read it into points, and export a session to it."""

    name: str
    description: str
    patterns: tuple[str, ...] = ()  # fnmatch patterns on the lower-cased file name
    check: Checker | None = None
    read: Reader | None = None
    export: Exporter | None = None
    options: tuple[str, ...] = ()  # the export options it understands


def label_formats() -> dict[str, LabelFormat]:
    """Every registered format by name, in registration order (modules imported on first use)."""
    formats: dict[str, LabelFormat] = {}
    for module in _FORMAT_MODULES:
        for fmt in importlib.import_module(module).FORMATS:
            formats[fmt.name] = fmt
    return formats


def reader_for(path: str | os.PathLike[str]) -> LabelFormat:
    """The registered format that reads ``path``; raises naming the formats that were tried."""
    path = Path(path)
    if not path.exists():
        raise Pose3dError(f"{path} does not exist; check the path")
    readable = [f for f in label_formats().values() if f.read is not None]
    name = path.name.lower()
    tried = []
    for fmt in readable:
        if not any(fnmatch.fnmatch(name, p) for p in fmt.patterns):
            continue
        why = fmt.check(path) if fmt.check is not None else None
        if why is None:
            return fmt
        tried.append(f"{fmt.name}: {why}")
    known = "; ".join(f"{f.name} ({', '.join(f.patterns)})" for f in readable)
    detail = f" It was tried as {'; '.join(tried)}." if tried else ""
    raise Pose3dError(
        f"{path} is not a label file pose3d can import.{detail} Supported: {known}; "
        "export the labels from the other tool again if the file is damaged"
    )


def exporter(name: str) -> LabelFormat:
    """The registered format ``name`` that can export a session."""
    formats = {n: f for n, f in label_formats().items() if f.export is not None}
    if name not in formats:
        raise Pose3dError(f"unknown export format {name!r}; pose3d exports to {', '.join(formats)}")
    return formats[name]


@dataclass(frozen=True)
class NameMap:
    """Renames from a file's keypoints / individuals to the session's (a TOML mapping table).

    ```toml
    ignore = ["Joystick1"]        # file keypoints to leave out
    [keypoints]
    snout = "nose"                # file name = session name
    [individuals]
    track_0 = "mouse"
    ```
    """

    keypoints: Mapping[str, str] = field(default_factory=dict)
    individuals: Mapping[str, str] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()


def load_name_map(path: str | os.PathLike[str]) -> NameMap:
    """Read a mapping table (see `NameMap`); raises naming the file and the bad entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise Pose3dError(
            f"mapping table {path} cannot be read ({exc}); expected TOML with a [keypoints] "
            'table of file_name = "session_name" lines'
        ) from None
    unknown = sorted(set(data) - {"keypoints", "individuals", "ignore"})
    if unknown:
        raise Pose3dError(
            f"mapping table {path}: unknown entries {unknown}; expected [keypoints], "
            "[individuals] and ignore = [...]"
        )
    tables: dict[str, dict[str, str]] = {}
    for key in ("keypoints", "individuals"):
        table = data.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise Pose3dError(
                f'mapping table {path}: [{key}] must hold file_name = "session_name" lines'
            )
        tables[key] = table
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        raise Pose3dError(f'mapping table {path}: ignore must be a list of names, e.g. ["tail"]')
    return NameMap(tables["keypoints"], tables["individuals"], frozenset(ignore))


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote into labels.nc."""

    path: Path
    file_format: str
    view: str
    frames: int  # frames of the file holding at least one point
    manual: int  # points written as MANUAL
    imported: int  # points written as IMPORTED
    kept: int  # imported points skipped because a manual point was there


def import_labels(
    session: Session,
    view: str,
    path: str | os.PathLike[str],
    as_: ImportAs | None = None,
    name_map: NameMap | None = None,
) -> ImportReport:
    """Import a label file of another tool into one view of ``session``'s labels.nc.

    ``as_=None`` keeps the file's own notion (hand labels -> MANUAL, predictions -> IMPORTED);
    ``"labels"`` makes every point MANUAL, ``"prelabels"`` every point IMPORTED. Everything is
    validated before labels.nc is touched; see the module docstring for the merge rules.
    """
    from pose3d.io.lock import SessionLock
    from pose3d.io.netcdf import load_labels, save_labels

    path = Path(path)
    session.camera(view)
    fmt = reader_for(path)
    assert fmt.read is not None
    points = _renamed(fmt.read(path), session, name_map or NameMap())
    _check_frames(session, view, points)
    with SessionLock(session.root):
        if session.labels_path.exists():
            labels = load_labels(session.labels_path)
        else:
            labels = _empty_labels(session)
        manual = points.manual if as_ is None else np.full_like(points.manual, as_ == "labels")
        labels, report = _merge(labels, session, view, points, manual, fmt.name)
        save_labels(session.labels_path, labels)
    return report


def export_session(
    session: Session,
    format_name: str,
    out: str | os.PathLike[str],
    options: Mapping[str, str] | None = None,
) -> list[Path]:
    """Export ``session`` into the folder ``out`` in a registered format; returns files written.

    ``options`` are the format's own (dlc: ``scorer``; anipose: ``individual``; nwb:
    ``start_time``); an option the format does not know is refused.
    """
    fmt = exporter(format_name)
    assert fmt.export is not None
    options = dict(options or {})
    unknown = sorted(set(options) - set(fmt.options))
    if unknown:
        known = ", ".join(fmt.options) or "none"
        raise Pose3dError(
            f"export format {fmt.name} takes no option {', '.join(unknown)} (its options: {known})"
        )
    return fmt.export(session, Path(out), options)


def session_labels(session: Session) -> xr.Dataset:
    """The session's labels.nc, validated; raises naming the file when there is none."""
    from pose3d.io.netcdf import load_labels

    if not session.labels_path.exists():
        raise Pose3dError(
            f"{session.labels_path} does not exist: the session has no labels to export; "
            "label frames or import labels first"
        )
    return load_labels(session.labels_path)


def session_poses(session: Session) -> xr.Dataset:
    """The session's poses3d.nc, validated; raises naming the file when there is none."""
    from pose3d.io.netcdf import load_poses

    if not session.poses_path.exists():
        raise Pose3dError(
            f"{session.poses_path} does not exist: the session has no 3D poses to export; "
            f"run `pose3d triangulate {session.root}` first"
        )
    return load_poses(session.poses_path)


def refuse_existing(paths: Iterable[Path]) -> None:
    """Raise if any of ``paths`` exists: an export never replaces a file."""
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise Pose3dError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "export into a new folder or remove them first"
        )


def _renamed(points: ImportedPoints, session: Session, names: NameMap) -> ImportedPoints:
    keep = [i for i, k in enumerate(points.keypoints) if k not in names.ignore]
    keypoints = tuple(names.keypoints.get(points.keypoints[i], points.keypoints[i]) for i in keep)
    unknown = [k for k in keypoints if k not in session.skeleton.keypoints]
    if unknown:
        raise Pose3dError(
            f"{points.path} holds keypoints the session does not have: {', '.join(unknown)} "
            f"(session keypoints: {', '.join(session.skeleton.keypoints)}); nothing was "
            "imported. Give a mapping table (--map MAP.toml, see docs/interop.md) that renames "
            "or ignores them"
        )
    if len(set(keypoints)) != len(keypoints):
        raise Pose3dError(f"{points.path}: the mapping table maps two keypoints to one name")
    individuals = tuple(names.individuals.get(i, i) for i in points.individuals)
    if len(individuals) == 1 and len(session.individuals) == 1 and not names.individuals:
        individuals = session.individuals
    unknown = [i for i in individuals if i not in session.individuals]
    if unknown:
        raise Pose3dError(
            f"{points.path} holds individuals the session does not have: {', '.join(unknown)} "
            f"(session individuals: {', '.join(session.individuals)}); nothing was imported. "
            "Map them in the [individuals] table of a mapping table (--map MAP.toml)"
        )
    return ImportedPoints(
        points.path,
        points.frames,
        individuals,
        keypoints,
        points.position[:, :, keep],
        points.confidence[:, :, keep],
        points.manual[:, :, keep],
    )


def _n_video_frames(session: Session, view: str) -> int:
    from pose3d.io.video import VideoReader

    with VideoReader(session.video_path(view)) as reader:
        return reader.n_frames


def _check_frames(session: Session, view: str, points: ImportedPoints) -> None:
    n = _n_video_frames(session, view)
    bad = points.frames[(points.frames < 0) | (points.frames >= n)]
    if bad.size:
        shown = ", ".join(str(f) for f in bad[:10].tolist()) + (" ..." if bad.size > 10 else "")
        raise Pose3dError(
            f"{points.path} has labels on frames {shown} ({bad.size} frames), but the video of "
            f"view {view} ({session.video_path(view)}) has frames 0-{n - 1}; nothing was "
            "imported. Is this the file of another video or view?"
        )


def _empty_labels(session: Session) -> xr.Dataset:
    from pose3d.labels import new_labels

    end = max(_n_video_frames(session, c.name) + c.offset for c in session.cameras)
    return new_labels(end, session.camera_names, session.skeleton.keypoints, session.individuals)


def _merge(
    labels: xr.Dataset,
    session: Session,
    view: str,
    points: ImportedPoints,
    manual: NDArray[np.bool_],
    format_name: str,
) -> tuple[xr.Dataset, ImportReport]:
    offset = session.camera(view).offset
    time = labels[s.TIME].values
    frames = points.frames + offset
    t = np.searchsorted(time, frames)
    missing = (t >= time.size) | (time[np.minimum(t, time.size - 1)] != frames)
    if missing.any():
        raise Pose3dError(
            f"{points.path}: session frames {frames[missing][:10].tolist()} are not in "
            f"{session.labels_path} (frames {time[0]}-{time[-1]}); nothing was imported"
        )
    v = list(labels[s.VIEW].values).index(view)
    k = np.array([list(labels[s.KEYPOINT].values).index(name) for name in points.keypoints])
    i = np.array([list(labels[s.INDIVIDUAL].values).index(name) for name in points.individuals])
    out = labels.copy(deep=True)
    pos = out[s.POSITION].values  # (T, V, 2, K, I)
    conf, src, rev = (out[n].values for n in (s.CONFIDENCE, s.SOURCE, s.REVIEW))  # (T, V, K, I)
    grid = np.ix_(t, i, k)  # (F, I, K) index into the view's (T, I, K) planes
    cur_pos = pos[:, v].transpose(0, 3, 2, 1)[grid]  # (T, 2, K, I) -> (F, I, K, 2)
    cur_src = src[:, v].transpose(0, 2, 1)[grid]
    has = np.isfinite(points.position).all(-1)
    was_manual = cur_src == s.PointSource.MANUAL
    to_manual = has & manual
    changed = to_manual & was_manual & (np.abs(cur_pos - points.position) > _SAME_PX).any(-1)
    if changed.any():
        f, _, kp = (a[:5] for a in np.nonzero(changed))
        where = ", ".join(
            f"frame {frames[a]} {points.keypoints[c]}" for a, c in zip(f, kp, strict=True)
        )
        raise Pose3dError(
            f"{points.path}: {int(changed.sum())} points would replace manual points already in "
            f"view {view} ({where}); nothing was imported. Delete those points first, or import "
            "with --as prelabels, which keeps the existing manual points"
        )
    to_imported = has & ~manual & ~was_manual
    for sel, source in ((to_manual, s.PointSource.MANUAL), (to_imported, s.PointSource.IMPORTED)):
        a, b, c = np.nonzero(sel)
        tt, ii, kk = t[a], i[b], k[c]
        pos[tt, v, 0, kk, ii] = points.position[a, b, c, 0]
        pos[tt, v, 1, kk, ii] = points.position[a, b, c, 1]
        value = 1.0 if source == s.PointSource.MANUAL else points.confidence[a, b, c]
        conf[tt, v, kk, ii] = np.clip(value, 0.0, 1.0)
        src[tt, v, kk, ii] = int(source)
        rev[tt, v, kk, ii] = False
    report = ImportReport(
        points.path,
        format_name,
        view,
        int(np.any(has, axis=(1, 2)).sum()),
        int(to_manual.sum()),
        int(to_imported.sum()),
        int((has & ~manual & was_manual).sum()),
    )
    return out, report
