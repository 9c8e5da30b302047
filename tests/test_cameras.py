"""pose3d.cameras against OpenCV and against cameras whose projections are worked out by hand."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose3d.cameras import (
    Camera,
    CameraGroup,
    look_at,
    matrix_to_rodrigues,
    rodrigues_to_matrix,
)
from pose3d.errors import CalibrationError

# fx != fy, principal point away from the image centre, every distortion term non-zero
MATRIX = np.array([[812.5, 0.0, 301.25], [0.0, 798.0, 259.5], [0.0, 0.0, 1.0]])
DIST = np.array([-0.28, 0.11, 1.3e-3, -7.0e-4, -0.025])  # k1 k2 p1 p2 k3
RVEC = np.array([0.31, -0.42, 0.17])
TVEC = np.array([-40.0, 25.0, 610.0])


def lens_camera(name: str = "cam0") -> Camera:
    return Camera(name, (640, 480), MATRIX, DIST, RVEC, TVEC)


def points_in_view(camera: Camera, n: int, seed: int = 0) -> np.ndarray:
    """World points [n, 3] in front of ``camera`` whose ideal image lies inside the frame."""
    rng = np.random.default_rng(seed)
    w, h = camera.size
    u = rng.uniform(0, w - 1, n)
    v = rng.uniform(0, h - 1, n)
    m = camera.matrix
    xy = np.stack([(u - m[0, 2]) / m[0, 0], (v - m[1, 2]) / m[1, 1]], axis=-1)
    depth = rng.uniform(200.0, 1500.0, n)[:, None]
    cam = np.concatenate([xy * depth, depth], axis=-1)
    return (cam - camera.tvec) @ camera.rotation  # R^T (X_cam - t), row vectors


# --- projection --------------------------------------------------------------------------------


def test_project_matches_opencv_with_full_distortion():
    cam = lens_camera()
    world = points_in_view(cam, 200)
    expected, _ = cv2.projectPoints(world, RVEC, TVEC, MATRIX, DIST)
    got = cam.project(world)
    assert got.shape == (200, 2)
    np.testing.assert_allclose(got, expected[:, 0, :], rtol=0, atol=1e-9)


def test_project_matches_opencv_with_four_distortion_terms():
    """Anipose files sometimes carry k1 k2 p1 p2 only; k3 is then zero."""
    cam = Camera("cam0", (640, 480), MATRIX, DIST[:4], RVEC, TVEC)
    assert cam.dist.tolist() == [*DIST[:4].tolist(), 0.0]
    world = points_in_view(cam, 50, seed=1)
    expected, _ = cv2.projectPoints(world, RVEC, TVEC, MATRIX, DIST[:4])
    np.testing.assert_allclose(cam.project(world), expected[:, 0, :], rtol=0, atol=1e-9)


def test_project_keeps_leading_shape_and_nan():
    cam = lens_camera()
    world = points_in_view(cam, 12).reshape(3, 4, 3)
    world[1, 2] = np.nan
    got = cam.project(world)
    assert got.shape == (3, 4, 2)
    assert np.isnan(got[1, 2]).all()
    assert np.isfinite(np.delete(got.reshape(12, 2), 6, axis=0)).all()


def test_points_behind_or_on_the_camera_plane_project_to_nan():
    cam = Camera("cam0", (640, 480), MATRIX)  # at the origin looking along +z
    got = cam.project([[0.0, 0.0, -5.0], [10.0, 3.0, -0.1], [1.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    assert np.isnan(got[:3]).all()
    np.testing.assert_allclose(got[3], [MATRIX[0, 2], MATRIX[1, 2]], atol=1e-12)


# --- undistortion ------------------------------------------------------------------------------


def test_undistort_points_recovers_ideal_normalized_coordinates():
    cam = lens_camera()
    world = points_in_view(cam, 300, seed=2)
    in_cam = cam.world_to_camera(world)
    ideal = in_cam[:, :2] / in_cam[:, 2:]  # ground truth: pinhole coordinates of the points
    pixels = cam.project(world)
    undistorted = cam.undistort_points(pixels)
    np.testing.assert_allclose(undistorted, ideal, rtol=0, atol=1e-9)
    # and re-distorting gives the same pixels back
    reprojected = cam.normalized_to_pixels(cam.distort(undistorted))
    np.testing.assert_allclose(reprojected, pixels, rtol=0, atol=1e-9)


def test_undistort_points_in_the_frame_corners_invert_distort():
    cam = lens_camera()
    w, h = cam.size
    corners = np.array([[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]])
    undistorted = cam.undistort_points(corners)
    reprojected = cam.normalized_to_pixels(cam.distort(undistorted))
    np.testing.assert_allclose(reprojected, corners, rtol=0, atol=1e-9)


def test_undistort_points_agrees_with_opencv():
    """cv2.undistortPoints iterates a fixed number of times, so a loose tolerance only."""
    cam = lens_camera()
    pixels = cam.project(points_in_view(cam, 50, seed=3))
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
    expected = cv2.undistortPointsIter(pixels[:, None, :], MATRIX, DIST, None, None, criteria)
    np.testing.assert_allclose(cam.undistort_points(pixels), expected[:, 0, :], atol=1e-7)


def test_undistort_without_distortion_is_the_inverse_matrix():
    cam = Camera("cam0", (640, 480), MATRIX)
    pixels = np.array([[MATRIX[0, 2] + 812.5, MATRIX[1, 2] - 399.0]])
    np.testing.assert_allclose(cam.undistort_points(pixels), [[1.0, -0.5]], atol=1e-15)


def test_undistort_pixels_gives_what_a_distortion_free_camera_sees():
    cam = lens_camera()
    ideal_cam = Camera("ideal", cam.size, MATRIX, np.zeros(5), RVEC, TVEC)
    world = points_in_view(cam, 40, seed=4)
    np.testing.assert_allclose(
        cam.undistort_pixels(cam.project(world)), ideal_cam.project(world), atol=1e-6
    )


def test_rays_pass_through_the_points_they_came_from():
    cam = lens_camera()
    world = points_in_view(cam, 30, seed=5)
    rays = cam.rays(cam.project(world))
    np.testing.assert_allclose(np.linalg.norm(rays, axis=-1), 1.0, atol=1e-12)
    to_points = world - cam.center
    expected = to_points / np.linalg.norm(to_points, axis=-1, keepdims=True)
    np.testing.assert_allclose(rays, expected, atol=1e-9)


# --- the fisheye model ----------------------------------------------------------------------

FISHEYE_MATRIX = np.array([[341.5, 0.0, 322.75], [0.0, 339.25, 236.5], [0.0, 0.0, 1.0]])
FISHEYE_DIST = np.array([0.041, -0.0087, 0.0032, -0.00061])  # k1 k2 k3 k4


def fisheye_camera() -> Camera:
    return Camera("wide", (640, 480), FISHEYE_MATRIX, FISHEYE_DIST, RVEC, TVEC, "fisheye")


def points_off_axis(camera: Camera, n: int, max_angle_deg: float, seed: int = 0) -> np.ndarray:
    """World points [n, 3] up to ``max_angle_deg`` off ``camera``'s optical axis, in front."""
    rng = np.random.default_rng(seed)
    theta = np.deg2rad(rng.uniform(0.0, max_angle_deg, n))
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    unit = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1)
    cam = unit * rng.uniform(200.0, 1500.0, n)[:, None]
    return (cam - camera.tvec) @ camera.rotation


