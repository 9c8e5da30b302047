"""The review tour: worst first, each run once, a run over frames just corrected deferred."""

from __future__ import annotations

from pose3d import schema as s
from pose3d.tracking.review import ReviewItem
from pose3d.tracking.tour import ReviewTour


def _item(frame: int, score: float, last: int = -1, keypoint: str = "nose") -> ReviewItem:
    return ReviewItem(frame, "cam0", keypoint, "a", score, s.ReviewReason.JUMP, last_frame=last)


def test_the_tour_goes_worst_first_and_starts_over() -> None:
    queue = [_item(8, 3.0), _item(2, 2.0), _item(5, 1.5)]
    tour = ReviewTour()
    order = [getattr(tour.take(queue), "frame", None) for _ in range(4)]
    assert order == [8, 2, 5, 8]
    # a corrected run leaves the queue: the tour goes on with the next worst
    tour = ReviewTour()
    tour.visit(queue[0])
    assert tour.take(queue[1:]) == queue[1]
    assert tour.left(queue) == 1
    assert tour.take([]) is None


def test_a_run_over_frames_already_visited_waits_for_the_others() -> None:
    tour = ReviewTour()
    first = tour.take([_item(10, 5.0, last=30), _item(50, 1.2, keypoint="ear")])
    assert first is not None and first.frame == 10
    # the correction at the run's worst frame split it; its halves are still flagged, worse
    # than the ear's run, but over the frames the person has just looked at
    after = [_item(12, 4.0, last=18), _item(24, 3.0, last=30), _item(50, 1.2, keypoint="ear")]
    assert [tour.take(after).frame for _ in range(3)] == [50, 12, 24]  # type: ignore[union-attr]
    # the same keypoint elsewhere in the clip, or in another view, is not deferred
    tour = ReviewTour()
    tour.visit(_item(10, 5.0, last=30))
    later = _item(31, 2.0, last=40)
    other_view = ReviewItem(10, "cam1", "nose", "a", 3.0, s.ReviewReason.JUMP, last_frame=30)
    assert tour.next([other_view, later, _item(0, 1.1, keypoint="ear")]) == other_view
    assert tour.next([later, _item(0, 1.1, keypoint="ear")]) == later
    assert tour.next([_item(12, 9.0, last=12)]) == _item(12, 9.0, last=12)  # deferred, not gone
