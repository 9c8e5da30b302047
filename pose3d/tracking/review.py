"""Review flags: which tracked points a human should look at, worst first, and why.

Every tracked point (source TRACKED) gets a score per reason, scaled so that 1 is the threshold;
its ``review_score`` is the largest, ``review_reason`` that reason (pose3d.schema.ReviewReason)
and ``review`` is ``review_score >= 1``:

======================  =========================================================  ==========
reason                  score                                                      threshold
======================  =========================================================  ==========
LOW_VISIBILITY          (1 - visibility) / (1 - min_visibility)                    0.5
LOW_CONFIDENCE          (1 - confidence) / (1 - min_confidence)                    0.5
FORWARD_BACKWARD        fb_error / max_fb_px (tracks from the manual frames on     4 px
                        either side disagree)
JUMP                    step / max(jump_px, jump_ratio × the point's median step)  12 px, 4×
DISAGREEMENT            disagreement / max_disagreement_px: the distance to a      8 px
                        second tracker's track from the same queries (only where
                        one was asked for: ``propagate_labels(second=...)``)
MULTI_VIEW              distance to the reprojection of the views' consensus       4 px
                        point / multiview_px; at least 1 outside the consensus
                        (needs a calibration and the point in >= 2 views)
======================  =========================================================  ==========

The MULTI_VIEW score and the calibrated views' say over the tracker's scores (where the views
agree they decide, and clear the tracker's doubts) come from pose3d.tracking.consensus. Manual
points are never flagged; reprojected points (pose3d.tracking.repair) are no evidence for the
multi-view check, and their flags are that module's. A keypoint the tracker hid (a hidden mark
of source TRACKED) is flagged MULTI_VIEW with score ``MISSING_SCORE`` (up to ``MISSING_SPREAD``
more where the tracks through the gap still look like the keypoint) where at least two other
calibrated views that nobody doubts agree on it and it projects into this view's image ("seen
by the other views, missing here": :func:`pose3d.tracking.consensus.seen_elsewhere`; not while
the multi-view check only advises). Without that check (no calibration, or one the views
disagree with), a tracker's hidden mark next to a tool's point of the same keypoint on the frame
before or after (where the tracker decided the point went out of sight, or came back) is
flagged LOW_VISIBILITY with score ``LOST_SCORE``, so a person confirms each such call once.

The review queue groups flags into *runs*: consecutive flagged frames of one keypoint in one
view are one item, at the run's first frame (where the track went wrong: a correction there
re-tracks the rest of the run), scored by the run's worst point.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError, SchemaError
from pose3d.tracking.consensus import (
    MultiViewStatus,
    multiview_scores,
    multiview_status,
    seen_elsewhere,
    spread_errors,
    trusted_cells,
)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
CELL_DIMS = (s.TIME, s.VIEW, s.KEYPOINT, s.INDIVIDUAL)
_REASONS = (  # score columns, in this order
    s.ReviewReason.LOW_VISIBILITY,
    s.ReviewReason.LOW_CONFIDENCE,
    s.ReviewReason.FORWARD_BACKWARD,
    s.ReviewReason.JUMP,
    s.ReviewReason.DISAGREEMENT,
    s.ReviewReason.MULTI_VIEW,  # last: the views' column; the others are the trackers'
)


# a keypoint the tracker hid where the other views see it: 1 to 1.5, higher where the tracks
# still look like it (its run's worst frame: where it most likely came back)
MISSING_SCORE = 1.0
MISSING_SPREAD = 0.5
# where no calibrated views can say a keypoint is missing, the frames where the tracker hid a
# point it was following (or found it again) are flagged LOW_VISIBILITY with this score
LOST_SCORE = 1.0
FLAG_CHUNK = 4096  # frames scored at once (review_points): the scores' memory, not the data's


@dataclass(frozen=True)
class ReviewThresholds:
    """Where each flag starts (see the module docstring); pixels are image pixels."""

    min_visibility: float = 0.5
    min_confidence: float = 0.5
    max_fb_px: float = 4.0
    jump_px: float = 12.0
    jump_ratio: float = 4.0
    multiview_px: float = 4.0
    lost_visibility: float = 0.05
    max_disagreement_px: float = 8.0

    def __post_init__(self) -> None:
        for name in ("min_visibility", "min_confidence", "lost_visibility"):
            if not 0 <= getattr(self, name) < 1:
                raise Pose3dError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("max_fb_px", "jump_px", "jump_ratio", "multiview_px", "max_disagreement_px"):
            if not getattr(self, name) > 0:
                raise Pose3dError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class ReviewItem:
    """One flagged point of the review queue."""

    frame: int  # session frame (labels' time) where the run of flags starts
    view: str
    keypoint: str
    individual: str
    score: float  # >= 1; how many times over its threshold (the run's worst point)
    reason: s.ReviewReason  # of the run's worst point
    last_frame: int = -1  # the run's last flagged frame (inclusive); -1: ``frame``
    worst_frame: int = -1  # the frame of the run's worst point (where to look); -1: ``frame``

    def __post_init__(self) -> None:
        if self.last_frame < 0:
            object.__setattr__(self, "last_frame", self.frame)
        if self.worst_frame < 0:
            object.__setattr__(self, "worst_frame", self.frame)

    @property
    def frames(self) -> int:
        """How many consecutive frames the run covers."""
        return self.last_frame - self.frame + 1


def with_track_variables(labels: xr.Dataset, *, copy: bool = True) -> xr.Dataset:
    """``labels`` with the tracker's variables (visibility, fb_error, review_score,
    review_reason; pose3d.schema.TRACK_DIMS) added where missing; raise SchemaError when one
    exists with other dims. ``copy=False``: the result shares the arrays ``labels`` has."""
    out = labels.copy(deep=copy)
    shape = tuple(labels.sizes[d] for d in CELL_DIMS)
    for name, dims in s.TRACK_DIMS.items():
        if name in out.data_vars:
            if out[name].dims != dims:
                raise SchemaError(
                    f"labels variable {name!r} has dims {out[name].dims}, expected {dims}; "
                    "remove it (it is rewritten by the next pose3d track)"
                )
            continue
        if name == s.REVIEW_REASON:
            out[name] = (dims, np.zeros(shape, np.int8))
        else:
            out[name] = (dims, np.full(shape, np.nan, np.float32))
    out[s.FB_ERROR].attrs[s.ATTR_UNIT] = "px"
    out[s.DISAGREEMENT].attrs[s.ATTR_UNIT] = "px"
    return out


def flag_points(
    labels: xr.Dataset,
    frames: tuple[int, int] | None = None,
    cameras: CameraGroup | None = None,
    thresholds: ReviewThresholds | None = None,
) -> xr.Dataset:
    """Recompute the review flags of the tracked points of session frames ``[start, stop)``
    (default: all), every view; returns a new dataset. ``cameras`` enables the multi-view flag."""
    return review_points(labels, frames, cameras, thresholds)[0]


def review_points(
    labels: xr.Dataset,
    frames: tuple[int, int] | None = None,
    cameras: CameraGroup | None = None,
    thresholds: ReviewThresholds | None = None,
    *,
    chunk: int = FLAG_CHUNK,
    copy: bool = True,
) -> tuple[xr.Dataset, MultiViewStatus | None]:
    """:func:`flag_points`, and how its multi-view check ran (None without ``cameras``).

    The range is scored ``chunk`` frames at a time, so that the scores' arrays stay the same
    size however long the recording: the statistics a reason takes from the whole range (each
    point's median step, for JUMP; the views' spread against the calibration, for MULTI_VIEW)
    are gathered first, chunk by chunk, then every chunk is scored with them. The result does
    not depend on ``chunk`` (tested). ``copy=False`` flags ``labels``' own arrays (for a caller
    that drops ``labels``: a recording's labels are not held twice)."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 frame, got {chunk}")
    limits = thresholds or ReviewThresholds()
    out = with_track_variables(labels, copy=copy)
    time = out[s.TIME].values
    start, stop = (int(time[0]), int(time[-1]) + 1) if frames is None else frames
    rows = np.flatnonzero((time >= start) & (time < stop))
    if rows.size == 0:
        return out, None
    first, last = int(rows[0]), int(rows[-1]) + 1
    blocks = [slice(a, min(a + chunk, last)) for a in range(first, last, chunk)]
    typical = _typical_steps(out[s.POSITION].values, slice(first, last))
    status = None
    if cameras is not None:
        views = [str(v) for v in out[s.VIEW].values]
        samples: list[list[FloatArray]] = [[] for _ in range(out.sizes[s.KEYPOINT])]
        for block in blocks:
            source = out[s.SOURCE].values[block]
            trusted = trusted_cells(source, _tracker_scores(out, block, typical, limits))
            found = spread_errors(_evidence(out, block), views, cameras, trusted)
            for mine, part in zip(samples, found, strict=True):
                mine.append(part)
        status = multiview_status([np.concatenate(p) for p in samples], limits.multiview_px)
    for block in blocks:
        _flag_block(out, block, typical, cameras, status, limits)
    return out, status


