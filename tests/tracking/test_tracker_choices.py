"""Every place that takes a tracker takes the registry's names: the commands' --tracker, the
batch's track parameter; the batch's track key names the tracker actually used and its weights
file, and learned trackers ask for the GPU workers. Selection matches weights by file name, so
the files here are a few bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from pose3d.cli import build_parser
from pose3d.errors import Pose3dError
from pose3d.pipeline.batch.params import step_params
from pose3d.pipeline.batch.run import _gpu_steps
from pose3d.pipeline.batch.state import Digests
from pose3d.pipeline.batch.steps import _tracker_fact
from pose3d.tracking import weights_tapir as wt
from pose3d.tracking.registry import ENV_TRACKER, TRACKERS
from tests.support.weights import put_files

TAPIR = wt.RELEASES["offline"]
COTRACKER3 = "scaled_offline.pth"


@pytest.mark.parametrize(
    "argv",
    [
        ["track", "S", "--view", "all"],
        ["edit", "S", "--frame", "0", "--view", "c", "--keypoint", "k", "--delete"],
        ["tui", "S"],
        ["batch", "S"],
    ],
    ids=["track", "edit", "tui", "batch"],
)
def test_every_command_takes_every_registered_tracker(argv: list[str]) -> None:
    parser = build_parser()
    for name in TRACKERS:
        assert parser.parse_args([*argv, "--tracker", name]).tracker == name
    assert parser.parse_args(argv).tracker is None  # the registry's default
    with pytest.raises(SystemExit):
        parser.parse_args([*argv, "--tracker", "raft"])


def test_the_batch_takes_every_registered_tracker() -> None:
    for name in (None, *TRACKERS):
        assert step_params("track", {"tracker": name})["tracker"] == name
    with pytest.raises(Pose3dError, match=r"track.tracker must be one of None, classical, "):
        step_params("track", {"tracker": "raft"}, where="batch.toml")


def test_the_track_key_names_the_tracker_used_and_its_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = Digests()
    assert _tracker_fact(None, digests) == ["classical"]
    assert _tracker_fact("tapir", digests) == ["tapir (no weights)"]
    put_files(folder, TAPIR, COTRACKER3)
    tapir_digest = hashlib.sha256(TAPIR.encode()).hexdigest()
    assert _tracker_fact("tapir", digests) == ["tapir", tapir_digest]
    assert _tracker_fact(None, digests)[0] == "cotracker3"
    monkeypatch.setenv(ENV_TRACKER, "tapir")
    assert _tracker_fact(None, digests) == ["tapir", tapir_digest]
    assert _tracker_fact("classical", digests) == ["classical"]


def test_learned_trackers_ask_for_the_gpu_workers(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def graph(*trackers: str | None) -> list[SimpleNamespace]:
        jobs = [SimpleNamespace(step="track", params={"tracker": t}) for t in trackers]
        return [SimpleNamespace(job=j) for j in jobs]

    assert _gpu_steps(graph("classical", None)) == []  # None: classical here (no weights)
    assert _gpu_steps(graph("classical", "tapir")) == ["track"]
    assert _gpu_steps(graph("cotracker3")) == ["track"]
    put_files(folder, TAPIR)
    assert _gpu_steps(graph(None)) == ["track"]  # the default here is tapir
    monkeypatch.setenv(ENV_TRACKER, "classical")
    assert _gpu_steps(graph(None)) == []
