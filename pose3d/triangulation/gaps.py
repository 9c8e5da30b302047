"""Gaps over time: points that could not be triangulated in some frames.

Gaps stay NaN in the results unless the user asks to interpolate; these helpers fill them
(linearly between the neighbouring frames where the keypoint was seen), and give the refinement
a complete starting point.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pose3d.triangulation.blocks import finite_rows

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def interior_gaps(finite: BoolArray) -> BoolArray:
    """[T, ...] True where a value is missing between two frames that have one (per column)."""
    seen_before = np.maximum.accumulate(finite, axis=0)
    seen_after = np.flip(np.maximum.accumulate(np.flip(finite, axis=0), axis=0), axis=0)
    return ~finite & seen_before & seen_after


def interpolate_time(points: FloatArray, extrapolate: bool = False) -> FloatArray:
    """Fill NaN points [T, J, 3] linearly over time, keypoint by keypoint.

    Without ``extrapolate`` only interior gaps are filled (frames before the first and after
    the last seen frame stay NaN); with it they take the nearest seen value. A keypoint never
    seen stays NaN.
    """
    out = points.copy()
    n_frames = points.shape[0]
    frames = np.arange(n_frames)
    flat = out.reshape(n_frames, -1, 3)
    finite: BoolArray = finite_rows(flat)  # [T, J]
    fill: BoolArray = np.ones_like(finite) if extrapolate else interior_gaps(finite)
    for j in np.flatnonzero(finite.any(axis=0) & (~finite).any(axis=0)):
        known = finite[:, j]
        targets = fill[:, j] & ~known
        for c in range(3):
            flat[targets, j, c] = np.interp(frames[targets], frames[known], flat[known, j, c])
    return out


def fill_for_start(points: FloatArray) -> FloatArray:
    """A complete [T, J, 3] starting point for the refinement: gaps filled over time, keypoints
    never seen placed at the centroid of the frame's other keypoints (or of all points)."""
    out = interpolate_time(points, extrapolate=True)
    missing: BoolArray = ~finite_rows(out)
    if missing.any():
        present = ~missing
        values = np.where(present[..., None], out, 0.0)
        count = present.sum(axis=1)[:, None]  # [T, 1]
        overall = values.sum(axis=(0, 1)) / max(int(present.sum()), 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            centroid = np.where(count > 0, values.sum(axis=1) / count, overall)  # [T, 3]
        out = np.where(missing[..., None], centroid[:, None, :], out)
    return out


def median_filter_time(points: FloatArray, size: int) -> FloatArray:
    """Running median over time (``size`` frames, edges reflected) of points [T, J, 3]."""
    from scipy.ndimage import median_filter

    size = max(1, min(size, points.shape[0]))
    return np.asarray(median_filter(points, size=(size, 1, 1), mode="nearest"))
