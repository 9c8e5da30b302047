"""Bundle adjustment of the whole rig: every camera's intrinsics and extrinsics and every
board pose, minimising the reprojection error of all detected corners.

Levenberg-Marquardt on the normal equations (pose3d.calibration.solver) with a sparse
finite-difference Jacobian: an observation depends on its camera's 15 parameters and its
frame's 6 board-pose parameters only, so the Jacobian costs 21 residual evaluations whatever
the size of the rig. A robust loss (soft L1, scale 1 px) keeps a few bad detections from pulling
the solution; a second pass drops observations far off the first solution (relative to each
camera's median error). The reference
camera's extrinsics are fixed (they define the world frame).

A camera's 15 parameters are ``rvec 3, tvec 3, fx, fy, cx, cy`` and five distortion slots: a
pinhole camera's ``k1 k2 p1 p2 k3``, a fisheye camera's ``k1 k2 k3 k4`` and a fifth slot held at
0. Each observation is projected with its camera's lens model (pose3d.lens).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from pose3d.calibration.rotations import rotate
from pose3d.calibration.solver import levenberg_marquardt, robust_weights
from pose3d.cameras import Camera
from pose3d.lens import PINHOLE, LensModel

FloatArray = NDArray[np.float64]

N_CAMERA = 15  # rvec 3, tvec 3, fx, fy, cx, cy, and 5 distortion slots
DIST = 10  # index of the first distortion slot
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
    """The 15 parameters of ``camera`` (unused distortion slots 0)."""
    m = camera.matrix
    out = np.zeros(N_CAMERA)
    out[:DIST] = np.concatenate([camera.rvec, camera.tvec, [m[0, 0], m[1, 1], m[0, 2], m[1, 2]]])
    out[DIST : DIST + camera.dist.size] = camera.dist
    return out


def vector_camera(template: Camera, params: FloatArray) -> Camera:
    """``template`` (name, size, lens model) with the 15 parameters ``params``."""
    fx, fy, cx, cy = params[6:10]
    matrix = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    dist = params[DIST : DIST + template.lens_model.n_coefficients]
    return Camera(
        template.name, template.size, matrix, dist, params[:3], params[3:6], template.model
    )


def project_observations(
    cams: FloatArray,
    frames: FloatArray,
    board_points: FloatArray,
    obs: Observations,
    models: Sequence[LensModel] | None = None,
) -> FloatArray:
    """Pixels [n, 2] of the observed corners under camera params [n_views, 15] and board poses
    [n_frames, 6], each camera through its lens model ``models[view]`` (default: pinhole)."""
    pose = frames[obs.frame]
    world = rotate(pose[:, :3], board_points[obs.corner]) + pose[:, 3:]
    return project_points(cams, world, obs.view, models)


def project_points(
    cams: FloatArray,
    world: FloatArray,
    view: NDArray[np.int64],
    models: Sequence[LensModel] | None = None,
) -> FloatArray:
    """Pixels [n, 2] of world points [n, 3], point i seen by camera ``view[i]`` with camera
    params [n_views, 15], each camera through its lens model (default: pinhole)."""
    cam = cams[view]
    local = rotate(cam[:, :3], world) + cam[:, 3:6]
    x = local[:, 0] / local[:, 2]
    y = local[:, 1] / local[:, 2]
    xd, yd = _distort(cam, x, y, view, models or [PINHOLE] * len(cams))
    return np.stack([cam[:, 6] * xd + cam[:, 8], cam[:, 7] * yd + cam[:, 9]], axis=-1)


def _distort(
    cam: FloatArray,
    x: FloatArray,
    y: FloatArray,
    view: NDArray[np.int64],
    models: Sequence[LensModel],
) -> tuple[FloatArray, FloatArray]:
    """Distorted normalized (x, y) [n] of observations with camera params ``cam`` [n, 15] seen
    by cameras ``view`` [n]: one kernel call per lens model, on that model's rows only."""
    present = {m.name: m for m in models}
    if len(present) == 1:
        model = models[0]
        return model.distort(x, y, *(cam[:, DIST + i] for i in range(model.n_coefficients)))
    xd, yd = np.empty_like(x), np.empty_like(y)
    for model in present.values():
        rows = np.isin(view, [v for v, m in enumerate(models) if m.name == model.name])
        c = cam[rows]
        xd[rows], yd[rows] = model.distort(
            x[rows], y[rows], *(c[:, DIST + i] for i in range(model.n_coefficients))
        )
    return xd, yd


