"""Manual points -> tracker queries, and which frames each query governs.

A keypoint of one individual in one view is a *series*. Its manual frames ``m_0 < m_1 < ...``
in the tracking range each become a query, and each query governs the frames nearer to it than
to any other manual frame of the series (ties go to the earlier manual frame): with manual
frames 0 and 10, frames 1-5 follow the query of frame 0 and frames 6-9 the query of frame 10.
Frames between two manual frames are covered by the forward track of the earlier query and the
backward track of the later one; their distance is the series' forward-backward disagreement.

Re-tracking from a correction tracks only the queries on the corrected frames
(``from_frames``): only the frames they govern change. Everything here is in session frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Series:
    """The manual points of one keypoint of one individual in one view, in the range."""

    keypoint: int  # index into the labels' keypoint coordinate
    individual: int  # index into the labels' individual coordinate
    frames: IntArray  # (M,) session frames of the manual points, increasing
    xy: NDArray[np.float64]  # (M, 2) (x, y) px


@dataclass(frozen=True)
class Governed:
    """Frames of one series written from one tracked query."""

    series: Series
    query: int  # index into series.frames of the governing query
    frames: IntArray  # (F,) session frames it governs (its own frame excluded: it is manual)
    other: NDArray[np.int64]  # (F,) index of the manual frame on the other side, -1 if none


def manual_series(
    position: NDArray[np.float64], manual: NDArray[np.bool_], first_frame: int
) -> list[Series]:
    """Series of every (keypoint, individual) with at least one manual point.

    position  # (T, 2, K, I) (x, y) px of one view over the range;  manual  # (T, K, I)
    first_frame: the session frame of row 0.
    """
    has = manual & np.isfinite(position).all(axis=1)
    series = []
    for k in range(has.shape[1]):
        for i in range(has.shape[2]):
            rows = np.flatnonzero(has[:, k, i])
            if rows.size:
                xy = position[rows, :, k, i]
                series.append(Series(k, i, rows.astype(np.int64) + first_frame, xy))
    return series


def governing(manual_frames: IntArray, frames: IntArray) -> IntArray:
    """Index of the manual frame nearest to each frame (ties: the earlier one).

    manual_frames  # (M,) increasing;  frames  # (F,)  ->  (F,) indices into manual_frames
    """
    # the boundary between m_j and m_j+1 is their midpoint; a frame on it goes to m_j
    midpoints = (manual_frames[:-1] + manual_frames[1:]) / 2.0
    return np.searchsorted(midpoints, frames, side="left").astype(np.int64)


def plan(
    series: Sequence[Series], start: int, stop: int, from_frames: Sequence[int] | None = None
) -> list[Governed]:
    """The frames of ``[start, stop)`` each tracked query writes.

    ``from_frames`` None tracks every query; otherwise only the queries on those session frames
    (re-tracking after a correction), whose governed frames are then the only ones written.
    """
    chosen = None if from_frames is None else {int(f) for f in from_frames}
    frames = np.arange(start, stop, dtype=np.int64)
    out = []
    for one in series:
        owner = governing(one.frames, frames)
        for j, frame in enumerate(one.frames.tolist()):
            if chosen is not None and frame not in chosen:
                continue
            mine = frames[(owner == j) & (frames != frame)]
            after = mine > frame
            other = np.where(after, j + 1, j - 1)
            other[(other < 0) | (other >= len(one.frames))] = -1
            out.append(Governed(one, j, mine, other.astype(np.int64)))
    return out


def window(governed: Sequence[Governed], start: int, stop: int) -> tuple[int, int] | None:
    """Session frames ``[lo, hi)`` a tracker must see: every written frame and the manual frames
    of the queries involved (the tracked ones and their neighbours); None if nothing to do."""
    lo, hi = stop, start
    for g in governed:
        frames = g.series.frames
        used = [frames[g.query], *g.frames.tolist()]
        used += [frames[o] for o in set(g.other.tolist()) if o >= 0]
        lo, hi = min(lo, *used), max(hi, *used)
    return None if lo > hi else (lo, hi + 1)
