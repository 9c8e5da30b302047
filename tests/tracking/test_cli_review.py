"""``pose3d review`` and ``pose3d edit``: the review loop without the TUI (issue 18 item 7).
The queue as text and JSON, one point placed, hidden, accepted or deleted, a re-track from it;
exit 2 and one line on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cli import main
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.synthetic.compare import seed_labels
from pose3d.tracking.review import review_queue

FRAMES = "0:20"


@pytest.fixture(scope="module")
def tracked_once(
    synthetic_template: Path, truth: xr.Dataset, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The synthetic session seeded on frame 0 and tracked in every view (once)."""
    root = tmp_path_factory.mktemp("review") / "session"
    shutil.copytree(synthetic_template, root)
    save_labels(root / "labels.nc", seed_labels(truth, [0]))
    code = main(["track", str(root), "--view", "all", "--frames", FRAMES, "--tracker", "classical"])
    assert code == 0
    return root


@pytest.fixture
def tracked(tracked_once: Path, tmp_path: Path) -> Path:
    """A copy of ``tracked_once`` for one test to change."""
    root = tmp_path / "session"
    shutil.copytree(tracked_once, root)
    return root


def test_review_lists_the_queue_worst_first(
    tracked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    queue = review_queue(load_labels(tracked / "labels.nc"))
    assert queue, "the synthetic clip should have flagged points"
    assert main(["review", str(tracked), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["runs"] == len(queue) == len(listed["items"])
    first = listed["items"][0]
    assert (first["frame"], first["view"], first["keypoint"]) == (
        queue[0].frame,
        queue[0].view,
        queue[0].keypoint,
    )
    assert first["rank"] == 1 and first["reason"] == queue[0].reason.name.lower()
    assert main(["review", str(tracked), "--limit", "2"]) == 0
    text = capsys.readouterr().out
    assert f"{len(queue)} runs flagged for review" in text
    assert queue[0].keypoint in text.splitlines()[2]
    view = queue[0].view
    assert main(["review", str(tracked), "--view", view, "--json"]) == 0
    assert {i["view"] for i in json.loads(capsys.readouterr().out)["items"]} == {view}


def _cell(labels: xr.Dataset, frame: int, view: str, keypoint: str) -> dict[str, object]:
    where = {s.TIME: frame, s.VIEW: view, s.KEYPOINT: keypoint, s.INDIVIDUAL: "individual_0"}
    return {
        "xy": labels[s.POSITION].sel(where).values,
        "source": int(labels[s.SOURCE].sel(where).values),
        "hidden": bool(labels[s.HIDDEN].sel(where).values),
    }


def test_edit_places_accepts_hides_and_deletes(
    tracked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = load_labels(tracked / "labels.nc")
    keypoint = str(labels[s.KEYPOINT].values[0])
    before = _cell(labels, 5, "cam0", keypoint)
    assert before["source"] == s.PointSource.TRACKED
    base = ["edit", str(tracked), "--frame", "5", "--view", "cam0", "--keypoint", keypoint]

    assert main([*base, "--accept"]) == 0
    assert "accepted at" in capsys.readouterr().out
    accepted = _cell(load_labels(tracked / "labels.nc"), 5, "cam0", keypoint)
    assert accepted["source"] == s.PointSource.MANUAL
    np.testing.assert_array_equal(accepted["xy"], before["xy"])  # where it was

    assert main([*base, "--at", "101.5,60.25"]) == 0
    assert "placed at (101.50, 60.25) px" in capsys.readouterr().out
    placed = _cell(load_labels(tracked / "labels.nc"), 5, "cam0", keypoint)
    assert placed["xy"].tolist() == [101.5, 60.25] and placed["source"] == s.PointSource.MANUAL

    assert main([*base, "--hidden"]) == 0
    assert "marked hidden (was (101.50, 60.25) px, manual)" in capsys.readouterr().out
    hidden = _cell(load_labels(tracked / "labels.nc"), 5, "cam0", keypoint)
    assert hidden["hidden"] and np.isnan(hidden["xy"]).all()
    assert hidden["source"] == s.PointSource.MANUAL
    stamp = (tracked / "labels.nc").stat().st_mtime_ns
    capsys.readouterr()
    assert main([*base, "--hidden"]) == 0  # said already: nothing is written
    assert "already marked hidden by a person, nothing changed" in capsys.readouterr().out
    assert (tracked / "labels.nc").stat().st_mtime_ns == stamp
    assert main([*base, "--accept"]) == 2
    assert "is marked hidden in cam0 at frame 5 (manual); --hidden" in capsys.readouterr().err

    assert main([*base, "--delete"]) == 0
    deleted = _cell(load_labels(tracked / "labels.nc"), 5, "cam0", keypoint)
    assert deleted["source"] == s.PointSource.NONE and not deleted["hidden"]
    assert "deleted" in capsys.readouterr().out


def test_accepting_a_flagged_point_clears_its_run(
    tracked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = load_labels(tracked / "labels.nc")
    runs = [item for item in review_queue(labels) if item.frames >= 3]
    assert runs, "the synthetic clip should have a run of 3 flagged frames or more"
    run = runs[0]
    args = ["edit", str(tracked), "--frame", str(run.worst_frame), "--view", run.view]
    assert main([*args, "--keypoint", run.keypoint, "--accept"]) == 0
    after = load_labels(tracked / "labels.nc")
    where = {s.VIEW: run.view, s.KEYPOINT: run.keypoint, s.INDIVIDUAL: run.individual}
    frames = slice(run.frame, run.last_frame)  # inclusive
    assert not after[s.REVIEW].sel(where).sel({s.TIME: frames}).values.any()
    left = [(i.view, i.keypoint) for i in review_queue(after)]
    assert len(left) == len(review_queue(labels)) - 1  # that run, and only it, is gone
    assert _cell(after, run.worst_frame, run.view, run.keypoint)["source"] == s.PointSource.MANUAL


def test_edit_hidden_then_retrack_hides_the_frames_after_it(
    tracked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = load_labels(tracked / "labels.nc")
    keypoint = str(labels[s.KEYPOINT].values[0])
    args = ["edit", str(tracked), "--frame", "10", "--view", "cam1", "--keypoint", keypoint]
    assert main([*args, "--hidden", "--retrack", "--tracker", "classical"]) == 0
    assert "classical: re-tracked cam1 from frame 10" in capsys.readouterr().out
    after = load_labels(tracked / "labels.nc")
    v, k = 1, 0
    assert after[s.HIDDEN].values[10, v, k, 0]
    # until it is seen again: at least the frames the tracker needs to believe that
    assert after[s.HIDDEN].values[11:13, v, k, 0].all()
    unchanged = after[s.POSITION].values[:10, v, :, k, 0]
    np.testing.assert_array_equal(np.isfinite(unchanged), True)  # before the mark: still points


@pytest.mark.parametrize(
    ("cell", "what", "message"),
    [
        ({"--keypoint": "wing"}, ["--hidden"], "error: unknown keypoint 'wing'"),
        ({"--view": "cam9"}, ["--hidden"], "error: unknown view 'cam9'"),
        ({"--frame": "999"}, ["--hidden"], "error: frame 999 is outside the labels"),
        ({}, ["--at", "9999,1"], "is outside cam0's images (640 x 480 px)"),
        ({"--frame": "30"}, ["--accept"], "error: nothing to accept: "),
    ],
)
def test_bad_edits_are_one_line_and_exit_2(
    tracked: Path,
    capsys: pytest.CaptureFixture[str],
    cell: dict[str, str],
    what: list[str],
    message: str,
) -> None:
    keypoint = str(load_labels(tracked / "labels.nc")[s.KEYPOINT].values[0])
    where = {"--frame": "5", "--view": "cam0", "--keypoint": keypoint, **cell}
    before = (tracked / "labels.nc").read_bytes()
    code = main(["edit", str(tracked), *[x for kv in where.items() for x in kv], *what])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert (tracked / "labels.nc").read_bytes() == before  # nothing written