@dataclass(frozen=True)
class BundleResult:
    cameras: list[Camera]
    board_poses: FloatArray  # [n_frames, 6], NaN for frames not used
    observations: Observations  # the inliers used in the final pass
    residuals: FloatArray  # [n_inliers, 2] px
    # standard deviation of each camera parameter [n_views, 15] (camera_vector's order) from
    # the covariance at the solution, the board poses marginalised out; NaN where held
    camera_std: FloatArray


def _held(
    cameras: Sequence[Camera],
    reference: int,
    held: Sequence[Collection[str]],
    fixed_intrinsics: Sequence[bool],
) -> NDArray[np.bool_]:
    """Which camera parameters [n_views, 15] stay at their initial values: the reference
    camera's extrinsics, the distortion coefficients named in ``held``, unused slots, and all
    intrinsics (focal, principal point, distortion) of the cameras ``fixed_intrinsics`` marks."""
    fixed = np.zeros((len(cameras), N_CAMERA), dtype=bool)
    fixed[reference, :6] = True
    fixed[np.asarray(fixed_intrinsics, dtype=bool), 6:] = True
    for v, (camera, names) in enumerate(zip(cameras, held, strict=True)):
        coefficients = camera.lens_model.coefficients
        fixed[v, DIST + len(coefficients) :] = True
        for name in names:
            fixed[v, DIST + coefficients.index(name)] = True
    return fixed


