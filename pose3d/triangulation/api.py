"""``triangulate``: 2D labels of several views -> a movement-compatible poses3d dataset.

Methods:

- ``dlt``: weighted linear triangulation from every view that sees the point;
- ``ransac``: the best consistent pair of views, then every view that agrees with it (within
  ``RansacOptions.threshold`` px) — one wrong 2D point does not drag the 3D point;
- ``optim``: RANSAC, then robust non-linear refinement over all frames with temporal smoothness
  and bone-length terms (Anipose's ``triangulate_optim``).

Per 3D point: ``reprojection_error`` is the mean over the views used of the distance (px)
between the label and the reprojected point; ``n_views`` the number of views used (for RANSAC
and optim: the inliers); ``confidence`` the mean confidence of the views used (a label without
a confidence counts as 1). Points seen by fewer than two (consistent) views are NaN with
``n_views = 0`` unless ``interpolate`` fills gaps between frames where the keypoint was
triangulated (filled points keep ``n_views = 0`` and get confidence 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.poses import poses_dataset
from pose3d.progress import ProgressCallback
from pose3d.triangulation.blocks import finite_rows
from pose3d.triangulation.gaps import interior_gaps, interpolate_time
from pose3d.triangulation.observations import Observations, observations, resolve_unit
from pose3d.triangulation.points import triangulate_points
from pose3d.triangulation.projection import Lens, lenses
from pose3d.triangulation.ransac import RansacOptions
from pose3d.triangulation.refine import RefineOptions, refine_windows
from pose3d.triangulation.reprojection import mean_error, view_errors

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

METHODS = ("dlt", "ransac", "optim")
ATTR_METHOD = "pose3d_triangulation"
ATTR_VIEWS = "pose3d_views"


# DLT and RANSAC (without interpolation, which looks across time) solve this many frames at a
# time: their memory stays flat as the recording grows (benchmarks/batch.py --memory)
CHUNK_FRAMES = 4096


def triangulate(
    position: xr.DataArray,
    cameras: CameraGroup,
    confidence: xr.DataArray | None = None,
    *,
    method: str = "dlt",
    views: Sequence[str] | None = None,
    edges: Sequence[tuple[str, str]] = (),
    ransac_options: RansacOptions | None = None,
    refine_options: RefineOptions | None = None,
    interpolate: bool = False,
    fps: float | None = None,
    unit: str | None = None,
    progress: ProgressCallback | None = None,
) -> xr.Dataset:
    """Triangulate 2D labels into a poses3d dataset (see the module docstring).

    ``position`` [time, view, space(x, y), keypoint, individual] in distorted pixels and
    ``confidence`` [time, view, keypoint, individual] as in labels.nc; ``cameras`` matched to
    views by name; ``views`` a subset of the labels' views (default: all); ``edges`` keypoint
    name pairs for the bone-length term of ``optim``; ``unit`` the unit the caller expects (an
    error if the calibration says otherwise; used when the calibration does not say).
    """
    if method not in METHODS:
        raise Pose3dError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    n_time = position.sizes[s.TIME]
    if method != "optim" and not interpolate and n_time > CHUNK_FRAMES:
        return _in_chunks(
            position, cameras, confidence, method, views, edges, ransac_options, fps, unit,
            progress,
        )  # fmt: skip
    space_unit = resolve_unit(cameras.unit, unit)
    obs = observations(position, cameras, confidence, views)
    edge_indices = _edge_indices(edges, obs.keypoints)
    report = progress or _no_progress
    points, used = _solve(
        obs,
        method,
        edge_indices,
        ransac_options or RansacOptions(),
        refine_options or RefineOptions(),
        report,
    )
    return _dataset(obs, points, used, method, interpolate, fps, space_unit)


def _in_chunks(
    position: xr.DataArray,
    cameras: CameraGroup,
    confidence: xr.DataArray | None,
    method: str,
    views: Sequence[str] | None,
    edges: Sequence[tuple[str, str]],
    ransac_options: RansacOptions | None,
    fps: float | None,
    unit: str | None,
    progress: ProgressCallback | None,
) -> xr.Dataset:
    """DLT and RANSAC solve each frame alone: ``CHUNK_FRAMES`` at a time, so that their working
    memory does not grow with the recording; the result is the one-shot result, exactly. (The
    solve alone is chunked for every method, see ``_solve``; chunking here as well keeps the
    observations and the dataset's per-view errors of one chunk only: 423 MB instead of 579 MB
    at 108,000 frames, benchmarks/batch.py --memory 108000 --method dlt.)"""
    report = progress or _no_progress
    n_time = position.sizes[s.TIME]
    starts = range(0, n_time, CHUNK_FRAMES)
    parts = []
    for done, start in enumerate(starts):
        report(f"triangulating ({method})", done, len(starts))
        window = {s.TIME: slice(start, start + CHUNK_FRAMES)}
        parts.append(
            triangulate(
                position.isel(window),
                cameras,
                None if confidence is None else confidence.isel(window),
                method=method,
                views=views,
                edges=edges,
                ransac_options=ransac_options,
                fps=fps,
                unit=unit,
            )
        )
    report(f"triangulating ({method})", len(starts), len(starts))
    return join_poses(parts)


def join_poses(parts: Sequence[xr.Dataset]) -> xr.Dataset:
    """Poses of consecutive stretches of time, one dataset (the first one's attributes)."""
    return xr.concat(
        parts, dim=s.TIME, data_vars="minimal", coords="minimal", compat="override",
        combine_attrs="override",
    )  # fmt: skip


def _no_progress(step: str, done: int, total: int) -> None:
    return None


def _edge_indices(
    edges: Sequence[tuple[str, str]], keypoints: tuple[str, ...]
) -> tuple[tuple[int, int], ...]:
    index = {k: i for i, k in enumerate(keypoints)}
    unknown = sorted({k for edge in edges for k in edge if k not in index})
    if unknown:
        raise Pose3dError(
            f"edge keypoint(s) {', '.join(unknown)} not in the labels, which have "
            f"{', '.join(keypoints)}"
        )
    return tuple((index[a], index[b]) for a, b in edges)


def _solve(
    obs: Observations,
    method: str,
    edges: tuple[tuple[int, int], ...],
    ransac_options: RansacOptions,
    refine_options: RefineOptions,
    progress: ProgressCallback,
) -> tuple[FloatArray, BoolArray]:
    """Points [N, 3] and the views used for each [V, N]."""
    first = "dlt" if method == "dlt" else "ransac"
    # each point alone, CHUNK_FRAMES frames of points at a time (memory bounded)
    n_time, n_kp, n_ind = obs.shape
    step = CHUNK_FRAMES * n_kp * n_ind
    starts = range(0, max(n_time * n_kp * n_ind, 1), step)
    points = np.empty((n_time * n_kp * n_ind, 3))
    used = np.empty(obs.weights.shape, dtype=bool)
    for done, start in enumerate(starts):
        progress(f"triangulating ({first})", done, len(starts))
        part = slice(start, start + step)
        points[part], used[:, part] = triangulate_points(
            obs.pixels[:, part], obs.cameras, obs.weights[:, part], first, ransac_options
        )
    progress(f"triangulating ({first})", len(starts), len(starts))
    if method == "optim":
        lens = lenses(obs.cameras)
        points = _refine_all(obs, lens, points, obs.weights * used, edges, refine_options, progress)
        used &= finite_rows(points)
    return points, used


def _refine_all(
    obs: Observations,
    lens: tuple[Lens, ...],
    points: FloatArray,
    weights: FloatArray,
    edges: tuple[tuple[int, int], ...],
    options: RefineOptions,
    progress: ProgressCallback,
) -> FloatArray:
    """Refine each individual on its own (they share no term); returns points [N, 3]."""
    n_time, n_kp, n_ind = obs.shape
    n_views = len(obs.views)
    pixels = obs.pixels.reshape(n_views, n_time, n_kp, n_ind, 2)
    w = weights.reshape(n_views, n_time, n_kp, n_ind)
    initial = points.reshape(n_time, n_kp, n_ind, 3)
    out = np.empty_like(initial)
    for i in range(n_ind):
        out[:, :, i] = refine_windows(
            lens, pixels[:, :, :, i], w[:, :, :, i], initial[:, :, i], edges, options, progress
        )
    return out.reshape(-1, 3)


def _dataset(
    obs: Observations,
    points: FloatArray,
    used: BoolArray,
    method: str,
    interpolate: bool,
    fps: float | None,
    space_unit: str | None,
) -> xr.Dataset:
    lens = lenses(obs.cameras)
    errors = view_errors(lens, points, obs.pixels)  # [V, N]
    behind = (used & ~np.isfinite(errors)).any(axis=0)  # a used camera sees it from behind
    n_used = used.sum(axis=0)
    valid = finite_rows(points) & (n_used >= 2) & ~behind
    used = used & valid
    n_used = np.where(valid, n_used, 0)
    error = np.where(valid, mean_error(errors, used), np.nan)
    conf = np.where(valid, mean_error(obs.weights, used), np.nan)

    n_time, n_kp, n_ind = obs.shape
    raw = points.reshape(n_time, n_kp, n_ind, 3)
    position = np.where(valid[:, None], points, np.nan).reshape(n_time, n_kp, n_ind, 3)
    if interpolate:
        # refined gap points come from the smoothness term; the others are linear in time
        fill = interior_gaps(valid.reshape(n_time, n_kp, n_ind))
        source = raw if method == "optim" else interpolate_time(position)
        position = np.where(fill[..., None], source, position)
        conf = np.where(fill.reshape(-1), 0.0, conf)
    ds = poses_dataset(
        position.transpose(0, 3, 1, 2),  # [T, 3, K, I]
        obs.keypoints,
        obs.individuals,
        fps=fps,
        space_unit=space_unit,
        confidence=np.clip(conf, 0.0, 1.0).reshape(n_time, n_kp, n_ind),
        reprojection_error=error.reshape(n_time, n_kp, n_ind),
        n_views=n_used.reshape(n_time, n_kp, n_ind),
    )
    ds.attrs[ATTR_METHOD] = method
    ds.attrs[ATTR_VIEWS] = ",".join(obs.views)
    frames = np.asarray(obs.time)
    return ds.assign_coords({s.TIME: frames / float(fps) if fps else frames})


@dataclass(frozen=True)
class TriangulationSettings:
    """Everything a caller may choose about triangulation, with the library's defaults."""

    method: str = "dlt"
    views: tuple[str, ...] | None = None
    ransac: RansacOptions = field(default_factory=RansacOptions)
    refine: RefineOptions = field(default_factory=RefineOptions)
    interpolate: bool = False
    unit: str | None = None  # the unit expected of the calibration

    @classmethod
    def from_options(
        cls,
        method: str = "dlt",
        views: Sequence[str] | None = None,
        ransac_threshold: float = RansacOptions().threshold,
        scale_smooth: float = RefineOptions().scale_smooth,
        scale_length: float = RefineOptions().scale_length,
        loss_scale: float = RefineOptions().loss_scale,
        interpolate: bool = False,
        unit: str | None = None,
    ) -> TriangulationSettings:
        """The settings from the options of ``pose3d triangulate`` (and of ``pose3d batch``'s
        triangulate step), by their names."""
        return cls(
            method=method,
            views=tuple(views) if views else None,
            ransac=RansacOptions(threshold=ransac_threshold),
            refine=RefineOptions(
                scale_smooth=scale_smooth, scale_length=scale_length, loss_scale=loss_scale
            ),
            interpolate=interpolate,
            unit=unit,
        )


def triangulate_labels(
    labels: xr.Dataset | Iterable[xr.Dataset],
    cameras: CameraGroup,
    settings: TriangulationSettings | None = None,
    edges: Sequence[tuple[str, str]] = (),
    fps: float | None = None,
    progress: ProgressCallback | None = None,
    where: str = "the labels",
    frames: int | None = None,
) -> xr.Dataset:
    """:func:`triangulate` a labels dataset (labels.nc's layout) with ``settings``; raises
    naming ``where`` when no point is seen by two views. ``labels`` may also be consecutive
    stretches of time of one (a long recording read a part at a time, ``frames`` frames in
    all, for the progress): DLT and RANSAC solve each part as it comes (each frame is solved
    alone: the one-shot result, to rounding in the last bit), the other settings gather the
    parts' positions and confidences first (what triangulation reads: a third of the labels)."""
    settings = settings or TriangulationSettings()
    if not isinstance(labels, xr.Dataset):
        kept = (part[[s.POSITION, s.CONFIDENCE]] for part in labels)
        if settings.method == "optim" or settings.interpolate:
            gathered = list(kept)
            labels = gathered[0] if len(gathered) == 1 else xr.concat(gathered, dim=s.TIME)
        else:
            report = progress or _no_progress
            step, done, solved = f"triangulating ({settings.method})", 0, []
            for part in kept:
                report(step, done, max(frames or 0, done + part.sizes[s.TIME]))
                solved.append(_triangulate_settings(part, cameras, settings, edges, fps, None))
                done += part.sizes[s.TIME]
            report(step, done, done)
            poses = join_poses(solved)
            return _checked(poses, where)
    poses = _triangulate_settings(labels, cameras, settings, edges, fps, progress)
    return _checked(poses, where)


def _triangulate_settings(
    labels: xr.Dataset,
    cameras: CameraGroup,
    settings: TriangulationSettings,
    edges: Sequence[tuple[str, str]],
    fps: float | None,
    progress: ProgressCallback | None,
) -> xr.Dataset:
    return triangulate(
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


def _checked(poses: xr.Dataset, where: str) -> xr.Dataset:
    if not (poses[s.N_VIEWS].values > 0).any():
        views = poses.attrs.get(ATTR_VIEWS, "")
        raise Pose3dError(
            f"{where}: no point is seen by two or more of the views {views} (with RANSAC: by "
            "two views that agree); label each keypoint in at least two views, or check that "
            "the calibration belongs to these videos"
        )
    return poses
