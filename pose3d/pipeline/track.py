"""``pose3d track``: a session's manual points tracked through its videos, into labels.nc.

Reads labels.nc (with its journal) and the calibration (when there is one, for the multi-view
review flag), runs pose3d.tracking.propagate.propagate_labels and writes labels.nc once,
atomically, under the folder's lock; a cancelled run writes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from pose3d.pipeline.folder import SessionFolder
from pose3d.progress import ProgressCallback
from pose3d.tracking.base import PointTracker
from pose3d.tracking.propagate import PropagationReport, propagate_labels
from pose3d.tracking.review import ReviewThresholds


def propagate(
    folder: SessionFolder,
    views: str | Sequence[str],
    frames: tuple[int | None, int | None] | None,
    tracker: PointTracker,
    *,
    keypoints: Sequence[str] | None = None,
    from_frames: Sequence[int] | None = None,
    thresholds: ReviewThresholds | None = None,
    second: PointTracker | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> PropagationReport:
    """Track the manual points of ``views`` (a camera, several, or ``"all"``) through session
    frames ``frames`` (see :func:`pose3d.tracking.propagate.propagate_labels`; ``second``: a
    second opinion) and write labels.nc."""
    if views == "all":
        views = folder.session.camera_names
    labels, report = propagate_labels(
        folder.labels(),
        folder.videos(),
        folder.cameras_or_none(),
        tracker,
        views=views,
        frames=frames,
        keypoints=keypoints,
        from_frames=from_frames,
        thresholds=thresholds,
        second=second,
        progress=progress,
        cancel=cancel,
    )
    folder.save_labels(labels)
    return report