def _layout(fixed: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Column of each camera parameter in the free vector [n_views, 15], -1 when fixed."""
    index = np.full(fixed.shape, -1, dtype=np.int64)
    index[~fixed] = np.arange(int((~fixed).sum()))
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
    groups = [(layout[:, k], obs.view) for k in range(N_CAMERA)]
    groups += [(n_cam_free + np.arange(n_frames) * N_FRAME + k, obs.frame) for k in range(N_FRAME)]
    return grouped_jacobian(residuals, groups)


def grouped_jacobian(
    residuals: Callable[[FloatArray], FloatArray],
    groups: Sequence[tuple[NDArray[np.int64], NDArray[np.int64]]],
) -> Callable[[FloatArray, FloatArray], sparse.csr_matrix]:
    """Forward-difference Jacobian [2 n_obs, n_params] of ``residuals`` (2 per observation) in
    one evaluation per group. A group is (columns [n_owners], owner [n_obs]): the parameter
    ``columns[o]`` (-1: held) of owner o (a camera, a board pose, a point) is the only one of
    the group that observation i's residuals depend on, with o = owner[i]; so all owners'
    parameters of a group are stepped at once."""

    def jacobian(x: FloatArray, f0: FloatArray) -> sparse.csr_matrix:
        rows = np.arange(f0.size)
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
            shape=(f0.size, x.size),
        )

    return jacobian


def camera_std(
    jac: sparse.csr_matrix,
    residuals: FloatArray,
    n_cam_free: int,
    n_frames: int,
) -> FloatArray:
    """Standard deviations [n_cam_free] of the free camera parameters: the camera block of
    ``sigma² (JᵀWJ)⁻¹`` (soft-L1 weights W at the solution, sigma² the weighted residual
    variance), by the Schur complement of the block-diagonal board-pose part (each board pose
    couples with cameras only). NaN when a parameter is not determined by the data."""
    errors = np.linalg.norm(residuals.reshape(-1, 2), axis=1)
    w = np.repeat(robust_weights(errors, ROBUST_SCALE_PX), 2)
    dof = max(residuals.size - jac.shape[1], 1)
    sigma2 = float(np.sum(w * residuals**2) / dof)
    normal = (jac.multiply(w[:, None]).tocsr().T @ jac).tocsr()
    a = normal[:n_cam_free, :n_cam_free].toarray()
    b = normal[:n_cam_free, n_cam_free:].toarray()
    pose_part = normal[n_cam_free:, n_cam_free:].tocoo()  # block diagonal, 6 x 6 per frame
    d = np.zeros((n_frames, N_FRAME, N_FRAME))
    same = pose_part.row // N_FRAME == pose_part.col // N_FRAME
    rows, cols = pose_part.row[same], pose_part.col[same]
    d[rows // N_FRAME, rows % N_FRAME, cols % N_FRAME] = pose_part.data[same]
    # a frame without observations has a zero block: it couples with nothing
    d_inv = np.linalg.pinv(d, hermitian=True)
    b_frames = b.reshape(n_cam_free, n_frames, N_FRAME)
    schur = a - np.einsum("cfi,fij,dfj->cd", b_frames, d_inv, b_frames)
    with np.errstate(invalid="ignore"):
        try:
            covariance = np.linalg.inv(schur)
        except np.linalg.LinAlgError:
            return np.full(n_cam_free, np.nan)
        variance = sigma2 * np.diag(covariance)
    return np.where(variance >= 0, np.sqrt(np.abs(variance)), np.nan)


def _solve(
    cams0: FloatArray,
    frames0: FloatArray,
    board_points: FloatArray,
    obs: Observations,
    fixed: NDArray[np.bool_],
    models: Sequence[LensModel],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    n_frames = len(frames0)
    layout = _layout(fixed)
    n_cam_free = int(layout.max()) + 1
    free = layout >= 0

    def unpack(x: FloatArray) -> tuple[FloatArray, FloatArray]:
        cams = cams0.copy()
        cams[free] = x[layout[free]]
        return cams, x[n_cam_free:].reshape(n_frames, N_FRAME)

    def residuals(x: FloatArray) -> FloatArray:
        cams, frames = unpack(x)
        return (project_observations(cams, frames, board_points, obs, models) - obs.xy).ravel()

    x0 = np.concatenate([cams0[free], frames0.ravel()])
    jacobian = _grouped_jacobian(residuals, layout, obs, n_cam_free, n_frames)
    result = levenberg_marquardt(residuals, jacobian, x0, scale=ROBUST_SCALE_PX)
    cams, frames = unpack(result.x)
    r = residuals(result.x)
    std = np.full(cams0.shape, np.nan)
    std[free] = camera_std(jacobian(result.x, r), r, n_cam_free, n_frames)[layout[free]]
    return cams, frames, std


def outlier_limits(error: FloatArray, view: NDArray[np.int64], n_views: int) -> FloatArray:
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
    held: Sequence[Collection[str]] | None = None,
    fixed_intrinsics: Sequence[bool] | None = None,
) -> BundleResult:
    """Refine ``cameras`` and ``board_poses`` [n_frames, 6] on ``obs``; frames whose pose is NaN
    are left out; ``held[v]`` names the distortion coefficients of camera v that keep their
    value (e.g. ``{"k3"}``, see intrinsics.HIGH_ORDER_REACH); the cameras ``fixed_intrinsics``
    marks keep all their intrinsics (calibrated apart, e.g. ``pose3d calibrate
    --intrinsics-only``) and only their extrinsics move; each camera keeps its lens model."""
    n_views = len(cameras)
    fixed = _held(cameras, reference, held or [()] * n_views, fixed_intrinsics or [False] * n_views)
    models = [c.lens_model for c in cameras]
    usable = np.isfinite(board_poses[:, 0])
    obs = obs.select(usable[obs.frame])
    frames0 = np.where(usable[:, None], board_poses, 0.0)
    cams0 = np.stack([camera_vector(c) for c in cameras])
    cams, frames, _ = _solve(cams0, frames0, board_points, obs, fixed, models)
    projected = project_observations(cams, frames, board_points, obs, models)
    error = np.linalg.norm(projected - obs.xy, axis=1)
    inliers = obs.select(error <= outlier_limits(error, obs.view, len(cameras))[obs.view])
    cams, frames, std = _solve(cams, frames, board_points, inliers, fixed, models)
    residuals = project_observations(cams, frames, board_points, inliers, models) - inliers.xy
    frames[~usable] = np.nan
    return BundleResult(
        [vector_camera(c, p) for c, p in zip(cameras, cams, strict=True)],
        frames,
        inliers,
        residuals,
        std,
    )
