"""Filling a gap between anchors (pose3d.tracking.fill): the blend of the two tracks and the
hidden stretches a hidden anchor implies, on analytic tracks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pose3d.tracking.fill import BEFORE_MAX, MARGIN, RUN, Track, fill_gap

FRAMES = np.arange(1, 10)  # anchors at frames 0 and 10


def still(x: float, visibility: float | list[float] = 1.0, confidence: float = 1.0) -> Track:
    n = len(FRAMES)
    xy = np.column_stack([np.full(n, x), np.zeros(n)])
    seen = np.broadcast_to(np.asarray(visibility, float), n).copy()
    return Track(xy, seen, np.full(n, confidence))


def test_two_tracks_blend_towards_the_nearer_anchor() -> None:
    done = fill_gap(FRAMES, (0, 10), (False, False), still(0.0), still(10.0))
    np.testing.assert_allclose(done.xy[:, 0], FRAMES)  # weights (10 - t) / 10 and t / 10
    np.testing.assert_allclose(done.fb_error, 10.0)
    assert not done.hidden.any()


def test_a_track_that_lost_confidence_yields_to_the_other() -> None:
    done = fill_gap(FRAMES, (0, 10), (False, False), still(0.0, confidence=0.0), still(10.0))
    np.testing.assert_allclose(done.xy[:, 0], 10.0, atol=1e-4)
    np.testing.assert_allclose(done.confidence, 1.0, atol=1e-4)


def test_a_hidden_anchor_after_hides_the_frames_the_track_already_lost() -> None:
    visibility = [1.0] * 5 + [0.05] * 4  # the point went behind something at frame 6
    done = fill_gap(FRAMES, (0, 10), (False, True), still(3.0, visibility), None)
    assert done.hidden.tolist() == [False] * 5 + [True] * 4
    np.testing.assert_allclose(done.xy[:5, 0], 3.0)
    assert np.isnan(done.xy[5:]).all() and (done.confidence[5:] == 0).all()


def test_before_a_hidden_anchor_the_bar_is_what_the_track_showed_there() -> None:
    """The track slid onto what hides the point and still looks alike (0.65 at the person's
    mark): the trailing frames below 0.65 + MARGIN are hidden, those that looked clearly
    better are kept. The bar goes no higher than BEFORE_MAX (a mark where the track looked
    like the point at 0.85). Without the mark's visibility the bar is VISIBLE: all are kept."""
    visibility = [1.0] * 4 + [0.95, 0.88, 0.8, 0.75, 0.7]
    track = replace(still(3.0, visibility), at_next=0.65)
    done = fill_gap(FRAMES, (0, 10), (False, True), track, None)
    assert done.hidden.tolist() == [False] * 6 + [True] * 3
    assert MARGIN == 0.2 and BEFORE_MAX == 0.9
    done = fill_gap(FRAMES, (0, 10), (False, True), replace(track, at_next=0.85), None)
    assert done.hidden.tolist() == [False] * 5 + [True] * 4
    done = fill_gap(FRAMES, (0, 10), (False, True), still(3.0, visibility), None)
    assert not done.hidden.any()


def test_after_a_hidden_anchor_the_point_is_hidden_until_it_reappears() -> None:
    carrier = still(7.0, [0.0, 0.9, 0.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])  # one bright frame: no
    done = fill_gap(FRAMES, (0, None), (True, False), None, None, carrier)
    assert done.hidden.tolist() == [True] * 3 + [False] * 6  # RUN frames in a row: back
    np.testing.assert_allclose(done.xy[3:, 0], 7.0)
    assert RUN == 3


def test_going_back_from_a_point_after_a_hidden_anchor() -> None:
    visibility = [0.9, 0.0, 0.0, 0.0, 0.9, 0.1, 0.9, 0.9, 0.9]  # a dip of 1 frame is noise
    done = fill_gap(FRAMES, (0, 10), (True, False), None, still(4.0, visibility))
    assert done.hidden.tolist() == [True] * 4 + [False] * 5
    np.testing.assert_allclose(done.xy[4:, 0], 4.0)


def test_between_two_hidden_marks_without_a_point_before_all_is_hidden() -> None:
    done = fill_gap(FRAMES, (0, 10), (True, True), None, None)
    assert done.hidden.all() and np.isnan(done.xy).all()


def test_a_track_outside_the_image_is_hidden_there() -> None:
    track = still(2.0)
    track.xy[2:4] = np.nan  # left the image
    done = fill_gap(FRAMES, (0, None), (False, False), track, None)
    assert done.hidden.tolist() == [False, False, True, True, False, False, False, False, False]


def test_a_gap_open_on_one_side_is_hidden_once_the_track_lost_the_point() -> None:
    """After the last anchor, the forward track is believed until its first RUN frames in a
    row below VISIBLE (one dark frame is noise); before the first anchor, the backward track
    likewise, going back. Nothing on the open side could confirm the point again."""
    visibility = [0.9, 0.1, 0.9, 0.9, 0.1, 0.1, 0.1, 0.9, 0.9]  # lost at 5, "back" at 8
    done = fill_gap(FRAMES, (0, None), (False, False), still(3.0, visibility), None)
    assert done.hidden.tolist() == [False] * 4 + [True] * 5
    done = fill_gap(FRAMES, (None, 10), (False, False), None, still(3.0, visibility[::-1]))
    assert done.hidden.tolist() == [True] * 5 + [False] * 4
