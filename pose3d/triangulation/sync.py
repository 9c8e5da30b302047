"""Frame offsets between cameras, estimated from the 2D labels or tracks themselves.

When a camera's frames are shifted by ``d`` relative to the others, its 2D points belong to a
different instant than the other views', and triangulating them together leaves a large
reprojection error wherever the subject moves. For each camera we pick the shift within
``+-max_offset`` frames that minimises the median reprojection error of its points:

1. each camera against the reference camera alone (two-view triangulation), which does not
   depend on the other cameras' offsets;
2. then, camera by camera, against all views with the other cameras at their current shifts,
   until no shift changes (coordinate descent).

A candidate shift of a camera is scored only when at least MIN_POINTS of the camera's points
are also seen by another view at that shift. When some candidate cannot be scored, the labels
cannot tell the shifts apart (one labelled frame says nothing about time), so the estimate is
refused (:class:`TooFewLabels`), never guessed. An estimate that does not lower the median
reprojection error of all views below the current offsets' is not applied: the current offsets
are kept (``SyncResult.kept_current``).

Offsets are relative: the reference camera keeps its offset. A correction ``d`` for a camera
means that its label stored at session frame ``t`` belongs to session frame ``t + d``; the
camera's offset in session.toml grows by ``d`` (camera frame i = session frame i + offset).
:func:`shift_labels` moves the labels so; it refuses to push a manual point out of the labels'
frames and counts the other points it drops.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.progress import ProgressCallback
from pose3d.triangulation.dlt import clean_observations, dlt
from pose3d.triangulation.observations import observations
from pose3d.triangulation.projection import Lens, lenses, undistort
from pose3d.triangulation.reprojection import mean_error, view_errors

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

MIN_POINTS = 10  # fewest of a camera's points seen by another view for a shift to be scored
MAX_SWEEPS = 5


class TooFewLabels(Pose3dError):
    """The labels cannot score every candidate shift of some camera. ``why`` says which and
    why; ``frames_needed``: consecutive frames to label or track in every view."""

    def __init__(self, why: str, frames_needed: int) -> None:
        super().__init__(
            f"{why}; label or track at least {frames_needed} consecutive frames in every view "
            "first (a point tracker fills them from one labelled frame), or search a narrower "
            "range of offsets"
        )
        self.why = why
        self.frames_needed = frames_needed


@dataclass(frozen=True)
class SyncResult:
    """Per view: the correction (frames) to add to its offset, and the median reprojection
    error (px) of its points for every candidate correction ``-max_offset..max_offset`` at the
    end. ``estimate``: the corrections found; ``corrections`` are they, or all 0 when they do
    not lower the error (``kept_current``)."""

    reference: str
    corrections: dict[str, int]
    scores: dict[str, tuple[float, ...]]
    max_offset: int
    error_before: float  # median reprojection error (px) of all views without corrections
    error_after: float  # ... with ``corrections``: finite, and never above error_before
    estimate: dict[str, int]
    error_estimate: float  # ... with ``estimate``

    @property
    def kept_current(self) -> bool:
        """The estimate moves some camera but is no better than the current offsets."""
        return self.corrections != self.estimate


@dataclass(frozen=True, eq=False)
class _Views:
    lenses: tuple[Lens, ...]
    pixels: FloatArray  # [V, T, M, 2]
    normalized: FloatArray  # [V, T, M, 2]
    weights: FloatArray  # [V, T, M]


def estimate_offsets(
    position: xr.DataArray,
    cameras: CameraGroup,
    confidence: xr.DataArray | None = None,
    *,
    views: Sequence[str] | None = None,
    reference: str | None = None,
    max_offset: int = 10,
    progress: ProgressCallback | None = None,
) -> SyncResult:
    """Estimate each view's frame correction from labels ``position`` (see the module doc).
    Raises :class:`TooFewLabels` when some candidate shift of a camera cannot be scored."""
    if max_offset < 0:
        raise Pose3dError(f"max_offset must be >= 0 frames, got {max_offset}")
    obs = observations(position, cameras, confidence, views)
    names = obs.views
    ref = names[0] if reference is None else reference
    if ref not in names:
        raise Pose3dError(f"reference camera {ref!r} is not one of the views {', '.join(names)}")
    n_time = position.sizes[s.TIME]
    if 2 * max_offset >= n_time:
        raise Pose3dError(
            f"max_offset {max_offset} is too large for {n_time} frames; use at most "
            f"{max(0, (n_time - 1) // 2)}"
        )
    data = _views(obs.cameras, obs.pixels, obs.weights, n_time)
    r = names.index(ref)
    candidates = list(range(-max_offset, max_offset + 1))
    shifts = _pairwise(data, r, candidates, progress)
    scores = _descend(data, r, shifts, candidates, progress)
    unscored = {v: sum(not math.isfinite(x) for x in scores[v]) for v in scores}
    if any(unscored.values()):
        raise _too_few(data, names, shifts, unscored, max_offset)
    everyone = list(range(len(names)))
    before = _score(data, everyone, {})
    found = _score(data, everyone, _as_dict(shifts))
    estimate = {names[i]: int(shifts[i]) for i in everyone}
    better = math.isfinite(found) and found < before
    return SyncResult(
        reference=ref,
        corrections=estimate if better else dict.fromkeys(names, 0),
        scores={names[i]: tuple(scores.get(i, ())) for i in everyone},
        max_offset=max_offset,
        error_before=before,
        error_after=found if better else before,
        estimate=estimate,
        error_estimate=found,
    )


def _pairwise(
    data: _Views, r: int, candidates: list[int], progress: ProgressCallback | None
) -> NDArray[np.int_]:
    """Each camera's best shift against the reference alone; 0 where some candidate cannot be
    scored (the joint sweeps decide those)."""
    n_views = len(data.lenses)
    shifts = np.zeros(n_views, dtype=int)
    others = [v for v in range(n_views) if v != r]
    for done, v in enumerate(others):
        if progress is not None:
            progress("pairwise offsets", done, len(others))
        scores = [_score(data, [r, v], {v: d}) for d in candidates]
        if all(math.isfinite(x) for x in scores):
            shifts[v] = candidates[int(np.argmin(scores))]
    if progress is not None:
        progress("pairwise offsets", len(others), len(others))
    return shifts


def _descend(
    data: _Views,
    r: int,
    shifts: NDArray[np.int_],
    candidates: list[int],
    progress: ProgressCallback | None,
) -> dict[int, list[float]]:
    """Coordinate descent over the cameras' shifts (``shifts`` is updated in place); returns
    each camera's scores of the last sweep. An unscored candidate (inf) is never chosen."""
    everyone = list(range(len(data.lenses)))
    scores: dict[int, list[float]] = {}
    for sweep in range(MAX_SWEEPS):
        if progress is not None:
            progress("joint offsets", sweep, MAX_SWEEPS)
        changed = False
        for v in (i for i in everyone if i != r):
            current = _as_dict(shifts)
            scores[v] = [_score(data, everyone, {**current, v: d}, focus=v) for d in candidates]
            if not any(math.isfinite(x) for x in scores[v]):
                continue
            best = candidates[int(np.argmin(scores[v]))]
            changed |= best != shifts[v]
            shifts[v] = best
        if not changed:
            break
    if progress is not None:
        progress("joint offsets", MAX_SWEEPS, MAX_SWEEPS)
    return scores


