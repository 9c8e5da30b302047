"""What OpenCV finds in a few grey images under alternative board specs and image transforms.

The measurements behind `pose3d.calibration.diagnose`: ArUco markers of a dictionary (optionally
with OpenCV's minimum marker size lowered), ChArUco corners of a spec, the markers' side in
pixels, and the largest chessboard grid in an image (which reveals a checkerboard's size).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from pose3d.board import ARUCO_DICTIONARIES, MIN_CORNERS, Board, CharucoBoard

Gray = NDArray[np.uint8]  # [H, W]

UPSCALE = 2.0
# OpenCV's default minMarkerPerimeterRate is 0.03 of the longer image side; small markers are
# looked for with this one instead.
SMALL_PERIMETER_RATE = 0.01
DEFAULT_PERIMETER_RATE = 0.03


def mirror(images: list[Gray]) -> list[Gray]:
    """Images flipped left-right."""
    return [np.ascontiguousarray(im[:, ::-1]) for im in images]


def upscale(images: list[Gray]) -> list[Gray]:
    """Images enlarged UPSCALE times (bicubic)."""
    import cv2

    return [
        np.asarray(
            cv2.resize(im, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC),
            dtype=np.uint8,
        )
        for im in images
    ]


def family(name: str) -> str:
    """ "DICT_4X4_50" -> "DICT_4X4"; DICT_ARUCO_ORIGINAL is a family of its own."""
    return name if name == "DICT_ARUCO_ORIGINAL" else name.rsplit("_", 1)[0]


def fit_dictionary(name: str, n_markers: int) -> str | None:
    """``name`` if it has ``n_markers`` markers, else the smallest dictionary of its family that
    has (OpenCV's dictionaries of one family share their first markers), else None."""
    if ARUCO_DICTIONARIES[name][1] >= n_markers:
        return name
    sizes = sorted(n for key, (_, n) in ARUCO_DICTIONARIES.items() if family(key) == family(name))
    fits = [n for n in sizes if n >= n_markers]
    return f"{family(name)}_{fits[0]}" if fits else None


def other_dictionaries(board: CharucoBoard) -> list[str]:
    """The smallest dictionary of every family but the board's that holds its markers."""
    names = [fit_dictionary(f"DICT_{bits}X{bits}_50", board.n_markers) for bits in (4, 5, 6, 7)] + [
        "DICT_ARUCO_ORIGINAL"
    ]
    return [
        name
        for name in names
        if name is not None
        and family(name) != family(board.dictionary)
        and ARUCO_DICTIONARIES[name][1] >= board.n_markers
    ]


def detect_markers(
    images: list[Gray], dictionary: str, perimeter_rate: float = DEFAULT_PERIMETER_RATE
) -> list[tuple[NDArray[np.float64], NDArray[np.int64]]]:
    """Per image: the markers' corners [n, 4, 2] px and ids [n]."""
    detector = _aruco_detector(dictionary, perimeter_rate)
    found = []
    for image in images:
        corners, ids, _ = detector.detectMarkers(image)
        if ids is None:
            found.append((np.zeros((0, 4, 2)), np.zeros(0, np.int64)))
        else:
            found.append((np.asarray(corners).reshape(-1, 4, 2), ids.reshape(-1).astype(np.int64)))
    return found


def _aruco_detector(dictionary: str, perimeter_rate: float) -> Any:
    import cv2

    from pose3d.calibration.opencv_board import opencv_dictionary

    params = cv2.aruco.DetectorParameters()
    params.minMarkerPerimeterRate = perimeter_rate
    return cv2.aruco.ArucoDetector(opencv_dictionary(dictionary), params)


def count_markers(
    images: list[Gray],
    dictionary: str,
    n_markers: int,
    perimeter_rate: float = DEFAULT_PERIMETER_RATE,
) -> int:
    """Markers with an id of the board (< ``n_markers``) in all images together."""
    found = detect_markers(images, dictionary, perimeter_rate)
    return sum(int((ids < n_markers).sum()) for _, ids in found)


def frames_with_markers(board: CharucoBoard, images: list[Gray], least: int = 2) -> int:
    """Images with at least ``least`` of the board's markers."""
    found = detect_markers(images, board.dictionary)
    return sum(int((ids < board.n_markers).sum()) >= least for _, ids in found)


def max_marker_id(images: list[Gray], dictionary: str) -> int | None:
    """The largest marker id of ``dictionary`` seen, None when no marker is seen."""
    ids = [int(i) for _, frame_ids in detect_markers(images, dictionary) for i in frame_ids]
    return max(ids) if ids else None


def marker_side(
    board: CharucoBoard, images: list[Gray], perimeter_rate: float = DEFAULT_PERIMETER_RATE
) -> float | None:
    """Median side (px of ``images``) of the board's markers, None when none is seen."""
    sides: list[float] = []
    for corners, ids in detect_markers(images, board.dictionary, perimeter_rate):
        mine = corners[ids < board.n_markers]  # [n, 4, 2]
        sides.extend(np.linalg.norm(mine - np.roll(mine, 1, axis=1), axis=-1).mean(axis=1))
    return float(np.median(sides)) if sides else None


def corners_per_image(board: Board, images: list[Gray]) -> list[int]:
    """Per image: the board's corners found by pose3d's detector (make_detector)."""
    from pose3d.calibration.detect import make_detector

    detector = make_detector(board)
    counts = []
    for image in images:
        ids = detector(image).ids
        counts.append(len(np.unique(ids[(ids >= 0) & (ids < board.n_corners)])))
    return counts


def frames_found(board: Board, images: list[Gray]) -> int:
    """Images in which the board is found with at least MIN_CORNERS corners."""
    return sum(n >= MIN_CORNERS for n in corners_per_image(board, images))


def largest_grid(image: Gray, min_inner: int = 3) -> tuple[int, int, float] | None:
    """The largest chessboard grid of at least ``min_inner`` x ``min_inner`` inner corners that
    OpenCV finds in ``image``: (inner corners along its long side, along its short side, median
    square side px), or None. (Small grids turn up in textured backgrounds: keep min_inner
    close to the expected size.)"""
    import cv2

    flags = cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_LARGER
    pattern = (max(3, min_inner), max(3, min_inner))
    ok, corners, meta = cv2.findChessboardCornersSBWithMeta(image, pattern, flags)
    if not ok:
        return None
    rows, cols = meta.shape[:2]
    grid = np.asarray(corners, dtype=np.float64).reshape(rows, cols, 2)
    steps = np.concatenate(
        [
            np.linalg.norm(np.diff(grid, axis=0), axis=-1).ravel(),
            np.linalg.norm(np.diff(grid, axis=1), axis=-1).ravel(),
        ]
    )
    return max(rows, cols), min(rows, cols), float(np.median(steps))