def test_fisheye_project_matches_opencv_up_to_88_degrees_off_axis():
    cam = fisheye_camera()
    world = points_off_axis(cam, 2000, 88.0)
    expected, _ = cv2.fisheye.projectPoints(
        world[:, None, :], RVEC, TVEC, FISHEYE_MATRIX, FISHEYE_DIST
    )
    np.testing.assert_allclose(cam.project(world), expected[:, 0, :], rtol=0, atol=1e-9)
    # behind the camera: NaN (OpenCV's fisheye would mirror it into the image)
    behind = cam.center + (cam.center - world[0])
    assert np.isnan(cam.project(behind)).all()


def test_fisheye_undistort_points_matches_opencv_and_recovers_the_rays():
    cam = fisheye_camera()
    world = points_off_axis(cam, 2000, 70.0, seed=1)
    pixels = cam.project(world)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-15)
    expected = cv2.fisheye.undistortPoints(
        pixels[:, None, :], FISHEYE_MATRIX, FISHEYE_DIST, criteria=criteria
    )
    undistorted = cam.undistort_points(pixels)
    np.testing.assert_allclose(undistorted, expected[:, 0, :], rtol=0, atol=1e-9)
    in_cam = cam.world_to_camera(world)
    np.testing.assert_allclose(undistorted, in_cam[:, :2] / in_cam[:, 2:], rtol=0, atol=1e-9)
    to_points = world - cam.center
    expected_rays = to_points / np.linalg.norm(to_points, axis=-1, keepdims=True)
    np.testing.assert_allclose(cam.rays(pixels), expected_rays, atol=1e-12)


