"""Flat images of calibration boards: what `board_print` prints, and the board texture that the
synthetic renderer imports from here (calibration never imports the test-data generator).

A ChArUco image comes from OpenCV itself (``cv2.aruco.CharucoBoard.generateImage`` with the
board's legacy flag), so its markers are exactly what OpenCV's detector expects; a checkerboard is
drawn here. Square (0, 0) of a checkerboard is black.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pose3d.board import Board, CharucoBoard, Checkerboard
from pose3d.calibration.opencv_board import opencv_charuco
from pose3d.errors import Pose3dError


@dataclass(frozen=True)
class BoardImage:
    """A board drawn at ``px_per_unit`` with a white margin of ``margin_px`` on every side.

    ``image`` is uint8 grey [H, W]; a board point (x, y) in board units (x along squares_x,
    y along squares_y, origin at the outer corner of square (0, 0)) lies at pixel
    ``(margin_px + x * px_per_unit - 0.5, margin_px + y * px_per_unit - 0.5)``, where the centre
    of the top-left pixel is (0, 0).
    """

    board: Board
    image: NDArray[np.uint8]
    px_per_unit: float
    margin_px: int

    @property
    def margin(self) -> float:
        """The white margin in board units."""
        return self.margin_px / self.px_per_unit

    def to_pixels(self, points: ArrayLike) -> NDArray[np.float64]:
        """Board points [..., 2 or 3] (z ignored) to image pixels [..., 2]."""
        xy = np.asarray(points, dtype=np.float64)[..., :2]
        return self.margin_px + xy * self.px_per_unit - 0.5


def board_image(board: Board, px_per_unit: float = 10.0, margin: float | None = None) -> BoardImage:
    """Draw ``board`` with about ``px_per_unit`` pixels per board unit and a white ``margin``
    (board units; half a square when None).

    The scale is rounded so that a square is a whole number of pixels (the exact scale is
    ``BoardImage.px_per_unit``), which keeps every square edge on a pixel edge.
    """
    if not np.isfinite(px_per_unit) or px_per_unit <= 0:
        raise Pose3dError(f"px_per_unit must be a positive number, got {px_per_unit}")
    margin = board.square_length / 2.0 if margin is None else float(margin)
    if not np.isfinite(margin) or margin < 0:
        raise Pose3dError(f"the board margin must be >= 0 board units, got {margin}")
    square_px = max(2, round(board.square_length * px_per_unit))
    scale = square_px / board.square_length
    margin_px = round(margin * scale)
    width = board.squares_x * square_px + 2 * margin_px
    height = board.squares_y * square_px + 2 * margin_px
    if max(width, height) > 32000:
        raise Pose3dError(
            f"a {width}x{height} px board image is too large; lower px_per_unit ({px_per_unit})"
        )
    if isinstance(board, CharucoBoard):
        image = _charuco_image(board, (width, height), margin_px)
    else:
        image = _checkerboard_image(board, square_px, margin_px)
    return BoardImage(board, image, scale, margin_px)


def _charuco_image(board: CharucoBoard, size: tuple[int, int], margin_px: int) -> NDArray[np.uint8]:
    image = opencv_charuco(board).generateImage(size, marginSize=margin_px, borderBits=1)
    return np.ascontiguousarray(image, dtype=np.uint8)


def _checkerboard_image(board: Checkerboard, square_px: int, margin_px: int) -> NDArray[np.uint8]:
    cells = (np.add.outer(np.arange(board.squares_y), np.arange(board.squares_x)) % 2).astype(
        np.uint8
    )
    squares = np.kron(cells * 255, np.ones((square_px, square_px), dtype=np.uint8))
    return np.pad(squares, margin_px, constant_values=255)
