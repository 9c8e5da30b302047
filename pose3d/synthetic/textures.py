"""Textures: multi-scale value noise, the floor, the subject's skin, and mip-mapped images.

Textures give point trackers something to lock on to: the floor is static blotchy noise, the
subject's skin is a sum of 3D sinusoids evaluated in each body part's own frame, so the pattern
moves with the body. Board images are sampled from a mip pyramid so that they do not alias.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Float32Array = NDArray[np.float32]

FLOOR_EXTENT = 1600.0  # mm: the texture covers [-extent, extent]^2, mirrored beyond
FLOOR_PX_PER_MM = 0.5


def value_noise(
    rng: np.random.Generator, shape: tuple[int, int], cell_sizes: tuple[float, ...]
) -> Float32Array:
    """Noise [H, W] in [0, 1]: random grids of the given cell sizes (px), bicubically upsampled,
    summed with weights proportional to the cell size, then stretched to [0, 1]."""
    height, width = shape
    total = np.zeros(shape, dtype=np.float32)
    for cell in cell_sizes:
        grid_h, grid_w = (
            max(2, int(np.ceil(height / cell)) + 1),
            max(2, int(np.ceil(width / cell)) + 1),
        )
        grid = rng.random((grid_h, grid_w), dtype=np.float32)
        up = cv2.resize(
            grid, (int(grid_w * cell), int(grid_h * cell)), interpolation=cv2.INTER_CUBIC
        )
        total += float(cell) * up[:height, :width]
    low, high = float(total.min()), float(total.max())
    return (total - low) / max(high - low, 1e-6)


ARENA_DARK = np.array([0.16, 0.24, 0.30], dtype=np.float32)
ARENA_LIGHT = np.array([0.36, 0.50, 0.58], dtype=np.float32)
TABLE_DARK = np.array([0.10, 0.12, 0.12], dtype=np.float32)
TABLE_LIGHT = np.array([0.26, 0.28, 0.27], dtype=np.float32)
RIM = np.float32(0.08)
RIM_WIDTH = 6.0  # mm, half width of the dark rim line


@dataclass(frozen=True)
class FloorTexture:
    """The floor z = 0: blotchy noise [S, S] (float32, 0-1) tinted blue-grey inside the arena
    (radius ``arena_radius``, mm), dark grey outside, with a dark rim line between them. The
    colours are kept far from the subjects' browns, whites and pinks.

    Noise texel (col, row) has its centre at world ``x = (col + 0.5) / px_per_mm - extent``,
    ``y = (row + 0.5) / px_per_mm - extent``; beyond ``extent`` the noise is mirrored.
    """

    noise: Float32Array
    extent: float
    px_per_mm: float
    arena_radius: float

    def sample(self, x: Float32Array, y: Float32Array) -> Float32Array:
        """Colours [..., 3] at floor points (x, y) [...] (2D arrays of equal shape)."""
        map_x = ((x + self.extent) * self.px_per_mm - 0.5).astype(np.float32)
        map_y = ((y + self.extent) * self.px_per_mm - 0.5).astype(np.float32)
        mix = cv2.remap(
            self.noise, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )[..., None]
        radius = np.hypot(x, y)[..., None]
        arena = ARENA_DARK + mix * (ARENA_LIGHT - ARENA_DARK)
        table = TABLE_DARK + mix * (TABLE_LIGHT - TABLE_DARK)
        colour = np.where(radius <= self.arena_radius, arena, table)
        colour = np.where(np.abs(radius - self.arena_radius) < RIM_WIDTH, RIM, colour)
        return np.asarray(colour, dtype=np.float32)


def make_floor(
    rng: np.random.Generator,
    arena_radius: float,
    extent: float = FLOOR_EXTENT,
    px_per_mm: float = FLOOR_PX_PER_MM,
) -> FloorTexture:
    """The floor: coarse blotches (320 and 96 mm) over fine grain (24 and 8 mm)."""
    size = round(2 * extent * px_per_mm)
    coarse = value_noise(rng, (size, size), (160.0, 48.0))
    fine = value_noise(rng, (size, size), (12.0, 4.0))
    noise = np.ascontiguousarray(0.55 * coarse + 0.45 * fine, dtype=np.float32)
    return FloorTexture(noise, extent, px_per_mm, arena_radius)


@dataclass(frozen=True)
class SkinPattern:
    """Per-primitive 3D sinusoids: ``g(q) = mean_k sin(freq_k . q + phase_k)`` with ``q`` the hit
    point in the part's frame (mm). Shapes: freq [P, F, 3] (rad/mm), phase [P, F]."""

    freq: NDArray[np.float32]
    phase: NDArray[np.float32]

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        n_primitives: int,
        n_waves: int = 4,
        wavelength: tuple[float, float] = (9.0, 24.0),
    ) -> SkinPattern:
        direction = rng.standard_normal((n_primitives, n_waves, 3))
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        lengths = rng.uniform(*wavelength, (n_primitives, n_waves, 1))
        freq = (2.0 * np.pi / lengths * direction).astype(np.float32)
        phase = rng.uniform(0.0, 2.0 * np.pi, (n_primitives, n_waves)).astype(np.float32)
        return cls(freq, phase)

    def value(self, index: int, local: Float32Array) -> Float32Array:
        """Pattern in [-1, 1] at local points [N, 3] of primitive ``index``."""
        waves = np.sin(local @ self.freq[index].T + self.phase[index])
        return np.asarray(waves.mean(axis=-1), dtype=np.float32)


@dataclass(frozen=True)
class MipTexture:
    """A grey texture (float32, 0-1) and its successive 2x box-filtered halvings, for sampling
    without aliasing: texel i of level L covers texels [i 2^L, (i + 1) 2^L) of level 0, so a
    level-0 coordinate u is ``(u + 0.5) / 2^L - 0.5`` at level L."""

    levels: tuple[Float32Array, ...]

    @classmethod
    def build(cls, image: Float32Array, n_levels: int = 6, fill: float = 1.0) -> MipTexture:
        block = 2 ** (n_levels - 1)
        height, width = image.shape
        padded = np.full((-(-height // block) * block, -(-width // block) * block), fill)
        padded[:height, :width] = image
        levels = [padded.astype(np.float32)]
        for _ in range(n_levels - 1):
            h, w = levels[-1].shape
            halved = levels[-1].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
            levels.append(np.ascontiguousarray(halved, dtype=np.float32))
        return cls(tuple(levels))

    def sample(self, u: Float32Array, v: Float32Array, footprint: float) -> Float32Array:
        """Bilinear values at level-0 coordinates (u, v) from the level whose texels are about
        ``footprint`` level-0 texels wide (the spacing of the samples on the texture)."""
        level = int(np.clip(np.round(np.log2(max(footprint, 1.0))), 0, len(self.levels) - 1))
        scale = np.float32(0.5**level)
        out = cv2.remap(
            self.levels[level],
            ((u + np.float32(0.5)) * scale - np.float32(0.5)).astype(np.float32),
            ((v + np.float32(0.5)) * scale - np.float32(0.5)).astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=1.0,
        )
        return np.asarray(out, dtype=np.float32)
