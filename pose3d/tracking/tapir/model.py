"""The TAPIR network as BootsTAPIR's checkpoint expects it (SPEC.md §1–6).

``Tapir.forward(video, queries)`` is the released function: video ``(B, T, H, W, 3)`` in
[-1, 1], queries ``(B, N, 3)`` as raster ``(t, y, x)`` -> a dict of ``tracks (B, N, T, 2)``
raster ``(x, y)``, ``occlusion`` and ``expected_dist`` logits ``(B, N, T)``, and the
``unrefined_*`` lists. Its pieces are public so that a predictor can compute features once,
for the frames it needs, and track in windows of frames:

- :meth:`Tapir.encode`: feature grids of a clip at one resolution;
- :meth:`Tapir.query_features`: each query's feature, sampled from the grids of its frames;
- :meth:`Tapir.initial_estimate`: the cost-volume estimate on the 256 × 256 lowres grid;
- :meth:`Tapir.refine`: 4 mixer iterations at one refinement resolution.

Positions inside the network are raster ``(x, y)`` pixels of the 256 × 256 training
resolution (the centre of the top-left pixel is (0.5, 0.5)); logits are accumulated without a
sigmoid.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from pose3d.tracking.tapir.cost_volume import CostVolumeHead, Estimate
from pose3d.tracking.tapir.encoder import GROUP_CHANNELS, ExtraConvs, ResNet, l2_normalise
from pose3d.tracking.tapir.mixer import PipsMixer

TRAIN_SIZE = (256, 256)  # (h, w) the initial estimate works at
ITERATIONS = 4  # mixer iterations per refinement resolution
PATCH_RADIUS = 3  # 7 × 7 correlation patches
STRIDE = 8  # lowres cells per pixel; H and W must be multiples of it
ENCODE_CHUNK = 2  # frames through the ResNet at once (≈ 75 MB of activations each at 384 × 512)
CORRELATION_CHUNK = 16  # frames sampled at once for the correlations
HIRES_CHANNELS, LOWRES_CHANNELS = GROUP_CHANNELS[1], GROUP_CHANNELS[3]


class Grids(NamedTuple):
    """L2-normalised features of a clip at one resolution (channels first)."""

    hires: torch.Tensor  # (B, T, 128, h/4, w/4)
    lowres: torch.Tensor  # (B, T, 256, h/8, w/8)
    size: tuple[int, int]  # (h, w) of the frames they were computed from


class QueryFeatures(NamedTuple):
    hires: torch.Tensor  # (B, N, 128)
    lowres: torch.Tensor  # (B, N, 256)


def mean_over_resolutions(finals: list[Estimate], size: tuple[int, int]) -> Estimate:
    """The network's output (SPEC.md §6): the mean of each refinement resolution's last
    estimate, positions scaled from 256 × 256 to a video of ``size`` (h, w)."""
    position = torch.stack([e.position for e in finals]).mean(0)
    scale = position.new_tensor([size[1] / TRAIN_SIZE[1], size[0] / TRAIN_SIZE[0]])
    return Estimate(
        position * scale,
        torch.stack([e.occlusion for e in finals]).mean(0),
        torch.stack([e.expected_dist for e in finals]).mean(0),
    )


def empty_grids(
    batch: int, frames: int, size: tuple[int, int], dtype: torch.dtype, device: torch.device
) -> Grids:
    """Uninitialised Grids of ``frames`` frames at ``size`` (h, w), to be filled by encode."""
    h, w = size
    return Grids(
        torch.empty(batch, frames, HIRES_CHANNELS, h // 4, w // 4, dtype=dtype, device=device),
        torch.empty(batch, frames, LOWRES_CHANNELS, h // 8, w // 8, dtype=dtype, device=device),
        size,
    )


def refinement_resolutions(size: tuple[int, int]) -> list[tuple[int, int]]:
    """The resolutions refinement runs at for a video of ``size`` (h, w) (SPEC.md §5); the
    first is always TRAIN_SIZE, the resolution of the cost volume."""
    if size == TRAIN_SIZE:
        return [TRAIN_SIZE]
    ratio = max(math.log2(full / train) for full, train in zip(size, TRAIN_SIZE, strict=True))
    levels = math.ceil(ratio) + 1
    if levels <= 1:
        return [TRAIN_SIZE]
    sizes = []
    for i in range(levels):
        level = tuple(
            round((train * (full / train) ** (i / (levels - 1))) // 8) * 8
            for full, train in zip(size, TRAIN_SIZE, strict=True)
        )
        sizes.append((level[0], level[1]))
    return sizes


def patch_offsets(radius: int = PATCH_RADIUS) -> torch.Tensor:
    """(K, 2) integer (dx, dy) offsets of a (2r+1)² patch, row-major (dy outer, dx inner)."""
    span = torch.arange(-radius, radius + 1, dtype=torch.float32)
    dy, dx = torch.meshgrid(span, span, indexing="ij")
    return torch.stack([dx.reshape(-1), dy.reshape(-1)], dim=-1)


class Tapir(nn.Module):
    """TAPIR with one extra pyramid level and extra convolutions (BootsTAPIR's checkpoint).

    ``causal``: the online variant's temporal convolutions (SPEC.md §7): left padding of two
    frames in the mixer, so a frame's estimate depends on it and the frames before it only.
    """

    def __init__(self, causal: bool = False) -> None:
        super().__init__()
        self.causal = causal
        # attributes in the checkpoint's key order
        self.resnet_torch = ResNet()
        self.torch_cost_volume_track_mods = CostVolumeHead()
        self.torch_pips_mixer = PipsMixer()
        self.extra_convs = ExtraConvs()

    # -- the released function ---------------------------------------------------------------

    def forward(self, video: torch.Tensor, queries: torch.Tensor) -> dict[str, object]:
        """video  (B, T, H, W, 3) in [-1, 1];  queries  (B, N, 3) raster (t, y, x)
        -> {"tracks": (B, N, T, 2) raster (x, y), "occlusion", "expected_dist": (B, N, T)
        logits, "unrefined_tracks" / "_occlusion" / "_expected_dist": lists of the same}."""
        check_inputs(video, queries)
        _, t, h, w, _ = video.shape
        initial = self.encode(video, TRAIN_SIZE)
        query_features = self.query_features(initial, queries, (t, h, w))
        first = self.initial_estimate(initial, query_features, queries, (h, w))
        estimates = [first]
        finals = []
        position = first.position
        for size in refinement_resolutions((h, w)):
            grids = initial if size == TRAIN_SIZE else self.encode(video, size)
            features = (
                query_features
                if size == TRAIN_SIZE
                else self.query_features(grids, queries, (t, h, w))
            )
            start = Estimate(position, first.occlusion, first.expected_dist)
            steps = self.refine(grids, features, start)
            estimates += steps
            finals.append(steps[-1])
            position = steps[-1].position
        final = mean_over_resolutions(finals, (h, w))
        scale = video.new_tensor([w / TRAIN_SIZE[1], h / TRAIN_SIZE[0]])
        return {
            "tracks": final.position,
            "occlusion": final.occlusion,
            "expected_dist": final.expected_dist,
            "unrefined_tracks": [e.position * scale for e in estimates[:-1]],
            "unrefined_occlusion": [e.occlusion for e in estimates[:-1]],
            "unrefined_expected_dist": [e.expected_dist for e in estimates[:-1]],
        }

    # -- the pieces ----------------------------------------------------------------------------

    def encode(
        self, video: torch.Tensor, size: tuple[int, int], out: Grids | None = None, at: int = 0
    ) -> Grids:
        """video  (B, T, H, W, 3) in [-1, 1] -> Grids at ``size`` (h, w), ENCODE_CHUNK frames
        at a time (bilinear resize, align_corners=False, no antialiasing). With ``out`` (Grids
        of ``size`` holding at least ``at + T`` frames) the features are written into it from
        frame ``at`` on, and it is returned: no copy of a window's features is ever made."""
        b, t = video.shape[:2]
        if out is None:
            out = empty_grids(b, t, size, video.dtype, video.device)
        for i in range(b):
            for start in range(0, t, ENCODE_CHUNK):
                chunk = video[i, start : start + ENCODE_CHUNK].permute(0, 3, 1, 2)  # (F, 3, H, W)
                if tuple(chunk.shape[-2:]) != size:
                    chunk = F.interpolate(chunk, size, mode="bilinear", align_corners=False)
                high, low = self.resnet_torch(chunk)
                low = self.extra_convs(low)
                where = slice(at + start, at + start + chunk.shape[0])
                out.hires[i, where] = l2_normalise(high)
                out.lowres[i, where] = l2_normalise(low)
        return out

    def query_features(
        self, grids: Grids, queries: torch.Tensor, video_size: tuple[int, int, int]
    ) -> QueryFeatures:
        """queries  (B, N, 3) raster (t, y, x) in a video of ``video_size`` (T, H, W) -> each
        query's feature, sampled trilinearly (border padding) from ``grids`` (SPEC.md §3)."""
        return QueryFeatures(
            _sample_trilinear(grids.hires, queries, video_size),
            _sample_trilinear(grids.lowres, queries, video_size),
        )

    def initial_estimate(
        self,
        initial: Grids,
        query_features: QueryFeatures,
        queries: torch.Tensor,
        video_size: tuple[int, int],
        first_frame: int = 0,
    ) -> Estimate:
        """The cost-volume estimate in 256 × 256 raster pixels, with each query's own frame
        set to the query. ``initial``: Grids at TRAIN_SIZE of frames ``first_frame ..``;
        queries  (B, N, 3) raster (t, y, x) in a video of ``video_size`` (H, W)."""
        head = self.torch_cost_volume_track_mods
        parts = [
            head(initial.lowres[:, s : s + CORRELATION_CHUNK], query_features.lowres, TRAIN_SIZE)
            for s in range(0, initial.lowres.shape[1], CORRELATION_CHUNK)
        ]
        position = torch.cat([p.position for p in parts], dim=2)  # (B, N, T, 2)
        occlusion = torch.cat([p.occlusion for p in parts], dim=2)
        expected_dist = torch.cat([p.expected_dist for p in parts], dim=2)
        h, w = video_size
        own = queries[..., [2, 1]] * queries.new_tensor([TRAIN_SIZE[1] / w, TRAIN_SIZE[0] / h])
        frame = torch.round(queries[..., 0]).long() - first_frame  # (B, N)
        inside = (frame >= 0) & (frame < position.shape[2])
        b_idx, n_idx = torch.nonzero(inside, as_tuple=True)
        position = position.clone()
        position[b_idx, n_idx, frame[b_idx, n_idx]] = own[b_idx, n_idx]
        return Estimate(position, occlusion, expected_dist)

    def refine(
        self,
        grids: Grids,
        query_features: QueryFeatures,
        start: Estimate,
        carry: list[list[list[torch.Tensor]]] | None = None,
    ) -> list[Estimate]:
        """ITERATIONS mixer iterations on the grids of one refinement resolution -> the
        estimate after each (positions in 256 × 256 raster pixels). ``carry``: the causal
        mixer's state, one list of blocks per iteration (online streaming)."""
        b, n, t = start.occlusion.shape
        h, w = grids.size
        step_scale = start.position.new_tensor([TRAIN_SIZE[1] / w, TRAIN_SIZE[0] / h])
        pooled = F.avg_pool2d(grids.lowres.flatten(0, 1), 2)
        pooled = pooled.reshape(b, t, *pooled.shape[1:])
        hires_query = query_features.hires[:, :, None].expand(b, n, t, -1)
        lowres_query = query_features.lowres[:, :, None].expand(b, n, t, -1)
        features = torch.cat([hires_query, lowres_query], dim=-1)  # (B, N, T, 384)
        position, occlusion, expected_dist = start
        steps = []
        for i in range(ITERATIONS):
            if i > 0:
                hires_query = features[..., : hires_query.shape[-1]]
                lowres_query = features[..., -lowres_query.shape[-1] :]
            levels = (
                (grids.hires, hires_query),
                (grids.lowres, lowres_query),
                (pooled, lowres_query),
            )
            correlations = self.correlations(levels, position)  # (B, N, T, 147)
            zeros = position.new_zeros(b, n, t, 2)
            mixer_input = torch.cat(
                [zeros, occlusion[..., None], expected_dist[..., None], features, correlations],
                dim=-1,
            )
            layer_carry = None if carry is None else carry[i]
            update = self.torch_pips_mixer(
                mixer_input.reshape(b * n, t, -1), layer_carry, self.causal
            ).reshape(b, n, t, -1)
            position = position + update[..., :2] * step_scale
            occlusion = occlusion + update[..., 2]
            expected_dist = expected_dist + update[..., 3]
            features = update[..., 4:] + features
            steps.append(Estimate(position, occlusion, expected_dist))
        return steps

    def correlations(
        self, levels: tuple[tuple[torch.Tensor, torch.Tensor], ...], position: torch.Tensor
    ) -> torch.Tensor:
        """levels  ((B, T, C, h, w) grid, (B, N, T, C) query feature) per pyramid level;
        position  (B, N, T, 2) in 256 × 256 raster pixels -> (B, N, T, 49 · levels): the dot
        products with the grid's features on a 7 × 7 patch of whole cells around it."""
        t = position.shape[2]
        out = []
        for start in range(0, t, CORRELATION_CHUNK):
            stop = min(start + CORRELATION_CHUNK, t)
            out.append(
                torch.cat(
                    [
                        _patch_correlation(
                            grid[:, start:stop],
                            query[:, :, start:stop],
                            position[:, :, start:stop],
                            patch_offsets().to(position),
                        )
                        for grid, query in levels
                    ],
                    dim=-1,
                )
            )
        return torch.cat(out, dim=2)


def _patch_correlation(
    grid: torch.Tensor, query: torch.Tensor, position: torch.Tensor, offsets: torch.Tensor
) -> torch.Tensor:
    """grid  (B, T, C, h, w);  query  (B, N, T, C);  position  (B, N, T, 2) in 256 px;
    offsets  (K, 2) -> (B, N, T, K)."""
    b, t, c, h, w = grid.shape
    n = position.shape[1]
    cells = position * position.new_tensor([w / TRAIN_SIZE[1], h / TRAIN_SIZE[0]])
    coords = cells[:, :, :, None] + offsets  # (B, N, T, K, 2) (x, y) grid cells
    # the released code divides both coordinates by the grid's height (SPEC.md §5)
    normalised = 2 * coords / h - 1
    sample_at = normalised.permute(0, 2, 1, 3, 4).reshape(b * t, n, -1, 2)
    sampled = F.grid_sample(
        grid.reshape(b * t, c, h, w),
        sample_at,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )  # (B·T, C, N, K)
    sampled = sampled.reshape(b, t, c, n, -1)
    return torch.einsum("btcnk,bntc->bntk", sampled, query)


def _sample_trilinear(
    grid: torch.Tensor, queries: torch.Tensor, video_size: tuple[int, int, int]
) -> torch.Tensor:
    """grid  (B, T, C, h, w);  queries  (B, N, 3) raster (t, y, x) in a (T, H, W) video
    -> (B, N, C)."""
    t_grid, _, h, w = grid.shape[1:]
    t_video, h_video, w_video = video_size
    t = queries[..., 0] * (t_grid / t_video) + 0.5
    y = queries[..., 1] * (h / h_video)
    x = queries[..., 2] * (w / w_video)
    normalised = torch.stack([2 * x / w - 1, 2 * y / h - 1, 2 * t / t_grid - 1], dim=-1)
    sampled = F.grid_sample(
        grid.permute(0, 2, 1, 3, 4),  # (B, C, T, h, w)
        normalised[:, :, None, None],  # (B, N, 1, 1, 3) (x, y, t)
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )  # (B, C, N, 1, 1)
    return sampled[..., 0, 0].permute(0, 2, 1)


def check_inputs(video: torch.Tensor, queries: torch.Tensor) -> None:
    """Raise ValueError unless video is float (B, T, H, W, 3), H and W multiples of 8, and
    queries (B, N, 3)."""
    if video.ndim != 5 or video.shape[-1] != 3:
        raise ValueError(f"video must be (B, T, H, W, 3), got shape {tuple(video.shape)}")
    if not video.is_floating_point():
        raise ValueError(f"video must be float RGB in [-1, 1], got {video.dtype}")
    if video.shape[2] % STRIDE or video.shape[3] % STRIDE:
        raise ValueError(
            f"video height and width must be multiples of {STRIDE}, got {tuple(video.shape[2:4])}"
        )
    if queries.ndim != 3 or queries.shape[-1] != 3 or queries.shape[0] != video.shape[0]:
        raise ValueError(
            f"queries must be (B={video.shape[0]}, N, 3) as (t, y, x), got {tuple(queries.shape)}"
        )
