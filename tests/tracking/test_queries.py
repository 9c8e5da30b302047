"""Manual anchors -> queries and gaps: each gap between anchors is filled from both of them."""

from __future__ import annotations

import numpy as np

from pose3d.tracking.queries import NONE, Series, manual_series, plan, window


def series(*frames: int, hidden: tuple[int, ...] = ()) -> Series:
    xy = np.array([[float(f), 2.0 * f] for f in frames])
    xy[[frames.index(h) for h in hidden]] = np.nan
    return Series(keypoint=1, individual=0, frames=np.array(frames, np.int64), xy=xy)


def test_gaps_cover_the_range_once_and_skip_anchor_frames() -> None:
    gaps = plan([series(3, 10)], 0, 20)
    assert [(g.before, g.after) for g in gaps] == [(NONE, 0), (0, 1), (1, NONE)]
    assert [g.frames.tolist() for g in gaps] == [[0, 1, 2], [4, 5, 6, 7, 8, 9], list(range(11, 20))]
    # both anchors fill the frames between them; the ends are filled by one
    assert [g.queries() for g in gaps] == [[0], [0, 1], [1]]


def test_retracking_from_a_correction_fills_only_the_gaps_next_to_it() -> None:
    gaps = plan([series(0, 20, 30)], 0, 40, from_frames=[20])
    assert [(g.before, g.after) for g in gaps] == [(0, 1), (1, 2)]
    assert np.concatenate([g.frames for g in gaps]).tolist() == [*range(1, 20), *range(21, 30)]
    assert window(gaps, 0, 40) == (0, 31)  # both neighbours are tracked, for the blend


def test_a_hidden_anchor_is_no_query_and_hands_over_to_the_last_point_before_it() -> None:
    gaps = plan([series(0, 10, 20, hidden=(10,))], 0, 30)
    between = {(g.before, g.after): g for g in gaps}
    assert between[(0, 1)].queries() == [0]  # forward from 0 only, hidden at 10
    assert between[(1, 2)].carrier == 0  # after the mark: re-appearance judged on 0's track
    assert sorted(between[(1, 2)].queries()) == [0, 2]
    assert window([between[(0, 1)]], 0, 30) == (0, 11)  # and the mark: how the track looks there


def test_the_frames_before_a_first_anchor_that_is_hidden_are_a_gap_without_a_query() -> None:
    """They are filled (hidden: no track reaches them), so an older fill's points there go."""
    gaps = plan([series(5, 9, hidden=(5, 9))], 0, 12)
    assert [(g.before, g.after) for g in gaps] == [(NONE, 0), (0, 1), (1, NONE)]
    assert gaps[0].frames.tolist() == [0, 1, 2, 3, 4]
    assert all(g.queries() == [] for g in gaps)  # all hidden: nothing to track
    assert window(gaps, 0, 12) == (0, 12)
    again = plan([series(5, 9, 20, hidden=(5,))], 0, 30, from_frames=[5])
    assert [(g.before, g.after) for g in again] == [(NONE, 0), (0, 1)]


def test_manual_series_reads_manual_points_and_marks_only() -> None:
    position = np.full((5, 2, 3, 1), np.nan)  # (T, xy, K, I)
    manual = np.zeros((5, 3, 1), bool)
    hidden = np.zeros((5, 3, 1), bool)
    position[1, :, 0, 0] = (4.0, 5.0)
    manual[1, 0, 0] = True
    position[2, :, 1, 0] = (1.0, 1.0)  # a point that is not manual (e.g. tracked)
    manual[3, 2, 0] = hidden[3, 2, 0] = True  # a person's hidden mark
    hidden[4, 1, 0] = True  # the tracker's hidden mark: not an anchor
    found = manual_series(position, manual, first_frame=100, hidden=hidden)
    assert [(f.keypoint, f.frames.tolist()) for f in found] == [(0, [101]), (2, [103])]
    assert found[0].xy.tolist() == [[4.0, 5.0]]
    assert found[1].hidden.tolist() == [True]
    assert window(plan(found, 100, 105, from_frames=[7]), 100, 105) is None
