"""Manual points -> queries: each manual frame governs the frames nearest to it."""

from __future__ import annotations

import numpy as np

from pose3d.tracking.queries import Series, governing, manual_series, plan, window


def series(*frames: int) -> Series:
    xy = np.array([[float(f), 2.0 * f] for f in frames])
    return Series(keypoint=1, individual=0, frames=np.array(frames, np.int64), xy=xy)


def test_nearest_manual_frame_governs_ties_go_to_the_earlier() -> None:
    owner = governing(np.array([0, 10, 13]), np.arange(16))
    assert owner.tolist() == [0] * 6 + [1] * 6 + [2] * 4  # 5 -> 0 (tie), 12 -> 2 (midpoint 11.5)


def test_plan_covers_the_range_once_and_skips_manual_frames() -> None:
    governed = plan([series(3, 10)], 0, 20)
    assert [g.query for g in governed] == [0, 1]
    first, second = governed
    assert first.frames.tolist() == [0, 1, 2, 4, 5, 6]
    assert second.frames.tolist() == [7, 8, 9, *range(11, 20)]
    # the other side: frames after 3 are also reached backward from 10, and 7-9 forward from 3
    assert first.other.tolist() == [-1, -1, -1, 1, 1, 1]
    assert second.other.tolist() == [0, 0, 0] + [-1] * 9


def test_retracking_from_a_correction_writes_only_its_frames() -> None:
    governed = plan([series(0, 20, 30)], 0, 40, from_frames=[20])
    assert len(governed) == 1
    assert governed[0].frames.tolist() == [*range(11, 20), *range(21, 26)]
    assert window(governed, 0, 40) == (0, 31)  # both neighbours, for the disagreement


def test_manual_series_reads_manual_points_only() -> None:
    position = np.full((5, 2, 2, 1), np.nan)  # (T, xy, K, I)
    manual = np.zeros((5, 2, 1), bool)
    position[1, :, 0, 0] = (4.0, 5.0)
    manual[1, 0, 0] = True
    position[2, :, 1, 0] = (1.0, 1.0)  # a point that is not manual (e.g. tracked)
    found = manual_series(position, manual, first_frame=100)
    assert len(found) == 1
    assert found[0].keypoint == 0 and found[0].frames.tolist() == [101]
    assert found[0].xy.tolist() == [[4.0, 5.0]]
    assert window(plan(found, 100, 105, from_frames=[7]), 100, 105) is None
