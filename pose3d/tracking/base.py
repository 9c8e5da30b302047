"""The point-tracker contract: ``PointTracker.track(video_frames, queries) -> TrackResult``.

Conventions, the same for every tracker (adapters convert once, at their boundary):

- ``video_frames``: any :class:`Frames` — a sequence of RGB uint8 frames ``(H, W, 3)`` with
  ``len()`` and ``[i]`` (a ``(T, H, W, 3)`` numpy array, a
  :class:`pose3d.io.video_reading.VideoReader`, a :class:`FrameWindow` of either). Frame ``i``
  of the clip is time ``i`` of the queries.
- ``queries``: ``(N, 3)`` as ``(t, x, y)``: integer frame of the clip, then pixels with the
  centre of the top-left pixel at ``(0, 0)`` (labels.nc's convention). Never ``(t, y, x)``.
- ``TrackResult``: ``tracks (T, N, 2)`` as ``(x, y)`` pixels, ``visibility (T, N)`` and
  ``confidence (T, N)`` in [0, 1], and — where the tracker measures it — ``fb_error (T, N)``,
  the forward-backward round-trip distance in pixels of the step that reached each frame.
  At a query's own frame the track is the query, visibility and confidence 1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pose3d.errors import Pose3dError

Frame = NDArray[np.uint8]  # (H, W, 3) RGB
FloatArray = NDArray[np.float32]
# tracker progress: (frames done, frames total) within one track() call
TrackProgress = Callable[[int, int], None]


class TrackingCancelled(Pose3dError):
    """The user cancelled tracking (the cancel event was set); nothing was written."""


class Frames(Protocol):
    """A clip: ``len(frames)`` frames, ``frames[i]`` RGB uint8 ``(H, W, 3)``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> Frame: ...


@dataclass(frozen=True)
class FrameWindow:
    """Frames ``start .. stop - 1`` of ``source`` as a clip of its own (frame 0 = ``start``).

    Reads lazily: nothing is decoded until a frame is asked for.
    """

    source: Frames
    start: int
    stop: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.stop <= len(self.source):
            raise Pose3dError(
                f"frame window {self.start}:{self.stop} does not fit a clip of "
                f"{len(self.source)} frames; expected 0 <= start < stop <= {len(self.source)}"
            )

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index: int, /) -> Frame:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} outside a window of {len(self)} frames")
        return self.source[self.start + index]


def iter_backward(frames: Frames, start: int, stop: int, block: int = 32) -> Iterator[Frame]:
    """Frames ``stop - 1`` down to ``start``, read forward in blocks of ``block`` frames.

    Video decoders read forward; reading each frame backward would seek (decode from the last
    keyframe) per frame. Memory: at most ``block`` frames.
    """
    end = stop
    while end > start:
        first = max(start, end - block)
        chunk = [frames[i] for i in range(first, end)]
        yield from reversed(chunk)
        end = first


@dataclass(frozen=True)
class TrackResult:
    """Tracks of N queries through a clip of T frames (see the module docstring)."""

    tracks: FloatArray  # (T, N, 2) (x, y) px
    visibility: FloatArray  # (T, N) probability that the point is in view
    confidence: FloatArray  # (T, N) probability that the position is right
    fb_error: FloatArray | None = None  # (T, N) forward-backward px; NaN where not measured

    def __post_init__(self) -> None:
        tracks = np.asarray(self.tracks, dtype=np.float32)
        if tracks.ndim != 3 or tracks.shape[2] != 2:
            raise ValueError(f"tracks must be (T, N, 2) as (x, y), got shape {tracks.shape}")
        object.__setattr__(self, "tracks", tracks)
        for name in ("visibility", "confidence", "fb_error"):
            value = getattr(self, name)
            if value is None:
                continue
            array = np.asarray(value, dtype=np.float32)
            if array.shape != tracks.shape[:2]:
                raise ValueError(f"{name} must be (T, N) = {tracks.shape[:2]}, got {array.shape}")
            object.__setattr__(self, name, array)

    @property
    def n_frames(self) -> int:
        return int(self.tracks.shape[0])

    @property
    def n_queries(self) -> int:
        return int(self.tracks.shape[1])


@runtime_checkable
class PointTracker(Protocol):
    """Tracks query points through a clip (see the module docstring for the conventions)."""

    @property
    def name(self) -> str:
        """The tracker's name, as ``pose3d track --tracker`` spells it."""
        ...

    def track(
        self,
        video_frames: Frames,
        queries: ArrayLike,
        *,
        progress: TrackProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> TrackResult:
        """video_frames  T frames (H, W, 3) uint8;  queries  (N, 3) as (t, x, y)
        returns TrackResult with (T, N, ...) arrays. Setting ``cancel`` raises
        TrackingCancelled; ``progress(done, total)`` counts frames."""
        ...


def check_queries(queries: ArrayLike, n_frames: int) -> NDArray[np.float64]:
    """Queries as float ``(N, 3)`` ``(t, x, y)``; raise Pose3dError unless every ``t`` is a whole
    frame in ``[0, n_frames)`` and every value finite."""
    array = np.asarray(queries, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3:
        raise Pose3dError(f"queries must be (N, 3) as (t, x, y), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise Pose3dError("queries must be finite: drop the points without a label (NaN) first")
    t = array[:, 0]
    bad = (t != np.round(t)) | (t < 0) | (t >= n_frames)
    if bad.any():
        i = int(np.argmax(bad))
        raise Pose3dError(
            f"query {i} is at frame {t[i]:g}; query frames must be whole numbers in "
            f"[0, {n_frames}) for a clip of {n_frames} frames"
        )
    return array


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise TrackingCancelled when ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise TrackingCancelled("tracking cancelled; labels.nc is unchanged")
