"""pose3d's CameraGroup to and from aniposelib's: exact round trips both ways, the same mapping
as calibration.toml, aniposelib's own projection and triangulation through the converted rig
(pinhole and fisheye) against pose3d's, units, copies, failures, and aniposelib missing."""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np
import pytest

from pose3d.cameras import Camera, CameraGroup
from pose3d.errors import CalibrationError, Pose3dError
from pose3d.io.aniposelib_convert import from_aniposelib, to_aniposelib
from pose3d.io.calibration_toml import load_calibration, save_calibration
from pose3d.lens import LensModelName
from pose3d.synthetic.rig import FieldOfView, RigSpec, make_rig

# aniposelib's triangulate undistorts with cv2.undistortPoints (a fixed number of iterations):
# on these rigs it lands within 1.4e-5 mm of the truth (seeds 0-5); the rig is ~3000 mm across
TRIANGULATION_ATOL_MM = 1e-3


@pytest.fixture(scope="module")
def anipose() -> ModuleType:
    """``aniposelib.cameras``; the tests that need it skip where the extra is not installed."""
    return pytest.importorskip(
        "aniposelib.cameras",
        reason='aniposelib is optional: pip install "pose3d-suite[anipose]" (or the dev extra)',
    )


def rig(lens: LensModelName, seed: int = 3) -> CameraGroup:
    """4 cameras around the 800 mm arena (pinhole: k1 k2 p1 p2 k3, fisheye: k1..k4), in mm."""
    group = make_rig(RigSpec(4, (640, 480), lens), np.random.default_rng(seed))
    return CameraGroup(group.cameras, "mm", {"error": 0.3125, "note": "synthetic"})


def mixed_rig() -> CameraGroup:
    """cam0 and cam2 fisheye, cam1 and cam3 pinhole, sizes [w, h] different per camera."""
    pinhole, fisheye = rig("pinhole", seed=1), rig("fisheye", seed=2)
    cameras = []
    for i, (p, f) in enumerate(zip(pinhole, fisheye, strict=True)):
        cam = f if i % 2 == 0 else p
        cameras.append(
            Camera(
                cam.name, (640 + i, 480 - i), cam.matrix, cam.dist, cam.rvec, cam.tvec, cam.model
            )
        )
    return CameraGroup(tuple(cameras), "mm", {"error": 0.25})


def points_seen_by_all(group: CameraGroup, n: int = 400) -> np.ndarray:
    """[N, 3] points in the arena (mm) inside every camera's image and field of view."""
    points = np.random.default_rng(0).uniform([-350, -350, 0], [350, 350, 150], (n, 3))
    seen = np.all([FieldOfView.of(cam).contains(points) for cam in group], axis=0)
    assert seen.sum() > 0.9 * n
    return points[seen]


def assert_same_camera(ours: Camera, theirs: Camera) -> None:
    assert ours.name == theirs.name
    assert ours.model == theirs.model
    assert ours.size == theirs.size
    for attr in ("matrix", "dist", "rvec", "tvec"):
        np.testing.assert_array_equal(getattr(ours, attr), getattr(theirs, attr), err_msg=attr)


def test_round_trip_is_exact(anipose: ModuleType) -> None:
    group = mixed_rig()
    back = from_aniposelib(to_aniposelib(group))
    assert back.names == group.names
    for ours, theirs in zip(back, group, strict=True):
        assert_same_camera(ours, theirs)
    assert back.unit == "mm"
    assert back.metadata == {"error": 0.25}


def test_aniposelib_side_is_what_aniposelib_itself_builds(anipose: ModuleType) -> None:
    group = mixed_rig()
    theirs = to_aniposelib(group)
    assert isinstance(theirs, anipose.CameraGroup)
    assert theirs.get_names() == list(group.names)
    assert theirs.metadata == {"error": 0.25, "unit": "mm"}
    assert theirs.metadata is not group.metadata
    for ours, cam in zip(group, theirs.cameras, strict=True):
        assert isinstance(cam, anipose.FisheyeCamera) == (ours.model == "fisheye")
        assert cam.get_size() == [ours.size[0], ours.size[1]]  # [width, height]
        assert cam.get_distortions().shape == ((4,) if ours.model == "fisheye" else (5,))
        np.testing.assert_array_equal(cam.get_camera_matrix(), ours.matrix)
        np.testing.assert_array_equal(cam.get_distortions(), ours.dist)
        np.testing.assert_array_equal(cam.get_rotation(), ours.rvec)
        np.testing.assert_array_equal(cam.get_translation(), ours.tvec)


def test_aniposelib_group_round_trips_exactly(anipose: ModuleType) -> None:
    rng = np.random.default_rng(5)
    cameras = []
    for i in range(3):
        kind = anipose.FisheyeCamera if i == 1 else anipose.Camera
        matrix = [
            [rng.uniform(700, 900), 0.0, 320.5],
            [0.0, rng.uniform(700, 900), 241.25],
            [0, 0, 1],
        ]
        dist = rng.normal(0, 0.01, 4 if i == 1 else 5)
        cameras.append(
            kind(matrix=matrix, dist=dist, size=[640, 480], rvec=rng.normal(0, 1, 3),
                 tvec=rng.normal(0, 500, 3), name=f"view{i}")
        )  # fmt: skip
    theirs = anipose.CameraGroup(cameras, metadata={"unit": "cm", "note": "x"})
    ours = from_aniposelib(theirs)
    assert ours.unit == "cm"
    assert ours.metadata == {"note": "x"}
    assert [c.model for c in ours] == ["pinhole", "fisheye", "pinhole"]
    again = to_aniposelib(ours)
    assert [type(c) for c in again.cameras] == [type(c) for c in theirs.cameras]
    assert again.get_dicts() == theirs.get_dicts()
    assert again.metadata == theirs.metadata


