"""pose3d batch on a real Dask LocalCluster of 2 worker processes: six tiny synthetic sessions,
two of them broken (a missing video, a calibration video that is not one); the good ones are
done and right against their truth, the broken ones fail with their own messages, a rerun does
nothing, a label change reruns that session alone, --force reruns a step everywhere, and a worker
killed in the middle of a task leaves the old output intact and the task reported or retried."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import psutil
import pytest

pytest.importorskip("distributed", reason="pose3d batch needs the [batch] extra (Dask)")

from pose3d import schema as s
from pose3d.label_cells import Cell
from pose3d.pipeline.batch.engine import EngineSettings, Snapshot
from pose3d.pipeline.batch.plan import find_batch, tasks
from pose3d.pipeline.batch.run import BatchResult, run_batch
from pose3d.pipeline.batch.task import DONE, FAILED, NOT_RUN, UP_TO_DATE
from pose3d.pipeline.calibrate import calibrate_session
from pose3d.pipeline.compare_truth import compare_truth
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.review import Action, edit_point
from pose3d.pipeline.track import propagate
from pose3d.pipeline.triangulate import triangulate_session
from pose3d.tracking.registry import make_tracker
from tests.support.batch_sessions import by_session, lab, run_in_order, statuses, tiny_session

GOOD = ("day1/m1", "day1/m2", "day2/m1", "day2/m2")
BROKEN_VIDEO, BROKEN_CALIBRATION = "day2/no_video", "day2/bad_board"
STEPS = ("calibrate", "track", "triangulate", "export")
LOCAL = EngineSettings(workers=2)


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BatchResult]:
    """The lab's folder after a first batch, and that batch's result; ``../direct``: the
    template's session run through the session verbs one by one in this process."""
    base = tmp_path_factory.mktemp("batch_dask")
    template = tiny_session(base / "template")
    shutil.copytree(template, base / "direct")
    with SessionFolder(base / "direct") as session:
        calibrate_session(session)
        propagate(session, "all", None, make_tracker("classical").tracker)
        triangulate_session(session)
    folder = lab(template, base / "lab", [*GOOD, BROKEN_VIDEO, BROKEN_CALIBRATION])
    (folder / BROKEN_VIDEO / "videos" / "cam1.mp4").unlink()
    (folder / BROKEN_CALIBRATION / "calibration" / "cam0" / "board.mp4").write_text("no video")
    return folder, run_batch(folder, STEPS, engine=LOCAL)


@pytest.fixture
def after_first(first: tuple[Path, BatchResult], tmp_path: Path) -> Path:
    copy = tmp_path / "lab"
    shutil.copytree(first[0], copy)
    return copy


def test_the_good_sessions_are_done_and_the_broken_fail_with_their_own_messages(
    first: tuple[Path, BatchResult],
) -> None:
    folder, result = first
    outcomes = by_session(result.outcomes)
    with SessionFolder(folder.parent / "direct", write=False) as session:
        direct = session.poses()  # the same verbs, one by one, in this process
    for name in GOOD:
        assert [outcomes[name, step].status for step in STEPS] == [DONE] * 4
        with SessionFolder(folder / name, write=False) as session:
            truth = compare_truth(session)
            poses = session.poses()
        assert all(view.median < 1.0 for view in truth.tracking)  # px, against the 2D truth
        # the same to 0.01 mm (one thread per worker, several here: sums in another order)
        np.testing.assert_allclose(poses[s.POSITION], direct[s.POSITION], atol=0.01)
        assert (folder / name / "exports" / "movement" / "poses3d.nc").is_file()
    assert outcomes[BROKEN_VIDEO, "calibrate"].status == DONE
    assert outcomes[BROKEN_VIDEO, "track"].status == FAILED
    assert "cam1.mp4" in outcomes[BROKEN_VIDEO, "track"].detail
    assert outcomes[BROKEN_CALIBRATION, "calibrate"].status == FAILED
    assert "board.mp4" in outcomes[BROKEN_CALIBRATION, "calibrate"].detail
    for name, after in ((BROKEN_VIDEO, "track"), (BROKEN_CALIBRATION, "calibrate")):
        later = STEPS[STEPS.index(after) + 1 :]
        assert all(outcomes[name, step].status == NOT_RUN for step in later)
        assert outcomes[name, later[0]].detail == f"{after} failed"
    report = json.loads(result.report.read_text())
    assert report["counts"] == {DONE: 17, FAILED: 2, NOT_RUN: 5}
    assert result.report == folder / "batch_report.json"
    failed = next(t for t in report["tasks"] if t["status"] == FAILED and t["step"] == "track")
    assert "cam1.mp4" in Path(failed["log"]).read_text()