def _flag_block(
    out: xr.Dataset,
    rows: slice,
    typical: FloatArray,
    cameras: CameraGroup | None,
    status: MultiViewStatus | None,
    limits: ReviewThresholds,
) -> None:
    """Score and flag the cells of ``rows`` in place (:func:`review_points`)."""
    position = out[s.POSITION].values[rows]  # (T', V, 2, K, I)
    source = out[s.SOURCE].values[rows]
    tracked = (source == s.PointSource.TRACKED) & np.isfinite(position).all(axis=2)
    scores = np.zeros((len(_REASONS), *tracked.shape))
    scores[:5] = _tracker_scores(out, rows, typical, limits)
    evidence = _evidence(out, rows)
    views = [str(v) for v in out[s.VIEW].values]
    if cameras is not None and status is not None:
        visibility = np.nan_to_num(out[s.VISIBILITY].values[rows], nan=1.0)
        scores[5] = multiview_scores(
            evidence,
            views,
            cameras,
            scores[:5],  # a view: the trackers' reasons, cleared where the views decide
            source,
            visibility,
            status,
            lost_visibility=limits.lost_visibility,
        )
    scores = np.where(tracked, np.nan_to_num(scores, nan=0.0), 0.0)
    worst = scores.max(axis=0)
    reason = np.asarray([int(r) for r in _REASONS], np.int8)[scores.argmax(axis=0)]
    flagged = tracked & (worst >= 1.0)
    touch = tracked | (source == s.PointSource.NONE)
    assign_cells(out, s.REVIEW, rows, touch, flagged)
    assign_cells(out, s.REVIEW_SCORE, rows, touch, np.where(tracked, worst, np.nan))
    assign_cells(out, s.REVIEW_REASON, rows, touch, np.where(flagged, reason, 0))
    if cameras is not None and status is not None and not status.advisory:
        hidden = out[s.HIDDEN].values[rows] & (source == s.PointSource.TRACKED)
        trusted = np.isfinite(evidence).all(axis=2) & ~flagged
        seen = seen_elsewhere(evidence, hidden, trusted, views, cameras, limits.multiview_px)
        assign_cells(out, s.REVIEW, rows, hidden, seen)
        likeness = np.clip(np.nan_to_num(out[s.VISIBILITY].values[rows]), 0.0, 1.0)
        score = np.where(seen, MISSING_SCORE + MISSING_SPREAD * likeness, np.nan)
        assign_cells(out, s.REVIEW_SCORE, rows, hidden, score)
        missing = np.where(seen, int(s.ReviewReason.MULTI_VIEW), 0)
        assign_cells(out, s.REVIEW_REASON, rows, hidden, missing)
    else:  # no views to say what is missing: a person confirms where the tracker lost a point
        hidden, lost = _lost(out, rows)
        assign_cells(out, s.REVIEW, rows, hidden, lost)
        assign_cells(out, s.REVIEW_SCORE, rows, hidden, np.where(lost, LOST_SCORE, np.nan))
        reason = np.where(lost, int(s.ReviewReason.LOW_VISIBILITY), 0)
        assign_cells(out, s.REVIEW_REASON, rows, hidden, reason)


