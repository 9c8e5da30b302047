"""The Label screen's keyboard cursor (a crosshair): where it starts and how far a key moves it
(pure).

A keypoint that is not placed on a frame can be placed without the mouse: the crosshair starts
at the best guess there is — the point itself where there is one, the other views' suggestion (a
calibration and the keypoint in two other views), else the keypoint's point on the previous
frame of this view (or the next one), else the middle of what the view shows — and the arrow
keys move it by one picture pixel (the image pixels one canvas pixel covers at this zoom; with
shift, ten), so every press shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from pose3d.label_cells import Cell

XY = tuple[float, float]


@dataclass(frozen=True)
class Crosshair:
    """The keyboard cursor on one cell (frame, view, keypoint, individual), at image px (x, y)."""

    cell: Cell
    x: float
    y: float

    def moved(self, dx: float, dy: float, size: tuple[int, int]) -> Crosshair:
        """Moved by (dx, dy) image px, kept inside the image of ``size`` (width, height)."""
        width, height = size
        x = min(max(self.x + dx, 0.0), width - 1.0)
        y = min(max(self.y + dy, 0.0), height - 1.0)
        return Crosshair(self.cell, x, y)


def start(
    cell: Cell,
    guess: XY | None,
    neighbours: tuple[XY | None, XY | None],
    middle: XY,
    size: tuple[int, int],
) -> Crosshair:
    """The crosshair on ``cell``: at ``guess`` (the point itself, or the other views'
    suggestion), else the point of the previous frame, else the next frame's (``neighbours``),
    else ``middle`` (the view's), inside the image of ``size`` (width, height)."""
    previous, following = neighbours
    x, y = guess or previous or following or middle
    return Crosshair(cell, x, y).moved(0.0, 0.0, size)


def step(scale: float, cell_aspect: float, px_per_cell: tuple[int, int]) -> XY:
    """One fine step (x, y) in image px: what one canvas pixel covers at the viewport's
    ``scale`` (image px per cell width) and ``cell_aspect`` (a cell's height / width)."""
    return scale / px_per_cell[0], scale * cell_aspect / px_per_cell[1]
