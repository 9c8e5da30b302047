"""The animal as a calibration object: refine a rig's extrinsics (optionally its intrinsics)
from labelled keypoints, the board observations kept as a prior (as Anipose's animal
calibration does, with the board so that the scale and units stay).

One bundle adjustment over three kinds of unknowns: the cameras, one pose per board frame and
one 3D point per labelled keypoint and frame seen by two views or more. The board corners and
the keypoints are fitted together, each residual divided by the noise of its kind (maximum
likelihood): a camera's board noise is its RMS with the board poses fitted to the calibration
as it is, the keypoints' is estimated from their distances to the reprojection of their
triangulation. Unweighted, half-pixel label noise outweighs board corners good to 0.05 px and
drags the cameras along the directions the board pins only weakly (a principal point shifted
with a turn of the camera: 0.7 degrees on the synthetic rig). The robust loss (soft L1) acts
beyond :data:`ROBUST_SIGMAS` noise. The points and board poses are eliminated at each step
(pose3d.calibration.solver, Schur complement), so a session's thousands of points cost small
dense solves. The reference camera stays where it is (it holds the world frame).

A refinement is judged before it is kept: the board's RMS per camera, before (board poses
re-fitted to the calibration as it is) and after, must not grow beyond
:data:`MAX_BOARD_RMS_RATIO`; the keypoints' disagreement is measured per view before and after
as the distance of each labelled point to the reprojection of its triangulation from the other
views (leave one view out), the measure the multi-view review flags use.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pose3d.board import MIN_CORNERS, BoardDetections
from pose3d.calibration.bundle import (
    DIST,
    N_CAMERA,
    N_FRAME,
    Observations,
    camera_vector,
    grouped_jacobian,
    outlier_limits,
    project_observations,
    project_points,
    vector_camera,
)
from pose3d.calibration.extrinsics import board_world_poses
from pose3d.calibration.solver import Blocks, levenberg_marquardt
from pose3d.cameras import CameraGroup
from pose3d.errors import CalibrationError
from pose3d.lens import LensModel

FloatArray = NDArray[np.float64]

ROBUST_SIGMAS = 3.0  # the soft-L1 loss's scale, in units of each observation's noise
MIN_SIGMA_PX = 0.05  # the smallest noise assumed (a perfect fit would weigh infinitely)
# the labels' own noise needs only a rough fit (their scale is free: it converges slowly)
LABELS_ALONE_ITERATIONS = 40
MAX_BOARD_RMS_RATIO = 1.5  # a refinement may not make any camera's board RMS grow beyond this
MAX_POINTS = 20_000  # labelled 3D points used (spread evenly); enough for 15 + 6 n parameters
MIN_POINTS = 20  # fewer labelled points in >= 2 views cannot refine a rig


@dataclass(frozen=True)
class ViewFit:
    """One camera's fit: board RMS (px) and the keypoints' leave-one-view-out median (px)."""

    board_rms_px: float
    keypoint_median_px: float
    n_keypoints: int


@dataclass(frozen=True)
class Refinement:
    cameras: CameraGroup
    before: dict[str, ViewFit]
    after: dict[str, ViewFit]
    n_points: int  # labelled 3D points used
    intrinsics_refined: bool
    problems: list[str] = field(default_factory=list)  # why not to keep it (empty: keep)
    # per keypoint name, the leave-one-view-out median (px) before: a keypoint labelled at
    # different places in different views (a body surface, an ambiguous landmark) stands out
    keypoints_before: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.problems

    def disagreement(self, which: str) -> float:
        """Median over every view's labelled points of the leave-one-view-out distance (px),
        ``which`` = "before" or "after"."""
        fits = self.before if which == "before" else self.after
        values = [f.keypoint_median_px for f in fits.values() if np.isfinite(f.keypoint_median_px)]
        weights = [f.n_keypoints for f in fits.values() if np.isfinite(f.keypoint_median_px)]
        return float(np.average(values, weights=weights)) if values else float("nan")


def refine_from_labels(
    cameras: CameraGroup,
    detections: BoardDetections,
    pixels: FloatArray,
    refine_intrinsics: bool = False,
    reference: str | None = None,
    keypoints: Sequence[str] | None = None,
    on_iteration: Callable[[str, int, int], None] | None = None,
) -> Refinement:
    """Refine ``cameras`` from labelled keypoints ``pixels`` [n_views, n_points, 2] (views in
    ``cameras`` order, NaN = not labelled there) with the board ``detections`` as a prior;
    ``keypoints`` [n_points] names each point's keypoint (for the per-keypoint diagnosis);
    ``on_iteration(stage, iteration, max_iterations)`` reports the solver's progress ("board":
    the board's own fit, for its noise and outliers; "before": the board poses fitted to the
    calibration as it is; "labels": the labels' own fit, for their noise; "refine"), and may
    raise to cancel."""
    if tuple(detections.views) != tuple(cameras.names):
        raise CalibrationError(
            f"the board detections are of cameras {', '.join(detections.views)}, the "
            f"calibration of {', '.join(cameras.names)}; calibrate again so that they match"
        )
    seen = np.isfinite(pixels).all(axis=2)
    rows = seen.sum(axis=0) >= 2
    if rows.sum() < MIN_POINTS:
        raise CalibrationError(
            f"only {int(rows.sum())} labelled points are seen by two cameras or more; "
            f"refining a calibration from labels needs at least {MIN_POINTS} (label the same "
            "keypoints in several views of the same frames)"
        )
    names = np.asarray(keypoints if keypoints is not None else [""] * pixels.shape[1])[rows]
    chosen = _spread_evenly(int(rows.sum()), MAX_POINTS)
    pixels, names = pixels[:, rows][:, chosen], names[chosen]
    ref = 0 if reference is None else cameras.names.index(reference)
    obs = Observations.from_corners(detections.corners, detections.found(MIN_CORNERS))
    board_points = detections.board.corner_points()
    poses = board_world_poses(detections, list(cameras.cameras))
    usable = np.isfinite(poses[:, 0])
    obs = obs.select(usable[obs.frame])
    frames0 = np.where(usable[:, None], poses, 0.0)
    problem: _Problem = _Problem(cameras, frames0, board_points, obs, pixels)

    def stage(name: str) -> Callable[[int, int], None] | None:
        if on_iteration is None:
            return None
        report = on_iteration
        return lambda done, total: report(name, done, total)

    free = np.zeros(problem.cams0.shape, dtype=bool)
    free[:, :6] = True
    free[ref, :6] = False
    if refine_intrinsics:  # a distortion coefficient the calibration held at 0 stays there
        for v, camera in enumerate(cameras):
            free[v, 6:DIST] = True
            free[v, DIST : DIST + camera.dist.size] = camera.dist != 0
    # the board's own noise and outliers, its cameras free: not those of the calibration as it
    # is, which a refinement may be about to correct
    own = problem.solve(~free, stage("board"), with_labels=False)
    problem = problem.inliers(own)
    own = problem.solve(~free, stage("board"), with_labels=False)
    before_fit = problem.board_only(stage("before"))
    obs = problem.obs
    problem.weigh(own, stage("labels"))
    after_fit = problem.solve(~free, stage("refine"))
    refined = CameraGroup(
        tuple(vector_camera(c, p) for c, p in zip(cameras, after_fit.cams, strict=True)),
        cameras.unit,
        cameras.metadata,
    )
    disagreement = leave_one_out(cameras, pixels)
    before = _view_fits(cameras.names, before_fit.board_rms(obs, len(cameras)), disagreement)
    by_keypoint = {
        str(name): float(np.nanmedian(disagreement[:, names == name]))
        for name in dict.fromkeys(names.tolist())
        if keypoints is not None
    }
    after = _view_fits(
        refined.names, after_fit.board_rms(obs, len(cameras)), leave_one_out(refined, pixels)
    )
    problems = [
        f"camera {name}: the board's RMS would grow from {before[name].board_rms_px:.2f} to "
        f"{after[name].board_rms_px:.2f} px (more than {MAX_BOARD_RMS_RATIO}x): the labels "
        "disagree with the board; check the labels of this camera and the cameras' frame "
        "offsets"
        for name in cameras.names
        if after[name].board_rms_px > MAX_BOARD_RMS_RATIO * max(before[name].board_rms_px, 0.05)
    ]
    return Refinement(
        refined, before, after, int(pixels.shape[1]), refine_intrinsics, problems, by_keypoint
    )


def _spread_evenly(n: int, limit: int) -> NDArray[np.int64]:
    """Indices of at most ``limit`` of ``n`` items, spread evenly."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


