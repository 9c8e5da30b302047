"""Board images: every corner lies where ``BoardImage.to_pixels`` says, as OpenCV's detectors
find it; the legacy ChArUco flag changes the pattern; a bad scale is refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pose3d.board import CharucoBoard, Checkerboard
from pose3d.calibration.board_image import board_image
from pose3d.calibration.opencv_board import opencv_charuco
from pose3d.errors import Pose3dError


@pytest.mark.parametrize(
    "board",
    [
        CharucoBoard(5, 7, 30.0, 22.0, "DICT_4X4_50"),
        CharucoBoard(6, 4, 30.0, 22.0, "DICT_5X5_100", legacy=True),
        CharucoBoard(6, 4, 30.0, 22.0, "DICT_5X5_100", legacy=False),
    ],
)
def test_charuco_image_corners_are_where_the_mapping_says(board: CharucoBoard) -> None:
    image = board_image(board, px_per_unit=3.0, margin=10.0)
    assert image.margin_px == 30
    assert image.image.shape == (board.squares_y * 90 + 60, board.squares_x * 90 + 60)
    detector = cv2.aruco.CharucoDetector(opencv_charuco(board))
    corners, ids, _, _ = detector.detectBoard(image.image)
    assert ids is not None and len(ids) == board.n_corners
    expected = image.to_pixels(board.corner_points()[ids.ravel()])
    np.testing.assert_allclose(corners.reshape(-1, 2), expected, atol=0.05)


def test_legacy_flag_changes_boards_with_even_rows() -> None:
    legacy = CharucoBoard(6, 4, 30.0, 22.0, "DICT_5X5_100", legacy=True)
    modern = CharucoBoard(6, 4, 30.0, 22.0, "DICT_5X5_100", legacy=False)
    assert not np.array_equal(board_image(legacy, 3.0).image, board_image(modern, 3.0).image)


def test_checkerboard_image_corners() -> None:
    board = Checkerboard(8, 6, 25.0)
    image = board_image(board, px_per_unit=4.0)
    assert image.image[image.margin_px + 2, image.margin_px + 2] == 0  # square (0, 0) is black
    found, corners = cv2.findChessboardCorners(image.image, board.inner_corners)
    assert found
    expected = image.to_pixels(board.corner_points())
    distance = np.linalg.norm(corners.reshape(-1, 1, 2) - expected[None], axis=-1).min(axis=1)
    assert distance.max() < 0.05


def test_board_image_rejects_a_bad_scale() -> None:
    with pytest.raises(Pose3dError, match="px_per_unit"):
        board_image(Checkerboard(4, 4, 10.0), px_per_unit=0.0)
