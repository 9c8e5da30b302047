"""Our TAPIR computes the released BootsTAPIR network: strict loading of every state_dict key,
the reference outputs of ../shared/tapir/fixture_seed0.npz (random weights, seed 0) within
1e-2 px and 1e-3 in the logits, the refinement resolutions of SPEC.md §5, and the causal
variant's dependence on past frames only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pose3d.tracking.tapir import (
    CheckpointError,
    Tapir,
    build_tapir,
    load_checkpoint,
    refinement_resolutions,
)
from pose3d.tracking.tapir.cost_volume import Estimate
from pose3d.tracking.tapir.encoder import l2_normalise
from pose3d.tracking.tapir.model import Grids, QueryFeatures
from tests.support.tapir_kit import KEYS, kit_dir, random_network, random_state_dict

TRACKS_TOL = 1e-2  # px
LOGIT_TOL = 1e-3
OUTPUTS = ("tracks", "occlusion", "expected_dist")


@pytest.fixture(scope="module")
def kit() -> Path:
    """../shared/tapir: the compatibility kit (spec, key list, fixture)."""
    path = kit_dir()
    if not (path / "fixture_seed0.npz").is_file():
        pytest.skip(
            f"BootsTAPIR compatibility test: {path} is absent (only CI and the developers have "
            "../shared/tapir; set POSE3D_SHARED to point elsewhere)"
        )
    return path


@pytest.fixture(scope="module")
def fixture(kit: Path) -> dict[str, np.ndarray]:
    with np.load(kit / "fixture_seed0.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def network(kit: Path) -> Tapir:
    return random_network(kit, "offline")


def model_inputs(fixture: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixture's video as (1, T, H, W, 3) in [-1, 1] and its (1, N, 3) (t, y, x) queries."""
    video = torch.from_numpy(fixture["video_u8"]).permute(0, 1, 3, 4, 2).float() / 255 * 2 - 1
    return video, torch.from_numpy(fixture["queries_tyx"]).float()


@pytest.fixture(scope="module")
def output(network: Tapir, fixture: dict[str, np.ndarray]) -> dict[str, object]:
    with torch.inference_mode():
        return network(*model_inputs(fixture))


def test_parameters_match_the_key_list(kit: Path) -> None:
    reference = []
    for line in (kit / KEYS).read_text().splitlines():
        if line and not line.startswith("#"):
            name, shape, dtype, _kind = line.split("\t")
            dims = tuple(int(d) for d in shape.strip("[]").split(",") if d.strip())
            reference.append((name, dims, dtype))
    for variant in ("offline", "online"):
        state = build_tapir(variant).state_dict()
        ours = [(n, tuple(t.shape), str(t.dtype).removeprefix("torch.")) for n, t in state.items()]
        assert ours == reference, variant


def test_a_saved_state_dict_loads_strictly_and_a_foreign_one_is_refused(
    kit: Path, tmp_path: Path
) -> None:
    state = random_state_dict(kit)
    path = tmp_path / "bootstapir_checkpoint_v2.pt"
    torch.save(state, path)
    network = load_checkpoint(build_tapir("online"), path)
    for name, tensor in network.state_dict().items():
        assert torch.equal(tensor, state[name]), name
    state["torch_pips_mixer.linear.weight"] = torch.zeros(512, 534)
    del state["extra_convs.blocks.4.conv.bias"]
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"1 missing keys.*extra_convs.*534"):
        load_checkpoint(build_tapir("offline"), path)


@pytest.mark.parametrize("name", OUTPUTS)
def test_outputs_reproduce_the_reference(
    output: dict[str, torch.Tensor], fixture: dict[str, np.ndarray], name: str
) -> None:
    tolerance = TRACKS_TOL if name == "tracks" else LOGIT_TOL
    ours, reference = output[name].numpy(), fixture[name]
    assert ours.shape == reference.shape
    delta = float(np.abs(ours - reference).max())
    assert delta < tolerance, f"{name}: max |Δ| = {delta:.3g} ≥ {tolerance}"


