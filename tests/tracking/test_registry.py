"""Which tracker pose3d uses: the first installed of cotracker3, tapir, classical, or the one
$POSE3D_TRACKER or ``pose3d weights default`` puts first, with a notice naming what is missing
and how to install it; a learned tracker asked for by name without its weights is refused.
Selection matches weights by file name, so most files here are a few bytes (only building a
tracker loads one)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pose3d.errors import Pose3dError
from pose3d.tracking import weights as w
from pose3d.tracking import weights_tapir as wt
from pose3d.tracking.registry import (
    DEFAULT_ORDER,
    ENV_TRACKER,
    LEARNED,
    SETTING,
    TRACKERS,
    MissingWeights,
    make_tracker,
    select,
    set_default,
)
from tests.support.weights import put_files

TAPIR = wt.RELEASES["offline"]
COTRACKER3 = "scaled_offline.pth"


def test_every_tracker_has_a_place_in_the_default_order() -> None:
    assert DEFAULT_ORDER == ("cotracker3", "tapir", "classical")
    assert sorted(DEFAULT_ORDER) == sorted(TRACKERS)
    assert LEARNED == ("cotracker3", "tapir") and set(LEARNED) == set(w.WEIGHTS)


def test_the_default_order_takes_the_first_installed(folder: Path) -> None:
    nothing = select(None)
    assert nothing.name == "classical" and nothing.weights is None
    assert nothing.notice is not None
    assert "pose3d weights download" in nothing.notice  # CoTracker3's way
    assert "pose3d weights import --tracker tapir FILE" in nothing.notice  # BootsTAPIR's
    assert wt.DOWNLOAD in nothing.notice and str(folder) in nothing.notice

    put_files(folder, TAPIR)
    tapir = select(None)
    assert (tapir.name, tapir.weights, tapir.notice) == ("tapir", folder / TAPIR, None)
    assert "no offline weights for cotracker3" in tapir.why

    put_files(folder, COTRACKER3)
    both = select(None)
    assert (both.name, both.weights) == ("cotracker3", folder / COTRACKER3)
    assert both.why == "first of the default order cotracker3, tapir, classical"
    assert select(None, variant="online").name == "classical"  # no online files


def test_pose3d_tracker_puts_one_first(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put_files(folder, TAPIR, COTRACKER3)
    monkeypatch.setenv(ENV_TRACKER, "tapir")
    chosen = select(None)
    assert (chosen.name, chosen.why, chosen.notice) == (
        "tapir",
        "set by $POSE3D_TRACKER=tapir",
        None,
    )
    monkeypatch.setenv(ENV_TRACKER, "classical")
    assert select(None).name == "classical" and select(None).notice is None

    (folder / TAPIR).unlink()
    monkeypatch.setenv(ENV_TRACKER, "tapir")
    fallback = select(None)
    assert fallback.name == "cotracker3" and fallback.notice is not None
    assert fallback.notice.startswith("$POSE3D_TRACKER=tapir asks for tapir, whose offline")
    assert "--tracker tapir" in fallback.notice

    monkeypatch.setenv(ENV_TRACKER, "raft")
    with pytest.raises(Pose3dError, match=r"unknown tracker 'raft' \(\$POSE3D_TRACKER=raft\)"):
        select(None)


def test_the_stored_default_and_its_override(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put_files(folder, TAPIR, COTRACKER3)
    assert set_default("tapir") == folder / SETTING
    assert (folder / SETTING).read_text() == "tapir\n"
    assert select(None).name == "tapir" and "pose3d weights default tapir" in select(None).why
    monkeypatch.setenv(ENV_TRACKER, "classical")  # the environment wins
    assert select(None).name == "classical"
    monkeypatch.delenv(ENV_TRACKER)
    set_default(None)
    assert not (folder / SETTING).exists() and select(None).name == "cotracker3"
    with pytest.raises(Pose3dError, match="unknown tracker 'best'"):
        set_default("best")

    (folder / SETTING).write_bytes(b"\xff\xfegarbage\n")  # a file from elsewhere
    with pytest.raises(Pose3dError, match=rf"unknown tracker .*\({folder / SETTING} \(written"):
        select(None)


def test_a_learned_tracker_named_without_weights_is_refused(folder: Path) -> None:
    put_files(folder, COTRACKER3)
    with pytest.raises(MissingWeights) as caught:
        make_tracker("tapir")
    message = str(caught.value)
    assert message.startswith("the tapir tracker needs its weights (offline), and none are")
    assert "pose3d weights import --tracker tapir FILE" in message
    assert "--tracker classical" in message and str(folder) in message
    with pytest.raises(MissingWeights, match="cotracker3 tracker needs its weights"):
        make_tracker("cotracker3", variant="online")
    with pytest.raises(Pose3dError, match="unknown tracker 'tapnet'"):
        make_tracker("tapnet")


def test_make_tracker_builds_tapir_from_its_installed_file(folder: Path) -> None:
    torch.manual_seed(0)
    from pose3d.tracking.tapir import build_tapir
    from pose3d.tracking.tapir_tracker import TapirTracker

    folder.mkdir(parents=True)
    torch.save(build_tapir("online").state_dict(), folder / wt.RELEASES["online"])
    choice = make_tracker(None, variant="online")
    assert isinstance(choice.tracker, TapirTracker) and choice.tracker.name == "tapir"
    assert choice.notice is None
    assert choice.tracker.predictor.max_side == 256  # the training size, by default
    finer = make_tracker("tapir", variant="online", tapir_side=512).tracker
    assert isinstance(finer, TapirTracker) and finer.predictor.max_side == 512


def test_each_tracker_says_the_licence_of_its_weights() -> None:
    from pose3d.tracking.registry import licence_line

    assert "CC BY-NC 4.0: non-commercial use only" in licence_line("cotracker3")
    assert "Apache 2.0" in licence_line("tapir") and "commercial" in licence_line("tapir")
    assert licence_line("classical") == "no weights needed"
