"""Calibrate a rig from board detections: intrinsics per camera, initial extrinsics from shared
views, bundle adjustment of everything, the world frame where the user wants it, a report.
Each camera gets OpenCV's pinhole model, or its fisheye model where the user asks for it."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.board import MIN_CORNERS, BoardDetections, Checkerboard
from pose3d.calibration.bundle import Observations, bundle_adjust
from pose3d.calibration.extrinsics import initial_extrinsics
from pose3d.calibration.intrinsics import calibrate_intrinsics, coverage, held_coefficients
from pose3d.calibration.plane_check import plane_square_diagnostic
from pose3d.calibration.report import (
    MIN_TILT_DEG,
    CalibrationReport,
    CameraReport,
    square_diagnostic,
    verdict,
)
from pose3d.calibration.rotations import compose, invert
from pose3d.calibration.trust import finite_or_none, intrinsic_trust
from pose3d.cameras import Camera, CameraGroup
from pose3d.errors import CalibrationError
from pose3d.progress import ProgressCallback

STEPS = 4


@dataclass(frozen=True)
class CalibrationResult:
    cameras: CameraGroup
    report: CalibrationReport
    board_poses: NDArray[np.float64]  # [n_frames, 6] board -> world, NaN for unused frames


def _move_origin(
    cameras: list[Camera], board_poses: NDArray[np.float64], frame: int, frames: NDArray[np.int64]
) -> tuple[list[Camera], NDArray[np.float64]]:
    """Make the board of media frame ``frame`` the world frame."""
    matches = np.flatnonzero(frames == frame)
    if matches.size == 0 or not np.isfinite(board_poses[matches[0], 0]):
        usable = frames[np.isfinite(board_poses[:, 0])]
        raise CalibrationError(
            f"--origin-frame {frame}: the board was not used in that frame; frames with a usable "
            f"board: {', '.join(map(str, usable[:20]))}{' ...' if usable.size > 20 else ''}"
        )
    r0, t0 = board_poses[matches[0], :3], board_poses[matches[0], 3:]
    moved = [c.with_extrinsics(*compose(c.rvec, c.tvec, r0, t0)) for c in cameras]
    ri, ti = invert(r0, t0)
    poses = board_poses.copy()
    for f in np.flatnonzero(np.isfinite(board_poses[:, 0])):
        poses[f, :3], poses[f, 3:] = compose(ri, ti, board_poses[f, :3], board_poses[f, 3:])
    return moved, poses


def _check_origin_frame(detections: BoardDetections, frame: int) -> None:
    """Fail before the work when no camera saw the board in media frame ``frame``."""
    seen = detections.frames[detections.found(MIN_CORNERS).any(axis=0)]
    if frame not in seen:
        listing = ", ".join(map(str, seen[:20])) + (" ..." if seen.size > 20 else "")
        raise CalibrationError(
            f"--origin-frame {frame}: no camera saw the board in that frame; frames with a "
            f"board: {listing or 'none'}"
        )


def fisheye_views(cameras: Sequence[str], fisheye: bool | Collection[str]) -> list[bool]:
    """Per camera of ``cameras``, whether it is calibrated with the fisheye model: all of them
    (True), none (False) or the cameras named; an unknown name is an error that lists them."""
    if isinstance(fisheye, bool):
        return [fisheye] * len(cameras)
    if isinstance(fisheye, str):
        fisheye = [fisheye]
    unknown = sorted(set(fisheye) - set(cameras))
    if unknown:
        raise CalibrationError(
            f"fisheye camera(s) {', '.join(unknown)} are not among the calibrated cameras "
            f"({', '.join(cameras)}); check the names given to --fisheye"
        )
    return [name in fisheye for name in cameras]


ONE_CAMERA_NOTE = (
    "one camera cannot measure scale (a board twice the size, twice as far, looks the same): "
    "the square lengths were measured on the board's plane, which checks the detections and "
    "the lens model, not the board spec"
)


def _notes(views: Sequence[str], given: Sequence[Camera | None]) -> list[str]:
    """What this calibration took as given or could not check."""
    notes = [ONE_CAMERA_NOTE] if len(views) == 1 else []
    held = [name for name, camera in zip(views, given, strict=True) if camera is not None]
    if held:
        notes.append(
            f"intrinsics of {', '.join(held)} were calibrated apart and held fixed: only where "
            "these cameras are was calibrated here"
        )
    return notes


def _given_intrinsics(
    detections: BoardDetections, intrinsics: Mapping[str, Camera], wide: Sequence[bool]
) -> list[Camera | None]:
    """Per camera of ``detections``, its intrinsics calibrated apart (at the origin), or None;
    refused when the image size or the lens model asked for differ."""
    given: list[Camera | None] = []
    for v, name in enumerate(detections.views):
        camera = intrinsics.get(name)
        if camera is None:
            given.append(None)
            continue
        if tuple(camera.size) != tuple(detections.sizes[v]):
            width, height = detections.sizes[v]
            raise CalibrationError(
                f"camera {name}: its intrinsics were calibrated on {camera.size[0]}x"
                f"{camera.size[1]} images, its board media are {width}x{height}; calibrate its "
                "intrinsics from media of the same size (same camera mode, no crop or rescale)"
            )
        if wide[v] and camera.model != "fisheye":
            raise CalibrationError(
                f"camera {name}: --fisheye asks for the fisheye model but its intrinsics were "
                f"calibrated with the {camera.model} model; calibrate its intrinsics again with "
                "--fisheye, or leave it out of --fisheye"
            )
        given.append(camera.with_extrinsics(np.zeros(3), np.zeros(3)))
    return given


def calibrate(
    detections: BoardDetections,
    reference: str | None = None,
    origin_frame: int | None = None,
    progress: ProgressCallback | None = None,
    fisheye: bool | Collection[str] = False,
    intrinsics: Mapping[str, Camera] | None = None,
) -> CalibrationResult:
    """Calibrate every camera of ``detections``; the world frame is camera ``reference``
    (default: the first) or, with ``origin_frame``, the board in that media frame. ``fisheye``:
    the cameras given OpenCV's fisheye model (True: all, False: none, or a set of names); the
    others get the pinhole model. ``intrinsics``: cameras calibrated apart (by name; e.g.
    ``pose3d calibrate --intrinsics-only``) whose intrinsics and lens model are held fixed:
    only their extrinsics are estimated. One camera alone is calibrated too: its square-length
    check is made on the board's plane (pose3d.calibration.plane_check)."""
    report = progress or (lambda step, done, total: None)
    board = detections.board
    if isinstance(board, Checkerboard) and board.symmetric and len(detections.views) > 1:
        raise CalibrationError(
            f"a {board.squares_x}x{board.squares_y} checkerboard looks the same turned by 180 "
            "degrees, so cameras cannot agree on its corners; use a board with one odd and one "
            f"even number of squares (e.g. {board.squares_x + 1}x{board.squares_y}) or a ChArUco "
            "board"
        )
    ref = 0 if reference is None else detections.view(reference)
    wide = fisheye_views(detections.views, fisheye)
    if origin_frame is not None:
        _check_origin_frame(detections, origin_frame)
    given = _given_intrinsics(detections, intrinsics or {}, wide)
    report("calibrate", 0, STEPS)
    views = range(len(detections.views))
    intrinsic: list[Camera] = []
    for v in views:
        known = given[v]
        intrinsic.append(known or calibrate_intrinsics(detections, v, wide[v])[0])
    wide = [camera.model == "fisheye" for camera in intrinsic]
    report("calibrate", 1, STEPS)
    placed, board_world = initial_extrinsics(detections, intrinsic, ref)
    report("calibrate", 2, STEPS)
    obs = Observations.from_corners(detections.corners, detections.found(MIN_CORNERS))
    board_points = detections.board.corner_points()
    held = [held_coefficients(detections, v, wide[v]) for v in views]
    fixed = [camera is not None for camera in given]
    result = bundle_adjust(placed, board_world, board_points, obs, ref, held, fixed)
    report("calibrate", 3, STEPS)
    cameras, poses = result.cameras, result.board_poses
    if origin_frame is not None:
        cameras, poses = _move_origin(cameras, poses, origin_frame, detections.frames)
    unit = detections.board.unit
    group = CameraGroup(tuple(cameras), unit)

    inliers = result.observations
    used = np.full(detections.corners.shape, np.nan)
    used[inliers.view, inliers.frame, inliers.corner] = inliers.xy
    camera_reports = []
    for v, cam in enumerate(cameras):
        mine = inliers.view == v
        rms = float(np.sqrt(np.mean(np.sum(result.residuals[mine] ** 2, axis=1))))
        seen = np.unique(inliers.frame[mine])
        # intrinsics given (held): the board's tilts no longer matter to them
        figures = intrinsic_trust(cam, result.camera_std[v], poses[seen], MIN_TILT_DEG)
        tilted = not fixed[v]
        camera_reports.append(
            CameraReport(
                name=cam.name,
                rms_px=rms,
                frames_used=int(np.unique(inliers.frame[mine]).size),
                corners_used=int(mine.sum()),
                fx=float(cam.matrix[0, 0]),
                fy=float(cam.matrix[1, 1]),
                cx=float(cam.matrix[0, 2]),
                cy=float(cam.matrix[1, 2]),
                distortions=cam.dist.tolist(),
                model=cam.model,
                corners_dropped=int((obs.view == v).sum() - mine.sum()),
                coverage=coverage(detections, v),
                held=sorted(held[v]),
                fx_std=finite_or_none(figures.fx_std),
                fy_std=finite_or_none(figures.fy_std),
                cx_std=finite_or_none(figures.cx_std),
                cy_std=finite_or_none(figures.cy_std),
                tilt_median_deg=finite_or_none(figures.tilt_median_deg) if tilted else None,
                tilt_max_deg=finite_or_none(figures.tilt_max_deg) if tilted else None,
                tilt_directions=figures.tilt_directions if tilted else None,
                fov_deg=finite_or_none(figures.fov_deg),
            )
        )
    if len(cameras) > 1:
        square = square_diagnostic(group, used, detections.board)
    else:
        square = plane_square_diagnostic(cameras, poses, used, detections.board)
    report("calibrate", 4, STEPS)
    calibration_report = CalibrationReport(
        camera_reports,
        square,
        unit,
        detections.views[ref] if origin_frame is None else f"board in frame {origin_frame}",
        verdict(camera_reports, square, unit),
        _notes(detections.views, given),
    )
    return CalibrationResult(group, calibration_report, poses)
