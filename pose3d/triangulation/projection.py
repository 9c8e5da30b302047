"""Projection, undistortion and their derivatives for triangulation, in numpy only.

The camera model is pose3d.cameras' (OpenCV's pinhole or fisheye lens; the centre of the
top-left pixel is (0, 0)) and the kernels of its lens model (pose3d.lens); here they run on plain
1-D arrays with the camera's numbers as Python floats, with drivers that run them
over every view and over blocks of points (see :mod:`pose3d.triangulation.blocks`), so the hot
paths of triangulation have no Python loop per point and allocate no large temporaries.

Shapes: ``V`` views, ``N`` points; pixels and normalized coordinates carry ``(x, y)`` on the
last axis, world points ``(x, y, z)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.cameras import Camera, CameraGroup
from pose3d.lens import LENS_MODELS, LensModel
from pose3d.triangulation.blocks import blocks

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Lens:
    """One camera's numbers as floats: intrinsics, lens model and its distortion coefficients
    (pinhole: k1 k2 p1 p2 k3, fisheye: k1 k2 k3 k4; the argument order of the model's kernels),
    world-to-camera [R | t]; ``distorted`` is False when the kernels can be skipped."""

    fx: float
    fy: float
    skew: float
    cx: float
    cy: float
    model: LensModel
    coefficients: tuple[float, ...]
    distorted: bool
    rotation: tuple[tuple[float, float, float], ...]  # 3 rows
    translation: tuple[float, float, float]

    @classmethod
    def of(cls, camera: Camera) -> Lens:
        m = camera.matrix
        model = LENS_MODELS[camera.model]
        coefficients = tuple(float(v) for v in camera.dist)
        distorted = not model.zero_is_identity or any(coefficients)
        r = camera.rotation
        rot = tuple((float(row[0]), float(row[1]), float(row[2])) for row in r)
        tx, ty, tz = (float(v) for v in camera.tvec)
        return cls(
            float(m[0, 0]), float(m[1, 1]), float(m[0, 1]), float(m[0, 2]), float(m[1, 2]),
            model, coefficients, distorted, rot, (tx, ty, tz),
        )  # fmt: skip

    @property
    def focal(self) -> float:
        """Mean focal length in pixels."""
        return 0.5 * (self.fx + self.fy)


def lenses(cameras: CameraGroup) -> tuple[Lens, ...]:
    """The lens of every camera of ``cameras``, in the group's order."""
    return tuple(Lens.of(c) for c in cameras)


# ---- kernels on 1-D arrays of one block --------------------------------------------------------


def to_camera(lens: Lens, x: FloatArray, y: FloatArray, z: FloatArray) -> tuple[FloatArray, ...]:
    """World coordinates [n] (three arrays) to camera coordinates [n] (three arrays)."""
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = lens.rotation
    tx, ty, tz = lens.translation
    return (
        r00 * x + r01 * y + r02 * z + tx,
        r10 * x + r11 * y + r12 * z + ty,
        r20 * x + r21 * y + r22 * z + tz,
    )


def distort(lens: Lens, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Ideal normalized (x, y) [n] to distorted normalized (x, y) [n]."""
    if not lens.distorted:
        return x, y
    return lens.model.distort(x, y, *lens.coefficients)


def distortion_jacobian(
    lens: Lens, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """d(xd, yd)/d(x, y) [n] as (dxd/dx, dxd/dy = dyd/dx, dyd/dy); the matrix is symmetric."""
    return lens.model.jacobian(x, y, *lens.coefficients)


def undistort_block(lens: Lens, u: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distorted pixels (u, v) [n] to ideal normalized (x, y) [n]; NaN stays NaN."""
    yd = (v - lens.cy) / lens.fy
    xd = (u - lens.cx - lens.skew * yd) / lens.fx
    if not lens.distorted:
        return xd, yd
    return lens.model.undistort(xd, yd, *lens.coefficients)


def project_block(
    lens: Lens, x: FloatArray, y: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """World (x, y, z) [n] to distorted pixels (u, v) [n]; behind the camera -> NaN."""
    xc, yc, zc = to_camera(lens, x, y, z)
    inv_z = 1.0 / np.where(zc > 0, zc, np.nan)
    xd, yd = distort(lens, xc * inv_z, yc * inv_z)
    return lens.fx * xd + lens.skew * yd + lens.cx, lens.fy * yd + lens.cy


def project_with_jacobian(
    lens: Lens, x: FloatArray, y: FloatArray, z: FloatArray
) -> tuple[FloatArray, ...]:
    """World (x, y, z) [n] to pixels and their derivatives, eight arrays [n]:
    ``u, v, du/dx, du/dy, du/dz, dv/dx, dv/dy, dv/dz``. Behind the camera: NaN."""
    xc, yc, zc = to_camera(lens, x, y, z)
    inv_z = 1.0 / np.where(zc > 0, zc, np.nan)
    xn, yn = xc * inv_z, yc * inv_z
    xd, yd = distort(lens, xn, yn)
    u = lens.fx * xd + lens.skew * yd + lens.cx
    v = lens.fy * yd + lens.cy
    if lens.distorted:
        a, b, d = distortion_jacobian(lens, xn, yn)
        # d(pixel)/d(normalized) = [[fx, skew], [0, fy]] @ [[a, b], [b, d]]
        j00, j01 = lens.fx * a + lens.skew * b, lens.fx * b + lens.skew * d
        j10, j11 = lens.fy * b, lens.fy * d
    else:
        j00, j01, j10, j11 = (np.full_like(xn, c) for c in (lens.fx, lens.skew, 0.0, lens.fy))
    # d(normalized)/d(camera) = [[1, 0, -xn], [0, 1, -yn]] / z, and d(camera)/d(world) = R
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = lens.rotation
    out = [u, v]
    for ja, jb in ((j00, j01), (j10, j11)):
        cx_, cy_ = ja * inv_z, jb * inv_z
        cz_ = -(ja * xn + jb * yn) * inv_z
        out += [cx_ * r00 + cy_ * r10 + cz_ * r20,
                cx_ * r01 + cy_ * r11 + cz_ * r21,
                cx_ * r02 + cy_ * r12 + cz_ * r22]  # fmt: skip
    return tuple(out)


# ---- drivers over views and blocks -------------------------------------------------------------


def undistort(lenses_: tuple[Lens, ...], pixels: FloatArray) -> FloatArray:
    """Distorted pixels [V, N, 2] to ideal normalized coordinates [V, N, 2]; NaN stays NaN."""
    out = np.empty_like(pixels, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for view, lens in enumerate(lenses_):
            for block in blocks(pixels.shape[1]):
                x, y = undistort_block(lens, pixels[view, block, 0], pixels[view, block, 1])
                out[view, block, 0] = x
                out[view, block, 1] = y
    return out


def project(lenses_: tuple[Lens, ...], points: FloatArray) -> FloatArray:
    """World points [N, 3] to distorted pixels in every view [V, N, 2]; NaN / behind -> NaN."""
    out = np.empty((len(lenses_), points.shape[0], 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        for view, lens in enumerate(lenses_):
            for block in blocks(points.shape[0]):
                u, v = project_block(lens, points[block, 0], points[block, 1], points[block, 2])
                out[view, block, 0] = u
                out[view, block, 1] = v
    return out
