"""BootsTAPIR as a PointTracker: the adapter between pose3d's tracker contract and the predictor.

What it converts, once:

- frames: any :class:`~pose3d.tracking.base.Frames` is read into one ``(T, h, w, 3)`` uint8
  array at the predictor's model size (``model_size``: 384 × 512 for 480 × 640 frames), resized
  as they are read (bilinear, ``align_corners=False``, the network's convention) so a clip costs
  0.6 MB per frame at 384 × 512; queries are scaled as raster pixels
  (``x' = (x + 0.5) · w / W − 0.5``) and the tracks scaled back;
- queries and results: pose3d's ``(t, x, y)`` and ``(T, N, ...)`` arrays are the predictor's
  (it converts to the network's raster ``(t, y, x)`` itself); ``fb_error`` is not measured.

Progress counts the frames read, then the frames tracked (2 T in all); cancel is checked per
frame read and per window tracked.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray

from pose3d.tracking.base import Frames, TrackProgress, TrackResult, check_cancel, check_queries
from pose3d.tracking.tapir import build_tapir, load_checkpoint
from pose3d.tracking.tapir.predictor import TapirPredictor, model_size


class TapirTracker:
    """A BootsTAPIR predictor behind the PointTracker interface."""

    name: ClassVar[str] = "tapir"

    def __init__(self, predictor: TapirPredictor) -> None:
        self.predictor = predictor

    @classmethod
    def from_weights(
        cls, path: str | Path, variant: str = "offline", device: str | None = None
    ) -> TapirTracker:
        """Build the ``variant`` network, load ``path`` strictly, wrap it in a predictor.

        The online (causal) network is tracked like the offline one, in windows: its result at
        a frame then depends on the frames before it in the window only."""
        network = load_checkpoint(build_tapir(variant), path)
        if device is not None:
            network = network.to(device)
        return cls(TapirPredictor(network, device=device))

    def track(
        self,
        video_frames: Frames,
        queries: ArrayLike,
        *,
        progress: TrackProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> TrackResult:
        """video_frames  T frames (H, W, 3) RGB uint8;  queries  (N, 3) as (t, x, y) px
        returns TrackResult (T, N, ...) in the frames' pixels (fb_error None)."""
        n_frames = len(video_frames)
        q = check_queries(queries, n_frames)
        clip, (height, width) = self._read(video_frames, progress, cancel)
        h, w = clip.shape[1:3]
        scale = np.array([w / width, h / height])
        model_queries = q.copy()
        model_queries[:, 1:] = (q[:, 1:] + 0.5) * scale - 0.5

        def tracked(done: int, total: int) -> None:
            if progress is not None:
                progress(n_frames + done, 2 * n_frames)

        result = self.predictor.track(clip, model_queries, progress=tracked, cancel=cancel)
        tracks = ((result.tracks + 0.5) / scale - 0.5).astype(np.float32)  # (T, N, 2)
        tracks[q[:, 0].astype(np.int64), np.arange(len(q))] = q[:, 1:]  # the query is exact
        return TrackResult(tracks, result.visibility, result.confidence, None)

    def _read(
        self, frames: Frames, progress: TrackProgress | None, cancel: threading.Event | None
    ) -> tuple[NDArray[np.uint8], tuple[int, int]]:
        """The clip as (T, h, w, 3) uint8 at the model size, and the frames' (H, W)."""
        n_frames = len(frames)
        first = frames[0]
        height, width = first.shape[:2]
        size = model_size(height, width, self.predictor.max_side)
        resize = size != (height, width)
        clip = np.empty((n_frames, *size, 3), np.uint8)
        for i in range(n_frames):
            check_cancel(cancel)
            frame = first if i == 0 else frames[i]
            clip[i] = _resize(frame, size) if resize else frame
            if progress is not None:
                progress(i, 2 * n_frames)
        return clip, (height, width)


def _resize(frame: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    """(H, W, 3) uint8 -> (h, w, 3) uint8, bilinear with align_corners=False."""
    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
    resized = F.interpolate(image, size, mode="bilinear", align_corners=False)
    return resized[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
