"""Each camera's intrinsics on its own, from board media filmed apart per camera (as many labs
and Pose2Sim do): the first step of the separate-intrinsics workflow, before the rig is
calibrated from a shared recording with these intrinsics held fixed
(``calibrate(..., intrinsics=...)``).

Each camera goes through the same steps as a rig of one (pose3d.calibration.calibrate): OpenCV's
calibration, then bundle adjustment of its intrinsics and board poses with the robust loss and
the outlier pass, and a square-length check on the board's plane (one camera cannot
triangulate; pose3d.calibration.plane_check).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pose3d.board import BoardDetections
from pose3d.calibration.calibrate import CalibrationResult, calibrate, fisheye_views
from pose3d.calibration.report import CalibrationReport
from pose3d.cameras import INTRINSICS_ONLY, CameraGroup
from pose3d.errors import CalibrationError
from pose3d.progress import ProgressCallback

ALONE = "none: each camera alone (intrinsics only)"  # the report's world frame
NOTES = (
    "where the cameras are is not calibrated yet: calibrate the rig from a recording the "
    "cameras share, with these intrinsics held fixed",
)


@dataclass(frozen=True)
class IntrinsicsResult:
    cameras: CameraGroup  # every camera at the origin; metadata says intrinsics only
    report: CalibrationReport
    per_camera: list[CalibrationResult]  # each camera's own calibration (board poses, report)


def calibrate_each(
    detections: Sequence[BoardDetections],
    fisheye: bool | Collection[str] = False,
    progress: ProgressCallback | None = None,
) -> IntrinsicsResult:
    """Calibrate each camera of ``detections`` (one single-camera `BoardDetections` per camera,
    in its own frames) alone; ``fisheye`` as in `calibrate`."""
    names = [d.views[0] for d in detections]
    if any(len(d.views) != 1 for d in detections) or len(set(names)) != len(names):
        raise CalibrationError(
            "intrinsics-only calibration takes one camera's detections at a time, each camera "
            f"once; got {[list(d.views) for d in detections]}"
        )
    wide = fisheye_views(names, fisheye)
    report = progress or (lambda step, done, total: None)
    results = []
    for i, (one, is_wide) in enumerate(zip(detections, wide, strict=True)):
        report("intrinsics", i, len(detections))
        results.append(calibrate(one, fisheye=is_wide))
    report("intrinsics", len(detections), len(detections))
    units = {r.cameras.unit for r in results}
    unit = units.pop() if len(units) == 1 else None
    cameras = CameraGroup(
        tuple(r.cameras.cameras[0] for r in results), unit, {INTRINSICS_ONLY: True}
    )
    warnings = [
        warning if warning.startswith("camera ") else f"camera {name}: {warning}"
        for name, r in zip(names, results, strict=True)
        for warning in r.report.warnings
    ]
    combined = CalibrationReport(
        [r.report.cameras[0] for r in results],
        None,
        unit or "",
        ALONE,
        warnings,
        [*NOTES, *_shared_notes(names, [r.report.notes for r in results])],
    )
    return IntrinsicsResult(cameras, combined, results)


def _shared_notes(names: Sequence[str], notes: Sequence[Sequence[str]]) -> list[str]:
    """Each camera's notes, said once when every camera has it, else naming the camera."""
    out: list[str] = []
    for note in dict.fromkeys(n for mine in notes for n in mine):
        having = [name for name, mine in zip(names, notes, strict=True) if note in mine]
        out.append(note if len(having) == len(names) else f"camera {', '.join(having)}: {note}")
    return out
