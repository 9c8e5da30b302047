"""Checkerboard corners in one grey image: two OpenCV detectors, one sub-pixel refinement, one
ordering.

``findChessboardCornersSB`` (Duda and Frese's detector) runs first; where it finds nothing, the
classic ``findChessboardCorners`` (adaptive threshold, normalised image) does: on blurred or
unevenly lit images, and on real footage of small boards in large images, either one finds boards
the other misses. Whichever finds the board, its corners are refined by ``cornerSubPix`` with a
half-window of a third of the smallest corner spacing (2 to 10 px), so the window never reaches
the next corner, checked for a corner off the grid (``regular``; such a result is refused and
the next detector tried) and put in the board's id order (``oriented``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from pose3d.board import Checkerboard

CheckerboardMethod = Literal["sb", "classic"]
METHODS: tuple[CheckerboardMethod, ...] = ("sb", "classic")  # tried in this order

# A corner is off the grid when the second difference of three neighbours along a row or column
# exceeds this fraction of their spacing (perspective and lens distortion stay well below).
MAX_BEND = 0.3
# cornerSubPix half-window: this fraction of the smallest corner spacing, within these bounds (px)
WINDOW_FRACTION = 1.0 / 3.0
WINDOW_BOUNDS = (2, 10)

Grid = NDArray[np.float64]  # corners [rows, cols, 2] px, rows along squares_y


def find_checkerboard(
    gray: NDArray[np.uint8],
    board: Checkerboard,
    methods: Sequence[CheckerboardMethod] = METHODS,
) -> NDArray[np.float64] | None:
    """The board's inner corners [n_corners, 2] px in id order (x fastest), or None when none
    of ``methods`` finds the whole board in ``gray`` [H, W] uint8."""
    for method in methods:
        grid = _FINDERS[method](gray, board.inner_corners)
        if grid is None:
            continue
        grid = refine(gray, grid)
        if regular(grid):
            return oriented(grid, gray).reshape(-1, 2)
    return None


def _find_sb(gray: NDArray[np.uint8], pattern: tuple[int, int]) -> Grid | None:
    import cv2

    found, corners = cv2.findChessboardCornersSB(gray, pattern, flags=cv2.CALIB_CB_NORMALIZE_IMAGE)
    return _grid(corners, pattern) if found else None


def _find_classic(gray: NDArray[np.uint8], pattern: tuple[int, int]) -> Grid | None:
    import cv2

    # no CALIB_CB_FAST_CHECK: it would make a board-less 1088x1920 frame cost 0.03 s instead of
    # 0.8 s, but it drops boards the full search finds (benchmarks/calibration.py --detection:
    # 26 -> 25 of 35 on the rendered set, 14 -> 12 for classic alone on the steep set)
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH + cv2.CALIB_CB_NORMALIZE_IMAGE
    found, corners = cv2.findChessboardCorners(gray, pattern, flags=flags)
    return _grid(corners, pattern) if found else None


_FINDERS: dict[CheckerboardMethod, Callable[[NDArray[np.uint8], tuple[int, int]], Grid | None]] = {
    "sb": _find_sb,
    "classic": _find_classic,
}


def _grid(corners: NDArray[Any], pattern: tuple[int, int]) -> Grid:
    """OpenCV's corners [cols * rows, 1, 2] -> [rows, cols, 2] (``pattern`` = (cols, rows))."""
    return np.asarray(corners, np.float64).reshape(pattern[1], pattern[0], 2)


def subpix_window(grid: Grid) -> int:
    """The cornerSubPix half-window (px) for a grid: a third of the smallest spacing between
    neighbouring corners, so the window stays inside the corner's own four squares."""
    along = np.linalg.norm(np.diff(grid, axis=1), axis=-1)
    across = np.linalg.norm(np.diff(grid, axis=0), axis=-1)
    smallest = float(min(along.min(), across.min()))
    low, high = WINDOW_BOUNDS
    return int(np.clip(np.floor(WINDOW_FRACTION * smallest), low, high))


def refine(gray: NDArray[np.uint8], grid: Grid) -> Grid:
    """``grid`` [rows, cols, 2] refined to sub-pixel accuracy by cornerSubPix."""
    import cv2

    half = subpix_window(grid)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 40, 1e-3)
    points = grid.reshape(-1, 1, 2).astype(np.float32)
    refined = cv2.cornerSubPix(gray, points, (half, half), (-1, -1), criteria)
    return np.asarray(refined, np.float64).reshape(grid.shape)


def regular(grid: Grid, max_bend: float = MAX_BEND) -> bool:
    """Whether every corner of ``grid`` [rows, cols, 2] lies on a smooth grid: for each three
    neighbours a, b, c along a row or a column, |a - 2b + c| <= ``max_bend`` x their mean
    spacing. The classic detector on blurred images sometimes places an outer corner a square
    off; such a grid is refused rather than passed on."""
    for lines in (grid, grid.transpose(1, 0, 2)):  # rows, then columns
        if lines.shape[1] < 3:
            continue
        bend = np.linalg.norm(lines[:, :-2] - 2 * lines[:, 1:-1] + lines[:, 2:], axis=-1)
        steps = np.linalg.norm(np.diff(lines, axis=1), axis=-1)
        spacing = 0.5 * (steps[:, :-1] + steps[:, 1:])
        if np.any(bend > max_bend * spacing):
            return False
    return True


def oriented(grid: Grid, gray: NDArray[np.uint8]) -> Grid:
    """Checkerboard corners [rows, cols, 2] in the board's id order: x along a row, y down the
    rows as printed (the printed face is seen from the board's -z side, so the grid turns the
    same way as the image axes), and square (0, 0) black.

    A detector may return the grid mirrored (its rows reversed) or turned by 180 degrees. The
    mirror shows in the grid's turning sense and is undone first; then the colours of the two
    outer corner squares tell the turn when they differ, i.e. for boards with one odd and one
    even number of squares (for the others the grid is returned as found).
    """
    if _turning(grid) < 0:
        grid = grid[:, ::-1]
    first = grid[0, 0] - 0.5 * (grid[0, 1] - grid[0, 0]) - 0.5 * (grid[1, 0] - grid[0, 0])
    last = grid[-1, -1] + 0.5 * (grid[-1, -1] - grid[-1, -2]) + 0.5 * (grid[-1, -1] - grid[-2, -1])
    height, width = gray.shape[:2]

    def shade(point: NDArray[np.float64]) -> float:
        x = int(np.clip(round(point[0]), 0, width - 1))
        y = int(np.clip(round(point[1]), 0, height - 1))
        return float(gray[y, x])

    if shade(first) > shade(last):
        return grid[::-1, ::-1]
    return grid


def _turning(grid: Grid) -> float:
    """Twice the signed area of the grid's outline (x right, y down): > 0 when going along a
    row and then down the columns turns like the image's x and y axes."""
    outline = np.concatenate([grid[0, :], grid[1:, -1], grid[-1, -2::-1], grid[-2:0:-1, 0]])
    x, y = outline[:, 0], outline[:, 1]
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
