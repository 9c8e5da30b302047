"""TAPIR's initial estimate (SPEC.md §4): every query's lowres feature against every cell of
every frame, a small conv head to position logits, a local soft-argmax, and an occlusion head.

State_dict prefix ``torch_cost_volume_track_mods``. Positions come out as raster (x, y) in the
pixels of the grid's source resolution (e.g. 256 × 256), centre of the top-left pixel (0.5, 0.5).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

SOFTMAX_TEMPERATURE = 20.0
ARGMAX_RADIUS = 5.0  # feature cells


class Estimate(NamedTuple):
    """Positions and logits of N queries in T frames."""

    position: torch.Tensor  # (B, N, T, 2) raster (x, y)
    occlusion: torch.Tensor  # (B, N, T) logit, higher = occluded
    expected_dist: torch.Tensor  # (B, N, T) logit, higher = likely far from the truth


class CostVolumeHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hid1 = nn.Conv2d(1, 16, 3, padding=1)
        self.hid2 = nn.Conv2d(16, 1, 3, padding=1)
        self.hid3 = nn.Conv2d(16, 32, 3, stride=2)
        self.hid4 = nn.Linear(32, 16)
        self.occ_out = nn.Linear(16, 2)

    def forward(
        self, lowres: torch.Tensor, query_features: torch.Tensor, source_size: tuple[int, int]
    ) -> Estimate:
        """lowres  (B, T, C, h, w);  query_features  (B, N, C);  source_size  (H, W) the grid
        was computed from -> Estimate in that size's raster pixels."""
        b, t, _, h, w = lowres.shape
        n = query_features.shape[1]
        cost = torch.einsum("btchw,bnc->tbnhw", lowres, query_features)  # (T, B, N, h, w)
        m = F.relu(self.hid1(cost.reshape(t * b * n, 1, h, w)))  # (TBN, 16, h, w)
        logits = self.hid2(m).reshape(t * b * n, h * w)
        position = soft_argmax(logits, (h, w))  # (TBN, 2) grid cells
        position = position * position.new_tensor([source_size[1] / w, source_size[0] / h])
        occ = F.relu(self.hid3(F.pad(m, (0, 2, 0, 2)))).mean(dim=(2, 3))  # (TBN, 32)
        occ = self.occ_out(F.relu(self.hid4(occ)))  # (TBN, 2)
        position = position.reshape(t, b, n, 2).permute(1, 2, 0, 3)
        occ = occ.reshape(t, b, n, 2).permute(1, 2, 0, 3)
        return Estimate(position, occ[..., 0], occ[..., 1])


def soft_argmax(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """logits  (M, h·w) -> (M, 2) raster (x, y) in cells: the soft-max (temperature 20)
    weighted mean of the cell centres within ``ARGMAX_RADIUS`` cells of the arg-max."""
    h, w = size
    weights = torch.softmax(SOFTMAX_TEMPERATURE * logits, dim=-1)  # (M, h·w)
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=logits.dtype, device=logits.device) + 0.5,
        torch.arange(w, dtype=logits.dtype, device=logits.device) + 0.5,
        indexing="ij",
    )
    centres = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1)  # (h·w, 2)
    peak = centres[logits.argmax(dim=-1)]  # (M, 2)
    near = (centres[None] - peak[:, None]).square().sum(-1) < ARGMAX_RADIUS**2  # (M, h·w)
    weights = weights * near
    total = weights.sum(-1, keepdim=True).clamp_min(1e-12)
    return (weights @ centres) / total
