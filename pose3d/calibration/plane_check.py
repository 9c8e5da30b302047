"""The square-length check a single camera can make: its detected corners carried back onto
the board's plane at the board pose the calibration found.

A rig checks its square length by triangulating corners that two cameras saw
(:func:`pose3d.calibration.report.square_diagnostic`). One camera cannot triangulate, but it
knows where the board was: each detected corner's ray (through the calibrated lens) meets the
board's plane at a point whose distance to its neighbours should be one square. The median
cannot tell a mis-sized board spec (one camera cannot measure scale: a board twice as large,
twice as far, looks the same), but the spread shows what the pose and lens model do not
explain: a bent board, corners detected in the wrong order, a lens model that does not fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board
from pose3d.calibration.report import SquareDiagnostic, neighbour_pairs
from pose3d.calibration.rotations import compose
from pose3d.cameras import Camera, rodrigues_to_matrix

FloatArray = NDArray[np.float64]


def on_board_plane(camera: Camera, board_pose: FloatArray, pixels: FloatArray) -> FloatArray:
    """Board-plane coordinates [n, 2] of ``pixels`` [n, 2] seen by ``camera`` with the board at
    ``board_pose`` (board -> world: rvec, tvec); NaN where a ray misses the plane or the lens
    model cannot undistort."""
    rvec, tvec = compose(camera.rvec, camera.tvec, board_pose[:3], board_pose[3:])
    rotation = rodrigues_to_matrix(rvec)  # board -> camera
    normal = rotation[:, 2]
    xy = camera.undistort_points(pixels)
    rays = np.concatenate([xy, np.ones((len(xy), 1))], axis=1)
    along = rays @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(np.abs(along) > 1e-12, (tvec @ normal) / along, np.nan)
        depth = np.where(depth > 0, depth, np.nan)
    points = rays * depth[:, None]
    return ((points - tvec) @ rotation)[:, :2]


def plane_square_diagnostic(
    cameras: Sequence[Camera],
    board_poses: FloatArray,
    corners: FloatArray,
    board: Board,
) -> SquareDiagnostic | None:
    """Distances between neighbouring corners carried onto the board's plane: ``corners``
    [n_views, n_frames, n_corners, 2] (NaN = not used), ``board_poses`` [n_frames, 6] board ->
    world (NaN = frame not used). None when no neighbouring pair was seen."""
    pairs = neighbour_pairs(board)
    lengths: list[FloatArray] = []
    for v, camera in enumerate(cameras):
        for f in np.flatnonzero(np.isfinite(board_poses[:, 0])):
            seen = np.isfinite(corners[v, f, :, 0])
            if seen.sum() < 2:
                continue
            plane = np.full((corners.shape[2], 2), np.nan)
            plane[seen] = on_board_plane(camera, board_poses[f], corners[v, f, seen])
            lengths.append(np.linalg.norm(plane[pairs[:, 0]] - plane[pairs[:, 1]], axis=1))
    found = np.concatenate(lengths) if lengths else np.empty(0)
    return SquareDiagnostic.measure(found, board.square_length)
