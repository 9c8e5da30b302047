"""Triangulation and sync of a session folder, and of standalone files.

``triangulate_session`` reads ``labels.nc`` and ``calibration/calibration.toml``, takes the
skeleton's edges and the frame rate from session.toml and writes ``poses3d.nc`` under the
session lock. ``sync_session`` estimates frame offsets from labels.nc, writes them to
session.toml and moves each view's labels so that they stay with their camera frames.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels, save_labels, save_poses
from pose3d.io.session_toml import load_session, save_session
from pose3d.progress import ProgressCallback
from pose3d.session import Session
from pose3d.triangulation.api import ATTR_VIEWS, triangulate
from pose3d.triangulation.ransac import RansacOptions
from pose3d.triangulation.refine import RefineOptions
from pose3d.triangulation.sync import SyncResult, estimate_offsets, shift_labels


@dataclass(frozen=True)
class TriangulationSettings:
    """Everything a caller may choose about triangulation, with the library's defaults."""

    method: str = "dlt"
    views: tuple[str, ...] | None = None
    ransac: RansacOptions = field(default_factory=RansacOptions)
    refine: RefineOptions = field(default_factory=RefineOptions)
    interpolate: bool = False
    unit: str | None = None  # the unit expected of the calibration


def _as_session(session: Session | str | os.PathLike[str]) -> Session:
    return session if isinstance(session, Session) else load_session(session)


def _calibration(path: Path) -> CameraGroup:
    if not path.is_file():
        raise Pose3dError(
            f"no calibration: {path} is missing; calibrate the session first (or copy an "
            "Anipose calibration.toml there)"
        )
    return load_calibration(path)


def _run(
    labels: xr.Dataset,
    cameras: CameraGroup,
    settings: TriangulationSettings,
    edges: Sequence[tuple[str, str]],
    fps: float | None,
    where: Path,
    progress: ProgressCallback | None,
) -> xr.Dataset:
    poses = triangulate(
        labels[s.POSITION],
        cameras,
        labels[s.CONFIDENCE],
        method=settings.method,
        views=settings.views,
        edges=edges,
        ransac_options=settings.ransac,
        refine_options=settings.refine,
        interpolate=settings.interpolate,
        fps=fps,
        unit=settings.unit,
        progress=progress,
    )
    if not (poses[s.N_VIEWS].values > 0).any():
        views = poses.attrs.get(ATTR_VIEWS, "")
        raise Pose3dError(
            f"{where}: no point is seen by two or more of the views {views} (with RANSAC: by "
            "two views that agree); label each keypoint in at least two views, or check that "
            "the calibration belongs to these videos"
        )
    return poses


def triangulate_session(
    session: Session | str | os.PathLike[str],
    settings: TriangulationSettings | None = None,
    progress: ProgressCallback | None = None,
    lock: SessionLock | None = None,
) -> xr.Dataset:
    """Triangulate a session's labels.nc into its poses3d.nc (written under the lock;
    ``lock``: a SessionLock the caller already holds, e.g. the TUI's; otherwise one is taken)."""
    session = _as_session(session)
    held = lock is not None and lock.held
    with contextlib.nullcontext() if held else SessionLock(session.root):
        labels = load_labels(session.labels_path)
        cameras = _calibration(session.calibration_path)
        poses = _run(
            labels,
            cameras,
            settings or TriangulationSettings(),
            session.skeleton.edges,
            session.fps,
            session.labels_path,
            progress,
        )
        save_poses(session.poses_path, poses)
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
    labels_ds = load_labels(labels)
    cameras = _calibration(Path(calibration))
    poses = _run(
        labels_ds, cameras, settings or TriangulationSettings(), edges, fps, Path(labels), progress
    )
    save_poses(out, poses)
    return poses


@dataclass(frozen=True)
class SyncReport:
    """What ``sync_session`` found and did."""

    result: SyncResult
    offsets: dict[str, int]  # the new offsets of session.toml
    dropped_points: int  # labelled points moved out of the time range
    written: bool


def sync_session(
    session: Session | str | os.PathLike[str],
    views: Sequence[str] | None = None,
    reference: str | None = None,
    max_offset: int = 10,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> SyncReport:
    """Estimate the cameras' frame offsets from labels.nc; unless ``dry_run``, write them to
    session.toml and move each view's labels with its camera frames (under the lock)."""
    session = _as_session(session)
    with SessionLock(session.root):
        labels = load_labels(session.labels_path)
        cameras = _calibration(session.calibration_path)
        result = estimate_offsets(
            labels[s.POSITION],
            cameras,
            labels[s.CONFIDENCE],
            views=views,
            reference=reference,
            max_offset=max_offset,
            progress=progress,
        )
        offsets = {c.name: c.offset + result.corrections.get(c.name, 0) for c in session.cameras}
        moved, dropped = shift_labels(labels, result.corrections)
        changed = any(result.corrections.values())
        if changed and not dry_run:
            save_labels(session.labels_path, moved)
            save_session(session.with_offsets(offsets))
    return SyncReport(result, offsets, dropped, changed and not dry_run)
