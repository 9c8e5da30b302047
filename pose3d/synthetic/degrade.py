"""Image degradations of real footage, for measuring detectors on hard synthetic images.

A ``Degradation`` gives, for each effect, the range a frame's strength is drawn from (uniformly,
with the frame's own generator): defocus (a disk point spread of the given radius, px), motion
blur (a straight streak of the given length, px, in a random direction), uneven lighting (a linear
ramp of illumination across the image in a random direction: the fraction lost at the dark end),
vignetting (the fraction of brightness lost at the image corners, falling off as r^2), low
contrast (grey levels pulled towards mid-grey: 1 keeps them, 0.3 keeps 30 % of the range) and
sensor noise (Gaussian, sigma in grey levels, on top of what the renderer added). Effects are
applied in that order (optics, illumination, contrast, sensor) to an image [H, W] or [H, W, 3]
uint8; the default ``Degradation()`` changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError

Image = NDArray[np.uint8]
Range = tuple[float, float]


@dataclass(frozen=True)
class Degradation:
    """Ranges (low, high) of each effect's strength; see the module docstring for units."""

    defocus_px: Range = (0.0, 0.0)
    motion_px: Range = (0.0, 0.0)
    light_gradient: Range = (0.0, 0.0)
    vignetting: Range = (0.0, 0.0)
    contrast: Range = (1.0, 1.0)
    noise_sigma: Range = (0.0, 0.0)

    def __post_init__(self) -> None:
        for name in ("defocus_px", "motion_px", "light_gradient", "vignetting", "noise_sigma"):
            low, high = getattr(self, name)
            if not (np.isfinite(low) and np.isfinite(high) and 0 <= low <= high):
                raise Pose3dError(f"{name} must be a range 0 <= low <= high, got {(low, high)}")
        for name in ("light_gradient", "vignetting"):
            if getattr(self, name)[1] >= 1:
                raise Pose3dError(f"{name} is a fraction of the light lost: below 1")
        low, high = self.contrast
        if not 0 < low <= high <= 1:
            raise Pose3dError(f"contrast must be a range 0 < low <= high <= 1, got {self.contrast}")


# The "degraded" board sets of benchmarks/calibration.py --detection and its tests: what a lab's
# calibration footage suffers, at 640x480 and (with more blur) at 1088x1920.
DEGRADED_VGA = Degradation(
    defocus_px=(0.0, 2.5),
    motion_px=(0.0, 6.0),
    light_gradient=(0.0, 0.6),
    vignetting=(0.0, 0.5),
    contrast=(0.3, 1.0),
    noise_sigma=(0.0, 6.0),
)
DEGRADED_LARGE = replace(DEGRADED_VGA, defocus_px=(0.0, 4.0), motion_px=(0.0, 10.0))


def degrade(image: Image, degradation: Degradation, rng: np.random.Generator) -> Image:
    """``image`` [H, W] or [H, W, 3] uint8 with each effect drawn from ``degradation``'s ranges."""
    d = degradation

    def draw(span: Range) -> float:
        return float(rng.uniform(*span)) if span[1] > span[0] else float(span[0])

    out = image.astype(np.float32)
    out = defocus(out, draw(d.defocus_px))
    out = motion_blur(out, draw(d.motion_px), float(rng.uniform(0.0, np.pi)))
    gain = illumination(image.shape[:2], draw(d.light_gradient), draw(d.vignetting), rng)
    out = out * (gain if out.ndim == 2 else gain[..., None])
    contrast = draw(d.contrast)
    out = 127.5 + contrast * (out - 127.5)
    sigma = draw(d.noise_sigma)
    if sigma > 0:
        out = out + rng.normal(0.0, sigma, size=out.shape).astype(np.float32)
    return np.asarray(np.clip(np.rint(out), 0, 255), dtype=np.uint8)


def defocus(image: NDArray[np.float32], radius: float) -> NDArray[np.float32]:
    """``image`` convolved with a disk of ``radius`` px (anti-aliased edge); < 0.5 px: as is."""
    if radius < 0.5:
        return image
    half = int(np.ceil(radius))
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    kernel = np.clip(radius + 0.5 - np.hypot(x, y), 0.0, 1.0).astype(np.float32)
    return _convolve(image, kernel)


def motion_blur(image: NDArray[np.float32], length: float, angle: float) -> NDArray[np.float32]:
    """``image`` smeared along a straight streak of ``length`` px at ``angle`` (radians)."""
    if length < 1.0:
        return image
    half = int(np.ceil(length / 2)) + 1
    kernel = np.zeros((2 * half + 1, 2 * half + 1), np.float32)
    for s in np.linspace(-length / 2, length / 2, max(2, int(np.ceil(4 * length)))):
        x, y = half + s * np.cos(angle), half + s * np.sin(angle)
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0  # bilinear splat of each point of the streak
        kernel[y0, x0] += (1 - fx) * (1 - fy)
        kernel[y0, x0 + 1] += fx * (1 - fy)
        kernel[y0 + 1, x0] += (1 - fx) * fy
        kernel[y0 + 1, x0 + 1] += fx * fy
    return _convolve(image, kernel)


def illumination(
    shape: tuple[int, ...], gradient: float, vignetting: float, rng: np.random.Generator
) -> NDArray[np.float32]:
    """A gain field [H, W] in (0, 1]: a linear ramp losing ``gradient`` at its dark end (random
    direction) times a radial fall-off losing ``vignetting`` at the corners."""
    height, width = shape[:2]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u = (x - (width - 1) / 2) / (width / 2)  # -1 .. 1 across the image
    v = (y - (height - 1) / 2) / (height / 2)
    gain = np.ones((height, width), np.float32)
    if gradient > 0:
        angle = rng.uniform(0.0, 2 * np.pi)
        along = (np.cos(angle) * u + np.sin(angle) * v) / np.sqrt(2.0)  # -1 .. 1 at most
        gain *= 1.0 - gradient * (0.5 - 0.5 * along)
    if vignetting > 0:
        gain *= 1.0 - vignetting * (u**2 + v**2) / 2.0
    return gain


def _convolve(image: NDArray[np.float32], kernel: NDArray[np.float32]) -> NDArray[np.float32]:
    kernel = kernel / kernel.sum()
    return np.asarray(cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT), np.float32)
