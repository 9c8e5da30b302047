"""The 2D labels dataset (labels.nc) and pure edits of it.

``position [time, view, space(x, y), keypoint, individual]`` in pixels (centre of the top-left
pixel = (0, 0); NaN = no point), ``confidence`` (0-1), ``source`` (int8 PointSource) and
``review`` (bool) ``[time, view, keypoint, individual]``. ``time`` counts session frames
(camera frame = session frame - the camera's offset).

Edits return a new dataset; they never modify their input. Manual points are never overwritten
by a tool: :func:`merge_points` only fills points whose source is not MANUAL.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

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


def merge_points(
    labels: xr.Dataset,
    position: xr.DataArray,
    confidence: xr.DataArray,
    source: s.PointSource,
) -> xr.Dataset:
    """Write a tool's points (tracked, imported, reprojected) into ``labels``.

    ``position`` / ``confidence`` may cover any sub-selection of the labels' coordinates; NaN
    positions leave the label as it is. Manual points are never overwritten.
    """
    if source == s.PointSource.MANUAL:
        raise ValueError("merge_points is for tool output; place manual points with set_point")
    out = labels.copy(deep=True)
    region = {dim: position[dim].values for dim in position.dims if dim != s.SPACE}
    current = out[s.SOURCE].loc[region]
    writable = (current != s.PointSource.MANUAL) & position.notnull().all(s.SPACE)
    out[s.POSITION].loc[region] = out[s.POSITION].loc[region].where(~writable, position)
    out[s.CONFIDENCE].loc[region] = out[s.CONFIDENCE].loc[region].where(~writable, confidence)
    out[s.SOURCE].loc[region] = current.where(~writable, int(source))
    return out
