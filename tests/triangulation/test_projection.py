"""The batched camera model agrees with pose3d.cameras, and its derivatives with differences."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from pose3d.cameras import CameraGroup
from pose3d.triangulation.projection import lenses, project, project_with_jacobian, undistort


def test_project_matches_camera_model(rig: CameraGroup, synth: ModuleType) -> None:
    points = synth.random_points(np.random.default_rng(0), 5000)
    expected = rig.project(points)
    np.testing.assert_allclose(project(lenses(rig), points), expected, atol=1e-9)


def test_undistort_inverts_the_distortion(rig: CameraGroup, synth: ModuleType) -> None:
    points = synth.random_points(np.random.default_rng(1), 5000)
    pixels = rig.project(points)
    normalized = undistort(lenses(rig), pixels)
    for v, cam in enumerate(rig):
        camera_points = cam.world_to_camera(points)
        ideal = camera_points[:, :2] / camera_points[:, 2:]
        np.testing.assert_allclose(normalized[v], ideal, atol=1e-12)


def test_undistort_keeps_nan(rig: CameraGroup) -> None:
    pixels = np.full((len(rig), 3, 2), np.nan)
    pixels[:, 1] = 500.0
    out = undistort(lenses(rig), pixels)
    assert np.isnan(out[:, [0, 2]]).all() and np.isfinite(out[:, 1]).all()


def test_jacobian_matches_central_differences(rig: CameraGroup, synth: ModuleType) -> None:
    points = synth.random_points(np.random.default_rng(2), 200)
    h = 1e-4
    for lens, cam in zip(lenses(rig), rig, strict=True):
        u, v, *jac = project_with_jacobian(lens, points[:, 0], points[:, 1], points[:, 2])
        np.testing.assert_allclose(np.stack([u, v], 1), cam.project(points), atol=1e-9)
        for axis in range(3):
            step = np.zeros(3)
            step[axis] = h
            numeric = (cam.project(points + step) - cam.project(points - step)) / (2 * h)
            np.testing.assert_allclose(jac[axis], numeric[:, 0], rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(jac[3 + axis], numeric[:, 1], rtol=1e-6, atol=1e-6)


def test_points_behind_a_camera_project_to_nan(rig: CameraGroup) -> None:
    cam = rig.cameras[0]
    behind = cam.center + 2 * (cam.center - np.array([0.0, 0.0, 80.0]))
    assert np.isnan(project(lenses(rig), behind[None])[0]).all()
