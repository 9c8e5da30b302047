"""Manual anchors -> tracker queries, and the gaps between anchors each query helps fill.

A keypoint of one individual in one view is a *series*. Its manual labels in the tracking range
are its *anchors*, at frames ``m_0 < m_1 < ...``: a point (the keypoint is here) or a hidden
mark (the keypoint is not visible here). The frames between two neighbouring anchors form a
*gap*, and so do the frames before the first anchor and after the last one. Each gap is filled
from the anchors that bound it (pose3d.tracking.fill):

- a point anchor is a query: the forward track of the anchor before the gap and the backward
  track of the anchor after it are blended, each weighed by how near its anchor is;
- a hidden anchor says the keypoint is hidden from there on (until the next anchor, or until the
  tracker is confident it has reappeared), or, as the gap's end, that it was hidden before it.
  Re-appearance is judged on the forward track of the series' last point anchor before the
  hidden one (the gap's *carrier*), which the tracker follows through the whole clip anyway;
- the frames before a first anchor that is hidden are hidden: no track reaches them but through
  the occlusion the mark starts, and an older fill's points there would be stale (a person
  marks the first frame of an occlusion they see; a track from a later point anchor led there).

Re-tracking from a correction (``from_frames``) fills only the gaps next to the anchors on those
frames: a correction changes the frames between its neighbouring anchors, and nothing beyond
them. Everything here is in session frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
NONE = -1  # no anchor on that side


@dataclass(frozen=True)
class Series:
    """The manual anchors of one keypoint of one individual in one view, in the range."""

    keypoint: int  # index into the labels' keypoint coordinate
    individual: int  # index into the labels' individual coordinate
    frames: IntArray  # (M,) session frames of the anchors, increasing
    xy: NDArray[np.float64]  # (M, 2) (x, y) px; NaN where the anchor is a hidden mark

    @property
    def hidden(self) -> NDArray[np.bool_]:
        """(M,) True where the anchor is a hidden mark."""
        return np.asarray(~np.isfinite(self.xy).all(axis=1))

    def point_before(self, j: int) -> int:
        """Index of the last point anchor before anchor ``j`` (NONE if there is none)."""
        points = np.flatnonzero(~self.hidden[:j])
        return int(points[-1]) if points.size else NONE


@dataclass(frozen=True)
class Gap:
    """Frames of one series between two neighbouring anchors (or before the first, after the
    last), filled from the anchors around them."""

    series: Series
    before: int  # index into series.frames of the anchor before the frames (NONE: none)
    after: int  # index of the anchor after them (NONE: none)
    frames: IntArray  # (F,) session frames strictly between them, inside the range
    carrier: int = NONE  # the last point anchor before a hidden ``before`` (NONE: none)

    def queries(self) -> list[int]:
        """The anchors whose tracks fill this gap (point anchors only)."""
        hidden = self.series.hidden
        used = [j for j in (self.before, self.after) if j != NONE and not hidden[j]]
        return used + ([self.carrier] if self.carrier != NONE else [])


def manual_series(
    position: NDArray[np.float64],
    manual: NDArray[np.bool_],
    first_frame: int,
    hidden: NDArray[np.bool_] | None = None,
) -> list[Series]:
    """Series of every (keypoint, individual) with at least one anchor.

    position  # (T, 2, K, I) (x, y) px of one view over the range;  manual  # (T, K, I)
    hidden  # (T, K, I) hidden marks (None: none); first_frame: the session frame of row 0.
    """
    point = manual & np.isfinite(position).all(axis=1)
    mark = manual & ~point & (hidden if hidden is not None else False)
    has = point | mark
    series = []
    for k in range(has.shape[1]):
        for i in range(has.shape[2]):
            rows = np.flatnonzero(has[:, k, i])
            if rows.size:
                xy = np.where(point[rows, k, i, None], position[rows, :, k, i], np.nan)
                series.append(Series(k, i, rows.astype(np.int64) + first_frame, xy))
    return series


def plan(
    series: Sequence[Series], start: int, stop: int, from_frames: Sequence[int] | None = None
) -> list[Gap]:
    """The gaps of ``[start, stop)`` to fill (those with frames inside the range).

    ``from_frames`` None fills every gap; otherwise only the gaps next to the anchors on those
    session frames (re-tracking after a correction).
    """
    chosen = None if from_frames is None else {int(f) for f in from_frames}
    out = []
    for one in series:
        m = len(one.frames)
        hidden = one.hidden
        for before in range(-1, m):
            after = before + 1 if before + 1 < m else NONE
            ends = [one.frames[j] for j in (before, after) if j != NONE]
            if chosen is not None and not chosen.intersection(int(e) for e in ends):
                continue
            lo = int(one.frames[before]) + 1 if before != NONE else start
            hi = int(one.frames[after]) if after != NONE else stop
            frames = np.arange(max(lo, start), min(hi, stop), dtype=np.int64)
            if frames.size == 0:
                continue
            carrier = one.point_before(before) if before != NONE and hidden[before] else NONE
            out.append(Gap(one, before, after, frames, carrier))
    return out


def window(gaps: Sequence[Gap], start: int, stop: int) -> tuple[int, int] | None:
    """Session frames ``[lo, hi)`` a tracker must see: every gap's frames, the frames of the
    anchors whose tracks fill it and, where it has such a track, of its hidden anchors (how the
    tracks look where the person said hidden); None if nothing to do."""
    lo, hi = stop, start
    for g in gaps:
        used = [int(g.series.frames[j]) for j in g.queries()]
        if used:
            ends = [j for j in (g.before, g.after) if j != NONE and g.series.hidden[j]]
            used += [int(g.series.frames[j]) for j in ends]
        lo = min(lo, int(g.frames[0]), *used)
        hi = max(hi, int(g.frames[-1]), *used)
    return None if lo > hi else (lo, hi + 1)
