"""``pose3d track``: a summary on success; exit 2 and one line on bad input."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pose3d.cli import main
from pose3d.commands.track import parse_frames

Seeder = Callable[[Sequence[int]], Path]


def test_track_all_views_prints_a_summary(
    seeded: Seeder, capsys: pytest.CaptureFixture[str]
) -> None:
    root = seeded([0])
    code = main(["track", str(root), "--view", "all", "--frames", "0:11", "--tracker", "classical"])
    out = capsys.readouterr().out
    assert code == 0
    assert "classical: tracked " in out and "cam0, cam1, cam2, cam3 in frames 0:11" in out
    assert "flagged for review" in out and "labels.nc" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--view", "cam7"], "error: unknown view(s) cam7"),
        (["--view", "cam0", "--frames", "30:40"], "error: no manual labels in frames 30:40"),
        (["--view", "cam0", "--frames", "0:400"], "error: frames 0:400 are outside the labels"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    seeded: Seeder, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    root = seeded([0])
    code = main(["track", str(root), "--tracker", "classical", *args])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip().splitlines() == [captured.err.strip()]
    assert captured.err.startswith(message)


def test_frame_ranges() -> None:
    assert parse_frames("3:10") == (3, 10)
    assert parse_frames(":10") == (None, 10) and parse_frames("5:") == (5, None)
    with pytest.raises(Exception, match="must be A:B"):
        parse_frames("7")


def test_a_calibration_the_views_disagree_with_gets_a_note(
    seeded: Seeder, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    import numpy as np

    from pose3d.io.calibration_toml import load_calibration, save_calibration

    root = seeded([0])
    path = root / "calibration" / "calibration.toml"
    main(["track", str(root), "--view", "all", "--frames", "0:11", "--tracker", "classical"])
    assert "disagree" not in capsys.readouterr().out  # the true calibration

    cameras = load_calibration(path)
    turn = {"cam1": [0.0, 4.0, 0.0], "cam2": [4.0, 0.0, 0.0]}  # 4 degrees off
    save_calibration(
        path,
        replace(
            cameras,
            cameras=tuple(
                c.with_extrinsics(c.rvec + np.radians(turn[c.name]), c.tvec)
                if c.name in turn
                else c
                for c in cameras
            ),
        ),
    )
    main(["track", str(root), "--view", "all", "--frames", "0:11", "--tracker", "classical"])
    out = capsys.readouterr().out
    assert f"note: the tracked views disagree with {path}" in out
    assert "multi-view flag only advises" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tracker", "classical", "--second-opinion", "classical"], "comes from another one"),
        (["--tracker", "classical", "--second-opinion", "tapir"], "the tapir tracker needs"),
    ],
)
def test_a_second_opinion_must_be_another_installed_tracker(
    seeded: Seeder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("POSE3D_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    root = seeded([0])
    before = (root / "labels.nc").read_bytes()
    code = main(["track", str(root), "--view", "cam0", *args])
    captured = capsys.readouterr()
    assert code == 2 and message in captured.err
    assert (root / "labels.nc").read_bytes() == before


@pytest.mark.parametrize("side", ["100", "big"])
def test_a_tapir_side_under_the_training_size_is_refused_in_one_line(
    seeded: Seeder, capsys: pytest.CaptureFixture[str], side: str
) -> None:
    root = seeded([0])
    before = (root / "labels.nc").read_bytes()
    with pytest.raises(SystemExit) as stop:
        main(["track", str(root), "--view", "cam0", "--tracker", "tapir", "--tapir-side", side])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert f"'{side}' must be a whole number of pixels from 256" in err and "Traceback" not in err
    assert (root / "labels.nc").read_bytes() == before


def test_a_tapir_side_with_another_tracker_is_said_to_be_ignored(
    seeded: Seeder, capsys: pytest.CaptureFixture[str]
) -> None:
    root = seeded([0])
    code = main(
        ["track", str(root), "--view", "cam0", "--frames", "0:6", "--tracker", "classical",
         "--tapir-side", "512"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "--tapir-side applies to the tapir tracker only; classical" in out
