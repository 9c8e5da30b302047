"""Our CoTracker3 computes the released network's function: strict loading of every state_dict
key, and the reference outputs of ../shared/cotracker3/fixture_seed0.npz (random weights, seed 0)
reproduced within 1e-2 px and 1e-3 in probability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pose3d.tracking.cotracker3 import (
    CoTracker3Base,
    CoTracker3Online,
    TrackerOutput,
    build_cotracker3,
    load_checkpoint,
)
from tests.support.cotracker3_kit import kit_dir, random_network, random_state_dict

TRACKS_TOL = 1e-2  # px
PROBABILITY_TOL = 1e-3
VARIANTS = ("offline", "online")


@pytest.fixture(scope="module")
def kit() -> Path:
    """../shared/cotracker3: the compatibility kit (spec, key lists, random weights, fixture)."""
    path = kit_dir()
    if not (path / "fixture_seed0.npz").is_file():
        pytest.skip(
            f"CoTracker3 compatibility test: {path} is absent (only CI and the developers have "
            "../shared/cotracker3; set POSE3D_SHARED to point elsewhere)"
        )
    return path


def key_list(kit: Path, variant: str) -> list[tuple[str, tuple[int, ...], str, str]]:
    """(name, shape, dtype, kind) of every state_dict entry in the kit's key list."""
    rows = []
    for line in (kit / f"cotracker3_{variant}_keys.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, shape, dtype, kind = line.split("\t")
            dims = tuple(int(d) for d in shape.strip("[]").split(",") if d.strip())
            rows.append((name, dims, dtype, kind))
    return rows


@pytest.fixture(scope="module")
def fixture(kit: Path) -> dict[str, np.ndarray]:
    with np.load(kit / "fixture_seed0.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("variant", VARIANTS)
def test_parameters_and_buffers_match_the_key_list(kit: Path, variant: str) -> None:
    network = build_cotracker3(variant)
    params = dict(network.named_parameters())
    buffers = dict(network.named_buffers())
    ours = {
        name: (tuple(t.shape), str(t.dtype).removeprefix("torch."), kind)
        for kind, tensors in (("param", params), ("buffer", buffers))
        for name, t in tensors.items()
    }
    reference = {name: (shape, dtype, kind) for name, shape, dtype, kind in key_list(kit, variant)}
    assert ours == reference
    assert list(network.state_dict()) == [name for name, *_ in key_list(kit, variant)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_random_weights_load_strictly(kit: Path, variant: str) -> None:
    network = build_cotracker3(variant)
    result = network.load_state_dict(random_state_dict(kit, variant), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_load_checkpoint_reads_a_training_file_with_model_entry(kit: Path, tmp_path: Path) -> None:
    state = random_state_dict(kit, "online")
    path = tmp_path / "train.pth"
    torch.save({"model": state, "optimizer": {}, "step": 3}, path)
    network = load_checkpoint(build_cotracker3("online"), path)
    for name, tensor in network.state_dict().items():
        assert torch.equal(tensor, state[name]), name


def as_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.float32))


@pytest.fixture(scope="module")
def offline_output(kit: Path, fixture: dict[str, np.ndarray]) -> TrackerOutput:
    network = random_network(kit, "offline")
    video, queries = as_tensor(fixture["offline_video"]), as_tensor(fixture["offline_queries"])
    with torch.inference_mode():
        return network(video, queries, iters=int(fixture["iters"]))


@pytest.fixture(scope="module")
def online_network(kit: Path) -> CoTracker3Base:
    return random_network(kit, "online")


@pytest.fixture(scope="module")
def sliding_output(online_network: CoTracker3Base, fixture: dict[str, np.ndarray]) -> TrackerOutput:
    video, queries = as_tensor(fixture["online_video"]), as_tensor(fixture["online_queries"])
    with torch.inference_mode():
        return online_network(video, queries, iters=int(fixture["iters"]))


@pytest.fixture(scope="module")
def stream_output(online_network: CoTracker3Base, fixture: dict[str, np.ndarray]) -> TrackerOutput:
    assert isinstance(online_network, CoTracker3Online)
    video, queries = as_tensor(fixture["online_video"]), as_tensor(fixture["online_queries"])
    online_network.init_video_online_processing()
    with torch.inference_mode():
        for i in (0, 8):
            output = online_network(
                video[:, i : i + 16], queries, iters=int(fixture["iters"]), is_online=True
            )
    return output


def assert_matches(output: TrackerOutput, fixture: dict[str, np.ndarray], prefix: str) -> None:
    tolerances = {
        "tracks": TRACKS_TOL,
        "visibility": PROBABILITY_TOL,
        "confidence": PROBABILITY_TOL,
    }
    for name, tolerance in tolerances.items():
        ours, reference = getattr(output, name).numpy(), fixture[f"{prefix}_{name}"]
        assert ours.shape == reference.shape, name
        delta = float(np.abs(ours - reference).max())
        assert delta < tolerance, f"{prefix} {name}: max |Δ| = {delta:.3g} ≥ {tolerance}"


def test_offline_reproduces_the_reference(
    offline_output: TrackerOutput, fixture: dict[str, np.ndarray]
) -> None:
    assert_matches(offline_output, fixture, "offline")


def test_online_sliding_reproduces_the_reference(
    sliding_output: TrackerOutput, fixture: dict[str, np.ndarray]
) -> None:
    assert_matches(sliding_output, fixture, "online_sliding")


def test_online_stream_reproduces_the_reference(
    stream_output: TrackerOutput, fixture: dict[str, np.ndarray]
) -> None:
    assert_matches(stream_output, fixture, "online_stream")
