"""The review loop without the TUI: the queue of a session, one point edited, a re-track.

What the Label screen does with keys, for a script, a test or a benchmark (``pose3d review``,
``pose3d edit``):

- :func:`queue` — the review queue of labels.nc (pose3d.tracking.review.review_queue);
- :func:`edit_point` — place (or move) a point, mark the keypoint hidden, accept the point that
  is there (it becomes a manual anchor, as the person says "this is right", and the flags of
  its run are cleared), or delete it;
  labels.nc is written at once, atomically, under the folder's lock;
- :func:`retrack` — re-track one view from one frame's anchors (the TUI's ``r``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.label_cells import Cell, CellIndex
from pose3d.labels import set_hidden, set_point
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.track import propagate
from pose3d.progress import ProgressCallback
from pose3d.tracking.base import PointTracker
from pose3d.tracking.propagate import PropagationReport
from pose3d.tracking.review import ReviewItem, clear_runs, review_queue


class Action(Enum):
    """What :func:`edit_point` does to a cell."""

    PLACE = "place"  # a manual point at the given (x, y): new, or moved
    HIDE = "hide"  # the keypoint is not visible here (a manual hidden mark)
    ACCEPT = "accept"  # the point there is right: it becomes manual, where it is, and the
    # flags of its run (the frames around it the same track carries) are cleared
    DELETE = "delete"  # no point and no mark (not labelled)


@dataclass(frozen=True)
class PointEdit:
    """What :func:`edit_point` did."""

    action: Action
    cell: Cell
    before: tuple[float, float] | None  # the point there before (None: none)
    after: tuple[float, float] | None  # the point there after (None: none, or hidden)
    source_before: s.PointSource
    hidden_before: bool
    written: bool = True  # labels.nc was written (False: the edit changed nothing)

    def describe(self) -> str:
        c = self.cell
        where = f"{c.keypoint} ({c.individual}) in {c.view} at frame {c.frame}"
        was = _said(self.before, self.source_before, self.hidden_before)
        if self.action is Action.HIDE:
            if self.hidden_before and self.source_before == s.PointSource.MANUAL:
                return f"{where}: already marked hidden by a person, nothing changed"
            return f"{where}: marked hidden (was {was})"
        if self.action is Action.DELETE:
            return f"{where}: deleted (was {was})"
        assert self.after is not None
        now = f"({self.after[0]:.2f}, {self.after[1]:.2f}) px"
        verb = "accepted at" if self.action is Action.ACCEPT else "placed at"
        return f"{where}: {verb} {now}, manual (was {was})"


def queue(folder: SessionFolder, views: Sequence[str] | None = None) -> list[ReviewItem]:
    """The review queue of the session's labels.nc, worst first (only ``views``, if given)."""
    items = review_queue(folder.labels_in_parts())  # a long recording: a part at a time
    if views is not None:
        known = folder.session.camera_names
        unknown = [v for v in views if v not in known]
        if unknown:
            raise Pose3dError(
                f"unknown view(s) {', '.join(unknown)}; this session's views are {', '.join(known)}"
            )
        items = [item for item in items if item.view in views]
    return items


def edit_point(
    folder: SessionFolder,
    cell: Cell,
    action: Action,
    xy: tuple[float, float] | None = None,
) -> PointEdit:
    """Apply one person's edit to ``cell`` of labels.nc and write it (``xy``: where, for PLACE).
    ACCEPT needs a point there; a name or frame the labels do not have is refused, naming it."""
    labels = folder.labels_or_new()
    index = CellIndex(labels)(cell)
    before = _point(labels, index)
    source = s.PointSource(int(labels[s.SOURCE].values[index]))
    hidden = s.HIDDEN in labels.data_vars and bool(labels[s.HIDDEN].values[index])
    where = (cell.frame, cell.view, cell.keypoint, cell.individual)
    if action is Action.PLACE:
        if xy is None or not np.all(np.isfinite(xy)):
            raise Pose3dError(f"placing a point needs its x and y in pixels, got {xy}")
        width, height = _image_size(folder, cell.view)
        if not (-0.5 <= xy[0] <= width - 0.5 and -0.5 <= xy[1] <= height - 0.5):
            raise Pose3dError(
                f"({xy[0]}, {xy[1]}) is outside {cell.view}'s images ({width} x {height} px); "
                "give pixel coordinates, (0, 0) the centre of the top-left pixel"
            )
        out = set_point(labels, *where, (float(xy[0]), float(xy[1])))
    elif action is Action.ACCEPT:
        if before is None and hidden:
            raise Pose3dError(
                f"nothing to accept: {cell.keypoint} is marked hidden in {cell.view} at frame "
                f"{cell.frame} ({source.name.lower()}); --hidden makes the mark a person's, "
                "--at X,Y places the point"
            )
        if before is None:
            raise Pose3dError(
                f"nothing to accept: {cell.keypoint} has no point in {cell.view} at frame "
                f"{cell.frame}; place one (--at X,Y) or mark it hidden (--hidden)"
            )
        out = clear_runs(set_point(labels, *where, before), index)
    elif action is Action.HIDE:
        if hidden and source == s.PointSource.MANUAL:  # said already: nothing to write
            return PointEdit(action, cell, before, before, source, hidden, written=False)
        out = set_hidden(labels, *where)
    else:
        out = set_point(labels, *where, None)
    folder.save_labels(out)
    return PointEdit(action, cell, before, _point(out, index), source, hidden)


def retrack(
    folder: SessionFolder,
    view: str,
    frame: int,
    tracker: PointTracker,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> PropagationReport:
    """Re-track ``view`` over the whole labels from frame ``frame``'s anchors (the TUI's ``r``):
    only the frames up to the neighbouring anchors change."""
    return propagate(
        folder, [view], None, tracker, from_frames=[frame], progress=progress, cancel=cancel
    )


def item_dict(rank: int, item: ReviewItem) -> dict[str, object]:
    """One queue item as JSON-ready values."""
    return {
        "rank": rank,
        "frame": item.frame,
        "last_frame": item.last_frame,
        "frames": item.frames,
        "worst_frame": item.worst_frame,
        "view": item.view,
        "keypoint": item.keypoint,
        "individual": item.individual,
        "score": round(item.score, 3) if np.isfinite(item.score) else None,
        "reason": item.reason.name.lower(),
    }


def _point(labels: xr.Dataset, index: tuple[int, int, int, int]) -> tuple[float, float] | None:
    t, v, k, i = index
    xy = labels[s.POSITION].values[t, v, :, k, i]
    return (float(xy[0]), float(xy[1])) if np.isfinite(xy).all() else None


def _image_size(folder: SessionFolder, view: str) -> tuple[int, int]:
    from pose3d.io.video_reading import VideoReader

    with VideoReader(folder.videos()[view].path) as reader:
        return reader.size


def _said(xy: tuple[float, float] | None, source: s.PointSource, hidden: bool) -> str:
    if hidden:
        return f"hidden, {source.name.lower()}"
    if xy is None:
        return "not labelled"
    return f"({xy[0]:.2f}, {xy[1]:.2f}) px, {source.name.lower()}"
