"""The 3D poses dataset (poses3d.nc), in movement's poses layout.

``position [time, space(x, y, z), keypoint, individual]`` in ``space_unit`` (e.g. mm),
``confidence``, ``reprojection_error`` (px) and ``n_views`` ``[time, keypoint, individual]``.
The time coordinate is in seconds when ``fps`` is known (movement's convention) and in frames
otherwise; ``attrs["time_unit"]`` says which.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from pose3d import schema as s


def time_coordinate(n_frames: int, fps: float | None) -> tuple[np.ndarray, str]:
    """Time values and their unit: seconds when ``fps`` is known, else frame numbers."""
    frames = np.arange(n_frames)
    if fps:
        return frames / float(fps), "seconds"
    return frames, "frames"


def frame_numbers(poses: xr.Dataset) -> np.ndarray:
    """The session frame of each of ``poses``' times (int64): ``time × fps`` rounded where the
    time is in seconds, the time itself where it counts frames (labels.nc's convention)."""
    time = np.asarray(poses[s.TIME].values, dtype=np.float64)
    fps = poses.attrs.get(s.ATTR_FPS)
    if poses.attrs.get(s.ATTR_TIME_UNIT) == "seconds" and fps:
        time = time * float(fps)
    return np.rint(time).astype(np.int64)


def poses_dataset(
    position: ArrayLike,
    keypoints: Sequence[str],
    individuals: Sequence[str],
    fps: float | None = None,
    space_unit: str | None = "mm",
    confidence: ArrayLike | None = None,
    reprojection_error: ArrayLike | None = None,
    n_views: ArrayLike | None = None,
) -> xr.Dataset:
    """Build a poses3d dataset from ``position`` [time, 3, keypoint, individual].

    Missing ``confidence`` is 1 where the position is finite and NaN elsewhere;
    missing ``reprojection_error`` is NaN and missing ``n_views`` is 0.
    """
    pos = np.asarray(position, dtype=np.float64)
    n_time = pos.shape[0]
    shape_tki = (n_time, pos.shape[2], pos.shape[3]) if pos.ndim == 4 else None
    if pos.ndim != 4 or pos.shape[1] != 3 or shape_tki is None:
        raise ValueError(f"position must be [time, 3, keypoint, individual], got {pos.shape}")
    finite = np.all(np.isfinite(pos), axis=1)
    conf = (
        np.where(finite, 1.0, np.nan)
        if confidence is None
        else np.asarray(confidence, dtype=np.float64)
    )
    err = (
        np.full(shape_tki, np.nan)
        if reprojection_error is None
        else np.asarray(reprojection_error, dtype=np.float64)
    )
    views = np.zeros(shape_tki, np.int16) if n_views is None else np.asarray(n_views, np.int16)
    time, time_unit = time_coordinate(n_time, fps)
    tki = (s.TIME, s.KEYPOINT, s.INDIVIDUAL)
    ds = xr.Dataset(
        {
            s.POSITION: (s.POSES3D_DIMS[s.POSITION], pos),
            s.CONFIDENCE: (tki, conf),
            s.REPROJECTION_ERROR: (tki, err, {s.ATTR_UNIT: "px"}),
            s.N_VIEWS: (tki, views),
        },
        coords={
            s.TIME: time,
            s.SPACE: list(s.SPACE_3D),
            s.KEYPOINT: list(keypoints),
            s.INDIVIDUAL: list(individuals),
        },
        attrs={
            s.ATTR_DS_TYPE: s.DS_TYPE_POSES,
            s.ATTR_SOURCE_SOFTWARE: s.SOURCE_SOFTWARE,
            s.ATTR_TIME_UNIT: time_unit,
            s.ATTR_KIND: s.KIND_POSES3D,
            s.ATTR_SCHEMA_VERSION: s.SCHEMA_VERSION,
        },
    )
    if fps:  # movement leaves fps out when it is unknown (a NaN would poison its exports)
        ds.attrs[s.ATTR_FPS] = float(fps)
    if space_unit is not None:
        ds[s.POSITION].attrs[s.ATTR_SPACE_UNIT] = space_unit
    return ds
