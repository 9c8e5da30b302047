"""Reprojection error: the distance in pixels between each 2D observation and its 3D point
projected back into the view (with the lens distortion)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pose3d.triangulation.blocks import blocks, finite_rows
from pose3d.triangulation.projection import Lens, project_block

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def view_errors(lenses: tuple[Lens, ...], points: FloatArray, pixels: FloatArray) -> FloatArray:
    """Per view, per point error [V, N] in px of ``points`` [N, 3] against ``pixels`` [V, N, 2].

    NaN where the view has no observation or the point is NaN; ``inf`` where the view sees the
    point but the point lies behind that camera.
    """
    out = np.empty(pixels.shape[:2])
    with np.errstate(invalid="ignore", divide="ignore"):
        for view, lens in enumerate(lenses):
            for block in blocks(points.shape[0]):
                p = points[block]
                u, v = project_block(lens, p[:, 0], p[:, 1], p[:, 2])
                obs = pixels[view, block]
                err = np.hypot(u - obs[:, 0], v - obs[:, 1])
                behind = np.isnan(u) & finite_rows(p) & finite_rows(obs)
                err[behind] = np.inf
                out[view, block] = err
    return out


def mean_error(errors: FloatArray, used: BoolArray) -> FloatArray:
    """Mean over the ``used`` views [V, N] of ``errors`` [V, N]: [N], NaN where none is used."""
    count = used.sum(axis=0)
    total = np.where(used, errors, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
