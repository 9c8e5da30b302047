"""propagate (pose3d.pipeline.track): manual labels -> tracks merged into labels.nc, under the
lock, atomically; manual points never change; a correction re-tracks only the frames between
its neighbouring anchors; a hidden mark hides the keypoint; offsets are honoured."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError, SessionLockedError
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.labels import new_labels, set_hidden, set_point
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.track import propagate as propagate_folder
from pose3d.tracking.base import TrackingCancelled
from pose3d.tracking.classical import ClassicalTracker

Seeder = Callable[[Sequence[int]], Path]
TRACKER = ClassicalTracker()


def propagate(root: Path, *args: object, **kwargs: object) -> object:
    """The session verb on a folder opened (and locked) for the call."""
    with SessionFolder(root) as folder:
        return propagate_folder(folder, *args, **kwargs)  # type: ignore[arg-type]


def test_tracks_are_merged_and_manual_points_kept(seeded: Seeder, truth: xr.Dataset) -> None:
    root = seeded([0])
    before = load_labels(root / "labels.nc")
    steps: list[str] = []
    report = propagate(
        root, "cam0", (0, 31), TRACKER, progress=lambda step, done, total: steps.append(step)
    )
    after = load_labels(root / "labels.nc")  # validated on read
    v = 0
    manual = before[s.SOURCE].values[0, v] == s.PointSource.MANUAL
    assert manual.sum() == report.queries > 0
    np.testing.assert_array_equal(after[s.POSITION].values[0], before[s.POSITION].values[0])
    assert (after[s.SOURCE].values[0, v][manual] == s.PointSource.MANUAL).all()
    source = after[s.SOURCE].values[1:31, v]
    assert (source[:, manual] == s.PointSource.TRACKED).all()
    assert (source[:, ~manual] == s.PointSource.NONE).all()  # no query, nothing invented
    hidden = after[s.HIDDEN].values[1:31, v]  # where the tracker lost a point: it says hidden
    points = (source == s.PointSource.TRACKED) & ~hidden
    assert report.tracked == int(points.sum()) == 30 * manual.sum() - int(hidden.sum())
    assert points.sum() > 0.8 * 30 * manual.sum()
    confidence = after[s.CONFIDENCE].values[1:31, v][:, manual]
    assert ((confidence >= 0) & (confidence <= 1)).all()
    assert np.isfinite(after[s.VISIBILITY].values[1:31, v][:, manual]).all()
    assert (after[s.SOURCE].values[31:] == s.PointSource.NONE).all()  # outside the range
    assert (after[s.SOURCE].values[:, 1:] == before[s.SOURCE].values[:, 1:]).all()  # other views
    assert {"track cam0", "review flags"} <= set(steps)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".labels")) == []


def test_a_correction_retracks_only_the_frames_between_its_neighbours(
    seeded: Seeder, truth: xr.Dataset
) -> None:
    root = seeded([0])
    propagate(root, "cam0", (0, 40), TRACKER)
    first = load_labels(root / "labels.nc")
    k = int(np.flatnonzero(first[s.SOURCE].values[0, 0, :, 0] == s.PointSource.MANUAL)[0])
    keypoint = str(first[s.KEYPOINT].values[k])
    true_xy = truth[s.POSITION].values[20, 0, :, k, 0]
    corrected = set_point(first, 20, "cam0", keypoint, "individual_0", true_xy)
    save_labels(root / "labels.nc", corrected)
    propagate(root, "cam0", (0, 40), TRACKER, from_frames=[20])
    second = load_labels(root / "labels.nc")
    changed = ~np.isclose(
        second[s.POSITION].values, first[s.POSITION].values, equal_nan=True, atol=0
    ).all(axis=2)  # (T, V, K, I)
    affected = np.zeros_like(changed)
    affected[1:40, 0, k, 0] = True  # the gaps on both sides of 20, up to the anchors around it
    assert not (changed & ~affected).any()
    assert changed[1:40, 0, k, 0].sum() >= 35
    assert second[s.SOURCE].values[20, 0, k, 0] == s.PointSource.MANUAL
    # between the two manual frames both tracks are blended: their disagreement is measured
    assert np.isfinite(second[s.FB_ERROR].values[1:20, 0, k, 0]).all()
    assert np.isnan(second[s.FB_ERROR].values[21:40, 0, k, 0]).all()
    next_xy = truth[s.POSITION].values[21, 0, :, k, 0]
    assert np.linalg.norm(second[s.POSITION].values[21, 0, :, k, 0] - next_xy) < 3.0


def test_a_hidden_mark_hides_the_keypoint_and_no_retrack_undoes_it(
    seeded: Seeder, truth: xr.Dataset
) -> None:
    # a keypoint seen on frame 0 that goes out of sight for good (at least 8 frames at the end)
    visible = truth["visible"].values[:, :, :, 0]  # (T, V, K)
    gone = [
        (v, k, int(np.flatnonzero(visible[:, v, k])[-1]) + 1)
        for v in range(visible.shape[1])
        for k in range(visible.shape[2])
        if visible[0, v, k] and 1 < np.flatnonzero(visible[:, v, k])[-1] + 1 <= len(visible) - 8
    ]
    assert gone, "the synthetic clip should hold a keypoint that disappears"
    v, k, h = gone[0]
    view, keypoint = str(truth[s.VIEW].values[v]), str(truth[s.KEYPOINT].values[k])
    root = seeded([0])
    propagate(root, view, (0, 40), TRACKER)
    carried = load_labels(root / "labels.nc")
    assert np.isfinite(carried[s.POSITION].values[h:, v, :, k, 0]).all()  # carried through
    save_labels(root / "labels.nc", set_hidden(carried, h, view, keypoint, "individual_0"))
    propagate(root, view, (0, 40), TRACKER, from_frames=[h])  # a frame holding only the mark
    marked = load_labels(root / "labels.nc")
    after = slice(h + 1, 40)
    assert marked[s.SOURCE].values[h, v, k, 0] == s.PointSource.MANUAL
    assert marked[s.HIDDEN].values[h, v, k, 0]
    assert marked[s.HIDDEN].values[after, v, k, 0].all()  # hidden from the mark on
    assert (marked[s.SOURCE].values[after, v, k, 0] == s.PointSource.TRACKED).all()
    assert np.isnan(marked[s.POSITION].values[after, v, :, k, 0]).all()
    # re-tracking from the seed frame, or everything, never brings the point back
    propagate(root, view, (0, 40), TRACKER, from_frames=[0])
    again = load_labels(root / "labels.nc")
    np.testing.assert_array_equal(again[s.HIDDEN].values[h:], marked[s.HIDDEN].values[h:])
    propagate(root, view, (0, 40), TRACKER)
    again = load_labels(root / "labels.nc")
    assert again[s.HIDDEN].values[h:, v, k, 0].all()
    assert again[s.SOURCE].values[h, v, k, 0] == s.PointSource.MANUAL


def test_the_frames_before_a_first_hidden_anchor_lose_the_old_fill(seeded: Seeder) -> None:
    """The person deletes the seed point of a keypoint and marks it hidden on frame 12: the
    points an older fill tracked from the seed on frames 1-11 are replaced by hidden marks (no
    track reaches them now), and nothing after frame 12 is invented."""
    root = seeded([0])
    propagate(root, "cam0", (0, 30), TRACKER)
    first = load_labels(root / "labels.nc")
    k = int(np.flatnonzero(first[s.SOURCE].values[0, 0, :, 0] == s.PointSource.MANUAL)[0])
    keypoint = str(first[s.KEYPOINT].values[k])
    edited = set_point(first, 0, "cam0", keypoint, "individual_0", None)
    save_labels(root / "labels.nc", set_hidden(edited, 12, "cam0", keypoint, "individual_0"))
    propagate(root, "cam0", (0, 30), TRACKER, from_frames=[12])
    after = load_labels(root / "labels.nc")
    assert np.isnan(after[s.POSITION].values[:30, 0, :, k, 0]).all()
    assert after[s.HIDDEN].values[:12, 0, k, 0].all()
    assert (after[s.SOURCE].values[:12, 0, k, 0] == s.PointSource.TRACKED).all()


def test_a_retrack_from_an_anchor_next_to_another_changes_nothing(seeded: Seeder) -> None:
    root = seeded([0, 1])  # the keypoints seen on frames 0 and 1: no frame between them
    before = load_labels(root / "labels.nc")
    manual = before[s.SOURCE].values[:2, 0, :, 0] == s.PointSource.MANUAL
    both = [str(k) for k in before[s.KEYPOINT].values[manual.all(axis=0)]]
    assert both
    report = propagate(root, "cam0", (0, 2), TRACKER, from_frames=[0], keypoints=both)
    after = load_labels(root / "labels.nc")
    assert report.tracked == 0 and report.views == ("cam0",) and report.skipped == ()
    np.testing.assert_array_equal(after[s.POSITION].values, before[s.POSITION].values)
    np.testing.assert_array_equal(after[s.SOURCE].values, before[s.SOURCE].values)


def test_camera_offsets_are_honoured(tmp_path: Path) -> None:
    from pose3d.synthetic import write_sample_session

    root = tmp_path / "offset"
    write_sample_session(
        root, n_cameras=2, n_frames=20, n_board_frames=1, image_size=(320, 240),
        offsets={"cam1": 3}, image_folders=False,
    )  # fmt: skip
    truth = load_labels(root / "truth" / "labels.nc")
    labels = new_labels(
        20, ["cam0", "cam1"], [str(k) for k in truth[s.KEYPOINT].values], ["individual_0"]
    )
    seen = truth["visible"].values[8, 1, :, 0]
    for k in np.flatnonzero(seen):
        xy = truth[s.POSITION].values[8, 1, :, k, 0]  # session frame 8 = camera frame 5
        labels = set_point(labels, 8, "cam1", str(truth[s.KEYPOINT].values[k]), "individual_0", xy)
    save_labels(root / "labels.nc", labels)
    propagate(root, "cam1", None, TRACKER)
    out = load_labels(root / "labels.nc")
    source = out[s.SOURCE].values[:, 1, seen, 0]
    assert (source[:3] == s.PointSource.NONE).all()  # session frames 0-2: not recorded by cam1
    assert (source[3:8] == s.PointSource.TRACKED).all() and (
        source[9:] == s.PointSource.TRACKED
    ).all()
    error = np.linalg.norm(
        out[s.POSITION].values[6:11, 1][..., seen, 0]
        - truth[s.POSITION].values[6:11, 1][..., seen, 0],
        axis=1,
    )
    assert np.median(error) < 1.0  # one frame off would be ~1.7 px of motion at this size


def test_the_session_lock_is_taken(seeded: Seeder) -> None:
    root = seeded([0])
    with SessionLock(root), pytest.raises(SessionLockedError):
        propagate(root, "cam0", (0, 5), TRACKER)
    with SessionFolder(root) as folder:  # the TUI holds one for as long as the session is open
        with pytest.raises(SessionLockedError):
            SessionFolder(root)
        report = propagate_folder(folder, "cam0", (0, 5), TRACKER)
    assert report.tracked > 0


def test_cancel_leaves_labels_untouched(seeded: Seeder) -> None:
    root = seeded([0])
    before = (root / "labels.nc").read_bytes()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrackingCancelled):
        propagate(root, "cam0", (0, 31), TRACKER, cancel=cancel)
    assert (root / "labels.nc").read_bytes() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"view": "cam9"}, r"unknown view\(s\) cam9; this session's views are cam0"),
        ({"frames": (35, 40)}, "no manual labels in frames 35:40 of view cam0"),
        ({"frames": (0, 99)}, "outside the labels, which cover session frames 0:40"),
        ({"keypoints": ["wing"]}, r"unknown keypoint\(s\) wing"),
        ({"from_frames": [7]}, r"no manual labels on frame\(s\) 7"),
    ],
)
def test_bad_requests_say_what_to_do(seeded: Seeder, kwargs: dict, message: str) -> None:
    root = seeded([0])
    args = {"view": "cam0", "frames": (0, 31), **kwargs}
    with pytest.raises(Pose3dError, match=message):
        propagate(root, args.pop("view"), args.pop("frames"), TRACKER, **args)


def test_no_labels_file(seeded: Seeder) -> None:
    root = seeded([0])
    (root / "labels.nc").unlink()
    with pytest.raises(Pose3dError, match="label some keypoints first"):
        propagate(root, "cam0", None, TRACKER)
