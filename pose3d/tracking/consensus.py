"""The calibrated views' consensus on a tracked point, and the MULTI_VIEW review score it gives.

The consensus (:func:`multiview_check`) is the pair of views whose triangulation the other
views agree with best (MSAC), re-fitted on all the views that agree; rejecting a view the
tracker's scores doubt costs half, so that where geometry cannot choose (an error along an
epipolar line) the trusted views win.

:func:`multiview_scores` turns it into the MULTI_VIEW score of pose3d.tracking.review: the
distance to the reprojection of the consensus point / multiview_px, at least 1 outside the
consensus (it needs a calibration and the point in >= 2 views). Where the views agree they
decide alone: they are independent evidence of where the point is, much stronger than the
tracker's own scores, which doubt many points that are right (a paw turning changes its patch;
a long track accumulates round-trip error), so those scores are cleared there. Views outside
the consensus, and every view of a point no two views agree on, are flagged. Two views cannot
see an error along their epipolar line, so in a two-view consensus a lost track (visibility <
lost_visibility) stays flagged. When the points nobody doubts sit a median of more than
multiview_px / 2 from the consensus (:func:`spread_errors`), the calibration is not one the views
agree with: the tracker's scores keep their say and only the points outside the views'
consensus are flagged, each keypoint's consensus sought with a threshold of 3 × that keypoint's
own median (:func:`multiview_status`; at least multiview_px), so that the keypoints the views do
agree on (an ear, not a haunch) are still checked closely. :class:`MultiViewStatus` says so,
with 3 × the median of all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class MultiViewStatus:
    """How the multi-view flag ran on a range: ``spread_px``, the median distance of the
    points nobody doubts to the reprojection of their triangulation (None: no calibration or
    no point in >= 2 calibrated views), and the threshold it used; ``advisory`` when the views
    disagree with the calibration, so that the flag only advises (module docstring)."""

    spread_px: float | None
    threshold_px: float
    advisory: bool
    keypoint_px: tuple[float, ...] | None = None  # advisory: each keypoint's own threshold

    def describe(self, calibration: str = "the calibration") -> str:
        """One line for the user; empty when the check ran as it should."""
        if not self.advisory or self.spread_px is None:
            return ""
        if not np.isfinite(self.spread_px):
            return (
                f"the tracked views cannot be triangulated with {calibration} (do two cameras "
                "have the same pose?), so the multi-view flag is off; check the calibration or "
                "recalibrate"
            )
        return (
            f"the tracked views disagree with {calibration}: a point nobody doubts lies a "
            f"median {self.spread_px:.1f} px from the reprojection of its triangulation, so the "
            f"multi-view flag only advises (threshold 3 × each keypoint's median, "
            f"{self.threshold_px:.1f} px for all, instead of the normal one); check the "
            "cameras' offsets in session.toml or recalibrate"
        )


@dataclass(frozen=True)
class MultiViewCheck:
    """What the calibrated views say of each point, (T, V, K, I) like the labels' cells.

    ``errors``: px from the point to its reprojection from the views' consensus (RANSAC among
    all the views that have it); where no two views agree, to the reprojection of the point
    triangulated from all of them; NaN where fewer than 2 calibrated views have the point.
    ``inlier``: the view is part of the consensus; ``support``: how many views the consensus
    has (0: none, the views contradict each other).
    """

    errors: FloatArray
    inlier: BoolArray
    support: NDArray[np.int_]

    @property
    def checked(self) -> BoolArray:
        return ~np.isnan(self.errors)


def multiview_check(
    position: FloatArray,
    views: list[str],
    cameras: CameraGroup,
    threshold: float = 4.0,
    doubted: BoolArray | None = None,
) -> MultiViewCheck:
    """The calibrated views' consensus on every point (see :class:`MultiViewCheck`).

    The consensus is the pair of views whose triangulation the most other views agree with
    (MSAC with ``threshold`` px; pose3d.triangulation.ransac), re-fitted on all its inliers.
    Rejecting a ``doubted`` view (the tracker's own scores doubt it) costs half as much, so that
    when two pairs explain the views equally well the one that keeps the trusted views wins.

    position  # (T, V, 2, K, I) (x, y) px, views in ``views`` order; doubted  # (T, V, K, I)
    """
    from pose3d.triangulation import RansacOptions, reprojection_errors, triangulate_points

    errors = np.full(_cell_shape(position), np.nan)
    inlier = np.zeros(errors.shape, bool)
    calibrated = [j for j, name in enumerate(views) if name in cameras.names]
    if len(calibrated) < 2:
        return MultiViewCheck(errors, inlier, np.zeros(errors.shape, int))
    group = cameras.subset([views[j] for j in calibrated])
    pixels = _by_view(np.moveaxis(position[:, calibrated], 2, -1))  # (V', N, 2)
    seen = np.isfinite(pixels).all(axis=2)
    rows = seen.sum(axis=0) >= 2
    cost = np.full(seen.shape, threshold)
    if doubted is not None:
        cost[_by_view(doubted[:, calibrated])] = threshold / 2
    found = np.full(seen.shape, np.nan)
    agreed = np.zeros(seen.shape, bool)
    points, used = triangulate_points(
        pixels[:, rows],
        group,
        method="ransac",
        ransac_options=RansacOptions(threshold=threshold),
        outlier_cost=cost[:, rows],
    )
    contradict = ~np.isfinite(points).all(axis=1)
    if contradict.any():  # no two views agree: measure against them all
        points[contradict], _ = triangulate_points(pixels[:, rows][:, contradict], group)
    found[:, rows] = reprojection_errors(points, pixels[:, rows], group)
    agreed[:, rows] = used
    found[~seen] = np.nan
    errors[:, calibrated] = _from_view(found, errors.shape)
    inlier[:, calibrated] = _from_view(agreed, errors.shape)
    support = np.broadcast_to(inlier.sum(axis=1, keepdims=True), inlier.shape)
    return MultiViewCheck(errors, inlier, np.where(np.isnan(errors), 0, support))


def spread_errors(
    position: FloatArray, views: list[str], cameras: CameraGroup, trusted: BoolArray
) -> list[FloatArray]:
    """Per keypoint, the distances (px) of the ``trusted`` points to the reprojection of the
    point they triangulate together (those in >= 2 calibrated views), NaN left out: the sample
    :func:`multiview_status` takes its medians from. Unlike the consensus' own distances, these
    are not capped by a threshold, so a calibration the views disagree with shows. Each point is
    triangulated on its own, so the samples of time chunks, joined, are those of the whole.

    position  # (T, V, 2, K, I); trusted  # (T, V, K, I)  ->  K arrays
    """
    from pose3d.triangulation import reprojection_errors, triangulate_points

    n_kp = position.shape[3]
    calibrated = [j for j, name in enumerate(views) if name in cameras.names]
    if len(calibrated) < 2:
        return [np.empty(0) for _ in range(n_kp)]
    group = cameras.subset([views[j] for j in calibrated])
    pixels = _by_view(np.moveaxis(position[:, calibrated], 2, -1))  # (V', T·K·I, 2)
    use = _by_view(trusted[:, calibrated]) & np.isfinite(pixels).all(axis=2)
    rows = use.sum(axis=0) >= 2
    errors = np.full(use.shape, np.nan)
    if rows.any():
        chosen = np.where(use[..., None], pixels, np.nan)[:, rows]
        points, _ = triangulate_points(chosen, group)
        errors[:, rows] = reprojection_errors(points, chosen, group)
    cells = _from_view(errors, (position.shape[0], len(calibrated), n_kp, position.shape[4]))
    return [cells[:, :, k][~np.isnan(cells[:, :, k])] for k in range(n_kp)]


def multiview_status(samples: list[FloatArray], multiview_px: float) -> MultiViewStatus:
    """How the multi-view check runs on a range, from :func:`spread_errors` of all of it (one
    array per keypoint, each possibly joined from several time chunks): the median of all the
    samples is the views' spread; above ``multiview_px`` / 2 the check only advises, with 3 ×
    that spread as its threshold and each keypoint's own 3 × median (at least multiview_px)."""
    every = np.concatenate(samples) if samples else np.empty(0)
    spread = float(np.nanmedian(every)) if np.isfinite(every).any() else None
    typical = spread or 0.0
    if not np.isfinite(typical):  # nothing triangulates (e.g. two cameras with one pose)
        return MultiViewStatus(typical, typical, advisory=True)
    if typical <= multiview_px / 2:
        return MultiViewStatus(spread, multiview_px, advisory=False)
    threshold = 3.0 * typical
    own = []
    for part in samples:  # a keypoint without a finite sample takes the threshold of all
        limit = 3.0 * float(np.nanmedian(part)) if np.isfinite(part).any() else np.inf
        own.append(max(multiview_px, limit) if np.isfinite(limit) else threshold)
    return MultiViewStatus(spread, threshold, advisory=True, keypoint_px=tuple(own))


def _cell_shape(position: FloatArray) -> tuple[int, int, int, int]:
    n_time, n_views, _, n_kp, n_ind = position.shape
    return n_time, n_views, n_kp, n_ind


def _by_view(cells: NDArray[np.generic]) -> NDArray[np.generic]:
    """(T, V, K, I, ...) -> (V, T·K·I, ...)."""
    return np.moveaxis(cells, 1, 0).reshape(cells.shape[1], -1, *cells.shape[4:])


def _from_view(values: NDArray[np.generic], shape: tuple[int, ...]) -> NDArray[np.generic]:
    """(V', T·K·I) -> (T, V', K, I), the inverse of :func:`_by_view` for cells of ``shape``."""
    n_time, _, n_kp, n_ind = shape
    return np.moveaxis(values.reshape(len(values), n_time, n_kp, n_ind), 0, 1)


def multiview_scores(
    position: FloatArray,
    views: list[str],
    cameras: CameraGroup,
    tracker_scores: FloatArray,
    source: NDArray[np.int8],
    visibility: FloatArray,
    status: MultiViewStatus,
    *,
    lost_visibility: float,
) -> FloatArray:
    """The MULTI_VIEW score of every cell (1 at the threshold), as ``status``
    (:func:`multiview_status` of the whole range) says the check runs; zeroes
    ``tracker_scores`` (in place) where the views decide (module docstring). Every point is
    scored on its own, so a range can be scored in time chunks. ``lost_visibility`` is
    pose3d.tracking.review.ReviewThresholds' field.

    position  # (T, V, 2, K, I) px; tracker_scores  # (R, T, V, K, I), the tracker's reasons,
    each >= 1 where it doubts the point; source, visibility  # (T, V, K, I)
    """
    doubted = doubted_cells(source, tracker_scores)
    if status.spread_px is not None and not np.isfinite(status.spread_px):
        return np.zeros(source.shape)
    if status.advisory:
        score = np.zeros(source.shape)
        limits = status.keypoint_px or (status.threshold_px,) * position.shape[3]
        for k, limit in enumerate(limits):  # each keypoint by how well its labels agree
            part = slice(k, k + 1)
            check = multiview_check(
                position[:, :, :, part], views, cameras, limit, doubted[:, :, part]
            )
            outlier = check.checked & ~check.inlier & (check.support >= 2)
            found = np.nan_to_num(check.errors / limit, posinf=0.0)
            score[:, :, part] = np.where(outlier, found, 0.0)
        return score
    threshold = status.threshold_px
    check = multiview_check(position, views, cameras, threshold, doubted)
    score = np.nan_to_num(check.errors / threshold, nan=0.0, posinf=0.0)
    rejected = check.checked & ~check.inlier  # an outlier, or no two views agree
    score[rejected] = np.maximum(score[rejected], 1.0)
    # two views cannot see an error along their epipolar line: a lost track stays doubted
    vouched = check.inlier & ((check.support >= 3) | (visibility >= lost_visibility))
    tracker_scores[:, vouched | rejected] = 0.0
    score[check.inlier] = np.minimum(score[check.inlier], 0.99)
    return score


def doubted_cells(source: NDArray[np.int8], tracker_scores: FloatArray) -> BoolArray:
    """Tracked points one of the tracker's reasons doubts (score >= 1), (T, V, K, I)."""
    return (source == s.PointSource.TRACKED) & (tracker_scores.max(axis=0) >= 1)


def trusted_cells(source: NDArray[np.int8], tracker_scores: FloatArray) -> BoolArray:
    """Points nobody doubts: a person's, and tracked ones no reason of the tracker doubts."""
    tracked = source == s.PointSource.TRACKED
    return (source == s.PointSource.MANUAL) | (tracked & ~doubted_cells(source, tracker_scores))


def seen_elsewhere(
    position: FloatArray,
    hidden: BoolArray,
    trusted: BoolArray,
    views: list[str],
    cameras: CameraGroup,
    agree_px: float = 4.0,
) -> BoolArray:
    """Where a ``hidden`` cell's keypoint is seen by at least two other calibrated views whose
    ``trusted`` points agree (each within ``agree_px`` of the reprojection of their
    triangulation) and would project inside this view's image, (T, V, K, I).

    position  # (T, V, 2, K, I) px; hidden, trusted  # (T, V, K, I)
    """
    from pose3d.triangulation import reprojection_errors, triangulate_points

    out = np.zeros(hidden.shape, bool)
    calibrated = [j for j, name in enumerate(views) if name in cameras.names]
    if len(calibrated) < 3 or not hidden[:, calibrated].any():
        return out
    group = cameras.subset([views[j] for j in calibrated])
    asked = _by_view(hidden[:, calibrated]).any(axis=0)  # (N,) cells some view hid
    pixels = _by_view(np.moveaxis(position[:, calibrated], 2, -1))[:, asked]  # (V', N', 2)
    usable = _by_view(trusted[:, calibrated])[:, asked]
    pixels = np.where(usable[..., None], pixels, np.nan)
    enough = usable.sum(axis=0) >= 2
    points = np.full((pixels.shape[1], 3), np.nan)
    points[enough], _ = triangulate_points(pixels[:, enough], group)
    errors = reprojection_errors(points, pixels, group)
    agree = enough & (np.where(usable, errors, 0.0) <= agree_px).all(axis=0)
    projected = group.project(points)  # (V', N', 2)
    sizes = np.array([group[views[j]].size for j in calibrated], np.float64)[:, None, :]
    inside = np.isfinite(projected).all(axis=2)
    inside &= (projected >= 0).all(axis=2) & (projected <= sizes - 1).all(axis=2)
    found = np.zeros((len(calibrated), int(asked.sum())), bool)
    found[:] = agree[None] & inside
    full = np.zeros((len(calibrated), asked.size), bool)
    full[:, asked] = found
    out[:, calibrated] = _from_view(full, (hidden.shape[0], len(calibrated), *hidden.shape[2:]))
    return out & hidden