def _too_few(
    data: _Views,
    names: tuple[str, ...],
    shifts: NDArray[np.int_],
    unscored: dict[int, int],
    max_offset: int,
) -> TooFewLabels:
    """Which cameras cannot be scored, with how many frames each has labelled, and how many
    consecutive labelled frames would score every shift."""
    seen = _seen(data, list(range(len(names))), _as_dict(shifts))  # [V, T, M]
    shared = seen & (seen.sum(axis=0) >= 2)  # points also seen by another view
    details = []
    needed = 0
    for v, count in unscored.items():
        if not count:
            continue
        frames = int(seen[v].any(axis=1).sum())
        per_frame = int(shared[v].sum(axis=1).max())
        needed = max(needed, max_offset + math.ceil(MIN_POINTS / max(per_frame, 1)))
        details.append(
            f"{names[v]} {count} of {2 * max_offset + 1} (points in {frames} "
            f"frame{'s' * (frames != 1)}, at most {per_frame} a frame seen by another view too)"
        )
    why = (
        "cannot estimate the frame offsets: too few points are seen by two views (a shift is "
        f"scored only when at least {MIN_POINTS} of the camera's points are seen by another "
        f"view too). Shifts of -{max_offset}..+{max_offset} frames that cannot be scored: "
        f"{', '.join(details)}"
    )
    return TooFewLabels(why, needed)


