"""Sampling of feature maps and the 4-D local correlation of CoTracker3 (SPEC.md §5, §6.7a).

Coordinates are in pixels of the map they sample, pixel-centre convention (0 … size−1),
``align_corners=True`` with border padding. The 7×7 support grid is "transposed": its first axis
varies the x offset and its second the y offset, flattened as ``k = i·7 + j`` ↔ ``(dx, dy) =
(i − r, j − r)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bilinear_sampler(maps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Sample ``maps`` at pixel coordinates with grid_sample (align_corners, border padding).

    maps    # (B, C, H, W)     with coords (B, *G, 2) as (x, y), or
    maps    # (B, C, T, H, W)  with coords (B, *G, 3) as (t, x, y)
    returns # (B, C, *G)
    """
    sizes = maps.shape[2:]
    if len(sizes) == 3:
        coords = coords[..., [1, 2, 0]]  # (t, x, y) -> (x, y, t), grid_sample's order
    elif len(sizes) != 2:
        raise ValueError(f"maps must be 4-D or 5-D, got shape {tuple(maps.shape)}")
    if coords.shape[-1] != len(sizes):
        raise ValueError(f"coords need {len(sizes)} components, got shape {tuple(coords.shape)}")
    scale = torch.tensor(
        [2.0 / max(size - 1, 1) for size in reversed(sizes)],
        device=coords.device,
        dtype=coords.dtype,
    )  # (x, y[, t]) scale to [-1, 1]
    grid = coords * scale - 1
    return F.grid_sample(maps, grid, align_corners=True, padding_mode="border")


def support_offsets(radius: int, device: torch.device | None = None) -> torch.Tensor:
    """The (2r+1)² support offsets in the transposed layout.

    returns  # ((2r+1)², 2) as (dx, dy); row k = i (2r+1) + j holds (i − r, j − r)
    """
    d = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)  # (2r+1,)
    dx, dy = torch.meshgrid(d, d, indexing="ij")  # first axis varies dx
    return torch.stack([dx, dy], dim=-1).reshape(-1, 2)


def sample_query_support(
    fmaps: torch.Tensor, frames: torch.Tensor, xy: torch.Tensor, radius: int
) -> torch.Tensor:
    """Features on the support grid around each query, sampled in space *and* time (trilinear).

    fmaps   # (B, T, C, H, W)   one pyramid level
    frames  # (B, N)            query frame (integer valued, indexes T)
    xy      # (B, N, 2)         query position in this level's pixels
    returns # (B, N, R², C)     R = 2 radius + 1
    """
    offsets = support_offsets(radius, xy.device).to(xy.dtype)  # (R², 2)
    points = xy[:, :, None, :] + offsets  # (B, N, R², 2)
    t = frames.to(xy.dtype)[:, :, None, None].expand(*points.shape[:-1], 1)  # (B, N, R², 1)
    txy = torch.cat([t, points], dim=-1)  # (B, N, R², 3)
    sampled = bilinear_sampler(fmaps.permute(0, 2, 1, 3, 4), txy[:, :, :, None])  # (B,C,N,R²,1)
    return sampled[..., 0].permute(0, 2, 3, 1)  # (B, N, R², C)


def sample_track_neighbourhoods(
    fmaps: torch.Tensor, coords: torch.Tensor, radius: int
) -> torch.Tensor:
    """Features on the support grid around every track position of every frame (bilinear).

    fmaps   # (B, T, C, H, W)   one pyramid level
    coords  # (B, T, N, 2)      positions (x, y) in this level's pixels
    returns # (B, T, N, R², C)
    """
    b, t, c, h, w = fmaps.shape
    n = coords.shape[2]
    offsets = support_offsets(radius, coords.device).to(coords.dtype)  # (R², 2)
    points = coords.reshape(b * t, n, 1, 2) + offsets  # (B T, N, R², 2)
    sampled = bilinear_sampler(fmaps.reshape(b * t, c, h, w), points)  # (B T, C, N, R²)
    return sampled.permute(0, 2, 3, 1).reshape(b, t, n, offsets.shape[0], c)


def local_correlation(target: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """4-D correlation of track neighbourhoods with query neighbourhoods (no 1/√C scaling).

    target  # (B, T, N, R², C)   around the current track positions
    support # (B, N, R², C)      around the queries
    returns # (B, T, N, R⁴)      flattened (target h, w outer; query i, j inner)
    """
    b, t, n, r2, _ = target.shape
    corr = target @ support[:, None].transpose(-1, -2)  # (B, T, N, R², R²)
    return corr.reshape(b, t, n, r2 * r2)