def test_a_fisheye_without_distortion_is_still_equidistant():
    cam = Camera("wide", (640, 480), FISHEYE_MATRIX, model="fisheye")
    assert cam.dist.tolist() == [0.0] * 4
    # 45 degrees off axis lands pi/4 focal lengths from the principal point, not 1
    pixel = cam.project([1.0, 0.0, 1.0])
    np.testing.assert_allclose(pixel, FISHEYE_MATRIX[:2, 2] + [FISHEYE_MATRIX[0, 0] * np.pi / 4, 0])
    np.testing.assert_allclose(cam.undistort_points(pixel), [1.0, 0.0], atol=1e-12)


def test_fisheye_camera_keeps_its_model():
    cam = fisheye_camera()
    assert cam.model == "fisheye" and cam.lens_model.name == "fisheye"
    moved = cam.with_extrinsics(np.zeros(3), np.ones(3))
    assert moved.model == "fisheye"
    np.testing.assert_array_equal(moved.dist, FISHEYE_DIST)
    assert "fisheye" in repr(cam) and "model" not in repr(lens_camera())
    assert lens_camera().model == "pinhole"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"dist": DIST, "model": "fisheye"},
            r"a fisheye camera's distortions must be 4 numbers \(k1 k2 k3 k4\), got 5; "
            r"a pinhole camera has 5",
        ),
        (
            {"dist": [0.1, 0.2], "model": "fisheye"},
            r"a fisheye camera's distortions must be 4 numbers .*got 2",
        ),
        ({"model": "kannala-brandt"}, r"lens model must be one of pinhole, fisheye, got 'k"),
    ],
)
def test_fisheye_validation_names_the_camera(kwargs, message):
    with pytest.raises(CalibrationError, match=rf"camera 'wide': {message}"):
        Camera("wide", (640, 480), FISHEYE_MATRIX, **kwargs)


# --- Rodrigues ---------------------------------------------------------------------------------


def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


AXES = [_unit(a) for a in ([1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 2, 2], [-3, 0.5, 1], [0.2, -1, -4])]
ANGLES = [
    0.0,
    1e-14,
    1e-9,
    1e-6,
    0.3,
    1.0,
    math.pi / 2,
    2.5,
    math.pi - 1e-4,
    math.pi - 1e-6,
    math.pi - 1e-9,
    math.pi,
]


