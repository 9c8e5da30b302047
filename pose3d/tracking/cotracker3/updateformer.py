"""The transformer that refines all tracks jointly: attention over time, then over tracks
through a small set of learned virtual tracks (SPEC.md §7)."""

from __future__ import annotations

import torch
from torch import nn

from pose3d.tracking.cotracker3.blocks import AttnBlock, CrossAttnBlock


class EfficientUpdateFormer(nn.Module):
    """Time attention per track and point <-> virtual-track attention per frame, ``depth`` times.

    x        # (B, N, T, input_dim)  one token per track and frame
    returns  # (B, N, T, 4)          (dx, dy, dvis, dconf) in stride units / logits
    """

    def __init__(
        self,
        depth: int = 3,
        input_dim: int = 1110,
        hidden_size: int = 384,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        num_virtual_tracks: int = 64,
    ) -> None:
        super().__init__()
        self.num_virtual_tracks = num_virtual_tracks
        self.input_transform = nn.Linear(input_dim, hidden_size)
        self.flow_head = nn.Linear(hidden_size, 2)
        self.vis_conf_head = nn.Linear(hidden_size, 2)
        # The checkpoints spell this "virual": the key name is the contract.
        self.virual_tracks = nn.Parameter(torch.randn(1, num_virtual_tracks, 1, hidden_size))
        self.time_blocks = nn.ModuleList(
            AttnBlock(hidden_size, num_heads, mlp_ratio) for _ in range(depth)
        )
        self.space_virtual_blocks = nn.ModuleList(
            AttnBlock(hidden_size, num_heads, mlp_ratio) for _ in range(depth)
        )
        self.space_point2virtual_blocks = nn.ModuleList(
            CrossAttnBlock(hidden_size, hidden_size, num_heads, mlp_ratio) for _ in range(depth)
        )
        self.space_virtual2point_blocks = nn.ModuleList(
            CrossAttnBlock(hidden_size, hidden_size, num_heads, mlp_ratio) for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.input_transform(x)  # (B, N, T, hidden)
        b, n, t, c = tokens.shape
        virtual = self.virual_tracks.expand(b, -1, t, -1)  # (B, V, T, hidden)
        tokens = torch.cat([tokens, virtual], dim=1)  # (B, N + V, T, hidden)
        m = n + self.num_virtual_tracks
        for time_block, v2p, virtual_block, p2v in zip(
            self.time_blocks,
            self.space_virtual2point_blocks,
            self.space_virtual_blocks,
            self.space_point2virtual_blocks,
            strict=True,
        ):
            tokens = time_block(tokens.reshape(b * m, t, c)).reshape(b, m, t, c)
            space = tokens.permute(0, 2, 1, 3).reshape(b * t, m, c)  # (B T, N + V, hidden)
            points, virtual_tokens = space[:, :n], space[:, n:]  # (B T, N, c), (B T, V, c)
            virtual_tokens = v2p(virtual_tokens, points)
            virtual_tokens = virtual_block(virtual_tokens)
            points = p2v(points, virtual_tokens)
            space = torch.cat([points, virtual_tokens], dim=1)  # (B T, N + V, hidden)
            tokens = space.reshape(b, t, m, c).permute(0, 2, 1, 3)  # (B, N + V, T, hidden)
        tokens = tokens[:, :n]  # (B, N, T, hidden)
        return torch.cat([self.flow_head(tokens), self.vis_conf_head(tokens)], dim=-1)
