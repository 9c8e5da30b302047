"""Initial rig extrinsics from board views shared between cameras.

Each camera's board pose per frame comes from planar PnP (IPPE, the better of its two
solutions) on the corners undistorted by the camera's own lens model (``Camera.undistort_points``,
so pinhole and fisheye cameras take the same path). Cameras are chained to the reference camera
along the pairs that share the most frames; each relative pose is a robust average over the
shared frames (chordal mean of the rotations after dropping outliers, median translation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pose3d.board import MIN_CORNERS, BoardDetections
from pose3d.calibration.rotations import compose, invert, mean_rotation, rotation_angle_deg
from pose3d.cameras import Camera, matrix_to_rodrigues, rodrigues_to_matrix
from pose3d.errors import CalibrationError

FloatArray = NDArray[np.float64]


def board_poses_per_view(detections: BoardDetections, cameras: Sequence[Camera]) -> FloatArray:
    """Board-to-camera poses [n_views, n_frames, 6] (rvec, tvec); NaN where not found."""
    import cv2

    board_points = detections.board.corner_points()
    n_views, n_frames = detections.corners.shape[:2]
    poses = np.full((n_views, n_frames, 6), np.nan)
    found = detections.found(MIN_CORNERS)
    identity, no_distortion = np.eye(3), np.zeros(5)
    for v, camera in enumerate(cameras):
        for f in np.flatnonzero(found[v]):
            seen = np.isfinite(detections.corners[v, f, :, 0])
            obj = board_points[seen]
            normalized = camera.undistort_points(detections.corners[v, f, seen])
            usable = np.isfinite(normalized[:, 0])  # fisheye: NaN beyond the model's reach
            if usable.sum() < MIN_CORNERS:
                continue
            n, rvecs, tvecs, errors = cv2.solvePnPGeneric(
                obj[usable], normalized[usable], identity, no_distortion, flags=cv2.SOLVEPNP_IPPE
            )
            if n == 0:
                continue
            best = int(np.argmin(np.asarray(errors).reshape(-1)))
            poses[v, f, :3] = np.asarray(rvecs[best]).reshape(3)
            poses[v, f, 3:] = np.asarray(tvecs[best]).reshape(3)
    return poses


def _relative_pose(poses_a: FloatArray, poses_b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Robust pose of camera b in camera a's frame from board poses [n_shared, 6] of both."""
    rotations, translations = [], []
    for pa, pb in zip(poses_a, poses_b, strict=True):
        # x_b = T_b<-board (T_a<-board)^-1 x_a
        r, t = compose(pb[:3], pb[3:], *invert(pa[:3], pa[3:]))
        rotations.append(rodrigues_to_matrix(r))
        translations.append(t)
    rot = np.asarray(rotations)
    trans = np.asarray(translations)
    center = mean_rotation(rot)
    angles = rotation_angle_deg(rot, center)
    keep = angles <= max(2.0 * np.median(angles), 0.5)
    dist = np.linalg.norm(trans - np.median(trans[keep], axis=0), axis=1)
    keep &= dist <= max(2.0 * np.median(dist[keep]), 1e-9)
    return matrix_to_rodrigues(mean_rotation(rot[keep])), np.median(trans[keep], axis=0)


def initial_extrinsics(
    detections: BoardDetections, cameras: Sequence[Camera], reference: int = 0
) -> tuple[list[Camera], FloatArray]:
    """Cameras placed relative to ``reference`` (world = reference camera) and the board-to-world
    pose [n_frames, 6] of every frame (NaN for frames no placed camera saw)."""
    view_poses = board_poses_per_view(detections, cameras)
    seen = np.isfinite(view_poses[..., 0])
    shared = seen.astype(int) @ seen.T.astype(int)
    n_views = len(cameras)
    placed: dict[int, tuple[FloatArray, FloatArray]] = {reference: (np.zeros(3), np.zeros(3))}
    while len(placed) < n_views:
        best = max(
            ((shared[a, b], a, b) for a in placed for b in range(n_views) if b not in placed),
            default=(0, -1, -1),
        )
        count, a, b = best
        if count < 2:
            missing = [detections.views[v] for v in range(n_views) if v not in placed]
            raise CalibrationError(
                f"camera(s) {', '.join(missing)} share fewer than 2 board views with the other "
                "cameras; film the board where these cameras and a neighbour both see it"
            )
        both = seen[a] & seen[b]
        r_ba, t_ba = _relative_pose(view_poses[a, both], view_poses[b, both])
        # world -> b = (a -> b) o (world -> a)
        placed[b] = compose(r_ba, t_ba, *placed[a])
    placed_cameras = [cameras[v].with_extrinsics(*placed[v]) for v in range(n_views)]
    return placed_cameras, _board_world(detections, placed_cameras, view_poses)


def board_world_poses(detections: BoardDetections, cameras: Sequence[Camera]) -> FloatArray:
    """The board-to-world pose [n_frames, 6] of every frame seen by the placed ``cameras``
    (NaN for the others), each from the camera that saw the most corners of it."""
    return _board_world(detections, cameras, board_poses_per_view(detections, cameras))


def _board_world(
    detections: BoardDetections, cameras: Sequence[Camera], view_poses: FloatArray
) -> FloatArray:
    seen = np.isfinite(view_poses[..., 0])
    n_frames = view_poses.shape[1]
    board_world = np.full((n_frames, 6), np.nan)
    counts = np.isfinite(detections.corners[..., 0]).sum(axis=-1)
    for f in range(n_frames):
        views = np.flatnonzero(seen[:, f])
        if len(views) == 0:
            continue
        v = views[np.argmax(counts[views, f])]
        camera = cameras[v]
        r, t = compose(
            *invert(camera.rvec, camera.tvec), view_poses[v, f, :3], view_poses[v, f, 3:]
        )
        board_world[f, :3], board_world[f, 3:] = r, t
    return board_world