def test_conversion_maps_fields_as_calibration_toml_does(anipose: ModuleType, tmp_path) -> None:
    group = mixed_rig()
    path = tmp_path / "calibration.toml"
    save_calibration(path, group)
    loaded_by_aniposelib = anipose.CameraGroup.load(str(path))  # cam_0 .. cam_3: same order
    converted = to_aniposelib(group)
    assert converted.get_dicts() == loaded_by_aniposelib.get_dicts()
    assert converted.metadata == loaded_by_aniposelib.metadata
    from_file, from_memory = load_calibration(path), from_aniposelib(loaded_by_aniposelib)
    for ours, theirs in zip(from_memory, from_file, strict=True):
        assert_same_camera(ours, theirs)
    assert (from_memory.unit, from_memory.metadata) == (from_file.unit, from_file.metadata)


@pytest.mark.parametrize("lens", ["pinhole", "fisheye"])
def test_aniposelib_projects_like_pose3d(anipose: ModuleType, lens: LensModelName) -> None:
    group = rig(lens)
    points = points_seen_by_all(group)
    theirs = to_aniposelib(group).project(points)  # [n_cams, n_points, 2], cv2.projectPoints
    np.testing.assert_allclose(group.project(points), theirs, rtol=0, atol=1e-6)


@pytest.mark.parametrize("lens", ["pinhole", "fisheye"])
def test_aniposelib_triangulates_our_projections(anipose: ModuleType, lens: LensModelName) -> None:
    group = rig(lens)
    points = points_seen_by_all(group)
    pixels = group.project(points)  # [n_cams, n_points, 2]
    recovered = to_aniposelib(group).triangulate(pixels)  # [n_points, 3] in the group's mm
    np.testing.assert_allclose(recovered, points, rtol=0, atol=TRIANGULATION_ATOL_MM)


def test_aniposelib_calibration_is_read_back_in_its_unit(anipose: ModuleType) -> None:
    """A group aniposelib calibrated has no unit in its metadata: ``unit`` names it."""
    theirs = to_aniposelib(CameraGroup(rig("pinhole").cameras, unit=None))
    assert theirs.metadata == {}
    assert from_aniposelib(theirs).unit is None
    assert from_aniposelib(theirs, unit="mm").unit == "mm"
    in_mm = to_aniposelib(rig("pinhole"))
    assert from_aniposelib(in_mm, unit="mm").unit == "mm"  # the same unit twice is fine
    with pytest.raises(
        CalibrationError, match=r"unit='m' was given but the aniposelib group's metadata says"
    ):
        from_aniposelib(in_mm, unit="m")


def test_converted_groups_share_no_arrays(anipose: ModuleType) -> None:
    group = rig("pinhole")
    theirs = to_aniposelib(group)
    cam = theirs.cameras[0]
    cam.set_focal_length(1.0)  # aniposelib edits its arrays in place: they must be writable
    cam.get_translation()[:] = 0.0
    assert group.cameras[0].matrix[0, 0] > 1.0
    assert np.all(group.cameras[0].tvec != 0.0)
    ours = from_aniposelib(to_aniposelib(group))
    before = ours.cameras[1].rvec.copy()
    theirs.cameras[1].get_rotation()[:] = 0.0
    np.testing.assert_array_equal(ours.cameras[1].rvec, before)


def test_not_an_aniposelib_group_is_refused(anipose: ModuleType) -> None:
    with pytest.raises(
        CalibrationError, match=r"expects an aniposelib.cameras.CameraGroup, got CameraGroup"
    ):
        from_aniposelib(rig("pinhole"))
    with pytest.raises(CalibrationError, match=r"aniposelib camera 0: expected an aniposelib"):
        from_aniposelib(anipose.CameraGroup(["cam0"], metadata={}))


def test_aniposelib_camera_without_size_is_named(anipose: ModuleType) -> None:
    """aniposelib's CameraGroup.from_names makes cameras without a size until it sees videos."""
    theirs = anipose.CameraGroup.from_names(["top", "side"])
    with pytest.raises(
        CalibrationError, match=r"aniposelib camera 0 \('top'\) has no image size; set it with"
    ):
        from_aniposelib(theirs)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda cam: cam.set_distortions(np.zeros(8)),
            r"camera 1: camera 'cam1': distortions must be 4 or 5 numbers",
        ),
        (lambda cam: cam.set_translation([0.0, np.nan, 0.0]), r"translation contains NaN"),
        (lambda cam: cam.set_size([640]), r"aniposelib camera 1: size must be \[width, height\]"),
        (
            lambda cam: cam.set_size(["wide", 480]),
            r"aniposelib camera 1: not a number where one was",
        ),
        (lambda cam: cam.set_name("cam0"), r"camera names must be unique"),
    ],
    ids=["eight-distortions", "nan", "short-size", "size-string", "duplicate-name"],
)
def test_bad_aniposelib_cameras_give_one_clear_error(anipose: ModuleType, change, message) -> None:
    theirs = to_aniposelib(rig("pinhole"))
    change(theirs.cameras[1])
    with pytest.raises(CalibrationError, match=message):
        from_aniposelib(theirs)


def test_missing_aniposelib_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aniposelib", None)  # `import aniposelib` fails
    monkeypatch.setitem(sys.modules, "aniposelib.cameras", None)
    install = r'pip install "pose3d-suite\[anipose\]"'
    with pytest.raises(Pose3dError, match=rf"needs aniposelib, which is not installed .*{install}"):
        to_aniposelib(rig("pinhole"))
    with pytest.raises(Pose3dError, match=install):
        from_aniposelib(object())
