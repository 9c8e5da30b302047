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


# The smallest marker side (px) per marker cell (its bits plus a one-bit border on each side)
# that the detector is asked to consider: below ~1.5 px per cell a marker cannot be decoded.
MIN_PX_PER_CELL = 1.5


def charuco_detector_parameters(board: CharucoBoard, image_size: tuple[int, int] | None) -> Any:
    """``cv2.aruco.DetectorParameters`` for ``board`` in images of ``image_size`` (width,
    height); None gives the size-independent settings.

    OpenCV states the smallest marker it considers as a fraction of the image's larger side
    (``minMarkerPerimeterRate``, 0.03: 14 px markers at 1920 px). Here it is the smaller of that
    and a marker of ``MIN_PX_PER_CELL`` px per cell (9 px for 4x4 markers), so small markers in
    large images are found and small images keep OpenCV's setting. The other size-dependent
    settings are relative to the marker already (corner refinement window, polygon accuracy,
    corner distances).
    """
    import cv2

    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    if image_size is not None:
        cells = board.marker_bits + 2 * params.markerBorderBits
        min_perimeter = 4.0 * MIN_PX_PER_CELL * cells
        rate = min_perimeter / max(image_size)
        params.minMarkerPerimeterRate = min(params.minMarkerPerimeterRate, rate)
    return params


def opencv_charuco_detector(board: CharucoBoard, image_size: tuple[int, int] | None) -> Any:
    """``cv2.aruco.CharucoDetector`` for ``board`` in images of ``image_size`` (width, height;
    see ``charuco_detector_parameters``), markers refined against the board's layout."""
    import cv2

    charuco_params = cv2.aruco.CharucoParameters()
    charuco_params.tryRefineMarkers = True
    return cv2.aruco.CharucoDetector(
        opencv_charuco(board), charuco_params, charuco_detector_parameters(board, image_size)
    )
