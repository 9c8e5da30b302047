"""Calibration cases with exact truth, made without rendering: a camera's own board views
(intrinsics filmed apart), keypoints an animal would give in the rig's space, a calibration
disturbed from the truth. Tests and benchmarks/calibration_workflows.py share them."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board, BoardDetections
from pose3d.cameras import Camera, CameraGroup, matrix_to_rodrigues, rodrigues_to_matrix

FloatArray = NDArray[np.float64]


def own_board_views(
    camera: Camera, board: Board, n: int = 40, seed: int = 0, noise_px: float = 0.05
) -> BoardDetections:
    """``n`` board views filmed by ``camera`` alone, as for its intrinsics: the board 35-70 % of
    the image wide, tilted 10-45 degrees about a random axis, anywhere in the image; the true
    corners projected through the true lens with Gaussian noise of ``noise_px`` (a rendered
    rig's ChArUco detections have ~0.05 px), corners outside the image dropped."""
    rng = np.random.default_rng(seed)
    at_origin = camera.with_extrinsics(np.zeros(3), np.zeros(3))
    points = board.corner_points()
    centre = points.mean(axis=0)
    width, height = camera.size
    (fx, _, cx), (_, fy, cy) = camera.matrix[:2]
    extent = float(np.ptp(points[:, :2], axis=0).max())
    corners = np.full((n, len(points), 2), np.nan)
    for i in range(n):
        depth = fx * extent / (rng.uniform(0.35, 0.7) * width)
        axis = np.array([*rng.normal(size=2), 0.0])
        axis *= np.deg2rad(rng.uniform(10.0, 45.0)) / np.linalg.norm(axis)
        rotation = rodrigues_to_matrix(axis) @ rodrigues_to_matrix([0, 0, rng.uniform(-0.3, 0.3)])
        u, v = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        translation = np.array([(u - cx) / fx, (v - cy) / fy, 1.0]) * depth - rotation @ centre
        pixels = at_origin.project(points @ rotation.T + translation)
        pixels += rng.normal(0.0, noise_px, pixels.shape)
        corners[i, _inside(pixels, camera)] = pixels[_inside(pixels, camera)]
    return BoardDetections((camera.name,), (camera.size,), np.arange(n), corners[None], board)


def keypoint_pixels(
    cameras: CameraGroup,
    space: FloatArray,
    n: int = 400,
    seed: int = 0,
    noise_px: float = 0.5,
    spread: float = 20.0,
) -> FloatArray:
    """``n`` 3D points near the points ``space`` [m, 3] (where an animal moves: e.g. the board
    corners of the rig's calibration), ``spread`` world units around them, seen by ``cameras``
    with Gaussian noise of ``noise_px``: pixels [n_views, n, 2], NaN outside an image."""
    rng = np.random.default_rng(seed)
    space = space[np.isfinite(space).all(axis=1)]
    points = space[rng.integers(0, len(space), n)] + rng.normal(0, spread, (n, 3))
    pixels = cameras.project(points) + rng.normal(0, noise_px, (len(cameras), n, 2))
    for v, camera in enumerate(cameras):
        pixels[v, ~_inside(pixels[v], camera)] = np.nan
    return pixels


def disturbed(cameras: CameraGroup, degrees: float, shift: float, seed: int = 1) -> CameraGroup:
    """Every camera but the first turned by ``degrees`` about a random axis and moved by
    ``shift`` world units: a calibration off as a bumped rig or a weak board set leaves it."""
    rng = np.random.default_rng(seed)
    out = [cameras.cameras[0]]
    for camera in cameras.cameras[1:]:
        axis = rng.normal(size=3)
        turn = axis / np.linalg.norm(axis) * np.deg2rad(degrees)
        rvec = matrix_to_rodrigues(rodrigues_to_matrix(turn) @ camera.rotation)
        move = rng.normal(size=3)
        out.append(camera.with_extrinsics(rvec, camera.tvec + move / np.linalg.norm(move) * shift))
    return CameraGroup(tuple(out), cameras.unit, cameras.metadata)


def _inside(pixels: FloatArray, camera: Camera) -> NDArray[np.bool_]:
    width, height = camera.size
    x, y = pixels[:, 0], pixels[:, 1]
    return (x >= 0) & (y >= 0) & (x <= width - 1) & (y <= height - 1)
