"""``pose3d compare-truth`` and ``pose3d sample-data --label-frames``: a sample session's
results against the ground truth beside them (``SESSION/truth/``, pose3d.synthetic)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pose3d import schema as s
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import load_labels, load_poses
from pose3d.pipeline.folder import SessionFolder
from pose3d.session import SessionPaths
from pose3d.synthetic.compare import (
    CameraError,
    ErrorSummary,
    camera_errors,
    pose_errors,
    tracking_errors,
    truth_folder,
)

RADIUS_3D = 5.0  # world units (mm in the sample sessions)


@dataclass(frozen=True)
class TruthComparison:
    """Every stage the session holds against its truth (empty / None: stage not run yet)."""

    cameras: list[CameraError]  # both rigs seen from ``reference``
    reference: str
    unit: str  # of the calibration
    tracking: list[ErrorSummary]  # per view, px
    poses: ErrorSummary | None  # 3D, in ``unit``


def compare_truth(folder: SessionFolder) -> TruthComparison:
    """Calibration, 2D tracking and 3D poses of ``folder`` against ``folder/truth``."""
    truth = SessionPaths(truth_folder(folder.root))
    truth_cameras = load_calibration(truth.root / truth.calibration.name)
    cameras = folder.cameras_or_none()
    tracking: list[ErrorSummary] = []
    if folder.has_labels():
        tracking = tracking_errors(folder.labels(), load_labels(truth.labels))
    poses = None
    if folder.has_poses() and cameras is not None:
        poses = pose_errors(
            folder.poses(), load_poses(truth.poses), cameras, truth_cameras, RADIUS_3D
        )
    return TruthComparison(
        camera_errors(cameras, truth_cameras) if cameras is not None else [],
        cameras.names[0] if cameras is not None else "",
        (cameras.unit or "") if cameras is not None else "",
        tracking,
        poses,
    )


def seed_from_truth(folder: SessionFolder, frames: Sequence[int]) -> int:
    """Write labels.nc holding the true visible points of ``frames`` as manual labels (as a
    person would click them); returns how many."""
    from pose3d.synthetic.compare import seed_labels

    truth = SessionPaths(truth_folder(folder.root))
    labels = seed_labels(load_labels(truth.labels), frames)
    folder.save_labels(labels)
    return int((labels[s.SOURCE].values == s.PointSource.MANUAL).sum())
