"""RANSAC triangulation over every point at once: one wrong 2D point does not drag the 3D point.

With few views the hypotheses can be enumerated instead of sampled: every pair of views is
triangulated for every point in one batch, each pair's 3D point is reprojected into every view,
and each point keeps the pair with the lowest MSAC cost ``sum over seen views of
min(error, cap)`` among pairs whose own two views are inliers. The cap, what rejecting a view
costs, is the threshold unless the caller gives its own per observation (lower for an
observation it already doubts, so that between two equally consistent pairs the one that keeps
the trusted views wins). The point is then
re-triangulated (weighted DLT) from all of that hypothesis' inliers, the inliers are recomputed
for the new point and it is triangulated once more. A point with no consistent pair is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError
from pose3d.triangulation.blocks import finite_rows
from pose3d.triangulation.dlt import dlt
from pose3d.triangulation.projection import Lens
from pose3d.triangulation.reprojection import view_errors

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class RansacOptions:
    """``threshold``: largest reprojection error (px) of an inlier view; ``min_views``: fewest
    inlier views for a point to be kept (2 keeps points seen by two consistent views)."""

    threshold: float = 10.0
    min_views: int = 2

    def __post_init__(self) -> None:
        if not self.threshold > 0:
            raise Pose3dError(f"the RANSAC threshold must be > 0 px, got {self.threshold}")
        if self.min_views < 2:
            raise Pose3dError(f"RANSAC needs min_views >= 2, got {self.min_views}")


def ransac(
    lenses: tuple[Lens, ...],
    pixels: FloatArray,
    normalized: FloatArray,
    weights: FloatArray,
    options: RansacOptions = RansacOptions(),
    outlier_cost: FloatArray | None = None,
) -> tuple[FloatArray, BoolArray]:
    """Points [N, 3] and their inlier views [V, N] from observations of every view.

    ``pixels`` [V, N, 2] (distorted, for the errors), ``normalized`` [V, N, 2] and ``weights``
    [V, N] as cleaned by :func:`pose3d.triangulation.dlt.clean_observations`;
    ``outlier_cost`` [V, N] px (default: the threshold) is what rejecting each observation costs.
    """
    n_views, n_points = weights.shape
    seen = weights > 0
    cap = np.full((n_views, n_points), options.threshold)
    if outlier_cost is not None:
        cap = np.minimum(cap, np.asarray(outlier_cost, dtype=np.float64))
    best_cost = np.full(n_points, np.inf)
    best_inliers = np.zeros((n_views, n_points), dtype=bool)
    for pair in combinations(range(n_views), 2):
        idx = np.array(pair)
        hypothesis = dlt(
            tuple(lenses[i] for i in pair), normalized[idx], weights[idx], reweight=False
        )
        errors = view_errors(lenses, hypothesis, pixels)
        inliers = seen & (errors < options.threshold)
        cost = np.where(seen, np.minimum(errors, cap), 0.0).sum(axis=0)
        better = inliers[idx[0]] & inliers[idx[1]] & (cost < best_cost)
        best_cost = np.where(better, cost, best_cost)
        best_inliers[:, better] = inliers[:, better]
    points = dlt(lenses, normalized, weights * best_inliers, min_views=options.min_views)
    inliers = seen & (view_errors(lenses, points, pixels) < options.threshold)
    keep = inliers.sum(axis=0) >= options.min_views  # else the hypothesis' own inliers
    inliers = np.where(keep, inliers, best_inliers)
    points = dlt(lenses, normalized, weights * inliers, min_views=options.min_views)
    inliers &= finite_rows(points)
    return points, inliers
