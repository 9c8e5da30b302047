"""A synthetic session's results against its ground truth (``truth/``), stage by stage.

- ``seed_labels``: the true visible points of some frames as manual labels, as a person would
  click them (the start of the tracking demo);
- ``camera_errors``: a calibration against the true cameras. The calibrated world is not the
  truth's (``pose3d calibrate`` puts camera 0 at the origin), so both rigs are expressed with
  the reference camera as the world first: its own error is 0 by construction, the others' are
  what the calibration got wrong about the rig (rotation in degrees, centre in world units,
  focal length in %);
- ``tracking_errors``: tracked 2D points against the true projections of the points the camera
  sees (median, 90th percentile, PCK@3px) per view;
- ``pose_errors``: triangulated 3D against the true 3D, after moving the poses from the
  calibrated world into the truth's through the reference camera (so a wrong scale or a wrong
  reference pose shows up as error, as it should).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup, matrix_to_rodrigues
from pose3d.errors import Pose3dError
from pose3d.labels import new_labels

FloatArray = NDArray[np.float64]
TRUTH = "truth"
PCK_PX = 3.0


@dataclass(frozen=True)
class CameraError:
    name: str
    rotation_deg: float
    center: float  # world units
    focal_pct: float


@dataclass(frozen=True)
class ErrorSummary:
    """Errors of one group of points (a view, or all 3D points)."""

    name: str
    points: int
    median: float
    p90: float
    within: float  # share of points within the PCK radius (px for 2D, mm for 3D)


def truth_folder(root: str | os.PathLike[str]) -> Path:
    folder = Path(root) / TRUTH
    if not (folder / "labels.nc").is_file():
        raise Pose3dError(
            f"{folder} holds no ground truth (labels.nc): compare-truth works on sessions "
            "written by pose3d sample-data"
        )
    return folder


def seed_labels(truth: xr.Dataset, frames: Sequence[int]) -> xr.Dataset:
    """New labels holding the true points of ``frames`` that the camera sees, as manual
    labels (confidence 1); every other cell empty. ``truth``: truth/labels.nc."""
    views = [str(v) for v in truth[s.VIEW].values]
    keypoints = [str(k) for k in truth[s.KEYPOINT].values]
    individuals = [str(i) for i in truth[s.INDIVIDUAL].values]
    labels = new_labels(truth.sizes[s.TIME], views, keypoints, individuals)
    time = truth[s.TIME].values
    for frame in frames:
        rows = np.flatnonzero(time == frame)
        if not rows.size:
            raise Pose3dError(
                f"frame {frame} is not in the truth (frames {int(time[0])}..{int(time[-1])})"
            )
        t = int(rows[0])
        seen = truth["visible"].values[t].astype(bool)  # (V, K, I)
        labels[s.POSITION].values[t] = np.where(seen[:, None], truth[s.POSITION].values[t], np.nan)
        labels[s.SOURCE].values[t] = np.where(seen, int(s.PointSource.MANUAL), 0)
        labels[s.CONFIDENCE].values[t] = np.where(seen, 1.0, np.nan)
    return labels


def in_camera_frame(rig: CameraGroup, name: str) -> CameraGroup:
    """``rig`` with its world moved to camera ``name`` (that camera at the origin, axes its
    own)."""
    ref = rig[name]
    moved = [
        cam.with_extrinsics(
            matrix_to_rodrigues(cam.rotation @ ref.rotation.T), cam.world_to_camera(ref.center)
        )
        for cam in rig
    ]
    return CameraGroup(tuple(moved), rig.unit)


def camera_errors(calibrated: CameraGroup, truth: CameraGroup) -> list[CameraError]:
    """Per camera of ``calibrated``: rotation, centre and focal errors, both rigs seen from
    the first camera (module docstring)."""
    from pose3d.calibration.rotations import rotation_angle_deg

    missing = [name for name in calibrated.names if name not in truth.names]
    if missing:
        raise Pose3dError(f"cameras {missing} are not in the truth ({', '.join(truth.names)})")
    reference = calibrated.names[0]
    ours, true = in_camera_frame(calibrated, reference), in_camera_frame(truth, reference)
    out = []
    for cam in ours:
        t = true[cam.name]
        focal = np.abs(np.diag(cam.matrix)[:2] / np.diag(t.matrix)[:2] - 1.0).max()
        out.append(
            CameraError(
                cam.name,
                float(rotation_angle_deg(cam.rotation, t.rotation)),
                float(np.linalg.norm(cam.center - t.center)),
                100.0 * float(focal),
            )
        )
    return out


def tracking_errors(labels: xr.Dataset, truth: xr.Dataset) -> list[ErrorSummary]:
    """Per view: error (px) of the tracked points against the true position of the points
    the camera sees, on the frames both hold; views without tracked points are left out."""
    common = np.intersect1d(labels[s.TIME].values, truth[s.TIME].values)
    found = labels.sel({s.TIME: common})
    true = truth.sel({s.TIME: common, s.VIEW: found[s.VIEW].values})
    true = true.sel({s.KEYPOINT: found[s.KEYPOINT].values, s.INDIVIDUAL: found[s.INDIVIDUAL]})
    error = np.linalg.norm(found[s.POSITION].values - true[s.POSITION].values, axis=2)
    tracked = (found[s.SOURCE].values == s.PointSource.TRACKED) & true["visible"].values
    tracked &= np.isfinite(error)
    out = []
    for v, view in enumerate(found[s.VIEW].values):
        values = error[:, v][tracked[:, v]]
        if values.size:
            out.append(_summary(str(view), values, PCK_PX))
    return out


def pose_errors(
    poses: xr.Dataset,
    truth_poses: xr.Dataset,
    calibrated: CameraGroup,
    truth_cameras: CameraGroup,
    radius: float = 5.0,
) -> ErrorSummary:
    """3D error (world units) of ``poses`` (in the calibrated world) against the truth, the
    poses moved into the truth's world through the first calibrated camera."""
    reference = calibrated.names[0]
    ours, true = calibrated[reference], truth_cameras[reference]
    position = poses[s.POSITION].transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT, s.SPACE).values
    in_camera = ours.world_to_camera(position)
    moved = (in_camera - true.tvec) @ true.rotation  # R^T (x - t) for row vectors
    reference_poses = truth_poses.sel({s.KEYPOINT: poses[s.KEYPOINT].values})
    reference_poses = reference_poses.sel({s.INDIVIDUAL: poses[s.INDIVIDUAL].values})
    true_position = reference_poses[s.POSITION].transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT, s.SPACE)
    n = min(len(moved), true_position.sizes[s.TIME])
    error = np.linalg.norm(moved[:n] - true_position.values[:n], axis=-1)
    values = error[np.isfinite(error)]
    if not values.size:
        raise Pose3dError("no triangulated point to compare: poses3d.nc holds only NaN")
    return _summary("3D", values, radius)


def _summary(name: str, values: FloatArray, radius: float) -> ErrorSummary:
    return ErrorSummary(
        name,
        int(values.size),
        float(np.median(values)),
        float(np.percentile(values, 90)),
        float((values <= radius).mean()),
    )
