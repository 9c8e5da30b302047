"""Robust losses for reprojection residuals, as in scipy.optimize.least_squares.

Each residual (the x or the y error of an observation, in px) with ``s = r² / scale²`` costs
``scale² rho(s)``; iteratively reweighted least squares weighs it by ``rho'(s)``, which falls
towards 0 for outliers. ``anipose`` is the robust term of Anipose's ``triangulate_optim``
(``reproj_loss="soft_l1"`` there): the residual ``r`` is replaced by
``2 scale (sqrt(1 + |r| / scale) - 1)``, i.e. ``rho(s) = 4 (sqrt(1 + sqrt(s)) - 1)²``; it
weighs even small residuals a little less than scipy's soft_l1, which is what Anipose's
``scale_smooth`` and ``scale_length`` are balanced against.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError

FloatArray = NDArray[np.float64]
Loss = Callable[[FloatArray], tuple[FloatArray, FloatArray]]


def linear(s: FloatArray) -> tuple[FloatArray, FloatArray]:
    return s, np.ones_like(s)


def soft_l1(s: FloatArray) -> tuple[FloatArray, FloatArray]:
    root = np.sqrt(1.0 + s)
    return 2.0 * (root - 1.0), 1.0 / root


def huber(s: FloatArray) -> tuple[FloatArray, FloatArray]:
    root = np.sqrt(np.maximum(s, 1.0))
    return np.where(s <= 1.0, s, 2.0 * root - 1.0), 1.0 / root


def cauchy(s: FloatArray) -> tuple[FloatArray, FloatArray]:
    return np.log1p(s), 1.0 / (1.0 + s)


def anipose(s: FloatArray) -> tuple[FloatArray, FloatArray]:
    root = np.sqrt(s)
    outer = np.sqrt(1.0 + root)
    with np.errstate(invalid="ignore", divide="ignore"):
        drho = np.where(root > 1e-12, 2.0 * (outer - 1.0) / (outer * root), 1.0)
    return 4.0 * (outer - 1.0) ** 2, drho


LOSSES: dict[str, Loss] = {
    "linear": linear,
    "soft_l1": soft_l1,
    "huber": huber,
    "cauchy": cauchy,
    "anipose": anipose,
}


def get_loss(name: str) -> Loss:
    """The loss named ``name``; a clear error lists the known ones."""
    try:
        return LOSSES[name]
    except KeyError:
        raise Pose3dError(
            f"unknown loss {name!r}; choose one of {', '.join(sorted(LOSSES))}"
        ) from None
