"""The lens models, as kernels on coordinate arrays: OpenCV's pinhole and fisheye distortion.

Both map the ideal normalized coordinates ``(x, y) = (X / Z, Y / Z)`` of a point in front of
the camera (``Z > 0``) to distorted normalized coordinates, which the camera matrix takes to
pixels; every projection in pose3d (Camera, triangulation, bundle adjustment) goes through them,
with the coefficients as floats (one camera) or as arrays broadcast against x and y (one camera
per observation).

- ``pinhole``, coefficients ``(k1, k2, p1, p2, k3)`` (``cv2.projectPoints``):
  ``x_d = x (1 + k1 r² + k2 r⁴ + k3 r⁶) + 2 p1 x y + p2 (r² + 2 x²)``,
  ``y_d = y (1 + k1 r² + k2 r⁴ + k3 r⁶) + p1 (r² + 2 y²) + 2 p2 x y``, ``r² = x² + y²``.
- ``fisheye``, coefficients ``(k1, k2, k3, k4)`` (``cv2.fisheye.projectPoints``, equidistant):
  ``θ = atan(r)``, ``θd = θ (1 + k1 θ² + k2 θ⁴ + k3 θ⁶ + k4 θ⁸)``, ``(x_d, y_d) = (θd / r) (x, y)``
  (1 at r = 0). It holds for θ < 90 degrees (points in front of the camera); with all
  coefficients zero it is still the equidistant projection, not the pinhole one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Coefficient = float | FloatArray  # one number, or one per coordinate (broadcast)
LensModelName = Literal["pinhole", "fisheye"]

MAX_NEWTON_STEPS = 10
# Newton converges quadratically: once an update is below 1e-7 the error left is ~1e-14
NEWTON_TOLERANCE = 1e-7
HALF_PI = 0.5 * np.pi


# ---- pinhole ----------------------------------------------------------------------------------


def distort_xy(
    x: FloatArray, y: FloatArray, k1: Coefficient, k2: Coefficient, p1: Coefficient,
    p2: Coefficient, k3: Coefficient,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Ideal normalized (x, y) to distorted normalized (x, y) (OpenCV's pinhole model)."""
    x2, y2, xy2 = x * x, y * y, 2.0 * x * y
    r2 = x2 + y2
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    return (
        x * radial + p1 * xy2 + p2 * (r2 + 2.0 * x2),
        y * radial + p1 * (r2 + 2.0 * y2) + p2 * xy2,
    )


def distortion_jacobian_xy(
    x: FloatArray, y: FloatArray, k1: Coefficient, k2: Coefficient, p1: Coefficient,
    p2: Coefficient, k3: Coefficient,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """d(xd, yd)/d(x, y) as (dxd/dx, dxd/dy = dyd/dx, dyd/dy); the matrix is symmetric."""
    x2, y2 = x * x, y * y
    r2 = x2 + y2
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    dradial2 = 2.0 * (k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2))  # 2 d radial / d r2
    a = radial + x2 * dradial2 + 2.0 * p1 * y + 6.0 * p2 * x
    b = x * y * dradial2 + 2.0 * p1 * x + 2.0 * p2 * y
    d = radial + y2 * dradial2 + 6.0 * p1 * y + 2.0 * p2 * x
    return a, b, d


