"""Tiny synthetic videos whose frames encode their index, so that frame-exactness is checked
exactly: the left half of frame i is flat grey at i * STEP (``which_frame`` reads it back)."""

from __future__ import annotations

import numpy as np

N, W, H, FPS, GOP, STEP = 40, 64, 48, 25, 10, 6
VIDEO_SUFFIXES = [".mp4", ".avi", ".mkv", ".mov"]


TEXTURE = np.random.default_rng(0).integers(0, 256, (H, W), dtype=np.uint8)


def indexed_frame(i: int) -> np.ndarray:
    """Frame i: left half flat grey i * STEP; right half a texture moving 1 px per frame, which
    H.264 codes with B-frames (stored after the later frame they refer to)."""
    frame = np.empty((H, W, 3), np.uint8)
    frame[:, : W // 2] = i * STEP
    frame[:, W // 2 :] = np.roll(TEXTURE, i, axis=1)[:, : W // 2, None]
    return frame


def which_frame(frame: np.ndarray) -> int:
    """The index a decoded frame encodes; fails if the grey level is ambiguous."""
    assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
    level = float(frame[:, : W // 2].mean())
    index = round(level / STEP)
    assert abs(level - index * STEP) < 2, f"grey level {level} is between two frames"
    return index
