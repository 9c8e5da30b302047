"""The normal equations of a skeleton over time, as a symmetric banded matrix.

Unknowns are ordered time-major: ``(frame, keypoint, xyz)``, index ``3 (t J + j) + c``. The
terms of the refinement only couple a point with itself (reprojection), with another keypoint
of the same frame (bone length) or with the same keypoint ``k <= order`` frames away
(smoothness), so the matrix is banded with half-bandwidth ``3 J order`` (or ``3 (J - 1) + 2``),
and LAPACK's banded Cholesky solves it in time linear in the number of frames.

Storage is LAPACK's lower form: ``band[i - j, j] = A[i, j]`` for ``i >= j``; ``band`` is
[bandwidth + 1, 3 T J]. The bone lengths, unknowns too, border the banded block (see
:class:`BorderedSystem`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    view = band[offset].reshape(shape[0], shape[1], 3)  # a strided view, never a copy
    assert not view.flags.owndata
    return view


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


@dataclass(frozen=True, eq=False)
class BorderedSystem:
    """``[[A, B], [Bᵀ, C]]``: ``A`` banded [n, n] (lower form, Fortran order, as LAPACK wants
    it), ``B`` dense [n, m] and ``C`` diagonal [m] with m small, plus the buffers its solves
    reuse. Built once per refinement and refilled in place at every iteration: whole-video
    buffers allocated anew each time cost more than the factorisation on virtual machines."""

    band: FloatArray  # [w + 1, n]
    border: FloatArray  # [n, m]
    corner: FloatArray  # [m]
    factor: FloatArray  # [w + 1, n], the damped band's Cholesky factor
    columns: FloatArray  # [n, 1 + m], L⁻¹ [rhs | B]

    @classmethod
    def zeros(cls, n: int, width: int, m: int) -> BorderedSystem:
        return cls(
            band=np.zeros((width + 1, n), order="F"),
            border=np.zeros((n, m)),
            corner=np.zeros(m),
            factor=np.zeros((width + 1, n), order="F"),
            columns=np.zeros((n, 1 + m), order="F"),
        )

    def clear(self) -> None:
        self.band.fill(0.0)
        self.border.fill(0.0)
        self.corner.fill(0.0)

    def solve(
        self, rhs: FloatArray, rhs_border: FloatArray, damping: float
    ) -> tuple[FloatArray, FloatArray] | None:
        """Solve the system damped by ``(1 + damping)`` on both diagonals (Levenberg-Marquardt)
        for ``[rhs; rhs_border]``; None when it is not positive definite.

        With ``A = L Lᵀ`` (banded Cholesky) and ``W = L⁻¹ [rhs | B]``: the Schur complement
        ``S = C - (L⁻¹B)ᵀ(L⁻¹B)`` gives ``y = S⁻¹ (rhs_border - (L⁻¹B)ᵀ L⁻¹ rhs)`` and
        ``x = L⁻ᵀ (L⁻¹ rhs - L⁻¹B y)``: one factorisation, one forward pass over ``1 + m``
        columns and one backward pass.
        """
        from scipy.linalg import lapack

        np.copyto(self.factor, self.band)
        diagonal = self.band[0]
        floor = 1e-12 * max(float(diagonal.max(initial=0.0)), 1e-300)
        self.factor[0] = diagonal * (1.0 + damping) + floor
        factor, info = lapack.dpbtrf(self.factor, lower=1, overwrite_ab=1)
        if info != 0:
            return None
        self.columns[:, 0] = rhs
        self.columns[:, 1:] = self.border
        forward, info = lapack.dtbtrs(factor, self.columns, uplo="L", trans="N", overwrite_b=1)
        if info != 0:
            return None
        w_rhs, w_border = forward[:, 0], forward[:, 1:]
        y = np.zeros(self.border.shape[1])
        if y.size:
            schur = np.diag(self.corner * (1.0 + damping)) - w_border.T @ w_border
            try:
                y = np.linalg.solve(schur, rhs_border - w_border.T @ w_rhs)
            except np.linalg.LinAlgError:
                return None
            w_rhs = w_rhs - w_border @ y
        x, info = lapack.dtbtrs(factor, w_rhs[:, None], uplo="L", trans="T")
        if info != 0 or not np.isfinite(x).all():
            return None
        return x[:, 0], y
