"""session.toml and Session: round trip, every failure names session.toml, paths and offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pose3d.board import CharucoBoard, Checkerboard
from pose3d.errors import SessionError
from pose3d.io.session_toml import load_session, save_session
from pose3d.session import CameraSpec, Session
from pose3d.skeleton import Skeleton


def make_session(root: Path, **changes: object) -> Session:
    fields: dict[str, object] = {
        "root": root,
        "name": "mouse_day1",
        "cameras": (
            CameraSpec("back", "videos/back.mp4", 0),
            CameraSpec("mid", "videos/mid.mp4", -3),
            CameraSpec("side", "/data/rig/side.avi", 12),
        ),
        "skeleton": Skeleton(
            ("nose", "neck", "tail_base"), (("nose", "neck"), ("neck", "tail_base"))
        ),
        "individuals": ("mouse_a", "mouse_b"),
        "fps": 59.94,
        "board": CharucoBoard(8, 11, 24.0, 18.75, "DICT_4X4_1000"),
        "calibration_media": {"back": "calibration/back.mp4", "side": "/data/rig/side_board"},
        "extra": {"experimenter": "ada", "notes": {"room": 3, "lights": "ir"}},
    }
    fields.update(changes)
    return Session(**fields)  # type: ignore[arg-type]


def test_round_trip(tmp_path):
    session = make_session(tmp_path / "mouse_day1")
    save_session(session)  # creates the folder
    loaded = load_session(session.root)
    assert loaded == session
    assert loaded.cameras[1].offset == -3
    assert loaded.individuals == ("mouse_a", "mouse_b")
    assert loaded.skeleton.edge_indices == ((0, 1), (1, 2))
    assert loaded.extra == {"experimenter": "ada", "notes": {"room": 3, "lights": "ir"}}
    assert isinstance(loaded.board, CharucoBoard)
    assert loaded.calibration_media_paths() == {
        "back": session.root / "calibration" / "back.mp4",
        "side": Path("/data/rig/side_board"),
    }


def test_calibration_media_of_an_unknown_camera_is_refused(tmp_path):
    with pytest.raises(SessionError, match=r"calibration media of unknown camera\(s\) top"):
        make_session(tmp_path, calibration_media={"top": "top.mp4"})


def test_calibration_media_must_be_a_table_of_paths(tmp_path):
    save_session(make_session(tmp_path))
    text = (
        (tmp_path / "session.toml").read_text().replace('back = "calibration/back.mp4"', "back = 3")
    )
    (tmp_path / "session.toml").write_text(text)
    with pytest.raises(SessionError, match=r"session.toml: \[calibration\] media must map"):
        load_session(tmp_path)


@pytest.mark.parametrize(
    "changes",
    [
        {"fps": None, "board": None, "extra": {}, "calibration_media": {}},
        {"board": Checkerboard(9, 7, 25.0)},
    ],
    ids=["minimal", "checkerboard"],
)
def test_round_trip_variants(tmp_path, changes):
    session = make_session(tmp_path, **changes)
    save_session(session)
    loaded = load_session(tmp_path)
    assert loaded == session
    assert loaded.extra == session.extra


def test_load_accepts_the_folder_or_the_file(tmp_path):
    session = make_session(tmp_path / "s")
    save_session(session)
    by_file = load_session(session.root / "session.toml")
    assert by_file == load_session(session.root) == session
    assert by_file.root == session.root


def test_name_defaults_to_the_folder(tmp_path):
    root = tmp_path / "rat_07"
    root.mkdir()
    (root / "session.toml").write_text(
        'keypoints = ["nose"]\n[[cameras]]\nname = "c0"\nvideo = "c0.mp4"\n', encoding="utf-8"
    )
    session = load_session(root)
    assert session.name == "rat_07"
    assert session.cameras == (CameraSpec("c0", "c0.mp4", 0),)
    assert session.individuals == ("individual_0",)
    assert session.fps is None and session.board is None


# --- failures ----------------------------------------------------------------------------------


def test_missing_folder(tmp_path):
    with pytest.raises(SessionError, match=rf"session folder {tmp_path / 'nope'} does not exist"):
        load_session(tmp_path / "nope")


def test_folder_without_session_toml_suggests_init(tmp_path):
    with pytest.raises(
        SessionError,
        match=rf"{tmp_path} is not a pose3d session: session.toml is "
        r"missing; create one with `pose3d init`",
    ):
        load_session(tmp_path)


GOOD = """\
name = "s"
fps = 30
keypoints = ["nose", "tail"]
edges = [["nose", "tail"]]
individuals = ["m1"]

