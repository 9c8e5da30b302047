"""One camera's frame with its labels, drawn through textual-image at the widget's size.

The widget keeps a :class:`~pose3d.tui.drawing.viewport.Viewport` (zoom, pan) for its content
area; the canvas is drawn for exactly that grid of cells (pose3d.tui.drawing.canvas), so a click
on cell (col, row) is image pixel ``viewport.cell_to_pixel(col, row)`` and is posted as
PixelClicked.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image as PILImage
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget

from pose3d.tui.drawing.canvas import Marker, marker_texts, write_texts
from pose3d.tui.drawing.palette import RGB8
from pose3d.tui.drawing.pictures import PictureCache, draw_picture, picture_key
from pose3d.tui.drawing.viewport import Viewport
from pose3d.tui.messages import PixelClicked, ViewChosen, ZoomAt
from pose3d.tui.widgets.graphics import CELL_ASPECT, IMAGE_WIDGET, PX_PER_CELL
from pose3d.tui.widgets.halfcell import HalfcellCanvas, truecolor


class FrameView(Widget):
    """A camera's image (or a grey field where it did not film) with label markers."""

    DEFAULT_CSS = """
    FrameView { border: round $panel-lighten-2; width: 1fr; height: 1fr; }
    FrameView.-selected { border: round $accent; }
    FrameView > .frame-image { width: 1fr; height: 1fr; }
    """

    def __init__(
        self,
        view: str,
        image_size: tuple[int, int],
        *,
        edges: Sequence[tuple[int, int]] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.view = view
        self.image_size = image_size
        self.frame: NDArray[np.uint8] | None = None
        self.markers: tuple[Marker, ...] = ()
        self.bones: NDArray[np.float64] | None = None  # (2, K, I) positions to join
        self.edges = tuple(edges)  # keypoint index pairs of the skeleton
        self.curves: list[tuple[NDArray[np.float64], RGB8]] = []  # epipolar curves (px, colour)
        self.zoom = 1.0
        self.center: tuple[float, float] | None = None
        self.pictures: PictureCache | None = None  # pictures drawn ahead (by the screen)
        self.border_title = view

    def compose(self) -> ComposeResult:
        yield IMAGE_WIDGET(classes="frame-image")

    @property
    def viewport(self) -> Viewport:
        """The viewport of the current content size (at least one cell)."""
        cells = (max(self.content_size.width, 1), max(self.content_size.height, 1))
        viewport = Viewport(self.image_size, cells, CELL_ASPECT, self.zoom, self.center)
        return viewport.clamped()

    def show(
        self,
        frame: NDArray[np.uint8] | None,
        markers: Sequence[Marker] = (),
        subtitle: str = "",
        bones: NDArray[np.float64] | None = None,
    ) -> None:
        self.frame, self.markers, self.bones = frame, tuple(markers), bones
        self.border_subtitle = subtitle
        self.redraw()

    def set_view(self, viewport: Viewport) -> None:
        """Take zoom and centre from ``viewport`` (e.g. zoomed / panned) and redraw."""
        clamped = viewport.clamped()
        self.zoom, self.center = clamped.zoom, clamped.center
        self.redraw()

    def picture_key(self, viewport: Viewport) -> Hashable:
        """The key of this view's picture in a PictureCache (pose3d.tui.drawing.pictures)."""
        return picture_key(
            self.frame, viewport, self.markers, self.bones, self.edges, self.curves, truecolor()
        )

    def redraw(self) -> None:
        if not self.is_mounted or self.content_size.area == 0:
            return
        viewport = self.viewport
        picture = None
        if self.pictures is not None:  # drawn ahead of time?
            picture = self.pictures.get(self.picture_key(viewport), self.frame)
        image = self.query_one(".frame-image")
        if picture is None:
            canvas = draw_picture(
                self.frame, viewport, PX_PER_CELL, self.markers, self.bones, self.edges, self.curves
            )
        else:
            canvas = picture.canvas
        texts = marker_texts(self.markers, viewport, PX_PER_CELL)
        if isinstance(image, HalfcellCanvas):
            image.show(canvas, None if picture is None else picture.strips, texts)
        else:  # a graphics terminal: its cells hold enough pixels to write the names in
            shown = write_texts(canvas.copy(), texts, PX_PER_CELL) if texts else canvas
            image.image = PILImage.fromarray(shown)  # type: ignore[attr-defined]

    def on_resize(self, event: events.Resize) -> None:
        self.redraw()

    WHEEL_ZOOM = 1.25

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, self.WHEEL_ZOOM)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, 1 / self.WHEEL_ZOOM)

    def _wheel(self, event: events.MouseEvent, factor: float) -> None:
        event.stop()
        region = self.content_region
        if self.frame is None:
            return
        x, y = self.viewport.cell_to_pixel(event.screen_x - region.x, event.screen_y - region.y)
        self.post_message(ZoomAt(self.view, factor, x, y))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        region = self.content_region
        col = event.screen_x - region.x
        row = event.screen_y - region.y
        viewport = self.viewport
        if self.frame is None or not viewport.contains_cell(col, row):
            self.post_message(ViewChosen(self.view))
            return
        x, y = viewport.cell_to_pixel(col, row)
        w, h = self.image_size
        if -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5:
            self.post_message(PixelClicked(self.view, x, y))
        else:
            self.post_message(ViewChosen(self.view))