@pytest.mark.parametrize("angle", ANGLES)
@pytest.mark.parametrize("axis", AXES, ids=lambda a: np.array2string(a, precision=2))
def test_rodrigues_to_matrix_matches_opencv(axis, angle):
    rvec = axis * angle
    expected, _ = cv2.Rodrigues(rvec)
    got = rodrigues_to_matrix(rvec)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13)
    np.testing.assert_allclose(got @ got.T, np.eye(3), atol=1e-14)


@pytest.mark.parametrize("angle", ANGLES)
@pytest.mark.parametrize("axis", AXES, ids=lambda a: np.array2string(a, precision=2))
def test_matrix_to_rodrigues_recovers_the_vector(axis, angle):
    rvec = axis * angle
    rot, _ = cv2.Rodrigues(rvec)
    got = matrix_to_rodrigues(rot)
    if angle == math.pi:  # r and -r are the same rotation; OpenCV picks one sign
        assert np.allclose(got, rvec, atol=1e-12) or np.allclose(got, -rvec, atol=1e-12)
    else:
        np.testing.assert_allclose(got, rvec, rtol=0, atol=1e-12)
    # the rotation it stands for is the input's, to machine precision
    np.testing.assert_allclose(rodrigues_to_matrix(got), rot, rtol=0, atol=1e-13)


@pytest.mark.parametrize("angle", [0.3, 1.0, math.pi / 2, 2.5, math.pi - 1e-4])
def test_matrix_to_rodrigues_matches_opencv_away_from_its_thresholds(angle):
    """OpenCV rounds angles within 1e-5 of 0 and 180 degrees; elsewhere the two agree."""
    for axis in AXES:
        rot, _ = cv2.Rodrigues(axis * angle)
        expected, _ = cv2.Rodrigues(rot)
        np.testing.assert_allclose(matrix_to_rodrigues(rot), expected[:, 0], atol=1e-11)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(-1, 1, allow_nan=False), min_size=3, max_size=3).filter(
        lambda v: np.linalg.norm(v) > 1e-3
    ),
    st.floats(0, math.pi),
)
def test_rodrigues_round_trip_property(axis, angle):
    rvec = _unit(axis) * angle
    rot = rodrigues_to_matrix(rvec)
    np.testing.assert_allclose(rodrigues_to_matrix(matrix_to_rodrigues(rot)), rot, atol=1e-13)


# --- pose helpers ------------------------------------------------------------------------------