def _tracker_scores(
    labels: xr.Dataset, rows: slice, typical: FloatArray, limits: ReviewThresholds
) -> FloatArray:
    """The scores of the tracker's own reasons (the first five of _REASONS) on ``rows``,
    (5, T', V, K, I); ``typical``: each point's median step over the range (JUMP)."""
    scores = np.empty((5, *labels[s.SOURCE].values[rows].shape))
    scores[0] = _below(labels[s.VISIBILITY].values[rows], limits.min_visibility)
    scores[1] = _below(labels[s.CONFIDENCE].values[rows], limits.min_confidence)
    scores[2] = np.nan_to_num(labels[s.FB_ERROR].values[rows] / limits.max_fb_px)
    scores[3] = _jumps(labels[s.POSITION].values, rows, typical, limits)
    scores[4] = np.nan_to_num(labels[s.DISAGREEMENT].values[rows] / limits.max_disagreement_px)
    return scores


def _evidence(labels: xr.Dataset, rows: slice) -> FloatArray:
    """The positions of ``rows`` the multi-view check may use: a reprojected point is the
    views' own consensus, never evidence (NaN), (T', V, 2, K, I)."""
    echo = labels[s.SOURCE].values[rows] == s.PointSource.REPROJECTED
    return np.where(echo[:, :, None], np.nan, labels[s.POSITION].values[rows])


