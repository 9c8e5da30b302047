"""An LRU cache of feature pyramids of frame ranges, bounded in bytes.

The predictor computes the features of a video's frames in ranges (a window of the windowed
sweeps, a block of the streaming sweeps) and keeps them here, keyed by the video's identity and
the range, so that a second sweep or a re-track of the same video (a corrected label) re-runs
only the iterative part. At 384 × 512 a frame's pyramid costs ≈ 8.4 MB.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import torch

Pyramid = list[torch.Tensor]  # [(1, T, C, H_i, W_i)] one tensor per level


class FeatureCache:
    """Pyramids of frame ranges, least recently used evicted first, within ``budget`` bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._entries: OrderedDict[Hashable, Pyramid] = OrderedDict()
        self._frame_bytes = 0  # of the last computed pyramid (0: not known yet)

    def clear(self) -> None:
        self._entries.clear()

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached pyramids."""
        return sum(nbytes(pyramid) for pyramid in self._entries.values())

    def get(
        self, key: Hashable, frames: int, compute: Callable[[], Pyramid], *, estimate: int
    ) -> Pyramid:
        """The pyramid cached under ``key`` (``frames`` frames), or ``compute()``'s, cached
        while it fits. Room is made before computing (older entries evicted) so that the cache
        and the new pyramid stay within the budget together; ``estimate`` is the bytes per frame
        to assume before the first pyramid is known."""
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return cached
        self._make_room(frames * (self._frame_bytes or estimate))
        pyramid = compute()
        size = nbytes(pyramid)
        self._frame_bytes = size // max(1, frames)
        if size <= self.budget:
            self._make_room(size)
            self._entries[key] = pyramid
        return pyramid

    def _make_room(self, size: int) -> None:
        while self._entries and self.nbytes + size > self.budget:
            self._entries.popitem(last=False)


def nbytes(pyramid: Pyramid) -> int:
    return sum(level.element_size() * level.nelement() for level in pyramid)


def pyramid_bytes(frames: int, h: int, w: int) -> int:
    """Estimated bytes of the float32 pyramid of ``frames`` frames at model resolution h × w."""
    per_frame = sum(128 * (h // 4 >> i) * (w // 4 >> i) * 4 for i in range(4))
    return frames * per_frame
