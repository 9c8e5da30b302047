"""The CoTracker3 network: shared machinery (features, correlation, iterative refinement) and
the offline variant, which attends over the whole clip at once (SPEC.md §6).

Units inside the network: positions in stride units (pixels / 4) of the model-resolution frame,
visibility and confidence as logits accumulated over iterations (sigmoid only at the output).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from pose3d.tracking.cotracker3.blocks import BasicEncoder, Mlp
from pose3d.tracking.cotracker3.correlation import (
    local_correlation,
    sample_query_support,
    sample_track_neighbourhoods,
)
from pose3d.tracking.cotracker3.embeddings import interpolate_time_emb, posenc, sincos_time_table
from pose3d.tracking.cotracker3.updateformer import EfficientUpdateFormer


class TrackerOutput(NamedTuple):
    """What the network returns (B = batch, T = frames, N = queries)."""

    tracks: torch.Tensor  # (B, T, N, 2) (x, y) in pixels of the input frames
    visibility: torch.Tensor  # (B, T, N) probability
    confidence: torch.Tensor  # (B, T, N) probability


class TrackState(NamedTuple):
    """Tracks being refined: positions in stride units, visibility/confidence logits."""

    coords: torch.Tensor  # (B, T, N, 2)
    vis: torch.Tensor  # (B, T, N)
    conf: torch.Tensor  # (B, T, N)


def check_inputs(video: torch.Tensor, queries: torch.Tensor, stride: int) -> torch.Tensor:
    """Raise ValueError unless video is float (B, T, 3, H, W) with H, W multiples of stride and
    queries is (B, N, 3); return the queries in the video's dtype."""
    if video.ndim != 5 or video.shape[2] != 3:
        raise ValueError(f"video must be (B, T, 3, H, W), got shape {tuple(video.shape)}")
    if not video.is_floating_point():
        raise ValueError(f"video must be float RGB in 0..255, got {video.dtype}; use video.float()")
    if video.shape[-2] % stride or video.shape[-1] % stride:
        raise ValueError(
            f"video height and width must be multiples of {stride}, got {tuple(video.shape[-2:])};"
            " resize to the model resolution (384, 512) first"
        )
    return check_queries(queries, video.shape[0], video.dtype)


def check_queries(queries: torch.Tensor, batch: int, dtype: torch.dtype) -> torch.Tensor:
    """Raise ValueError unless queries is (batch, N, 3); return them as ``dtype``."""
    if queries.ndim != 3 or queries.shape[-1] != 3 or queries.shape[0] != batch:
        raise ValueError(
            f"queries must be (B={batch}, N, 3) as (t, x, y), got shape {tuple(queries.shape)}"
        )
    return queries.to(dtype)


