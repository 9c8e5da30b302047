"""Skeleton and board specs: validation, OpenCV's corner layout, board.toml in both forms."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pose3d.board import ARUCO_DICTIONARIES, BoardError, CharucoBoard, Checkerboard
from pose3d.errors import Pose3dError
from pose3d.io.board_toml import board_from_dict, load_board, save_board
from pose3d.skeleton import Skeleton

# --- Skeleton ----------------------------------------------------------------------------------


def test_edge_indices_follow_keypoint_order():
    skeleton = Skeleton(
        ("nose", "ear_l", "ear_r", "tail"), (("tail", "nose"), ("nose", "ear_r"), ("ear_l", "nose"))
    )
    assert skeleton.edge_indices == ((3, 0), (0, 2), (1, 0))
    assert skeleton.index("ear_r") == 2


def test_from_lists_accepts_toml_lists():
    skeleton = Skeleton.from_lists(["a", "b", "c"], [["a", "b"], ["b", "c"]])
    assert skeleton.keypoints == ("a", "b", "c")
    assert skeleton.edges == (("a", "b"), ("b", "c"))
    assert skeleton == Skeleton(("a", "b", "c"), (("a", "b"), ("b", "c")))


def test_duplicate_keypoints_are_named():
    with pytest.raises(Pose3dError, match=r"unique; repeated: nose, tail$"):
        Skeleton(("nose", "tail", "ear", "nose", "tail"))


def test_unknown_edge_keypoints_are_named():
    with pytest.raises(
        Pose3dError,
        match=r"edge nose-paw names unknown keypoint\(s\) paw; "
        r"keypoints are: nose, tail",
    ):
        Skeleton(("nose", "tail"), (("nose", "paw"),))
    with pytest.raises(Pose3dError, match=r"unknown keypoint\(s\) hip, paw"):
        Skeleton(("nose", "tail"), (("hip", "paw"),))


def test_self_edge_is_named():
    with pytest.raises(Pose3dError, match=r"edge tail-tail joins a keypoint to itself"):
        Skeleton(("nose", "tail"), (("nose", "tail"), ("tail", "tail")))


@pytest.mark.parametrize(
    ("keypoints", "message"),
    [((), "at least one keypoint"), (("nose", " "), "must not be empty")],
)
def test_empty_keypoints_raise(keypoints, message):
    with pytest.raises(Pose3dError, match=message):
        Skeleton(keypoints)


def test_edge_of_three_keypoints_is_shown():
    with pytest.raises(Pose3dError, match=r"an edge joins two keypoints; got \['a', 'b', 'c'\]"):
        Skeleton.from_lists(["a", "b", "c"], [["a", "b", "c"]])


def test_index_of_unknown_keypoint_lists_the_known_ones():
    with pytest.raises(Pose3dError, match=r"unknown keypoint 'paw'; keypoints are: nose, tail"):
        Skeleton(("nose", "tail")).index("paw")


# --- boards ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("squares_x", "squares_y", "square", "marker", "dictionary"),
    [
        (8, 11, 24.0, 18.75, "DICT_4X4_1000"),  # the sleap-anipose board
        (5, 7, 30.0, 22.5, "DICT_5X5_100"),
        (7, 5, 0.5, 0.25, "DICT_6X6_250"),
        (4, 4, 12.0, 9.0, "DICT_4X4_50"),
    ],
)
def test_charuco_corner_points_match_opencv(squares_x, squares_y, square, marker, dictionary):
    board = CharucoBoard(squares_x, squares_y, square, marker, dictionary)
    cv_dict = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))
    cv_board = cv2.aruco.CharucoBoard((squares_x, squares_y), square, marker, cv_dict)
    expected = cv_board.getChessboardCorners()  # float32; these lengths are exact in float32
    got = board.corner_points()
    assert got.shape == (board.n_corners, 3) == expected.shape
    np.testing.assert_array_equal(got, expected.astype(np.float64))
    assert board.n_markers == len(cv_board.getIds())
    assert board.inner_corners == (squares_x - 1, squares_y - 1)
    assert board.size == (squares_x * square, squares_y * square)
    assert board.marker_bits == ARUCO_DICTIONARIES[dictionary][0]


def test_checkerboard_corners_are_the_inner_grid_x_fastest():
    board = Checkerboard(4, 3, 10.0)
    assert board.inner_corners == (3, 2)
    np.testing.assert_array_equal(
        board.corner_points(),
        [[10, 10, 0], [20, 10, 0], [30, 10, 0], [10, 20, 0], [20, 20, 0], [30, 20, 0]],
    )


@pytest.mark.parametrize(
    "make", [lambda: Checkerboard(2, 11, 24.0), lambda: CharucoBoard(8, 2, 24.0, 18.0)]
)
def test_too_few_squares_mentions_inner_corners(make):
    with pytest.raises(
        BoardError,
        match=r"at least 3x3 squares, got \d+x\d+; give the number of "
        r"squares, not inner corners",
    ):
        make()


@pytest.mark.parametrize("marker", [24.0, 30.0])
def test_marker_must_be_smaller_than_square(marker):
    with pytest.raises(
        BoardError,
        match=rf"marker_length \({marker}\) must be smaller than "
        r"square_length \(24.0\)",
    ):
        CharucoBoard(8, 11, 24.0, marker, "DICT_4X4_1000")


@pytest.mark.parametrize(
    ("square", "marker", "what"),
    [
        (0.0, 1.0, "square_length"),
        (-5.0, 1.0, "square_length"),
        (float("nan"), 1.0, "square_length"),
        (24.0, 0.0, "marker_length"),
        (24.0, float("inf"), "marker_length"),
    ],
)
def test_lengths_must_be_positive(square, marker, what):
    with pytest.raises(BoardError, match=rf"{what} must be a positive number"):
        CharucoBoard(8, 11, square, marker, "DICT_4X4_1000")
    if what == "square_length":
        with pytest.raises(BoardError, match=r"square_length must be a positive number"):
            Checkerboard(8, 11, square)


def test_unknown_dictionary_lists_the_known_ones():
    with pytest.raises(
        BoardError,
        match=r"unknown ArUco dictionary 'DICT_4X4_2000'; expected "
        r"one of DICT_4X4_50, .*DICT_ARUCO_ORIGINAL",
    ):
        CharucoBoard(8, 11, 24.0, 18.0, "DICT_4X4_2000")


def test_too_many_markers_for_the_dictionary():
    # 11 x 10 squares carry 55 markers; DICT_4X4_50 has 50
    with pytest.raises(
        BoardError,
        match=r"a 11x10 ChArUco board needs 55 markers but "
        r"DICT_4X4_50 has only 50",
    ):
        CharucoBoard(11, 10, 24.0, 18.0, "DICT_4X4_50")
    assert CharucoBoard(10, 10, 24.0, 18.0, "DICT_4X4_50").n_markers == 50  # exactly enough


def test_dictionary_table_matches_opencv():
    for name, (bits, n) in ARUCO_DICTIONARIES.items():
        cv_dict = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
        assert (cv_dict.markerSize, cv_dict.bytesList.shape[0]) == (bits, n), name


# --- board.toml --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "board",
    [
        CharucoBoard(8, 11, 24.0, 18.75, "DICT_4X4_1000"),
        CharucoBoard(5, 6, 3.5, 2.625, "DICT_ARUCO_ORIGINAL", legacy=True, unit="cm"),
        Checkerboard(9, 7, 25.4, unit="in/1000"),
    ],
    ids=["charuco", "charuco-legacy-cm", "checkerboard"],
)
def test_board_toml_round_trip(tmp_path, board):
    path = tmp_path / "board.toml"
    save_board(path, board)
    assert load_board(path) == board
    assert type(load_board(path)) is type(board)
    assert path.read_text(encoding="utf-8").startswith("# pose3d board spec")


def test_sleap_anipose_board_toml(minimal_session: Path):
    board = load_board(minimal_session / "board.toml")
    assert board == CharucoBoard(8, 11, 24.0, 18.75, "DICT_4X4_1000", legacy=False, unit="mm")


def test_sleap_anipose_checkerboard_toml(minimal_session: Path):
    board = load_board(minimal_session / "board_checker.toml")
    # board_x/board_y are aniposelib's checkerboard sizes: inner corners (8 x 11)
    assert board == Checkerboard(9, 12, 24.0)
    assert board.inner_corners == (8, 11)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            {
                "board_type": "charuco",
                "board_size": [6, 9],
                "square_length": 30,
                "marker_length": 22,
                "marker_bits": 5,
                "dict_size": 250,
            },
            CharucoBoard(6, 9, 30.0, 22.0, "DICT_5X5_250"),
        ),
        (
            {"board_type": "checkerboard", "board_size": [6, 9], "square_length": 30},
            Checkerboard(7, 10, 30.0),  # Anipose gives a checkerboard's inner corners
        ),
        (
            {"board_x": 5, "board_y": 7, "square_length": 10, "marker_length": 7},
            CharucoBoard(5, 7, 10.0, 7.0, "DICT_4X4_50"),
        ),
    ],
    ids=["anipose-charuco", "anipose-checkerboard", "defaults"],
)
def test_anipose_config_keys(table, expected):
    assert board_from_dict(table) == expected


BAD_BOARDS = [
    ("marker_bits = 9", r"marker_bits = 9 with dict_size = 1000 is not an OpenCV dictionary"),
    ("dict_size = 300", r"marker_bits = 4 with dict_size = 300 is not an OpenCV dictionary"),
    ("board_x = 8.0", r"squares_x must be a whole number of squares, got 8.0"),
    ("board_y = 11.5", r"squares_y must be a whole number of squares, got 11.5"),
    ("board_y = true", r"squares_y must be a whole number of squares, got True"),
    ('legacy = "yes"', r"legacy must be true or false, got 'yes'"),
    ('square_length = "24"', r"square_length must be int or float, got '24'"),
    ("square_length = true", r"square_length must not be true/false"),
    ('type = "circles"', r"type must be 'charuco' or 'checkerboard', got 'circles'"),
    ("marker_length = 30.0", r"marker_length \(30.0\) must be smaller than square_length"),
    ("board_x = 2", r"not inner corners"),
    ('dictionary = "DICT_9X9_50"', r"unknown ArUco dictionary 'DICT_9X9_50'"),
    ("marker_bits = 4.7", r"marker_bits must be a whole number, got 4.7"),
    ('dict_size = "big"', r"dict_size must be a whole number, got 'big'"),
]


@pytest.mark.parametrize(("override", "message"), BAD_BOARDS)
def test_bad_board_values_name_the_file(tmp_path, override, message):
    key = override.split(" = ")[0]
    good = {
        "board_x": "8",
        "board_y": "11",
        "square_length": "24.0",
        "marker_length": "18.75",
        "marker_bits": "4",
        "dict_size": "1000",
    }
    good[key] = override.split(" = ")[1]
    path = tmp_path / "my_board.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in good.items()), encoding="utf-8")
    with pytest.raises(Pose3dError, match=message) as info:
        load_board(path)
    assert str(info.value).startswith(f"board spec {path}: ")


def test_missing_key_names_the_file(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text("board_x = 8\nboard_y = 11\nmarker_length = 18.75\n", encoding="utf-8")
    with pytest.raises(Pose3dError, match=rf"board spec {path}: missing key 'square_length'"):
        load_board(path)


def test_board_size_must_be_a_pair(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text("board_size = [8, 11, 3]\nsquare_length = 24.0\n", encoding="utf-8")
    with pytest.raises(Pose3dError, match=rf"{path}: board_size must be \[squares_x, squares_y\]"):
        load_board(path)


def test_missing_and_malformed_board_files_are_named(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(Pose3dError, match=rf"board spec {missing} does not exist"):
        load_board(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("board_x = 8\nboard_y = \n", encoding="utf-8")
    with pytest.raises(Pose3dError, match=rf"board spec {broken} is not valid TOML"):
        load_board(broken)


def test_a_huge_name_is_cut_in_messages() -> None:
    """A damaged file can hold a name of megabytes; a message shows 60 characters and the
    length (found by the fuzz run: a 5,000-character keypoint made a 10,000-character error)."""
    from pose3d.errors import shown

    huge = "x" * 5000
    assert shown("nose") == "nose"
    assert shown(huge) == "x" * 59 + "… (5000 characters)"
    with pytest.raises(Pose3dError) as info:
        Skeleton.from_lists(["nose", "tail"], [("nose", huge)])
    assert len(str(info.value)) < 300 and "(5000 characters)" in str(info.value)
