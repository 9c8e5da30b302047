"""Weighted, NaN-aware linear triangulation (DLT) of every point at once.

For a view with world-to-camera ``[R | t]`` (rows ``r1 r2 r3``) and an undistorted, normalized
observation ``(x, y)``, the DLT rows are ``(x r3 - r1) . X = t1 - x t3`` and
``(y r3 - r2) . X = t2 - y t3``. Their residual is ``depth * (x - x_projected)``, so the
solution minimises image error weighted by depth; one reweighting by ``focal / depth`` (from the
first solution) turns the residual into pixels, which brings the linear solution to the
least-squares (maximum-likelihood) point (median 3D error within 0.1 % of it in the tests) at
a second pass's cost.

Each view's rows are multiplied by its weight (the label's confidence; 0 = not seen); the 3 x 3
normal equations of every point are accumulated view by view and solved in closed form. A point
seen (weight > 0) by fewer than ``min_views`` views, or whose rays are parallel, comes out NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pose3d.triangulation.blocks import blocks
from pose3d.triangulation.projection import Lens

FloatArray = NDArray[np.float64]

# a normal matrix whose determinant is below this fraction of trace**3 has parallel rays
SINGULAR = 1e-14


def clean_observations(
    normalized: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Zero weight where a coordinate is NaN (or the weight is NaN or <= 0), and zero the
    coordinates there, so that missing views drop out of every sum.

    ``normalized`` [V, N, 2], ``weights`` [V, N] -> the same shapes, new arrays.
    """
    # x + y is finite exactly when both are; NaN weights fail "> 0"
    seen = np.isfinite(normalized[..., 0] + normalized[..., 1]) & (weights > 0)
    w = np.where(seen, weights, 0.0)
    xy = normalized.copy()
    xy[~seen] = 0.0
    return xy, w


def dlt(
    lenses: tuple[Lens, ...],
    normalized: FloatArray,
    weights: FloatArray,
    reweight: bool = True,
    min_views: int = 2,
) -> FloatArray:
    """Triangulate points [N, 3] from normalized observations [V, N, 2] and weights [V, N].

    ``normalized`` and ``weights`` must be clean (see :func:`clean_observations`): weight 0
    where a view does not see the point.
    """
    n_points = normalized.shape[1]
    out = np.full((n_points, 3), np.nan)
    n_seen = np.count_nonzero(weights > 0, axis=0)
    coeffs = np.stack([coefficients(lens) for lens in lenses])  # [V, 4, 9]
    with np.errstate(divide="ignore", invalid="ignore"):
        for block in blocks(n_points):
            xy, w = normalized[:, block], weights[:, block]
            points = _solve(*_accumulate(coeffs, xy, w))
            if reweight:
                points = _solve(*_accumulate(coeffs, xy, _pixel_weights(lenses, points, w)))
            out[block] = points
    out[n_seen < min_views] = np.nan
    return out


def _pixel_weights(lenses: tuple[Lens, ...], points: FloatArray, w: FloatArray) -> FloatArray:
    """Weights [V, n] that turn each view's DLT residual into pixels at ``points`` [n, 3]."""
    out = np.empty_like(w)
    for view, lens in enumerate(lenses):
        (_, _, _), (_, _, _), (r20, r21, r22) = lens.rotation
        depth = r20 * points[:, 0] + r21 * points[:, 1] + r22 * points[:, 2] + lens.translation[2]
        scale = lens.focal / np.abs(depth)
        out[view] = np.where(np.isfinite(scale), w[view] * scale, w[view])
    return out


def coefficients(lens: Lens) -> FloatArray:
    """[4, 9]: how one view's features ``w² (x² + y², x, y, 1)`` enter the normal equations.

    Summing ``w² a aᵀ`` and ``w² a rhs`` over the view's two DLT rows ``a = c r3 - r_c``,
    ``rhs = t_c - c t3`` (c = x, y) gives, entry by entry, a fixed linear combination of the four
    features; the columns are the matrix entries (00, 01, 02, 11, 12, 22) and the right-hand
    side (0, 1, 2). One matrix product per block then sums every view at once.
    """
    r = np.asarray(lens.rotation)
    t1, t2, t3 = lens.translation
    r1, r2, r3 = r[0], r[1], r[2]
    upper = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))

    def entries(m: FloatArray) -> list[float]:
        return [float(m[i, j]) for i, j in upper]

    def sym(a: FloatArray, b: FloatArray) -> FloatArray:
        return np.outer(a, b) + np.outer(b, a)

    return np.array(
        [
            entries(np.outer(r3, r3)) + list(-t3 * r3),
            entries(-sym(r3, r1)) + list(t1 * r3 + t3 * r1),
            entries(-sym(r3, r2)) + list(t2 * r3 + t3 * r2),
            entries(np.outer(r1, r1) + np.outer(r2, r2)) + list(-(t1 * r1 + t2 * r2)),
        ]
    )


def _accumulate(coeffs: FloatArray, xy: FloatArray, w: FloatArray) -> tuple[FloatArray, ...]:
    """The normal equations of a block: six entries of the symmetric matrix and three of the
    right-hand side, each [n], summed over the views. ``coeffs`` [V, 4, 9], ``xy`` [V, n, 2],
    ``w`` [V, n]."""
    n_views, n = w.shape
    features = np.empty((n, n_views, 4))  # w² (x² + y², x, y, 1) per point and view
    for view in range(n_views):
        ww = w[view] * w[view]
        x, y = xy[view, :, 0], xy[view, :, 1]
        features[:, view, 0] = ww * (x * x + y * y)
        features[:, view, 1] = ww * x
        features[:, view, 2] = ww * y
        features[:, view, 3] = ww
    sums = features.reshape(n, -1) @ coeffs.reshape(-1, 9)  # [n, 9]
    return tuple(sums[:, i] for i in range(9))


def _solve(
    m00: FloatArray,
    m01: FloatArray,
    m02: FloatArray,
    m11: FloatArray,
    m12: FloatArray,
    m22: FloatArray,
    b0: FloatArray,
    b1: FloatArray,
    b2: FloatArray,
) -> FloatArray:
    """Solve the symmetric 3 x 3 systems [n] by cofactors; singular systems give NaN [n, 3]."""
    c00 = m11 * m22 - m12 * m12
    c01 = m02 * m12 - m01 * m22
    c02 = m01 * m12 - m02 * m11
    c11 = m00 * m22 - m02 * m02
    c12 = m01 * m02 - m00 * m12
    c22 = m00 * m11 - m01 * m01
    det = m00 * c00 + m01 * c01 + m02 * c02
    trace = m00 + m11 + m22
    det = np.where(det > SINGULAR * trace * trace * trace, det, np.nan)
    out = np.empty((m00.shape[0], 3))
    out[:, 0] = (c00 * b0 + c01 * b1 + c02 * b2) / det
    out[:, 1] = (c01 * b0 + c11 * b1 + c12 * b2) / det
    out[:, 2] = (c02 * b0 + c12 * b1 + c22 * b2) / det
    return out
