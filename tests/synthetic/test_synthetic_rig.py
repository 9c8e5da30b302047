"""Synthetic camera rigs: realistic intrinsics in the stated ranges, placement, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from pose3d.cameras import Camera
from pose3d.errors import Pose3dError
from pose3d.synthetic import FieldOfView, RigSpec, make_rig


@pytest.mark.parametrize("n_cameras", [2, 3, 4, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_intrinsics_and_placement_obey_the_ranges(n_cameras: int, seed: int) -> None:
    spec = RigSpec(n_cameras, (640, 480))
    rig = make_rig(spec, np.random.default_rng(seed))
    assert rig.names == tuple(f"cam{j}" for j in range(n_cameras))
    assert rig.unit == "mm"
    for cam in rig:
        fx, fy = cam.matrix[0, 0], cam.matrix[1, 1]
        assert fx != fy and abs(fy / fx - 1) <= 0.01
        assert cam.matrix[0, 1] == 0 and cam.size == (640, 480)
        offset = np.hypot(cam.matrix[0, 2] - 319.5, cam.matrix[1, 2] - 239.5)
        assert 5.0 <= offset <= 20.0
        k1, k2, p1, p2, k3 = cam.dist
        assert -0.25 <= k1 <= 0.05 and abs(k2) <= 0.05 and abs(k3) <= 0.01
        assert 0 < abs(p1) <= 1.5e-3 and 0 < abs(p2) <= 1.5e-3
        assert 1000.0 <= np.linalg.norm(cam.center) <= 1500.0
        assert cam.center[2] > 300.0  # above the arena, looking down
        # the whole arena floor is in view
        angles = np.linspace(0, 2 * np.pi, 36, endpoint=False)
        rim = np.column_stack([400 * np.cos(angles), 400 * np.sin(angles), np.zeros(36)])
        assert FieldOfView.of(cam).contains(rim).all()


def test_cameras_surround_the_arena() -> None:
    rig = make_rig(RigSpec(6), np.random.default_rng(0))
    azimuth = np.sort([np.arctan2(c.center[1], c.center[0]) for c in rig])
    gaps = np.diff(np.concatenate([azimuth, azimuth[:1] + 2 * np.pi]))
    assert gaps.max() < np.deg2rad(90)
    heights = [c.center[2] for c in rig]
    assert max(heights) - min(heights) > 50  # varied heights


def test_image_size_is_configurable() -> None:
    rig = make_rig(RigSpec(2, (160, 120)), np.random.default_rng(0))
    assert all(cam.size == (160, 120) for cam in rig)


def test_same_seed_same_rig_other_seed_other_rig() -> None:
    def arrays(seed: int) -> np.ndarray:
        rig = make_rig(RigSpec(4), np.random.default_rng(seed))
        return np.concatenate([np.r_[c.matrix.ravel(), c.dist, c.rvec, c.tvec] for c in rig])

    assert np.array_equal(arrays(7), arrays(7))
    assert not np.allclose(arrays(7), arrays(8))


@pytest.mark.parametrize("n", [1, 9])
def test_camera_count_is_checked(n: int) -> None:
    with pytest.raises(Pose3dError, match="2 to 8 cameras"):
        RigSpec(n)


def test_field_of_view_rejects_points_the_distortion_folds_into_the_image() -> None:
    matrix = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    cam = Camera("c", (640, 480), matrix, np.array([-0.25, 0, 0, 0, 0]))
    fov = FieldOfView.of(cam)
    far_off_axis = np.array([2.0, 0.0, 1.0])  # r = 2: 1 + k1 r² = 0 maps it to the centre
    pixel = cam.project(far_off_axis)
    assert 0 <= pixel[0] < 640 and 0 <= pixel[1] < 480
    assert not fov.contains(far_off_axis)
    assert fov.contains(np.array([0.1, 0.1, 1.0]))
    assert not fov.contains(np.array([0.0, 0.0, -1.0]))  # behind the camera
    assert not fov.contains(np.array([1.0, 0.0, 1.0]))  # outside the image, before the fold


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fisheye_rigs_see_the_arena_wide(seed: int) -> None:
    spec = RigSpec(3, (640, 480), "fisheye")
    rig = make_rig(spec, np.random.default_rng(seed))
    angles = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    rim = np.column_stack([400 * np.cos(angles), 400 * np.sin(angles), np.zeros(36)])
    for cam in rig:
        assert cam.model == "fisheye" and cam.dist.size == 4
        for k, (low, high) in zip(cam.dist, spec.fisheye_k, strict=True):
            assert low <= k <= high
        assert 600.0 <= np.linalg.norm(cam.center) <= 750.0
        assert FieldOfView.of(cam).contains(rim).all()
        # wide: 80+ degrees across the image width (a pinhole rig's cameras see 35-60)
        width = cam.size[0]
        cy = cam.matrix[1, 2]
        sides = cam.undistort_points([[-0.5, cy], [width - 0.5, cy]])
        across = np.rad2deg(np.arctan(np.abs(sides[:, 0]))).sum()
        assert 80.0 <= across <= 150.0, across


def test_the_lens_must_be_known() -> None:
    with pytest.raises(Pose3dError, match=r"lens must be one of pinhole, fisheye, got 'wide'"):
        RigSpec(lens="wide")  # type: ignore[arg-type]


def test_field_of_view_follows_a_fisheye_fold() -> None:
    """θ (1 - 0.3 θ²) stops growing at θ = 1.05 rad (60 degrees): a point at 75 degrees maps
    back inside this image, and is not in view."""
    matrix = np.array([[150.0, 0, 320], [0, 150, 240], [0, 0, 1]])
    cam = Camera("c", (640, 480), matrix, np.array([-0.3, 0.0, 0.0, 0.0]), model="fisheye")
    fov = FieldOfView.of(cam)
    assert fov.max_radius == pytest.approx(np.tan(np.sqrt(1 / 0.9)))
    beyond = np.array([np.tan(np.deg2rad(75.0)), 0.0, 1.0])
    pixel = cam.project(beyond)
    assert 0 <= pixel[0] < 640
    assert not fov.contains(beyond)
    assert fov.contains(np.array([np.tan(np.deg2rad(50.0)), 0.0, 1.0]))
