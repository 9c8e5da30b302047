"""TAPIR's per-frame features (SPEC.md §2): a pre-activation ResNet with instance norm, five
extra convolution blocks on its 1/8 output, both grids L2-normalised over channels.

Shapes: frames ``(F, 3, h, w)`` in [-1, 1] -> hires ``(F, 128, h/4, w/4)``, lowres
``(F, 256, h/8, w/8)``. State_dict prefixes ``resnet_torch`` and ``extra_convs``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

GROUP_CHANNELS = (64, 128, 256, 256)
GROUP_STRIDES = (1, 2, 2, 1)
BLOCKS_PER_GROUP = 2
EXTRA_BLOCKS = 5
EXTRA_WIDTH = 1024


class FrameFeatures(NamedTuple):
    """L2-normalised feature grids of F frames (channels first)."""

    hires: torch.Tensor  # (F, 128, h/4, w/4)
    lowres: torch.Tensor  # (F, 256, h/8, w/8)


def l2_normalise(features: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """``f / sqrt(max(sum(f²), 1e-12))`` over ``dim``."""
    norm_sq = features.square().sum(dim=dim, keepdim=True)
    return features / norm_sq.clamp_min(1e-12).sqrt()


class ResidualBlock(nn.Module):
    """Pre-activation residual block: norm, relu, conv (the block's stride), norm, relu, conv."""

    def __init__(self, channels_in: int, channels_out: int, stride: int, project: bool) -> None:
        super().__init__()
        self.stride = stride
        # attributes in the checkpoint's key order
        self.proj_conv = (
            nn.Conv2d(channels_in, channels_out, 1, stride=stride, bias=False) if project else None
        )
        self.bn_0 = nn.InstanceNorm2d(channels_in, affine=True)
        self.conv_0 = nn.Conv2d(channels_in, channels_out, 3, stride=stride, bias=False)
        self.conv_1 = nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False)
        self.bn_1 = nn.InstanceNorm2d(channels_out, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (F, C, h, w)
        a = F.relu(self.bn_0(x))
        shortcut = x if self.proj_conv is None else self.proj_conv(a)
        # stride 1: one pixel all round; stride 2: none on top/left, two on bottom/right
        padding = (1, 1, 1, 1) if self.stride == 1 else (0, 2, 0, 2)
        y = self.conv_0(F.pad(a, padding))
        y = self.conv_1(F.relu(self.bn_1(y)))
        return y + shortcut


class BlockGroup(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            ResidualBlock(
                channels_in if i == 0 else channels_out,
                channels_out,
                stride if i == 0 else 1,
                i == 0,
            )
            for i in range(BLOCKS_PER_GROUP)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class ResNet(nn.Module):
    """``initial_conv`` (7×7, stride 2) then 4 block groups; returns groups 1 and 3's outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.initial_conv = nn.Conv2d(3, GROUP_CHANNELS[0], 7, stride=2, bias=False)
        channels = (GROUP_CHANNELS[0], *GROUP_CHANNELS)
        self.block_groups = nn.ModuleList(
            BlockGroup(channels[i], channels[i + 1], GROUP_STRIDES[i])
            for i in range(len(GROUP_CHANNELS))
        )

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.initial_conv(F.pad(frames, (2, 4, 2, 4)))  # (F, 64, h/2, w/2)
        outputs = []
        for group in self.block_groups:
            x = group(x)
            outputs.append(x)
        return outputs[1], outputs[3]  # (F, 128, h/4, w/4), (F, 256, h/8, w/8)


class ExtraConvBlock(nn.Module):
    """``h = layer_norm(x)`` (channels); ``h + conv_1(gelu(conv(h)))`` (residual on h, not x)."""

    def __init__(self, channels: int = GROUP_CHANNELS[-1], width: int = EXTRA_WIDTH) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(channels)
        self.conv = nn.Conv2d(channels, width, 3, padding=1)
        self.conv_1 = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (F, C, h, w)
        h = self.layer_norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return h + self.conv_1(F.gelu(self.conv(h), approximate="tanh"))


class ExtraConvs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ExtraConvBlock() for _ in range(EXTRA_BLOCKS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x