def _as_dict(shifts: NDArray[np.int_]) -> dict[int, int]:
    return {i: int(d) for i, d in enumerate(shifts) if d}


def _views(cameras: CameraGroup, pixels: FloatArray, weights: FloatArray, n_time: int) -> _Views:
    lens = lenses(cameras)
    normalized, clean = clean_observations(undistort(lens, pixels), weights)
    n_views = len(lens)
    return _Views(
        lens,
        pixels.reshape(n_views, n_time, -1, 2),
        normalized.reshape(n_views, n_time, -1, 2),
        clean.reshape(n_views, n_time, -1),
    )


def _shifted(values: FloatArray, shift: int, fill: float) -> FloatArray:
    """``out[t] = values[t - shift]`` along axis 0 ([T, ...]); frames shifted in get ``fill``."""
    if shift == 0:
        return values
    out = np.full_like(values, fill)
    if shift > 0:
        out[shift:] = values[:-shift]
    else:
        out[:shift] = values[-shift:]
    return out


def _seen(data: _Views, views: list[int], shifts: Mapping[int, int]) -> BoolArray:
    """[len(views), T, M]: which points each view sees with its labels moved by ``shifts``."""
    return np.stack([_shifted(data.weights[v], shifts.get(v, 0), 0.0) > 0 for v in views])


def _score(
    data: _Views, views: list[int], shifts: Mapping[int, int], focus: int | None = None
) -> float:
    """Median reprojection error (px) of the points triangulated from ``views`` with the views'
    labels moved by ``shifts`` frames: of every point seen twice, or with ``focus`` of the
    points that view sees with another. inf when fewer than MIN_POINTS such points."""
    pixels = np.stack([_shifted(data.pixels[v], shifts.get(v, 0), np.nan) for v in views])
    normalized = np.stack([_shifted(data.normalized[v], shifts.get(v, 0), 0.0) for v in views])
    weights = np.stack([_shifted(data.weights[v], shifts.get(v, 0), 0.0) for v in views])
    n_views = len(views)
    pixels = pixels.reshape(n_views, -1, 2)
    weights = weights.reshape(n_views, -1)
    twice = (weights > 0).sum(axis=0) >= 2
    if focus is not None:
        twice &= weights[views.index(focus)] > 0
    if twice.sum() < MIN_POINTS:
        return float("inf")
    lens = tuple(data.lenses[v] for v in views)
    points = dlt(
        lens, normalized.reshape(n_views, -1, 2)[:, twice], weights[:, twice], reweight=False
    )
    errors = view_errors(lens, points, pixels[:, twice])
    per_point = mean_error(np.where(np.isfinite(errors), errors, 1e6), weights[:, twice] > 0)
    return float(np.nanmedian(per_point))