[[cameras]]
name = "cam0"
video = "cam0.mp4"
offset = 0

[[cameras]]
name = "cam1"
video = "cam1.mp4"
offset = 2
"""

BAD = {
    "malformed": (GOOD.replace("fps = 30", "fps = "), r"is not valid TOML"),
    "no-video": (GOOD.replace('video = "cam1.mp4"\n', ""), r"cameras\[1\]: missing key 'video'"),
    "offset-1.5": (
        GOOD.replace("offset = 2", "offset = 1.5"),
        r"cameras\[1\]: offset must be a whole number of frames, got 1.5",
    ),
    "offset-bool": (
        GOOD.replace("offset = 2", "offset = true"),
        r"offset must be a whole number of frames, got True",
    ),
    "duplicate-cameras": (
        GOOD.replace('name = "cam1"', 'name = "cam0"'),
        r"camera names must be unique, got \['cam0', 'cam0'\]",
    ),
    "duplicate-individuals": (
        GOOD.replace('["m1"]', '["m1", "m2", "m1"]'),
        r"individuals must be unique names, got \['m1', 'm2', 'm1'\]",
    ),
    "unknown-edge-keypoint": (
        GOOD.replace('[["nose", "tail"]]', '[["nose", "paw"]]'),
        r"edge nose-paw names unknown keypoint\(s\) paw",
    ),
    "no-cameras": (GOOD.split("[[cameras]]")[0], r"missing key 'cameras'"),
    "zero-cameras": (
        GOOD.split("[[cameras]]")[0] + "cameras = []\n",
        r"at least one camera is needed",
    ),
    "no-keypoints": (
        GOOD.replace('keypoints = ["nose", "tail"]\n', ""),
        r"missing key 'keypoints'",
    ),
    "individuals-string": (
        GOOD.replace('["m1"]', '"m1"'),
        r"individuals must be a list of names, got 'm1'",
    ),
    "fps-string": (GOOD.replace("fps = 30", 'fps = "30"'), r"fps must be a number, got '30'"),
    "fps-negative": (GOOD.replace("fps = 30", "fps = -30"), r"fps must be positive, got -30"),
    "camera-name-space": (
        GOOD.replace('name = "cam1"', 'name = "cam 1"'),
        r"camera name 'cam 1' must not contain spaces",
    ),
    "bad-board": (
        GOOD.replace(
            "[[cameras]]",
            "[board]\nboard_x = 8\nboard_y = 11\n"
            "square_length = 24.0\nmarker_length = 30.0\n\n[[cameras]]",
            1,
        ),
        r"\[board\]: marker_length \(30.0\) must be smaller than square_length",
    ),
    # each of these was a traceback, or was read as something else, before issue 16
    "edges-number": (
        GOOD.replace('edges = [["nose", "tail"]]', "edges = 5"),
        r"edges must be a list of keypoint pairs, e\.g\. .*; got 5",
    ),
    "edges-list-of-numbers": (
        GOOD.replace('edges = [["nose", "tail"]]', "edges = [5]"),
        r"edges\[0\] must be a pair of keypoint names, .*; got 5",
    ),
    "edges-string": (
        GOOD.replace('edges = [["nose", "tail"]]', 'edges = "nose-tail"'),
        r"edges must be a list of keypoint pairs",
    ),
    "edge-string": (
        GOOD.replace('edges = [["nose", "tail"]]', 'edges = ["nt"]'),
        r"edges\[0\] must be a pair of keypoint names, .*; got 'nt'",
    ),
    "edge-of-numbers": (
        GOOD.replace('edges = [["nose", "tail"]]', "edges = [[0, 1]]"),
        r"edges\[0\] must be a pair of keypoint names, .*; got \[0, 1\]",
    ),
    "edge-of-three": (
        GOOD.replace('edges = [["nose", "tail"]]', 'edges = [["nose", "tail", "nose"]]'),
        r"edges\[0\] must be a pair of keypoint names",
    ),
    "board-number": (
        GOOD.replace("individuals", "board = 5\nindividuals"),
        r"board must be a \[board\] table \(type, squares_x, .*\), got board = 5",
    ),
    "board-string": (
        GOOD.replace("individuals", 'board = "charuco"\nindividuals'),
        r"board must be a \[board\] table .*, got board = 'charuco'",
    ),
    "board-huge-length": (
        GOOD.replace(
            "[[cameras]]",
            '[board]\ntype = "checkerboard"\nsquares_x = 8\nsquares_y = 11\n'
            f"square_length = {10**400}\n\n[[cameras]]",
            1,
        ),
        r"\[board\]: square_length 1000.* is too large",
    ),
    "board-huge-squares": (
        GOOD.replace(
            "[[cameras]]",
            f'[board]\ntype = "checkerboard"\nsquares_x = {10**400}\nsquares_y = 11\n'
            "square_length = 24.0\n\n[[cameras]]",
            1,
        ),
        r"\[board\]: squares_x = 1000.* squares is beyond any printed board \(at most 1000\)",
    ),
    "board-unit-number": (
        GOOD.replace(
            "[[cameras]]",
            '[board]\ntype = "checkerboard"\nsquares_x = 8\nsquares_y = 11\n'
            "square_length = 24.0\nunit = 1\n\n[[cameras]]",
            1,
        ),
        r"\[board\]: unit must be a unit in quotes, e\.g\. \"mm\"; got 1",
    ),
    "offset-2**70": (
        GOOD.replace("offset = 2", f"offset = {2**70}"),
        r"cameras\[1\]: camera 'cam1': offset 1180591620717411303424 frames is beyond "
        r"\+-10,000,000 frames",
    ),
    "offset-2**63-1": (
        GOOD.replace("offset = 2", f"offset = {2**63 - 1}"),
        r"cameras\[1\]: camera 'cam1': offset 9223372036854775807 frames is beyond",
    ),
    "offset-minus-10**7": (
        GOOD.replace("offset = 2", f"offset = {-(10**7)}"),
        r"cameras\[1\]: camera 'cam1': offset -10000000 frames is beyond",
    ),
    "keypoint-number": (
        GOOD.replace('keypoints = ["nose", "tail"]', 'keypoints = [1, "tail"]'),
        r"keypoints\[0\] must be a name in quotes, got 1",
    ),
    "keypoint-table": (
        GOOD.replace('keypoints = ["nose", "tail"]', 'keypoints = ["nose", {name = "tail"}]'),
        r"keypoints\[1\] must be a name in quotes, got \{'name': 'tail'\}",
    ),
    "camera-name-number": (
        GOOD.replace('name = "cam1"', "name = 1"),
        r"cameras\[1\]: name must be str, got 1",
    ),
    "camera-name-list": (
        GOOD.replace('name = "cam1"', 'name = ["cam1"]'),
        r"cameras\[1\]: name must be str, got \['cam1'\]",
    ),
    "session-name-number": (
        GOOD.replace('name = "s"', "name = 7"),
        r"name must be the session's name in quotes, got 7",
    ),
    "fps-inf": (GOOD.replace("fps = 30", "fps = inf"), r"fps must be at most 1e\+06, got inf"),
    "fps-nan": (GOOD.replace("fps = 30", "fps = nan"), r"fps must be positive, got nan"),
    "fps-huge-int": (
        GOOD.replace("fps = 30", f"fps = {10**400}"),
        r"fps must be at most 1e\+06, got 1000",
    ),
    "deep-nesting": (
        GOOD + "deep = " + "[" * 5000 + "]" * 5000 + "\n",
        r"nests arrays or inline tables too deeply",
    ),
}


@pytest.mark.parametrize(("text", "message"), BAD.values(), ids=BAD.keys())
def test_bad_session_toml_names_the_file(tmp_path, text, message):
    path = tmp_path / "session.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SessionError, match=message) as info:
        load_session(tmp_path)
    assert str(path) in str(info.value)


def test_good_text_of_the_failure_table_loads(tmp_path):
    """The failures above differ from GOOD by one change each; GOOD itself is fine."""
    (tmp_path / "session.toml").write_text(GOOD, encoding="utf-8")
    session = load_session(tmp_path)
    assert session.camera_names == ("cam0", "cam1")
    assert session.camera("cam1").offset == 2
    assert session.fps == 30.0


# --- Session -----------------------------------------------------------------------------------


def test_video_path_relative_and_absolute(tmp_path):
    session = make_session(tmp_path / "s")
    assert session.video_path("back") == tmp_path / "s" / "videos" / "back.mp4"
    assert session.video_path("side") == Path("/data/rig/side.avi")


def test_unknown_camera_lists_the_known_ones(tmp_path):
    with pytest.raises(SessionError, match=r"has no camera 'top'; it has back, mid, side"):
        make_session(tmp_path).video_path("top")


def test_with_offsets_changes_only_the_named_cameras(tmp_path):
    session = make_session(tmp_path)
    shifted = session.with_offsets({"back": 5, "side": -7})
    assert [c.offset for c in shifted.cameras] == [5, -3, -7]
    assert [c.offset for c in session.cameras] == [0, -3, 12]  # the original is frozen
    assert shifted.camera_names == session.camera_names
    assert shifted.video_path("mid") == session.video_path("mid")
    save_session(shifted)
    assert load_session(tmp_path) == shifted


def test_session_paths(tmp_path):
    session = make_session(tmp_path)
    assert session.session_file == tmp_path / "session.toml"
    assert session.paths.calibration == tmp_path / "calibration" / "calibration.toml"
    assert session.paths.labels == tmp_path / "labels.nc"
    assert session.paths.poses == tmp_path / "poses3d.nc"
    assert session.paths.lock == tmp_path / ".pose3d.lock"


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "must not be empty"), ("a/b", "must not contain spaces or slashes")],
)
def test_camera_spec_names(name, message):
    with pytest.raises(SessionError, match=message):
        CameraSpec(name, "v.mp4")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((5, "v.mp4", 0), r"a camera name must be a string, got 5"),
        (("c", 5, 0), r"camera 'c': video must be a path, got 5"),
        (("c", "v.mp4", 1.5), r"camera 'c': offset must be a whole number of frames, got 1.5"),
        (("c", "v.mp4", True), r"offset must be a whole number of frames, got True"),
        (("c", "v.mp4", 2**70), r"offset 1180591620717411303424 frames is beyond"),
        (("c", "v.mp4", -(10**7)), r"offset -10000000 frames is beyond \+-10,000,000"),
    ],
    ids=["name", "video", "offset-float", "offset-bool", "offset-huge", "offset-limit"],
)
def test_camera_spec_values(fields, message):
    with pytest.raises(SessionError, match=message):
        CameraSpec(*fields)


def test_offsets_up_to_the_bound_and_numpy_ints_are_kept(tmp_path):
    import numpy as np

    assert CameraSpec("c", "v.mp4", 10**7 - 1).offset == 10**7 - 1
    spec = CameraSpec("c", "v.mp4", np.int64(-3))
    assert spec.offset == -3 and type(spec.offset) is int
    session = make_session(tmp_path).with_offsets({"back": np.int16(9)})
    assert session.camera("back").offset == 9
    with pytest.raises(SessionError, match=r"offset 20000000 frames is beyond"):
        make_session(tmp_path).with_offsets({"back": 2 * 10**7})
