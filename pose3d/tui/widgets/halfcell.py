"""A fast half-cell image: each terminal cell shows two pixels, the upper one as the foreground
of ``▀`` and the lower one as its background — what textual-image's half-cell renderer draws,
built directly as Textual strips.

textual-image builds one Rich renderable per cell through Rich's console pipeline (about 60 µs
a cell: 0.2 s for one 80 x 36 view); here a frame's distinct colour pairs get one Style each,
runs of equal cells are merged, and a frame costs a few milliseconds per thousand cells.
Colours keep 6 bits per channel (``COLOR_MASK``; invisible on a terminal), so that successive
frames reuse most of their Styles from the cache: half the time again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.color import Color, ColorTriplet, ColorType
from rich.segment import Segment
from rich.style import Style
from textual.filter import ANSIToTruecolor, LineFilter
from textual.strip import Strip
from textual.widget import Widget

from pose3d.tui.drawing.canvas import CellText

_STYLE_CACHE: OrderedDict[int, Style] = OrderedDict()
_STYLE_CACHE_SIZE = 1 << 16
UPPER_HALF = "▀"
_TRUECOLOR_SGR = "38;2;{};{};{};48;2;{};{};{}"
TRUECOLOR_KEY = 1 << 48
COLOR_MASK = 0xFC  # the 6 high bits of each channel


_COLOR_CACHE: dict[int, Color] = {}


def _color(rgb: int) -> Color:
    color = _COLOR_CACHE.get(rgb)
    if color is None:
        r, g, b = rgb >> 16, (rgb >> 8) & 255, rgb & 255
        color = Color(f"#{rgb:06x}", ColorType.TRUECOLOR, None, ColorTriplet(r, g, b))
        _COLOR_CACHE[rgb] = color  # at most 2**18 masked colours
    return color


def _style(key: int) -> Style:
    """The style of ``key`` = upper << 24 | lower colour, plus TRUECOLOR_KEY for a truecolor
    terminal."""
    style = _STYLE_CACHE.get(key)
    if style is not None:
        _STYLE_CACHE.move_to_end(key)
        return style
    fg, bg = (key >> 24) & 0xFFFFFF, key & 0xFFFFFF
    style = Style.from_color(_color(fg), _color(bg))
    if key & TRUECOLOR_KEY:
        # the SGR codes Textual computes for a truecolor terminal and caches on the style as
        # ``_ansi`` (Strip.render_ansi), written at once; other colour systems compute theirs
        rgb = (fg >> 16, (fg >> 8) & 255, fg & 255, bg >> 16, (bg >> 8) & 255, bg & 255)
        style._ansi = _TRUECOLOR_SGR.format(*rgb)
    _STYLE_CACHE[key] = style
    if len(_STYLE_CACHE) > _STYLE_CACHE_SIZE:
        _STYLE_CACHE.popitem(last=False)
    return style


def halfcell_strips(
    rgb: NDArray[np.uint8],
    truecolor: bool = False,
    texts: Sequence[CellText] = (),
) -> list[Strip]:
    """One strip per pair of pixel rows of ``rgb`` (H, W, 3), colours masked with COLOR_MASK;
    an odd last row is doubled. ``truecolor``: the terminal takes 24-bit colour (the styles
    carry their escape codes). ``texts``: (row, column, text, colour) written over the cells
    there, on a black ground (keypoint names beside their markers), cut at the right edge."""
    if rgb.shape[0] % 2:
        rgb = np.concatenate([rgb, rgb[-1:]], axis=0)
    packed = (rgb & COLOR_MASK).astype(np.int64)
    colour = (packed[..., 0] << 16) | (packed[..., 1] << 8) | packed[..., 2]  # (H, W)
    keys = (colour[0::2] << 24) | colour[1::2]  # (rows, W): upper << 24 | lower
    unique, inverse = np.unique(keys, return_inverse=True)
    flag = TRUECOLOR_KEY if truecolor else 0
    styles = [_style(k | flag) for k in unique.tolist()]
    inverse = inverse.reshape(keys.shape)
    width = keys.shape[1]
    strips = []
    for row in inverse:
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        ends = np.r_[starts[1:], width]
        segments = [
            Segment(UPPER_HALF * int(e - b), styles[int(row[b])])
            for b, e in zip(starts.tolist(), ends.tolist(), strict=True)
        ]
        strips.append(Strip(segments, width))
    for row, col, text, color in texts:
        if not (0 <= row < len(strips) and 0 <= col < width):
            continue
        text = text[: width - col]
        line = strips[row]
        written = Strip([Segment(text, Style(color=Color.from_rgb(*color), bgcolor="black"))])
        parts = [line.crop(0, col), written, line.crop(col + len(text), width)]
        strips[row] = Strip.join(parts)
    return strips


def truecolor() -> bool:
    """Whether the running app's terminal takes 24-bit colour."""
    from textual._context import active_app

    app = active_app.get(None)
    return app is not None and app.console.color_system == "truecolor"


class HalfcellCanvas(Widget):
    """Shows an RGB image of exactly (2 x rows, columns) pixels for its content size (a PIL
    image or an array); other sizes are resampled (nearest) to fit."""

    DEFAULT_CSS = "HalfcellCanvas { width: 1fr; height: 1fr; }"

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._rgb: NDArray[np.uint8] | None = None
        self._strips: list[Strip] | None = None
        self._texts: tuple[CellText, ...] = ()

    def show(
        self,
        rgb: NDArray[np.uint8],
        strips: list[Strip] | None = None,
        texts: Sequence[CellText] = (),
    ) -> None:
        """Show ``rgb`` (H, W, 3) with ``texts`` written over it (halfcell_strips);
        ``strips``: those, drawn ahead of time (used when they fit the widget)."""
        self._rgb, self._strips, self._texts = rgb, strips, tuple(texts)
        self.refresh()

    @property
    def image(self) -> NDArray[np.uint8] | None:
        return self._rgb

    @image.setter
    def image(self, value: Any) -> None:
        self._rgb = (
            None
            if value is None
            else np.asarray(
                value.convert("RGB") if hasattr(value, "convert") else value, dtype=np.uint8
            )
        )
        self._strips = None
        self.refresh()

    def on_resize(self) -> None:
        self._strips = None

    def get_line_filters(self) -> Sequence[LineFilter]:
        """The app's filters but the ANSI-to-truecolor one: these strips hold truecolor only,
        and the filter costs microseconds per cell."""
        return [f for f in super().get_line_filters() if not isinstance(f, ANSIToTruecolor)]

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._rgb is None or width == 0 or height == 0:
            return Strip.blank(width)
        strips = self._strips
        if strips is None or len(strips) != height or strips[0].cell_length != width:
            fitted = self._fitted(width, height)
            texts = self._texts if fitted is self._rgb else ()  # resampled: not where drawn
            strips = self._strips = halfcell_strips(fitted, truecolor(), texts)
        return strips[y] if y < len(strips) else Strip.blank(width)

    def _fitted(self, width: int, height: int) -> NDArray[np.uint8]:
        assert self._rgb is not None
        rgb = self._rgb
        if rgb.shape[:2] == (2 * height, width):
            return rgb
        rows = np.minimum((np.arange(2 * height) * rgb.shape[0]) // (2 * height), rgb.shape[0] - 1)
        cols = np.minimum((np.arange(width) * rgb.shape[1]) // width, rgb.shape[1] - 1)
        return rgb[rows][:, cols]