class CoTracker3Base(nn.Module):
    """Feature encoder, correlation MLP and update transformer shared by both variants."""

    stride = 4
    corr_radius = 3
    corr_levels = 4
    latent_dim = 128
    model_resolution = (384, 512)  # (H, W) the checkpoints were trained at
    time_emb: torch.Tensor  # (1, window_len, 1110) buffer

    def __init__(self, window_len: int) -> None:
        super().__init__()
        self.window_len = window_len
        side = 2 * self.corr_radius + 1
        input_dim = 2 + self.corr_levels * 256 + 84  # vis, conf, correlations, motion encoding
        self.fnet = BasicEncoder(input_dim=3, output_dim=self.latent_dim, stride=self.stride)
        self.updateformer = EfficientUpdateFormer(depth=3, input_dim=input_dim, hidden_size=384)
        self.corr_mlp = Mlp(in_features=side**4, hidden_features=384, out_features=256)
        self.register_buffer("time_emb", sincos_time_table(window_len, input_dim))

    @staticmethod
    def checkpoint_hint(mismatched: list[str]) -> str:
        """Why a weights file's shapes differ, when the cause is known (for load_checkpoint)."""
        if any(m.startswith("time_emb ") for m in mismatched):
            return (
                "; time_emb's length is the window: 60 frames for the offline checkpoints, 16 "
                "for the online ones — build the other variant"
            )
        return ""

    def encode(self, video: torch.Tensor, chunk_size: int = 200) -> torch.Tensor:
        """L2-normalised per-frame features, the encoder run on ``chunk_size`` frames at a time.

        video    # (B, T, 3, H, W) in 0..255
        returns  # (B, T, 128, H/4, W/4)
        """
        b, t, _, h, w = video.shape
        frames = (2 * (video / 255.0) - 1.0).reshape(b * t, 3, h, w)  # (B T, 3, H, W)
        fmaps = torch.cat([self.fnet(part) for part in frames.split(chunk_size)])
        norm = torch.sqrt(torch.clamp_min((fmaps**2).sum(dim=1, keepdim=True), 1e-12))
        fmaps = fmaps / norm  # (B T, 128, H/4, W/4)
        return fmaps.reshape(b, t, *fmaps.shape[1:])

    def features(self, video: torch.Tensor, chunk_size: int = 200) -> list[torch.Tensor]:
        """The feature pyramid of every frame. Features are per frame: pyramids of parts of a
        clip may be concatenated along T, or flipped in time, and ``track`` them as one clip.

        video    # (B, T, 3, H, W) float RGB 0..255, H and W multiples of 4
        returns  # [(B, T, 128, H / 4 / 2^i, W / 4 / 2^i) for i in 0 .. 3]
        """
        return self.pyramid(self.encode(video, chunk_size))

    def track(
        self, pyramid: list[torch.Tensor], queries: torch.Tensor, iters: int = 4
    ) -> TrackerOutput:
        """Track queries (B, N, 3) through the clip whose ``features`` are ``pyramid``."""
        raise NotImplementedError

    def pyramid(self, fmaps: torch.Tensor) -> list[torch.Tensor]:
        """``corr_levels`` levels, each a 2×2 average pool of the previous one.

        fmaps    # (B, T, C, H, W)
        returns  # [(B, T, C, H / 2^i, W / 2^i) for i in 0 .. corr_levels − 1]
        """
        b, t = fmaps.shape[:2]
        levels = [fmaps]
        for _ in range(self.corr_levels - 1):
            pooled = F.avg_pool2d(levels[-1].flatten(0, 1), 2, stride=2)
            levels.append(pooled.reshape(b, t, *pooled.shape[1:]))
        return levels

    def query_support(
        self, pyramid: list[torch.Tensor], frames: torch.Tensor, xy: torch.Tensor
    ) -> list[torch.Tensor]:
        """Query neighbourhood features on every level.

        frames   # (B, N) frame index into the pyramid's T
        xy       # (B, N, 2) in stride units
        returns  # [(B, N, 49, C) per level]
        """
        return [
            sample_query_support(level, frames, xy / 2**i, self.corr_radius)
            for i, level in enumerate(pyramid)
        ]

    def correlation_embedding(
        self, pyramid: list[torch.Tensor], support: list[torch.Tensor], coords: torch.Tensor
    ) -> torch.Tensor:
        """Local correlations at the current positions, embedded by corr_mlp and concatenated.

        pyramid  # [(B, T, C, H_i, W_i)];  support  # [(B, N, 49, C)];  coords  # (B, T, N, 2)
        returns  # (B, T, N, corr_levels 256)
        """
        embeddings = []
        for i, (level, level_support) in enumerate(zip(pyramid, support, strict=True)):
            target = sample_track_neighbourhoods(level, coords / 2**i, self.corr_radius)
            embeddings.append(self.corr_mlp(local_correlation(target, level_support)))
        return torch.cat(embeddings, dim=-1)

    def motion_encoding(self, coords: torch.Tensor) -> torch.Tensor:
        """posenc of the motion to the next and from the previous frame (zero at the ends),
        normalised by the model resolution in stride units.

        coords   # (B, T, N, 2)
        returns  # (B, T, N, 84)
        """
        forward = F.pad(coords[:, :-1] - coords[:, 1:], (0, 0, 0, 0, 0, 1))  # (B, T, N, 2)
        backward = F.pad(coords[:, 1:] - coords[:, :-1], (0, 0, 0, 0, 1, 0))  # (B, T, N, 2)
        height, width = self.model_resolution
        scale = torch.tensor(
            [width / self.stride, height / self.stride], dtype=coords.dtype, device=coords.device
        )
        return posenc(torch.cat([forward / scale, backward / scale], dim=-1), 0, 10)

    def refine(
        self,
        pyramid: list[torch.Tensor],
        support: list[torch.Tensor],
        state: TrackState,
        iters: int,
    ) -> TrackState:
        """``iters`` updates of all tracks over the frames of ``pyramid``, jointly.

        pyramid  # [(B, T, C, H_i, W_i)];  support  # [(B, N, 49, C)]
        state    # TrackState with (B, T, N, ...) tensors -> the refined TrackState
        """
        coords, vis, conf = state
        t = coords.shape[1]
        time_emb = interpolate_time_emb(self.time_emb, t)  # (1, T, 1110)
        for _ in range(iters):
            coords = coords.detach()
            tokens = torch.cat(
                [
                    vis[..., None],
                    conf[..., None],
                    self.correlation_embedding(pyramid, support, coords),
                    self.motion_encoding(coords),
                ],
                dim=-1,
            ).transpose(1, 2)  # (B, N, T, 1110)
            delta = self.updateformer(tokens + time_emb).transpose(1, 2)  # (B, T, N, 4)
            coords = coords + delta[..., :2]
            vis = vis + delta[..., 2]
            conf = conf + delta[..., 3]
        return TrackState(coords, vis, conf)


