"""Per-frame status for the timeline; the recent-sessions list."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pose3d import schema as s
from pose3d.labels import new_labels
from pose3d.tui.drawing.timeline import (
    FLAGGED,
    FrameStatus,
    binned,
    column_of,
    frame_at,
    frame_status,
)
from pose3d.tui.state.recent import add_recent, load_recent


def test_frame_status_orders_manual_imported_tracked_empty_and_keeps_the_flag_apart() -> None:
    labels = new_labels(6, ["a", "b"], ["k0", "k1"], ["i"])
    labels[s.SOURCE].values[1, 0, 0, 0] = s.PointSource.TRACKED
    labels[s.SOURCE].values[2, 1, 1, 0] = s.PointSource.MANUAL
    labels[s.SOURCE].values[2, 0, 0, 0] = s.PointSource.TRACKED
    labels[s.SOURCE].values[3, 1, 0, 0] = s.PointSource.TRACKED
    labels[s.REVIEW].values[3, 1, 0, 0] = True
    labels[s.SOURCE].values[5, 0, 1, 0] = s.PointSource.IMPORTED
    labels[s.SOURCE].values[5, 1, 1, 0] = s.PointSource.TRACKED
    assert frame_status(labels).tolist() == [
        FrameStatus.EMPTY,
        FrameStatus.TRACKED,
        FrameStatus.MANUAL,
        FrameStatus.TRACKED | FLAGGED,  # what the frame holds, and that it is flagged
        FrameStatus.EMPTY,
        FrameStatus.IMPORTED,  # a file's points are not shown as the tracker's
    ]
    assert frame_status(labels, ["a"]).tolist() == [0, 2, 2, 0, 0, 3]


def test_hidden_marks_show_as_hidden_unless_something_else_is_there() -> None:
    from pose3d.labels import set_hidden, set_point
    from pose3d.tui.drawing.timeline import keypoint_status

    labels = new_labels(4, ["a", "b"], ["k0", "k1"], ["i"])
    labels = set_hidden(labels, 1, "a", "k0", "i", s.PointSource.TRACKED)
    labels = set_hidden(labels, 2, "a", "k0", "i")  # a person's: a manual frame
    labels = set_hidden(labels, 3, "a", "k0", "i", s.PointSource.TRACKED)
    labels = set_point(labels, 3, "b", "k1", "i", (1.0, 1.0), s.PointSource.TRACKED)
    assert frame_status(labels).tolist() == [
        FrameStatus.EMPTY,
        FrameStatus.HIDDEN,
        FrameStatus.MANUAL,
        FrameStatus.TRACKED,
    ]
    assert keypoint_status(labels, "a", "k0", "i").tolist() == [0, 1, 4, 1]
    assert keypoint_status(labels, "b", "k1", "i").tolist() == [0, 0, 0, 2]


def test_binning_keeps_the_highest_kind_and_any_flag_and_columns_map_back() -> None:
    status = np.array([0, 0, 3, 0, 1, 0, 2, 0], np.int8)
    assert binned(status, 4).tolist() == [0, 3, 1, 2]
    assert binned(status, 16).tolist()[4:6] == [3, 3]
    flagged = np.array([4, 2 | FLAGGED, 1, 0], np.int8)
    assert binned(flagged, 2).tolist() == [4 | FLAGGED, 1]
    assert frame_at(0, 80, 1000) == 0 and frame_at(79, 80, 1000) == 999
    for frame in (0, 17, 500, 999):
        assert abs(frame_at(column_of(frame, 80, 1000), 80, 1000) - frame) <= 1000 / 79


def test_recent_sessions_most_recent_first(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "recent.json"
    assert load_recent(path) == []
    add_recent(tmp_path / "a", path)
    add_recent(tmp_path / "b", path)
    add_recent(tmp_path / "a", path)
    assert load_recent(path) == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]
    path.write_text("not json")
    assert load_recent(path) == []
