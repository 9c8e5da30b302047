"""The 3D screen's table: reprojection error per camera and keypoint (pure).

For every labelled 2D point, the distance in pixels between it and its triangulated 3D point
projected into that camera (pose3d.triangulation.points.reprojection_errors), summarized as the
median over frames and individuals per (camera, keypoint). poses3d.nc counts time in seconds
when its fps is known and labels.nc in session frames: the poses' times are turned into frames
before the two are paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.poses import frame_numbers

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ErrorTable:
    views: tuple[str, ...]
    keypoints: tuple[str, ...]
    median: FloatArray  # [V, K] px, NaN where no point
    count: NDArray[np.int64]  # [V, K] points measured
    worst_frame: NDArray[np.int64] | None = None  # [V, K] session frame of the largest, -1: none
    individuals: tuple[str, ...] = ()
    worst_individual: NDArray[np.int64] | None = None  # [V, K] its individual's index

    def overall(self) -> FloatArray:
        """Median over keypoints per view [V] (of the per-keypoint medians)."""
        with np.errstate(all="ignore"):
            return np.asarray(
                [np.nanmedian(row) if np.isfinite(row).any() else np.nan for row in self.median]
            )


def error_table(poses: xr.Dataset, labels: xr.Dataset, cameras: CameraGroup) -> ErrorTable:
    """Reprojection errors of ``labels`` against ``poses`` (poses3d.nc) per camera and keypoint,
    over the frames both cover."""
    from pose3d.triangulation.points import reprojection_errors

    views = tuple(v for v in cameras.names if v in {str(x) for x in labels[s.VIEW].values})
    if not views:
        raise Pose3dError(
            f"no camera of the calibration ({', '.join(cameras.names)}) is a view of the labels"
        )
    poses = poses.assign_coords({s.TIME: frame_numbers(poses)})  # seconds -> session frames
    times = np.intersect1d(poses[s.TIME].values, labels[s.TIME].values)
    keypoints = tuple(str(k) for k in poses[s.KEYPOINT].values)
    individuals = [str(i) for i in poses[s.INDIVIDUAL].values]
    where = {s.KEYPOINT: list(keypoints), s.INDIVIDUAL: individuals}
    points = (
        poses[s.POSITION]
        .sel({**where, s.TIME: times})
        .transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE)
    )
    pixels = (
        labels[s.POSITION]
        .sel({**where, s.TIME: times, s.VIEW: list(views)})
        .transpose(s.VIEW, s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE)
    )
    n_views, n_times, n_keypoints, n_individuals = pixels.shape[:4]
    errors = reprojection_errors(
        points.values.reshape(-1, 3), pixels.values.reshape(n_views, -1, 2), cameras.subset(views)
    ).reshape(n_views, n_times, n_keypoints, n_individuals)
    finite = np.where(np.isfinite(errors), errors, np.nan)
    per_cell = finite.transpose(0, 2, 1, 3).reshape(n_views, n_keypoints, -1)  # [V, K, T * I]
    count = np.isfinite(per_cell).sum(axis=2)
    median = np.full((n_views, n_keypoints), np.nan)
    has = count > 0
    median[has] = np.nanmedian(per_cell[has], axis=1)
    worst = np.argmax(np.nan_to_num(per_cell, nan=-1.0), axis=2)  # [V, K] index into T * I
    frames = np.where(has, np.asarray(times, np.int64)[worst // n_individuals], -1)
    return ErrorTable(
        views, keypoints, median, count, frames, tuple(individuals), worst % n_individuals
    )
