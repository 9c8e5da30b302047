"""TAPIR's refinement network (SPEC.md §5, ``torch_pips_mixer``): an MLP-mixer over the time
axis of each query's track, with depthwise temporal convolutions.

Input ``(Q, T, 535)`` per query and frame, output ``(Q, T, 388)``: position update (2),
occlusion and expected-distance updates (2), the next mixer feature (384). The offline network
pads its temporal convolutions symmetrically; the causal one (SPEC.md §7) pads 2 frames on the
left and can carry those 2 frames from one chunk of frames to the next.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_CHANNELS = 535
WIDTH = 512
HIDDEN = 2048
OUTPUT_CHANNELS = 388
BLOCKS = 12
KERNEL = 3
GROUP = HIDDEN // WIDTH  # channels summed back into one after the depthwise convolutions


class ChannelsMixer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mlp2_up = nn.Linear(WIDTH, HIDDEN)
        self.mlp2_down = nn.Linear(HIDDEN, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp2_down(F.gelu(self.mlp2_up(x), approximate="tanh"))


class MixerBlock(nn.Module):
    """Time mixing (depthwise convs over T, channels summed in groups of 4), then channel
    mixing; each with a residual."""

    def __init__(self) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(WIDTH, bias=False)
        self.mlp1_up = nn.Conv1d(WIDTH, HIDDEN, KERNEL, groups=WIDTH)
        self.mlp1_up_1 = nn.Conv1d(HIDDEN, HIDDEN, KERNEL, groups=HIDDEN)
        self.layer_norm_1 = nn.LayerNorm(WIDTH, bias=False)
        self.conv_channels_mixer = ChannelsMixer()

    def forward(
        self, x: torch.Tensor, carry: list[torch.Tensor] | None = None, causal: bool = False
    ) -> torch.Tensor:
        """x  (Q, T, 512). ``causal``: left padding of 2 frames, taken from ``carry`` (the
        last 2 input frames of each depthwise conv in the previous chunk, updated in place)
        when it holds them, else zeros."""
        s = x
        y = self.layer_norm(x).transpose(1, 2)  # (Q, 512, T)
        y = self._temporal(self.mlp1_up, y, carry, 0, causal)
        y = F.gelu(y, approximate="tanh")
        y = self._temporal(self.mlp1_up_1, y, carry, 1, causal)
        y = y[:, 0::GROUP] + y[:, 1::GROUP] + y[:, 2::GROUP] + y[:, 3::GROUP]  # (Q, 512, T)
        x = y.transpose(1, 2) + s
        return x + self.conv_channels_mixer(self.layer_norm_1(x))

    @staticmethod
    def _temporal(
        conv: nn.Conv1d,
        y: torch.Tensor,
        carry: list[torch.Tensor] | None,
        index: int,
        causal: bool,
    ) -> torch.Tensor:
        """One depthwise conv over time: (Q, C, T) -> (Q, C', T)."""
        if not causal:
            return conv(F.pad(y, (1, 1)))
        if carry is not None and len(carry) > index:
            previous = carry[index]
        else:
            previous = y.new_zeros(*y.shape[:2], KERNEL - 1)
        padded = torch.cat([previous, y], dim=2)
        if carry is not None:
            tail = padded[..., -(KERNEL - 1) :].detach()
            if len(carry) > index:
                carry[index] = tail
            else:
                carry.append(tail)
        return conv(padded)


class PipsMixer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # attributes in the checkpoint's key order
        self.linear = nn.Linear(INPUT_CHANNELS, WIDTH)
        self.layer_norm = nn.LayerNorm(WIDTH, bias=False)
        self.linear_1 = nn.Linear(WIDTH, OUTPUT_CHANNELS)
        self.blocks = nn.ModuleList(MixerBlock() for _ in range(BLOCKS))

    def forward(
        self,
        x: torch.Tensor,
        carry: list[list[torch.Tensor]] | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """x  (Q, T, 535) -> (Q, T, 388). ``carry``: one list per block (causal streaming)."""
        x = self.linear(x)
        for i, block in enumerate(self.blocks):
            x = block(x, None if carry is None else carry[i], causal)
        return self.linear_1(self.layer_norm(x))
