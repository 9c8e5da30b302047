"""Triangulation: 2D labels of several calibrated views -> 3D poses (movement's layout).

Public API::

    triangulate(position, cameras, confidence, method="dlt" | "ransac" | "optim", ...)
    triangulate_points(pixels, cameras) / reprojection_errors(points, pixels, cameras)
    triangulate_session(session, TriangulationSettings(...))     # labels.nc -> poses3d.nc
    triangulate_files(calibration, labels, out, TriangulationSettings(...))
    estimate_offsets(position, cameras, ...) / sync_session(session, ...)
    export_poses(poses, "out.csv" | "out.h5")

Modules: projection (batched camera model), dlt, ransac, refine (+ banded, loss, gaps),
reprojection, observations (labels -> arrays), points (arrays), api, sync, session, export. See
docs/triangulation.md.
"""

from pose3d.triangulation.api import METHODS, triangulate
from pose3d.triangulation.export import EXPORTERS, export_poses
from pose3d.triangulation.points import reprojection_errors, triangulate_points
from pose3d.triangulation.ransac import RansacOptions
from pose3d.triangulation.refine import RefineOptions
from pose3d.triangulation.session import (
    SyncReport,
    TriangulationSettings,
    sync_session,
    triangulate_files,
    triangulate_session,
)
from pose3d.triangulation.sync import SyncResult, estimate_offsets, shift_labels

__all__ = [
    "EXPORTERS",
    "METHODS",
    "RansacOptions",
    "RefineOptions",
    "SyncReport",
    "SyncResult",
    "TriangulationSettings",
    "estimate_offsets",
    "export_poses",
    "reprojection_errors",
    "shift_labels",
    "sync_session",
    "triangulate",
    "triangulate_files",
    "triangulate_points",
    "triangulate_session",
]
