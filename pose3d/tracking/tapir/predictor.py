"""The user-facing TAPIR predictor: frames of any size in, tracks in the frames' pixels out.

What it adds to the network (SPEC.md §1, §5):

- conventions, converted once: pose3d's pixels (centre of the top-left pixel at (0, 0)) are
  raster pixels minus 0.5; queries ``(t, x, y)`` become the network's ``(t, y, x)``;
- the model size: the frames are resized (bilinear, align_corners=False, the network's own
  resize convention) to ``model_size(H, W, max_side)``: the frame's shape scaled to fit
  ``max_side``, whole multiples of 8, or 256 × 256 when that fits in 256 × 256 (the network
  works at 256 × 256 whatever smaller size it is given, SPEC.md §5, so the frame is resampled
  once, not twice). The default, 256, is the resolution TAPIR was trained at and TAP-Vid's
  published figures are measured at; a larger ``max_side`` makes the network refine again at
  SPEC.md §5's resolutions for that size (512: 256 × 256 then 384 × 512 for 480 × 640 frames),
  finer and about 4x slower (docs/tracking.md, "Measured");
- visibility = 1 − sigmoid(occlusion), confidence = 1 − sigmoid(expected distance); the
  released post-processing calls a point visible when their product > 0.5;
- the query's own frame is the query: exact position, visibility and confidence 1.

Memory does not grow with the clip: queries' features are sampled once from the frames that
hold queries; the clip is then tracked in windows of ``window`` frames overlapping by
``overlap`` (the network's per-frame estimate needs no window; its temporal refinement sees the
window). A window's results are kept from the middle of its overlap with the previous window to
the middle of its overlap with the next, so every kept frame has at least ``overlap // 2``
frames of context on each side inside its window (or the clip's end). Resolutions are refined one
after the other, so only one resolution's features are held: 3 MB per frame at 256 × 256,
≈ 10 MB at 384 × 512. A clip of at most ``window`` frames gives exactly the network's single-run
outputs.

The online (causal) network needs no windows (SPEC.md §7): its refinement looks back only, 2
frames per temporal convolution, so the clip is streamed through it ``stream_chunk`` frames at a
time (16) with the mixer's state carried from one chunk to the next: one run over the whole
clip, equal to the network's single run, in memory that does not grow with the clip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from pose3d.tracking.base import check_cancel
from pose3d.tracking.clip import Clip
from pose3d.tracking.tapir.cost_volume import Estimate
from pose3d.tracking.tapir.mixer import BLOCKS
from pose3d.tracking.tapir.model import (
    ENCODE_CHUNK,
    HIRES_CHANNELS,
    ITERATIONS,
    LOWRES_CHANNELS,
    STRIDE,
    TRAIN_SIZE,
    Grids,
    QueryFeatures,
    Tapir,
    empty_grids,
    mean_over_resolutions,
    refinement_resolutions,
)

MAX_SIDE = 256  # model size's long side (pixels): the training resolution
WINDOW = 48  # frames tracked at once
OVERLAP = 16  # frames shared by consecutive windows
QUERY_CHUNK = 64  # queries refined at once (the released code's chunk)
STREAM_CHUNK = 16  # frames per step of the online (causal) network's single run
VISIBLE_THRESHOLD = 0.5  # visibility · confidence above it: visible (released post-processing)
# progress of one track() call: (frames done, frames total)
Progress = Callable[[int, int], None]
# the causal mixer's state: per (refinement level, first query of the chunk), per iteration,
# per block, the last 2 input frames of its two depthwise convolutions
Carry = dict[tuple[tuple[int, int], int], list[list[list[torch.Tensor]]]]


@dataclass(frozen=True)
class TapirTracks:
    """Tracks of N queries through T frames, in pixels of the input frames."""

    tracks: NDArray[np.float32]  # (T, N, 2) (x, y), centre of the top-left pixel = (0, 0)
    visibility: NDArray[np.float32]  # (T, N) 1 − sigmoid(occlusion logit)
    confidence: NDArray[np.float32]  # (T, N) 1 − sigmoid(expected-distance logit)
    visible: NDArray[np.bool_]  # (T, N) visibility · confidence > VISIBLE_THRESHOLD


def model_size(height: int, width: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(h, w): the frame's shape scaled down to fit ``max_side`` (never up), each side rounded to
    a multiple of 8 (at least 8); TRAIN_SIZE when that fits in it (the network would resize it
    to TRAIN_SIZE: every stage works there, SPEC.md §4–5)."""
    scale = min(1.0, max_side / max(height, width))
    size = tuple(max(STRIDE, round(side * scale / STRIDE) * STRIDE) for side in (height, width))
    if all(side <= train for side, train in zip(size, TRAIN_SIZE, strict=True)):
        return TRAIN_SIZE
    return size  # type: ignore[return-value]


