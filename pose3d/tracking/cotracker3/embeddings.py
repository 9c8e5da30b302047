"""Fixed embeddings of CoTracker3: the Fourier encoding of relative motion and the time table.

Both follow SPEC.md §6: ``posenc`` lays out ``[x, sin(x 2^k), cos(x 2^k)]`` with the frequency
index major and the coordinate minor (cos written as ``sin(. + pi/2)``, as the reference does);
the time table is a 1-D sin/cos table whose checkpoint copy (a buffer) is what the network uses,
stretched linearly when a clip is not ``window_len`` frames long.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def posenc(x: torch.Tensor, min_deg: int, max_deg: int) -> torch.Tensor:
    """Fourier features of the last axis.

    x  # (..., D)  ->  (..., D + 2 D (max_deg - min_deg)): [x, sin (k-major), cos (k-major)]
    """
    if min_deg == max_deg:
        return x
    scales = torch.tensor(
        [2.0**k for k in range(min_deg, max_deg)], dtype=x.dtype, device=x.device
    )  # (K,)
    xb = (x[..., None, :] * scales[:, None]).reshape(*x.shape[:-1], -1)  # (..., K D)
    four_feat = torch.sin(torch.cat([xb, xb + 0.5 * math.pi], dim=-1))  # (..., 2 K D)
    return torch.cat([x, four_feat], dim=-1)


def sincos_time_table(length: int, dim: int) -> torch.Tensor:
    """The deterministic table the checkpoints' ``time_emb`` was built from.

    Returns  # (1, length, dim) float32: [sin(p w_k), cos(p w_k)], w_k = 10000^(-k / (dim/2)).
    """
    if dim % 2:
        raise ValueError(f"time embedding needs an even dimension, got {dim}")
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))  # (dim/2,)
    angles = np.arange(length, dtype=np.float64)[:, None] * omega[None, :]  # (length, dim/2)
    table = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)  # (length, dim)
    return torch.from_numpy(table.astype(np.float32))[None]


def interpolate_time_emb(time_emb: torch.Tensor, length: int) -> torch.Tensor:
    """Stretch the time table to a clip of ``length`` frames (linear, align_corners=False).

    time_emb  # (1, S, D)  ->  (1, length, D); returned unchanged when length == S.
    """
    if time_emb.shape[1] == length:
        return time_emb
    stretched = F.interpolate(time_emb.float().permute(0, 2, 1), size=length, mode="linear")
    return stretched.permute(0, 2, 1).to(time_emb.dtype)
