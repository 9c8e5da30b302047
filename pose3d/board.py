"""Calibration board specs: ChArUco and plain checkerboards (plain data, numpy only).

Sizes are given in *squares* (not inner corners) and lengths in the board's unit (mm by
default), which becomes the unit of the whole calibration. Board-frame convention: the board lies
in the plane z = 0, x along ``squares_x``, y along ``squares_y``, origin at the outer corner of
square (0, 0); corner ids run along x first, as in OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError

# The dictionaries OpenCV ships: name -> (marker bits, number of markers).
ARUCO_DICTIONARIES: dict[str, tuple[int, int]] = {
    f"DICT_{bits}X{bits}_{n}": (bits, n) for bits in (4, 5, 6, 7) for n in (50, 100, 250, 1000)
}
ARUCO_DICTIONARIES["DICT_ARUCO_ORIGINAL"] = (5, 1024)


class BoardError(Pose3dError):
    """A board spec is invalid."""


def _check_squares(squares_x: int, squares_y: int, kind: str) -> None:
    if squares_x < 3 or squares_y < 3:
        raise BoardError(
            f"a {kind} needs at least 3x3 squares, got {squares_x}x{squares_y}; give the number "
            "of squares, not inner corners"
        )


def _check_length(value: float, what: str) -> None:
    if not np.isfinite(value) or value <= 0:
        raise BoardError(f"{what} must be a positive number, got {value}")


@dataclass(frozen=True)
class Checkerboard:
    """A plain chessboard of ``squares_x`` x ``squares_y`` squares."""

    squares_x: int
    squares_y: int
    square_length: float
    unit: str = "mm"

    def __post_init__(self) -> None:
        _check_squares(self.squares_x, self.squares_y, "checkerboard")
        _check_length(self.square_length, "square_length")

    @property
    def inner_corners(self) -> tuple[int, int]:
        return (self.squares_x - 1, self.squares_y - 1)

    @property
    def n_corners(self) -> int:
        return (self.squares_x - 1) * (self.squares_y - 1)

    @property
    def symmetric(self) -> bool:
        """The board looks the same turned by 180 degrees (both square counts even, or both
        odd), so its corner order is ambiguous between cameras."""
        return (self.squares_x - self.squares_y) % 2 == 0

    @property
    def size(self) -> tuple[float, float]:
        """Outer size (width, height) in the board's unit."""
        return (self.squares_x * self.square_length, self.squares_y * self.square_length)

    def corner_points(self) -> NDArray[np.float64]:
        """Inner corners in the board frame [n_corners, 3], id order (x fastest)."""
        return _grid(self.squares_x - 1, self.squares_y - 1, self.square_length)


@dataclass(frozen=True)
class CharucoBoard:
    """A ChArUco board: a checkerboard whose white squares hold ArUco markers.

    ``legacy`` selects the pattern of OpenCV < 4.6, which boards printed before then (and boards
    with an even number of rows made by some tools) carry: the first square is white instead of
    black when ``squares_y`` is even.
    """

    squares_x: int
    squares_y: int
    square_length: float
    marker_length: float
    dictionary: str = "DICT_4X4_50"
    legacy: bool = False
    unit: str = "mm"

    def __post_init__(self) -> None:
        _check_squares(self.squares_x, self.squares_y, "ChArUco board")
        _check_length(self.square_length, "square_length")
        _check_length(self.marker_length, "marker_length")
        if self.marker_length >= self.square_length:
            raise BoardError(
                f"marker_length ({self.marker_length}) must be smaller than square_length "
                f"({self.square_length})"
            )
        if self.dictionary not in ARUCO_DICTIONARIES:
            raise BoardError(
                f"unknown ArUco dictionary {self.dictionary!r}; expected one of "
                f"{', '.join(ARUCO_DICTIONARIES)}"
            )
        if self.n_markers > ARUCO_DICTIONARIES[self.dictionary][1]:
            raise BoardError(
                f"a {self.squares_x}x{self.squares_y} ChArUco board needs {self.n_markers} "
                f"markers but {self.dictionary} has only {ARUCO_DICTIONARIES[self.dictionary][1]}"
            )

    @property
    def marker_bits(self) -> int:
        return ARUCO_DICTIONARIES[self.dictionary][0]

    @property
    def n_markers(self) -> int:
        return (self.squares_x * self.squares_y) // 2

    @property
    def inner_corners(self) -> tuple[int, int]:
        return (self.squares_x - 1, self.squares_y - 1)

    @property
    def n_corners(self) -> int:
        return (self.squares_x - 1) * (self.squares_y - 1)

    @property
    def size(self) -> tuple[float, float]:
        return (self.squares_x * self.square_length, self.squares_y * self.square_length)

    def corner_points(self) -> NDArray[np.float64]:
        """ChArUco corners in the board frame [n_corners, 3], indexed by corner id."""
        return _grid(self.squares_x - 1, self.squares_y - 1, self.square_length)


Board = Checkerboard | CharucoBoard


def _grid(nx: int, ny: int, step: float) -> NDArray[np.float64]:
    """Inner-corner grid (x fastest) starting one square in from the board's corner."""
    xs, ys = np.meshgrid(np.arange(1, nx + 1) * step, np.arange(1, ny + 1) * step)
    return np.stack([xs.ravel(), ys.ravel(), np.zeros(nx * ny)], axis=-1)


# A frame counts as a detection when it has at least this many corners (a homography needs 4;
# 6 keeps degenerate, nearly collinear sets out).
MIN_CORNERS = 6


@dataclass(frozen=True)
class BoardDetections:
    """Detected corners of every camera in the same media frames.

    ``corners`` [n_views, n_frames, n_corners, 2] px, NaN where a corner was not found;
    ``frames`` [n_frames] the media frame numbers; ``sizes`` the (width, height) per view.
    """

    views: tuple[str, ...]
    sizes: tuple[tuple[int, int], ...]
    frames: NDArray[np.int64]
    corners: NDArray[np.float64]
    board: Board

    def found(self, min_corners: int = MIN_CORNERS) -> NDArray[np.bool_]:
        """[n_views, n_frames]: the board was found with at least ``min_corners`` corners."""
        return np.isfinite(self.corners[..., 0]).sum(axis=-1) >= min_corners

    def camera(self, view: int) -> BoardDetections:
        """Camera ``view``'s detections alone (for its intrinsics on their own)."""
        return replace(
            self,
            views=(self.views[view],),
            sizes=(self.sizes[view],),
            corners=self.corners[view : view + 1],
        )

    def view(self, name: str) -> int:
        try:
            return self.views.index(name)
        except ValueError:
            raise Pose3dError(
                f"no detections for camera {name!r}; cameras: {', '.join(self.views)}"
            ) from None
