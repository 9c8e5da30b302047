"""Which part of an image a grid of terminal cells shows, and cell <-> image pixel mapping.

Image pixels follow labels.nc's convention: the centre of the top-left pixel is (0, 0), so an
image of width w spans x in [-0.5, w - 0.5]. A terminal cell is ``cell_aspect`` times taller than
wide on screen (2 on most terminals; textual-image's half-cell blocks draw two square-ish pixels
per cell). At zoom 1 the whole image fits the cells, centred, with square pixels; zoom z shows
1/z of that, around ``center`` (image pixels).

Every click goes through :meth:`Viewport.cell_to_pixel`; the canvas drawn for the cells
(pose3d.tui.drawing.canvas) uses the same :attr:`Viewport.origin` and :attr:`Viewport.scale`, so a
click on a cell lands on the image pixel that cell shows at every zoom level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pose3d.errors import Pose3dError

MIN_ZOOM, MAX_ZOOM = 1.0, 64.0


@dataclass(frozen=True)
class Viewport:
    image_size: tuple[int, int]  # (width, height) px
    cells: tuple[int, int]  # (columns, rows)
    cell_aspect: float = 2.0  # a cell's height / its width on screen
    zoom: float = 1.0
    center: tuple[float, float] | None = None  # image px shown at the middle; None: image centre

    def __post_init__(self) -> None:
        w, h = self.image_size
        cols, rows = self.cells
        if w < 1 or h < 1 or cols < 1 or rows < 1 or not self.cell_aspect > 0:
            raise Pose3dError(
                f"a viewport needs an image and a cell grid of at least 1x1 and a positive cell "
                f"aspect, got image {w}x{h}, cells {cols}x{rows}, aspect {self.cell_aspect}"
            )
        object.__setattr__(self, "zoom", min(max(float(self.zoom), MIN_ZOOM), MAX_ZOOM))
        if self.center is None:
            object.__setattr__(self, "center", ((w - 1) / 2, (h - 1) / 2))

    @property
    def middle(self) -> tuple[float, float]:
        assert self.center is not None
        return self.center

    @property
    def scale(self) -> float:
        """Image pixels per cell width (a cell is ``scale * cell_aspect`` image pixels tall)."""
        w, h = self.image_size
        cols, rows = self.cells
        return max(w / cols, h / (rows * self.cell_aspect)) / self.zoom

    @property
    def origin(self) -> tuple[float, float]:
        """The image position (px) of the top-left corner of the top-left cell."""
        cols, rows = self.cells
        cx, cy = self.middle
        return cx - cols * self.scale / 2, cy - rows * self.scale * self.cell_aspect / 2

    def cell_to_pixel(self, col: float, row: float) -> tuple[float, float]:
        """The image pixel (x, y) at the centre of cell (col, row)."""
        x0, y0 = self.origin
        return x0 + (col + 0.5) * self.scale, y0 + (row + 0.5) * self.scale * self.cell_aspect

    def pixel_to_cell(self, x: float, y: float) -> tuple[float, float]:
        """The (fractional) cell whose centre shows image pixel (x, y); inverse of cell_to_pixel."""
        x0, y0 = self.origin
        return (x - x0) / self.scale - 0.5, (y - y0) / (self.scale * self.cell_aspect) - 0.5

    def contains_cell(self, col: float, row: float) -> bool:
        cols, rows = self.cells
        return 0 <= col < cols and 0 <= row < rows

    def zoomed(self, factor: float, around: tuple[float, float] | None = None) -> Viewport:
        """Zoom by ``factor`` keeping image pixel ``around`` (default: the centre) in place."""
        zoom = min(max(self.zoom * factor, MIN_ZOOM), MAX_ZOOM)
        cx, cy = self.middle
        ax, ay = around if around is not None else (cx, cy)
        keep = self.zoom / zoom
        return replace(self, zoom=zoom, center=(ax + (cx - ax) * keep, ay + (cy - ay) * keep))

    def panned(self, cols: float, rows: float) -> Viewport:
        """Move the view by ``cols`` / ``rows`` cells (positive: right / down)."""
        cx, cy = self.middle
        step = self.scale
        return replace(self, center=(cx + cols * step, cy + rows * step * self.cell_aspect))

    def fitted(self) -> Viewport:
        """Zoom 1, centred."""
        return replace(self, zoom=1.0, center=None)

    def resized(self, cells: tuple[int, int]) -> Viewport:
        return replace(self, cells=cells)

    def clamped(self) -> Viewport:
        """Keep the image in view: centred along an axis it does not fill, otherwise no empty
        margin beyond its edge."""
        w, h = self.image_size
        cols, rows = self.cells
        spans = (cols * self.scale, rows * self.scale * self.cell_aspect)
        center = []
        for c, size, span in zip(self.middle, (w, h), spans, strict=True):
            if span >= size:
                center.append((size - 1) / 2)
            else:
                center.append(min(max(c, span / 2 - 0.5), size - 0.5 - span / 2))
        return replace(self, center=(center[0], center[1]))
