"""Frame offsets between cameras, estimated from the 2D labels or tracks themselves.

When a camera's frames are shifted by ``d`` relative to the others, its 2D points belong to a
different instant than the other views', and triangulating them together leaves a large
reprojection error wherever the subject moves. For each camera we pick the shift within
``+-max_offset`` frames that minimises the median reprojection error:

1. each camera against the reference camera alone (two-view triangulation), which does not
   depend on the other cameras' offsets;
2. then, camera by camera, against all views with the other cameras at their current shifts,
   until no shift changes (coordinate descent).

Offsets are relative: the reference camera keeps its offset. A correction ``d`` for a camera
means that its label stored at session frame ``t`` belongs to session frame ``t + d``; the
camera's offset in session.toml grows by ``d`` (camera frame i = session frame i + offset).
"""

from __future__ import annotations

from collections.abc import Sequence
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

MIN_POINTS = 10  # fewest points seen by 2 views for a shift to be scored
MAX_SWEEPS = 5


@dataclass(frozen=True)
class SyncResult:
    """Per view: the correction (frames) to add to its offset, and the median reprojection
    error (px) of every candidate correction ``-max_offset..max_offset`` at the end."""

    reference: str
    corrections: dict[str, int]
    scores: dict[str, tuple[float, ...]]
    max_offset: int
    error_before: float  # median reprojection error (px) without corrections
    error_after: float


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
    """Estimate each view's frame correction from labels ``position`` (see the module doc)."""
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
    shifts = np.zeros(len(names), dtype=int)
    candidates = np.arange(-max_offset, max_offset + 1)
    total = len(names) - 1
    for done, v in enumerate(i for i in range(len(names)) if i != r):
        if progress is not None:
            progress("pairwise offsets", done, total)
        scores = [_score(data, [r, v], {v: d}) for d in candidates.tolist()]
        shifts[v] = candidates[int(np.argmin(scores))]
    if progress is not None:
        progress("pairwise offsets", total, total)
    everyone = list(range(len(names)))
    final_scores: dict[int, list[float]] = {}
    for sweep in range(MAX_SWEEPS):
        if progress is not None:
            progress("joint offsets", sweep, MAX_SWEEPS)
        changed = False
        for v in (i for i in everyone if i != r):
            scores = [
                _score(data, everyone, {**_as_dict(shifts), v: int(d)}) for d in candidates.tolist()
            ]
            final_scores[v] = scores
            best = int(candidates[int(np.argmin(scores))])
            changed |= best != shifts[v]
            shifts[v] = best
        if not changed:
            break
    if progress is not None:
        progress("joint offsets", MAX_SWEEPS, MAX_SWEEPS)
    before = _score(data, everyone, {})
    if not np.isfinite(before) and not np.isfinite(_score(data, everyone, _as_dict(shifts))):
        raise Pose3dError(
            f"too few points are seen by two views at any offset (need {MIN_POINTS}); label or "
            "track more frames in at least two views before syncing"
        )
    return SyncResult(
        reference=ref,
        corrections={names[i]: int(shifts[i]) for i in everyone},
        scores={names[i]: tuple(float(x) for x in final_scores.get(i, ())) for i in everyone},
        max_offset=max_offset,
        error_before=float(before),
        error_after=float(_score(data, everyone, _as_dict(shifts))),
    )


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


def _score(data: _Views, views: list[int], shifts: dict[int, int]) -> float:
    """Median reprojection error (px) of the points triangulated from ``views`` with the views'
    labels moved by ``shifts`` frames; inf when fewer than MIN_POINTS points are seen twice."""
    pixels = np.stack([_shifted(data.pixels[v], shifts.get(v, 0), np.nan) for v in views])
    normalized = np.stack([_shifted(data.normalized[v], shifts.get(v, 0), 0.0) for v in views])
    weights = np.stack([_shifted(data.weights[v], shifts.get(v, 0), 0.0) for v in views])
    n_views = len(views)
    pixels = pixels.reshape(n_views, -1, 2)
    weights = weights.reshape(n_views, -1)
    twice = (weights > 0).sum(axis=0) >= 2
    if twice.sum() < MIN_POINTS:
        return float("inf")
    lens = tuple(data.lenses[v] for v in views)
    points = dlt(
        lens, normalized.reshape(n_views, -1, 2)[:, twice], weights[:, twice], reweight=False
    )
    errors = view_errors(lens, points, pixels[:, twice])
    per_point = mean_error(np.where(np.isfinite(errors), errors, 1e6), weights[:, twice] > 0)
    return float(np.nanmedian(per_point))


def shift_labels(labels: xr.Dataset, corrections: dict[str, int]) -> tuple[xr.Dataset, int]:
    """Move each view's labels by its correction along time (``new[t] = old[t - d]``).

    Every variable with ``time`` and ``view`` dims moves; frames shifted in are empty (NaN,
    source none, not flagged). Returns the new dataset and how many labelled points fell
    outside the time range (they are dropped).
    """
    out = labels.copy(deep=True)
    dropped = 0
    for view, shift in corrections.items():
        if not shift:
            continue
        where = {s.VIEW: view}
        seen = labels[s.POSITION].sel(where).notnull().all(s.SPACE).values  # [T, K, I]
        dropped += int(seen[-shift:].sum() if shift > 0 else seen[:-shift].sum())
        for name, variable in labels.data_vars.items():
            if s.TIME not in variable.dims or s.VIEW not in variable.dims:
                continue
            values = variable.sel(where)  # the view's slice, dims in the variable's order
            axis = values.dims.index(s.TIME)
            moved = _shifted(np.moveaxis(values.values, axis, 0), shift, _empty(values.dtype))
            out[name].loc[where] = np.moveaxis(moved, 0, axis)
    return out, dropped


def _empty(dtype: np.dtype) -> float | int | bool:
    if np.issubdtype(dtype, np.floating):
        return np.nan
    if np.issubdtype(dtype, np.bool_):
        return False
    return int(s.PointSource.NONE)
