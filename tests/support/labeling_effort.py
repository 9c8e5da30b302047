"""The simulated annotator of benchmarks/labeling_effort.py: how many hand actions a person needs
to get every keypoint of a recording right with pose3d, against labelling every frame by hand.

It uses only what a person has (the pictures' truth stands for the person's eyes), and counts
one action per point placed, per hidden mark and per point deleted:

1. **Seed.** On the first frame of the range, in every view, click every keypoint the truth
   says is visible (one action each, source MANUAL).
2. **Propagate** those points over the range with the given tracker in every view
   (pose3d.tracking.propagate.propagate_labels, what ``pose3d track --view all`` and the TUI's
   ``t`` run), flags included (multi-view when the session has a calibration).
3. **Walk the review queue in the project's order**: the worst run not visited yet
   (pose3d.tracking.review.review_queue, taken as the TUI's ``f`` key takes it:
   pose3d.tracking.tour.ReviewTour, which sends the person to a run overlapping a visited one
   of the same keypoint in the same view only after every other run). At the run's image (its
   worst frame, its view) fix *every* point of that image: where the truth is visible and the
   point is missing or more than ``tolerance_px`` (5 px) off, place it at the truth (one
   action, source MANUAL); where the truth is hidden and a point is there, mark the keypoint
   hidden there (one action; a manual hidden mark, pose3d.labels.set_hidden), or, with
   ``hide=False`` (the protocol before hidden marks existed), delete the point. A point within
   5 px is left alone (there is no "accept" action).
4. **Re-track as the TUI does after a correction** (its ``r`` key): when something was placed
   or marked hidden on the image, re-track that view over the range from that frame's anchors
   (``from_frames=(frame,)``; the flags of every view are recomputed): a hidden mark is an
   anchor, which hides the keypoint until the tracker sees it again. An image with only
   deletions is not re-tracked: a deletion is no anchor.
   Variant (``follow_runs``): where the run's worst image needs nothing, the person steps
   through the run's frames (the TUI names them) to the first image that does, fixes it and
   re-tracks; each image looked at is a visit.
5. **Stop** when every run of the queue has been visited. The person remembers what was seen:
   a run already visited (same first frame, view, keypoint, individual) is not visited again,
   and neither is a run on an image checked before whose points have not changed since (it is
   skipped without a visit). A cap on the visits makes every walk end; ``capped`` says when it
   was hit.

The comparison **scan every k-th frame**: after the same seed and propagation, the person
looks at every k-th frame of the range (first + k, first + 2k, ...) in every view, fixes that
image as in 3. and re-tracks as in 4.

Truth: ``position (T, V, 2, K, I)`` and ``visible (T, V, K, I)`` on the labels' grid. A
synthetic session's truth/labels.nc says where points are hidden; for proofread labels without
a hidden state (SLEAP analysis files, DeepLabCut), NaN = hidden or unlabelled, both read as
"not visible": the person deletes a point there and places none.

Everything works on labels in memory (as the TUI's workspace does); nothing is written to the
session. The report counts the actions and the final state against the truth over the range
and views (see :class:`Effort`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.labels import new_labels, set_hidden, set_point
from pose3d.session import ViewVideo
from pose3d.tracking.base import PointTracker
from pose3d.tracking.propagate import propagate_labels
from pose3d.tracking.review import ReviewItem, review_queue
from pose3d.tracking.tour import ReviewTour

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Point = tuple[float, float]

TOLERANCE_PX = 5.0  # a point further than this from the truth is wrong
CLOSE_PX = 3.0  # the tighter share reported


@dataclass(frozen=True)
class Truth:
    """Where each keypoint is and whether a person sees it, on the labels' grid."""

    position: FloatArray  # (T, V, 2, K, I) px; NaN where unknown
    visible: BoolArray  # (T, V, K, I)
    time: NDArray[np.int64]  # (T,) session frames
    views: tuple[str, ...]
    keypoints: tuple[str, ...]
    individuals: tuple[str, ...]

    def __post_init__(self) -> None:
        t, v, two, k, i = self.position.shape
        if two != 2 or self.visible.shape != (t, v, k, i):
            raise Pose3dError(
                f"truth position must be (T, V, 2, K, I) and visible (T, V, K, I); got "
                f"{self.position.shape} and {self.visible.shape}"
            )
        if not np.all(np.diff(self.time) == 1):
            raise Pose3dError("the truth's time must count every session frame (0, 1, 2, ...)")
        known = np.isfinite(self.position).all(axis=2)
        if (self.visible & ~known).any():
            raise Pose3dError("the truth says a point is visible where its position is NaN")


