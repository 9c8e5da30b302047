"""The classical tracker: pyramidal Lucas–Kanade with a forward–backward check (no weights).

Each query is tracked frame to frame, forward from its frame to the end of the clip and
backward to its start (``cv2.calcOpticalFlowPyrLK`` on the RGB frames, or grey ones with
``color=False``). Every step is checked three ways:

- forward–backward: the step is tracked back from the new position; the round trip should land
  where it started (Kalal et al. 2010). ``fb_error`` is that distance in pixels;
- appearance: the patch at the new position is compared (normalised cross-correlation) with the
  patch at the query, which catches a point that slid onto an occluder or the background;
- the new position lies in the image and LK converged.

``visibility`` (per frame) = round-trip agreement × appearance agreement of the step that reached
the frame; ``confidence`` (the probability that the position is right, were the point visible)
is the product of the round-trip agreements of every step since the query, so a track that went
wrong once stays doubtful. A failed step keeps the last position (visibility 0) and tracking
continues from there.

Memory is bounded for any video length: the forward pass reads frame by frame, the backward pass
reads blocks of ``block`` frames forward and walks them backward (video decoders read forward).
OpenCV's sparse RLOF (``cv2.optflow.calcOpticalFlowSparseRLOF``) was tried as the step: its
Python binding in opencv-contrib 4.14 returns garbage for valid input, so LK it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from pose3d.errors import Pose3dError
from pose3d.tracking.base import (
    Frame,
    Frames,
    TrackProgress,
    TrackResult,
    check_cancel,
    check_queries,
    iter_backward,
)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Image = NDArray[np.uint8]  # (H, W, 3) RGB or (H, W) grey


@dataclass(frozen=True)
class ClassicalTracker:
    """Lucas–Kanade point tracker (see the module docstring); satisfies PointTracker.

    window: LK window (px, odd; None: about 1/200 of the frame width, 7 px at 640 × 480 and
    13 px at 1280 × 1024, the best of 7–21 px on the synthetic and the sleap-anipose videos);
    small windows follow small parts (paws, nose) without being dragged by the background.
    levels: pyramid levels (motion up to ~window/2 · 2^levels px per frame).
    color: track on RGB (better than grey on both test sets).
    fb_tolerance, fb_scale: a step's round-trip agreement is
    exp(-((fb_error - fb_tolerance) / fb_scale)²), 1 below the tolerance (px).
    template: side of the appearance patch (px, odd).
    min_similarity: correlation with the query's patch below which a point counts as hidden.
    block: frames held by the backward pass.
    """

    name: ClassVar[str] = "classical"

    window: int | None = None
    levels: int = 4
    color: bool = True
    fb_scale: float = 1.0
    fb_tolerance: float = 0.25
    template: int = 9
    min_similarity: float = 0.3
    block: int = 32
    iterations: int = 30
    _criteria: tuple[int, int, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("window", "template"):
            value = getattr(self, name)
            if value is not None and (value < 3 or value % 2 == 0):
                raise Pose3dError(f"ClassicalTracker.{name} must be odd and >= 3, got {value}")
        if not 0 <= self.levels <= 8:
            raise Pose3dError(f"ClassicalTracker.levels must be 0..8, got {self.levels}")
        if self.fb_scale <= 0 or self.fb_tolerance < 0 or self.block < 1:
            raise Pose3dError(
                "ClassicalTracker needs fb_scale > 0, fb_tolerance >= 0 and block >= 1, got "
                f"{self.fb_scale}, {self.fb_tolerance}, {self.block}"
            )
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, self.iterations, 0.01)
        object.__setattr__(self, "_criteria", criteria)

    def track(
        self,
        video_frames: Frames,
        queries: ArrayLike,
        *,
        progress: TrackProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> TrackResult:
        """video_frames  T frames (H, W, 3) RGB uint8;  queries  (N, 3) as (t, x, y) px
        returns TrackResult (T, N, ...) with fb_error."""
        n_frames = len(video_frames)
        q = check_queries(queries, n_frames)
        n = len(q)
        out = _Output.empty(n_frames, n)
        if n == 0:
            return out.result()
        own = q[:, 0].astype(np.int64)
        index = np.arange(n)
        out.tracks[own, index] = q[:, 1:]
        out.visibility[own, index] = 1.0
        out.confidence[own, index] = 1.0
        out.fb_error[own, index] = 0.0
        first, last = int(own.min()), int(own.max())
        total = (n_frames - 1 - first) + last
        done = [0]

        def tick() -> None:
            check_cancel(cancel)
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

        check_cancel(cancel)
        forward = (video_frames[i] for i in range(first, n_frames))
        self._pass(forward, range(first, n_frames), q, out, tick)
        backward = iter_backward(video_frames, 0, last + 1, self.block)
        self._pass(backward, range(last, -1, -1), q, out, tick)
        return out.result()

    def _image(self, frame: Frame) -> Image:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise Pose3dError(
                f"frames must be RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}; read them "
                "with pose3d.io.video_reading.VideoReader"
            )
        if self.color:
            return np.ascontiguousarray(frame)
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))

    def _pass(
        self,
        frames: Iterable[Frame],
        order: range,
        queries: FloatArray,
        out: _Output,
        tick: Callable[[], None],
    ) -> None:
        """Track every query from its frame along ``order`` (frame indices, +1 or -1 steps);
        ``frames`` yields the frames of ``order``."""
        own = queries[:, 0].astype(np.int64)
        n = len(queries)
        position = np.zeros((n, 2))
        agreement = np.zeros(n)  # product of the round-trip agreements since the query
        active = np.zeros(n, bool)
        templates = np.zeros((n, self.template * self.template * (3 if self.color else 1)))
        previous: Image | None = None
        for t, frame in zip(order, _checked_length(frames, len(order)), strict=True):
            image = self._image(frame)
            if previous is not None and active.any():
                self._step(previous, image, t, position, agreement, active, templates, out)
                tick()
            elif previous is not None:
                tick()
            starting = own == t
            if starting.any():
                position[starting] = queries[starting, 1:]
                agreement[starting] = 1.0
                active |= starting
                templates[starting] = _patches(image, position[starting], self.template)
            previous = image

    def _step(
        self,
        previous: Image,
        image: Image,
        t: int,
        position: FloatArray,
        agreement: FloatArray,
        active: BoolArray,
        templates: FloatArray,
        out: _Output,
    ) -> None:
        """Move the active points from ``previous`` to ``image`` (frame t), record frame t."""
        idx = np.flatnonzero(active)
        p0 = position[idx]
        p1, ok1 = self._lk(previous, image, p0)
        back, ok2 = self._lk(image, previous, p1)
        fb = np.linalg.norm(back - p0, axis=1)
        height, width = image.shape[:2]
        inside = (p1[:, 0] >= 0) & (p1[:, 0] <= width - 1) & (p1[:, 1] >= 0)
        inside &= p1[:, 1] <= height - 1
        ok = ok1 & ok2 & inside & np.isfinite(fb)
        fb = np.where(np.isfinite(fb), fb, np.inf)
        excess = np.maximum(fb - self.fb_tolerance, 0.0) / self.fb_scale
        step = np.where(ok, np.exp(-(excess**2)), 0.0)
        new = np.where(ok1[:, None] & np.isfinite(p1), p1, p0)
        similarity = _ncc(_patches(image, new, self.template), templates[idx])
        looks = np.clip((similarity - self.min_similarity) / (1 - self.min_similarity), 0, 1)
        agreement[idx] *= step
        position[idx] = new
        # a pass only moves points away from their query frame: t is never a query's own frame
        out.tracks[t, idx] = new
        out.visibility[t, idx] = step * looks
        out.confidence[t, idx] = agreement[idx]
        out.fb_error[t, idx] = np.where(ok, fb, np.nan)

    def _lk(self, a: Image, b: Image, points: FloatArray) -> tuple[FloatArray, BoolArray]:
        """LK from image a to b: new points (N, 2) and whether LK converged (N,)."""
        start = points.astype(np.float32).reshape(-1, 1, 2)
        window = self.window or auto_window(a.shape[1])
        found, status, _ = cv2.calcOpticalFlowPyrLK(
            a,
            b,
            start,
            start.copy(),  # output only (no OPTFLOW_USE_INITIAL_FLOW)
            winSize=(window, window),
            maxLevel=self.levels,
            criteria=self._criteria,
        )
        return found.reshape(-1, 2).astype(np.float64), status.ravel().astype(bool)


def auto_window(width: int) -> int:
    """The LK window for frames ``width`` px wide: odd, about width / 200, at least 5."""
    return max(5, 2 * round(width / 200) + 1)


@dataclass
class _Output:
    """The arrays a track() call fills: (T, N, 2) tracks and (T, N) per-frame values."""

    tracks: FloatArray
    visibility: FloatArray
    confidence: FloatArray
    fb_error: FloatArray

    @classmethod
    def empty(cls, n_frames: int, n: int) -> _Output:
        return cls(
            np.full((n_frames, n, 2), np.nan),
            np.zeros((n_frames, n)),
            np.zeros((n_frames, n)),
            np.full((n_frames, n), np.nan),
        )

    def result(self) -> TrackResult:
        f32 = np.float32
        return TrackResult(
            self.tracks.astype(f32),
            self.visibility.astype(f32),
            self.confidence.astype(f32),
            self.fb_error.astype(f32),
        )


def _checked_length(frames: Iterable[Frame], expected: int) -> Iterator[Frame]:
    count = 0
    for frame in frames:
        count += 1
        yield frame
    if count != expected:
        raise Pose3dError(f"the clip yielded {count} frames, expected {expected}")


def _patches(image: Image, points: FloatArray, size: int) -> FloatArray:
    """Sub-pixel patches (size × size) at points (N, 2) (x, y), flattened: (N, size² · C)."""
    rows = [
        cv2.getRectSubPix(image, (size, size), (float(x), float(y))).astype(np.float64).ravel()
        for x, y in points
    ]
    return np.stack(rows) if rows else np.zeros((0, size * size))


def _ncc(a: FloatArray, b: FloatArray) -> FloatArray:
    """Normalised cross-correlation of rows of a and b (N, D) -> (N,), 0 for flat patches."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (a * b).sum(axis=1) / norm
    return np.where(norm > 1e-9, value, 0.0)
