"""Draw what a viewport shows of a frame, with the labels on top, as an RGB image.

The canvas has ``px_per_cell = (px, py)`` canvas pixels per terminal cell ((1, 2) for
textual-image's half-cell blocks, the cell size in pixels for kitty / sixel graphics), so the
image widget shows it cell for cell. Canvas pixel (u, v) shows image pixel
``origin + (u + 0.5, v + 0.5) * step`` — the mapping pose3d.tui.drawing.viewport gives clicks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from pose3d.schema import PointSource
from pose3d.tui.drawing.palette import BONE_RGB, CURSOR, FLAGGED, NOT_FILMED, RGB8, individual_shape
from pose3d.tui.drawing.viewport import Viewport

Image = NDArray[np.uint8]  # (H, W, 3) RGB


@dataclass(frozen=True)
class Marker:
    """A label to draw: image position (px), colour (the keypoint's), the shape of its individual
    (pose3d.tui.drawing.palette.INDIVIDUAL_SHAPES), filled when manual, hollow when a tool's,
    hollow with a dot in its centre when reprojected from the other views."""

    x: float
    y: float
    color: RGB8
    manual: bool = True
    flagged: bool = False
    current: bool = False
    suggestion: bool = False  # a proposed position (hollow circle), not a label
    crosshair: bool = False  # the keyboard cursor of the Label screen (a white cross), not a label
    reprojected: bool = False  # placed by the other views (pose3d.tracking.repair)
    shape: str = "circle"
    size: float = 1.0  # times the default radius (MarkerStyle)
    name: str = ""  # written beside the marker (MarkerStyle.names)


SIZES = (0.5, 1.0, 1.5, 2.0)  # the marker sizes the screens cycle through


@dataclass(frozen=True)
class MarkerStyle:
    """How the screens draw labels: shown or not (to see the animal under them), the markers'
    size (one of SIZES), and whether each keypoint's name is written beside its marker."""

    shown: bool = True
    size: float = 1.0
    names: bool = False

    def toggled(self) -> MarkerStyle:
        return replace(self, shown=not self.shown)

    def with_names(self) -> MarkerStyle:
        return replace(self, names=not self.names)

    def next_size(self) -> MarkerStyle:
        later = [s for s in SIZES if s > self.size]
        return replace(self, size=later[0] if later else SIZES[0])


def canvas_size(viewport: Viewport, px_per_cell: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the canvas in pixels."""
    return viewport.cells[0] * px_per_cell[0], viewport.cells[1] * px_per_cell[1]


def image_to_canvas(
    viewport: Viewport, px_per_cell: tuple[int, int], x: float, y: float
) -> tuple[float, float]:
    """The canvas pixel (u, v) showing image pixel (x, y)."""
    x0, y0 = viewport.origin
    sx = viewport.scale / px_per_cell[0]
    sy = viewport.scale * viewport.cell_aspect / px_per_cell[1]
    return (x - x0) / sx - 0.5, (y - y0) / sy - 0.5


def draw_frame(
    frame: Image | None, viewport: Viewport, px_per_cell: tuple[int, int] = (1, 2)
) -> Image:
    """The part of ``frame`` (H, W, 3) the viewport shows, resampled to the canvas; outside the
    image is black, and a camera that did not film (None) is dark grey."""
    width, height = canvas_size(viewport, px_per_cell)
    if frame is None:
        return np.full((height, width, 3), NOT_FILMED, np.uint8)
    x0, y0 = viewport.origin
    sx = viewport.scale / px_per_cell[0]
    sy = viewport.scale * viewport.cell_aspect / px_per_cell[1]
    # canvas pixel (u, v) -> image pixel (x0 + (u + 0.5) sx, y0 + (v + 0.5) sy)
    matrix = np.array([[sx, 0.0, x0 + 0.5 * sx], [0.0, sy, y0 + 0.5 * sy]])
    flags = cv2.INTER_NEAREST if sx < 1 else cv2.INTER_LINEAR
    if sx > 1.5 and sy > 1.5:  # shrinking: average the pixels a canvas pixel covers
        frame, matrix = _shrunk(frame, matrix, sx, sy)
    return np.asarray(
        cv2.warpAffine(
            frame,
            matrix,
            (width, height),
            flags=flags | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        ),
        dtype=np.uint8,
    )


def _shrunk(
    frame: Image, matrix: NDArray[np.float64], sx: float, sy: float
) -> tuple[Image, NDArray[np.float64]]:
    """``frame`` shrunk by about (sx, sy) with area averaging (no aliasing of fine texture,
    and fewer distinct colours to draw), and the canvas -> shrunk-image ``matrix``."""
    h, w = frame.shape[:2]
    ws, hs = max(1, round(w / sx)), max(1, round(h / sy))
    small = cv2.resize(frame, (ws, hs), interpolation=cv2.INTER_AREA)
    fx, fy = ws / w, hs / h
    # image pixel x -> shrunk pixel (x + 0.5) fx - 0.5 (pixel centres at integers)
    shrink = np.array([[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, 0.5 * fy - 0.5], [0.0, 0.0, 1.0]])
    return np.asarray(small, dtype=np.uint8), (shrink @ np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]


def draw_markers(
    canvas: Image,
    viewport: Viewport,
    markers: Sequence[Marker],
    px_per_cell: tuple[int, int] = (1, 2),
) -> Image:
    """Draw ``markers`` on ``canvas`` (in place; also returned). The current one gets a ring,
    a flagged one a red square."""
    base = max(2, round(0.6 * px_per_cell[0]))
    for m in markers:
        radius = max(1, round(base * m.size))
        u, v = image_to_canvas(viewport, px_per_cell, m.x, m.y)
        if not (np.isfinite(u) and np.isfinite(v)) or max(abs(u), abs(v)) > 1e6:
            continue
        c = (round(u), round(v))
        if m.suggestion:
            cv2.circle(canvas, c, radius + 1, m.color, 1)
            cv2.circle(canvas, c, 0, CURSOR, -1)
            continue
        if m.crosshair:  # four white arms around a free centre, the keypoint's colour in it
            near, far = radius, radius + 5
            for sx, sy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                a = (c[0] + sx * near, c[1] + sy * near)
                cv2.line(canvas, a, (c[0] + sx * far, c[1] + sy * far), CURSOR, 1)
            cv2.circle(canvas, c, 0, m.color, -1)
            continue
        draw_shape(canvas, c, radius, m.shape, m.color, filled=m.manual)
        if m.reprojected and not m.manual:
            cv2.circle(canvas, c, 0, m.color, -1)
        if m.flagged:
            r = radius + 2
            cv2.rectangle(canvas, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), FLAGGED, 1)
        if m.current:
            cv2.circle(canvas, c, radius + 3, CURSOR, 1)
    return canvas


def draw_shape(
    canvas: Image, c: tuple[int, int], r: int, shape: str, color: RGB8, filled: bool
) -> Image:
    """A marker of ``shape`` (pose3d.tui.drawing.palette.INDIVIDUAL_SHAPES) of radius ``r`` canvas
    pixels centred on canvas pixel ``c``, filled or as an outline (in place)."""
    x, y = c
    if shape == "circle":  # drawn by hand: OpenCV's small circles are diamonds
        dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
        d2 = dx * dx + dy * dy
        disc = d2 <= r * r + r
        if not filled:
            disc &= d2 > (r - 1) * (r - 1) + (r - 1)
        rows, cols = y + dy[disc], x + dx[disc]
        inside = (rows >= 0) & (rows < canvas.shape[0]) & (cols >= 0) & (cols < canvas.shape[1])
        canvas[rows[inside], cols[inside]] = color
        return canvas
    corners = {
        "square": [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)],
        "diamond": [(x, y - r), (x + r, y), (x, y + r), (x - r, y)],
        "triangle": [(x, y - r), (x + r, y + r), (x - r, y + r)],
        "triangle_down": [(x - r, y - r), (x + r, y - r), (x, y + r)],
    }[shape]
    polygon = np.array(corners, np.int32)
    if filled:
        cv2.fillPoly(canvas, [polygon], color)
    else:
        cv2.polylines(canvas, [polygon], True, color, 1)
    return canvas


def draw_polyline(
    canvas: Image,
    viewport: Viewport,
    points: NDArray[np.float64],  # (M, 2) image px
    color: RGB8,
    px_per_cell: tuple[int, int] = (1, 2),
) -> Image:
    """Draw a polyline through image points (an epipolar curve) on ``canvas`` (in place)."""
    if len(points) < 2:
        return canvas
    x0, y0 = viewport.origin
    sx = viewport.scale / px_per_cell[0]
    sy = viewport.scale * viewport.cell_aspect / px_per_cell[1]
    uv = np.column_stack([(points[:, 0] - x0) / sx - 0.5, (points[:, 1] - y0) / sy - 0.5])
    uv = uv[np.isfinite(uv).all(axis=1) & (np.abs(uv) < 1e6).all(axis=1)]
    if len(uv) >= 2:
        cv2.polylines(canvas, [np.round(uv).astype(np.int32)], False, color, 1)
    return canvas


def draw_bones(
    canvas: Image,
    viewport: Viewport,
    position: NDArray[np.float64],  # (2, K, I) px
    edges: Sequence[tuple[int, int]],  # keypoint index pairs
    px_per_cell: tuple[int, int] = (1, 2),
    color: RGB8 = BONE_RGB,
) -> Image:
    """Draw the skeleton's edges between the points that exist (in place; also returned)."""
    for a, b in edges:
        for i in range(position.shape[2]):
            ends = position[:, [a, b], i]  # (2, 2): x, y of both ends
            if not np.all(np.isfinite(ends)):
                continue
            ua, va = image_to_canvas(viewport, px_per_cell, ends[0, 0], ends[1, 0])
            ub, vb = image_to_canvas(viewport, px_per_cell, ends[0, 1], ends[1, 1])
            if max(abs(ua), abs(va), abs(ub), abs(vb)) > 1e6:  # far outside: nothing to see
                continue
            cv2.line(canvas, (round(ua), round(va)), (round(ub), round(vb)), color, 1)
    return canvas


def label_markers(
    position: NDArray[np.float64],  # (2, K, I) px
    source: NDArray[np.integer],  # (K, I) PointSource
    review: NDArray[np.bool_],  # (K, I)
    colors: Sequence[RGB8],  # one per keypoint
    current: tuple[int, int] | None = None,  # (keypoint, individual) index of the cursor
    style: MarkerStyle | None = None,
    names: Sequence[str] = (),  # the keypoints' names, written when ``style.names``
) -> list[Marker]:
    """The markers of one view on one frame: every point that exists, in its keypoint colour
    and its individual's shape, at ``style``'s size (none when its labels are not shown)."""
    style = style or MarkerStyle()
    markers: list[Marker] = []
    if not style.shown:
        return markers
    n_keypoints, n_individuals = source.shape
    for k in range(n_keypoints):
        for i in range(n_individuals):
            x, y = position[0, k, i], position[1, k, i]
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            markers.append(
                Marker(
                    float(x),
                    float(y),
                    colors[k],
                    manual=int(source[k, i]) == PointSource.MANUAL,
                    reprojected=int(source[k, i]) == PointSource.REPROJECTED,
                    flagged=bool(review[k, i]),
                    current=current == (k, i),
                    shape=individual_shape(i),
                    size=style.size,
                    name=names[k] if style.names and k < len(names) else "",
                )
            )
    return markers


CellText = tuple[int, int, str, RGB8]  # (row, column) of a terminal cell, text, colour


def marker_texts(
    markers: Sequence[Marker], viewport: Viewport, px_per_cell: tuple[int, int]
) -> list[CellText]:
    """Where the names of ``markers`` go on a view of ``viewport``'s cells: one cell right of
    each named marker, on its row (those whose marker lies outside the view are left out). A
    name that would run into the next one on its row is cut short (to 3 characters at least; a
    name with no room for that is left out), so that names never overwrite each other."""
    placed: list[CellText] = []
    cols, rows = viewport.cells
    for m in markers:
        if not m.name:
            continue
        u, v = image_to_canvas(viewport, px_per_cell, m.x, m.y)
        if not (np.isfinite(u) and np.isfinite(v)):
            continue
        col, row = round(u) // px_per_cell[0] + 2, round(v) // px_per_cell[1]
        if 0 <= row < rows and 0 <= col < cols:
            placed.append((row, col, m.name, m.color))
    texts: list[CellText] = []
    placed.sort(key=lambda text: (text[0], text[1]))
    for n, (row, col, name, color) in enumerate(placed):
        following = placed[n + 1] if n + 1 < len(placed) else None
        room = following[1] - col - 1 if following and following[0] == row else len(name)
        if texts and texts[-1][0] == row and col <= texts[-1][1] + len(texts[-1][2]):
            continue  # on the one before it
        if room >= min(3, len(name)):
            texts.append((row, col, name[:room], color))
    return texts


def write_texts(canvas: Image, texts: Sequence[CellText], px_per_cell: tuple[int, int]) -> Image:
    """Write ``texts`` on a canvas of ``px_per_cell`` pixels per cell (graphics terminals,
    whose cells hold many pixels; half-cell pictures write them as characters instead)."""
    scale = max(0.3, px_per_cell[1] / 30)
    for row, col, text, color in texts:
        origin = (col * px_per_cell[0], (row + 1) * px_per_cell[1] - px_per_cell[1] // 4)
        cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)
    return canvas
