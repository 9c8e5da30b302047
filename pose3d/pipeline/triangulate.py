"""``pose3d triangulate`` and ``pose3d sync`` on a session folder, and triangulation of
standalone files.

:func:`triangulate_session` reads labels.nc and the calibration, takes the skeleton's edges
and the frame rate from session.toml and writes poses3d.nc. :func:`sync_session` estimates the
cameras' frame offsets from labels.nc, writes them to session.toml and moves each view's labels
so that they stay with their camera frames. Both write under the folder's lock; the algorithms
are pose3d.triangulation's.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.pipeline.folder import SessionFolder
from pose3d.progress import ProgressCallback
from pose3d.session import Session
from pose3d.triangulation.api import TriangulationSettings, triangulate_labels
from pose3d.triangulation.sync import SyncResult, TooFewLabels, estimate_offsets, shift_labels


def triangulate_session(
    folder: SessionFolder,
    settings: TriangulationSettings | None = None,
    progress: ProgressCallback | None = None,
    labels: xr.Dataset | None = None,
) -> xr.Dataset:
    """Triangulate the session's labels into its poses3d.nc; returns the poses. ``labels``:
    the labels being edited (the TUI's, in memory); default: labels.nc."""
    from pose3d.io.netcdf_file import frames_of

    session = folder.session
    poses = triangulate_labels(
        folder.labels_in_parts() if labels is None else labels,  # a long recording: in parts
        folder.cameras(),
        settings,
        session.skeleton.edges,
        session.fps,
        progress,
        where=str(folder.paths.labels),
        frames=frames_of(folder.paths.labels) if labels is None else None,
    )
    folder.save_poses(poses)
    return poses


def triangulate_files(
    calibration: str | os.PathLike[str],
    labels: str | os.PathLike[str],
    out: str | os.PathLike[str],
    settings: TriangulationSettings | None = None,
    edges: Sequence[tuple[str, str]] = (),
    fps: float | None = None,
    progress: ProgressCallback | None = None,
) -> xr.Dataset:
    """Triangulate a standalone labels.nc with a calibration.toml into ``out`` (poses3d.nc)."""
    from pose3d.io.calibration_toml import load_calibration
    from pose3d.io.netcdf import load_labels, save_poses

    poses = triangulate_labels(
        load_labels(labels),
        load_calibration(calibration),
        settings,
        edges,
        fps,
        progress,
        where=str(Path(labels)),
    )
    save_poses(out, poses)
    return poses


@dataclass(frozen=True)
class SyncReport:
    """What ``sync_session`` found and did."""

    result: SyncResult
    offsets: dict[str, int]  # the new offsets of session.toml
    dropped: dict[str, dict[s.PointSource, int]]  # per view and source: points moved out of
    # the labels' frames and dropped (never manual: sync refuses to drop one)
    written: bool

    @property
    def dropped_points(self) -> int:
        return sum(n for counts in self.dropped.values() for n in counts.values())


def sync_session(
    folder: SessionFolder,
    views: Sequence[str] | None = None,
    reference: str | None = None,
    max_offset: int = 10,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> SyncReport:
    """Estimate the cameras' frame offsets from labels.nc; unless ``dry_run``, write them to
    session.toml and move each view's labels with its camera frames.

    Refuses (Pose3dError, nothing written) when the labels cannot score every candidate offset
    and when moving the labels would drop a manual point; keeps the current offsets when the
    estimate does not lower the reprojection error (``report.result.kept_current``).
    """
    labels = folder.labels()
    try:
        result = estimate_offsets(
            labels[s.POSITION],
            folder.cameras(),
            labels[s.CONFIDENCE],
            views=views,
            reference=reference,
            max_offset=max_offset,
            progress=progress,
        )
    except TooFewLabels as error:
        raise Pose3dError(
            f"{error.why}; label or track at least {error.frames_needed} consecutive frames in "
            f"every view first (pose3d track {shlex.quote(str(folder.root))} --view all), or "
            "search a narrower range (--max-offset); nothing was written"
        ) from None

    def shifted(now: Session) -> Session:  # applied to session.toml as it is when written
        return now.with_offsets(
            {c.name: c.offset + result.corrections.get(c.name, 0) for c in now.cameras}
        )

    offsets = {c.name: c.offset for c in shifted(folder.session).cameras}
    try:
        moved, dropped = shift_labels(labels, result.corrections)
    except Pose3dError as error:
        raise Pose3dError(f"{error}; nothing was written") from None
    changed = any(result.corrections.values())
    if changed and not dry_run:
        folder.save_labels(moved)
        offsets = {c.name: c.offset for c in folder.update_session(shifted).cameras}
    return SyncReport(result, offsets, dropped, changed and not dry_run)
