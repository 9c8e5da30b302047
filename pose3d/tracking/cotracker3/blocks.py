"""Building blocks of CoTracker3: the MLP, the convolutional encoder and the attention blocks.

Module and parameter names are the checkpoint's contract (SPEC.md §3): ``fc1/act/norm/fc2``,
``conv1/conv2/downsample.0``, ``to_q/to_kv/to_out``, ``norm_context``. Norms without parameters
(InstanceNorm2d, the blocks' LayerNorms) carry no state_dict entries.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Mlp(nn.Module):
    """fc1 -> act -> norm -> fc2 (timm's layout; ``norm`` is an identity here).

    x  # (..., in_features)  ->  (..., out_features)
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        out_features: int | None = None,
        approximate: str = "none",
    ) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate=approximate)
        self.norm = nn.Identity()
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.norm(self.act(self.fc1(x))))


class ResidualBlock(nn.Module):
    """Two 3×3 convs with instance norm and a (strided 1×1 conv + norm) skip when stride > 1.

    x  # (B, in_planes, H, W)  ->  (B, planes, H / stride, W / stride)
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1)
        self.norm1 = nn.InstanceNorm2d(planes)
        self.norm2 = nn.InstanceNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride),
                nn.InstanceNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(skip + y)


class BasicEncoder(nn.Module):
    """Per-frame feature encoder: four residual stages fused at 1/``stride`` resolution.

    x  # (B, 3, H, W) in [-1, 1]  ->  (B, output_dim, H / stride, W / stride)
    """

    def __init__(self, input_dim: int = 3, output_dim: int = 128, stride: int = 4) -> None:
        super().__init__()
        self.stride = stride
        half, three_quarters = output_dim // 2, output_dim // 4 * 3  # 64, 96
        self.conv1 = nn.Conv2d(input_dim, half, kernel_size=7, stride=2, padding=3)
        self.norm1 = nn.InstanceNorm2d(half)
        self.layer1 = self._make_layer(half, half, stride=1)
        self.layer2 = self._make_layer(half, three_quarters, stride=2)
        self.layer3 = self._make_layer(three_quarters, output_dim, stride=2)
        self.layer4 = self._make_layer(output_dim, output_dim, stride=2)
        fused = half + three_quarters + 2 * output_dim  # 416
        self.conv2 = nn.Conv2d(fused, output_dim * 2, kernel_size=3, padding=1)
        self.norm2 = nn.InstanceNorm2d(output_dim * 2)
        self.conv3 = nn.Conv2d(output_dim * 2, output_dim, kernel_size=1)

    @staticmethod
    def _make_layer(in_planes: int, planes: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            ResidualBlock(in_planes, planes, stride), ResidualBlock(planes, planes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] // self.stride, x.shape[-1] // self.stride)
        x = F.relu(self.norm1(self.conv1(x)))  # (B, 64, H/2, W/2)
        a = self.layer1(x)  # (B, 64, H/2, W/2)
        b = self.layer2(a)  # (B, 96, H/4, W/4)
        c = self.layer3(b)  # (B, 128, H/8, W/8)
        d = self.layer4(c)  # (B, 128, H/16, W/16)
        stages = [
            F.interpolate(s, size, mode="bilinear", align_corners=True) for s in (a, b, c, d)
        ]  # each (B, C_s, H/4, W/4)
        x = F.relu(self.norm2(self.conv2(torch.cat(stages, dim=1))))  # (B, 256, H/4, W/4)
        return self.conv3(x)  # (B, 128, H/4, W/4)


class Attention(nn.Module):
    """Multi-head (cross-)attention with fused key/value projection (k rows first, then v).

    x        # (B, N1, query_dim)
    context  # (B, N2, context_dim) or None (self-attention)
    returns  # (B, N1, query_dim)
    """

    def __init__(
        self,
        query_dim: int,
        context_dim: int | None = None,
        num_heads: int = 8,
        dim_head: int = 48,
        qkv_bias: bool = True,
    ) -> None:
        super().__init__()
        inner = num_heads * dim_head
        self.num_heads = num_heads
        self.dim_head = dim_head
        self.to_q = nn.Linear(query_dim, inner, bias=qkv_bias)
        self.to_kv = nn.Linear(context_dim or query_dim, 2 * inner, bias=qkv_bias)
        self.to_out = nn.Linear(inner, query_dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape  # (B, N, heads dim_head) -> (B, heads, N, dim_head)
        return x.reshape(b, n, self.num_heads, self.dim_head).transpose(1, 2)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        q = self._heads(self.to_q(x))  # (B, heads, N1, dim_head)
        k, v = (self._heads(p) for p in self.to_kv(context).chunk(2, dim=-1))  # (B,h,N2,dh)
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(q kᵀ / √dim_head) v
        return self.to_out(out.transpose(1, 2).flatten(2))  # (B, N1, query_dim)


class AttnBlock(nn.Module):
    """Pre-norm self-attention block: x += attn(LN(x)); x += mlp(LN(x)).

    x  # (B, N, hidden)  ->  (B, N, hidden)
    """

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, dim_head=hidden_size // num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio), approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CrossAttnBlock(nn.Module):
    """Pre-norm cross-attention block: x += attn(LN(x), LN_ctx(context)); x += mlp(LN(x)).

    x        # (B, N1, hidden)
    context  # (B, N2, context_dim)
    returns  # (B, N1, hidden)
    """

    def __init__(
        self, hidden_size: int, context_dim: int, num_heads: int, mlp_ratio: float = 4.0
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.norm_context = nn.LayerNorm(context_dim)  # affine, eps 1e-5
        self.cross_attn = Attention(
            hidden_size, context_dim, num_heads=num_heads, dim_head=hidden_size // num_heads
        )
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio), approximate="tanh")

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.cross_attn(self.norm1(x), self.norm_context(context))
        return x + self.mlp(self.norm2(x))
