"""Our own implementation of the TAPIR point-tracking network, as BootsTAPIR's checkpoints
expect it (Google DeepMind's tapnet: software Apache 2.0, other materials CC BY 4.0; the
weights are never bundled).

Written from ``../shared/tapir/SPEC.md``; its state_dict loads ``bootstapir_checkpoint_v2.pt``
(offline) and ``causal_bootstapir_checkpoint.pt`` (online) strictly. Public API::

    network = build_tapir("offline" | "online")               # nn.Module in eval mode
    load_checkpoint(network, "bootstapir_checkpoint_v2.pt")     # strict
    out = network(video, queries)
    # video    (B, T, H, W, 3) float RGB in [-1, 1], H and W multiples of 8
    # queries  (B, N, 3) as raster (t, y, x) -> out["tracks"] (B, N, T, 2) raster (x, y),
    #          out["occlusion"], out["expected_dist"] (B, N, T) logits

Modules: encoder (ResNet + extra convs), cost_volume (the initial estimate), mixer (the
refinement network), model (the network and its pieces).
"""

from __future__ import annotations

import torch

from pose3d.tracking.checkpoint import CheckpointError, load_checkpoint
from pose3d.tracking.tapir.model import Tapir, refinement_resolutions

VARIANTS = ("offline", "online")


def build_tapir(variant: str = "offline", *, device: str | torch.device | None = None) -> Tapir:
    """The BootsTAPIR network, untrained, in eval mode: ``offline`` (symmetric temporal
    convolutions) or ``online`` (causal). ``device="meta"`` allocates nothing: load weights
    into it with ``load_state_dict(state, assign=True)`` (one copy of the weights, not two)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown TAPIR variant {variant!r}; expected one of {VARIANTS}")
    with torch.device(device or "cpu"):
        network = Tapir(causal=variant == "online")
    return network.eval()


__all__ = [
    "VARIANTS",
    "CheckpointError",
    "Tapir",
    "build_tapir",
    "load_checkpoint",
    "refinement_resolutions",
]