def truth_from_labels(ds: xr.Dataset) -> Truth:
    """A labels.nc-layout dataset as the truth: its ``visible`` variable (pose3d's synthetic
    truth) where it has one, else visible = the position is finite (NaN = hidden or unlabelled,
    as proofread SLEAP / DeepLabCut labels have it)."""
    position = np.asarray(ds[s.POSITION].transpose(*s.LABEL_DIMS[s.POSITION]).values, float)
    known = np.isfinite(position).all(axis=2)
    if "visible" in ds.data_vars:
        visible = np.asarray(ds["visible"].transpose(*s.LABEL_DIMS[s.SOURCE]).values, bool)
        visible &= known
    else:
        visible = known
    return Truth(
        position,
        visible,
        np.asarray(ds[s.TIME].values, np.int64),
        tuple(str(v) for v in ds[s.VIEW].values),
        tuple(str(k) for k in ds[s.KEYPOINT].values),
        tuple(str(i) for i in ds[s.INDIVIDUAL].values),
    )


@dataclass(frozen=True)
class Action:
    """One hand action: ``kind`` "seed", "place", "hide" or "delete" of one cell."""

    kind: str
    frame: int
    view: str
    keypoint: str
    individual: str
    before: Point | None  # the point there before (None: none)
    after: Point | None  # the point there after (None: deleted)


@dataclass(frozen=True)
class Effort:
    """What the annotator did and where it ended, over the range and views it worked on."""

    mode: str  # "queue" or "scan k=K"
    frames: tuple[int, int]  # session frames [start, stop)
    views: tuple[str, ...]
    images: int  # frames x views of the range
    baseline: int  # frame-by-frame: truly visible points (one click each)
    seed: int
    placed: int  # placements after the seed (moved + missing)
    placed_moved: int  # a point was there, > 5 px off
    placed_missing: int  # no point was there (never seeded, lost, or deleted earlier)
    deleted: int
    redeleted: int  # deletions (or hidden marks) of a cell the person had deleted / marked before
    hidden: int  # hidden marks placed (the person says "not visible here")
    actions: int  # seed + placed + deleted + hidden
    ratio: float  # baseline / actions
    visits: int  # images looked at
    visits_nothing_to_fix: int
    skipped_unchanged: int  # queue runs on an image checked before and unchanged since
    capped: bool  # the visit cap stopped the walk
    retracks: int
    retracks_failed: int
    within_3px: float  # share of truly visible points within 3 px at the end
    within_5px: float
    left_hidden: int  # points at the end where the truth is not visible
    left_hidden_share: float  # of the points present at the end
    missing_visible: int  # truly visible points without a point at the end
    wrong_at_end: int  # points > 5 px off at the end (truth visible)
    wrong_at_end_unflagged: int  # of those, not flagged for review
    initial_wrong: int  # after the first propagation: tracked points > 5 px off
    initial_wrong_flagged: int
    initial_hidden_tracked: int  # after the first propagation: tracked where truth hidden
    initial_hidden_flagged: int
    wall_s: float
    cpu_s: float
    log: tuple[Action, ...] = field(repr=False, default=())
    # per reason of the run visited (queue walks): [visits, of them with nothing to fix]
    visits_by_reason: dict[str, list[int]] = field(default_factory=dict)
    retrack_fixed: int = 0  # cells a re-track made right (within 5 px, or no point where hidden)
    retrack_broke: int = 0  # cells a re-track made wrong that were right before it
    initial_missing: int = 0  # after the first propagation: the tracker hid a visible point
    initial_missing_flagged: int = 0

    def summary(self) -> dict[str, object]:
        """The figures without the action log (for JSON)."""
        out = {k: v for k, v in self.__dict__.items() if k != "log"}
        out["frames"] = list(self.frames)
        out["views"] = list(self.views)
        return out


