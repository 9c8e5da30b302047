"""Pictures of a view drawn ahead of time: the canvas (pose3d.tui.drawing.canvas) of a frame with
its labels and, for half-cell blocks, its strips, keyed by everything that decides them.

The Views screen draws the frames next to the current one in a background thread while the
user looks at this one, so that a step finds its four pictures ready and only Textual's own
work is left on the UI thread. A picture is used only when every input is the same as at
drawing time (the frame array itself, the viewport, the markers, bones and curves): a label
edited meanwhile, a resize or a zoom simply miss the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pose3d.tui.drawing.canvas import Marker, draw_bones, draw_frame, draw_markers, draw_polyline
from pose3d.tui.drawing.palette import RGB8
from pose3d.tui.drawing.viewport import Viewport

Curves = Sequence[tuple[NDArray[np.float64], RGB8]]


@dataclass(frozen=True)
class Picture:
    frame: NDArray[np.uint8] | None  # the decoded frame it was drawn from (compared by identity)
    canvas: NDArray[np.uint8]  # (rows, cols, 3) RGB
    strips: list[Any] | None  # textual Strips of the canvas (half-cell blocks), or None


def draw_picture(
    frame: NDArray[np.uint8] | None,
    viewport: Viewport,
    px_per_cell: tuple[int, int],
    markers: Sequence[Marker] = (),
    bones: NDArray[np.float64] | None = None,
    edges: Sequence[tuple[int, int]] = (),
    curves: Curves = (),
) -> NDArray[np.uint8]:
    """The canvas of a view: the frame as the viewport shows it, the skeleton's edges, the
    epipolar curves and the markers on top."""
    canvas = draw_frame(frame, viewport, px_per_cell)
    if bones is not None and edges:
        draw_bones(canvas, viewport, bones, edges, px_per_cell)
    for curve, color in curves:
        draw_polyline(canvas, viewport, curve, color, px_per_cell)
    draw_markers(canvas, viewport, markers, px_per_cell)
    return canvas


def picture_key(
    frame: NDArray[np.uint8] | None,
    viewport: Viewport,
    markers: Sequence[Marker] = (),
    bones: NDArray[np.float64] | None = None,
    edges: Sequence[tuple[int, int]] = (),
    curves: Curves = (),
    truecolor: bool = False,
) -> Hashable:
    """Everything the picture depends on, hashable (the frame by identity)."""
    return (
        None if frame is None else id(frame),
        viewport,
        tuple(markers),
        None if bones is None else bones.tobytes(),
        tuple(edges),
        tuple((c.tobytes(), color) for c, color in curves),
        truecolor,
    )


class PictureCache:
    """A small thread-safe least-recently-used cache of pictures."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Picture] = OrderedDict()
        self.hits = self.misses = 0  # for tests and benchmarks

    def get(self, key: Hashable, frame: NDArray[np.uint8] | None) -> Picture | None:
        with self._lock:
            picture = self._items.get(key)
            if picture is None or picture.frame is not frame:  # an id reused by a new array
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return picture

    def put(self, key: Hashable, picture: Picture) -> None:
        with self._lock:
            self._items[key] = picture
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
