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
        ('[metadata]\nunit = "mm"\n', r"holds no camera tables .*; is it an Anipose calibration"),
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
            r"\[cam_0\]: matrix must be an array whose rows have equal lengths",
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


def _replaced(key: str, line: str) -> str:
    """Two cameras, the line ``key = ...`` of [cam_1] replaced by ``line``."""
    table = [line if t.startswith(f"{key} =") else t for t in _cam_table(1, "b").splitlines()]
    return _cam_table(0, "a") + "\n".join(table) + "\n"


HOSTILE = {
    # booleans were read as 1.0 / 0.0 by numpy
    "bool-in-distortions": (
        _replaced("distortions", "distortions = [-0.2, true, 0.0, 0.0, 0.0]"),
        r"\[cam_1\]: distortions: true/false where a number was expected, in \[-0.2, True,",
    ),
    "bool-in-matrix": (
        _replaced("matrix", "matrix = [[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0, 0, true]]"),
        r"\[cam_1\]: matrix: true/false where a number was expected",
    ),
    "bool-rotation": (
        _replaced("rotation", "rotation = [false, 0.0, 0.0]"),
        r"\[cam_1\]: rotation: true/false where a number was expected",
    ),
    "bool-size": (
        _replaced("size", "size = [true, 480]"),
        r"\[cam_1\]: not a number where one was expected in size = \[True, 480\]",
    ),
    "bool-distortions-scalar": (
        _replaced("distortions", "distortions = true"),
        r"\[cam_1\]: distortions: true/false where a number was expected",
    ),
    # nested wrong types
    "table-in-translation": (
        _replaced("translation", "translation = [{x = 1.0}, 0.0, 0.0]"),
        r"\[cam_1\]: translation: not a number where one was expected \(\{'x': 1.0\}\)",
    ),
    "string-in-matrix-row": (
        _replaced("matrix", 'matrix = [[800.0, 0.0, 320.0], [0.0, "f", 240.0], [0, 0, 1]]'),
        r"\[cam_1\]: matrix: not a number where one was expected \('f'\)",
    ),
    "matrix-of-tables": (
        _replaced("matrix", "matrix = [{a = 1}, {a = 2}, {a = 3}]"),
        r"\[cam_1\]: matrix: not a number where one was expected",
    ),
    "huge-integer": (
        _replaced("translation", f"translation = [{10**400}, 0.0, 0.0]"),
        r"\[cam_1\]: translation: 1000.* is too large for a number",
    ),
    "size-fraction": (
        _replaced("size", "size = [640.5, 480]"),
        r"\[cam_1\]: size width must be a whole number, got 640.5",
    ),
    "size-huge": (
        _replaced("size", f"size = [640, {10**30}]"),
        r"\[cam_1\]: size height must be between 1 and 1000000",
    ),
    "name-number": (
        _replaced("name", "name = 5"),
        r"\[cam_1\]: name must be the camera's name in quotes, got 5",
    ),
    "cam-table-string": ('cam_0 = "front"\n', r"\[cam_0\] must be a table, got 'front'"),
    # metadata
    "metadata-number": (
        "metadata = 5\n" + _cam_table(0, "a"),
        r": \[metadata\] must be a table, e\.g\. \[metadata\] unit = \"mm\"; got metadata = 5",
    ),
    "metadata-string": (
        'metadata = "mm"\n' + _cam_table(0, "a"),
        r": \[metadata\] must be a table, .*; got metadata = 'mm'",
    ),
    "metadata-unit-number": (
        _cam_table(0, "a") + "[metadata]\nunit = 1000\n",
        r": \[metadata\] unit must be a unit in quotes, e\.g\. \"mm\"; got 1000",
    ),
    "metadata-unit-table": (
        _cam_table(0, "a") + '[metadata.unit]\nname = "mm"\n',
        r": \[metadata\] unit must be a unit in quotes",
    ),
    "deep-nesting": (
        _replaced("rotation", "rotation = " + "[" * 5000 + "]" * 5000),
        r"nests arrays or inline tables too deeply",
    ),
}


