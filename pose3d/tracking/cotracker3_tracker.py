"""CoTracker3 as a PointTracker: the adapter between pose3d's tracker contract and the predictor.

What it converts, once:

- frames: any :class:`~pose3d.tracking.base.Frames` (a video reader, a window of it) is read into
  one ``(T, h, w, 3)`` uint8 array. Frames larger than the model resolution are resized to it as
  they are read (bilinear, ``align_corners=True``, the predictor's own convention), so a clip
  costs 0.6 MB per frame at 384 × 512 instead of its full size; queries are scaled by
  ``(w − 1)/(W − 1)``, ``(h − 1)/(H − 1)`` and the tracks scaled back (pixel centres map onto
  pixel centres);
- queries and results: pose3d's ``(t, x, y)`` and ``(T, N, ...)`` arrays are the predictor's, so
  nothing is reordered; ``fb_error`` is not measured (None).

Memory: the clip itself costs 0.6 MB per frame at 384 × 512; the predictor's own memory does
not grow with the clip (windows offline, streaming online, a bounded feature cache; see
docs/tracking.md and benchmarks/tracking.py).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from pose3d.tracking.base import Frames, TrackProgress, TrackResult, check_cancel, check_queries
from pose3d.tracking.clip import clip_for
from pose3d.tracking.cotracker3 import CoTracker3Predictor, build_cotracker3, load_checkpoint


class CoTracker3Tracker:
    """A CoTracker3 predictor behind the PointTracker interface."""

    name: ClassVar[str] = "cotracker3"

    def __init__(self, predictor: CoTracker3Predictor) -> None:
        self.predictor = predictor

    @classmethod
    def from_weights(
        cls, path: str | Path, variant: str = "offline", device: str | None = None
    ) -> CoTracker3Tracker:
        """Build the ``variant`` network, load ``path`` strictly, wrap it in a predictor."""
        network = load_checkpoint(build_cotracker3(variant), path)
        if device is not None:
            network = network.to(device)
        return cls(CoTracker3Predictor(network, device=device))

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
            video_frames, self._size, align_corners=True, progress=progress, cancel=cancel
        )
        h, w = clip.shape[1:3]
        scale = np.array([(w - 1) / max(width - 1, 1), (h - 1) / max(height - 1, 1)])
        model_queries = q.copy()
        model_queries[:, 1:] *= scale  # (N, 3) (t, x, y) in clip pixels
        result = self.predictor.track(clip, model_queries.astype(np.float32))
        check_cancel(cancel)
        if progress is not None:
            progress(n_frames, n_frames)
        tracks = (result.tracks / scale).astype(np.float32)  # (T, N, 2) back to the frames' pixels
        tracks[q[:, 0].astype(np.int64), np.arange(len(q))] = q[:, 1:]  # the query is exact
        return TrackResult(tracks, result.visibility, result.confidence, None)

    def _size(self, height: int, width: int) -> tuple[int, int]:
        """The model resolution for frames larger than it, else the frames' own size."""
        h, w = self.predictor.resolution
        return (h, w) if height * width > h * w else (height, width)
