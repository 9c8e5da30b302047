"""THE labels merge policy (pose3d.labels), as a table of cases: what replaces what, what a tool
may clear, and which fields an edit resets; plus set_point and manual_conflicts."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.labels import (
    manual_conflicts,
    merge_points,
    new_labels,
    replaceable,
    set_hidden,
    set_point,
)

S = s.PointSource
OLD_XY, NEW_XY = (10.0, 20.0), (30.0, 40.0)
CELL = {s.TIME: 0, s.VIEW: "cam0", s.KEYPOINT: "nose", s.INDIVIDUAL: "a"}


def _labels(source: S) -> xr.Dataset:
    """One frame, one view, one keypoint: the cell holds a ``source`` point (flagged, with the
    tracker's variables set), or nothing."""
    labels = new_labels(1, ["cam0"], ["nose"], ["a"])
    labels[s.VISIBILITY] = (s.TRACK_DIMS[s.VISIBILITY], np.full((1, 1, 1, 1), 0.3))
    labels[s.REVIEW_REASON] = (s.TRACK_DIMS[s.REVIEW_REASON], np.full((1, 1, 1, 1), 2, np.int8))
    if source != S.NONE:
        labels[s.POSITION].loc[CELL] = np.array(OLD_XY)
        labels[s.CONFIDENCE].loc[CELL] = 0.5
        labels[s.SOURCE].loc[CELL] = int(source)
        labels[s.REVIEW].loc[CELL] = True
    return labels


def _incoming(labels: xr.Dataset, xy: tuple[float, float] | None) -> tuple[xr.DataArray, ...]:
    position = labels[s.POSITION].copy(data=np.full(labels[s.POSITION].shape, np.nan))
    if xy is not None:
        position.loc[CELL] = np.array(xy)
    confidence = labels[s.CONFIDENCE].copy(data=np.full(labels[s.CONFIDENCE].shape, 0.9))
    return position, confidence


def _cell(labels: xr.Dataset) -> tuple[S, tuple[float, float] | None, bool, float]:
    xy = labels[s.POSITION].loc[CELL].values
    point = None if np.isnan(xy).any() else (float(xy[0]), float(xy[1]))
    return (
        S(int(labels[s.SOURCE].loc[CELL])),
        point,
        bool(labels[s.REVIEW].loc[CELL]),
        float(labels[s.VISIBILITY].loc[CELL]),
    )


REPLACE, KEEP, CLEAR = "replace", "keep", "clear"
# (in the cell, from the tool, the tool found a point?, the tool governs the cell?) -> outcome
CASES = [
    # a tool's point replaces the same rank or lower, never higher
    (S.NONE, S.TRACKED, True, True, REPLACE),
    (S.TRACKED, S.TRACKED, True, True, REPLACE),  # a new tracking replaces the old one
    (S.REPROJECTED, S.TRACKED, True, True, KEEP),
    (S.IMPORTED, S.TRACKED, True, True, KEEP),
    (S.MANUAL, S.TRACKED, True, True, KEEP),
    (S.TRACKED, S.REPROJECTED, True, False, REPLACE),
    (S.IMPORTED, S.REPROJECTED, True, False, KEEP),
    (S.NONE, S.IMPORTED, True, False, REPLACE),
    (S.TRACKED, S.IMPORTED, True, False, REPLACE),
    (S.REPROJECTED, S.IMPORTED, True, False, REPLACE),
    (S.IMPORTED, S.IMPORTED, True, False, REPLACE),
    (S.MANUAL, S.IMPORTED, True, False, KEEP),
    # manual points come from a person (or a file of hand labels, checked for conflicts)
    (S.TRACKED, S.MANUAL, True, False, REPLACE),
    (S.MANUAL, S.MANUAL, True, False, REPLACE),
    # no point from the tool: it retracts its own earlier guess where it governs, only there
    (S.TRACKED, S.TRACKED, False, True, CLEAR),
    (S.TRACKED, S.TRACKED, False, False, KEEP),
    (S.IMPORTED, S.TRACKED, False, True, KEEP),
    (S.MANUAL, S.TRACKED, False, True, KEEP),
    (S.NONE, S.TRACKED, False, True, KEEP),
]


@pytest.mark.parametrize(("current", "incoming", "found", "governs", "outcome"), CASES)
def test_the_merge_policy(
    current: S, incoming: S, found: bool, governs: bool, outcome: str
) -> None:
    labels = _labels(current)
    before = _cell(labels)
    position, confidence = _incoming(labels, NEW_XY if found else None)
    governed = labels[s.REVIEW].copy(data=np.full(labels[s.REVIEW].shape, governs))
    visibility = labels[s.VISIBILITY].copy(data=np.full(labels[s.VISIBILITY].shape, 0.8))
    out, written = merge_points(
        labels, position, confidence, incoming, governed=governed, extra={s.VISIBILITY: visibility}
    )
    assert _cell(labels) == before  # the input is never changed
    if outcome == REPLACE:
        assert _cell(out) == (incoming, NEW_XY, False, 0.8)  # review reset, extras written
        assert float(out[s.CONFIDENCE].loc[CELL]) == pytest.approx(0.9)
        assert int(out[s.REVIEW_REASON].loc[CELL]) == 0
        assert bool(written.loc[CELL])
    elif outcome == KEEP:
        assert _cell(out) == before and not bool(written.loc[CELL])
        assert int(out[s.REVIEW_REASON].loc[CELL]) == 2
    else:
        source, point, review, vis = _cell(out)
        assert (source, point, review) == (S.NONE, None, False) and np.isnan(vis)
        assert np.isnan(float(out[s.CONFIDENCE].loc[CELL])) and not bool(written.loc[CELL])


def test_ranks_follow_the_documented_order() -> None:
    order = [S.NONE, S.TRACKED, S.REPROJECTED, S.IMPORTED, S.MANUAL]
    for i, incoming in enumerate(order[1:], start=1):
        allowed = replaceable(np.array([int(o) for o in order]), incoming)
        assert allowed.tolist() == [j <= i for j in range(len(order))]


def test_a_merge_covers_only_its_region_and_clips_confidence() -> None:
    labels = new_labels(3, ["cam0", "cam1"], ["nose", "tail"], ["a"])
    position = xr.DataArray(
        np.array([[[[[1.0]], [[2.0]]]], [[[[3.0]], [[np.nan]]]]]),  # frames 1-2, cam1, nose
        dims=s.LABEL_DIMS[s.POSITION],
        coords={s.TIME: [1, 2], s.VIEW: ["cam1"], s.SPACE: ["x", "y"], s.KEYPOINT: ["nose"],
                s.INDIVIDUAL: ["a"]},
    )  # fmt: skip
    confidence = position.isel({s.SPACE: 0}, drop=True) * 0 + 7.0
    out, written = merge_points(labels, position, confidence, S.TRACKED)
    assert written.values.ravel().tolist() == [True, False]
    source = out[s.SOURCE].values
    assert source.sum() == int(S.TRACKED) and source[1, 1, 0, 0] == S.TRACKED
    assert out[s.CONFIDENCE].values[1, 1, 0, 0] == 1.0  # clipped to 0-1
    with pytest.raises(ValueError, match="delete them with set_point"):
        merge_points(labels, position, confidence, S.NONE)


def test_manual_conflicts_are_moved_manual_points_only() -> None:
    labels = _labels(S.MANUAL)
    same, _ = _incoming(labels, OLD_XY)
    moved, _ = _incoming(labels, NEW_XY)
    nothing, _ = _incoming(labels, None)
    assert not bool(manual_conflicts(labels, same).any())
    assert bool(manual_conflicts(labels, moved).loc[CELL])
    assert not bool(manual_conflicts(labels, nothing).any())
    assert not bool(manual_conflicts(_labels(S.IMPORTED), moved).any())


def test_set_point_is_a_persons_edit() -> None:
    labels = _labels(S.TRACKED)
    placed = set_point(labels, 0, "cam0", "nose", "a", NEW_XY)
    assert _cell(placed)[:3] == (S.MANUAL, NEW_XY, False) and np.isnan(_cell(placed)[3])
    deleted = set_point(placed, 0, "cam0", "nose", "a", None)
    assert _cell(deleted)[:3] == (S.NONE, None, False)
    assert _cell(labels)[0] == S.TRACKED  # not in place unless asked
    with pytest.raises(Pose3dError, match="two finite numbers"):
        set_point(labels, 0, "cam0", "nose", "a", (1.0, np.nan))


# --- hidden marks: "the keypoint is not visible here", a label with a source like a point ------

HIDDEN = "hidden"  # what the tool (or file) says about the cell: a point, hidden, or nothing
NOTHING = None


def _labels_hidden(source: S) -> xr.Dataset:
    """The cell holds a hidden mark made by ``source`` (flagged, the tracker's variables set)."""
    labels = _labels(S.NONE)
    labels = set_hidden(labels, 0, "cam0", "nose", "a", source)
    labels[s.REVIEW].loc[CELL] = True
    labels[s.VISIBILITY].loc[CELL] = 0.3
    labels[s.REVIEW_REASON].loc[CELL] = 2
    return labels


def _state(labels: xr.Dataset) -> tuple[S, tuple[float, float] | None, bool]:
    """(source, point, hidden) of the cell."""
    source, point, _, _ = _cell(labels)
    return source, point, bool(labels[s.HIDDEN].loc[CELL])


# (the cell holds: a hidden mark (True) or a point (False) of source; the tool's source; the
# tool says: NEW_XY, HIDDEN or NOTHING; the tool governs the cell?) -> (source, point, hidden)
HIDDEN_CASES = [
    # a manual hidden mark is a manual label: no tool replaces or clears it
    (True, S.MANUAL, S.TRACKED, NEW_XY, True, (S.MANUAL, None, True)),
    (True, S.MANUAL, S.TRACKED, HIDDEN, True, (S.MANUAL, None, True)),
    (True, S.MANUAL, S.TRACKED, NOTHING, True, (S.MANUAL, None, True)),  # a re-track keeps it
    (True, S.MANUAL, S.REPROJECTED, NEW_XY, True, (S.MANUAL, None, True)),
    (True, S.MANUAL, S.IMPORTED, NEW_XY, False, (S.MANUAL, None, True)),
    # a person's point replaces any hidden mark, a person's hidden mark any point
    (True, S.MANUAL, S.MANUAL, NEW_XY, False, (S.MANUAL, NEW_XY, False)),
    (True, S.TRACKED, S.MANUAL, NEW_XY, False, (S.MANUAL, NEW_XY, False)),
    (False, S.TRACKED, S.MANUAL, HIDDEN, False, (S.MANUAL, None, True)),
    (False, S.MANUAL, S.MANUAL, HIDDEN, False, (S.MANUAL, None, True)),
    # a tool's hidden mark follows the ranks of its points
    (False, S.TRACKED, S.TRACKED, HIDDEN, True, (S.TRACKED, None, True)),  # track now lost
    (True, S.TRACKED, S.TRACKED, NEW_XY, True, (S.TRACKED, NEW_XY, False)),  # it reappears
    (False, S.IMPORTED, S.TRACKED, HIDDEN, True, (S.IMPORTED, OLD_XY, False)),
    (False, S.MANUAL, S.TRACKED, HIDDEN, True, (S.MANUAL, OLD_XY, False)),
    (True, S.TRACKED, S.IMPORTED, HIDDEN, False, (S.IMPORTED, None, True)),
    (True, S.IMPORTED, S.TRACKED, NEW_XY, True, (S.IMPORTED, None, True)),
    (True, S.REPROJECTED, S.TRACKED, NEW_XY, True, (S.REPROJECTED, None, True)),
    # a tool retracts its own hidden mark where it governs and says nothing, only there
    (True, S.TRACKED, S.TRACKED, NOTHING, True, (S.NONE, None, False)),
    (True, S.TRACKED, S.TRACKED, NOTHING, False, (S.TRACKED, None, True)),
    (True, S.IMPORTED, S.TRACKED, NOTHING, True, (S.IMPORTED, None, True)),
]


@pytest.mark.parametrize(("is_hidden", "current", "incoming", "says", "governs", "expected"),
                         HIDDEN_CASES)  # fmt: skip
def test_the_merge_policy_of_hidden_marks(
    is_hidden: bool,
    current: S,
    incoming: S,
    says: object,
    governs: bool,
    expected: tuple[S, tuple[float, float] | None, bool],
) -> None:
    labels = _labels_hidden(current) if is_hidden else _labels(current)
    before = _cell(labels), bool(labels[s.HIDDEN].loc[CELL])
    position, confidence = _incoming(labels, NEW_XY if says == NEW_XY else None)
    hidden = labels[s.HIDDEN].copy(data=np.full(labels[s.HIDDEN].shape, says == HIDDEN))
    governed = labels[s.REVIEW].copy(data=np.full(labels[s.REVIEW].shape, governs))
    visibility = labels[s.VISIBILITY].copy(data=np.full(labels[s.VISIBILITY].shape, 0.1))
    out, written = merge_points(
        labels,
        position,
        confidence,
        incoming,
        governed=governed,
        hidden=hidden,
        extra={s.VISIBILITY: visibility},
    )
    assert (_cell(labels), bool(labels[s.HIDDEN].loc[CELL])) == before  # input unchanged
    assert _state(out) == expected
    changed = _state(out) != _state(labels)
    if not changed:
        assert (_cell(out), bool(out[s.HIDDEN].loc[CELL])) == before  # flags and all kept
    elif expected[0] == S.NONE:  # cleared: nothing left, not even the confidence
        assert np.isnan(float(out[s.CONFIDENCE].loc[CELL])) and not bool(written.loc[CELL])
    else:  # written: review reset, the tool's extras set; a hidden mark has confidence 0
        assert bool(written.loc[CELL]) and not bool(out[s.REVIEW].loc[CELL])
        assert float(out[s.VISIBILITY].loc[CELL]) == pytest.approx(0.1)
        conf = float(out[s.CONFIDENCE].loc[CELL])
        assert conf == (0.0 if expected[2] else pytest.approx(0.9))


def test_set_hidden_is_a_persons_mark_and_deleting_clears_it() -> None:
    labels = _labels(S.TRACKED)
    marked = set_hidden(labels, 0, "cam0", "nose", "a")
    assert _state(marked) == (S.MANUAL, None, True)
    assert float(marked[s.CONFIDENCE].loc[CELL]) == 0.0
    assert not bool(marked[s.REVIEW].loc[CELL]) and np.isnan(_cell(marked)[3])
    assert _state(labels) == (S.TRACKED, OLD_XY, False)  # not in place unless asked
    deleted = set_point(marked, 0, "cam0", "nose", "a", None)
    assert _state(deleted) == (S.NONE, None, False)  # "not labelled yet" again
    placed = set_point(marked, 0, "cam0", "nose", "a", NEW_XY)
    assert _state(placed) == (S.MANUAL, NEW_XY, False)
    with pytest.raises(ValueError, match="needs a source"):
        set_hidden(labels, 0, "cam0", "nose", "a", S.NONE)


def test_labels_without_the_hidden_variable_take_hidden_marks() -> None:
    """A dataset built before hidden marks existed (or by hand) has nothing hidden; an edit or
    a merge adds the variable, in place when asked."""
    old = _labels(S.TRACKED).drop_vars(s.HIDDEN)
    assert s.HIDDEN not in set_point(old, 0, "cam0", "nose", "a", NEW_XY).data_vars
    assert _state(set_hidden(old, 0, "cam0", "nose", "a")) == (S.MANUAL, None, True)
    assert s.HIDDEN not in old.data_vars
    set_hidden(old, 0, "cam0", "nose", "a", inplace=True)
    assert _state(old) == (S.MANUAL, None, True)
    older = _labels(S.NONE).drop_vars(s.HIDDEN)
    position, confidence = _incoming(older, NEW_XY)
    out, _ = merge_points(older, position, confidence, S.TRACKED)
    assert _state(out) == (S.TRACKED, NEW_XY, False)


def test_a_hidden_mark_with_a_position_is_refused() -> None:
    labels = _labels(S.NONE)
    position, confidence = _incoming(labels, NEW_XY)
    hidden = labels[s.HIDDEN].copy(data=np.ones(labels[s.HIDDEN].shape, bool))
    with pytest.raises(ValueError, match="hidden mark has no position"):
        merge_points(labels, position, confidence, S.TRACKED, hidden=hidden)


def test_manual_conflicts_count_hidden_marks() -> None:
    """An import of hand labels may not hide a manual point nor place a point on a manual
    hidden mark; the same hidden mark again is no conflict."""
    point, hidden_mark = _labels(S.MANUAL), _labels_hidden(S.MANUAL)
    nothing, _ = _incoming(point, None)
    moved, _ = _incoming(point, NEW_XY)
    says_hidden = point[s.HIDDEN].copy(data=np.ones(point[s.HIDDEN].shape, bool))
    assert bool(manual_conflicts(point, nothing, says_hidden).loc[CELL])
    assert not bool(manual_conflicts(hidden_mark, nothing, says_hidden).any())
    assert bool(manual_conflicts(hidden_mark, moved).loc[CELL])
    assert not bool(manual_conflicts(_labels(S.TRACKED), nothing, says_hidden).any())


def test_the_summary_counts_points_and_hidden_marks_apart() -> None:
    from pose3d.io.summary import summarize_labels
    from pose3d.labels import set_hidden

    labels = new_labels(3, ["cam0"], ["nose", "tail"], ["a"])
    labels = set_point(labels, 0, "cam0", "nose", "a", (1.0, 2.0))
    labels = set_hidden(labels, 1, "cam0", "nose", "a")
    labels = set_hidden(labels, 2, "cam0", "tail", "a", source=s.PointSource.TRACKED)
    text = summarize_labels(labels)
    assert "points: 1 manual;" in text  # a hidden mark is no point
    assert "2 hidden marks (1 manual)" in text
    # a long recording is counted a stretch of time at a time: the parts add up to the whole
    from pose3d.io.summary import LabelCounts

    counts = LabelCounts()
    for part in (labels.isel({s.TIME: slice(0, 1)}), labels.isel({s.TIME: slice(1, 3)})):
        counts.add(part)
    assert counts.describe() == text
    assert text.startswith("3 frames x 1 views x 2 keypoints x 1 individuals")
