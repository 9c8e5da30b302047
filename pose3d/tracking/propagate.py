"""``propagate_labels``: manual anchors -> tracker queries -> gaps filled -> merged into labels.

For each view: the manual labels of the session frames ``[start, stop)`` are anchors (points
and hidden marks; see pose3d.tracking.queries), the point anchors become queries the tracker
follows forward and backward through the camera's video, and each gap between anchors is
filled from the tracks of the anchors around it (pose3d.tracking.fill: the two tracks blended,
hidden after a hidden mark until the point has reappeared). The result is merged into the
labels by the merge policy of pose3d.labels (manual and imported labels are never replaced;
tracked points get ``source = TRACKED``, ``confidence = visibility × confidence`` of the
tracker, ``visibility`` and ``fb_error``; frames the tracker says are hidden get a hidden mark
of source TRACKED). With a ``second`` tracker, the same queries are tracked again by it and its
gaps filled the same way: the distance between the two filled tracks is each point's
``disagreement`` (a second opinion, one of the review reasons). Then the review flags of the
range are recomputed (pose3d.tracking.review; multi-view when cameras are given) and, with a
calibration the views agree with, the flagged points the other views settle are moved to their
consensus (pose3d.tracking.repair; source REPROJECTED, which a later run's track replaces in
the cells it governs). Data in, data out: the session verb that reads and writes labels.nc is
pose3d.pipeline.track.

Frames: labels' ``time`` counts session frames; camera frame = session frame − the camera's
offset. A point that leaves the image is hidden there (it is not in view).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup, size_mismatches
from pose3d.errors import Pose3dError
from pose3d.io.video_reading import VideoReader
from pose3d.labels import merge_points
from pose3d.progress import ProgressCallback
from pose3d.session import ViewVideo
from pose3d.tracking import fill
from pose3d.tracking import queries as plan_queries
from pose3d.tracking.base import (
    FrameWindow,
    PointTracker,
    TrackProgress,
    TrackResult,
    check_cancel,
)
from pose3d.tracking.consensus import MultiViewStatus
from pose3d.tracking.repair import repair_views
from pose3d.tracking.review import (
    ReviewThresholds,
    review_points,
    review_queue,
    with_track_variables,
)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PropagationReport:
    """What ``propagate`` did."""

    views: tuple[str, ...]  # the views tracked
    frames: tuple[int, int]  # session frames [start, stop)
    tracker: str
    queries: int  # manual points used as queries
    tracked: int  # points this run wrote (source TRACKED)
    flagged: int  # flagged tracked points of the tracked views in the range
    runs: int = 0  # review-queue items (runs of flags) among them
    skipped: tuple[str, ...] = ()  # views without manual points in the range
    multiview: MultiViewStatus | None = None  # how the multi-view flag ran (None: no calibration)
    repaired: int = 0  # tracked points this run moved to the other views' consensus

    def repairs(self) -> str:
        """'; N set by the other views' for a message ('' when none was)."""
        return f"; {self.repaired} set by the other views (reprojected)" if self.repaired else ""


@dataclass(frozen=True)
class _ViewTracks:
    """The tracked values of one view on the labels' grid (cells not written are NaN)."""

    position: FloatArray  # (T, 2, K, I) px
    hidden: NDArray[np.bool_]  # (T, K, I) the tracker's hidden marks
    confidence: FloatArray  # (T, K, I)
    visibility: FloatArray  # (T, K, I)
    fb_error: FloatArray  # (T, K, I) px
    written: NDArray[np.bool_]  # (T, K, I) cells this run governs
    queries: int
    disagreement: FloatArray  # (T, K, I) px to the second tracker's track (NaN: none asked)