@pytest.mark.parametrize("name", OUTPUTS)
def test_every_iteration_reproduces_the_reference(
    output: dict[str, list[torch.Tensor]], fixture: dict[str, np.ndarray], name: str
) -> None:
    tolerance = TRACKS_TOL if name == "tracks" else LOGIT_TOL
    ours = output[f"unrefined_{name}"]
    assert len(ours) == 4
    for i, estimate in enumerate(ours):
        delta = float(np.abs(estimate.numpy() - fixture[f"unrefined_{name}_{i}"]).max())
        assert delta < tolerance, f"{name} iteration {i}: max |Δ| = {delta:.3g}"
    # the reference moves every point away from the cost-volume estimate: a test of the mixer
    assert np.abs(fixture[f"unrefined_{name}_0"] - fixture[name]).max() > 10 * tolerance


def test_the_cost_volume_estimate_is_the_query_on_its_own_frame(
    output: dict[str, list[torch.Tensor]], fixture: dict[str, np.ndarray]
) -> None:
    queries = fixture["queries_tyx"][0]  # (N, 3) (t, y, x)
    first = output["unrefined_tracks"][0][0].numpy()  # (N, T, 2) (x, y)
    frames = np.round(queries[:, 0]).astype(int)
    assert len(set(frames)) > 1  # queries on several frames
    own = first[np.arange(len(queries)), frames]
    np.testing.assert_allclose(own, queries[:, [2, 1]], atol=1e-4)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((256, 256), [(256, 256)]),
        ((128, 200), [(256, 256)]),  # smaller than training: the training size only
        ((384, 512), [(256, 256), (384, 512)]),  # log2 2 = 1: two levels
        ((200, 304), [(256, 256), (200, 304)]),  # one side larger: two levels
        # 1920 / 256 = 7.5: ceil(log2 7.5) + 1 = 4 levels, geometric, rounded down to 8 px:
        # 256 · 7.5^(1/3) = 501.0 -> 496, 256 · (1080/256)^(2/3) = 668.4 -> 664, ...
        ((1080, 1920), [(256, 256), (408, 496), (664, 976), (1080, 1920)]),
    ],
)
def test_refinement_resolutions(size: tuple[int, int], expected: list[tuple[int, int]]) -> None:
    assert refinement_resolutions(size) == expected


def random_grids(generator: torch.Generator, frames: int) -> Grids:
    """Feature grids of a 64 × 64 refinement resolution, unit-norm random features."""
    hires = torch.randn(1, frames, 128, 16, 16, generator=generator)
    lowres = torch.randn(1, frames, 256, 8, 8, generator=generator)
    return Grids(l2_normalise(hires, 2), l2_normalise(lowres, 2), (64, 64))


@pytest.mark.parametrize("variant", ["online", "offline"])
def test_only_the_online_variant_ignores_future_frames(kit: Path, variant: str) -> None:
    """Everything but the mixer works frame by frame: change the features of frames 5.. and
    the online network's refinement of frames 0..4 must not move; the offline one's must."""
    network = random_network(kit, variant)
    generator = torch.Generator().manual_seed(1)
    grids = random_grids(generator, 9)
    later = random_grids(generator, 9)
    changed = Grids(
        torch.cat([grids.hires[:, :5], later.hires[:, 5:]], 1),
        torch.cat([grids.lowres[:, :5], later.lowres[:, 5:]], 1),
        grids.size,
    )
    queries = QueryFeatures(grids.hires[:, 0, :, :2, 3].mT, grids.lowres[:, 0, :, 1:3, 4].mT)
    start = Estimate(
        torch.rand(1, 2, 9, 2, generator=generator) * 256,
        torch.zeros(1, 2, 9),
        torch.zeros(1, 2, 9),
    )
    with torch.inference_mode():
        before = network.refine(grids, queries, start)[-1]
        after = network.refine(changed, queries, start)[-1]
    assert not torch.allclose(before.position[:, :, 5:], after.position[:, :, 5:])
    past_equal = all(
        torch.allclose(b[:, :, :5], a[:, :, :5], atol=1e-5)
        for b, a in zip(before, after, strict=True)
    )
    assert past_equal is (variant == "online")


def test_a_pickle_with_code_is_refused_without_running_it(tmp_path: Path) -> None:
    import os
    import pickle

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "bootstapir_checkpoint_v2.pt"
    path.write_bytes(pickle.dumps(Payload(), protocol=2))  # torch.save's protocol
    with pytest.raises(CheckpointError, match="not a readable torch weights file") as caught:
        load_checkpoint(build_tapir("offline"), path)
    assert not marker.exists()
    assert "weights_only" not in str(caught.value)  # no advice to load it unsafely
