"""The online CoTracker3 variant: 16-frame windows that advance by 8 frames (SPEC.md §8).

Two ways to run it:

- whole clip: ``network(video, queries)`` slides the window over the clip (padded at the end by
  repeating the last frame) and stitches the windows;
- streaming: ``network.init_video_online_processing()``, then ``network(chunk, queries,
  is_online=True)`` with ``chunk = video[:, i:i + 16]`` for i = 0, 8, 16, …; every call returns
  the predictions of all frames seen so far. ``track_chunk(pyramid, queries)`` takes the
  chunk's ``features`` instead of its frames (a caller that caches features), and
  ``stream_output()`` returns the predictions so far.

Streaming holds one chunk's features and the predictions (T_seen × N, a few bytes per point and
frame), so its memory does not grow with the video's features.

In both, a window starting at frame ``ind > 0`` starts the queries already under way
(``t_q < ind + 8``) from the previous predictions of its first half (second half: the last of
those repeated), and zeroes the support features of queries that start after the window.
Predictions before a query's frame are meaningless for this variant (trained forward only).
"""

from __future__ import annotations

import torch

from pose3d.tracking.cotracker3.model import (
    CoTracker3Base,
    TrackerOutput,
    TrackState,
    check_inputs,
    check_queries,
)


def pad_frames(x: torch.Tensor, length: int) -> torch.Tensor:
    """Repeat the last frame until ``length`` frames: x  # (B, T, ...) -> (B, length, ...)."""
    missing = length - x.shape[1]
    if missing <= 0:
        return x
    return torch.cat([x, x[:, -1:].expand(-1, missing, *x.shape[2:])], dim=1)


