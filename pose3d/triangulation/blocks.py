"""Blocks of points: the unit of work of the vectorised kernels.

Every kernel runs numpy expressions on 1-D arrays of at most :data:`BLOCK` points. Arrays of a
few thousand numbers stay in the CPU cache and reuse the allocator's memory, whereas whole-video
arrays make every temporary a fresh allocation that the C library hands back to the system and
faults in again (5-10 times slower on virtual machines). The loop over blocks is short (a few
per ten thousand points); there is never a Python loop per point.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

BLOCK = 4096


def blocks(n: int, size: int = BLOCK) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` items covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def finite_rows(array: NDArray[np.float64]) -> NDArray[np.bool_]:
    """[...] True where every number along the last axis of ``array`` [..., C] is finite.

    Sums the C columns (a sum is finite exactly when every term is), which is ~10 times faster
    than ``np.isfinite(array).all(axis=-1)``: numpy reduces a short last axis slowly.
    """
    total = array[..., 0].copy()
    for c in range(1, array.shape[-1]):
        total += array[..., c]
    return np.asarray(np.isfinite(total))