@dataclass(frozen=True)
class _Fit:
    cams: FloatArray
    residuals: FloatArray  # board residuals [n_obs, 2] px

    def board_rms(self, obs: Observations, n_views: int) -> FloatArray:
        out = np.full(n_views, np.nan)
        for v in range(n_views):
            mine = self.residuals[obs.view == v]
            if mine.size:
                out[v] = float(np.sqrt(np.mean(np.sum(mine**2, axis=1))))
        return out


class _Problem:
    """Cameras [n_views, 15], board poses [n_frames, 6] and points [n_points, 3] fitted to
    board corners and labelled keypoints."""

    def __init__(
        self,
        cameras: CameraGroup,
        frames0: FloatArray,
        board_points: FloatArray,
        obs: Observations,
        pixels: FloatArray,
    ) -> None:
        from pose3d.triangulation import triangulate_points

        self.cams0 = np.stack([camera_vector(c) for c in cameras])
        self.frames0, self.board_points, self.obs = frames0, board_points, obs
        self.models: list[LensModel] = [c.lens_model for c in cameras]
        view, point = np.nonzero(np.isfinite(pixels).all(axis=2))
        self.label_view, self.label_point, self.label_xy = view, point, pixels[view, point]
        self.n_points = pixels.shape[1]
        points0, _ = triangulate_points(pixels, cameras)
        self.points0 = np.nan_to_num(points0)
        self.board_sigma = np.ones(len(cameras))  # px, set by weigh()
        self.label_sigma = 1.0

    def weigh(self, board_fit: _Fit, on_iteration: Callable[[int, int], None] | None) -> None:
        """Each kind's noise (px per coordinate): every camera's board RMS in ``board_fit``;
        the keypoints' from their residuals when the cameras' extrinsics are fitted to the
        labels alone (how well the labels agree with themselves, whatever the board says: a
        2D Gaussian's median distance is 1.1774 sigma, corrected for the parameters fitted)."""
        n_views = len(self.cams0)
        rms = board_fit.board_rms(self.obs, n_views)
        self.board_sigma = np.maximum(np.nan_to_num(rms, nan=1.0) / np.sqrt(2.0), MIN_SIGMA_PX)
        alone = copy.copy(self)
        alone.obs = self.obs.select(np.zeros(len(self.obs.view), dtype=bool))
        alone.frames0 = np.zeros((0, N_FRAME))
        alone.label_sigma = 1.0
        fixed = np.ones(self.cams0.shape, dtype=bool)
        fixed[1:, :6] = False  # the first camera holds the frame (the scale stays free)
        residual = alone.solve(
            fixed, on_iteration, label_residuals=True, max_iterations=LABELS_ALONE_ITERATIONS
        ).residuals
        distance = np.linalg.norm(residual, axis=1)
        n_obs, n_params = 2 * len(distance), 3 * self.n_points + 6 * (n_views - 1) + 1
        dof = np.sqrt(n_obs / max(n_obs - n_params, 1))
        median = float(np.median(distance)) if distance.size else 1.0
        self.label_sigma = max(dof * median / 1.1774, MIN_SIGMA_PX)

    def board_only(self, on_iteration: Callable[[int, int], None] | None) -> _Fit:
        """The board poses fitted to the cameras as they are (no labels)."""
        fixed = np.ones(self.cams0.shape, dtype=bool)
        return self.solve(fixed, on_iteration, with_labels=False)

    def inliers(self, fit: _Fit) -> _Problem:
        """This problem without the board corners far off ``fit`` (bundle.outlier_limits)."""
        error = np.linalg.norm(fit.residuals, axis=1)
        keep = error <= outlier_limits(error, self.obs.view, len(self.cams0))[self.obs.view]
        out = copy.copy(self)
        out.obs = self.obs.select(keep)
        return out

    def solve(
        self,
        fixed: NDArray[np.bool_],
        on_iteration: Callable[[int, int], None] | None,
        with_labels: bool = True,
        label_residuals: bool = False,
        max_iterations: int = 100,
    ) -> _Fit:
        """Fit with the camera parameters ``fixed`` [n_views, 15] held (unused distortion slots
        always are), with the labelled keypoints or without; the fit's residuals are the
        board's, or the labels' with ``label_residuals``."""
        if not with_labels:
            bare = copy.copy(self)
            bare.label_view = bare.label_point = np.zeros(0, np.int64)
            bare.label_xy, bare.points0, bare.n_points = np.zeros((0, 2)), np.zeros((0, 3)), 0
            return bare.solve(fixed, on_iteration)
        fixed = fixed.copy()
        for v, model in enumerate(self.models):
            fixed[v, DIST + model.n_coefficients :] = True
        layout = np.full(fixed.shape, -1, dtype=np.int64)
        layout[~fixed] = np.arange(int((~fixed).sum()))
        n_cam = int((~fixed).sum())
        n_frames, n_points = len(self.frames0), self.n_points
        start_points = n_cam + N_FRAME * n_frames

        def unpack(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            cams = self.cams0.copy()
            cams[~fixed] = x[layout[~fixed]]
            frames = x[n_cam:start_points].reshape(n_frames, N_FRAME)
            return cams, frames, x[start_points:].reshape(n_points, 3)

        def residuals(x: FloatArray) -> FloatArray:
            cams, frames, points = unpack(x)
            board = project_observations(cams, frames, self.board_points, self.obs, self.models)
            labels = project_points(cams, points[self.label_point], self.label_view, self.models)
            both = np.concatenate([(board - self.obs.xy).ravel(), (labels - self.label_xy).ravel()])
            return both * weight

        n_board = len(self.obs.view)
        view = np.concatenate([self.obs.view, self.label_view])
        owner_frame = np.concatenate([self.obs.frame, np.zeros(len(self.label_view), np.int64)])
        owner_point = np.concatenate([np.zeros(n_board, np.int64), self.label_point])
        no_frame = np.concatenate([np.zeros(n_board, bool), np.ones(len(self.label_view), bool)])
        frame_cols = [
            np.append(n_cam + np.arange(n_frames) * N_FRAME + k, -1) for k in range(N_FRAME)
        ]
        point_cols = [np.append(start_points + np.arange(n_points) * 3 + k, -1) for k in range(3)]
        groups = [(layout[:, k], view) for k in range(N_CAMERA)]
        groups += [(cols, np.where(no_frame, n_frames, owner_frame)) for cols in frame_cols]
        groups += [(cols, np.where(no_frame, owner_point, n_points)) for cols in point_cols]
        sigma = np.concatenate(
            [self.board_sigma[self.obs.view], np.full(len(self.label_view), self.label_sigma)]
        )
        weight = np.repeat(1.0 / sigma, 2)
        x0 = np.concatenate([self.cams0[~fixed], self.frames0.ravel(), self.points0.ravel()])
        blocks = [Blocks(n_cam, N_FRAME, n_frames), Blocks(start_points, 3, n_points)]
        result = levenberg_marquardt(
            residuals,
            grouped_jacobian(residuals, groups),
            x0,
            scale=ROBUST_SIGMAS,
            max_iterations=max_iterations,
            structure=(n_cam, blocks),
            on_iteration=on_iteration,
        )
        cams, frames, points = unpack(result.x)
        if label_residuals:
            labels = project_points(cams, points[self.label_point], self.label_view, self.models)
            return _Fit(cams, labels - self.label_xy)
        board = project_observations(cams, frames, self.board_points, self.obs, self.models)
        return _Fit(cams, board - self.obs.xy)


def leave_one_out(cameras: CameraGroup, pixels: FloatArray) -> FloatArray:
    """Distance (px) [n_views, n_points] of each labelled point to the reprojection of its
    triangulation from the other views (NaN where it is not labelled or fewer than two other
    views have it)."""
    from pose3d.triangulation import triangulate_points

    out = np.full(pixels.shape[:2], np.nan)
    for v, name in enumerate(cameras.names):
        others = [u for u in range(len(cameras)) if u != v]
        rest = pixels[others]
        usable = (np.isfinite(rest).all(axis=2).sum(axis=0) >= 2) & np.isfinite(pixels[v]).all(1)
        if not usable.any():
            continue
        group = cameras.subset([cameras.names[u] for u in others])
        points, _ = triangulate_points(rest[:, usable], group)
        out[v, usable] = np.linalg.norm(cameras[name].project(points) - pixels[v, usable], axis=1)
    return out


def _view_fits(
    names: Sequence[str], board_rms: FloatArray, distance: FloatArray
) -> dict[str, ViewFit]:
    """Per camera: board RMS and the median of its points' leave-one-view-out ``distance``
    [n_views, n_points]."""
    fits = {}
    for v, name in enumerate(names):
        mine = distance[v][np.isfinite(distance[v])]
        median = float(np.median(mine)) if mine.size else float("nan")
        fits[name] = ViewFit(float(board_rms[v]), median, int(mine.size))
    return fits