def test_center_of_a_camera_is_where_it_sits():
    center = np.array([120.0, -35.0, 410.0])
    rot = rodrigues_to_matrix(RVEC)
    cam = Camera("cam0", (640, 480), MATRIX, DIST, RVEC, -rot @ center)
    np.testing.assert_allclose(cam.center, center, atol=1e-12)
    np.testing.assert_allclose(cam.world_to_camera(center), [0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(cam.extrinsics, np.hstack([rot, (-rot @ center)[:, None]]))


@pytest.mark.parametrize(
    ("center", "target"),
    [
        ([500.0, 0.0, 200.0], [0.0, 0.0, 0.0]),
        ([-300.0, 420.0, 50.0], [10.0, -20.0, 30.0]),
        ([0.0, -800.0, 0.0], [5.0, 5.0, 5.0]),
    ],
)
def test_look_at_puts_the_target_on_the_optical_axis(center, target):
    rot = look_at(center, target)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-14)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    cam = Camera("cam0", (640, 480), MATRIX, DIST, matrix_to_rodrigues(rot), -rot @ center)
    np.testing.assert_allclose(cam.center, center, atol=1e-9)
    np.testing.assert_allclose(cam.project(target), MATRIX[:2, 2], atol=1e-9)
    # the world's up (+z) points up in the image (y < 0), with no sideways component (x = 0)
    above = cam.world_to_camera(np.add(target, [0.0, 0.0, 1.0]))
    assert above[1] < 0
    assert above[0] == pytest.approx(0.0, abs=1e-12)


def test_look_at_refuses_a_view_along_up():
    with pytest.raises(ValueError, match="parallel to up"):
        look_at([0.0, 0.0, 10.0], [0.0, 0.0, 0.0])


# --- analytic rig: two cameras on a 3-4-5 triangle ---------------------------------------------
#
# A sits at the origin looking along +z. B sits at (3, 0, 0) and is turned about y so that it
# looks at P = (0, 0, 4): its forward axis is (-3, 0, 4) / 5 and P lies 5 in front of it.
# World-to-camera rotation of B: rows right = (4, 0, 3)/5, down = (0, 1, 0), forward =
# (-3, 0, 4)/5, i.e. a rotation of atan2(3, 4) about y; t_B = -R_B (3, 0, 0) = (-12/5, 0, 9/5).

F, CX, CY = 1000.0, 320.0, 240.0
K = np.array([[F, 0, CX], [0, F, CY], [0, 0, 1]])


@pytest.fixture
def rig_345() -> CameraGroup:
    a = Camera("A", (640, 480), K)
    b = Camera("B", (640, 480), K, rvec=[0.0, math.atan2(3, 4), 0.0], tvec=[-12 / 5, 0.0, 9 / 5])
    return CameraGroup((a, b))


def test_rig_345_by_hand(rig_345):
    a, b = rig_345
    np.testing.assert_allclose(b.rotation, [[0.8, 0, 0.6], [0, 1, 0], [-0.6, 0, 0.8]], atol=1e-15)
    np.testing.assert_allclose(b.center, [3, 0, 0], atol=1e-14)
    np.testing.assert_allclose(look_at([3, 0, 0], [0, 0, 4], up=[0, -1, 0]), b.rotation, atol=1e-15)
    points = np.array([[0.0, 0.0, 4.0], [3.0, 0.0, 4.0], [0.0, 1.0, 4.0]])
    # A: (x/z, y/z) = (0, 0), (3/4, 0), (0, 1/4)
    np.testing.assert_allclose(
        a.project(points), [[CX, CY], [CX + 0.75 * F, CY], [CX, CY + 0.25 * F]], atol=1e-12
    )
    # B: camera coordinates (0, 0, 5), (12/5, 0, 16/5), (0, 1, 5)
    np.testing.assert_allclose(
        b.world_to_camera(points), [[0, 0, 5], [2.4, 0, 3.2], [0, 1, 5]], atol=1e-14
    )
    np.testing.assert_allclose(
        b.project(points), [[CX, CY], [CX + 0.75 * F, CY], [CX, CY + 0.2 * F]], atol=1e-12
    )
    stacked = rig_345.project(points)
    assert stacked.shape == (2, 3, 2)
    np.testing.assert_array_equal(stacked[1], b.project(points))


def test_rig_345_rays_meet_at_the_point(rig_345):
    a, b = rig_345
    p = np.array([0.0, 0.0, 4.0])
    for cam in (a, b):
        ray = cam.rays(cam.project(p))
        distance = np.linalg.norm(p - cam.center)
        np.testing.assert_allclose(cam.center + distance * ray, p, atol=1e-12)
    assert np.linalg.norm(p - b.center) == pytest.approx(5.0)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    ("field", "label"),
    [("matrix", "matrix"), ("dist", "distortions"), ("rvec", "rotation"), ("tvec", "translation")],
)
def test_non_finite_numbers_raise_naming_the_camera(field, label, bad):
    values = {
        "matrix": MATRIX.copy(),
        "dist": DIST.copy(),
        "rvec": RVEC.copy(),
        "tvec": TVEC.copy(),
    }
    values[field].flat[1] = bad
    with pytest.raises(CalibrationError, match=rf"camera 'side_left': {label} contains NaN or inf"):
        Camera("side_left", (640, 480), **values)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"matrix": np.eye(4)}, r"matrix must have 9 numbers, got 16"),
        ({"matrix": MATRIX[:2]}, r"matrix must have 9 numbers, got 6"),
        ({"dist": [0.1, 0.2, 0.3]}, r"distortions must be 4 or 5 numbers .*got 3"),
        ({"dist": np.zeros(8)}, r"distortions must be 4 or 5 numbers .*got 8"),
        ({"rvec": [0.1, 0.2]}, r"rotation must have 3 numbers, got 2"),
        ({"tvec": [1.0, 2.0, 3.0, 4.0]}, r"translation must have 3 numbers, got 4"),
        ({"size": (640,)}, r"size must be \[width, height\]"),
        ({"size": (640, 0)}, r"size must be \[width, height\] > 0"),
        ({"matrix": np.diag([-800.0, 800.0, 1.0])}, r"focal lengths must be positive"),
        ({"matrix": np.diag([800.0, 0.0, 1.0])}, r"focal lengths must be positive"),
    ],
)
def test_wrong_sizes_raise_naming_the_camera(kwargs, message):
    args = {"size": (640, 480), "matrix": MATRIX} | kwargs
    with pytest.raises(CalibrationError, match=rf"camera 'top': {message}"):
        Camera("top", **args)


