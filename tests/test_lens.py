"""The lens kernels of pose3d.lens: the fisheye model against cv2.fisheye, at every angle the
model holds (0 to ~90 degrees off axis), its Jacobian against differences, and where each model
stops being one to one."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pose3d.lens import (
    FISHEYE,
    LENS_MODELS,
    PINHOLE,
    distort_fisheye_xy,
    fisheye_jacobian_xy,
    undistort_fisheye_xy,
)

# fx != fy, principal point off centre, every coefficient non-zero (a real wide-angle lens)
MATRIX = np.array([[341.5, 0.0, 322.75], [0.0, 339.25, 236.5], [0.0, 0.0, 1.0]])
FISHEYE_DIST = np.array([0.041, -0.0087, 0.0032, -0.00061])  # k1 k2 k3 k4


def directions(n: int, max_angle_deg: float, seed: int = 0) -> np.ndarray:
    """Ideal normalized (x, y) [n, 2] of rays up to ``max_angle_deg`` off the optical axis."""
    rng = np.random.default_rng(seed)
    theta = np.deg2rad(rng.uniform(0.0, max_angle_deg, n))
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    return np.tan(theta)[:, None] * np.stack([np.cos(phi), np.sin(phi)], axis=-1)


def to_pixels(xy: np.ndarray) -> np.ndarray:
    return xy @ MATRIX[:2, :2].T + MATRIX[:2, 2]


def cv2_fisheye_pixels(xy: np.ndarray) -> np.ndarray:
    """cv2.fisheye.projectPoints of the points (x, y, 1)."""
    points = np.concatenate([xy, np.ones((len(xy), 1))], axis=-1)[:, None, :]
    out, _ = cv2.fisheye.projectPoints(points, np.zeros(3), np.zeros(3), MATRIX, FISHEYE_DIST)
    return out[:, 0, :]


def test_fisheye_distortion_matches_opencv_up_to_89_degrees() -> None:
    xy = directions(5000, 89.0)
    xd, yd = distort_fisheye_xy(xy[:, 0], xy[:, 1], *FISHEYE_DIST)
    np.testing.assert_allclose(
        to_pixels(np.stack([xd, yd], -1)), cv2_fisheye_pixels(xy), rtol=0, atol=1e-9
    )


def test_fisheye_undistortion_matches_opencv_and_the_truth() -> None:
    """cv2.fisheye.undistortPoints with a tight criterion (its default stops at 10 steps). It
    clips θd at π/2, so it is compared where θd < π/2 (here up to ~84 degrees off axis); the
    truth everywhere."""
    xy = directions(5000, 85.0, seed=1)
    pixels = cv2_fisheye_pixels(xy)
    normalized = (pixels - MATRIX[:2, 2]) / np.diag(MATRIX)[:2]
    x, y = undistort_fisheye_xy(normalized[:, 0], normalized[:, 1], *FISHEYE_DIST)
    ours = np.stack([x, y], -1)
    scale = np.maximum(1.0, np.abs(xy))  # tan θ grows without bound towards 90 degrees
    assert np.max(np.abs(ours - xy) / scale) < 1e-9
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-15)
    theirs = cv2.fisheye.undistortPoints(
        pixels[:, None, :], MATRIX, FISHEYE_DIST, criteria=criteria
    )
    clipped = np.linalg.norm(normalized, axis=-1) >= np.pi / 2
    assert 0 < clipped.sum() < 100
    error = np.abs(ours - theirs[:, 0, :]) / scale
    assert np.max(error[~clipped]) < 1e-9


def test_fisheye_at_and_near_the_optical_axis() -> None:
    """θd / r -> 1 as r -> 0: no 0 / 0, no lost digits."""
    r = np.array([0.0, 1e-300, 1e-12, 1e-8, 1e-5])
    xy = np.stack([r, -0.5 * r], -1)
    xd, yd = distort_fisheye_xy(xy[:, 0], xy[:, 1], *FISHEYE_DIST)
    np.testing.assert_allclose(np.stack([xd, yd], -1), xy, rtol=1e-9, atol=0)
    assert np.all(np.isfinite(xd)) and xd[0] == 0.0
    x, y = undistort_fisheye_xy(xd, yd, *FISHEYE_DIST)
    np.testing.assert_allclose(np.stack([x, y], -1), xy, rtol=1e-12, atol=0)
    a, b, d = fisheye_jacobian_xy(xy[:, 0], xy[:, 1], *FISHEYE_DIST)
    np.testing.assert_allclose(a, 1.0, atol=1e-9)
    np.testing.assert_allclose(d, 1.0, atol=1e-9)
    np.testing.assert_allclose(b, 0.0, atol=1e-9)


def test_fisheye_zero_coefficients_are_still_equidistant() -> None:
    xy = np.array([[1.0, 0.0], [0.0, np.sqrt(3.0)]])  # 45 and 60 degrees off axis
    xd, yd = distort_fisheye_xy(xy[:, 0], xy[:, 1], 0.0, 0.0, 0.0, 0.0)
    np.testing.assert_allclose(np.hypot(xd, yd), [np.pi / 4, np.pi / 3], atol=1e-15)
    assert not FISHEYE.zero_is_identity and PINHOLE.zero_is_identity


@pytest.mark.parametrize("model", ["pinhole", "fisheye"])
def test_jacobian_matches_central_differences(model: str) -> None:
    lens = LENS_MODELS[model]
    dist = FISHEYE_DIST if model == "fisheye" else np.array([-0.28, 0.11, 1.3e-3, -7e-4, -0.025])
    xy = directions(500, 80.0 if model == "fisheye" else 35.0, seed=2)
    x, y = xy[:, 0], xy[:, 1]
    a, b, d = lens.jacobian(x, y, *dist)
    h = 1e-6
    dx = (np.stack(lens.distort(x + h, y, *dist)) - np.stack(lens.distort(x - h, y, *dist))) / 2 / h
    dy = (np.stack(lens.distort(x, y + h, *dist)) - np.stack(lens.distort(x, y - h, *dist))) / 2 / h
    for got, numeric in ((a, dx[0]), (b, dx[1]), (b, dy[0]), (d, dy[1])):
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-7)


def test_kernels_broadcast_one_camera_per_coordinate() -> None:
    """Bundle adjustment passes coefficient arrays, one camera per observation."""
    xy = directions(6, 70.0, seed=3)
    dists = np.stack([FISHEYE_DIST, FISHEYE_DIST * 0.5, -FISHEYE_DIST] * 2)  # [6, 4]
    xd, yd = distort_fisheye_xy(xy[:, 0], xy[:, 1], *dists.T)
    for i in range(6):
        one = distort_fisheye_xy(xy[i, 0], xy[i, 1], *dists[i])
        np.testing.assert_allclose([xd[i], yd[i]], one, rtol=0, atol=1e-15)


def test_fisheye_undistortion_is_nan_beyond_the_model() -> None:
    """A strongly negative k1 makes θd(θ) fold at θ = 1.05 rad (θd = 0.70): larger θd have no
    inverse, and nothing maps to 90 degrees or more; NaN stays NaN."""
    dist = (-0.3, 0.0, 0.0, 0.0)
    xd = np.array([0.5, 0.69, 0.75, 2.0, np.nan])
    x, y = undistort_fisheye_xy(xd, np.zeros(5), *dist)
    assert np.isfinite(x[:2]).all() and np.isnan(x[2:]).all()
    assert np.isnan(y[2:]).all()
    redistorted, _ = distort_fisheye_xy(x[:2], y[:2], *dist)
    np.testing.assert_allclose(redistorted, xd[:2], atol=1e-12)
    # no distortion: θd = 1.6 rad is beyond 90 degrees
    x, _ = undistort_fisheye_xy(np.array([1.5, 1.6]), np.zeros(2), 0.0, 0.0, 0.0, 0.0)
    assert np.isfinite(x[0]) and np.isnan(x[1])


def test_monotonic_radius_of_each_model() -> None:
    # pinhole: r (1 + k1 r²) stops growing at 1 + 3 k1 r² = 0
    assert PINHOLE.monotonic_radius(np.array([-0.25, 0, 0, 0, 0])) == pytest.approx(
        np.sqrt(1 / 0.75)
    )
    assert PINHOLE.monotonic_radius(np.zeros(5)) == np.inf
    # fisheye: θ (1 + k1 θ²) stops growing at θ² = -1 / (3 k1); tan θ is the ideal radius
    assert FISHEYE.monotonic_radius(np.array([-0.3, 0, 0, 0])) == pytest.approx(
        np.tan(np.sqrt(1 / 0.9))
    )
    assert FISHEYE.monotonic_radius(FISHEYE_DIST) == np.inf  # rises up to 90 degrees
    assert FISHEYE.monotonic_radius(np.array([-0.1, 0, 0, 0])) == np.inf  # folds beyond 90
