"""The 2D labels dataset (labels.nc), pure edits of it, and THE merge policy.

``position [time, view, space(x, y), keypoint, individual]`` in pixels (centre of the top-left
pixel = (0, 0); NaN = no point), ``confidence`` (0-1), ``source`` (int8 PointSource) and
``review`` (bool) ``[time, view, keypoint, individual]``. ``time`` counts session frames
(camera frame = session frame - the camera's offset).

The merge policy, used by every writer of points (import, propagation, the TUI's edits):

- **What replaces what.** Sources rank manual > imported > reprojected > tracked > none. A
  tool's (or a file's) point replaces a cell whose source ranks the same or lower, so a new
  tracking replaces an old one but never an imported or a manual point; manual points are
  replaced only by a person (:func:`set_point`, or an import of hand labels, which refuses to
  change a manual point: :func:`manual_conflicts`).
- **Deletions.** A person deletes any point (:func:`set_point` with ``xy=None``). A tool
  retracts only its own earlier guesses: a cell it governs but found nothing for is cleared
  when its source is the tool's own (a tracked point whose track is now lost).
- **Review fields.** Every cell written or cleared has its review flag and the tracker's
  per-point variables (visibility, fb_error, review_score, review_reason) reset; a tool then
  sets what it knows (propagation: visibility and fb_error).

Edits return a new dataset; they never modify their input (``set_point`` may, on request).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from pose3d import schema as s
from pose3d.errors import Pose3dError

# the tracker's per-point variables (pose3d.tracking) and their "unset" values
_TRACK_DEFAULTS = {
    s.VISIBILITY: np.nan,
    s.FB_ERROR: np.nan,
    s.REVIEW_SCORE: np.nan,
    s.REVIEW_REASON: int(s.ReviewReason.NONE),
}


def new_labels(
    n_frames: int,
    views: Sequence[str],
    keypoints: Sequence[str],
    individuals: Sequence[str],
) -> xr.Dataset:
    """An empty labels dataset: every position NaN, source NONE, nothing flagged.

    ``time`` counts session frames (``time_unit = "frames"``, no ``fps`` attribute, as movement
    expects of frame-indexed data; the session's fps is in session.toml).
    """
    if n_frames < 1:
        raise Pose3dError(f"a labels dataset needs at least one frame, got {n_frames}")
    shape = (n_frames, len(views), len(keypoints), len(individuals))
    ds = xr.Dataset(
        {
            s.POSITION: (
                s.LABEL_DIMS[s.POSITION],
                np.full((n_frames, len(views), 2, len(keypoints), len(individuals)), np.nan),
                {s.ATTR_UNIT: "px"},
            ),
            s.CONFIDENCE: (s.LABEL_DIMS[s.CONFIDENCE], np.full(shape, np.nan)),
            s.SOURCE: (s.LABEL_DIMS[s.SOURCE], np.zeros(shape, np.int8)),
            s.REVIEW: (s.LABEL_DIMS[s.REVIEW], np.zeros(shape, bool)),
        },
        coords={
            s.TIME: np.arange(n_frames),
            s.VIEW: list(views),
            s.SPACE: list(s.SPACE_2D),
            s.KEYPOINT: list(keypoints),
            s.INDIVIDUAL: list(individuals),
        },
        attrs={
            s.ATTR_KIND: s.KIND_LABELS,
            s.ATTR_SCHEMA_VERSION: s.SCHEMA_VERSION,
            s.ATTR_SOURCE_SOFTWARE: s.SOURCE_SOFTWARE,
            s.ATTR_DS_TYPE: s.DS_TYPE_POSES,
            s.ATTR_TIME_UNIT: "frames",
        },
    )
    return ds


def set_point(
    labels: xr.Dataset,
    time: int,
    view: str,
    keypoint: str,
    individual: str,
    xy: ArrayLike | None,
    source: s.PointSource = s.PointSource.MANUAL,
    confidence: float = 1.0,
    inplace: bool = False,
) -> xr.Dataset:
    """Place (or, with ``xy=None``, delete) one point; returns a new dataset, or ``labels``
    changed in place with ``inplace`` (a copy costs as much as the labels are long)."""
    out = labels if inplace else labels.copy(deep=True)
    where = {s.TIME: time, s.VIEW: view, s.KEYPOINT: keypoint, s.INDIVIDUAL: individual}
    if xy is None:
        out[s.POSITION].loc[where] = np.nan
        out[s.CONFIDENCE].loc[where] = np.nan
        out[s.SOURCE].loc[where] = s.PointSource.NONE
    else:
        point = np.asarray(xy, dtype=np.float64).reshape(2)
        if not np.all(np.isfinite(point)):
            raise Pose3dError(f"a point must be two finite numbers, got {point.tolist()}")
        out[s.POSITION].loc[where] = point
        out[s.CONFIDENCE].loc[where] = confidence
        out[s.SOURCE].loc[where] = int(source)
    out[s.REVIEW].loc[where] = False
    for name, cleared in _TRACK_DEFAULTS.items():  # a placed or deleted point is no tool's guess
        if name in out.data_vars:
            out[name].loc[where] = cleared
    return out


# sources by rank: a tool's point replaces a cell whose source ranks the same or lower
RANK = {
    s.PointSource.NONE: 0,
    s.PointSource.TRACKED: 1,
    s.PointSource.REPROJECTED: 2,
    s.PointSource.IMPORTED: 3,
    s.PointSource.MANUAL: 4,
}
_SAME_PX = 1e-6  # two manual points closer than this (px) are the same point


def replaceable(current: ArrayLike, incoming: s.PointSource) -> NDArray[np.bool_]:
    """Where a point from ``incoming`` may replace cells whose sources are ``current``."""
    ranks = np.zeros(max(RANK) + 1, np.int8)
    for source, rank in RANK.items():
        ranks[int(source)] = rank
    return np.asarray(ranks[np.asarray(current, np.int64)] <= RANK[incoming])


def manual_conflicts(labels: xr.Dataset, position: xr.DataArray) -> xr.DataArray:
    """Cells (of ``position``'s region) where ``position`` holds a point that would change a
    manual point already in ``labels``: what an import of hand labels must refuse."""
    region = {dim: position[dim].values for dim in position.dims if dim != s.SPACE}
    current = labels[s.POSITION].loc[region]
    manual = labels[s.SOURCE].loc[region] == s.PointSource.MANUAL
    moved = (abs(current - position) > _SAME_PX).any(s.SPACE) | current.isnull().any(s.SPACE)
    return manual & position.notnull().all(s.SPACE) & moved


def merge_points(
    labels: xr.Dataset,
    position: xr.DataArray,
    confidence: xr.DataArray,
    source: s.PointSource,
    *,
    governed: xr.DataArray | None = None,
    extra: Mapping[str, xr.DataArray] | None = None,
) -> tuple[xr.Dataset, xr.DataArray]:
    """Write points from ``source`` into a copy of ``labels`` by the merge policy (module
    docstring); returns the labels and the cells written (bool, over ``position``'s region).

    ``position`` / ``confidence`` may cover any sub-selection of the labels' coordinates; a NaN
    position leaves its cell as it is, unless ``governed`` (bool, same cells) marks the cell as
    one this run answers for: then a point of ``source``'s own there is cleared. ``extra``:
    more per-cell variables (e.g. visibility) set on the written cells, cleared on the
    cleared ones. ``source=MANUAL`` overwrites manual points: check :func:`manual_conflicts`
    first where a file, not a person, brings them.
    """
    if source == s.PointSource.NONE:
        raise ValueError("merge_points writes points; delete them with set_point(xy=None)")
    out = labels.copy(deep=True)
    region = {dim: position[dim].values for dim in position.dims if dim != s.SPACE}
    current = out[s.SOURCE].loc[region]
    has = position.notnull().all(s.SPACE)
    write = has & xr.DataArray(replaceable(current.values, source), dims=current.dims)
    clear = has & False
    if governed is not None:
        clear = governed & ~has & (current == int(source))
    touched = write | clear
    out[s.POSITION].loc[region] = out[s.POSITION].loc[region].where(~write, position)
    out[s.POSITION].loc[region] = out[s.POSITION].loc[region].where(~clear)
    conf = out[s.CONFIDENCE].loc[region].where(~write, confidence.clip(0.0, 1.0))
    out[s.CONFIDENCE].loc[region] = conf.where(~clear)
    src = current.where(~write, int(source)).where(~clear, int(s.PointSource.NONE))
    out[s.SOURCE].loc[region] = src.astype(np.int8)
    out[s.REVIEW].loc[region] = out[s.REVIEW].loc[region].where(~touched, False)
    for name, cleared in _TRACK_DEFAULTS.items():
        if name in out.data_vars:
            column = out[name].loc[region].where(~touched, cleared)
            if extra is not None and name in extra:
                column = column.where(~write, extra[name])
            out[name].loc[region] = column.astype(out[name].dtype)
    return out, write
