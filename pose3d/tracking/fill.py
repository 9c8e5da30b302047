"""Filling a gap between two anchors from the tracks of its anchors (see pose3d.tracking.queries).

Candidates, per frame of the gap:

- the *forward* track of the anchor before the gap (a point anchor), weighed by how near that
  anchor is: ``(b - t) / (b - a)`` for anchors at frames a < t < b (1 without an anchor after);
- the *backward* track of the anchor after the gap, weighed ``(t - a) / (b - a)``;
- after a hidden anchor, the *carrier* (the forward track of the series' last point anchor
  before it) takes the forward track's place from the frame the point has reappeared on.

Each weight is multiplied by the track's confidence, so a track that went wrong yields to the
other one; both anchors are exact and the nearer one counts more (the blend of issue 18, not a
switch at the midpoint). ``fb_error`` is the distance between the two tracks where both count.

Visibility: a gap open on one side (before the first anchor, after the last) is hidden from
the track's first ``RUN`` frames in a row below ``VISIBLE`` on, going away from its anchor:
nothing on that side can confirm a point the track lost, so the tracker's own occlusion call
stands (pose3d.tracking.review flags where it made it). A hidden anchor after the gap hides the
trailing frames where the forward track already says the point is hidden (visibility below the
*bar*); a hidden anchor before the gap hides every frame until the point has *reappeared*:
``RUN`` frames in a row of the carrier with visibility at least the bar (from there the carrier
is used), or, going back from a point anchor after the gap, the frames before the backward
track's first ``RUN`` frames in a row below the bar. The bar is ``VISIBLE``, raised to
``MARGIN`` above the track's own visibility on the hidden anchor's frame: where the person said
"hidden", a track that sits on whatever covers the point may still look alike (the classical
tracker's appearance check compares small patches), and only a clearly better match says the
point is in view (back after the mark; not yet gone before it, where the bar is at most
``BEFORE_MAX``: a person may mark a frame whose track still looks like the point, and the
frames before it that look as good must not all go). A frame no track may be used on is hidden
(a hidden mark from the tracker).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

VISIBLE = 0.2  # a track's visibility at or above this says the point is in view
RUN = 3  # frames in a row that make a change of visibility believed
MARGIN = 0.2  # above a track's visibility at a hidden mark: the point is back
BEFORE_MAX = 0.9  # the bar before a hidden mark goes no higher (a track at 0.9 sees the point)
_FLOOR = 1e-6  # keeps a weight positive where every track's confidence is 0


@dataclass(frozen=True)
class Track:
    """One query's track over the frames of a gap."""

    xy: FloatArray  # (F, 2) px
    visibility: FloatArray  # (F,)
    confidence: FloatArray  # (F,)
    at_mark: float = float("nan")  # its visibility on the frame of a hidden anchor before
    at_next: float = float("nan")  # its visibility on the frame of a hidden anchor after


@dataclass(frozen=True)
class Filled:
    """A gap's values: a point, or a hidden mark, per frame."""

    xy: FloatArray  # (F, 2) px, NaN where hidden
    hidden: BoolArray  # (F,)
    visibility: FloatArray  # (F,); where hidden, the best of the tracks' (NaN: no track)
    confidence: FloatArray  # (F,) 0 where hidden
    fb_error: FloatArray  # (F,) px, NaN where fewer than two tracks count


def fill_gap(
    frames: NDArray[np.int64],
    anchors: tuple[int | None, int | None],
    hidden: tuple[bool, bool],
    forward: Track | None,
    backward: Track | None,
    carrier: Track | None = None,
) -> Filled:
    """Fill ``frames`` (session frames, increasing) between the anchors at frames
    ``anchors = (a, b)`` (None: no anchor on that side) whose hidden states are ``hidden``;
    ``forward`` / ``backward``: the tracks of the point anchors a / b (None where the anchor is
    hidden or absent); ``carrier``: the forward track of the last point anchor before a hidden
    anchor a."""
    n = len(frames)
    a, b = anchors
    t = frames.astype(np.float64)
    span = float(b - a) if a is not None and b is not None else 1.0
    near_a = (b - t) / span if a is not None and b is not None else np.ones(n)
    near_b = (t - a) / span if a is not None and b is not None else np.ones(n)
    candidates: list[tuple[Track, FloatArray, BoolArray]] = []
    if forward is not None:
        use = np.ones(n, bool)
        if b is None:  # nothing after: a track that lost the point is not believed again
            use &= ~_low_from_first_run(forward.visibility, VISIBLE)
        if hidden[1]:
            use &= ~_trailing_low(forward.visibility, _bar_before(forward))
        candidates.append((forward, near_a, use))
    if carrier is not None:
        use = _reappeared(carrier.visibility, _bar(carrier, carrier.at_mark))
        if hidden[1]:
            use &= ~_trailing_low(carrier.visibility, _bar_before(carrier))
        candidates.append((carrier, near_a, use))
    if backward is not None:
        use = np.ones(n, bool)
        if a is None:  # nothing before: likewise, going back
            use = _visible_back_from_end(backward.visibility, VISIBLE)
        if hidden[0]:
            use = _visible_back_from_end(backward.visibility, _bar(backward, backward.at_mark))
        candidates.append((backward, near_b, use))
    return _blend(n, candidates)


