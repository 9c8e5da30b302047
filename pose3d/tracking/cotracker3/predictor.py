"""The user-facing CoTracker3 tracker: frames of any size in, tracks in the video's pixels out.

What it adds to the network (SPEC.md §9):

- resizing: frames are resized to the model resolution (384×512, bilinear, align_corners=True)
  chunk by chunk; queries are scaled by ``(w − 1)/(W − 1)``, ``(h − 1)/(H − 1)`` and the
  tracks scaled back, so pixel centres map onto pixel centres;
- a support grid: 6×6 extra points tracked jointly with the queries in every run of the
  network (it tracks better with context), removed from the result. Each run gets a fresh grid
  on its seed frame: the first frame of a forward run (frame 0 of the clip, or of a window),
  the last frame of a reverse run. (The reference predictor keeps its frame-0 grid in the
  time-reversed run, where it starts on the last frame and the forward-only online network
  cannot use it.)
- backward tracking for the online variant, which only tracks forward: frames before a query's
  frame come from a run on the time-reversed clip (the offline variant predicts both ways);
- the query's own frame is the query: exact position, visibility and confidence 1;
- ``visible = visibility · confidence > 0.6`` (the rule of the reference evaluation and of its
  online predictor; the reference offline predictor thresholds visibility alone at 0.9);
- a feature cache: tracking new queries on the same video (a corrected label) re-runs only the
  iterative part, not the encoder (≈ half of the time).

Memory does not grow with the video's length, in two ways:

- the online variant streams (SPEC.md §8 streaming mode): 16-frame chunks that advance by 8
  frames over the whole clip, and, for backward tracking, over the time-reversed clip; the
  network holds one chunk of features, so the result is the whole clip's single run;
- the offline variant (and any network without streaming) tracks the clip in windows of
  ``window_len`` frames (60) that overlap by ``window_overlap`` frames. A forward sweep over the
  windows tracks each query from the first window holding its frame ("home" window); later
  windows re-seed it at their first frame from the stitched track (a query at that frame), and
  the tracks switch windows in the middle of each overlap. A reverse sweep fills the frames
  before the home window (offline) or before the query's frame (``backward_tracking``, on the
  window's features flipped in time in place), re-seeding at each window's last frame. A clip
  that fits one window gives exactly the single-run outputs.

Features are computed ``chunk_size`` frames at a time and kept in an LRU cache bounded by
``cache_bytes`` (≈ 8.4 MB per frame at 384×512): whole windows, or streaming blocks of
``chunk_size`` frames.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from pose3d.tracking.clip import Clip
from pose3d.tracking.cotracker3.cache import FeatureCache, pyramid_bytes
from pose3d.tracking.cotracker3.model import TrackerOutput
from pose3d.tracking.cotracker3.online import CoTracker3Online

MODEL_RESOLUTION = (384, 512)  # (h, w) the released checkpoints were trained at


class TrackingNetwork(Protocol):
    """What the predictor needs from a network: per-frame features, then tracking on them."""

    def features(self, video: torch.Tensor, chunk_size: int = ...) -> list[torch.Tensor]: ...

    def track(
        self, pyramid: list[torch.Tensor], queries: torch.Tensor, iters: int = ...
    ) -> TrackerOutput: ...


@dataclass(frozen=True)
class Tracks:
    """Tracks of N queries through T frames, in pixels of the input video."""

    tracks: NDArray[np.float32]  # (T, N, 2) (x, y), centre of the top-left pixel = (0, 0)
    visibility: NDArray[np.float32]  # (T, N) probability that the point is in view
    confidence: NDArray[np.float32]  # (T, N) probability that the position is right
    visible: NDArray[np.bool_]  # (T, N) visibility · confidence > threshold


def points_on_a_grid(size: int, extent: tuple[int, int]) -> torch.Tensor:
    """size × size points over a frame of extent (h, w), margin w/64, rows of constant y.

    returns  # (size², 2) as (x, y) pixels
    """
    h, w = extent
    if size == 1:
        return torch.tensor([[w / 2, h / 2]])
    margin = w / 64
    ys = torch.linspace(margin, h - margin, size)
    xs = torch.linspace(margin, w - margin, size)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1).reshape(-1, 2)


def check_video(video: Clip) -> tuple[int, int, int]:
    """Raise ValueError unless video is RGB uint8 (T, H, W, 3) with T ≥ 1, H, W ≥ 2; return
    (T, H, W)."""
    if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
        raise ValueError(
            f"video must be RGB uint8 frames (T, H, W, 3), got {video.dtype} {video.shape}; "
            "stack the frames of pose3d.io.video_reading readers"
        )
    t, h, w, _ = video.shape
    if t < 1 or h < 2 or w < 2:
        raise ValueError(f"video needs at least 1 frame of 2×2 pixels, got {video.shape}")
    return t, h, w


def check_track_queries(queries: NDArray[np.floating], frames: int) -> NDArray[np.float32]:
    """Raise ValueError unless queries is finite (N, 3) (t, x, y) with integer t in [0, frames)."""
    queries = np.asarray(queries)
    if queries.ndim != 2 or queries.shape[1] != 3:
        raise ValueError(f"queries must be (N, 3) as (t, x, y), got shape {queries.shape}")
    if not np.isfinite(queries).all():
        raise ValueError("queries must be finite: drop the points without a label (NaN) first")
    t = queries[:, 0]
    bad = (t != np.round(t)) | (t < 0) | (t >= frames)
    if bad.any():
        raise ValueError(
            f"query frames must be integers in [0, {frames}): query {int(np.argmax(bad))} has "
            f"t = {t[bad][0]}"
        )
    return queries.astype(np.float32)


class CoTracker3Predictor:
    """Track points through a video with a CoTracker3 network (weights already loaded)."""

    def __init__(
        self,
        network: TrackingNetwork,
        *,
        iters: int = 6,
        support_grid_size: int = 6,
        backward_tracking: bool | None = None,
        visible_threshold: float = 0.6,
        resolution: tuple[int, int] = MODEL_RESOLUTION,
        chunk_size: int = 2,
        window_len: int = 60,
        window_overlap: int = 12,
        cache_bytes: int = 512 << 20,
        device: str | torch.device | None = None,
    ) -> None:
        """backward_tracking None: on for the online variant, off for the offline one.
        resolution (h, w): what frames are resized to (multiples of 4, ≥ 32); smaller is faster
        and less accurate. chunk_size: frames resized and encoded at a time (the encoder's
        activations, ≈ 90 MB per frame at 384×512, set much of the peak memory).
        window_len, window_overlap: frames tracked at a time and shared by neighbouring windows
        (overlap ≤ window_len / 3; the online variant streams instead). cache_bytes: budget of
        the cached features."""
        h, w = resolution
        if h % 4 or w % 4 or min(h, w) < 32:
            raise ValueError(f"resolution must be multiples of 4 and ≥ 32, got {resolution}")
        if not 1 <= window_overlap <= window_len // 3:
            raise ValueError(
                f"need 1 ≤ window_overlap ≤ window_len / 3, got {window_len}, {window_overlap}"
            )
        self.window_len = window_len
        self.window_overlap = window_overlap
        self.cache_bytes = cache_bytes
        self.network = network
        self.iters = iters
        self.support_grid_size = support_grid_size
        if backward_tracking is None:
            backward_tracking = isinstance(network, CoTracker3Online)
        self.backward_tracking = backward_tracking
        self.visible_threshold = visible_threshold
        self.resolution = resolution
        self.chunk_size = chunk_size
        self.device = torch.device(device) if device is not None else _device_of(network)
        self._cache = FeatureCache(cache_bytes)

    def clear_cache(self) -> None:
        """Drop the cached features."""
        self._cache.clear()

    @property
    def cached_bytes(self) -> int:
        """Bytes held by the cached features."""
        return self._cache.nbytes

    def track(self, video: Clip, queries: NDArray[np.floating]) -> Tracks:
        """Track queries through the video.

        video    # (T, H, W, 3) RGB uint8
        queries  # (N, 3) as (t, x, y): integer frame, pixels (centre of top-left pixel = 0, 0)
        returns  Tracks with (T, N, ...) arrays in the video's pixels
        """
        frames, height, width = check_video(video)
        query_array = check_track_queries(queries, frames)
        n = query_array.shape[0]
        h, w = self.resolution
        to_model = torch.tensor([1.0, (w - 1) / (width - 1), (h - 1) / (height - 1)])
        key = getattr(video, "cache_key", None)  # a clip read as needed (pose3d.tracking.clip)
        if key is None:
            key = (video.shape, hashlib.blake2b(np.ascontiguousarray(video).data).hexdigest())
        with torch.inference_mode():
            model_queries = torch.from_numpy(query_array) * to_model  # (N, 3) model pixels
            if isinstance(self.network, CoTracker3Online):
                output = self._track_streams(self.network, video, key, model_queries)
            else:
                output = self._track_windows(video, key, model_queries)
            tracks = output.tracks / to_model[1:]  # (T, N, 2) video pixels
            visibility = output.visibility.clone()  # (T, N)
            confidence = output.confidence.clone()  # (T, N)
            index = torch.arange(n)
            own_frame = torch.from_numpy(query_array[:, 0]).long()  # (N,)
            tracks[own_frame, index] = torch.from_numpy(query_array[:, 1:])
            visibility[own_frame, index] = 1.0
            confidence[own_frame, index] = 1.0
            visible = visibility * confidence > self.visible_threshold
        return Tracks(
            tracks=tracks.numpy(),
            visibility=visibility.numpy(),
            confidence=confidence.numpy(),
            visible=visible.numpy(),
        )

    def windows(self, frames: int) -> list[tuple[int, int]]:
        """[(start, end)] windows over ``frames`` frames, evenly spaced, overlapping by at least
        ``window_overlap`` frames (one window when the clip fits)."""
        length = self.window_len
        if frames <= length:
            return [(0, frames)]
        step = length - self.window_overlap
        count = -(-(frames - length) // step) + 1
        starts = [round(k * (frames - length) / (count - 1)) for k in range(count)]
        return [(start, start + length) for start in starts]

    def support_queries(self, frame: int) -> torch.Tensor:
        """The support grid on ``frame``: (G, 3) as (t, x, y) model pixels, G = size² (0 off)."""
        if self.support_grid_size <= 0:
            return torch.zeros(0, 3)
        grid = points_on_a_grid(self.support_grid_size, self.resolution)  # (G, 2)
        return torch.cat([torch.full((len(grid), 1), float(frame)), grid], dim=1)

    def _track_streams(
        self,
        network: CoTracker3Online,
        video: Clip,
        key: tuple[object, ...],
        queries: torch.Tensor,
    ) -> TrackerOutput:
        """The online network streamed over the whole clip, and over the time-reversed clip for
        the frames before each query's frame (backward tracking).

        queries  # (N, 3) (t, x, y) model pixels
        returns  TrackerOutput with tracks (T, N, 2) model pixels, visibility, confidence (T, N)
        """
        forward = self._stream(network, video, key, queries, reverse=False)
        if not self.backward_tracking:
            return forward
        backward = self._stream(network, video, key, queries, reverse=True)
        before = torch.arange(video.shape[0])[:, None] < queries[None, :, 0].long()  # (T, N)
        return _where(before, backward, forward)

    def _stream(
        self,
        network: CoTracker3Online,
        video: Clip,
        key: tuple[object, ...],
        queries: torch.Tensor,
        *,
        reverse: bool,
    ) -> TrackerOutput:
        """One run of the online network's streaming mode over the clip (reversed: over the
        time-reversed clip, query frames t → T − 1 − t) with the support grid on the stream's
        first frame. Chunks of 16 frames advance by 8 (SPEC.md §8); the features of the 8 new
        frames of each chunk come from cached blocks of ``chunk_size`` frames, so memory holds
        one chunk, the cache and the (T, N) predictions, whatever the clip's length.

        queries  # (N, 3) (t, x, y) model pixels
        returns  TrackerOutput with tracks (T, N, 2) model pixels, visibility, confidence (T, N)
        """
        frames, n = video.shape[0], queries.shape[0]
        step, size = network.step, network.window_len
        local = queries.clone()
        if reverse:
            local[:, 0] = frames - 1 - local[:, 0]
        # the support grid on the stream's first frame: the last frame of the clip in reverse
        local = torch.cat([local, self.support_queries(0)])[None].to(self.device)  # (1, N + G, 3)
        network.init_video_online_processing()
        overlap: list[torch.Tensor] = []  # the previous chunk's second half
        for ind in range(0, max(frames - step, 1), step):
            first = ind + step if ind else 0  # new frames [first, last) of the chunk at ind
            new = self._stream_features(video, key, first, min(ind + size, frames), reverse)
            if ind:
                new = [torch.cat(pair, dim=1) for pair in zip(overlap, new, strict=True)]
            network.track_chunk(new, local, self.iters)
            overlap = [level[:, step:].clone() for level in new]  # not a view of the chunk
            del new
        del overlap
        output = network.stream_output()
        network.init_video_online_processing()  # drop the stream's state
        out = [o[0, :, :n].cpu() for o in output]  # (T, N, ...)
        if reverse:
            out = [o.flip(0) for o in out]
        return TrackerOutput(*out)

    def _stream_features(
        self,
        video: Clip,
        key: tuple[object, ...],
        first: int,
        last: int,
        reverse: bool,
    ) -> list[torch.Tensor]:
        """The pyramid of frames [first, last) of the stream: video frames first … last − 1, or
        reversed, frames T − 1 − first down to T − last; cut from cached blocks of
        ``chunk_size`` frames (block k holds frames k·chunk_size … (k + 1)·chunk_size − 1).

        returns  # [(1, last − first, C, h / 4 / 2^i, w / 4 / 2^i)]
        """
        frames, size = video.shape[0], self.chunk_size
        a, b = (frames - last, frames - first) if reverse else (first, last)
        parts = []
        for block in range(a - a % size, b, size):
            end = min(block + size, frames)
            pyramid = self._features(video, key, block, end)
            lo, hi = max(a, block) - block, min(b, end) - block
            parts.append([level[:, lo:hi] for level in pyramid])
        levels = [torch.cat(level_parts, dim=1) for level_parts in zip(*parts, strict=True)]
        return [level.flip(1) for level in levels] if reverse else levels

    def _track_windows(
        self, video: Clip, key: tuple[object, ...], queries: torch.Tensor
    ) -> TrackerOutput:
        """Stitched tracks of the queries (model pixels) over the windows of the video.

        queries  # (N, 3) (t, x, y) model pixels
        returns  TrackerOutput with tracks (T, N, 2) model pixels, visibility, confidence (T, N)
        """
        frames = video.shape[0]
        windows = self.windows(frames)
        t = queries[:, 0].long()  # (N,)
        home = torch.tensor(
            [next(i for i, (a, b) in enumerate(windows) if a <= int(f) < b) for f in t],
            dtype=torch.long,
        )  # (N,) first window holding each query's frame
        forward = self._sweep(video, key, windows, queries, home, reverse=False)
        if not self.backward_tracking:
            needed = home > 0
            if not needed.any():
                return forward
            starts = torch.tensor([a for a, _ in windows])[home]  # (N,)
            before = torch.arange(frames)[:, None] < starts[None, :]  # (T, N)
        else:
            needed = torch.ones_like(home, dtype=torch.bool)
            before = torch.arange(frames)[:, None] < t[None, :]  # (T, N)
        backward = self._sweep(video, key, windows, queries, home, reverse=True, only=needed)
        return _where(before, backward, forward)

    def _sweep(
        self,
        video: Clip,
        key: tuple[object, ...],
        windows: list[tuple[int, int]],
        queries: torch.Tensor,
        home: torch.Tensor,
        *,
        reverse: bool,
        only: torch.Tensor | None = None,
    ) -> TrackerOutput:
        """One sweep over the windows, forward or in reverse; tracks of the queries in ``only``.

        Forward: a window tracks the queries whose frame it holds, and re-seeds at its first
        frame those with earlier frames. Reverse: a query's home window tracks it (time-flipped
        for backward tracking), earlier windows re-seed it at their last frame. Every window
        also tracks a fresh support grid on its seed frame. Each window writes its frames from
        the middle of the overlap with the window before it (in sweep order), all of them in the
        query's home window.
        """
        frames, n = video.shape[0], queries.shape[0]
        tracks = torch.zeros(frames, n, 2)
        visibility = torch.zeros(frames, n)
        confidence = torch.zeros(frames, n)
        t = queries[:, 0].long()
        selected = torch.ones(n, dtype=torch.bool) if only is None else only
        order = range(len(windows) - 1, -1, -1) if reverse else range(len(windows))
        flip = reverse and self.backward_tracking
        for i in order:
            start, end = windows[i]
            if reverse:
                own = selected & (home == i)
                seeded = selected & (home > i)
            else:
                own = selected & (t >= start) & (t < end)
                seeded = selected & (t < start)
            active = own | seeded
            if not active.any():
                continue
            seed_frame = end - 1 if reverse else start
            local = queries[active].clone()  # (n_i, 3)
            is_seeded = seeded[active]
            local[:, 0] -= start
            local[is_seeded, 0] = float(seed_frame - start)
            local[is_seeded, 1:] = tracks[seed_frame, seeded]
            local = torch.cat([local, self.support_queries(seed_frame - start)])  # (n_i + G, 3)
            if flip:
                local[:, 0] = end - start - 1 - local[:, 0]
            out = self._run_window(self._features(video, key, start, end), local, flip=flip)
            out = [o[:, : len(is_seeded)] for o in out]  # (end - start, n_i, ...) without grid
            # frames this window writes, per active query: (end - start, n_i)
            offsets = torch.arange(start, end)[:, None]
            if reverse:
                limit = end if i + 1 == len(windows) else _middle(windows[i], windows[i + 1])
                writes = (offsets < limit) | (~is_seeded)[None, :]
            else:
                limit = start if i == 0 else _middle(windows[i - 1], windows[i])
                first = home[active] == i
                writes = (offsets >= limit) | first[None, :]
            columns = active.nonzero()[:, 0]
            for stored, value in zip((tracks, visibility, confidence), out, strict=True):
                old = stored[start:end][:, columns]
                mask = writes if value.ndim == 2 else writes[..., None]
                stored[start:end, columns] = torch.where(mask, value, old)
        return TrackerOutput(tracks, visibility, confidence)

    def _run_window(
        self, pyramid: list[torch.Tensor], queries: torch.Tensor, *, flip: bool
    ) -> list[torch.Tensor]:
        """The network on one window's pyramid, time-flipped when ``flip`` (in place and back,
        so the flipped window costs no copy of the cached one).

        queries  # (n, 3) (t, x, y) in the window's (flipped) frames
        returns  [tracks (S, n, 2), visibility (S, n), confidence (S, n)] in the window's time
        """
        if flip:
            _flip_frames(pyramid)
        try:
            output = self.network.track(pyramid, queries[None].to(self.device), self.iters)
        finally:
            if flip:
                _flip_frames(pyramid)
        out = [o[0].cpu() for o in output]
        return [o.flip(0) for o in out] if flip else out

    def _features(
        self, video: Clip, key: tuple[object, ...], start: int, end: int
    ) -> list[torch.Tensor]:
        """The feature pyramid of frames [start, end) of the resized video, from the cache when
        there; computed ``chunk_size`` frames at a time otherwise (and cached while it fits).

        returns  # [(1, end − start, C, h / 4 / 2^i, w / 4 / 2^i)]
        """

        def compute() -> list[torch.Tensor]:
            pyramid: list[torch.Tensor] = []  # filled in place: no second copy of the window
            for first in range(start, end, self.chunk_size):
                last = min(first + self.chunk_size, end)
                chunk = torch.from_numpy(video[first:last]).to(self.device)
                frames = chunk.permute(0, 3, 1, 2).float()  # (c, 3, H, W) 0..255
                resized = F.interpolate(
                    frames, self.resolution, mode="bilinear", align_corners=True
                )
                part = self.network.features(resized[None], self.chunk_size)
                if last - first == end - start:
                    return part
                if not pyramid:
                    pyramid = [p.new_empty((1, end - start, *p.shape[2:])) for p in part]
                for level, piece in zip(pyramid, part, strict=True):
                    level[:, first - start : last - start] = piece
            return pyramid

        estimate = pyramid_bytes(1, *self.resolution)
        return self._cache.get((*key, start, end), end - start, compute, estimate=estimate)


def _where(before: torch.Tensor, backward: TrackerOutput, forward: TrackerOutput) -> TrackerOutput:
    """``backward`` where ``before`` (T, N) is set, ``forward`` elsewhere."""
    return TrackerOutput(
        torch.where(before[..., None], backward.tracks, forward.tracks),
        torch.where(before, backward.visibility, forward.visibility),
        torch.where(before, backward.confidence, forward.confidence),
    )


def _flip_frames(pyramid: list[torch.Tensor]) -> None:
    """Reverse the frames (dim 1) of every level in place, one frame of scratch at a time."""
    for level in pyramid:
        t = level.shape[1]
        for j in range(t // 2):
            first = level[:, j].clone()
            level[:, j] = level[:, t - 1 - j]
            level[:, t - 1 - j] = first


def _middle(first: tuple[int, int], second: tuple[int, int]) -> int:
    """The frame where the tracks switch from window ``first`` to the next window ``second``."""
    return second[0] + (first[1] - second[0]) // 2


def _device_of(network: TrackingNetwork) -> torch.device:
    """The device of the network's first parameter (CPU when it has none)."""
    if isinstance(network, nn.Module):
        for parameter in network.parameters():
            return parameter.device
    return torch.device("cpu")
