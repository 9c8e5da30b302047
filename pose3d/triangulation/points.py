"""Array-level triangulation for other packages (tracking's review, the TUI, benchmarks).

``triangulate_points(pixels [V, N, 2], cameras)`` -> ``points [N, 3]`` and ``used [V, N]``;
``reprojection_errors(points [N, 3], pixels [V, N, 2], cameras)`` -> ``[V, N]`` px. Views are
the cameras of ``cameras`` in order; NaN pixels are views that do not see the point.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.triangulation.blocks import finite_rows
from pose3d.triangulation.dlt import clean_observations, dlt
from pose3d.triangulation.projection import lenses, undistort
from pose3d.triangulation.ransac import RansacOptions, ransac
from pose3d.triangulation.reprojection import view_errors

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _pixels(pixels: ArrayLike, cameras: CameraGroup) -> FloatArray:
    array = np.asarray(pixels, dtype=np.float64)
    if array.ndim != 3 or array.shape[0] != len(cameras) or array.shape[2] != 2:
        raise Pose3dError(
            f"pixels must be [views={len(cameras)}, points, 2] (x, y per camera of the "
            f"calibration, in its order), got shape {array.shape}"
        )
    return array


def triangulate_points(
    pixels: ArrayLike,
    cameras: CameraGroup,
    weights: ArrayLike | None = None,
    method: str = "dlt",
    ransac_options: RansacOptions | None = None,
    outlier_cost: ArrayLike | None = None,
) -> tuple[FloatArray, BoolArray]:
    """Points [N, 3] from distorted ``pixels`` [V, N, 2] and ``weights`` [V, N] (confidence,
    default 1), with ``method`` "dlt" or "ransac"; ``used`` [V, N] marks the views each point
    was triangulated from (NaN points use none). ``outlier_cost`` [V, N] (px, RANSAC only):
    what rejecting each observation costs (see :mod:`pose3d.triangulation.ransac`)."""
    if method not in ("dlt", "ransac"):
        raise Pose3dError(f"triangulate_points: method must be 'dlt' or 'ransac', got {method!r}")
    px = _pixels(pixels, cameras)
    w = np.ones(px.shape[:2]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != px.shape[:2]:
        raise Pose3dError(f"weights must be [views, points] = {px.shape[:2]}, got {w.shape}")
    lens = lenses(cameras)
    normalized, clean = clean_observations(undistort(lens, px), np.nan_to_num(w, nan=1.0))
    if method == "dlt":
        points = dlt(lens, normalized, clean)
        return points, (clean > 0) & finite_rows(points)
    cost = None if outlier_cost is None else np.asarray(outlier_cost, dtype=np.float64)
    if cost is not None and cost.shape != px.shape[:2]:
        raise Pose3dError(
            f"outlier_cost must be [views, points] = {px.shape[:2]}, got {cost.shape}"
        )
    return ransac(lens, px, normalized, clean, ransac_options or RansacOptions(), cost)


def reprojection_errors(points: ArrayLike, pixels: ArrayLike, cameras: CameraGroup) -> FloatArray:
    """Distance [V, N] in px between ``pixels`` [V, N, 2] and ``points`` [N, 3] projected into
    each camera; NaN where a view has no pixel, inf where the point is behind that camera."""
    px = _pixels(pixels, cameras)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if pts.shape[0] != px.shape[1]:
        raise Pose3dError(f"{pts.shape[0]} points for {px.shape[1]} pixels per view")
    return view_errors(lenses(cameras), pts, px)