def test_a_rerun_does_nothing_and_a_label_change_reruns_that_session_only(
    after_first: Path,
) -> None:
    stamps = {name: (after_first / name / "poses3d.nc").stat().st_mtime_ns for name in GOOD}
    rerun = by_session(run_batch(after_first, STEPS, engine=LOCAL).outcomes)
    assert all(rerun[name, step].status == UP_TO_DATE for name in GOOD for step in STEPS)
    assert rerun[BROKEN_VIDEO, "track"].status == FAILED  # tried again, as broken as before
    assert {n: (after_first / n / "poses3d.nc").stat().st_mtime_ns for n in GOOD} == stamps

    with SessionFolder(after_first / "day2/m1") as folder:  # a person corrects a point
        edit_point(folder, Cell(6, "cam0", "nose", "individual_0"), Action.HIDE)
    changed = by_session(run_batch(after_first, STEPS, engine=LOCAL).outcomes)
    done = {key for key, o in changed.items() if o.status == DONE}
    assert done == {("day2/m1", "track"), ("day2/m1", "triangulate"), ("day2/m1", "export")}
    assert (after_first / "day1/m1/poses3d.nc").stat().st_mtime_ns == stamps["day1/m1"]


def test_force_reruns_the_step_on_every_session(after_first: Path) -> None:
    result = run_batch(after_first, STEPS, force=["triangulate"], engine=LOCAL)
    outcomes = by_session(result.outcomes)
    assert all(outcomes[name, "triangulate"].status == DONE for name in GOOD)
    assert all(outcomes[name, "track"].status == UP_TO_DATE for name in GOOD)


@pytest.fixture(scope="module")
def long_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One session whose tracking takes seconds (160 frames), tracked once already."""
    folder = tmp_path_factory.mktemp("batch_kill")
    tiny_session(folder / "s", n_frames=160)
    run_in_order(tasks(find_batch(folder), ("track",)))
    return folder


def _kill_workers_once(killed: list[int]) -> object:
    """An on_update that SIGKILLs this process's Dask worker processes when the first task
    is running (what the kernel's OOM killer or SLURM's time limit does)."""

    def on_update(snapshot: Snapshot) -> None:
        if killed or statuses(snapshot)[0] != "running":
            return
        for child in psutil.Process().children(recursive=True):
            if "spawn_main" in " ".join(child.cmdline()):
                child.kill()
                killed.append(child.pid)

    return on_update


@pytest.mark.parametrize("retries", [0, 1])
def test_a_worker_killed_mid_task_keeps_the_old_output_and_is_reported_or_retried(
    long_session: Path, tmp_path: Path, retries: int
) -> None:
    folder = tmp_path / "lab"
    shutil.copytree(long_session, folder)
    labels = folder / "s" / "labels.nc"
    before = labels.read_bytes()
    killed: list[int] = []
    result = run_batch(
        folder,
        ("track",),
        force=["track"],
        engine=EngineSettings(workers=1, retries=retries),
        on_update=_kill_workers_once(killed),  # type: ignore[arg-type]
    )
    assert killed, "the task ended before the worker could be killed"
    (outcome,) = result.outcomes
    if retries == 0:
        assert outcome.status == FAILED and outcome.detail.startswith("worker lost")
        assert labels.read_bytes() == before  # the old labels, whole
        with SessionFolder(folder / "s", write=False) as session:
            session.labels()  # and they read
    else:
        assert outcome.status == DONE


def test_an_existing_scheduler_runs_the_batch(after_first: Path) -> None:
    """--scheduler ADDRESS: a Dask cluster the lab already runs (here one started apart)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        engine = EngineSettings(scheduler=cluster.scheduler_address)
        result = run_batch(after_first, ("triangulate",), force=["triangulate"], engine=engine)
    assert result.engine.startswith(f"Dask scheduler {cluster.scheduler_address}")
    outcomes = by_session(result.outcomes)
    assert all(outcomes[name, "triangulate"].status == DONE for name in GOOD)


def test_a_scheduler_that_does_not_answer_is_said_in_one_line(after_first: Path) -> None:
    from pose3d.errors import Pose3dError

    engine = EngineSettings(scheduler="tcp://127.0.0.1:9", connect_timeout=1.0)
    with pytest.raises(Pose3dError, match=r"no Dask scheduler answers at tcp://127.0.0.1:9"):
        run_batch(after_first, ("triangulate",), engine=engine)
