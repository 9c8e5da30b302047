"""``pose3d import`` / ``pose3d export`` on a session folder (docs/interop.md).

Import (:func:`import_labels`): the file's format reads it into `ImportedPoints` (the file's own
names and camera frames); keypoints and individuals are renamed through a `NameMap` and checked
against the session, camera frames against the view's video, converted to session frames
(session frame = camera frame + offset) and merged into labels.nc by the labels merge policy
(pose3d.labels): prelabels (source IMPORTED) never replace a manual point; hand labels (source
MANUAL) that would change one are refused as a whole. A keypoint the file marks not visible
(SLEAP's ``visible`` false) becomes a hidden mark with the same provenance. Everything is
checked before labels.nc is written, once, atomically: a failed import leaves it
byte-identical.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.io.formats import ExportData, Input, export, exporter
from pose3d.io.label_formats import ImportedPoints, NameMap, reader_for, renamed
from pose3d.labels import manual_conflicts, merge_points
from pose3d.pipeline.folder import SessionFolder

ImportAs = Literal["labels", "prelabels"]


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote into labels.nc."""

    path: Path
    file_format: str
    view: str
    frames: int  # frames of the file holding at least one point
    manual: int  # points (and hidden marks) written as MANUAL
    imported: int  # points (and hidden marks) written as IMPORTED
    kept: int  # imported points skipped because a manual point was there
    hidden: int = 0  # of those written, hidden marks (the file says: not visible here)


def import_labels(
    folder: SessionFolder,
    view: str,
    path: str | os.PathLike[str],
    as_: ImportAs | None = None,
    name_map: NameMap | None = None,
) -> ImportReport:
    """Import a label file of another tool into one view of the session's labels.nc.

    ``as_=None`` keeps the file's own notion (hand labels -> MANUAL, predictions -> IMPORTED);
    ``"labels"`` makes every point MANUAL, ``"prelabels"`` every point IMPORTED.
    """
    session = folder.session
    path = Path(path)
    session.camera(view)
    fmt = reader_for(path)
    assert fmt.read is not None
    points = renamed(fmt.read(path), session, name_map or NameMap())
    _check_frames(folder, view, points)
    labels = folder.labels_or_new()
    manual = points.manual if as_ is None else np.full_like(points.manual, as_ == "labels")
    labels, report = _merge(labels, folder, view, points, manual, fmt.name)
    folder.save_labels(labels)
    return report


def _check_frames(folder: SessionFolder, view: str, points: ImportedPoints) -> None:
    from pose3d.io.video_reading import VideoReader

    video = folder.videos()[view].path
    with VideoReader(video) as reader:
        n = reader.n_frames
    bad = points.frames[(points.frames < 0) | (points.frames >= n)]
    if bad.size:
        shown = ", ".join(str(f) for f in bad[:10].tolist()) + (" ..." if bad.size > 10 else "")
        raise Pose3dError(
            f"{points.path} has labels on frames {shown} ({bad.size} frames), but the video of "
            f"view {view} ({video}) has frames 0-{n - 1}; nothing was imported. Is this the "
            "file of another video or view?"
        )


def _on_labels(
    labels: xr.Dataset, view: str, frames: NDArray[np.int64], points: ImportedPoints
) -> tuple[xr.DataArray, xr.DataArray]:
    """The file's points as (position, confidence) DataArrays on the labels' coordinates."""
    coords = {
        s.TIME: frames,
        s.VIEW: [view],
        s.KEYPOINT: list(points.keypoints),
        s.INDIVIDUAL: list(points.individuals),
    }
    xy = points.position.transpose(0, 3, 2, 1)[:, None]  # (F, I, K, 2) -> (F, 1, 2, K, I)
    position = xr.DataArray(
        xy,
        dims=s.LABEL_DIMS[s.POSITION],
        coords={**coords, s.SPACE: list(s.SPACE_2D)},
    )
    cells = points.confidence.transpose(0, 2, 1)[:, None]  # (F, I, K) -> (F, 1, K, I)
    confidence = xr.DataArray(cells, dims=s.LABEL_DIMS[s.CONFIDENCE], coords=coords)
    return position, confidence


