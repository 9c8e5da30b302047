"""Propagation ranges and the review tour (pure parts of the Label screen's propagate)."""

from __future__ import annotations

import pytest

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.tracking.review import ReviewItem
from pose3d.tui.logic.propagation import (
    Direction,
    PropagateRequest,
    check_frames,
    item_key,
    next_review,
    propagation_frames,
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


def _item(frame: int, score: float) -> ReviewItem:
    return ReviewItem(frame, "cam0", "nose", "a", score, s.ReviewReason.JUMP)


def test_review_tour_goes_worst_first_and_starts_over() -> None:
    queue = [_item(8, 3.0), _item(2, 2.0), _item(5, 1.5)]
    visited: set = set()
    order = []
    for _ in range(4):
        item, visited = next_review(queue, visited)
        assert item is not None
        order.append(item.frame)
    assert order == [8, 2, 5, 8]
    # a corrected run leaves the queue: the tour goes on with the next worst
    item, visited = next_review(queue[1:], {item_key(queue[0])})
    assert item is not None and item.frame == 2
    assert next_review([], visited) == (None, set())
