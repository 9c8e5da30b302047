"""pose3d batch's tasks run in this process, in the graph's order (no cluster): the keys skip
what did not change and rerun what did, failures stay in their session, rig calibrations are
shared, the manifest and parameters are checked, and a session folder from elsewhere cannot
turn the batch's records against it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.lock import SessionLock
from pose3d.label_cells import Cell
from pose3d.pipeline.batch.params import step_params
from pose3d.pipeline.batch.plan import dry_run, find_batch, tasks
from pose3d.pipeline.batch.state import SessionState
from pose3d.pipeline.batch.steps import Job, given_points
from pose3d.pipeline.batch.task import DONE, FAILED, NOT_RUN, UP_TO_DATE, run_job
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.review import Action, edit_point
from tests.support.batch_sessions import by_session, lab, run_in_order, tiny_session

STEPS = ("calibrate", "track", "triangulate", "export")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_session(tmp_path_factory.mktemp("batch") / "session")


@pytest.fixture
def two(template: Path, tmp_path: Path) -> Path:
    return lab(template, tmp_path / "lab", ["a", "b"])


@pytest.fixture(scope="module")
def two_done_once(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = lab(template, tmp_path_factory.mktemp("done") / "lab", ["a", "b"])
    run_in_order(tasks(find_batch(folder), STEPS))
    return folder


@pytest.fixture
def done(two_done_once: Path, tmp_path: Path) -> Path:
    """Two sessions after a first batch of every step (a copy per test)."""
    shutil.copytree(two_done_once, tmp_path / "lab")
    return tmp_path / "lab"


def test_a_rerun_skips_every_step_and_a_label_edit_reruns_that_session_only(two: Path) -> None:
    graph = tasks(find_batch(two), STEPS)
    first = run_in_order(graph)
    assert [o.status for o in first] == [DONE] * 8, [o.detail for o in first]
    poses = two / "a" / "poses3d.nc"
    stamp = poses.stat().st_mtime_ns

    again = run_in_order(graph)
    assert [o.status for o in again] == [UP_TO_DATE] * 8
    assert poses.stat().st_mtime_ns == stamp
    assert [p.runs for p in dry_run(graph)] == [False] * 8

    with SessionFolder(two / "b") as folder:  # a person moves a manual point of b
        edit_point(folder, Cell(0, "cam0", "nose", "individual_0"), Action.PLACE, (101.0, 99.0))
    planned = {(p.task.job.name, p.task.job.step): p for p in dry_run(graph)}
    assert planned["b", "track"].why == "changed: manual or imported points"
    assert planned["b", "triangulate"].runs and not planned["a", "triangulate"].runs
    third = by_session(run_in_order(graph))
    assert {k for k, o in third.items() if o.status == DONE} == {
        ("b", "track"), ("b", "triangulate"), ("b", "export")
    }  # fmt: skip
    assert poses.stat().st_mtime_ns == stamp


def test_a_parameter_change_reruns_its_step_and_force_reruns_up_to_date_steps(done: Path) -> None:
    two = done
    batch = find_batch(two)
    assert [o.status for o in run_in_order(tasks(batch, STEPS))] == [UP_TO_DATE] * 8
    ransac = tasks(batch, ("triangulate",), {"triangulate": {"method": "ransac"}})
    assert [o.status for o in run_in_order(ransac)] == [DONE, DONE]
    with SessionFolder(two / "a", write=False) as folder:
        assert folder.poses().attrs["pose3d_triangulation"] == "ransac"
    assert [o.status for o in run_in_order(ransac)] == [UP_TO_DATE] * 2
    forced = tasks(batch, ("triangulate",), {"triangulate": {"method": "ransac"}}, ["triangulate"])
    assert [o.status for o in run_in_order(forced)] == [DONE, DONE]


def test_a_sessions_steps_run_one_at_a_time_and_know_what_they_read(two: Path) -> None:
    """Each task holds its session's lock: two of one session at once would fail; a dry run
    says a step runs after another only when it reads what that one writes."""
    graph = tasks(find_batch(two), ("calibrate", "track", "triangulate", "export", "view"))
    a = [(t.job.step, t.after, t.reads) for t in graph if t.job.name == "a"]
    assert a == [
        ("calibrate", (), ()),
        ("track", (0,), (0,)),
        ("triangulate", (1,), (0, 1)),
        ("export", (2,), (0, 1, 2)),
        ("view", (3,), (0, 1, 2)),  # after export, but it does not read it
    ]


def test_the_tracked_points_are_not_an_input_of_tracking(two: Path) -> None:
    """Tracking writes them: counting them would make every track stale after it ran."""
    with SessionFolder(two / "a", write=False) as folder:
        before = folder.labels()
    at = {s.TIME: 5, s.VIEW: 0}
    tracked = before.copy(deep=True)
    tracked[s.SOURCE][at] = int(s.PointSource.TRACKED)
    tracked[s.POSITION][at] = 50.0
    moved = before.copy(deep=True)
    manual = before[s.SOURCE].isel({s.TIME: 0, s.VIEW: 0}).values == int(s.PointSource.MANUAL)
    keypoint = int(np.argwhere(manual)[0][0])
    moved[s.POSITION][{s.TIME: 0, s.VIEW: 0, s.KEYPOINT: keypoint, s.SPACE: 0}] += 1.0
    assert given_points(tracked) == given_points(before)
    assert given_points(moved) != given_points(before)


def test_a_failure_stays_in_its_session_with_its_own_message(two: Path) -> None:
    (two / "b" / "videos" / "cam1.mp4").unlink()
    outcomes = by_session(run_in_order(tasks(find_batch(two), STEPS)))
    assert all(outcomes["a", step].status == DONE for step in STEPS)
    assert outcomes["b", "calibrate"].status == DONE  # its board videos are there
    failed = outcomes["b", "track"]
    assert failed.status == FAILED and "cam1.mp4" in failed.detail
    assert "cam1.mp4" in Path(failed.log).read_text()
    assert outcomes["b", "triangulate"].status == NOT_RUN
    assert outcomes["b", "triangulate"].detail == "track failed"
    record = SessionState(two / "b").records()["track"]
    assert record.status == FAILED and "cam1.mp4" in record.summary
    # a failed step runs again next time (and fails again with the same message)
    assert (
        by_session(run_in_order(tasks(find_batch(two), ("track",))))["b", "track"].status == FAILED
    )


def test_a_session_another_process_holds_fails_saying_so(two: Path) -> None:
    with SessionLock(two / "a"):
        outcome = run_job(Job(str(two / "a"), "a", "calibrate", step_params("calibrate")))
    assert outcome.status == FAILED
    assert "open for writing by another pose3d process" in outcome.detail
    assert str(os.getpid()) in outcome.detail


def test_sessions_take_the_calibration_of_their_rig_session(template: Path, tmp_path: Path) -> None:
    folder = lab(template, tmp_path, ["rig", "m1", "m2"])
    for name in ("m1", "m2"):  # their own board videos are gone: only the rig's are there
        for media in (folder / name / "calibration").glob("cam*/board.mp4"):
            media.unlink()
    manifest = folder / "batch.toml"
    manifest.write_text(
        'steps = ["calibrate", "triangulate"]\n'
        '[[sessions]]\npath = "m1"\ncalibration_from = "rig"\n'
        '[[sessions]]\npath = "m2"\ncalibration_from = "rig"\n'
        '[sessions.triangulate]\nmethod = "ransac"\n'
    )
    batch = find_batch(manifest)
    graph = tasks(batch, None)
    assert [(t.job.name, t.job.step, t.after) for t in graph] == [
        ("rig", "calibrate", ()),
        ("m1", "calibrate", (0,)), ("m1", "triangulate", (1,)),
        ("m2", "calibrate", (0,)), ("m2", "triangulate", (3,)),
    ]  # fmt: skip
    assert graph[4].job.params["method"] == "ransac" and graph[2].job.params["method"] == "dlt"
    outcomes = run_in_order(graph)
    assert [o.status for o in outcomes] == [DONE] * 5, [o.detail for o in outcomes]
    rig = load_calibration(folder / "rig" / "calibration" / "calibration.toml")
    m1 = load_calibration(folder / "m1" / "calibration" / "calibration.toml")
    np.testing.assert_array_equal(rig["cam1"].tvec, m1["cam1"].tvec)
    # the rig recalibrated (another board step) -> its sessions take the new calibration
    graph = tasks(batch, None, {"calibrate": {"step": 2}})
    outcomes = by_session(run_in_order(graph))
    assert outcomes["rig", "calibrate"].status == DONE
    assert outcomes["m1", "calibrate"].status == DONE
    assert outcomes["m1", "calibrate"].detail.startswith("calibration of rig session")


def test_a_failed_rig_calibration_leaves_its_sessions_not_run(
    template: Path, tmp_path: Path
) -> None:
    folder = lab(template, tmp_path, ["rig", "m1"])
    (folder / "rig" / "calibration" / "cam0" / "board.mp4").write_bytes(b"not a video")
    manifest = folder / "batch.toml"
    manifest.write_text('[[sessions]]\npath = "m1"\ncalibration_from = "rig"\n')
    outcomes = by_session(run_in_order(tasks(find_batch(manifest), ("calibrate", "track"))))
    assert outcomes["rig", "calibrate"].status == FAILED
    assert "board.mp4" in outcomes["rig", "calibrate"].detail
    assert outcomes["m1", "calibrate"].status == NOT_RUN
    assert outcomes["m1", "calibrate"].detail == "calibrate failed (session rig)"
    assert outcomes["m1", "track"].status == NOT_RUN


def test_export_replaces_the_previous_export_whole(done: Path) -> None:
    two = done
    batch = find_batch(two)
    movement = two / "a" / "exports" / "movement"
    assert sorted(p.name for p in movement.iterdir()) == ["labels.nc", "poses3d.nc"]
    (movement / "stale.txt").write_text("from before")
    run_in_order(tasks(batch, ("export",), {"export": {"formats": ["movement", "anipose-csv"]}}))
    assert sorted(p.name for p in movement.iterdir()) == ["labels.nc", "poses3d.nc"]
    assert (two / "a" / "exports" / "anipose-csv" / "session.csv").is_file()
    assert not [p for p in (two / "a" / "exports").iterdir() if p.name.startswith(".")]


def test_records_from_elsewhere_cannot_make_a_step_look_done(done: Path) -> None:
    two = done
    batch = find_batch(two)
    assert run_in_order(tasks(batch, ("calibrate",)))[0].status == UP_TO_DATE
    state = SessionState(two / "a")
    state.steps_file.write_text("{not json")  # damaged: the step reruns
    assert run_in_order(tasks(batch, ("calibrate",)))[0].status == DONE
    data = json.loads(state.steps_file.read_text())
    data["calibrate"]["key"] = ["not", "a", "key"]
    state.steps_file.write_text(json.dumps(data))
    assert run_in_order(tasks(batch, ("calibrate",)))[0].status == DONE
    # a .pose3d that is a link to another folder is refused, not written through
    target = two / "elsewhere"
    target.mkdir()
    for child in sorted(state.dir.rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()
    state.dir.rmdir()
    state.dir.symlink_to(target)
    outcome = run_in_order(tasks(batch, ("calibrate",)))[0]
    assert outcome.status == FAILED and "symbolic link" in outcome.detail
    assert not any(target.iterdir())


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ('[[sessions]]\npath = "nowhere"\n', "is not a session folder"),
        ('[[sessions]]\npath = "a"\n[[sessions]]\npath = "a"\n', "listed twice"),
        ('sessions = []\n', "no [[sessions]]"),
        ('step = ["track"]\n[[sessions]]\npath = "a"\n', "unknown key 'step'"),
        ('steps = ["trak"]\n[[sessions]]\npath = "a"\n', "unknown: trak"),
        ('[defaults.triangulate]\nmethod = "best"\n[[sessions]]\npath = "a"\n',
         "triangulate.method must be one of dlt, ransac, optim, got 'best'"),
        ('[defaults.triangulate]\nransac_threshold = inf\n[[sessions]]\npath = "a"\n',
         "triangulate.ransac_threshold must be a number > 0, got inf"),
        ('[[sessions]]\npath = "a"\n[sessions.track]\ntraker = "classical"\n',
         "session 1: track has no parameter 'traker'"),
        ('[[sessions]]\npath = "a"\ncalibration_from = "b/videos"\n', "calibration_from"),
        ("[[sessions]\n", "is not valid TOML"),
    ],
)  # fmt: skip
def test_a_wrong_manifest_is_refused_with_what_to_fix(
    two: Path, manifest: str, message: str
) -> None:
    path = two / "batch.toml"
    path.write_text(manifest)
    with pytest.raises(Pose3dError, match="batch manifest") as error:
        find_batch(path)
    assert message in str(error.value)


def test_a_folder_with_no_session_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Pose3dError, match="no session under"):
        find_batch(tmp_path)


def test_exports_stay_in_the_session_whatever_its_files_say(done: Path) -> None:
    """A session's name from its session.toml names an exported file: a path in it stays one
    name, a name that would climb out is refused; an ``exports`` that is a link elsewhere is
    refused, not written through."""
    two = done
    batch = find_batch(two)
    export = tasks(batch, ("export",), {"export": {"formats": ["anipose-csv"]}})
    toml = two / "a" / "session.toml"
    text = toml.read_text()
    toml.write_text(text.replace('name = "session"', 'name = "day1/mouse"'))
    assert run_in_order(export)[0].status == DONE
    assert [p.name for p in (two / "a" / "exports" / "anipose-csv").iterdir()] == ["day1_mouse.csv"]
    toml.write_text(text.replace('name = "session"', 'name = "../../../evil"'))
    outcome = run_in_order(export)[0]
    assert outcome.status == FAILED and "cannot name a file" in outcome.detail
    assert not list(two.parent.rglob("*evil*"))
    elsewhere = two / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(two / "b" / "exports", ignore_errors=True)
    (two / "b" / "exports").symlink_to(elsewhere)
    outcome = by_session(run_in_order(export))["b", "export"]
    assert outcome.status == FAILED and "not a folder pose3d wrote" in outcome.detail
    assert not any(elsewhere.iterdir())


def test_the_command_says_what_would_run_and_refuses_wrong_options(
    two: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pose3d.cli import main
    from tests.support.cli import error_line

    assert main(["batch", str(two), "--dry-run", "--steps", "track,triangulate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["run", "track", "a:", "never", "run"]
    assert out[-1] == "4 of 4 tasks would run (--dry-run: nothing was run)"
    assert main(["batch", str(two), "--dry-run", "--set", "triangulate.metod=optim"]) == 2
    assert error_line(capsys) == (
        "error: --set: triangulate has no parameter 'metod'; it takes method, views, "
        "ransac_threshold, scale_smooth, scale_length, loss_scale, interpolate, unit"
    )
    assert main(["batch", str(two), "--dry-run", "--steps", "track,sort"]) == 2
    assert "unknown: sort" in error_line(capsys)
    assert main(["batch", str(two / "nowhere")]) == 2
    assert "does not exist: give a folder of session folders or a manifest" in error_line(capsys)
    for option, message in (
        (["--set", "triangul.method=dlt"], "no step 'triangul'; steps are calibrate, track"),
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--retries", "-1"], "--retries must be 0 or more, got -1"),
        (["--memory-limit", "150MB"], "--memory-limit 150MB is below what a worker needs"),
        (["--memory-limit", "lots"], "--memory-limit 'lots' is not an amount of memory"),
    ):
        assert main(["batch", str(two), *option]) == 2
        assert message in error_line(capsys)


def test_a_second_opinion_tracks_again_with_another_tracker(
    done: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``second_opinion`` tracks the same points with another tracker (BootsTAPIR, random
    weights here: it disagrees everywhere) and records the distance; the same tracker twice,
    or one without weights, fails the task with its own message. The second tracker is part of
    the step's key: adding one reruns the step."""
    import torch

    from pose3d.tracking import weights_tapir as wt
    from pose3d.tracking.tapir import build_tapir

    batch = find_batch(done)
    same = {"track": {"tracker": "classical", "second_opinion": "classical"}}
    (failed, _) = run_in_order(tasks(batch, ("track",), same))
    assert failed.status == FAILED and "comes from another one" in failed.detail
    absent = {"track": {"tracker": "classical", "second_opinion": "tapir"}}
    (failed, _) = run_in_order(tasks(batch, ("track",), absent))
    assert failed.status == FAILED and "the tapir tracker needs its weights" in failed.detail

    weights = tmp_path / "weights"
    weights.mkdir()
    torch.manual_seed(0)
    torch.save(build_tapir("offline").state_dict(), weights / wt.RELEASES["offline"])
    monkeypatch.setenv("POSE3D_WEIGHTS_DIR", str(weights))
    one_view = {"track": {**absent["track"], "views": ["cam0"]}}
    graph = [t for t in tasks(batch, ("track",), one_view) if t.job.name == "a"]
    (outcome,) = run_in_order(graph)
    assert outcome.status == DONE, outcome.detail
    assert "(second opinion: tapir)" in outcome.detail
    with SessionFolder(done / "a", write=False) as folder:
        labels = folder.labels()
    apart = labels[s.DISAGREEMENT].sel({s.VIEW: "cam0"}).values
    tracked = labels[s.SOURCE].sel({s.VIEW: "cam0"}).values == s.PointSource.TRACKED
    assert np.isfinite(apart[tracked]).mean() > 0.5  # a distance wherever both see the point
    assert np.isnan(labels[s.DISAGREEMENT].sel({s.VIEW: "cam1"}).values).all()