def _merge(
    labels: xr.Dataset,
    folder: SessionFolder,
    view: str,
    points: ImportedPoints,
    manual: NDArray[np.bool_],
    format_name: str,
) -> tuple[xr.Dataset, ImportReport]:
    frames = points.frames + folder.session.camera(view).offset
    time = labels[s.TIME].values
    missing = ~np.isin(frames, time)
    if missing.any():
        raise Pose3dError(
            f"{points.path}: session frames {frames[missing][:10].tolist()} are not in "
            f"{folder.paths.labels} (frames {time[0]}-{time[-1]}); nothing was imported"
        )
    position, confidence = _on_labels(labels, view, frames, points)
    is_manual = xr.DataArray(manual.transpose(0, 2, 1)[:, None], dims=confidence.dims)
    hidden = xr.DataArray(points.hidden.transpose(0, 2, 1)[:, None], dims=confidence.dims)
    by_hand = position.where(is_manual)
    conflicts = manual_conflicts(labels, by_hand, hidden & is_manual)
    if conflicts.any():
        _refuse(points, view, conflicts)
    has = position.notnull().all(s.SPACE) | hidden
    was_manual = labels[s.SOURCE].loc[{d: confidence[d].values for d in confidence.dims}] == (
        s.PointSource.MANUAL
    )
    labels, wrote_manual = merge_points(
        labels, by_hand, xr.ones_like(confidence), s.PointSource.MANUAL, hidden=hidden & is_manual
    )
    labels, wrote_imported = merge_points(
        labels,
        position.where(~is_manual),
        confidence,
        s.PointSource.IMPORTED,
        hidden=hidden & ~is_manual,
    )
    report = ImportReport(
        points.path,
        format_name,
        view,
        int(has.any((s.VIEW, s.KEYPOINT, s.INDIVIDUAL)).sum()),
        int(wrote_manual.sum()),
        int(wrote_imported.sum()),
        int((has & ~is_manual & was_manual.values).sum()),
        int(((wrote_manual | wrote_imported) & hidden).sum()),
    )
    return labels, report


def _refuse(points: ImportedPoints, view: str, conflicts: xr.DataArray) -> None:
    where = conflicts.isel({s.VIEW: 0}).stack(cell=(s.TIME, s.KEYPOINT, s.INDIVIDUAL))
    cells = where[s.TIME].values[where.values][:5], where[s.KEYPOINT].values[where.values][:5]
    shown = ", ".join(f"frame {f} {k}" for f, k in zip(*cells, strict=True))
    raise Pose3dError(
        f"{points.path}: {int(conflicts.sum())} points would replace manual points (or hidden "
        f"marks) already in view {view} ({shown}); nothing was imported. Delete those points "
        "first, or import with --as prelabels, which keeps the existing manual points"
    )


# --- export ------------------------------------------------------------------------------------


def export_session(
    folder: SessionFolder,
    format_name: str,
    out: str | os.PathLike[str],
    options: Mapping[str, str] | None = None,
) -> list[Path]:
    """Export the session in the registered format ``format_name`` (pose3d.io.formats) to
    ``out``; returns the files written.

    The format's options are checked first; then what the format needs and uses (labels.nc,
    poses3d.nc, calibration.toml) is loaded, those files that exist, and handed to its exporter
    with the session's data; a missing input is named with what makes it. A format that
    streams the poses reads poses3d.nc a part at a time. ``options`` are the
    format's own (dlc: ``scorer``; anipose, anipose-csv, dlc-h5: ``individual``; nwb:
    ``start_time``). A folder opened read-only (``SessionFolder(root, write=False)``) is enough.
    """
    fmt = exporter(format_name, options)
    wanted = {*fmt.needs, *fmt.uses}
    poses = "poses" in wanted and folder.has_poses()
    parts = poses and "poses" in fmt.streams  # a long recording is read a part at a time
    data = ExportData(
        labels=folder.labels() if "labels" in wanted and folder.has_labels() else None,
        poses=folder.poses() if poses and not parts else None,
        cameras=folder.cameras_or_none() if "cameras" in wanted else None,
        session=folder.session,
        poses_parts=folder.poses_in_parts if parts else None,
    )
    return export(fmt.name, data, out, options)


_POSES_ONLY: tuple[Input, ...] = ("poses",)


def export_poses(
    poses: xr.Dataset,
    format_name: str,
    out: str | os.PathLike[str],
    options: Mapping[str, str] | None = None,
) -> list[Path]:
    """Export a poses dataset without its session (``pose3d triangulate --export``) in a format
    that needs nothing else (anipose-csv, dlc-h5, movement); returns the files written."""
    exporter(format_name, options, inputs=_POSES_ONLY)
    return export(format_name, ExportData(poses=poses), out, options)


def export_poses_file(
    path: str | os.PathLike[str],
    format_name: str,
    out: str | os.PathLike[str],
    options: Mapping[str, str] | None = None,
) -> list[Path]:
    """Export the poses3d.nc file ``path`` (``pose3d export-3d``): see `export_poses`."""
    from pose3d.io.netcdf import iter_poses, load_poses

    fmt = exporter(format_name, options, inputs=_POSES_ONLY)
    if "poses" in fmt.streams:  # a part at a time: memory does not grow with the recording
        data = ExportData(poses_parts=lambda: iter_poses(path))
        return export(format_name, data, out, options)
    return export_poses(load_poses(path), format_name, out, options)