def propagate_labels(
    labels: xr.Dataset,
    videos: Mapping[str, ViewVideo],
    cameras: CameraGroup | None,
    tracker: PointTracker,
    *,
    views: str | Sequence[str],
    frames: tuple[int | None, int | None] | None = None,
    keypoints: Sequence[str] | None = None,
    from_frames: Sequence[int] | None = None,
    thresholds: ReviewThresholds | None = None,
    second: PointTracker | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[xr.Dataset, PropagationReport]:
    """Track the manual points of ``views`` (a name or several) through session frames
    ``frames = (start, stop)`` (stop excluded; None: that end of the labels) and merge the
    tracks into a copy of ``labels``; returns it with what was done.

    ``videos``: each view's video and frame offset; ``cameras`` (the calibration, or None)
    enables the multi-view review flag. ``keypoints`` limits the work to those keypoints;
    ``from_frames`` fills again only the gaps next to the anchors on those session frames
    (after a correction), so only the frames up to the neighbouring anchors change.
    ``second``: another tracker run on the same queries, whose distance to ``tracker``'s
    filled tracks is stored as ``disagreement`` and flagged (ReviewReason.DISAGREEMENT).
    Setting ``cancel`` raises TrackingCancelled.
    """
    names = (views,) if isinstance(views, str) else tuple(views)
    report = progress or _no_progress
    labels = with_track_variables(labels)
    start, stop = _range(labels, frames)
    _check_views(labels, videos, names)
    keep = _keypoint_mask(labels, keypoints)
    tracked_views, skipped, n_queries, n_written = [], [], 0, 0
    for name in names:
        check_cancel(cancel)
        result = _track_view(
            videos[name], labels, name, (start, stop), (tracker, second), keep, from_frames,
            report, cancel, cameras,
        )  # fmt: skip
        if result is None:
            skipped.append(name)
            continue
        labels, written = _merge(labels, name, result)
        tracked_views.append(name)
        n_queries += result.queries
        n_written += written
    if not tracked_views:
        if not _anchored(labels, names, from_frames, keep):
            raise Pose3dError(_nothing_to_track(names, start, stop, from_frames))
        # anchors on the frames re-tracked from, anchors right next to them: nothing between
        tracked_views, skipped = list(names), []
    check_cancel(cancel)
    report("review flags", 0, 1)
    labels, multiview = review_points(labels, (start, stop), cameras, thresholds, copy=False)
    repaired = 0
    if cameras is not None and multiview is not None and not multiview.advisory:
        labels, repaired = repair_views(labels, (start, stop), cameras, thresholds)
    report("review flags", 1, 1)
    check_cancel(cancel)
    counts = (n_queries, n_written)
    done = _report(labels, tracked_views, skipped, (start, stop), tracker.name, counts)
    return labels, replace(done, multiview=multiview, repaired=repaired)


def _no_progress(step: str, done: int, total: int) -> None:
    return None


def _range(labels: xr.Dataset, frames: tuple[int | None, int | None] | None) -> tuple[int, int]:
    time = labels[s.TIME].values
    first, end = int(time[0]), int(time[-1]) + 1
    start, stop = frames or (None, None)
    start = first if start is None else int(start)
    stop = end if stop is None else int(stop)
    if not first <= start < stop <= end:
        raise Pose3dError(
            f"frames {start}:{stop} are outside the labels, which cover session frames "
            f"{first}:{end}; give A:B with {first} <= A < B <= {end}"
        )
    if len(time) != end - first:
        raise Pose3dError("labels.nc's time must count every session frame (0, 1, 2, ...)")
    return start, stop


def _check_views(
    labels: xr.Dataset, videos: Mapping[str, ViewVideo], names: tuple[str, ...]
) -> None:
    known = [str(v) for v in labels[s.VIEW].values]
    unknown = [n for n in names if n not in known or n not in videos]
    if unknown or not names:
        raise Pose3dError(
            f"unknown view(s) {', '.join(unknown) or '(none given)'}; this session's views are "
            f"{', '.join(v for v in known if v in videos)} (or 'all')"
        )


def _keypoint_mask(labels: xr.Dataset, keypoints: Sequence[str] | None) -> NDArray[np.bool_]:
    known = [str(k) for k in labels[s.KEYPOINT].values]
    if keypoints is None:
        return np.ones(len(known), bool)
    unknown = [k for k in keypoints if k not in known]
    if unknown:
        raise Pose3dError(f"unknown keypoint(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return np.isin(known, list(keypoints))


def _anchored(
    labels: xr.Dataset,
    names: tuple[str, ...],
    from_frames: Sequence[int] | None,
    keep: NDArray[np.bool_],
) -> bool:
    """Whether ``from_frames`` hold a manual label (point or hidden mark) of ``keep``'s
    keypoints in one of the views: a re-track from them is then no error even when no frame
    lies between them and their neighbouring anchors."""
    if from_frames is None:
        return False
    part = labels[s.SOURCE].sel({s.VIEW: list(names)})
    frames = [f for f in from_frames if f in set(labels[s.TIME].values.tolist())]
    manual = part.sel({s.TIME: frames}).values == s.PointSource.MANUAL  # (F, V, K, I)
    return bool(manual[:, :, keep].any())


def _nothing_to_track(
    names: tuple[str, ...], start: int, stop: int, from_frames: Sequence[int] | None
) -> str:
    where = f"view {names[0]}" if len(names) == 1 else f"views {', '.join(names)}"
    if from_frames is not None:
        listed = ", ".join(str(f) for f in from_frames)
        return f"no manual labels on frame(s) {listed} of {where} in frames {start}:{stop}"
    return (
        f"no manual labels in frames {start}:{stop} of {where}: label at least one keypoint "
        "on one frame of the range first"
    )


def _track_view(
    video: ViewVideo,
    labels: xr.Dataset,
    view: str,
    span: tuple[int, int],
    trackers: tuple[PointTracker, PointTracker | None],  # the tracker, the second opinion
    keep: NDArray[np.bool_],
    from_frames: Sequence[int] | None,
    progress: ProgressCallback,
    cancel: threading.Event | None,
    cameras: CameraGroup | None,
) -> _ViewTracks | None:
    """Track one view; None when it has no anchor to fill from in the range. Raises when the
    calibration (``cameras``) was made for images of another size than the video's."""
    tracker, second = trackers
    start, stop = span
    first = int(labels[s.TIME].values[0])
    rows = slice(start - first, stop - first)
    v = [str(x) for x in labels[s.VIEW].values].index(view)
    position = labels[s.POSITION].values[rows, v]  # (R, 2, K, I)
    manual = labels[s.SOURCE].values[rows, v] == s.PointSource.MANUAL  # (R, K, I)
    manual &= keep[None, :, None]
    hidden = labels[s.HIDDEN].values[rows, v] if s.HIDDEN in labels else None
    series = plan_queries.manual_series(position, manual, start, hidden)
    gaps = plan_queries.plan(series, start, stop, from_frames)
    window = plan_queries.window(gaps, start, stop)
    if window is None:
        return None
    shape = labels[s.CONFIDENCE].values.shape
    offset = video.offset
    with VideoReader(video.path) as reader:
        mismatch = size_mismatches(cameras, {view: reader.size}) if cameras is not None else ""
        if mismatch:
            raise Pose3dError(mismatch)
        lo = max(window[0] - offset, 0)  # camera frames of the clip
        hi = min(window[1] - offset, reader.n_frames)
        if lo >= hi:
            return None
        columns, queries = _queries(gaps, lo + offset, hi + offset)
        result = opinion = None
        if len(queries):
            clip = FrameWindow(reader, lo, hi)
            queries[:, 0] -= lo + offset  # session frame -> clip frame
            result = tracker.track(clip, queries, progress=_ticks(progress, view), cancel=cancel)
            if second is not None:
                step = _ticks(progress, view, f" ({second.name}, second opinion)")
                opinion = second.track(clip, queries, progress=step, cancel=cancel)
        size = reader.size
    grid = _Grid(first, lo + offset, hi + offset, size, shape[0], shape[2:])
    tracks = _on_grid(gaps, columns, result, grid)
    if second is None:
        return tracks
    other = _on_grid(gaps, columns, opinion, grid)
    apart = np.linalg.norm(tracks.position - other.position, axis=1)  # (T, K, I); NaN: one hid
    return replace(tracks, disagreement=np.where(tracks.written, apart, np.nan))


def _ticks(progress: ProgressCallback, view: str, what: str = "") -> TrackProgress:
    """A tracker's (done, total) frames as the propagation's progress step of ``view``."""

    def tick(done: int, total: int) -> None:
        progress(f"track {view}{what}", done, total)

    return tick


def _queries(
    gaps: Sequence[plan_queries.Gap], lo: int, hi: int
) -> tuple[dict[tuple[int, int, int], int], FloatArray]:
    """The queries (session frame, x, y) of every point anchor the gaps use inside the clip
    [lo, hi) (session frames), and their columns keyed by (keypoint, individual, anchor index)."""
    columns: dict[tuple[int, int, int], int] = {}
    rows: list[tuple[float, float, float]] = []
    for g in gaps:
        one = g.series
        for j in g.queries():
            key = (one.keypoint, one.individual, j)
            frame = int(one.frames[j])
            if key not in columns and lo <= frame < hi:
                columns[key] = len(rows)
                rows.append((float(frame), float(one.xy[j, 0]), float(one.xy[j, 1])))
    return columns, np.asarray(rows, dtype=np.float64).reshape(-1, 3)


@dataclass(frozen=True)
class _Grid:
    """Where a clip's tracks go on the labels' grid."""

    first: int  # session frame of the labels' first row
    clip_start: int  # session frame of the clip's first frame
    clip_stop: int  # session frame after the clip's last
    size: tuple[int, int]  # image (width, height)
    n_rows: int
    cells: tuple[int, int]  # (K, I)


def _on_grid(
    gaps: Sequence[plan_queries.Gap],
    columns: dict[tuple[int, int, int], int],
    result: TrackResult | None,
    grid: _Grid,
) -> _ViewTracks:
    """Fill each gap (pose3d.tracking.fill) and place it on the labels' grid."""
    position = np.full((grid.n_rows, 2, *grid.cells), np.nan)
    hidden = np.zeros((grid.n_rows, *grid.cells), bool)
    confidence = np.full((grid.n_rows, *grid.cells), np.nan)
    visibility = np.full((grid.n_rows, *grid.cells), np.nan)
    fb_error = np.full((grid.n_rows, *grid.cells), np.nan)
    written = np.zeros((grid.n_rows, *grid.cells), bool)
    for g in gaps:
        frames = g.frames[(g.frames >= grid.clip_start) & (g.frames < grid.clip_stop)]
        if frames.size == 0:
            continue
        one = g.series
        k, i = one.keypoint, one.individual
        marks = (_hidden_frame(one, g.before), _hidden_frame(one, g.after))
        tracks = {
            j: _anchor_track(g, j, columns, result, (frames, marks), grid) for j in g.queries()
        }
        if any(t is None for t in tracks.values()):
            continue  # an anchor the gap needs lies outside the frames the camera recorded
        ends = [int(one.frames[j]) if j != plan_queries.NONE else None for j in (g.before, g.after)]
        done = fill.fill_gap(
            frames, (ends[0], ends[1]), (marks[0] is not None, marks[1] is not None),
            tracks.get(g.before), tracks.get(g.after), tracks.get(g.carrier),
        )  # fmt: skip
        rows = frames - grid.first
        position[rows, :, k, i] = done.xy
        hidden[rows, k, i] = done.hidden
        visibility[rows, k, i] = done.visibility
        confidence[rows, k, i] = done.confidence
        fb_error[rows, k, i] = done.fb_error
        written[rows, k, i] = True
    disagreement = np.full_like(fb_error, np.nan)  # set by _track_view for a second opinion
    return _ViewTracks(
        position, hidden, confidence, visibility, fb_error, written, len(columns), disagreement
    )


def _hidden_frame(series: plan_queries.Series, j: int) -> int | None:
    """The session frame of anchor ``j`` when it is a hidden mark (None: none, or a point)."""
    return int(series.frames[j]) if j != plan_queries.NONE and series.hidden[j] else None


def _anchor_track(
    gap: plan_queries.Gap,
    j: int,
    columns: dict[tuple[int, int, int], int],
    result: TrackResult | None,
    where: tuple[NDArray[np.int64], tuple[int | None, int | None]],  # frames; hidden anchors
    grid: _Grid,
) -> fill.Track | None:
    """The track of the gap's point anchor ``j`` over the gap's frames, with its visibility on
    the frames of the hidden anchors before and after the gap (None: not tracked)."""
    column = columns.get((gap.series.keypoint, gap.series.individual, j))
    if column is None or result is None:
        return None
    frames, (before, after) = where
    track = _clip_track(result, column, frames - grid.clip_start, grid.size)

    def seen(mark: int | None) -> float:
        if mark is None or not grid.clip_start <= mark < grid.clip_stop:
            return float("nan")
        return float(result.visibility[mark - grid.clip_start, column])

    return replace(track, at_mark=seen(before), at_next=seen(after))


def _clip_track(
    result: TrackResult, column: int, t: NDArray[np.int64], size: tuple[int, int]
) -> fill.Track:
    """One query's track at clip frames ``t``; positions outside the image are NaN."""
    width, height = size
    xy = result.tracks[t, column].astype(np.float64)
    off = (xy < -0.5).any(axis=1) | (xy[:, 0] > width - 0.5) | (xy[:, 1] > height - 0.5)
    xy[off] = np.nan
    visibility = result.visibility[t, column].astype(np.float64)
    confidence = result.confidence[t, column].astype(np.float64)
    return fill.Track(xy, visibility, confidence)


def _merge(labels: xr.Dataset, view: str, tracks: _ViewTracks) -> tuple[xr.Dataset, int]:
    """Merge one view's tracks by the merge policy (a lost track clears the view's earlier
    tracked point on the frames this run governs); returns the labels and the points written."""
    labels = _yield_reprojected(labels, view, tracks.written)
    coords = {d: labels[d].values for d in (s.TIME, s.KEYPOINT, s.INDIVIDUAL)}
    coords[s.VIEW] = np.array([view])
    dims = s.LABEL_DIMS[s.POSITION]
    position = xr.DataArray(
        tracks.position[:, None], dims=dims, coords={**coords, s.SPACE: labels[s.SPACE].values}
    )

    def cells(values: NDArray[np.generic]) -> xr.DataArray:
        return xr.DataArray(values[:, None], dims=s.LABEL_DIMS[s.CONFIDENCE], coords=coords)

    out, written = merge_points(
        labels,
        position,
        cells(tracks.confidence),
        s.PointSource.TRACKED,
        governed=cells(tracks.written),
        hidden=cells(tracks.hidden),
        extra={
            s.VISIBILITY: cells(tracks.visibility),
            s.FB_ERROR: cells(tracks.fb_error),
            s.DISAGREEMENT: cells(tracks.disagreement),
        },
    )
    return out, int((written.values & ~tracks.hidden[:, None]).sum())


def _yield_reprojected(labels: xr.Dataset, view: str, written: NDArray[np.bool_]) -> xr.Dataset:
    """``labels`` where the reprojected points of the cells a run governs in ``view`` rank as
    tracked ones, so that the new track replaces them (pose3d.tracking.repair decides again)."""
    v = [str(x) for x in labels[s.VIEW].values].index(view)
    source = labels[s.SOURCE].values[:, v]
    yields = written & (source == s.PointSource.REPROJECTED)
    if not yields.any():
        return labels
    out = labels.copy()
    out[s.SOURCE] = out[s.SOURCE].copy(deep=True)
    out[s.SOURCE].values[:, v][yields] = s.PointSource.TRACKED  # a view of the copy
    return out


def _report(
    labels: xr.Dataset,
    views: list[str],
    skipped: list[str],
    span: tuple[int, int],
    tracker: str,
    counts: tuple[int, int],  # queries, points written
) -> PropagationReport:
    part = labels.sel({s.VIEW: views, s.TIME: slice(span[0], span[1] - 1)})
    tracked = part[s.SOURCE].values == s.PointSource.TRACKED
    return PropagationReport(
        views=tuple(views),
        frames=span,
        tracker=tracker,
        queries=counts[0],
        tracked=counts[1],
        flagged=int((tracked & part[s.REVIEW].values).sum()),
        runs=len(review_queue(part)),
        skipped=tuple(skipped),
    )
