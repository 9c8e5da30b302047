"""The 2D labels dataset (labels.nc), pure edits of it, and THE merge policy.

``position [time, view, space(x, y), keypoint, individual]`` in pixels (centre of the top-left
pixel = (0, 0); NaN = no point), ``confidence`` (0-1), ``source`` (int8 PointSource),
``review`` (bool) and ``hidden`` (bool) ``[time, view, keypoint, individual]``. ``time`` counts
session frames (camera frame = session frame - the camera's offset).

A cell is in one of three states: empty (no point, source NONE: not labelled yet), a point
(finite position), or a *hidden mark* (``hidden`` True, position NaN, confidence 0): its
``source`` says the keypoint is not visible there, a person (MANUAL), a file (IMPORTED) or a
tool (TRACKED, REPROJECTED). A hidden mark is a label like a point: it has the provenance of
whoever made it and merges by the same ranks.

The merge policy, used by every writer of points (import, propagation, the TUI's edits):

- **What replaces what.** Sources rank manual > imported > reprojected > tracked > none. A
  tool's (or a file's) point or hidden mark replaces a cell whose source ranks the same or
  lower, so a new tracking replaces an old one but never an imported or a manual point or
  hidden mark; manual labels are replaced only by a person (:func:`set_point`,
  :func:`set_hidden`, or an import of hand labels, which refuses to change a manual label:
  :func:`manual_conflicts`). A point written into a cell clears its hidden mark and a hidden
  mark its point: one cell holds one of them.
- **Deletions.** A person deletes any point or hidden mark (:func:`set_point` with
  ``xy=None``). A tool retracts only its own earlier guesses: a cell it governs but found
  nothing for (neither a point nor a hidden mark) is cleared when its source is the tool's own
  (a tracked point whose track is now lost).
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
from pose3d.label_cells import with_hidden

# the tracker's per-point variables (pose3d.tracking) and their "unset" values
_TRACK_DEFAULTS = {
    s.VISIBILITY: np.nan,
    s.FB_ERROR: np.nan,
    s.DISAGREEMENT: np.nan,
    s.REVIEW_SCORE: np.nan,
    s.REVIEW_REASON: int(s.ReviewReason.NONE),
}


def new_labels(
    n_frames: int,
    views: Sequence[str],
    keypoints: Sequence[str],
    individuals: Sequence[str],
) -> xr.Dataset:
    """An empty labels dataset: every position NaN, source NONE, nothing flagged or hidden.

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
            s.HIDDEN: (s.MARK_DIMS[s.HIDDEN], np.zeros(shape, bool)),
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
    changed in place with ``inplace`` (a copy costs as much as the labels are long). Either
    clears the cell's hidden mark."""
    out = labels if inplace else labels.copy(deep=True)
    where = _where(time, view, keypoint, individual)
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
    if s.HIDDEN in out.data_vars:  # labels without the variable have no hidden mark to clear
        out[s.HIDDEN].loc[where] = False
    _reset_review(out, where)
    return out


def set_hidden(
    labels: xr.Dataset,
    time: int,
    view: str,
    keypoint: str,
    individual: str,
    source: s.PointSource = s.PointSource.MANUAL,
    inplace: bool = False,
) -> xr.Dataset:
    """Mark one keypoint as not visible here (a person's mark, unless ``source`` says otherwise):
    the cell's point, if any, goes, ``hidden`` is True, confidence 0, ``source`` is who said it.
    Returns a new dataset, or ``labels`` changed in place with ``inplace``; delete the mark with
    :func:`set_point` (``xy=None``) or replace it by placing a point."""
    if source == s.PointSource.NONE:
        raise ValueError("a hidden mark needs a source (who says the keypoint is hidden)")
    if inplace:
        if s.HIDDEN not in labels.data_vars:
            labels[s.HIDDEN] = with_hidden(labels)[s.HIDDEN]
        out = labels
    else:
        out = with_hidden(labels).copy(deep=True)
    where = _where(time, view, keypoint, individual)
    out[s.POSITION].loc[where] = np.nan
    out[s.CONFIDENCE].loc[where] = 0.0
    out[s.SOURCE].loc[where] = int(source)
    out[s.HIDDEN].loc[where] = True
    _reset_review(out, where)
    return out


def _where(time: int, view: str, keypoint: str, individual: str) -> dict[str, object]:
    return {s.TIME: time, s.VIEW: view, s.KEYPOINT: keypoint, s.INDIVIDUAL: individual}


