"""The review tour: which run of the review queue a person looks at next.

The queue (pose3d.tracking.review.review_queue) is worst first. The tour walks it and
remembers the runs it sent the person to, by their first frame, view, keypoint and individual,
and the frames each covered. A correction re-tracks the keypoint, which splits or shifts its
run: the flags left around the corrected frame are new runs (new first frames) of the same
keypoint, over frames the person has just looked at. Such a run, overlapping a visited run of
the same keypoint in the same view, waits until every other run was visited (it is not
dropped: the person is sent there once the rest of the queue is done), so that the next run
after a correction is another keypoint's or another stretch's, not the same one again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pose3d.tracking.review import ReviewItem

RunKey = tuple[int, str, str, str]  # first frame, view, keypoint, individual
CellKey = tuple[str, str, str]  # view, keypoint, individual


def run_key(item: ReviewItem) -> RunKey:
    return item.frame, item.view, item.keypoint, item.individual


@dataclass
class ReviewTour:
    """The runs visited so far (module docstring): each run's key and the frames it covered."""

    visited: dict[RunKey, tuple[int, int]] = field(default_factory=dict)

    def next(self, queue: Sequence[ReviewItem]) -> ReviewItem | None:
        """The worst run of ``queue`` not visited yet, runs overlapping a visited run of their
        keypoint after all the others; None when every run was visited."""
        spans: dict[CellKey, list[tuple[int, int]]] = {}
        for (_, *cell), span in self.visited.items():
            spans.setdefault((cell[0], cell[1], cell[2]), []).append(span)
        deferred = None
        for item in queue:
            if run_key(item) in self.visited:
                continue
            seen = spans.get((item.view, item.keypoint, item.individual), ())
            if not any(a <= item.last_frame and item.frame <= b for a, b in seen):
                return item
            deferred = deferred or item
        return deferred

    def visit(self, item: ReviewItem) -> None:
        """Remember that the person was sent to ``item``."""
        self.visited[run_key(item)] = (item.frame, item.last_frame)

    def left(self, queue: Sequence[ReviewItem]) -> int:
        """How many runs of ``queue`` were not visited yet."""
        return sum(run_key(item) not in self.visited for item in queue)

    def take(self, queue: Sequence[ReviewItem]) -> ReviewItem | None:
        """:meth:`next`, visited; when every run of ``queue`` was visited, the tour starts
        again from the worst (None when nothing is flagged)."""
        item = self.next(queue)
        if item is None and queue:
            self.visited.clear()
            item = queue[0]
        if item is not None:
            self.visit(item)
        return item
