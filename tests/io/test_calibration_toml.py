"""Anipose's calibration.toml: exact round trips, aniposelib both ways, order, units, failures.

The comparisons with aniposelib skip where it is not installed (the optional ``anipose`` extra)."""

from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType

import h5py
import numpy as np
import pytest

from pose3d.cameras import Camera, CameraGroup
from pose3d.errors import CalibrationError
from pose3d.io.calibration_toml import load_calibration, save_calibration


@pytest.fixture(scope="module")
def anipose() -> ModuleType:
    """``aniposelib.cameras``; the tests that compare with aniposelib skip without it."""
    return pytest.importorskip(
        "aniposelib.cameras",
        reason='aniposelib is optional: pip install "pose3d-suite[anipose]" (or the dev extra)',
    )


def make_group(n: int = 3, unit: str | None = "mm", seed: int = 0) -> CameraGroup:
    """Cameras with full-precision, non-round numbers (a lossy writer would show)."""
    rng = np.random.default_rng(seed)
    cameras = []
    for i in range(n):
        fx, fy = rng.uniform(700, 1200, 2)
        cx, cy = rng.uniform(300, 340), rng.uniform(230, 250)
        matrix = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        dist = rng.normal(0, [0.2, 0.05, 1e-3, 1e-3, 0.01])
        cameras.append(
            Camera(
                f"cam{i}", (640 + i, 480), matrix, dist, rng.normal(0, 1, 3), rng.normal(0, 300, 3)
            )
        )
    return CameraGroup(tuple(cameras), unit=unit)


def make_mixed_group(seed: int = 0) -> CameraGroup:
    """cam0 and cam2 fisheye (k1 k2 k3 k4), cam1 and cam3 pinhole."""
    rng = np.random.default_rng(seed)
    cameras = []
    for i, pinhole in enumerate(make_group(4, seed=seed)):
        if i % 2:
            cameras.append(pinhole)
            continue
        dist = rng.normal(0, [0.03, 0.01, 0.003, 0.001])
        matrix = pinhole.matrix.copy()
        matrix[[0, 1], [0, 1]] *= 0.4  # a wider view
        cameras.append(
            Camera(pinhole.name, pinhole.size, matrix, dist, pinhole.rvec, pinhole.tvec, "fisheye")
        )
    return CameraGroup(tuple(cameras), unit="mm")


def assert_same_camera(ours: Camera, theirs: Camera) -> None:
    assert ours.name == theirs.name
    assert ours.model == theirs.model
    assert ours.size == theirs.size
    np.testing.assert_array_equal(ours.matrix, theirs.matrix)
    np.testing.assert_array_equal(ours.dist, theirs.dist)
    np.testing.assert_array_equal(ours.rvec, theirs.rvec)
    np.testing.assert_array_equal(ours.tvec, theirs.tvec)


def test_round_trip_is_exact(tmp_path):
    group = CameraGroup(make_group(4).cameras, unit="mm", metadata={"error": 0.3125, "note": "x"})
    path = tmp_path / "calibration.toml"
    save_calibration(path, group)
    loaded = load_calibration(path)
    assert loaded.names == group.names
    for ours, theirs in zip(loaded, group, strict=True):
        assert_same_camera(ours, theirs)
    assert loaded.unit == "mm"
    assert loaded.metadata == {"error": 0.3125, "note": "x"}


def test_aniposelib_reads_our_file(tmp_path, anipose):
    group = make_group(3)
    path = tmp_path / "calibration.toml"
    save_calibration(path, group)
    theirs = {cam.get_name(): cam for cam in anipose.CameraGroup.load(str(path)).cameras}
    assert sorted(theirs) == sorted(group.names)
    for ours in group:
        cam = theirs[ours.name]
        assert tuple(cam.get_size()) == ours.size
        np.testing.assert_array_equal(cam.get_camera_matrix(), ours.matrix)
        np.testing.assert_array_equal(np.ravel(cam.get_distortions()), ours.dist)
        np.testing.assert_array_equal(np.ravel(cam.get_rotation()), ours.rvec)
        np.testing.assert_array_equal(np.ravel(cam.get_translation()), ours.tvec)


def test_we_read_aniposelibs_file(tmp_path, anipose):
    ours = make_group(3, seed=1)
    acams = [
        anipose.Camera(
            name=c.name,
            size=list(c.size),
            matrix=c.matrix.copy(),
            dist=c.dist.copy(),
            rvec=c.rvec.copy(),
            tvec=c.tvec.copy(),
        )
        for c in ours
    ]
    path = tmp_path / "anipose_calibration.toml"
    anipose.CameraGroup(acams).dump(str(path))
    loaded = load_calibration(path)
    assert loaded.names == ours.names
    for cam in ours:
        assert_same_camera(loaded[cam.name], cam)
    assert loaded.unit is None  # aniposelib writes an empty [metadata]: the unit is unknown


