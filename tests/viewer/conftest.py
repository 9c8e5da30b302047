"""Fixtures of the viewer tests: a small analytic poses dataset and a distortion-free camera."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pose3d.cameras import Camera, CameraGroup, look_at, matrix_to_rodrigues
from pose3d.poses import poses_dataset

KEYPOINTS = ("nose", "neck", "hip", "tail")
EDGES = (("nose", "neck"), ("neck", "hip"), ("hip", "tail"))


def make_poses() -> xr.Dataset:
    """2 individuals x 4 keypoints, 6 frames, spread over a 400 mm square, moving along x."""
    base = np.array(
        [
            [[-150.0, -100.0, 60.0], [-50.0, -110.0, 50.0], [40.0, -90.0, 40.0], [140, -60, 30]],
            [[-140.0, 110.0, 120.0], [-40.0, 90.0, 100.0], [60.0, 120.0, 80.0], [150, 80, 20]],
        ]
    )  # [individual, keypoint, 3]
    frames = np.arange(6)[:, None, None, None] * np.array([5.0, 0.0, 0.0])
    pos = (base[None] + frames).transpose(0, 3, 2, 1)  # [time, 3, keypoint, individual]
    error = np.tile(np.array([0.0, 2.0, 6.0, np.nan])[None, :, None], (6, 1, 2))
    return poses_dataset(pos, KEYPOINTS, ("mouse_a", "mouse_b"), fps=30, reprojection_error=error)


@pytest.fixture
def poses() -> xr.Dataset:
    return make_poses()


def make_camera(name: str = "top", principal: tuple[float, float] = (319.5, 239.5)) -> Camera:
    """640x480, f = 600 px, no distortion, looking at the origin from 1.2 m away, oblique."""
    center = np.array([700.0, -500.0, 800.0])
    rot = look_at(center, (0.0, 0.0, 60.0))
    matrix = np.array([[600.0, 0.0, principal[0]], [0.0, 600.0, principal[1]], [0, 0, 1]])
    return Camera(name, (640, 480), matrix, np.zeros(5), matrix_to_rodrigues(rot), -rot @ center)


@pytest.fixture
def cameras() -> CameraGroup:
    return CameraGroup(
        (
            make_camera("top"),
            make_camera("side").with_extrinsics(
                matrix_to_rodrigues(look_at((-900.0, 0.0, 300.0), (0.0, 0.0, 60.0))),
                -look_at((-900.0, 0.0, 300.0), (0.0, 0.0, 60.0)) @ np.array([-900.0, 0.0, 300.0]),
            ),
        )
    )