class Annotator:
    """The simulated person (module docstring) working on in-memory labels of a session."""

    def __init__(
        self,
        truth: Truth,
        videos: Mapping[str, ViewVideo],
        cameras: CameraGroup | None,
        tracker: PointTracker,
        *,
        views: Sequence[str] | None = None,
        frames: tuple[int, int] | None = None,
        tolerance_px: float = TOLERANCE_PX,
        hide: bool = True,
        second: PointTracker | None = None,
    ) -> None:
        self.truth = truth
        self.videos = videos
        self.cameras = cameras
        self.tracker = tracker
        self.second = second  # a second tracker's opinion, on every propagation and re-track
        self.views = tuple(views) if views is not None else truth.views
        unknown = [v for v in self.views if v not in truth.views or v not in videos]
        if unknown:
            raise Pose3dError(
                f"view(s) {', '.join(unknown)} are not in both the truth and the session; "
                f"the truth has {', '.join(truth.views)}, the session {', '.join(videos)}"
            )
        first, end = int(truth.time[0]), int(truth.time[-1]) + 1
        self.span = frames if frames is not None else (first, end)
        if not first <= self.span[0] < self.span[1] <= end:
            raise Pose3dError(
                f"frames {self.span[0]}:{self.span[1]} are outside the truth's {first}:{end}"
            )
        self.tolerance_px = tolerance_px
        self.hide = hide
        self.labels = new_labels(len(truth.time), truth.views, truth.keypoints, truth.individuals)
        self.labels = self.labels.assign_coords({s.TIME: truth.time})
        self._rows = slice(self.span[0] - first, self.span[1] - first)
        self._view_index = [truth.views.index(v) for v in self.views]
        self.log: list[Action] = []
        self._deleted: set[tuple[int, int, int, int]] = set()
        self.tour = ReviewTour()  # the queue's runs seen (the TUI's tour)
        self._checked: dict[tuple[int, int], FloatArray] = {}  # image -> its points when seen
        self.counts = dict.fromkeys(
            ("placed_moved", "placed_missing", "deleted", "redeleted", "hidden", "visits",
             "visits_nothing_to_fix", "skipped_unchanged", "retracks", "retracks_failed"),
            0,
        )  # fmt: skip
        self.capped = False
        self.initial: dict[str, int] = {}
        self.by_reason: dict[str, list[int]] = {}
        self.retrack_effect = [0, 0]  # cells fixed, cells broken by re-tracks

    # --- the protocol ------------------------------------------------------------------------

    def seed(self) -> None:
        """Click every visible keypoint of the range's first frame in every view."""
        t = self._rows.start
        for v in self._view_index:
            for k, i in zip(*np.nonzero(self.truth.visible[t, v]), strict=True):
                self._place("seed", t, v, int(k), int(i))

    def propagate(self) -> None:
        """Track the manual points through the range in every view (``pose3d track``)."""
        self.labels, _ = propagate_labels(
            self.labels, self.videos, self.cameras, self.tracker,
            views=self.views, frames=self.span, second=self.second,
        )  # fmt: skip
        self.initial = self._initial_flags()

    def walk_queue(self, max_visits: int, follow_runs: bool = False) -> None:
        """Visit the worst unvisited run of the review queue, fix its image, re-track, until
        every run was visited (or ``max_visits`` images were looked at). The run's image is its
        worst frame (where the TUI's ``f`` goes). ``follow_runs``: where that image needs
        nothing, step through the run's frames from its first to the first image that does
        (each image one visit)."""
        while True:
            item = self._next_item()
            if item is None:
                return
            self.tour.visit(item)
            t = item.worst_frame - int(self.truth.time[0])
            v = self.truth.views.index(item.view)
            if self._unchanged_since_checked(t, v):
                self.counts["skipped_unchanged"] += 1
                continue
            if self.counts["visits"] >= max_visits:
                self.capped = True
                return
            fixed = self.visit(t, v)
            tally = self.by_reason.setdefault(item.reason.name.lower(), [0, 0])
            tally[0] += 1
            tally[1] += not fixed
            start = item.frame - int(self.truth.time[0])
            for later in range(start, start + item.frames if follow_runs else start):
                if later == t:
                    continue
                if fixed:
                    break
                if self.counts["visits"] >= max_visits:
                    self.capped = True
                    return
                fixed = self.visit(later, v)

    def scan(self, every: int) -> None:
        """Look at every ``every``-th frame after the first of the range, in every view."""
        if every < 1:
            raise Pose3dError(f"scan every k-th frame needs k >= 1, got {every}")
        for t in range(self._rows.start + every, self._rows.stop, every):
            for v in self._view_index:
                self.visit(t, v)

    def visit(self, t: int, v: int) -> bool:
        """Look at one image (labels row ``t``, view index ``v``): fix every point, re-track
        from it when something was placed; True when something was fixed."""
        self.counts["visits"] += 1
        placed, deleted = self._fix_image(t, v)
        if not placed and not deleted:
            self.counts["visits_nothing_to_fix"] += 1
        if placed or (deleted and self.hide):  # hidden marks are anchors too
            self._retrack(t, v)
        self._checked[(t, v)] = self._image(t, v)
        return bool(placed or deleted)

    # --- the report --------------------------------------------------------------------------

    def effort(self, mode: str, wall_s: float, cpu_s: float) -> Effort:
        truth, rows, vi = self.truth, self._rows, self._view_index
        visible = truth.visible[rows][:, vi]
        error = self._error()[rows][:, vi]
        present = np.isfinite(self.labels[s.POSITION].values).all(axis=2)[rows][:, vi]
        flagged = self.labels[s.REVIEW].values[rows][:, vi]
        baseline = int(visible.sum())
        wrong = visible & present & (error > self.tolerance_px)
        left = present & ~visible
        c = self.counts
        seed = sum(a.kind == "seed" for a in self.log)
        placed = c["placed_moved"] + c["placed_missing"]
        actions = seed + placed + c["deleted"] + c["hidden"]
        return Effort(
            mode=mode,
            frames=self.span,
            views=self.views,
            images=(self.span[1] - self.span[0]) * len(self.views),
            baseline=baseline,
            seed=seed,
            placed=placed,
            placed_moved=c["placed_moved"],
            placed_missing=c["placed_missing"],
            deleted=c["deleted"],
            redeleted=c["redeleted"],
            hidden=c["hidden"],
            actions=actions,
            ratio=baseline / actions if actions else float("inf"),
            visits=c["visits"],
            visits_nothing_to_fix=c["visits_nothing_to_fix"],
            skipped_unchanged=c["skipped_unchanged"],
            capped=self.capped,
            retracks=c["retracks"],
            retracks_failed=c["retracks_failed"],
            within_3px=_share(visible & (np.nan_to_num(error, nan=np.inf) <= CLOSE_PX), baseline),
            within_5px=_share(
                visible & (np.nan_to_num(error, nan=np.inf) <= self.tolerance_px), baseline
            ),
            left_hidden=int(left.sum()),
            left_hidden_share=_share(left, int(present.sum())),
            missing_visible=int((visible & ~present).sum()),
            wrong_at_end=int(wrong.sum()),
            wrong_at_end_unflagged=int((wrong & ~flagged).sum()),
            initial_wrong=self.initial.get("wrong", 0),
            initial_wrong_flagged=self.initial.get("wrong_flagged", 0),
            initial_hidden_tracked=self.initial.get("hidden", 0),
            initial_hidden_flagged=self.initial.get("hidden_flagged", 0),
            wall_s=wall_s,
            cpu_s=cpu_s,
            log=tuple(self.log),
            visits_by_reason={k: list(v) for k, v in sorted(self.by_reason.items())},
            retrack_fixed=self.retrack_effect[0],
            retrack_broke=self.retrack_effect[1],
            initial_missing=self.initial.get("missing", 0),
            initial_missing_flagged=self.initial.get("missing_flagged", 0),
        )

    # --- internals ---------------------------------------------------------------------------

    def _next_item(self) -> ReviewItem | None:
        """The TUI's next run (pose3d.tracking.tour.ReviewTour.next, without the restart of
        its ``take``) among the runs of the range's views."""
        queue = [
            item
            for item in review_queue(self.labels)
            if item.view in self.views and self.span[0] <= item.frame < self.span[1]
        ]
        return self.tour.next(queue)

    def _fix_image(self, t: int, v: int) -> tuple[int, int]:
        truth = self.truth
        placed = deleted = 0
        position = self.labels[s.POSITION].values[t, v]  # (2, K, I)
        for k in range(len(truth.keypoints)):
            for i in range(len(truth.individuals)):
                here = position[:, k, i]
                has = bool(np.isfinite(here).all())
                if truth.visible[t, v, k, i]:
                    off = np.hypot(*(here - truth.position[t, v, :, k, i])) if has else np.inf
                    if off > self.tolerance_px:
                        self._place("place", t, v, k, i)
                        placed += 1
                elif has:
                    (self._hide if self.hide else self._delete)(t, v, k, i)
                    deleted += 1
        return placed, deleted

    def _place(self, kind: str, t: int, v: int, k: int, i: int) -> None:
        before = self._point(t, v, k, i)
        xy = self.truth.position[t, v, :, k, i]
        set_point(self.labels, *self._names(t, v, k, i), (float(xy[0]), float(xy[1])),
                  inplace=True)  # fmt: skip
        if kind == "place":
            self.counts["placed_missing" if before is None else "placed_moved"] += 1
        self.log.append(Action(kind, *self._names(t, v, k, i), before, self._point(t, v, k, i)))

    def _delete(self, t: int, v: int, k: int, i: int) -> None:
        before = self._point(t, v, k, i)
        set_point(self.labels, *self._names(t, v, k, i), None, inplace=True)
        self.counts["deleted"] += 1
        if (t, v, k, i) in self._deleted:
            self.counts["redeleted"] += 1
        self._deleted.add((t, v, k, i))
        self.log.append(Action("delete", *self._names(t, v, k, i), before, None))

    def _hide(self, t: int, v: int, k: int, i: int) -> None:
        before = self._point(t, v, k, i)
        set_hidden(self.labels, *self._names(t, v, k, i), inplace=True)
        self.counts["hidden"] += 1
        if (t, v, k, i) in self._deleted:
            self.counts["redeleted"] += 1
        self._deleted.add((t, v, k, i))
        self.log.append(Action("hide", *self._names(t, v, k, i), before, None))

    def _retrack(self, t: int, v: int) -> None:
        """The TUI's ``r``: this view, the whole range, from this frame's manual points."""
        self.counts["retracks"] += 1
        frame = int(self.truth.time[t])
        before = self._right()
        try:
            self.labels, _ = propagate_labels(
                self.labels, self.videos, self.cameras, self.tracker,
                views=(self.truth.views[v],), frames=self.span, from_frames=(frame,),
                second=self.second,
            )  # fmt: skip
        except Pose3dError:
            self.counts["retracks_failed"] += 1
        after = self._right()
        self.retrack_effect[0] += int((after & ~before).sum())
        self.retrack_effect[1] += int((before & ~after).sum())

    def _right(self) -> BoolArray:
        """(T, V, K, I) over the range and views: a point within tolerance where the truth is
        visible, no point where it is hidden."""
        rows, vi = self._rows, self._view_index
        present = np.isfinite(self.labels[s.POSITION].values).all(axis=2)[rows][:, vi]
        visible = self.truth.visible[rows][:, vi]
        close = np.nan_to_num(self._error()[rows][:, vi], nan=np.inf) <= self.tolerance_px
        return np.asarray((visible & close) | (~visible & ~present))

    def _unchanged_since_checked(self, t: int, v: int) -> bool:
        seen = self._checked.get((t, v))
        return seen is not None and np.array_equal(seen, self._image(t, v), equal_nan=True)

    def _image(self, t: int, v: int) -> FloatArray:
        return np.array(self.labels[s.POSITION].values[t, v], copy=True)

    def _point(self, t: int, v: int, k: int, i: int) -> Point | None:
        xy = self.labels[s.POSITION].values[t, v, :, k, i]
        return (float(xy[0]), float(xy[1])) if np.isfinite(xy).all() else None

    def _names(self, t: int, v: int, k: int, i: int) -> tuple[int, str, str, str]:
        truth = self.truth
        return int(truth.time[t]), truth.views[v], truth.keypoints[k], truth.individuals[i]

    def _error(self) -> FloatArray:
        """(T, V, K, I) px from the truth; NaN where there is no point or no truth."""
        diff = self.labels[s.POSITION].values - self.truth.position
        return np.asarray(np.hypot(diff[:, :, 0], diff[:, :, 1]))

    def tracked_cells(self) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray]:
        """Over the range and views: the tools' points, those flagged, those wrong (the truth
        visible, the point more than the tolerance away) and those right (within it),
        (T', V', K, I) each."""
        tracked, flagged, visible, point, wrong = self._cells()
        return tracked & point, flagged, wrong, tracked & visible & point & ~wrong

    def _cells(self) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, BoolArray]:
        """Over the range and views: the tools' cells, those flagged, where the truth is
        visible, where there is a point, the tools' points more than the tolerance off."""
        rows, vi = self._rows, self._view_index
        tools = (s.PointSource.TRACKED, s.PointSource.REPROJECTED)
        tracked = np.isin(self.labels[s.SOURCE].values, tools)[rows][:, vi]
        flagged = self.labels[s.REVIEW].values[rows][:, vi] & tracked
        visible = self.truth.visible[rows][:, vi]
        error = self._error()[rows][:, vi]
        point = np.isfinite(error)
        wrong = tracked & visible & point & (np.nan_to_num(error) > self.tolerance_px)
        return tracked, flagged, visible, point, wrong

    def _initial_flags(self) -> dict[str, int]:
        tracked, flagged, visible, point, wrong = self._cells()
        hidden = tracked & point & ~visible
        missing = tracked & visible & ~point  # the tracker's hidden mark on a visible point
        return {
            "wrong": int(wrong.sum()),
            "wrong_flagged": int((wrong & flagged).sum()),
            "hidden": int(hidden.sum()),
            "hidden_flagged": int((hidden & flagged).sum()),
            "missing": int(missing.sum()),
            "missing_flagged": int((missing & flagged).sum()),
        }


