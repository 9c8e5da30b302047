"""OpenCV objects for pose3d's board specs (the only place that builds them)."""

from __future__ import annotations

from typing import Any

from pose3d.board import CharucoBoard


def opencv_dictionary(name: str) -> Any:
    """The predefined ArUco dictionary ``name`` (e.g. "DICT_4X4_50")."""
    import cv2

    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


def opencv_charuco(board: CharucoBoard) -> Any:
    """``cv2.aruco.CharucoBoard`` of a spec: dictionary by name, legacy pattern as given."""
    import cv2

    cv_board = cv2.aruco.CharucoBoard(
        (board.squares_x, board.squares_y),
        board.square_length,
        board.marker_length,
        opencv_dictionary(board.dictionary),
    )
    cv_board.setLegacyPattern(board.legacy)
    return cv_board
