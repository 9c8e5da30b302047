"""Weights files: plain state_dicts and training checkpoints load strictly; anything else fails
with a message that says what was found and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pose3d.tracking.cotracker3 import CheckpointError, build_cotracker3, load_checkpoint


@pytest.fixture(scope="module")
def online_state() -> dict[str, torch.Tensor]:
    """A full online state_dict with weights unlike a fresh network's."""
    generator = torch.Generator().manual_seed(0)
    return {
        name: torch.randn(tensor.shape, generator=generator)
        for name, tensor in build_cotracker3("online").state_dict().items()
    }


def test_plain_state_dict_loads(online_state: dict[str, torch.Tensor], tmp_path: Path) -> None:
    path = tmp_path / "scaled_online.pth"
    torch.save(online_state, path)
    network = load_checkpoint(build_cotracker3("online"), path)
    for name, tensor in network.state_dict().items():
        assert torch.equal(tensor, online_state[name]), name


def test_model_entry_loads(online_state: dict[str, torch.Tensor], tmp_path: Path) -> None:
    path = tmp_path / "training.pth"
    torch.save({"model": online_state, "step": 10}, path)
    network = load_checkpoint(build_cotracker3("online"), path)
    assert torch.equal(network.time_emb, online_state["time_emb"])


def test_wrong_variant_names_the_window(
    online_state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    path = tmp_path / "scaled_online.pth"
    torch.save(online_state, path)
    with pytest.raises(CheckpointError, match=r"time_emb \(1, 16, 1110\).*build the other"):
        load_checkpoint(build_cotracker3("offline"), path)


def test_missing_and_unexpected_keys_fail(
    online_state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    renamed = dict(online_state)
    renamed["updateformer.virtual_tracks"] = renamed.pop("updateformer.virual_tracks")
    path = tmp_path / "renamed.pth"
    torch.save(renamed, path)
    with pytest.raises(CheckpointError, match=r"1 missing keys.*virual.*1 unexpected keys"):
        load_checkpoint(build_cotracker3("online"), path)


def test_not_a_state_dict_fails(tmp_path: Path) -> None:
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(CheckpointError, match="expected a state_dict"):
        load_checkpoint(build_cotracker3("online"), path)


def test_absent_or_unreadable_file_fails(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(build_cotracker3("online"), tmp_path / "absent.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a pickle")
    with pytest.raises(CheckpointError, match="not a readable torch weights file"):
        load_checkpoint(build_cotracker3("online"), garbage)


def test_unknown_variant_fails() -> None:
    with pytest.raises(ValueError, match="'offline', 'online'"):
        build_cotracker3("bidirectional")
