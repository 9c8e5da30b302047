"""The CoTracker3 compatibility kit in ../shared/cotracker3 (SPEC.md, key lists,
random_weights.py, fixture_seed0.npz), for the tests and benchmarks/tracking.py.

``random_weights.py`` is imported from the kit's folder, never copied into the project; only
the developers and CI have the kit (``$POSE3D_SHARED/cotracker3``, default ../shared).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from pose3d.tracking.cotracker3 import CoTracker3Base

REPO = Path(__file__).resolve().parents[2]


def kit_dir() -> Path:
    """The kit's folder: ``$POSE3D_SHARED/cotracker3`` (default ../shared/cotracker3)."""
    return Path(os.environ.get("POSE3D_SHARED", REPO.parent / "shared")) / "cotracker3"


@functools.cache
def random_weights_module(kit: Path) -> ModuleType:
    """The kit's random_weights.py as a module (imported once per kit folder)."""
    path = kit / "random_weights.py"
    spec = importlib.util.spec_from_file_location("cotracker3_random_weights", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot import {path}: is the CoTracker3 kit there?")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_state_dict(kit: Path, variant: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """The kit's deterministic random weights for every key of the ``variant`` network."""
    import torch

    module = random_weights_module(kit)
    keys = module.read_key_list(kit / f"cotracker3_{variant}_keys.txt")
    arrays = module.random_state_dict(keys, seed=seed)
    return {name: torch.from_numpy(array) for name, array in arrays.items()}


def random_network(kit: Path, variant: str, seed: int = 0) -> CoTracker3Base:
    """The ``variant`` network (eval mode) with the random weights loaded strictly."""
    from pose3d.tracking.cotracker3 import build_cotracker3

    network = build_cotracker3(variant)
    network.load_state_dict(random_state_dict(kit, variant, seed), strict=True)
    return network
