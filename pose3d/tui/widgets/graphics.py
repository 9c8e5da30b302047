"""Which textual-image widget draws frames, and how many canvas pixels a terminal cell holds.

textual-image picks kitty (TGP) or sixel graphics when the terminal answers its queries, and
colored half-cell blocks otherwise (e.g. inside tmux). Half-cell blocks are drawn by
pose3d.tui.widgets.halfcell (the same picture as textual-image's half-cell renderer, tens of
times faster). Off a terminal (tests) textual-image would fall back to coarse unicode shapes;
we use half-cell blocks there too, so tests see what tmux users see.
``POSE3D_TUI_GRAPHICS=halfcell|sixel|tgp`` forces one (``textual-halfcell``: textual-image's own
half-cell renderer). The terminal is queried when this module is imported, so import it before
the app starts (pose3d.tui.app does).
"""

from __future__ import annotations

import os

from textual.widget import Widget
from textual_image._terminal import get_cell_size
from textual_image.renderable import Image as AutoRenderable
from textual_image.renderable.halfcell import Image as HalfcellRenderable
from textual_image.renderable.unicode import Image as UnicodeRenderable
from textual_image.widget import HalfcellImage, SixelImage, TGPImage
from textual_image.widget import Image as AutoImage

from pose3d.tui.widgets.halfcell import HalfcellCanvas

_FORCED: dict[str, type[Widget]] = {
    "halfcell": HalfcellCanvas,
    "textual-halfcell": HalfcellImage,
    "sixel": SixelImage,
    "tgp": TGPImage,
}


def image_widget_class() -> type[Widget]:
    """The textual-image widget class frames are drawn with."""
    forced = os.environ.get("POSE3D_TUI_GRAPHICS", "").strip().lower()
    if forced in _FORCED:
        return _FORCED[forced]
    if AutoRenderable is UnicodeRenderable or AutoRenderable is HalfcellRenderable:
        return HalfcellCanvas
    return AutoImage


def is_halfcell(widget_class: type[Widget]) -> bool:
    return widget_class in (HalfcellCanvas, HalfcellImage) or (
        widget_class is AutoImage and AutoRenderable is HalfcellRenderable
    )


def pixels_per_cell(widget_class: type[Widget]) -> tuple[int, int]:
    """Canvas pixels per cell: (1, 2) for half-cell blocks, the cell's pixel size for graphics."""
    if is_halfcell(widget_class):
        return 1, 2
    size = get_cell_size()
    return (size.width, size.height) if size.width > 0 and size.height > 0 else (10, 20)


def cell_aspect() -> float:
    """A cell's height over its width on screen (2 when the terminal does not say)."""
    size = get_cell_size()
    return size.height / size.width if size.width > 0 and size.height > 0 else 2.0


IMAGE_WIDGET = image_widget_class()
PX_PER_CELL = pixels_per_cell(IMAGE_WIDGET)
CELL_ASPECT = cell_aspect()