def _blend(n: int, candidates: list[tuple[Track, FloatArray, BoolArray]]) -> Filled:
    total = np.zeros(n)
    xy = np.zeros((n, 2))
    visibility = np.zeros(n)
    confidence = np.zeros(n)
    for track, near, use in candidates:
        weight = np.where(use, near * (np.clip(track.confidence, 0.0, 1.0) + _FLOOR), 0.0)
        weight = np.where(np.isfinite(track.xy).all(axis=1), weight, 0.0)
        total += weight
        xy += weight[:, None] * np.nan_to_num(track.xy)
        visibility += weight * track.visibility
        confidence += weight * track.visibility * track.confidence
    hidden = total <= 0
    likeness = np.full(n, np.nan)  # where hidden: how much the tracks still look like the point
    for track, _, _ in candidates:
        likeness = np.fmax(likeness, track.visibility)
    with np.errstate(invalid="ignore", divide="ignore"):
        xy = np.where(hidden[:, None], np.nan, xy / total[:, None])
        visibility = np.where(hidden, likeness, visibility / total)
        confidence = np.where(hidden, 0.0, np.clip(confidence / total, 0.0, 1.0))
    fb_error = np.full(n, np.nan)
    used = [(track, use) for track, _, use in candidates]
    if len(used) >= 2:
        (one, use_one), (two, use_two) = used[0], used[-1]
        both = use_one & use_two
        fb_error[both] = np.linalg.norm(one.xy[both] - two.xy[both], axis=1)
    return Filled(xy, hidden, visibility, confidence, fb_error)


def _bar(track: Track, at_mark: float) -> float:
    """The visibility that says "in view" for a track next to a hidden anchor: ``VISIBLE``, or
    ``MARGIN`` above what the track showed (``at_mark``) where the person said the point is
    hidden."""
    if not np.isfinite(at_mark):
        return VISIBLE
    return max(VISIBLE, float(at_mark) + MARGIN)


def _bar_before(track: Track) -> float:
    """The bar before a hidden anchor: :func:`_bar` of the track's visibility on the mark's
    frame, at most ``BEFORE_MAX``: where the track looked like the point on the mark's frame,
    a frame that looked clearly like it (a visible point, not its look-alike) still counts."""
    return min(_bar(track, track.at_next), BEFORE_MAX)


def _low_runs(visibility: FloatArray, bar: float) -> BoolArray:
    """True on every frame of a run of at least ``RUN`` frames below ``bar``."""
    low = ~(np.nan_to_num(visibility, nan=0.0) >= bar)
    out = np.zeros(len(low), bool)
    start = None
    for i, is_low in enumerate([*low.tolist(), False]):
        if is_low and start is None:
            start = i
        elif not is_low and start is not None:
            if i - start >= RUN:
                out[start:i] = True
            start = None
    return out


def _low_from_first_run(visibility: FloatArray, bar: float) -> BoolArray:
    """True from the first run of ``RUN`` frames below ``bar`` on."""
    runs = _low_runs(visibility, bar)
    out = np.zeros(len(runs), bool)
    hits = np.flatnonzero(runs)
    if hits.size:
        out[hits[0] :] = True
    return out


def _trailing_low(visibility: FloatArray, bar: float) -> BoolArray:
    """The frames at the end where the track already says hidden (below ``bar``; before a
    hidden anchor)."""
    low = ~(np.nan_to_num(visibility, nan=0.0) >= bar)
    out = np.zeros(len(low), bool)
    i = len(low)
    while i > 0 and low[i - 1]:
        i -= 1
    out[i:] = True
    return out


def _reappeared(visibility: FloatArray, bar: float) -> BoolArray:
    """True from the first of ``RUN`` frames in a row at or above ``bar`` on."""
    high = np.nan_to_num(visibility, nan=0.0) >= bar
    out = np.zeros(len(high), bool)
    for i in range(len(high) - RUN + 1):
        if high[i : i + RUN].all():
            out[i:] = True
            break
    return out


def _visible_back_from_end(visibility: FloatArray, bar: float) -> BoolArray:
    """Going back from the end: True until the first run of ``RUN`` frames below ``bar`` (which,
    and all before it, are False): where the point was in view before the anchor after the gap."""
    runs = _low_runs(visibility, bar)
    out = np.ones(len(runs), bool)
    hits = np.flatnonzero(runs)
    if hits.size:
        out[: hits[-1] + 1] = False
    return out