def run_annotator(
    truth: Truth,
    videos: Mapping[str, ViewVideo],
    cameras: CameraGroup | None,
    tracker: PointTracker,
    *,
    views: Sequence[str] | None = None,
    frames: tuple[int, int] | None = None,
    scan_every: int | None = None,
    max_visits: int | None = None,
    follow_runs: bool = False,
    hide: bool = True,
) -> Effort:
    """Seed, propagate, then walk the review queue (``scan_every`` None) or scan every k-th
    frame; returns the bookkeeping. ``max_visits`` defaults to 10 visits per image."""
    wall, cpu = time.perf_counter(), time.process_time()
    person = Annotator(truth, videos, cameras, tracker, views=views, frames=frames, hide=hide)
    person.seed()
    person.propagate()
    if scan_every is None:
        cap = max_visits if max_visits is not None else 10 * _images(person)
        person.walk_queue(cap, follow_runs)
        mode = "queue, following runs" if follow_runs else "queue"
    else:
        person.scan(scan_every)
        mode = f"scan k={scan_every}"
    return person.effort(mode, time.perf_counter() - wall, time.process_time() - cpu)


def second_opinion_gain(
    truth: Truth,
    videos: Mapping[str, ViewVideo],
    cameras: CameraGroup | None,
    tracker: PointTracker,
    second: PointTracker,
    *,
    views: Sequence[str] | None = None,
    frames: tuple[int, int] | None = None,
) -> dict[str, int]:
    """What a second tracker's opinion adds to the flags of the first propagation (issue 21,
    item 4): the person seeds as always and propagates once with ``tracker`` alone and once
    with ``second`` beside it (the first tracker's tracks are the same; the flags differ by the
    disagreement, and so may the points the calibrated views repair). For each run: the
    tracked points, the wrong ones (> the tolerance off where the truth is visible), the wrong
    ones no flag catches (missed), and the right ones flagged (a person's wasted look)."""
    out: dict[str, int] = {}
    for name, other in (("alone", None), ("with_second", second)):
        person = Annotator(
            truth, videos, cameras, tracker, views=views, frames=frames, second=other
        )
        person.seed()
        person.propagate()
        points, flagged, wrong, right = person.tracked_cells()
        out[f"tracked_{name}"] = int(points.sum())
        out[f"wrong_{name}"] = int(wrong.sum())
        out[f"missed_{name}"] = int((wrong & ~flagged).sum())
        out[f"right_flagged_{name}"] = int((right & flagged).sum())
    return out


def _images(person: Annotator) -> int:
    return (person.span[1] - person.span[0]) * len(person.views)


def _share(mask: BoolArray, total: int) -> float:
    return float(mask.sum()) / total if total else float("nan")