def test_camera_is_frozen_and_does_not_share_the_callers_arrays():
    matrix, rvec = MATRIX.copy(), RVEC.copy()
    cam = Camera("cam0", (640, 480), matrix, DIST, rvec, TVEC)
    matrix[0, 0] = 1.0
    rvec[:] = 0.0
    assert cam.matrix[0, 0] == MATRIX[0, 0]
    np.testing.assert_array_equal(cam.rvec, RVEC)
    with pytest.raises(ValueError, match="read-only"):
        cam.matrix[0, 0] = 2.0
    with pytest.raises(AttributeError):
        cam.name = "other"  # type: ignore[misc]
    assert cam.size == (640, 480)
    assert isinstance(cam.size[0], int)


def test_with_extrinsics_keeps_intrinsics():
    cam = lens_camera()
    moved = cam.with_extrinsics([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(moved.matrix, cam.matrix)
    np.testing.assert_array_equal(moved.dist, cam.dist)
    np.testing.assert_allclose(moved.center, [-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(cam.tvec, TVEC)


# --- CameraGroup -------------------------------------------------------------------------------


def _named(*names: str) -> tuple[Camera, ...]:
    return tuple(Camera(n, (640, 480), MATRIX, tvec=[i, 0, 0]) for i, n in enumerate(names))


def test_camera_group_names_must_be_unique():
    with pytest.raises(
        CalibrationError, match=r"camera names must be unique.*'back', 'mid', 'back'"
    ):
        CameraGroup(_named("back", "mid", "back"))


def test_camera_group_needs_a_camera():
    with pytest.raises(CalibrationError, match="at least one camera"):
        CameraGroup(())


def test_camera_group_lookup_and_subset_order():
    group = CameraGroup(_named("back", "mid", "side", "top"), unit="mm")
    assert group.names == ("back", "mid", "side", "top")
    assert len(group) == 4
    assert group["side"].tvec[0] == 2
    sub = group.subset(["top", "back"])
    assert sub.names == ("top", "back")
    assert sub["top"] is group["top"]
    assert sub.unit == "mm"
    assert group.names == ("back", "mid", "side", "top")  # unchanged


def test_camera_group_subset_names_missing_cameras():
    group = CameraGroup(_named("back", "mid"))
    with pytest.raises(
        CalibrationError,
        match=r"camera\(s\) side, top not in the calibration, "
        r"which has back, mid",
    ):
        group.subset(["mid", "side", "top"])


def test_camera_group_getitem_names_missing_camera():
    group = CameraGroup(_named("back", "mid"))
    with pytest.raises(
        CalibrationError,
        match=r"camera 'cam9' is not in the calibration; "
        r"it has: back, mid",
    ):
        group["cam9"]
