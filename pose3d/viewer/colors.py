"""The viewer's colours, defined once so that the TUI can reuse them.

Colours are RGB tuples of floats in [0, 1].
"""

from __future__ import annotations

import colorsys

import numpy as np
from numpy.typing import ArrayLike, NDArray

RGB = tuple[float, float, float]

# Qualitative palette (Tableau 10 without its grey, which is kept for missing values): the
# first keypoints get these; more keypoints get evenly spaced hues.
_PALETTE: tuple[RGB, ...] = (
    (0.122, 0.467, 0.706),
    (1.000, 0.498, 0.055),
    (0.173, 0.627, 0.173),
    (0.839, 0.153, 0.157),
    (0.580, 0.404, 0.741),
    (0.549, 0.337, 0.294),
    (0.890, 0.467, 0.761),
    (0.737, 0.741, 0.133),
    (0.090, 0.745, 0.812),
)
MISSING: RGB = (0.5, 0.5, 0.5)
BONE: RGB = (0.85, 0.85, 0.85)
FRUSTUM: RGB = (0.2, 0.2, 0.2)
FLOOR: RGB = (0.55, 0.55, 0.55)
BACKGROUND: RGB = (1.0, 1.0, 1.0)


def keypoint_colors(n: int) -> list[RGB]:
    """``n`` distinct, fixed colours, one per keypoint (the same keypoint, the same colour)."""
    if n < 0:
        raise ValueError(f"expected a number of keypoints >= 0, got {n}")
    if n <= len(_PALETTE):
        return list(_PALETTE[:n])
    return [colorsys.hsv_to_rgb(i / n, 0.8, 0.9) for i in range(n)]


def error_colors(errors: ArrayLike, max_error: float) -> NDArray[np.float64]:
    """Reprojection errors [...] (px) to colours [..., 3]: green at 0, yellow at half of
    ``max_error``, red at ``max_error`` and above; grey where the error is NaN."""
    if not max_error > 0:
        raise ValueError(f"expected max_error > 0 px, got {max_error}")
    err = np.asarray(errors, dtype=np.float64)
    f = np.clip(err / max_error, 0.0, 1.0)
    rgb = np.stack([np.clip(2 * f, 0, 1), np.clip(2 * (1 - f), 0, 1), np.zeros_like(f)], -1)
    rgb[~np.isfinite(err)] = MISSING
    return rgb
