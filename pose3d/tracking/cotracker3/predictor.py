"""The user-facing CoTracker3 tracker: frames of any size in, tracks in the video's pixels out.

What it adds to the network (SPEC.md §9):

- resizing: frames are resized to the model resolution (384×512, bilinear, align_corners=True)
  chunk by chunk; queries are scaled by ``(w − 1)/(W − 1)``, ``(h − 1)/(H − 1)`` and the
  tracks scaled back, so pixel centres map onto pixel centres;
- a support grid: 6×6 extra points on frame 0 tracked jointly with the queries (the network
  tracks better with context), removed from the result;
- backward tracking for the online variant, which only tracks forward: frames before a query's
  frame come from a run on the time-reversed clip (the offline variant predicts both ways);
- the query's own frame is the query: exact position, visibility and confidence 1;
- ``visible = visibility · confidence > 0.6`` (the rule of the reference evaluation and of its
  online predictor; the reference offline predictor thresholds visibility alone at 0.9);
- a feature cache: tracking new queries on the same video (a corrected label) re-runs only the
  iterative part, not the encoder (≈ half of the time).

Memory: the whole clip's feature pyramid is kept (≈ 8.4 MB per frame at 384×512); long videos
are the caller's to split in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

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


def check_video(video: NDArray[np.uint8]) -> tuple[int, int, int]:
    """Raise ValueError unless video is RGB uint8 (T, H, W, 3) with T ≥ 1, H, W ≥ 2; return
    (T, H, W)."""
    if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
        raise ValueError(
            f"video must be RGB uint8 frames (T, H, W, 3), got {video.dtype} {video.shape}; "
            "stack the frames of pose3d.io.video readers"
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
        chunk_size: int = 8,
        device: str | torch.device | None = None,
    ) -> None:
        """backward_tracking None: on for the online variant, off for the offline one.
        resolution (h, w): what frames are resized to (multiples of 4, ≥ 32); smaller is faster
        and less accurate. chunk_size: frames resized and encoded at a time (peak memory)."""
        h, w = resolution
        if h % 4 or w % 4 or min(h, w) < 32:
            raise ValueError(f"resolution must be multiples of 4 and ≥ 32, got {resolution}")
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
        self._cache: tuple[NDArray[np.uint8], list[torch.Tensor]] | None = None

    def clear_cache(self) -> None:
        """Drop the features of the last video."""
        self._cache = None

    def track(self, video: NDArray[np.uint8], queries: NDArray[np.floating]) -> Tracks:
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
        with torch.inference_mode():
            pyramid = self._features(video)
            model_queries = torch.from_numpy(query_array) * to_model  # (N, 3) model pixels
            if self.support_grid_size > 0:
                grid = points_on_a_grid(self.support_grid_size, self.resolution)  # (G, 2)
                grid_queries = torch.cat([torch.zeros(len(grid), 1), grid], dim=1)  # t = 0
                model_queries = torch.cat([model_queries, grid_queries])  # (N + G, 3)
            output = self._run(pyramid, model_queries[None].to(self.device))
            tracks = output.tracks[0, :, :n].cpu() / to_model[1:]  # (T, N, 2) video pixels
            visibility = output.visibility[0, :, :n].cpu().clone()  # (T, N)
            confidence = output.confidence[0, :, :n].cpu().clone()  # (T, N)
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

    def _features(self, video: NDArray[np.uint8]) -> list[torch.Tensor]:
        """The feature pyramid of the resized video, from the cache when it is the same video.

        video    # (T, H, W, 3) uint8
        returns  # [(1, T, C, h / 4 / 2^i, w / 4 / 2^i)]
        """
        if self._cache is not None:
            cached_video, cached_pyramid = self._cache
            if cached_video.shape == video.shape and np.array_equal(cached_video, video):
                return cached_pyramid
        parts = []
        for start in range(0, video.shape[0], self.chunk_size):
            chunk = torch.from_numpy(video[start : start + self.chunk_size]).to(self.device)
            frames = chunk.permute(0, 3, 1, 2).float()  # (c, 3, H, W) 0..255
            resized = F.interpolate(frames, self.resolution, mode="bilinear", align_corners=True)
            parts.append(self.network.features(resized[None], self.chunk_size))
        pyramid = [torch.cat(levels, dim=1) for levels in zip(*parts, strict=True)]
        self._cache = (video.copy(), pyramid)
        return pyramid

    def _run(self, pyramid: list[torch.Tensor], queries: torch.Tensor) -> TrackerOutput:
        """Network output, completed before each query's frame by the time-reversed run.

        pyramid  # [(1, T, C, h_i, w_i)];  queries  # (1, N, 3) model pixels
        returns  TrackerOutput (1, T, N, ...)
        """
        output = self.network.track(pyramid, queries, self.iters)
        if not self.backward_tracking:
            return output
        frames = pyramid[0].shape[1]
        reversed_queries = queries.clone()
        reversed_queries[..., 0] = frames - 1 - queries[..., 0]
        backward = self.network.track([p.flip(1) for p in pyramid], reversed_queries, self.iters)
        before = torch.arange(frames, device=queries.device)[None, :, None] < queries[:, None, :, 0]
        return TrackerOutput(
            torch.where(before[..., None], backward.tracks.flip(1), output.tracks),
            torch.where(before, backward.visibility.flip(1), output.visibility),
            torch.where(before, backward.confidence.flip(1), output.confidence),
        )


def _device_of(network: TrackingNetwork) -> torch.device:
    """The device of the network's first parameter (CPU when it has none)."""
    if isinstance(network, nn.Module):
        for parameter in network.parameters():
            return parameter.device
    return torch.device("cpu")