@pytest.mark.parametrize(("text", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_values_give_one_calibration_error(tmp_path, text, message):
    path = tmp_path / "calibration.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalibrationError, match=message) as info:
        load_calibration(path)
    assert str(path) in str(info.value)


def test_numbers_of_every_toml_kind_are_still_read(tmp_path):
    """Ints where floats go, a fisheye flag, Pose2Sim's float sizes and column vectors."""
    text = (
        _replaced("translation", "translation = [[1], [2], [3]]")
        .replace("size = [640, 480]", "size = [640.0, 480.0]")
        .replace("rotation = [0.0, 0.1, 0.0]", "rotation = [0, 0, 0]")
    )
    path = tmp_path / "calibration.toml"
    path.write_text(text, encoding="utf-8")
    cam = load_calibration(path)["b"]
    assert cam.size == (640, 480) and isinstance(cam.size[0], int)
    assert cam.tvec.tolist() == [1.0, 2.0, 3.0]
    assert cam.rvec.tolist() == [0.0, 0.0, 0.0]


# --- Pose2Sim's calibration files ----------------------------------------------------------------

# Written the way Pose2Sim's calibration writes (its demo Calib_scene.toml): tables named after
# the camera folders, float sizes [w, h] (portrait video), 4 distortions, a [metadata] table of
# its own; translations in metres. The numbers are ours (no real Pose2Sim file is in
# ../shared/data). int_cam02_img comes first and int_cam01_img has column vectors, as Pose2Sim's
# intrinsics-only files do, so order and shape are both exercised.
POSE2SIM = """\
[int_cam02_img]
name = "int_cam02_img"
size = [ 1088.0, 1920.0]
matrix = [ [ 1675.5, 0.0, 555.75], [ 0.0, 1675.25, 937.5], [ 0.0, 0.0, 1.0]]
distortions = [ -0.052, 0.149, 1.7e-05, -0.00065]
rotation = [ 1.358, 1.580, -1.182]
translation = [ -0.165, 0.808, 3.204]
fisheye = false

[int_cam01_img]
name = "int_cam01_img"
size = [ 1088.0, 1920.0]
matrix = [ [ 1671.5, 0.0, 564.625], [ 0.0, 1671.375, 933.0], [ 0.0, 0.0, 1.0]]
distortions = [ -0.053, 0.151, -0.00012, 0.00065]
rotation = [ [1.679], [1.032], [-0.391]]
translation = [ [0.261], [0.964], [2.933]]
fisheye = false

[int_cam03_img]
name = "int_cam03_img"
size = [ 1088.0, 1920.0]
matrix = [ [ 1678.75, 0.0, 556.0], [ 0.0, 1678.25, 928.25], [ 0.0, 0.0, 1.0]]
distortions = [ -0.031, 0.0092, -0.00088, -2.0e-05]
rotation = [ 0.786, -2.186, 1.434]
translation = [ -0.850, 0.414, 4.298]
fisheye = false

[metadata]
adjusted = false
error = 0.0
"""


@pytest.fixture
def pose2sim_file(tmp_path: Path) -> Path:
    path = tmp_path / "Calib_scene.toml"
    path.write_text(POSE2SIM, encoding="utf-8")
    return path


def test_pose2sim_tables_named_after_cameras_are_read_in_file_order(pose2sim_file: Path):
    group = load_calibration(pose2sim_file)
    assert group.names == ("int_cam02_img", "int_cam01_img", "int_cam03_img")
    cam = group["int_cam01_img"]
    assert cam.size == (1088, 1920)
    assert cam.rvec.tolist() == [1.679, 1.032, -0.391]
    assert cam.tvec.tolist() == [0.261, 0.964, 2.933]
    assert cam.dist.tolist() == [-0.053, 0.151, -0.00012, 0.00065, 0.0]  # k3 = 0, as OpenCV
    assert group.unit is None  # Pose2Sim says nothing of it (its translations are metres)
    assert group.metadata == {"adjusted": False, "error": 0.0}


def test_pose2sim_file_matches_aniposelib_camera_by_camera(pose2sim_file: Path, anipose):
    group = load_calibration(pose2sim_file)
    theirs = anipose.CameraGroup.load(str(pose2sim_file))
    assert sorted(theirs.get_names()) == sorted(group.names)  # aniposelib sorts the keys
    points = np.random.default_rng(1).normal(0.0, 0.4, (200, 3))
    for cam, projected in zip(theirs.cameras, theirs.project(points), strict=True):
        ours = group[cam.get_name()]
        np.testing.assert_array_equal(ours.matrix, cam.get_camera_matrix())
        np.testing.assert_array_equal(ours.dist[:4], cam.get_distortions().ravel())
        np.testing.assert_allclose(ours.project(points), projected, rtol=0, atol=1e-8)


def test_pose2sim_file_round_trips_in_anipose_form(pose2sim_file: Path, tmp_path: Path):
    group = load_calibration(pose2sim_file)
    save_calibration(tmp_path / "calibration.toml", group)
    again = load_calibration(tmp_path / "calibration.toml")
    assert again.names == group.names
    for ours, theirs in zip(again, group, strict=True):
        assert_same_camera(ours, theirs)


@pytest.mark.parametrize(
    ("tables", "names"),
    [
        # Pose2Sim's numbered tables: numeric order, leading zeros and all
        ([("cam_01", "c1"), ("cam_03", "c3"), ("cam_02", "c2")], ("c1", "c2", "c3")),
        ([("cam_10", "c10"), ("cam_2", "c2")], ("c2", "c10")),  # numeric, not text order
        # any other table name: the file's order (cam_N among them included)
        ([("top", "t"), ("cam_1", "c1"), ("side", "s")], ("t", "c1", "s")),
        ([("int_cam02_img", "c2"), ("int_cam01_img", "c1")], ("c2", "c1")),
    ],
)
def test_camera_order_numeric_for_cam_n_else_the_files(tmp_path, tables, names):
    text = "".join(
        _cam_table(i, name).replace(f"[cam_{i}]", f"[{key}]")
        for i, (key, name) in enumerate(tables)
    )
    path = tmp_path / "calibration.toml"
    path.write_text(text, encoding="utf-8")
    assert load_calibration(path).names == names


def test_other_tables_are_not_cameras_and_a_table_without_name_takes_its_key(tmp_path):
    text = (
        '[project]\nname = "rig 3"\nfps = 60\n\n'  # no camera key: not a camera
        + _cam_table(0, "a").replace('name = "a"\n', "").replace("[cam_0]", "[front]")
        + '[metadata]\nunit = "mm"\n'
    )
    path = tmp_path / "calibration.toml"
    path.write_text(text, encoding="utf-8")
    group = load_calibration(path)
    assert group.names == ("front",)
    assert group.unit == "mm"


def test_a_camera_like_table_with_a_missing_key_is_named(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(
        _cam_table(0, "a").replace("[cam_0]", "[int_cam01_img]").replace("rotation", "rvec"),
        encoding="utf-8",
    )
    with pytest.raises(CalibrationError, match=r"\[int_cam01_img\]: missing key 'rotation'"):
        load_calibration(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("matrix[2][2] = -612.0", r"intrinsic matrix must be \[\[fx, s, cx\], \[0, fy, cy\]"),
        ("matrix[1][0] = 3.0", "intrinsic matrix must be"),
        ('name = ""', "must be printable text, not empty"),
        ('name = "cam\\n0"', "must be printable text"),
        ("translation[0] = 1.2e21", "beyond 1e\\+09 world units"),
        ('unit = "m\\u0000m"', r"\[metadata\] unit must be a unit in quotes"),
    ],
)
def test_values_no_camera_can_have_are_refused(tmp_path: Path, edit: str, message: str) -> None:
    """A calibration whose numbers no camera can have (found by the fuzz run) is refused."""
    import tomllib

    import tomli_w

    good = tmp_path / "good.toml"
    save_calibration(good, CameraGroup((Camera("cam0", (64, 48), np.diag([50.0, 50.0, 1.0])),)))
    data = tomllib.loads(good.read_text(encoding="utf-8"))
    key, _, value = edit.partition(" = ")
    parsed = tomllib.loads(f"v = {value}")["v"]
    if key == "unit":
        data["metadata"]["unit"] = parsed
    elif "[" in key:
        field, *index = key.replace("]", "").split("[")
        target = data["cam_0"][field]
        for i in index[:-1]:
            target = target[int(i)]
        target[int(index[-1])] = parsed
    else:
        data["cam_0"][key] = parsed
    bad = tmp_path / "calibration.toml"
    bad.write_text(tomli_w.dumps(data), encoding="utf-8")
    with pytest.raises(CalibrationError, match=message):
        load_calibration(bad)
