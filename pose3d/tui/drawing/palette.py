"""Colours of the TUI, taken from the 3D viewer's (pose3d.viewer.colors) so both agree."""

from __future__ import annotations

from pose3d.viewer.colors import BONE, MISSING, keypoint_colors

RGB8 = tuple[int, int, int]

FLAGGED: RGB8 = (255, 64, 64)
CURSOR: RGB8 = (255, 255, 255)
NOT_FILMED: RGB8 = (40, 40, 40)


def _to8(rgb: tuple[float, float, float]) -> RGB8:
    r, g, b = (round(255 * min(max(c, 0.0), 1.0)) for c in rgb)
    return r, g, b


def keypoint_rgb(n: int) -> list[RGB8]:
    """The viewer's keypoint colours as 0-255 RGB, one per keypoint, in keypoint order."""
    return [_to8(c) for c in keypoint_colors(n)]


def hex_color(rgb: RGB8) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


MISSING_RGB: RGB8 = _to8(MISSING)
BONE_RGB: RGB8 = _to8(BONE)

# Marker shapes of the individuals, in individual order (repeating after the last): the shape
# says whose point it is, the colour which keypoint (the 3D viewer's), filled a manual point,
# hollow a tracked or imported one. The glyphs show the same in the keypoint list's legend.
INDIVIDUAL_SHAPES = ("circle", "square", "diamond", "triangle", "triangle_down")
FILLED_GLYPHS = ("●", "■", "◆", "▲", "▼")
HOLLOW_GLYPHS = ("○", "□", "◇", "△", "▽")


def individual_shape(index: int) -> str:
    """The marker shape of the individual at ``index``."""
    return INDIVIDUAL_SHAPES[index % len(INDIVIDUAL_SHAPES)]


def individual_glyph(index: int, filled: bool = True) -> str:
    """The text glyph of that shape (filled: manual, hollow: a tool's point)."""
    glyphs = FILLED_GLYPHS if filled else HOLLOW_GLYPHS
    return glyphs[index % len(glyphs)]
