"""The normal equations of a skeleton over time, as a symmetric banded matrix.

Unknowns are ordered time-major: ``(frame, keypoint, xyz)``, index ``3 (t J + j) + c``. The
terms of the refinement only couple a point with itself (reprojection), with another keypoint
of the same frame (bone length) or with the same keypoint ``k <= order`` frames away
(smoothness), so the matrix is banded with half-bandwidth ``3 J order`` (or ``3 (J - 1) + 2``),
and LAPACK's banded Cholesky solves it in time linear in the number of frames.

Storage is LAPACK's lower form: ``band[i - j, j] = A[i, j]`` for ``i >= j``; ``band`` is
[bandwidth + 1, 3 T J].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

UPPER_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))  # order of the 6-entry blocks


def bandwidth(n_keypoints: int, edges: Sequence[tuple[int, int]], smooth_order: int) -> int:
    """Half-bandwidth of the system for ``n_keypoints`` keypoints."""
    width = 2
    if edges:
        width = max(width, 3 * max(abs(a - b) for a, b in edges) + 2)
    if smooth_order > 0:
        width = max(width, 3 * n_keypoints * smooth_order)
    return width


def _row(band: FloatArray, offset: int, shape: tuple[int, int]) -> FloatArray:
    """Row ``offset`` of the band as a [T, J, 3] view (column = the lower-index unknown)."""
    return band[offset].reshape(shape[0], shape[1], 3)


def add_point_blocks(band: FloatArray, blocks6: FloatArray) -> None:
    """Add each point's symmetric 3 x 3 block, given as [T, J, 6] (see UPPER_PAIRS)."""
    shape = blocks6.shape[:2]
    for k, (a, b) in enumerate(UPPER_PAIRS):
        _row(band, b - a, shape)[:, :, a] += blocks6[:, :, k]


def add_keypoint_blocks(
    band: FloatArray, shape: tuple[int, int], keypoint: int, blocks6: FloatArray
) -> None:
    """Add the symmetric 3 x 3 blocks [T, 6] of one keypoint in every frame."""
    for k, (a, b) in enumerate(UPPER_PAIRS):
        _row(band, b - a, shape)[:, keypoint, a] += blocks6[:, k]


def add_pair_blocks(
    band: FloatArray, shape: tuple[int, int], low: int, high: int, block: FloatArray
) -> None:
    """Add the block [T, 3, 3] coupling keypoint ``high`` (rows) with ``low`` (columns) in every
    frame; ``low < high``."""
    for r in range(3):
        for c in range(3):
            _row(band, 3 * (high - low) + r - c, shape)[:, low, c] += block[:, r, c]


def add_time_band(
    band: FloatArray, shape: tuple[int, int], diagonals: Sequence[FloatArray]
) -> None:
    """Add ``M ⊗ I`` for a symmetric [T, T] matrix ``M`` given by its diagonals ``k = 0..n``
    (each [T - k]), the same for every keypoint and coordinate."""
    n_frames, n_keypoints = shape
    for k, diagonal in enumerate(diagonals):
        _row(band, 3 * n_keypoints * k, shape)[: n_frames - k] += diagonal[:, None, None]


def solve_damped(band: FloatArray, rhs: FloatArray, damping: float) -> FloatArray | None:
    """Solve ``(A + damping diag(A)) x = rhs``; None when the matrix is not positive definite."""
    from scipy.linalg import LinAlgError, solveh_banded

    damped = band.copy()
    diagonal = band[0]
    floor = 1e-12 * max(float(diagonal.max(initial=0.0)), 1e-300)
    damped[0] = diagonal * (1.0 + damping) + floor
    try:
        return np.asarray(solveh_banded(damped, rhs, lower=True, check_finite=False))
    except (LinAlgError, ValueError):
        return None