def _lost(labels: xr.Dataset, rows: slice) -> tuple[BoolArray, BoolArray]:
    """The tracker's hidden marks of ``rows`` (T', V, K, I), and those next to a tool's point
    of the same keypoint on the frame before or after: where the tracker decided the point went
    out of sight (or came back)."""
    around = slice(max(rows.start - 1, 0), min(rows.stop + 1, labels.sizes[s.TIME]))
    source = labels[s.SOURCE].values[around]
    hidden = labels[s.HIDDEN].values[around] & (source == s.PointSource.TRACKED)
    tools = (s.PointSource.TRACKED, s.PointSource.REPROJECTED)
    point = np.isin(source, tools) & np.isfinite(labels[s.POSITION].values[around]).all(axis=2)
    beside = np.zeros_like(point)
    beside[1:] |= point[:-1]
    beside[:-1] |= point[1:]
    mine = slice(rows.start - around.start, rows.stop - around.start)
    return hidden[mine], (hidden & beside)[mine]


def review_queue(labels: xr.Dataset | Iterable[xr.Dataset]) -> list[ReviewItem]:
    """The runs of flagged tracked points (module docstring), worst first: one item per run of
    consecutive flagged frames of a (view, keypoint, individual), at its first frame. Ties keep
    time order. ``labels``: a dataset, or consecutive stretches of time of one (a long
    recording read a part at a time; a run may cross from one part into the next)."""
    parts = [labels] if isinstance(labels, xr.Dataset) else labels
    tools = (s.PointSource.TRACKED, s.PointSource.REPROJECTED)
    runs: list[_Run] = []
    open_runs: dict[tuple[int, int, int], _Run] = {}  # (v, k, i): a run reaching a part's end
    previous: BoolArray | None = None  # the last frame's flags of the part before
    names: list[list[str]] = [[], [], []]  # the parts' views, keypoints, individuals
    for part in parts:
        if s.REVIEW_SCORE not in part.data_vars:
            return []
        flagged = part[s.REVIEW].values & np.isin(part[s.SOURCE].values, tools)
        score = np.where(flagged, np.nan_to_num(part[s.REVIEW_SCORE].values, nan=np.inf), -1.0)
        reason = part[s.REVIEW_REASON].values
        time = part[s.TIME].values
        for cell, run in list(open_runs.items()):  # runs from the part before go on here
            column = flagged[(slice(None), *cell)]
            going = len(column) if column.all() else int(np.argmin(column))
            if going:
                run.extend(score, reason, time, cell, going)
            if going < len(column):
                runs.append(open_runs.pop(cell))
        before = np.zeros_like(flagged)
        before[1:] = flagged[:-1]
        if previous is not None:
            before[0] = previous
        for t, v, k, i in zip(*np.nonzero(flagged & ~before), strict=True):
            stop = t + 1
            while stop < len(flagged) and flagged[stop, v, k, i]:
                stop += 1
            worst = t + int(np.argmax(score[t:stop, v, k, i]))
            run = _Run(
                (int(time[t]), int(v), int(k), int(i)),
                float(score[worst, v, k, i]),
                int(reason[worst, v, k, i]),
                int(time[worst]),
                int(time[stop - 1]),
            )
            if stop == len(flagged):
                open_runs[(int(v), int(k), int(i))] = run
            else:
                runs.append(run)
        previous = flagged[-1] if len(flagged) else previous
        names = [[str(n) for n in part[d].values] for d in CELL_DIMS[1:]]
    runs.extend(open_runs.values())
    runs.sort(key=lambda run: (-run.score, run.start))
    return [run.item(*names) for run in runs]