class CoTracker3Offline(CoTracker3Base):
    """All frames attend jointly; tracks go forward and backward from each query's frame."""

    def __init__(self, window_len: int = 60) -> None:
        super().__init__(window_len)

    def forward(
        self,
        video: torch.Tensor,
        queries: torch.Tensor,
        iters: int = 4,
        fmaps_chunk_size: int = 200,
    ) -> TrackerOutput:
        """Track the queries through the clip.

        video    # (B, T, 3, H, W) float RGB 0..255 at model resolution, H, W multiples of 4
        queries  # (B, N, 3) as (t, x, y): frame index (truncated), pixels (pixel centres)
        returns  TrackerOutput: tracks (B, T, N, 2) px, visibility and confidence (B, T, N)
        """
        queries = check_inputs(video, queries, self.stride)
        return self.track(self.features(video, fmaps_chunk_size), queries, iters)

    def track(
        self, pyramid: list[torch.Tensor], queries: torch.Tensor, iters: int = 4
    ) -> TrackerOutput:
        """Track the queries through the clip of ``pyramid`` (from ``features``).

        pyramid  # [(B, T, C, H_i, W_i)];  queries  # (B, N, 3) as (t, x, y) in pixels
        returns  TrackerOutput: tracks (B, T, N, 2) px, visibility and confidence (B, T, N)
        """
        b, t = pyramid[0].shape[:2]
        queries = check_queries(queries, b, pyramid[0].dtype)
        n = queries.shape[1]
        frames = queries[..., 0].long()  # (B, N)
        xy = queries[..., 1:3] / self.stride  # (B, N, 2) stride units
        support = self.query_support(pyramid, frames, xy)
        zeros = xy.new_zeros(b, t, n)
        state = TrackState(xy[:, None].expand(b, t, n, 2), zeros, zeros)
        coords, vis, conf = self.refine(pyramid, support, state, iters)
        return TrackerOutput(coords * self.stride, torch.sigmoid(vis), torch.sigmoid(conf))