def window_starts(n_frames: int, window: int, overlap: int) -> list[int]:
    """First frame of each window: windows of ``window`` frames advancing by
    ``window - overlap``, the last one ending at the clip's end."""
    if n_frames <= window:
        return [0]
    step = window - overlap
    starts = list(range(0, n_frames - window, step))
    starts.append(n_frames - window)
    return starts


class TapirPredictor:
    """A TAPIR network (offline variant) with pose3d's conventions, windows and resizing."""

    def __init__(
        self,
        network: Tapir,
        *,
        max_side: int = MAX_SIDE,
        window: int = WINDOW,
        overlap: int = OVERLAP,
        stream_chunk: int = STREAM_CHUNK,
        device: str | torch.device | None = None,
    ) -> None:
        if not 0 <= overlap < window:
            raise ValueError(f"overlap must be in [0, window={window}), got {overlap}")
        if max_side < STRIDE:
            raise ValueError(f"max_side must be at least {STRIDE} pixels, got {max_side}")
        self.network = network.eval()
        self.max_side = max_side
        self.window = window
        self.overlap = overlap
        self.stream_chunk = max(1, stream_chunk)
        self.device = (
            torch.device(device) if device is not None else next(network.parameters()).device
        )

    @torch.inference_mode()
    def track(
        self,
        frames: Clip,
        queries: NDArray[np.floating],
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> TapirTracks:
        """frames  (T, H, W, 3) RGB uint8;  queries  (N, 3) as (t, x, y), whole frames, pose3d
        pixels -> TapirTracks (T, N, ...) in the frames' pixels."""
        n_frames, height, width = frames.shape[:3]
        size = model_size(height, width, self.max_side)
        scale = np.array([size[1] / width, size[0] / height])  # (x, y) raster scale
        q = np.asarray(queries, np.float64)
        raster = (q[:, 1:] + 0.5) * scale  # (N, 2) (x, y) model raster pixels
        model_queries = torch.tensor(
            np.stack([q[:, 0], raster[:, 1], raster[:, 0]], axis=-1)[None], dtype=torch.float32
        )  # (1, N, 3) (t, y, x)
        features = self._query_features(frames, model_queries, size)
        tracks = np.zeros((n_frames, len(q), 2), np.float32)
        occlusion = np.zeros((n_frames, len(q)), np.float32)
        expected_dist = np.zeros((n_frames, len(q)), np.float32)
        streaming = self.network.causal
        if streaming:  # one causal run over the whole clip, STREAM_CHUNK frames at a time
            starts = list(range(0, n_frames, self.stream_chunk))
        else:
            starts = window_starts(n_frames, self.window, self.overlap)
        carry: Carry | None = {} if streaming else None
        tails: dict[tuple[int, int], tuple[int, Grids]] = {}  # the overlap's features, per level
        for k, start in enumerate(starts):
            check_cancel(cancel)
            stop = min(start + (self.stream_chunk if streaming else self.window), n_frames)
            if streaming:
                keep_from, keep_to = start, stop
            else:
                previous_stop = min(starts[k - 1] + self.window, n_frames) if k else start
                keep_from = (start + previous_stop) // 2
                keep_to = stop if k == len(starts) - 1 else (starts[k + 1] + stop) // 2
            span = (start, stop, starts[k + 1] if k + 1 < len(starts) else stop)
            out = self._track_window(
                frames, span, model_queries, features, size, tails, carry, cancel
            )
            kept = slice(keep_from - start, keep_to - start)
            tracks[keep_from:keep_to] = out.position[0, :, kept].permute(1, 0, 2).cpu().numpy()
            occlusion[keep_from:keep_to] = out.occlusion[0, :, kept].T.cpu().numpy()
            expected_dist[keep_from:keep_to] = out.expected_dist[0, :, kept].T.cpu().numpy()
            if progress is not None:
                progress(keep_to, n_frames)
        tracks = (tracks / scale - 0.5).astype(np.float32)  # model raster -> the frames' pose3d px
        visibility = 1.0 - _sigmoid(occlusion)
        confidence = 1.0 - _sigmoid(expected_dist)
        own = q[:, 0].astype(np.int64), np.arange(len(q))
        tracks[own] = q[:, 1:]
        visibility[own] = 1.0
        confidence[own] = 1.0
        visible = visibility * confidence > VISIBLE_THRESHOLD
        return TapirTracks(tracks, visibility, confidence, visible)

    def _frames(self, frames: Clip, index: NDArray[np.int64]) -> torch.Tensor:
        """Frames as the network's (1, F, H, W, 3) float in [-1, 1] on the device."""
        chunk = torch.from_numpy(np.ascontiguousarray(frames[index])).to(self.device)
        return (chunk.float() / 255 * 2 - 1)[None]

    def _encode(
        self,
        frames: Clip,
        index: NDArray[np.int64],
        size: tuple[int, int],
        level: tuple[int, int],
        out: Grids | None = None,
        at: int = 0,
    ) -> Grids:
        """Grids at refinement resolution ``level`` of the frames ``index``, resized to
        ``size`` first (as the network would see the clip at ``size``), ENCODE_CHUNK frames at
        a time; written into ``out`` from frame ``at`` on when given."""
        if out is None:
            out = empty_grids(1, len(index), level, torch.float32, self.device)
        for j in range(0, len(index), ENCODE_CHUNK):
            video = self._frames(frames, index[j : j + ENCODE_CHUNK])
            if video.shape[2:4] != size:
                resized = F.interpolate(
                    video[0].permute(0, 3, 1, 2), size, mode="bilinear", align_corners=False
                )
                video = resized.permute(0, 2, 3, 1)[None]
            self.network.encode(video, level, out, at + j)
        return out

    def _query_features(
        self, frames: Clip, queries: torch.Tensor, size: tuple[int, int]
    ) -> dict[tuple[int, int], QueryFeatures]:
        """Each query's features at every refinement resolution (and the initial one), sampled
        from the grids of the frames holding queries, ENCODE_CHUNK frames at a time (queries
        on many frames never hold all those frames' features at once)."""
        t = queries[0, :, 0].round().long()
        held = torch.unique(t)
        n = queries.shape[1]
        out = {}
        for level in {TRAIN_SIZE, *refinement_resolutions(size)}:
            hires = queries.new_empty(1, n, HIRES_CHANNELS, device=self.device)
            lowres = queries.new_empty(1, n, LOWRES_CHANNELS, device=self.device)
            for j in range(0, len(held), ENCODE_CHUNK):
                chunk = held[j : j + ENCODE_CHUNK]
                grids = self._encode(frames, chunk.numpy(), size, level)
                mine = torch.isin(t, chunk)
                local = queries[:, mine].clone()
                local[0, :, 0] = torch.searchsorted(chunk, t[mine]).float()  # frame in chunk
                sampled = self.network.query_features(
                    grids, local.to(self.device), (len(chunk), *size)
                )
                hires[:, mine] = sampled.hires
                lowres[:, mine] = sampled.lowres
            out[level] = QueryFeatures(hires, lowres)
        return out

    def _window_grids(
        self,
        frames: Clip,
        span: tuple[int, int, int],
        size: tuple[int, int],
        level: tuple[int, int],
        tails: dict[tuple[int, int], tuple[int, Grids]],
    ) -> Grids:
        """Grids of frames start..stop-1 at ``level``: the previous window's overlap reused
        from ``tails``, the rest encoded; the part the next window (from ``span[2]``) shares
        is left in ``tails``."""
        start, stop, next_start = span
        grids = empty_grids(1, stop - start, level, torch.float32, self.device)
        encode_from = start
        if level in tails:
            first, tail = tails.pop(level)
            have = tail.hires.shape[1]
            if first <= start < first + have:
                reuse = slice(start - first, min(stop, first + have) - first)
                kept = reuse.stop - reuse.start
                grids.hires[:, :kept] = tail.hires[:, reuse]
                grids.lowres[:, :kept] = tail.lowres[:, reuse]
                encode_from = start + kept
            del tail
        if encode_from < stop:
            index = np.arange(encode_from, stop)
            self._encode(frames, index, size, level, grids, encode_from - start)
        if next_start < stop:
            shared = slice(next_start - start, None)
            tails[level] = (
                next_start,
                Grids(grids.hires[:, shared].clone(), grids.lowres[:, shared].clone(), level),
            )
        return grids

    def _track_window(
        self,
        frames: Clip,
        span: tuple[int, int, int],
        queries: torch.Tensor,
        features: dict[tuple[int, int], QueryFeatures],
        size: tuple[int, int],
        tails: dict[tuple[int, int], tuple[int, Grids]],
        carry: Carry | None,
        cancel: threading.Event | None,
    ) -> Estimate:
        """The network's outputs for frames span[0]..span[1]-1 (model raster px, (1, N, T, ...));
        span[2]: where the next window starts (its overlap's features are kept in ``tails``).
        ``carry``: the causal mixer's state per (level, query chunk), carried to the next chunk
        of frames when streaming."""
        network = self.network
        queries = queries.to(self.device)
        # the first refinement resolution is always the initial one (TRAIN_SIZE): its grids
        # serve the cost volume and that refinement, then each level's replace the last's
        grids = self._window_grids(frames, span, size, TRAIN_SIZE, tails)
        first = network.initial_estimate(grids, features[TRAIN_SIZE], queries, size, span[0])
        finals: list[Estimate] = []
        position = first.position
        for i, level in enumerate(refinement_resolutions(size)):
            check_cancel(cancel)
            if i > 0:
                del grids  # the previous level's, before this level's are made
                grids = self._window_grids(frames, span, size, level, tails)
            parts = []
            for q0 in range(0, queries.shape[1], QUERY_CHUNK):
                chunk = slice(q0, q0 + QUERY_CHUNK)
                start_estimate = Estimate(
                    position[:, chunk], first.occlusion[:, chunk], first.expected_dist[:, chunk]
                )
                chunk_features = QueryFeatures(
                    features[level].hires[:, chunk], features[level].lowres[:, chunk]
                )
                state = None
                if carry is not None:
                    state = carry.setdefault(
                        (level, q0), [[[] for _ in range(BLOCKS)] for _ in range(ITERATIONS)]
                    )
                parts.append(network.refine(grids, chunk_features, start_estimate, state)[-1])
            final = Estimate(*(torch.cat(tensors, dim=1) for tensors in zip(*parts, strict=True)))
            finals.append(final)
            position = final.position
        return mean_over_resolutions(finals, size)


def _sigmoid(x: NDArray[np.float32]) -> NDArray[np.float32]:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)