def shifted_out(
    labels: xr.Dataset, corrections: Mapping[str, int]
) -> dict[str, dict[s.PointSource, int]]:
    """Per view with a correction, the labelled cells (a position, or a source such as a manual
    mark without one) that moving its labels by it pushes out of the labels' frames, by source.
    Views without such cells are left out."""
    out: dict[str, dict[s.PointSource, int]] = {}
    for view, shift in corrections.items():
        lost = _leaving(labels, view, shift)  # [T, K, I]
        sources = _sources(labels, view)[lost]
        counts = {
            s.PointSource(int(k)): int(n)
            for k, n in zip(*np.unique(sources, return_counts=True), strict=True)
        }
        if counts:
            out[view] = counts
    return out


def _leaving(labels: xr.Dataset, view: str, shift: int) -> BoolArray:
    """[T, K, I]: the view's labelled cells that a shift of ``shift`` frames moves out."""
    where = {s.VIEW: view}
    position = labels[s.POSITION].sel(where).transpose(s.TIME, s.SPACE, s.KEYPOINT, s.INDIVIDUAL)
    labelled = position.notnull().all(s.SPACE).values | (
        _sources(labels, view) != s.PointSource.NONE
    )
    leaving = np.zeros_like(labelled)
    if shift > 0:
        leaving[-shift:] = True
    elif shift < 0:
        leaving[:-shift] = True
    return np.asarray(labelled & leaving)


def _sources(labels: xr.Dataset, view: str) -> NDArray[np.int8]:
    """[T, K, I]: the view's ``source`` (PointSource values)."""
    return np.asarray(
        labels[s.SOURCE].sel({s.VIEW: view}).transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL).values
    )


def shift_labels(
    labels: xr.Dataset, corrections: Mapping[str, int]
) -> tuple[xr.Dataset, dict[str, dict[s.PointSource, int]]]:
    """Move each view's labels by its correction along time (``new[t] = old[t - d]``).

    Every variable with ``time`` and ``view`` dims moves; frames shifted in are empty (NaN,
    source none, not flagged). A manual point is never dropped: a correction that would push
    one out of the labels' frames raises, naming the view, the points and what to do. Returns
    the new dataset and, per view and source, the other points that fell out (dropped).
    """
    _refuse_manual_loss(labels, corrections)
    out = labels.copy(deep=True)
    for view, shift in corrections.items():
        if not shift:
            continue
        where = {s.VIEW: view}
        for name, variable in labels.data_vars.items():
            if s.TIME not in variable.dims or s.VIEW not in variable.dims:
                continue
            values = variable.sel(where)  # the view's slice, dims in the variable's order
            axis = values.dims.index(s.TIME)
            moved = _shifted(np.moveaxis(values.values, axis, 0), shift, _empty(values.dtype))
            out[name].loc[where] = np.moveaxis(moved, 0, axis)
    return out, shifted_out(labels, corrections)


def _refuse_manual_loss(labels: xr.Dataset, corrections: Mapping[str, int]) -> None:
    time = labels[s.TIME].values
    problems = []
    for view, shift in corrections.items():
        manual = _leaving(labels, view, shift) & (_sources(labels, view) == s.PointSource.MANUAL)
        if not manual.any():
            continue
        frames = time[manual.any(axis=(1, 2))]
        edge = f"before frame {time[0]}" if shift < 0 else f"past frame {time[-1]}"
        count = int(manual.sum())
        problems.append(
            f"{view}: a change of {shift:+d} frames would push {count} manual "
            f"point{'s' * (count != 1)} (frames {_span(frames)}) {edge}, out of the labels"
        )
    if problems:
        raise Pose3dError(
            f"{'; '.join(problems)}. Manual points are never dropped, so the labels were not "
            "moved. If the change is right, delete or move those points first (the labelling "
            "TUI, pose3d tui), then sync again; if not, label or track more frames so that the "
            "estimate improves"
        )


def _span(frames: NDArray[np.generic]) -> str:
    first, last = frames[0], frames[-1]
    return str(first) if first == last else f"{first}-{last}"


def _empty(dtype: np.dtype) -> float | int | bool:
    if np.issubdtype(dtype, np.floating):
        return np.nan
    if np.issubdtype(dtype, np.bool_):
        return False
    return int(s.PointSource.NONE)
