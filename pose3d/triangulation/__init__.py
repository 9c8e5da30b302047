"""Triangulation: 2D labels of several calibrated views -> 3D poses (movement's layout).

Public API::

    triangulate(position, cameras, confidence, method="dlt" | "ransac" | "optim", ...)
    triangulate_points(pixels, cameras) / reprojection_errors(points, pixels, cameras)
    triangulate_labels(labels, cameras, TriangulationSettings(...))   # labels -> poses dataset
    estimate_offsets(position, cameras, ...) / shift_labels(labels, corrections)

Modules: projection (batched camera model), dlt, ransac, refine (+ banded, loss, gaps),
reprojection, observations (labels -> arrays), points (arrays), api, sync. Data in, data out:
the session verbs (labels.nc -> poses3d.nc, sync) are pose3d.pipeline.triangulate. See
docs/triangulation.md.
"""

from pose3d.triangulation.api import (
    METHODS,
    TriangulationSettings,
    triangulate,
    triangulate_labels,
)
from pose3d.triangulation.points import reprojection_errors, triangulate_points
from pose3d.triangulation.ransac import RansacOptions
from pose3d.triangulation.refine import RefineOptions
from pose3d.triangulation.sync import SyncResult, estimate_offsets, shift_labels

__all__ = [
    "METHODS",
    "RansacOptions",
    "RefineOptions",
    "SyncResult",
    "TriangulationSettings",
    "estimate_offsets",
    "reprojection_errors",
    "shift_labels",
    "triangulate",
    "triangulate_labels",
    "triangulate_points",
]
