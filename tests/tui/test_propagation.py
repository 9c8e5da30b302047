"""Propagation ranges (pure parts of the Label screen's propagate)."""

from __future__ import annotations

import pytest

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.tui.logic.propagation import (
    Direction,
    PropagateRequest,
    check_frames,
    manual_views,
    propagation_frames,
    what_it_replaces,
)


def test_ranges_by_direction() -> None:
    assert propagation_frames(Direction.FORWARD, 5, 0, 20) == (5, 20)
    assert propagation_frames(Direction.BACKWARD, 5, 0, 20) == (0, 6)
    assert propagation_frames(Direction.BOTH, 5, 0, 20) == (0, 20)
    with pytest.raises(Pose3dError, match="outside"):
        propagation_frames(Direction.BOTH, 20, 0, 20)
    assert check_frames(3, 9, 0, 20) == (3, 9)
    with pytest.raises(Pose3dError, match="outside the labels"):
        check_frames(9, 3, 0, 20)
    request = PropagateRequest(("cam0",), (0, 20), (7,))
    assert request.describe() == "re-track from frame 7 in cam0, frames 0-19"


def test_the_dialog_says_which_cameras_and_what_it_replaces() -> None:
    """Every camera with a manual label in the range is propagated; the tool's points there
    (tracked, reprojected) are replaced and counted; manual and imported labels are kept."""
    from pose3d.labels import new_labels

    labels = new_labels(10, ["cam0", "cam1", "cam2"], ["nose", "tail"], ["a"])
    source = labels[s.SOURCE].values  # (T, V, K, I)
    source[2, 0, 0, 0] = s.PointSource.MANUAL
    source[8, 2, 1, 0] = s.PointSource.MANUAL
    source[3:6, 0, :, 0] = s.PointSource.TRACKED
    source[6, 0, 0, 0] = s.PointSource.REPROJECTED
    source[4, 1, 0, 0] = s.PointSource.IMPORTED
    assert manual_views(labels, (0, 10)) == ("cam0", "cam2")
    assert manual_views(labels, (0, 5)) == ("cam0",)  # frame 8 is outside
    said = what_it_replaces(labels, ("cam0", "cam1"), (0, 10))
    assert said == (
        "replaces the 7 tracked points and marks of cam0, cam1, frames 0-9; keeps 1 manual "
        "and 1 imported labels"
    )
    assert what_it_replaces(labels, ("cam2",), (0, 10)).startswith("fills cam2, frames 0-9")
    assert "nothing to propagate" in what_it_replaces(labels, (), (0, 10))
    assert "the 1 imported points are not tracked from" in what_it_replaces(labels, (), (0, 10))
