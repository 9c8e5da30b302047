"""BootsTAPIR as a PointTracker: the adapter between pose3d's tracker contract and the predictor.

What it converts, once:

- frames: any :class:`~pose3d.tracking.base.Frames` is read into one ``(T, h, w, 3)`` uint8
  array at the predictor's model size (``model_size``: 256 × 256 by default, 384 × 512 for
  480 × 640 frames with ``max_side=512``), resized as they are read (bilinear,
  ``align_corners=False``, the network's convention) so a clip costs 0.2 MB per frame at
  256 × 256, 0.6 MB at 384 × 512; queries are scaled as raster pixels
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
from numpy.typing import ArrayLike

from pose3d.tracking.base import Frames, TrackProgress, TrackResult, check_queries
from pose3d.tracking.clip import clip_for
from pose3d.tracking.tapir import build_tapir, load_checkpoint
from pose3d.tracking.tapir.predictor import MAX_SIDE, TapirPredictor, model_size


class TapirTracker:
    """A BootsTAPIR predictor behind the PointTracker interface."""

    name: ClassVar[str] = "tapir"

    def __init__(self, predictor: TapirPredictor) -> None:
        self.predictor = predictor

    @classmethod
    def from_weights(
        cls,
        path: str | Path,
        variant: str = "offline",
        device: str | None = None,
        max_side: int = MAX_SIDE,
    ) -> TapirTracker:
        """Build the ``variant`` network, load ``path`` strictly, wrap it in a predictor (the
        offline network tracks windows of the clip, the online one streams it) that tracks at
        ``model_size(H, W, max_side)``."""
        network = load_checkpoint(build_tapir(variant, device="meta"), path, assign=True)
        if device is not None:
            network = network.to(device)
        return cls(TapirPredictor(network, max_side=max_side, device=device))

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
        clip, (height, width) = clip_for(
            video_frames,
            self._size,
            align_corners=False,
            progress=progress,
            cancel=cancel,
            total=2 * n_frames,
            progress_as_read=False,  # read as tracked: the tracking's progress says it all
        )
        read_first = isinstance(clip, np.ndarray)
        h, w = clip.shape[1:3]
        scale = np.array([w / width, h / height])
        model_queries = q.copy()
        model_queries[:, 1:] = (q[:, 1:] + 0.5) * scale - 0.5

        def tracked(done: int, total: int) -> None:
            if progress is not None:
                progress(n_frames + done if read_first else 2 * done, 2 * n_frames)

        result = self.predictor.track(clip, model_queries, progress=tracked, cancel=cancel)
        tracks = ((result.tracks + 0.5) / scale - 0.5).astype(np.float32)  # (T, N, 2)
        tracks[q[:, 0].astype(np.int64), np.arange(len(q))] = q[:, 1:]  # the query is exact
        return TrackResult(tracks, result.visibility, result.confidence, None)

    def _size(self, height: int, width: int) -> tuple[int, int]:
        return model_size(height, width, self.predictor.max_side)
