"""Batched rigid-transform helpers for calibration (numpy only).

A pose is ``(rvec [..., 3], tvec [..., 3])`` mapping points of one frame into another:
``x' = R(rvec) x + tvec``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pose3d.cameras import matrix_to_rodrigues, rodrigues_to_matrix

FloatArray = NDArray[np.float64]


def rotate(rvec: ArrayLike, points: ArrayLike) -> FloatArray:
    """Rotate ``points`` [..., 3] by Rodrigues vectors ``rvec`` [..., 3] (broadcast)."""
    r = np.asarray(rvec, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)
    theta = np.linalg.norm(r, axis=-1, keepdims=True)
    small = theta < 1e-12
    safe = np.where(small, 1.0, theta)
    k = r / safe
    cos, sin = np.cos(theta), np.sin(theta)
    kxp = np.cross(k, p)
    kdotp = np.sum(k * p, axis=-1, keepdims=True)
    rotated = p * cos + kxp * sin + k * kdotp * (1.0 - cos)
    # first order for tiny angles: p + r x p
    return np.where(small, p + np.cross(r, p), rotated)


def compose(
    rvec_a: ArrayLike, tvec_a: ArrayLike, rvec_b: ArrayLike, tvec_b: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Pose ``a ∘ b`` (apply b, then a) of single poses [3]."""
    ra, rb = rodrigues_to_matrix(rvec_a), rodrigues_to_matrix(rvec_b)
    return matrix_to_rodrigues(ra @ rb), ra @ np.asarray(tvec_b, float) + np.asarray(tvec_a, float)


def invert(rvec: ArrayLike, tvec: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Inverse of a single pose [3]."""
    rot = rodrigues_to_matrix(rvec)
    return matrix_to_rodrigues(rot.T), -rot.T @ np.asarray(tvec, dtype=np.float64)


def mean_rotation(matrices: ArrayLike) -> FloatArray:
    """Chordal L2 mean of rotation matrices [n, 3, 3] (projection of their sum onto SO(3))."""
    u, _, vt = np.linalg.svd(np.sum(np.asarray(matrices, dtype=np.float64), axis=0))
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    return np.asarray(u @ fix @ vt)


def rotation_angle_deg(rot_a: ArrayLike, rot_b: ArrayLike) -> FloatArray:
    """Angle in degrees of ``R_a R_bᵀ`` for matrices [..., 3, 3]."""
    rel = np.asarray(rot_a) @ np.swapaxes(np.asarray(rot_b), -1, -2)
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
