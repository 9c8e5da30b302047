"""Loading a weights file into a tracking network, strictly: every key, every shape.

Shared by CoTracker3 and TAPIR. A network may explain a mismatch that has a known cause with a
``checkpoint_hint(mismatched_shapes) -> str`` method (e.g. CoTracker3's window length).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from pose3d.errors import Pose3dError

NetworkT = TypeVar("NetworkT", bound=nn.Module)


class CheckpointError(Pose3dError):
    """A weights file cannot be loaded into a tracking network."""


def _state_dict(content: object, path: Path) -> Mapping[str, torch.Tensor]:
    """The state_dict of a loaded file: the file itself, or its "model" entry (training files)."""
    if isinstance(content, Mapping) and "model" in content:
        content = content["model"]
    if not isinstance(content, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in content.items()
    ):
        raise CheckpointError(
            f"{path}: expected a state_dict (names -> tensors) or a dict with one under 'model', "
            f"found {type(content).__name__}; is this a PyTorch weights file of a point tracker?"
        )
    return content


def _reason(error: Exception) -> str:
    """torch.load's error on one line, without its advice to load with weights_only=False
    (which would run code from the file: pose3d never does)."""
    text = str(error)
    if "Weights only load failed" in text:
        reason = text.partition("WeightsUnpickler error:")[2].split("Check the documentation")[0]
        text = f"it holds more than tensors: {reason.strip() or 'refused'}"
    text = " ".join(text.split()) or type(error).__name__
    return text if len(text) <= 300 else text[:300] + " ..."


def load_checkpoint(network: NetworkT, path: str | Path, *, assign: bool = False) -> NetworkT:
    """Load a weights file (e.g. scaled_offline.pth, bootstapir_checkpoint_v2.pt) into
    ``network``, strictly.

    Accepts a plain state_dict or a training checkpoint holding it under "model". The file is
    read with ``weights_only=True`` (no code runs from it). ``assign``: the file's tensors become
    the parameters (for a network built on the meta device: one copy of the weights in memory).
    Returns ``network``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling errors have many types
        raise CheckpointError(
            f"{path}: not a readable torch weights file ({_reason(error)})"
        ) from error
    state = _state_dict(content, path)
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        explain = getattr(network, "checkpoint_hint", None)
        hint = explain(wrong) if callable(explain) else ""
        raise CheckpointError(
            f"{path} does not match the {type(network).__name__} network: "
            f"{len(missing)} missing keys {missing[:3]}, {len(unexpected)} unexpected keys "
            f"{unexpected[:3]}, {len(wrong)} shape mismatches {wrong[:3]}{hint}"
        )
    network.load_state_dict(state, strict=True, assign=assign)
    return network
