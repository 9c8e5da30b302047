"""The BootsTAPIR compatibility kit in ../shared/tapir (SPEC.md, bootstapir_keys.txt,
fixture_seed0.npz), for the tests and benchmarks/tracking.py.

The random weights come from the CoTracker3 kit's ``random_weights.py`` (same generator, this
key list), imported from its folder, never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.cotracker3_kit import REPO, random_weights_module
from tests.support.cotracker3_kit import kit_dir as cotracker3_kit_dir

if TYPE_CHECKING:
    import torch

    from pose3d.tracking.tapir import Tapir

KEYS = "bootstapir_keys.txt"


def kit_dir() -> Path:
    """The kit's folder: ``$POSE3D_SHARED/tapir`` (default ../shared/tapir)."""
    return Path(os.environ.get("POSE3D_SHARED", REPO.parent / "shared")) / "tapir"


def random_state_dict(kit: Path, seed: int = 0) -> dict[str, torch.Tensor]:
    """The deterministic random weights of every key in the kit's key list."""
    import torch

    module = random_weights_module(cotracker3_kit_dir())
    arrays = module.random_state_dict(module.read_key_list(kit / KEYS), seed=seed)
    return {name: torch.from_numpy(array) for name, array in arrays.items()}


def random_network(kit: Path, variant: str = "offline", seed: int = 0) -> Tapir:
    """The ``variant`` network (eval mode) with the random weights loaded strictly."""
    from pose3d.tracking.tapir import build_tapir

    network = build_tapir(variant, device="meta")  # the random arrays become the parameters
    network.load_state_dict(random_state_dict(kit, seed), strict=True, assign=True)
    return network
