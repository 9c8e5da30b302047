"""How well the board poses pinned each camera's intrinsics: the figures behind the report's
warnings that a low RMS error hides.

A flat board identifies the focal length only through perspective: a board facing the camera
square on looks the same, nearer with a longer focal length or farther with a shorter one, so
views without tilt leave the focal length (and with it the distance to the rig) loosely
determined while the reprojection error stays low (Zhang 2000; Sturm & Maybank 1999: boards
turned about one axis only leave one focal length free too). Two measures say it:

- the standard deviations of fx, fy, cx, cy from the bundle adjustment's covariance
  (``BundleResult.camera_std``, the board poses marginalised out), in px;
- the board's tilt in each view the camera used: the angle between the board's normal and the
  camera's optical axis, and the direction it was turned to in the image (right, down, left, up).

The thresholds and the warnings live in pose3d.calibration.report, beside the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.cameras import Camera, rodrigues_to_matrix

FloatArray = NDArray[np.float64]

N_DIRECTIONS = 4  # right, down, left, up in the image: 90-degree sectors
FX, FY, CX, CY = 6, 7, 8, 9  # their columns in bundle.camera_vector's order


@dataclass(frozen=True)
class IntrinsicTrust:
    """One camera's intrinsic uncertainties (px, 1 sigma; NaN when unknown) and board tilts."""

    fx_std: float
    fy_std: float
    cx_std: float
    cy_std: float
    tilt_median_deg: float  # NaN without a board view
    tilt_max_deg: float
    tilt_directions: int  # sectors (of N_DIRECTIONS) holding a view tilted >= the given angle
    fov_deg: float  # the field of view across the image width at the principal point's height


def board_tilts(camera: Camera, board_poses: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Tilt (deg, 0 = facing the camera square on) [n] and the direction in the image its face is
    turned to (deg, 0 = right, 90 = down) [n] of board poses [n, 6] board -> world."""
    n = len(board_poses)
    tilt, direction = np.full(n, np.nan), np.full(n, np.nan)
    for i, pose in enumerate(board_poses):
        if not np.all(np.isfinite(pose)):
            continue
        to_camera = camera.rotation @ rodrigues_to_matrix(pose[:3])  # board -> camera
        face = -to_camera[:, 2]  # the printed face looks along the board's -z
        tilt[i] = np.degrees(np.arccos(np.clip(abs(face[2]), 0.0, 1.0)))
        direction[i] = np.degrees(np.arctan2(face[1], face[0])) % 360.0
    return tilt, direction


def tilt_directions(tilt: FloatArray, direction: FloatArray, min_tilt_deg: float) -> int:
    """How many of the N_DIRECTIONS image directions (90-degree sectors centred on right, down,
    left, up) hold a view tilted by at least ``min_tilt_deg``."""
    strong = np.isfinite(tilt) & (tilt >= min_tilt_deg)
    width = 360.0 / N_DIRECTIONS
    sectors = np.floor(((direction[strong] + width / 2.0) % 360.0) / width).astype(int)
    return int(np.unique(sectors).size)


def field_of_view_deg(camera: Camera) -> float:
    """Angle (deg) between the rays through the left and right image edges at the principal
    point's height, through the camera's own lens model; NaN where the model does not reach."""
    width = camera.size[0]
    cy = camera.matrix[1, 2]
    xy = camera.undistort_points(np.array([[0.0, cy], [float(width), cy]]))
    rays = np.concatenate([xy, np.ones((2, 1))], axis=1)
    if not np.all(np.isfinite(rays)):
        return float("nan")
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    return float(np.degrees(np.arccos(np.clip(rays[0] @ rays[1], -1.0, 1.0))))


def intrinsic_trust(
    camera: Camera, std: FloatArray, board_poses: FloatArray, min_tilt_deg: float
) -> IntrinsicTrust:
    """The figures of ``camera`` from its parameter std [15] (camera_vector's order) and the
    board poses [n, 6] board -> world of the frames it used; ``min_tilt_deg``: the tilt a view
    needs to count for its direction."""
    tilt, direction = board_tilts(camera, board_poses)
    seen = tilt[np.isfinite(tilt)]
    return IntrinsicTrust(
        float(std[FX]),
        float(std[FY]),
        float(std[CX]),
        float(std[CY]),
        float(np.median(seen)) if seen.size else float("nan"),
        float(seen.max()) if seen.size else float("nan"),
        tilt_directions(tilt, direction, min_tilt_deg),
        field_of_view_deg(camera),
    )


def finite_or_none(value: float) -> float | None:
    """``value``, or None when it is not finite (what a report stores for "unknown")."""
    return float(value) if np.isfinite(value) else None