def undistort_xy(
    xd: FloatArray, yd: FloatArray, k1: Coefficient, k2: Coefficient, p1: Coefficient,
    p2: Coefficient, k3: Coefficient,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Distorted normalized (x, y) to ideal normalized (x, y); NaN stays NaN.

    Newton's method on the distortion model from its first-order inverse, until the largest
    update is below 1e-7, which leaves an error of ~1e-14 (two or three steps for real lenses).
    """
    r2 = xd * xd + yd * yd
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    with np.errstate(divide="ignore", invalid="ignore"):
        x, y = xd / radial, yd / radial
        for _ in range(MAX_NEWTON_STEPS):
            ex, ey = distort_xy(x, y, k1, k2, p1, p2, k3)
            a, b, d = distortion_jacobian_xy(x, y, k1, k2, p1, p2, k3)
            ex, ey = ex - xd, ey - yd
            inv_det = 1.0 / (a * d - b * b)
            dx, dy = (d * ex - b * ey) * inv_det, (a * ey - b * ex) * inv_det
            x, y = x - dx, y - dy
            if not np.nanmax(np.abs(dx), initial=0.0) > NEWTON_TOLERANCE:
                break
    return x, y


def pinhole_monotonic_radius(dist: FloatArray) -> float:
    """The ideal radius where ``r (1 + k1 r² + k2 r⁴ + k3 r⁶)`` stops growing (inf if never):
    the first positive root u = r² of ``1 + 3 k1 u + 5 k2 u² + 7 k3 u³``."""
    k1, k2, _, _, k3 = (float(v) for v in dist)
    return float(np.sqrt(_first_positive_root([1.0, 3.0 * k1, 5.0 * k2, 7.0 * k3], np.inf)))


# ---- fisheye ----------------------------------------------------------------------------------


def _theta_polynomials(
    theta: FloatArray, k1: Coefficient, k2: Coefficient, k3: Coefficient, k4: Coefficient
) -> tuple[FloatArray, FloatArray]:
    """``θd / θ`` and ``dθd / dθ`` at θ."""
    t2 = theta * theta
    ratio = 1.0 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))
    slope = 1.0 + t2 * (3.0 * k1 + t2 * (5.0 * k2 + t2 * (7.0 * k3 + t2 * (9.0 * k4))))
    return ratio, slope


def distort_fisheye_xy(
    x: FloatArray, y: FloatArray, k1: Coefficient, k2: Coefficient, k3: Coefficient,
    k4: Coefficient,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Ideal normalized (x, y) to distorted normalized (x, y) (OpenCV's fisheye model)."""
    r = np.sqrt(x * x + y * y)
    theta = np.arctan(r)
    ratio, _ = _theta_polynomials(theta, k1, k2, k3, k4)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(r > 0.0, theta / r, 1.0) * ratio  # θd / r
    return x * scale, y * scale


def fisheye_jacobian_xy(
    x: FloatArray, y: FloatArray, k1: Coefficient, k2: Coefficient, k3: Coefficient,
    k4: Coefficient,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """d(xd, yd)/d(x, y) as (dxd/dx, dxd/dy = dyd/dx, dyd/dy); the matrix is symmetric.

    With ``s(r) = θd / r``: ``dxd/dx = s + x² s'/r``, ``dxd/dy = x y s'/r``,
    ``dyd/dy = s + y² s'/r``.
    ``s'/r`` is computed as a difference over r², which loses digits as r -> 0, but it is only
    ever multiplied by x², x y or y² (each at most r²), so the Jacobian keeps full precision.
    """
    r2 = x * x + y * y
    r = np.sqrt(r2)
    theta = np.arctan(r)
    ratio, slope = _theta_polynomials(theta, k1, k2, k3, k4)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(r > 0.0, theta / r, 1.0) * ratio
        # s'(r) / r = (dθd/dθ dθ/dr - s) / r², dθ/dr = 1 / (1 + r²)
        g = np.where(r2 > 0.0, (slope / (1.0 + r2) - scale) / r2, 0.0)
    return scale + x * x * g, x * y * g, scale + y * y * g


def undistort_fisheye_xy(
    xd: FloatArray, yd: FloatArray, k1: Coefficient, k2: Coefficient, k3: Coefficient,
    k4: Coefficient,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Distorted normalized (x, y) to ideal normalized (x, y); NaN stays NaN.

    Newton's method in one dimension on ``θd(θ) = |(xd, yd)|`` from θ = θd, until the largest
    update is below 1e-7 (error ~1e-14), then ``r = tan θ``. NaN where no angle below 90 degrees
    on a rising part of θd(θ) gives θd: beyond the field of view the model can describe.
    """
    theta_d = np.sqrt(xd * xd + yd * yd)
    theta = theta_d
    step = np.zeros_like(theta_d)
    slope = np.ones_like(theta_d)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(MAX_NEWTON_STEPS):
            ratio, slope = _theta_polynomials(theta, k1, k2, k3, k4)
            step = (theta * ratio - theta_d) / slope
            theta = theta - step
            if not np.nanmax(np.abs(step), initial=0.0) > NEWTON_TOLERANCE:
                break
        valid = (theta >= 0.0) & (theta < HALF_PI) & (slope > 0.0)
        valid &= np.abs(step) <= NEWTON_TOLERANCE
        scale = np.where(theta_d == 0.0, 1.0, np.tan(theta) / theta_d)  # NaN stays NaN
        scale = np.where(valid | np.isnan(theta_d), scale, np.nan)
    return xd * scale, yd * scale


def fisheye_monotonic_radius(dist: FloatArray) -> float:
    """The ideal radius ``tan θ`` where ``θd(θ)`` stops growing, inf if it grows up to 90
    degrees: the first root u = θ² below (π/2)² of ``1 + 3 k1 u + 5 k2 u² + 7 k3 u³ + 9 k4 u⁴``."""
    k1, k2, k3, k4 = (float(v) for v in dist)
    u = _first_positive_root([1.0, 3.0 * k1, 5.0 * k2, 7.0 * k3, 9.0 * k4], HALF_PI**2)
    return float(np.tan(np.sqrt(u))) if u < HALF_PI**2 else float("inf")


def _first_positive_root(coefficients: list[float], default: float) -> float:
    """The smallest positive real root of ``c0 + c1 u + c2 u² + ...`` (``default`` if none)."""
    highest = np.flatnonzero(coefficients)[-1]
    roots = np.roots(coefficients[highest::-1])  # np.roots wants the highest power first
    real = roots[(np.abs(roots.imag) < 1e-12) & (roots.real > 0)].real
    return float(real.min()) if real.size else default


# ---- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LensModel:
    """One lens model: its coefficient names (the order of ``Camera.dist``) and its kernels.

    ``distort``, ``jacobian`` and ``undistort`` take ``(x, y, *coefficients)``;
    ``monotonic_radius(dist)`` is the ideal normalized radius up to which the model maps radii
    one to one (inf if it never folds). ``zero_is_identity``: all coefficients zero means no
    distortion (pinhole), so the kernels can be skipped.
    """

    name: LensModelName
    coefficients: tuple[str, ...]
    distort: Callable[..., tuple[FloatArray, FloatArray]]
    jacobian: Callable[..., tuple[FloatArray, FloatArray, FloatArray]]
    undistort: Callable[..., tuple[FloatArray, FloatArray]]
    monotonic_radius: Callable[[FloatArray], float]
    zero_is_identity: bool

    @property
    def n_coefficients(self) -> int:
        return len(self.coefficients)


PINHOLE = LensModel(
    "pinhole",
    ("k1", "k2", "p1", "p2", "k3"),
    distort_xy,
    distortion_jacobian_xy,
    undistort_xy,
    pinhole_monotonic_radius,
    zero_is_identity=True,
)
FISHEYE = LensModel(
    "fisheye",
    ("k1", "k2", "k3", "k4"),
    distort_fisheye_xy,
    fisheye_jacobian_xy,
    undistort_fisheye_xy,
    fisheye_monotonic_radius,
    zero_is_identity=False,
)
LENS_MODELS: dict[str, LensModel] = {model.name: model for model in (PINHOLE, FISHEYE)}
