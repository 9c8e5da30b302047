"""Bundle adjustment of the whole rig: every camera's intrinsics and extrinsics and every
board pose, minimising the reprojection error of all detected corners.

Levenberg-Marquardt on the normal equations (pose3d.calibration.solver) with a sparse
finite-difference Jacobian: an observation depends on its camera's 15 parameters and its
frame's 6 board-pose parameters only, so the Jacobian costs 21 residual evaluations whatever
the size of the rig. A robust loss (soft L1, scale 1 px) keeps a few bad detections from pulling
the solution; a second pass drops observations far off the first solution (relative to each
camera's median error). The reference
camera's extrinsics are fixed (they define the world frame).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from pose3d.calibration.rotations import rotate
from pose3d.calibration.solver import levenberg_marquardt
from pose3d.cameras import Camera, distort_xy

FloatArray = NDArray[np.float64]

N_CAMERA = 15  # rvec 3, tvec 3, fx, fy, cx, cy, k1, k2, p1, p2, k3
N_FRAME = 6  # board rvec 3, tvec 3
ROBUST_SCALE_PX = 1.0
# The second pass drops a camera's observations farther off the first solution than
# OUTLIER_MEDIANS times that camera's median error (at least OUTLIER_FLOOR_PX, at most
# OUTLIER_PX): ChArUco corners next to markers are sometimes pulled by 0.5-2 px at oblique
# views, a bias no robust loss of scale ~1 px removes, and it costs 0.1 degree of rotation.
OUTLIER_MEDIANS = 5.0
OUTLIER_FLOOR_PX = 0.1
OUTLIER_PX = 4.0


@dataclass(frozen=True)
class Observations:
    """Detected corners as flat arrays: ``view``, ``frame``, ``corner`` [n], ``xy`` [n, 2] px."""

    view: NDArray[np.int64]
    frame: NDArray[np.int64]
    corner: NDArray[np.int64]
    xy: FloatArray

    @classmethod
    def from_corners(cls, corners: FloatArray, usable_frames: NDArray[np.bool_]) -> Observations:
        """From corners [n_views, n_frames, n_corners, 2] of the frames usable per view."""
        mask = np.isfinite(corners[..., 0]) & usable_frames[..., None]
        view, frame, corner = np.nonzero(mask)
        return cls(view, frame, corner, corners[view, frame, corner])

    def select(self, keep: NDArray[np.bool_]) -> Observations:
        return Observations(self.view[keep], self.frame[keep], self.corner[keep], self.xy[keep])


def camera_vector(camera: Camera) -> FloatArray:
    m = camera.matrix
    return np.concatenate(
        [camera.rvec, camera.tvec, [m[0, 0], m[1, 1], m[0, 2], m[1, 2]], camera.dist]
    )


def vector_camera(template: Camera, params: FloatArray) -> Camera:
    fx, fy, cx, cy = params[6:10]
    matrix = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return Camera(template.name, template.size, matrix, params[10:15], params[:3], params[3:6])


def project_observations(
    cams: FloatArray, frames: FloatArray, board_points: FloatArray, obs: Observations
) -> FloatArray:
    """Pixels [n, 2] of the observed corners under camera params [n_views, 15] and board poses
    [n_frames, 6]."""
    cam = cams[obs.view]
    pose = frames[obs.frame]
    world = rotate(pose[:, :3], board_points[obs.corner]) + pose[:, 3:]
    local = rotate(cam[:, :3], world) + cam[:, 3:6]
    x = local[:, 0] / local[:, 2]
    y = local[:, 1] / local[:, 2]
    xd, yd = distort_xy(x, y, *(cam[:, 10 + i] for i in range(5)))
    return np.stack([cam[:, 6] * xd + cam[:, 8], cam[:, 7] * yd + cam[:, 9]], axis=-1)


@dataclass(frozen=True)
class BundleResult:
    cameras: list[Camera]
    board_poses: FloatArray  # [n_frames, 6], NaN for frames not used
    observations: Observations  # the inliers used in the final pass
    residuals: FloatArray  # [n_inliers, 2] px


K3 = 14  # index of k3 in a camera's parameter vector


def _layout(n_views: int, reference: int, fixed_k3: Sequence[bool]) -> NDArray[np.int64]:
    """Column of each camera parameter in the free vector [n_views, 15], -1 when fixed."""
    index = np.full((n_views, N_CAMERA), -1, dtype=np.int64)
    col = 0
    for v in range(n_views):
        for k in range(N_CAMERA):
            if (v == reference and k < 6) or (k == K3 and fixed_k3[v]):
                continue
            index[v, k] = col
            col += 1
    return index


def _grouped_jacobian(
    residuals: Callable[[FloatArray], FloatArray],
    layout: NDArray[np.int64],
    obs: Observations,
    n_cam_free: int,
    n_frames: int,
) -> Callable[[FloatArray, FloatArray], sparse.csr_matrix]:
    """Forward-difference Jacobian [2 n_obs, n_free] in 21 residual evaluations: one per camera
    parameter (all cameras at once, since no observation sees two cameras) and one per board-pose
    parameter (all frames at once)."""
    n_obs = len(obs.view)
    groups = [(layout[:, k], obs.view) for k in range(N_CAMERA)]
    groups += [(n_cam_free + np.arange(n_frames) * N_FRAME + k, obs.frame) for k in range(N_FRAME)]
    rows = np.arange(2 * n_obs)

    def jacobian(x: FloatArray, f0: FloatArray) -> sparse.csr_matrix:
        data, cols = [], []
        for columns, owner in groups:
            active = columns[columns >= 0]
            step = np.zeros(x.size)
            step[active] = 1e-7 * np.maximum(1.0, np.abs(x[active]))
            diff = residuals(x + step) - f0
            col = np.repeat(columns[owner], 2)
            ok = col >= 0
            data.append(np.where(ok, diff / np.where(ok, step[col], 1.0), 0.0))
            cols.append(np.where(ok, col, 0))
        values = np.concatenate(data)
        return sparse.csr_matrix(
            (values, (np.tile(rows, len(groups)), np.concatenate(cols))),
            shape=(2 * n_obs, x.size),
        )

    return jacobian


def _solve(
    cams0: FloatArray,
    frames0: FloatArray,
    board_points: FloatArray,
    obs: Observations,
    reference: int,
    fixed_k3: Sequence[bool],
) -> tuple[FloatArray, FloatArray]:
    n_views, n_frames = len(cams0), len(frames0)
    layout = _layout(n_views, reference, fixed_k3)
    n_cam_free = int(layout.max()) + 1
    free = layout >= 0

    def unpack(x: FloatArray) -> tuple[FloatArray, FloatArray]:
        cams = cams0.copy()
        cams[free] = x[layout[free]]
        return cams, x[n_cam_free:].reshape(n_frames, N_FRAME)

    def residuals(x: FloatArray) -> FloatArray:
        cams, frames = unpack(x)
        return (project_observations(cams, frames, board_points, obs) - obs.xy).ravel()

    x0 = np.concatenate([cams0[free], frames0.ravel()])
    jacobian = _grouped_jacobian(residuals, layout, obs, n_cam_free, n_frames)
    result = levenberg_marquardt(residuals, jacobian, x0, scale=ROBUST_SCALE_PX)
    return unpack(result.x)


def _outlier_limits(error: FloatArray, view: NDArray[np.int64], n_views: int) -> FloatArray:
    """Per-camera error limits [n_views] px (see OUTLIER_MEDIANS)."""
    limits = np.full(n_views, OUTLIER_PX)
    for v in range(n_views):
        mine = error[view == v]
        if mine.size:
            limits[v] = np.clip(OUTLIER_MEDIANS * np.median(mine), OUTLIER_FLOOR_PX, OUTLIER_PX)
    return limits


def bundle_adjust(
    cameras: Sequence[Camera],
    board_poses: FloatArray,
    board_points: FloatArray,
    obs: Observations,
    reference: int = 0,
    fixed_k3: Sequence[bool] | None = None,
) -> BundleResult:
    """Refine ``cameras`` and ``board_poses`` [n_frames, 6] on ``obs``; frames whose pose is NaN
    are left out; cameras flagged in ``fixed_k3`` keep their k3 (see intrinsics.covers_edges)."""
    fixed = [False] * len(cameras) if fixed_k3 is None else list(fixed_k3)
    usable = np.isfinite(board_poses[:, 0])
    obs = obs.select(usable[obs.frame])
    frames0 = np.where(usable[:, None], board_poses, 0.0)
    cams0 = np.stack([camera_vector(c) for c in cameras])
    cams, frames = _solve(cams0, frames0, board_points, obs, reference, fixed)
    error = np.linalg.norm(project_observations(cams, frames, board_points, obs) - obs.xy, axis=1)
    inliers = obs.select(error <= _outlier_limits(error, obs.view, len(cameras))[obs.view])
    cams, frames = _solve(cams, frames, board_points, inliers, reference, fixed)
    residuals = project_observations(cams, frames, board_points, inliers) - inliers.xy
    frames[~usable] = np.nan
    return BundleResult(
        [vector_camera(c, p) for c, p in zip(cameras, cams, strict=True)],
        frames,
        inliers,
        residuals,
    )