def _reset_review(labels: xr.Dataset, where: Mapping[str, object]) -> None:
    """A placed, hidden or deleted point is no tool's guess: its review fields are reset."""
    labels[s.REVIEW].loc[where] = False
    for name, cleared in _TRACK_DEFAULTS.items():
        if name in labels.data_vars:
            labels[name].loc[where] = cleared


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


def manual_conflicts(
    labels: xr.Dataset, position: xr.DataArray, hidden: xr.DataArray | None = None
) -> xr.DataArray:
    """Cells (of ``position``'s region) where ``position`` holds a point, or ``hidden`` (bool,
    the same cells) a hidden mark, that would change a manual label already in ``labels``: a
    manual point moved or hidden, a manual hidden mark given a point. What an import of hand
    labels must refuse."""
    region = {dim: position[dim].values for dim in position.dims if dim != s.SPACE}
    current = labels[s.POSITION].loc[region]
    manual = labels[s.SOURCE].loc[region] == s.PointSource.MANUAL
    moved = (abs(current - position) > _SAME_PX).any(s.SPACE) | current.isnull().any(s.SPACE)
    conflicts = manual & position.notnull().all(s.SPACE) & moved
    if hidden is None:
        return conflicts
    was_hidden = with_hidden(labels)[s.HIDDEN].loc[region]
    return conflicts | (manual & hidden.astype(bool) & ~was_hidden)


def merge_points(
    labels: xr.Dataset,
    position: xr.DataArray,
    confidence: xr.DataArray,
    source: s.PointSource,
    *,
    governed: xr.DataArray | None = None,
    hidden: xr.DataArray | None = None,
    extra: Mapping[str, xr.DataArray] | None = None,
) -> tuple[xr.Dataset, xr.DataArray]:
    """Write points and hidden marks from ``source`` into a copy of ``labels`` by the merge
    policy (module docstring); returns the labels and the cells written (bool, over
    ``position``'s region).

    ``position`` / ``confidence`` may cover any sub-selection of the labels' coordinates;
    ``hidden`` (bool, the same cells, NaN position there) marks the cells where ``source`` says
    the keypoint is not visible (written with confidence 0). A cell with neither a point nor a
    hidden mark is left as it is, unless ``governed`` (bool, same cells) marks the cell as one
    this run answers for: then a point or hidden mark of ``source``'s own there is cleared.
    ``extra``: more per-cell variables (e.g. visibility) set on the written cells, cleared on the
    cleared ones. ``source=MANUAL`` overwrites manual labels: check :func:`manual_conflicts`
    first where a file, not a person, brings them.
    """
    if source == s.PointSource.NONE:
        raise ValueError("merge_points writes points; delete them with set_point(xy=None)")
    out = with_hidden(labels).copy(deep=True)
    region = {dim: position[dim].values for dim in position.dims if dim != s.SPACE}
    current = out[s.SOURCE].loc[region]
    has = position.notnull().all(s.SPACE)
    marks = has & False if hidden is None else hidden.astype(bool)
    if bool((marks & position.notnull().any(s.SPACE)).any()):
        raise ValueError("a hidden mark has no position: give NaN where hidden is True")
    says = has | marks
    write = says & xr.DataArray(replaceable(current.values, source), dims=current.dims)
    clear = has & False
    if governed is not None:
        clear = governed & ~says & (current == int(source))
    touched = write | clear
    out[s.POSITION].loc[region] = out[s.POSITION].loc[region].where(~write, position)
    out[s.POSITION].loc[region] = out[s.POSITION].loc[region].where(~clear)
    conf = out[s.CONFIDENCE].loc[region].where(~write, confidence.clip(0.0, 1.0))
    out[s.CONFIDENCE].loc[region] = conf.where(~(write & marks), 0.0).where(~clear)
    src = current.where(~write, int(source)).where(~clear, int(s.PointSource.NONE))
    out[s.SOURCE].loc[region] = src.astype(np.int8)
    mark = out[s.HIDDEN].loc[region].where(~touched, write & marks)
    out[s.HIDDEN].loc[region] = mark.astype(bool)
    out[s.REVIEW].loc[region] = out[s.REVIEW].loc[region].where(~touched, False)
    for name, cleared in _TRACK_DEFAULTS.items():
        if name in out.data_vars:
            column = out[name].loc[region].where(~touched, cleared)
            if extra is not None and name in extra:
                column = column.where(~write, extra[name])
            out[name].loc[region] = column.astype(out[name].dtype)
    return out, write