def test_fisheye_cameras_round_trip_exactly_in_anipose_form(tmp_path):
    group = make_mixed_group()
    path = tmp_path / "calibration.toml"
    save_calibration(path, group)
    loaded = load_calibration(path)
    assert [c.model for c in loaded] == ["fisheye", "pinhole", "fisheye", "pinhole"]
    for ours, theirs in zip(loaded, group, strict=True):
        assert_same_camera(ours, theirs)
    # as aniposelib's FisheyeCamera.get_dict writes it: 4 distortions, fisheye = true last;
    # pinhole tables carry no fisheye key
    tables = path.read_text(encoding="utf-8").split("\n\n")
    assert tables[0].splitlines()[-1] == "fisheye = true"
    assert tables[0].count("distortions = [") == 1 and len(loaded["cam0"].dist) == 4
    assert "fisheye" not in tables[1]


def test_aniposelib_reads_our_fisheye_cameras_and_projects_the_same(tmp_path, anipose):
    group = make_mixed_group(seed=1)
    path = tmp_path / "calibration.toml"
    save_calibration(path, group)
    theirs = {cam.get_name(): cam for cam in anipose.CameraGroup.load(str(path)).cameras}
    for ours in group:
        cam = theirs[ours.name]
        assert isinstance(cam, anipose.FisheyeCamera) == (ours.model == "fisheye")
        np.testing.assert_array_equal(np.ravel(cam.get_distortions()), ours.dist)
        # points up to 65 degrees off the optical axis (cv2.fisheye mirrors points behind)
        rng = np.random.default_rng(2)
        in_camera = np.column_stack([rng.uniform(-1.5, 1.5, (200, 2)), np.ones(200)])
        points = (in_camera * rng.uniform(100, 2000, (200, 1)) - ours.tvec) @ ours.rotation
        expected = cam.project(points).reshape(-1, 2)
        np.testing.assert_allclose(ours.project(points), expected, rtol=0, atol=1e-8)


def test_we_read_aniposelibs_fisheye_cameras(tmp_path, anipose):
    ours = make_mixed_group(seed=3)
    acams = []
    for c in ours:
        kind = anipose.FisheyeCamera if c.model == "fisheye" else anipose.Camera
        acams.append(
            kind(name=c.name, size=list(c.size), matrix=c.matrix.copy(), dist=c.dist.copy(),
                 rvec=c.rvec.copy(), tvec=c.tvec.copy())
        )  # fmt: skip
    path = tmp_path / "anipose_calibration.toml"
    anipose.CameraGroup(acams).dump(str(path))
    loaded = load_calibration(path)
    for cam in ours:
        assert_same_camera(loaded[cam.name], cam)


def _cam_table(key: int, name: str) -> str:
    return (
        f"[cam_{key}]\n"
        f'name = "{name}"\n'
        "size = [640, 480]\n"
        f"matrix = [[{800 + key}.5, 0.0, 320.0], [0.0, 801.0, 240.0], [0.0, 0.0, 1.0]]\n"
        "distortions = [-0.1, 0.01, 0.0, 0.0, 0.0]\n"
        f"rotation = [0.0, {key / 10}, 0.0]\n"
        f"translation = [{key}.0, 0.0, 1000.0]\n\n"
    )


def _shuffled_file(tmp_path: Path) -> Path:
    """cam_0 .. cam_11 named view0 .. view11, [cam_10] written before [cam_2]; unit cm."""
    keys = list(range(12))
    random.Random(3).shuffle(keys)
    keys.remove(10)
    keys.remove(2)
    keys = [10, 2, *keys]  # [cam_10] is written before [cam_2]
    path = tmp_path / "calibration.toml"
    path.write_text(
        "".join(_cam_table(k, f"view{k}") for k in keys) + '[metadata]\nunit = "cm"\n',
        encoding="utf-8",
    )
    return path


def test_camera_order_follows_numeric_cam_keys(tmp_path):
    group = load_calibration(_shuffled_file(tmp_path))
    assert group.names == tuple(f"view{k}" for k in range(12))
    assert group.names.index("view2") < group.names.index("view10")
    for k, cam in enumerate(group):
        assert cam.matrix[0, 0] == 800.5 + k
        assert cam.tvec[0] == k
    assert group.unit == "cm"


def test_aniposelib_agrees_camera_by_camera_whatever_the_key_order(tmp_path, anipose):
    path = _shuffled_file(tmp_path)
    group = load_calibration(path)
    # aniposelib sorts the keys as text (cam_10 before cam_2) but agrees camera by camera
    theirs = {c.get_name(): c for c in anipose.CameraGroup.load(str(path)).cameras}
    for cam in group:
        np.testing.assert_array_equal(theirs[cam.name].get_camera_matrix(), cam.matrix)


def test_numeric_order_is_kept_when_saving_again(tmp_path):
    group = make_group(12, seed=2)
    path = tmp_path / "calibration.toml"
    save_calibration(path, group)
    text = path.read_text(encoding="utf-8")
    assert text.index("[cam_2]") < text.index("[cam_10]")
    assert load_calibration(path).names == group.names


