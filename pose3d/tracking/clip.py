"""Reading a clip for a learned tracker: every frame read once, resized to the network's size
as it is read (so the clip costs the model size, not the video's), with progress and cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from pose3d.tracking.base import Frames, TrackProgress, check_cancel

# (frame height, frame width) -> (h, w) the clip is read at
SizeRule = Callable[[int, int], tuple[int, int]]


def read_clip(
    frames: Frames,
    size_for: SizeRule,
    *,
    align_corners: bool,
    progress: TrackProgress | None = None,
    cancel: threading.Event | None = None,
    total: int | None = None,
) -> tuple[NDArray[np.uint8], tuple[int, int]]:
    """The clip as (T, h, w, 3) uint8 at ``size_for(H, W)`` (bilinear, the network's
    ``align_corners``), and the frames' (H, W). ``progress(i, total)`` per frame read (total
    defaults to T); cancel is checked per frame."""
    n_frames = len(frames)
    first = frames[0]
    height, width = first.shape[:2]
    size = size_for(height, width)
    resize = size != (height, width)
    clip = np.empty((n_frames, *size, 3), np.uint8)
    for i in range(n_frames):
        check_cancel(cancel)
        frame = first if i == 0 else frames[i]
        clip[i] = resize_frame(frame, size, align_corners) if resize else frame
        if progress is not None:
            progress(i, total or n_frames)
    return clip, (height, width)


def resize_frame(
    frame: NDArray[np.uint8], size: tuple[int, int], align_corners: bool
) -> NDArray[np.uint8]:
    """(H, W, 3) uint8 -> (h, w, 3) uint8, bilinear."""
    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
    resized = F.interpolate(image, size, mode="bilinear", align_corners=align_corners)
    return resized[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
