"""A point-only moving subject: a chain of keypoints with constant bone lengths.

Ground truth for triangulation tests and benchmarks, where no rendering is needed: the root walks
over the arena and every segment turns and sways over time, so smoothness and bone-length terms
have something real to hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray


def moving_chain(
    rng: np.random.Generator, n_frames: int, n_keypoints: int, speed: float = 1.0
) -> NDArray[np.float64]:
    """[T, K, 3] mm: a chain of keypoints with constant bone lengths (20-40 mm) that walks and
    turns through the arena; ``speed`` scales how far it moves per frame (1 = 30 fps)."""
    t = np.arange(n_frames) * speed / 30.0
    root = np.stack(
        [150 * np.sin(0.9 * t), 120 * np.sin(0.6 * t + 1.0), 90 + 30 * np.sin(1.7 * t)], -1
    )
    directions = rng.normal(size=(n_keypoints - 1, 3))
    directions[:, 2] *= 0.3
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    lengths = rng.uniform(20.0, 40.0, n_keypoints - 1)
    out = np.empty((n_frames, n_keypoints, 3))
    out[:, 0] = root
    for k in range(1, n_keypoints):
        angle = 0.8 * t + 0.4 * np.sin(2.3 * t + k)
        c, sn = np.cos(angle), np.sin(angle)
        d = directions[k - 1]
        rotated = np.stack([c * d[0] - sn * d[1], sn * d[0] + c * d[1], np.full_like(t, d[2])], -1)
        out[:, k] = out[:, k - 1] + lengths[k - 1] * rotated
    return out


def chain_edges(keypoints: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The bones of a chain: each keypoint joined to the next."""
    return tuple(pairwise(keypoints))
