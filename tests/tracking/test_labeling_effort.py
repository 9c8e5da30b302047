"""The simulated annotator of benchmarks/labeling_effort.py (tests/support/labeling_effort.py):
its bookkeeping on a small synthetic clip (2 cameras, 30 frames of 320 × 240; seed 1 has hidden
points and tracks that go wrong, so the person places, marks hidden and re-tracks), not its figures
(a benchmark's targets are not asserted)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import ArrayLike

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.io.netcdf import load_labels
from pose3d.pipeline.folder import SessionFolder
from pose3d.tracking.base import Frames, TrackProgress, TrackResult
from pose3d.tracking.classical import ClassicalTracker
from pose3d.tracking.tour import run_key
from tests.support.labeling_effort import (
    TOLERANCE_PX,
    Annotator,
    Effort,
    Truth,
    run_annotator,
    truth_from_labels,
)

N_FRAMES = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    from pose3d.synthetic import write_sample_session

    root = tmp_path_factory.mktemp("effort") / "session"
    write_sample_session(
        root,
        n_cameras=2,
        n_frames=N_FRAMES,
        n_board_frames=1,
        image_size=(320, 240),
        image_folders=False,
        seed=1,
    )
    shutil.copy(root / "truth" / "calibration.toml", root / "calibration" / "calibration.toml")
    return root, truth_from_labels(load_labels(root / "truth" / "labels.nc"))


@pytest.fixture(scope="module")
def walked(clip: tuple[Path, Truth]) -> tuple[Annotator, Effort]:
    root, truth = clip
    with SessionFolder(root, write=False) as folder:
        person = Annotator(truth, folder.videos(), folder.cameras_or_none(), ClassicalTracker())
        person.seed()
        person.propagate()
        person.walk_queue(max_visits=10 * N_FRAMES * 2)
    return person, person.effort("queue", 0.0, 0.0)


def test_actions_are_seed_plus_placed_plus_marked(walked: tuple[Annotator, Effort]) -> None:
    _, effort = walked
    kinds = [a.kind for a in effort.log]
    assert effort.actions == effort.seed + effort.placed + effort.hidden == len(effort.log)
    assert (kinds.count("seed"), kinds.count("place"), kinds.count("hide")) == (
        effort.seed,
        effort.placed,
        effort.hidden,
    )
    assert effort.deleted == 0  # the person marks hidden points, deletes nothing
    assert effort.placed == effort.placed_moved + effort.placed_missing
    assert effort.ratio == pytest.approx(effort.baseline / effort.actions)
    assert effort.placed > 0 and effort.hidden > 0  # the clip has hidden points: there is work
    assert not effort.capped


def test_every_action_changes_a_point(walked: tuple[Annotator, Effort]) -> None:
    person, effort = walked
    truth = person.truth
    for action in effort.log:
        assert action.before != action.after
        t = action.frame - int(truth.time[0])
        v = truth.views.index(action.view)
        k = truth.keypoints.index(action.keypoint)
        i = truth.individuals.index(action.individual)
        if action.kind in ("delete", "hide"):
            assert action.after is None and not truth.visible[t, v, k, i]
            continue
        assert truth.visible[t, v, k, i]
        assert action.after == pytest.approx(tuple(truth.position[t, v, :, k, i]))
        if action.kind == "place" and action.before is not None:
            off = np.hypot(*np.subtract(action.before, truth.position[t, v, :, k, i]))
            assert off > TOLERANCE_PX  # a point within 5 px is left alone
    seeds = [a for a in effort.log if a.kind == "seed"]
    assert {a.frame for a in seeds} == {int(truth.time[0])}
    assert effort.seed == int(truth.visible[0].sum())


def test_the_final_state_holds_what_the_person_did(walked: tuple[Annotator, Effort]) -> None:
    person, effort = walked
    truth, labels = person.truth, person.labels
    position = labels[s.POSITION].values
    source = labels[s.SOURCE].values
    hidden = labels[s.HIDDEN].values
    for action in effort.log:
        t = action.frame - int(truth.time[0])
        v = truth.views.index(action.view)
        k = truth.keypoints.index(action.keypoint)
        i = truth.individuals.index(action.individual)
        xy = position[t, v, :, k, i]
        assert source[t, v, k, i] == s.PointSource.MANUAL  # a re-track never undoes it
        if action.kind == "hide":
            assert hidden[t, v, k, i] and np.isnan(xy).all()
            continue
        assert np.hypot(*(xy - truth.position[t, v, :, k, i])) <= TOLERANCE_PX
    assert effort.redeleted == 0  # so no point the person marked hidden came back


def test_the_counts_are_consistent(walked: tuple[Annotator, Effort]) -> None:
    person, effort = walked
    truth = person.truth
    assert effort.baseline == int(truth.visible.sum())
    assert effort.images == N_FRAMES * len(truth.views)
    assert 0 <= effort.within_3px <= effort.within_5px <= 1
    assert 0 <= effort.visits_nothing_to_fix <= effort.visits
    by_reason = effort.visits_by_reason.values()
    assert sum(n for n, _ in by_reason) == effort.visits  # a queue walk: every visit a run's
    assert sum(z for _, z in by_reason) == effort.visits_nothing_to_fix
    assert effort.retracks <= effort.visits and effort.retracks_failed == 0
    if effort.retracks:
        assert effort.retrack_fixed > 0  # a re-track after a correction mends something
    assert effort.redeleted <= effort.deleted + effort.hidden
    assert effort.wrong_at_end_unflagged <= effort.wrong_at_end
    assert effort.initial_wrong_flagged <= effort.initial_wrong
    assert effort.initial_hidden_flagged <= effort.initial_hidden_tracked
    assert effort.initial_missing_flagged <= effort.initial_missing
    present = np.isfinite(person.labels[s.POSITION].values).all(axis=2)
    assert effort.left_hidden == int((present & ~truth.visible).sum())
    assert effort.missing_visible == int((~present & truth.visible).sum())
    within = effort.within_5px * effort.baseline
    assert round(within) + effort.wrong_at_end + effort.missing_visible == effort.baseline


def test_the_queue_is_walked_to_its_end(walked: tuple[Annotator, Effort]) -> None:
    person, _ = walked
    left = {run_key(item) for item in _queue(person)}
    assert left <= set(person.tour.visited)  # every run still flagged was looked at


def test_the_visit_cap_stops_the_walk(clip: tuple[Path, Truth]) -> None:
    root, truth = clip
    with SessionFolder(root, write=False) as folder:
        person = Annotator(truth, folder.videos(), folder.cameras_or_none(), ClassicalTracker())
        person.seed()
        person.propagate()
        assert _queue(person)  # something to visit
        person.walk_queue(max_visits=0)
    effort = person.effort("queue", 0.0, 0.0)
    assert effort.capped and effort.visits == 0 and effort.actions == effort.seed


def test_scanning_every_kth_frame_visits_those_images(clip: tuple[Path, Truth]) -> None:
    root, truth = clip
    with SessionFolder(root, write=False) as folder:
        effort = run_annotator(
            truth, folder.videos(), None, ClassicalTracker(), frames=(2, 11), scan_every=4,
            hide=False,
        )  # fmt: skip
    assert effort.mode == "scan k=4" and effort.frames == (2, 11)
    assert effort.hidden == 0  # the protocol before hidden marks: the person deletes
    assert effort.visits == 2 * len(truth.views)  # frames 6 and 10
    assert {a.frame for a in effort.log if a.kind != "seed"} <= {6, 10}
    assert {a.kind for a in effort.log} <= {"seed", "place", "delete"}
    assert effort.baseline == int(truth.visible[2:11].sum())
    assert effort.actions == effort.seed + effort.placed + effort.deleted


def test_a_truth_that_sees_a_point_it_has_no_position_for_is_refused() -> None:
    position = np.full((2, 1, 2, 1, 1), np.nan)
    with pytest.raises(Pose3dError, match="visible where its position is NaN"):
        Truth(position, np.ones((2, 1, 1, 1), bool), np.arange(2), ("cam0",), ("nose",), ("a",))


def test_a_range_outside_the_truth_is_refused(clip: tuple[Path, Truth]) -> None:
    root, truth = clip
    with (
        SessionFolder(root, write=False) as folder,
        pytest.raises(Pose3dError, match="outside the truth"),
    ):
        Annotator(truth, folder.videos(), None, ClassicalTracker(), frames=(0, N_FRAMES + 5))


def _queue(person: Annotator) -> list:
    from pose3d.tracking.review import review_queue

    return review_queue(person.labels)


def test_following_runs_keeps_the_books(clip: tuple[Path, Truth]) -> None:
    root, truth = clip
    with SessionFolder(root, write=False) as folder:
        effort = run_annotator(
            truth, folder.videos(), folder.cameras_or_none(), ClassicalTracker(), follow_runs=True
        )
    assert effort.mode == "queue, following runs" and not effort.capped
    assert effort.actions == effort.seed + effort.placed + effort.hidden == len(effort.log)
    assert all(action.before != action.after for action in effort.log)
    assert 0 <= effort.visits_nothing_to_fix <= effort.visits


class TruthTracker:
    """A second opinion that knows where every keypoint is: a query is matched to the truth's
    keypoint at its frame (in any view), and its track is that keypoint's true path there
    (visible where the truth sees it). For this clip's whole range, whose frames are the
    truth's rows."""

    name = "truth"

    def __init__(self, truth: Truth) -> None:
        self.truth = truth

    def track(
        self,
        video_frames: Frames,
        queries: ArrayLike,
        *,
        progress: TrackProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> TrackResult:
        q = np.asarray(queries, np.float64)
        position = self.truth.position  # (T, V, 2, K, I)
        tracks = np.full((len(video_frames), len(q), 2), np.nan)
        seen = np.zeros((len(video_frames), len(q)), np.float32)
        for n, (t, x, y) in enumerate(q):
            apart = np.linalg.norm(position[int(t)] - np.array([x, y])[None, :, None, None], axis=1)
            v, k, i = np.unravel_index(np.nanargmin(apart), apart.shape)
            tracks[:, n] = position[: len(video_frames), v, :, k, i]
            seen[:, n] = self.truth.visible[: len(video_frames), v, k, i]
        return TrackResult(np.nan_to_num(tracks), seen, seen, None)


def test_a_second_opinion_that_knows_the_truth_catches_what_the_flags_miss(
    clip: tuple[Path, Truth],
) -> None:
    """second_opinion_gain (issue 21, item 4's measurement, with released weights): the same
    seed propagated alone and with a second tracker. With a second tracker that follows the
    truth, every point more than 8 px off where both see it is flagged, so fewer wrong points
    are missed; the first tracker's points are the same."""
    from tests.support.labeling_effort import second_opinion_gain

    root, truth = clip
    with SessionFolder(root, write=False) as folder:
        gain = second_opinion_gain(
            truth, folder.videos(), None, ClassicalTracker(), TruthTracker(truth)
        )
    assert gain["tracked_alone"] == gain["tracked_with_second"] > 0
    assert gain["wrong_alone"] == gain["wrong_with_second"] > 0
    assert gain["missed_with_second"] < gain["missed_alone"]
    assert gain["right_flagged_with_second"] >= gain["right_flagged_alone"]