@pytest.mark.parametrize("unit", ["mm", "m", None])
def test_unit_round_trips(tmp_path, unit):
    path = tmp_path / "calibration.toml"
    save_calibration(path, make_group(2, unit=unit))
    assert load_calibration(path).unit == unit


def test_file_without_metadata_has_unknown_unit(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(_cam_table(0, "a") + _cam_table(1, "b"), encoding="utf-8")
    group = load_calibration(path)
    assert group.unit is None
    assert group.names == ("a", "b")


def test_real_sleap_anipose_calibration(minimal_session: Path):
    path = minimal_session / "calibration.toml"
    group = load_calibration(path)
    assert group.names == ("back", "mid", "side", "top")
    assert group.unit is None
    assert group["back"].size == (1280, 1024)
    assert group["back"].matrix[0, 0] == 769.8864926727645
    assert group["mid"].dist[0] == -0.3019598217075406


def test_real_sleap_anipose_calibration_projects_as_aniposelib(minimal_session: Path, anipose):
    # projections agree with aniposelib's (cv2.projectPoints) on the real rig
    path = minimal_session / "calibration.toml"
    group = load_calibration(path)
    agroup = anipose.CameraGroup.load(str(path))
    with h5py.File(minimal_session / "points3d.h5", "r") as f:  # the triangulated mouse
        points = f["tracks"][:].reshape(-1, 3)
    points = points[np.isfinite(points).all(-1)]
    theirs = agroup.project(points)  # [n_cams, n_points, 2]
    ours = group.project(points)
    assert [c.get_name() for c in agroup.cameras] == list(group.names)
    finite = np.isfinite(ours).all(-1)
    assert finite.mean() > 0.9
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=0, atol=1e-8)


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("matrix = [[{bad}, 0.0, 320.0], [0.0, 801.0, 240.0], [0.0, 0.0, 1.0]]", "matrix"),
        ("distortions = [-0.1, {bad}, 0.0, 0.0, 0.0]", "distortions"),
        ("rotation = [0.0, 0.0, {bad}]", "rotation"),
        ("translation = [{bad}, 0.0, 1000.0]", "translation"),
    ],
)
def test_non_finite_numbers_name_the_file_the_camera_and_the_field(tmp_path, line, field, bad):
    key = line.split(" = ")[0]
    table = _cam_table(1, "side").splitlines()
    table = [line.format(bad=bad) if t.startswith(f"{key} =") else t for t in table]
    path = tmp_path / "calibration.toml"
    path.write_text(_cam_table(0, "back") + "\n".join(table) + "\n", encoding="utf-8")
    with pytest.raises(CalibrationError) as info:
        load_calibration(path)
    message = str(info.value)
    assert message.startswith(f"{path} [cam_1]: ")
    assert f"{field} contains NaN or inf" in message
    assert "'side'" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[metadata]\nunit = "mm"\n', r"holds no \[cam_N\] tables; is it an Anipose calibration"),
        ("[cam_0]\nname = \n", r"is not valid TOML"),
        (_cam_table(0, "a").replace("rotation", "rot"), r"\[cam_0\]: missing key 'rotation'"),
        (
            _cam_table(0, "a").replace("size = [640, 480]", "size = [640]"),
            r"\[cam_0\]: size must be \[width, height\]",
        ),
        (
            _cam_table(0, "a").replace("size = [640, 480]", 'size = "640x480"'),
            r"\[cam_0\]: size must be list",
        ),
        (
            _cam_table(0, "a").replace("[0.0, 0.0, 1.0]]", "[0.0, 0.0]]"),
            r"\[cam_0\]: not a number where one was expected",
        ),
        (_cam_table(0, "a").replace("translation = [0.0,", 'translation = ["zero",'), r"\[cam_0\]"),
        (
            _cam_table(0, "a") + "fisheye = true\n",
            r"\[cam_0\]: camera 'a': a fisheye camera's distortions must be 4 numbers "
            r"\(k1 k2 k3 k4\), got 5",
        ),
        (
            _cam_table(0, "a") + 'fisheye = "yes"\n',
            r"\[cam_0\]: fisheye must be true or false, got 'yes'",
        ),
        (_cam_table(0, "a") + _cam_table(1, "a"), r"camera names must be unique"),
        ("cam_0 = 3\n", r"\[cam_0\] must be a table"),
    ],
    ids=[
        "no-cams",
        "malformed",
        "missing-key",
        "short-size",
        "size-string",
        "ragged-matrix",
        "string-number",
        "fisheye-five-distortions",
        "fisheye-not-bool",
        "duplicate-names",
        "not-a-table",
    ],
)
def test_bad_files_give_one_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "calibration.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalibrationError, match=message) as info:
        load_calibration(path)
    assert str(path) in str(info.value)


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere" / "calibration.toml"
    with pytest.raises(CalibrationError, match=rf"calibration file {path} does not exist"):
        load_calibration(path)
