"""Our own implementation of the CoTracker3 point-tracking network (offline and online).

Written from ``../shared/cotracker3/SPEC.md``; its state_dict loads the released checkpoints
(``scaled_offline.pth``, ``scaled_online.pth``; CC BY-NC, never bundled) strictly. Public API::

    network = build_cotracker3("offline" | "online")          # nn.Module in eval mode
    load_checkpoint(network, "scaled_offline.pth")             # strict
    tracks, visibility, confidence = network(video, queries, iters=4)
    # video    (B, T, 3, H, W) float RGB 0..255 at model resolution (H, W multiples of 4)
    # queries  (B, N, 3) as (t, x, y) in pixels -> tracks (B, T, N, 2), probabilities (B, T, N)

    network.init_video_online_processing()                    # online variant: streaming
    for i in range(0, T - 8, 8):
        out = network(video[:, i:i + 16], queries, is_online=True)   # all frames seen so far

    predictor = CoTracker3Predictor(network)                  # any frame size, numpy in/out
    result = predictor.track(frames, queries)  # (T, H, W, 3) uint8, (N, 3) -> Tracks (T, N, ...)

Modules: blocks (Mlp, ResidualBlock, BasicEncoder, attention blocks), updateformer,
correlation (sampling, 4-D correlation), embeddings (posenc, time table), model (shared
machinery + offline), online (sliding windows + streaming); weights files load through
``pose3d.tracking.checkpoint`` (shared with TAPIR),
predictor (resizing, support grid, backward tracking, feature cache).
"""

from __future__ import annotations

from typing import Literal, overload

from pose3d.tracking.checkpoint import CheckpointError, load_checkpoint
from pose3d.tracking.cotracker3.model import CoTracker3Base, CoTracker3Offline, TrackerOutput
from pose3d.tracking.cotracker3.online import CoTracker3Online
from pose3d.tracking.cotracker3.predictor import CoTracker3Predictor, Tracks

VARIANTS = ("offline", "online")


@overload
def build_cotracker3(variant: Literal["offline"]) -> CoTracker3Offline: ...
@overload
def build_cotracker3(variant: Literal["online"]) -> CoTracker3Online: ...
@overload
def build_cotracker3(variant: str) -> CoTracker3Base: ...
def build_cotracker3(variant: str) -> CoTracker3Base:
    """The CoTracker3 network, untrained, in eval mode: window 60 (offline) or 16 (online)."""
    if variant == "offline":
        return CoTracker3Offline(window_len=60).eval()
    if variant == "online":
        return CoTracker3Online(window_len=16).eval()
    raise ValueError(f"unknown CoTracker3 variant {variant!r}; expected one of {VARIANTS}")


__all__ = [
    "VARIANTS",
    "CheckpointError",
    "CoTracker3Base",
    "CoTracker3Offline",
    "CoTracker3Online",
    "CoTracker3Predictor",
    "TrackerOutput",
    "Tracks",
    "build_cotracker3",
    "load_checkpoint",
]