@dataclass
class _Run:
    """A run of flags being gathered: where it starts (frame and the cell's view, keypoint and
    individual positions, the order ties keep), its worst point so far and its last frame."""

    start: tuple[int, int, int, int]
    score: float
    reason: int
    worst_frame: int
    last_frame: int

    def extend(
        self,
        score: FloatArray,
        reason: NDArray[np.int8],
        time: NDArray[np.generic],
        cell: tuple[int, int, int],
        frames: int,
    ) -> None:
        """The run goes on through the first ``frames`` frames of the next part."""
        column = score[(slice(None, frames), *cell)]
        worst = int(np.argmax(column))
        if column[worst] > self.score:  # ties keep the earlier frame
            self.score = float(column[worst])
            self.reason = int(reason[(worst, *cell)])
            self.worst_frame = int(time[worst])
        self.last_frame = int(time[frames - 1])

    def item(self, views: list[str], keypoints: list[str], individuals: list[str]) -> ReviewItem:
        frame, v, k, i = self.start
        return ReviewItem(
            frame=frame,
            view=views[v],
            keypoint=keypoints[k],
            individual=individuals[i],
            score=self.score,
            reason=s.ReviewReason(self.reason),
            last_frame=self.last_frame,
            worst_frame=self.worst_frame,
        )


def clear_runs(labels: xr.Dataset, index: tuple[int, int, int, int]) -> xr.Dataset:
    """``labels`` with the flags of the run(s) of the cell at array ``index`` (time, view,
    keypoint, individual) cleared: the consecutive flagged frames of that keypoint in that view
    on both sides of it. What accepting a flagged point as right says of its run: the person
    looked at it and it is right, so the frames the same track carries around it are taken as
    right too (until a propagation flags them again). Returns a new dataset."""
    out = labels.copy()
    review = out[s.REVIEW].values.copy()
    reason = out[s.REVIEW_REASON].values.copy() if s.REVIEW_REASON in out else None
    tools = np.isin(out[s.SOURCE].values, (s.PointSource.TRACKED, s.PointSource.REPROJECTED))
    t, v, k, i = index
    for step in (-1, 1):
        j = t + step
        while 0 <= j < review.shape[0] and review[j, v, k, i] and tools[j, v, k, i]:
            review[j, v, k, i] = False
            if reason is not None:
                reason[j, v, k, i] = int(s.ReviewReason.NONE)
            j += step
    out[s.REVIEW] = out[s.REVIEW].copy(data=review)  # its attributes kept
    if reason is not None:
        out[s.REVIEW_REASON] = out[s.REVIEW_REASON].copy(data=reason)
    return out


def _below(value: FloatArray, minimum: float) -> FloatArray:
    """Score of a probability that should stay above ``minimum``: 1 at the minimum."""
    return np.nan_to_num((1.0 - value) / (1.0 - minimum), nan=0.0)


def _steps(position: FloatArray, rows: slice) -> FloatArray:
    """Step length (px) of each point from the frame before, for the frames of ``rows`` after
    the first frame of all, (T', V, K, I) (T' = len(rows) - 1 when rows start at frame 0)."""
    block = position[max(rows.start - 1, 0) : rows.stop]
    return np.linalg.norm(np.diff(block, axis=0), axis=2)


def _typical_steps(position: FloatArray, rows: slice) -> FloatArray:
    """Each point's median step over the frames of ``rows`` (and the step into the first);
    0 where fewer than 3 steps are known. (V, K, I)"""
    steps = _steps(position, rows)
    typical = np.zeros(steps.shape[1:])
    finite = np.isfinite(steps)
    enough = finite.sum(axis=0) >= 3
    if enough.any():
        typical[enough] = np.nanmedian(np.where(finite, steps, np.nan)[:, enough], axis=0)
    return typical


def _jumps(
    position: FloatArray, rows: slice, typical: FloatArray, limits: ReviewThresholds
) -> FloatArray:
    """Step length (from the previous frame) over each point's jump threshold, on ``rows``;
    ``typical``: each point's median step (:func:`_typical_steps`).

    position  # (T, V, 2, K, I)  ->  (rows, V, K, I)
    """
    limit = np.maximum(limits.jump_px, limits.jump_ratio * typical)
    score = np.nan_to_num(_steps(position, rows) / limit, nan=0.0)
    if rows.start > 0:
        return score
    return np.concatenate([np.zeros((1, *score.shape[1:])), score])  # frame 0 has no step


def assign_cells(ds: xr.Dataset, name: str, rows: slice, where: BoolArray, value: object) -> None:
    """Set variable ``name`` of ``ds`` (in place) on the cells ``where`` (over ``rows``, every
    view) to ``value`` (an array of ``where``'s shape, or one value for all)."""
    values = ds[name].values
    block = values[rows]
    block[where] = np.broadcast_to(np.asarray(value), where.shape)[where].astype(values.dtype)
    values[rows] = block