class CoTracker3Online(CoTracker3Base):
    """Sliding-window CoTracker3, with a streaming state (``init_video_online_processing``)."""

    def __init__(self, window_len: int = 16) -> None:
        super().__init__(window_len)
        self.step = window_len // 2
        self.online_ind = 0
        self.online_support: list[torch.Tensor] | None = None  # [(B, N, 49, C) per level]
        self._predictions: TrackState | None = None  # (B, capacity, N, ...), px and logits
        self._seen = 0  # frames predicted so far (≤ capacity)
        self._cached_frames: tuple[torch.Tensor, torch.Tensor] | None = None  # last chunk's end

    def init_video_online_processing(self) -> None:
        """Forget the stream: the next ``is_online=True`` call is frame 0 of a new video."""
        self.online_ind = 0
        self.online_support = None
        self._predictions = None
        self._seen = 0
        self._cached_frames = None

    @property
    def online_predictions(self) -> TrackState | None:
        """The predictions so far: TrackState (B, T_seen, N, ...), px and logits (views)."""
        if self._predictions is None:
            return None
        return TrackState(*(p[:, : self._seen] for p in self._predictions))

    def forward(
        self,
        video: torch.Tensor,
        queries: torch.Tensor,
        iters: int = 4,
        is_online: bool = False,
    ) -> TrackerOutput:
        """Track the queries forward from their frames.

        video    # (B, T, 3, H, W) float RGB 0..255 at model resolution (a ≤ 16-frame chunk when
                 #   is_online: the 8 frames of the previous chunk's second half, then new ones)
        queries  # (B, N, 3) as (t, x, y): frame index in the whole video, pixels
        returns  TrackerOutput: tracks (B, T_seen, N, 2) px, visibility and confidence
                 (B, T_seen, N); T_seen = T for a whole clip, all frames so far when streaming
        """
        queries = check_inputs(video, queries, self.stride)
        if is_online:
            return self._stream(video, queries, iters)
        return self.track(self.features(video), queries, iters)

    def _initial_state(self, queries: torch.Tensor) -> TrackState:
        """Queries at their start positions on every window frame, zero logits: (B, S, N, ...)."""
        b, n = queries.shape[:2]
        xy = queries[..., 1:3] / self.stride  # (B, N, 2) stride units
        zeros = queries.new_zeros(b, self.window_len, n)
        return TrackState(xy[:, None].expand(b, self.window_len, n, 2), zeros, zeros)

    def _window_init(
        self, frames: torch.Tensor, initial: TrackState, previous: TrackState, ind: int
    ) -> TrackState:
        """Start of the window at ``ind``: queries under way copy the previous predictions.

        frames    # (B, N) query frames;  initial  # TrackState (B, S, N, ...)
        previous  # TrackState (B, >= ind + step, N, ...), coords in pixels, logits
        """
        if ind == 0:
            return initial
        copy_over = (frames < ind + self.step)[:, None, :]  # (B, 1, N)
        first_half = [p[:, ind : ind + self.step] for p in previous]  # (B, step, N, ...)
        coords, vis, conf = (pad_frames(p, self.window_len) for p in first_half)
        return TrackState(
            torch.where(copy_over[..., None], coords / self.stride, initial.coords),
            torch.where(copy_over, vis, initial.vis),
            torch.where(copy_over, conf, initial.conf),
        )

    def _run_window(
        self,
        pyramid: list[torch.Tensor],
        support: list[torch.Tensor],
        frames: torch.Tensor,
        state: TrackState,
        ind: int,
        iters: int,
    ) -> TrackState:
        """Refine one window; queries starting after it see zero support features.

        pyramid  # [(B, S, C, H_i, W_i)] the window's frames;  support  # [(B, N, 49, C)]
        returns  TrackState (B, S, N, ...) with coords in pixels
        """
        started = (frames < ind + self.window_len)[:, :, None, None].to(support[0].dtype)
        window_support = [s * started for s in support]  # (B, N, 49, C), zero for late queries
        coords, vis, conf = self.refine(pyramid, window_support, state, iters)
        return TrackState(coords * self.stride, vis, conf)

    def track(
        self, pyramid: list[torch.Tensor], queries: torch.Tensor, iters: int = 4
    ) -> TrackerOutput:
        """Whole clip: windows at 0, 8, 16, … over the clip padded to a multiple of 16 frames.

        pyramid  # [(B, T, C, H_i, W_i)] from ``features``;  queries  # (B, N, 3) (t, x, y) px
        returns  TrackerOutput: tracks (B, T, N, 2) px, visibility and confidence (B, T, N)
        """
        b, t = pyramid[0].shape[:2]
        queries = check_queries(queries, b, pyramid[0].dtype)
        n = queries.shape[1]
        s, step = self.window_len, self.step
        frames = queries[..., 0].long()  # (B, N)
        # Padding repeats the last frame; features are per frame, so pad them instead.
        pyramid = [pad_frames(level, t + (s - t % s) % s) for level in pyramid]  # T_pad frames
        support = self.query_support(pyramid, frames, queries[..., 1:3] / self.stride)
        predictions = TrackState(
            queries.new_zeros(b, t, n, 2), queries.new_zeros(b, t, n), queries.new_zeros(b, t, n)
        )
        initial = self._initial_state(queries)
        num_windows = max(1, (t - s + step - 1) // step + 1)
        for ind in range(0, step * num_windows, step):
            initial = self._window_init(frames, initial, predictions, ind)
            window = [level[:, ind : ind + s] for level in pyramid]
            result = self._run_window(window, support, frames, initial, ind, iters)
            kept = min(t - ind, s)
            for stored, new in zip(predictions, result, strict=True):
                stored[:, ind : ind + kept] = new[:, :kept]
        coords, vis, conf = predictions
        return TrackerOutput(coords, torch.sigmoid(vis), torch.sigmoid(conf))

    def track_chunk(
        self, pyramid: list[torch.Tensor], queries: torch.Tensor, iters: int = 4
    ) -> None:
        """One streaming step on the ``features`` of the chunk that starts at ``online_ind``
        (the same chunk as ``network(chunk, queries, is_online=True)`` takes as frames); read
        the predictions with ``stream_output()``.

        pyramid  # [(B, t ≤ 16, C, H_i, W_i)] of video[:, online_ind:online_ind + t]
        queries  # (B, N, 3) as (t, x, y): frame index in the whole video, pixels
        """
        b, t = pyramid[0].shape[:2]
        queries = check_queries(queries, b, pyramid[0].dtype)
        self._check_chunk(t, queries.shape[1])
        # Features are per frame: padding the pyramid equals the pyramid of the padded frames.
        self._advance([pad_frames(level, self.window_len) for level in pyramid], t, queries, iters)

    def stream_output(self) -> TrackerOutput:
        """The predictions of every frame streamed so far: tracks (B, T_seen, N, 2) px,
        visibility and confidence (B, T_seen, N)."""
        predictions = self.online_predictions
        if predictions is None:
            raise ValueError("nothing streamed yet: call track_chunk or forward(is_online=True)")
        coords, vis, conf = predictions
        return TrackerOutput(coords.clone(), torch.sigmoid(vis), torch.sigmoid(conf))

    def _stream(self, video: torch.Tensor, queries: torch.Tensor, iters: int) -> TrackerOutput:
        """One streaming step on the chunk that starts at frame ``online_ind``."""
        t = video.shape[1]
        self._check_chunk(t, queries.shape[1])
        pyramid = self.pyramid(pad_frames(self._encode_chunk(video), self.window_len))
        self._advance(pyramid, t, queries, iters)
        return self.stream_output()

    def _advance(
        self, pyramid: list[torch.Tensor], t: int, queries: torch.Tensor, iters: int
    ) -> None:
        """Track the window at ``online_ind`` whose first t frames are real and move on.

        pyramid  # [(B, S, C, H_i, W_i)] padded to the window;  queries  # (B, N, 3)
        """
        ind = self.online_ind
        frames = queries[..., 0].long()  # (B, N) frame in the whole video
        support = self._harvest_support(pyramid, frames, queries[..., 1:3] / self.stride)
        buffer = self._reserve(queries, ind + t)
        state = self._window_init(frames, self._initial_state(queries), buffer, ind)
        result = self._run_window(pyramid, support, frames, state, ind, iters)
        for stored, value in zip(buffer, result, strict=True):
            stored[:, ind : ind + t] = value[:, :t]
        self._seen = max(self._seen, ind + t)
        self.online_ind = ind + self.step

    def _check_chunk(self, t: int, n: int) -> None:
        """Raise ValueError unless a t-frame chunk with n queries can follow the stream so far."""
        s, step, ind = self.window_len, self.step, self.online_ind
        if not 1 <= t <= s:
            raise ValueError(f"online chunks hold 1 to {s} frames, got {t}")
        if self.online_support is not None and self.online_support[0].shape[1] != n:
            raise ValueError(
                f"the stream tracks {self.online_support[0].shape[1]} queries, this chunk came "
                f"with {n}; queries are fixed for a stream: call init_video_online_processing() "
                "and start again to change them"
            )
        seen = self._seen
        if ind > 0 and (seen < ind + step or t <= step):
            raise ValueError(
                f"the streaming chunk at frame {ind} must repeat the {step} frames before it and "
                f"add new ones ({seen} frames seen, chunk of {t}); pass video[:, i:i + {s}] for "
                f"i = 0, {step}, … after init_video_online_processing() (only the last chunk may "
                "be shorter)"
            )

    def _encode_chunk(self, video: torch.Tensor) -> torch.Tensor:
        """Features of the chunk, reusing those of the frames the previous chunk ended with.

        video    # (B, T, 3, H, W)  ->  (B, T, 128, H/4, W/4)
        """
        cached = self._cached_frames
        step = self.step
        if cached is not None and video.shape[1] > step and torch.equal(video[:, :step], cached[0]):
            fmaps = torch.cat([cached[1], self.encode(video[:, step:])], dim=1)
        else:
            fmaps = self.encode(video)
        self._cached_frames = (video[:, step:].clone(), fmaps[:, step:])
        return fmaps

    def _harvest_support(
        self, pyramid: list[torch.Tensor], frames: torch.Tensor, xy: torch.Tensor
    ) -> list[torch.Tensor]:
        """Add the support features of queries whose frame lies in the chunk's new frames.

        pyramid  # [(B, S, C, h, w)] the chunk;  frames  # (B, N) in the whole video
        xy       # (B, N, 2) stride units
        returns  # [(B, N, 49, C) per level] the accumulated support of every query so far
        """
        ind = self.online_ind
        left = 0 if ind == 0 else ind + self.step
        new = ((frames >= left) & (frames < ind + self.window_len))[:, :, None, None]
        harvested = [
            h * new.to(h.dtype) for h in self.query_support(pyramid, frames - ind, xy)
        ]  # [(B, N, 49, C)], zero for queries outside the new frames
        if self.online_support is None:
            self.online_support = harvested
        else:
            pairs = zip(self.online_support, harvested, strict=True)
            self.online_support = [total + h for total, h in pairs]
        return self.online_support

    def _reserve(self, queries: torch.Tensor, end: int) -> TrackState:
        """The prediction buffer, grown (zero-filled, doubling) to hold at least ``end`` frames:
        TrackState (B, capacity, N, ...). Doubling keeps a long stream's copies linear in T."""
        b, n = queries.shape[:2]
        previous = self._predictions
        capacity = 0 if previous is None else previous.coords.shape[1]
        if previous is not None and end <= capacity:
            return previous
        size = max(end, 2 * capacity, 2 * self.window_len)
        zeros = queries.new_zeros(b, size, n)
        grown = TrackState(queries.new_zeros(b, size, n, 2), zeros, zeros.clone())
        if previous is not None:
            for new, old in zip(grown, previous, strict=True):
                new[:, : self._seen] = old[:, : self._seen]
        self._predictions = grown
        return grown
