"""The batched camera model agrees with pose3d.cameras, and its derivatives with differences,
for pinhole and fisheye lenses."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from pose3d.cameras import CameraGroup
from pose3d.triangulation.projection import lenses, project, project_with_jacobian, undistort


@pytest.fixture(params=["rig", "fisheye_rig"])
def any_rig(request: pytest.FixtureRequest) -> CameraGroup:
    """The pinhole rig, then the same rig with fisheye lenses."""
    rig: CameraGroup = request.getfixturevalue(request.param)
    return rig


def test_project_matches_camera_model(any_rig: CameraGroup, synth: ModuleType) -> None:
    rig = any_rig
    points = synth.random_points(np.random.default_rng(0), 5000)
    expected = rig.project(points)
    np.testing.assert_allclose(project(lenses(rig), points), expected, atol=1e-9)


def test_undistort_inverts_the_distortion(any_rig: CameraGroup, synth: ModuleType) -> None:
    rig = any_rig
    points = synth.random_points(np.random.default_rng(1), 5000)
    pixels = rig.project(points)
    normalized = undistort(lenses(rig), pixels)
    for v, cam in enumerate(rig):
        camera_points = cam.world_to_camera(points)
        ideal = camera_points[:, :2] / camera_points[:, 2:]
        np.testing.assert_allclose(normalized[v], ideal, atol=1e-12)


def test_undistort_keeps_nan(any_rig: CameraGroup) -> None:
    rig = any_rig
    pixels = np.full((len(rig), 3, 2), np.nan)
    pixels[:, 1] = 500.0
    out = undistort(lenses(rig), pixels)
    assert np.isnan(out[:, [0, 2]]).all() and np.isfinite(out[:, 1]).all()


def test_jacobian_matches_central_differences(any_rig: CameraGroup, synth: ModuleType) -> None:
    rig = any_rig
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


def test_points_behind_a_camera_project_to_nan(any_rig: CameraGroup) -> None:
    rig = any_rig
    cam = rig.cameras[0]
    behind = cam.center + 2 * (cam.center - np.array([0.0, 0.0, 80.0]))
    assert np.isnan(project(lenses(rig), behind[None])[0]).all()


def test_fisheye_lenses_carry_their_model(fisheye_rig: CameraGroup) -> None:
    """All-zero fisheye coefficients still distort (equidistant), so the kernels always run."""
    for lens, cam in zip(lenses(fisheye_rig), fisheye_rig, strict=True):
        assert lens.model.name == "fisheye" and lens.distorted
        assert lens.coefficients == tuple(cam.dist)
    bare = fisheye_rig.cameras[0]
    no_coefficients = type(bare)(bare.name, bare.size, bare.matrix, model="fisheye")
    (lens,) = lenses(CameraGroup((no_coefficients,)))
    assert lens.distorted
