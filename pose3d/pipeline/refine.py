"""``pose3d calibrate SESSION --refine-from-labels``: the session's calibration refined from its
labelled keypoints (pose3d.calibration.refine), the board detections of calibration/ kept as
the prior.

The points used are those a person placed or imported (labels.nc ``source`` manual or
imported; the tracker's and reprojected guesses are left out), in every frame, view and
individual. The refinement is written (calibration.toml, the previous one kept beside it as
calibration.before-refine.toml) only when it keeps every camera's board RMS within
:data:`pose3d.calibration.refine.MAX_BOARD_RMS_RATIO` of before; its before/after figures are
written either way to calibration/refine.report.json.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import asdict
from typing import Any

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.calibration.detect import CalibrationCancelled
from pose3d.calibration.refine import Refinement, refine_from_labels
from pose3d.pipeline.folder import SessionFolder
from pose3d.progress import ProgressCallback

USED_SOURCES = (s.PointSource.MANUAL, s.PointSource.IMPORTED)


def label_pixels(labels: xr.Dataset, views: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """The manual and imported points of ``labels`` as pixels [n_views, n_points, 2] (views in
    ``views`` order, NaN where a view has none) and each point column's keypoint name; a
    column is one (frame, keypoint, individual)."""
    order = (s.VIEW, s.TIME, s.KEYPOINT, s.INDIVIDUAL)
    selected = labels.sel({s.VIEW: list(views)})
    position = selected[s.POSITION].transpose(*order, s.SPACE).values
    source = selected[s.SOURCE].transpose(*order).values
    used = np.isin(source, [int(p) for p in USED_SOURCES])
    pixels = np.where(used[..., None], position, np.nan).reshape(len(views), -1, 2)
    n_time, n_kp, n_ind = position.shape[1:4]
    names = [str(k) for k in labels[s.KEYPOINT].values]
    keypoints = np.broadcast_to(np.asarray(names)[None, :, None], (n_time, n_kp, n_ind))
    return pixels, keypoints.reshape(-1).tolist()


def refine_session_calibration(
    folder: SessionFolder,
    refine_intrinsics: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Refinement:
    """Refine the session's calibration from its labels; writes calibration.toml only when the
    refinement is accepted (``result.accepted``), the report always."""
    cameras = folder.cameras()
    detections = folder.detections()
    pixels, keypoints = label_pixels(folder.labels(), cameras.names)

    def on_iteration(stage: str, done: int, total: int) -> None:
        if cancel is not None and cancel.is_set():
            raise CalibrationCancelled("refinement from labels cancelled; nothing was written")
        if progress is not None:
            progress(f"refine ({stage})", done, total)

    result = refine_from_labels(
        cameras,
        detections,
        pixels,
        refine_intrinsics=refine_intrinsics,
        keypoints=keypoints,
        on_iteration=on_iteration,
    )
    _write_report(folder, result)
    if result.accepted:
        calibration = folder.paths.calibration
        shutil.copyfile(calibration, folder.paths.before_refine)
        folder.save_calibration(result.cameras)
    return result


def report_dict(result: Refinement) -> dict[str, Any]:
    return {
        "accepted": result.accepted,
        "problems": result.problems,
        "points": result.n_points,
        "intrinsics_refined": result.intrinsics_refined,
        "disagreement_px": {
            "before": result.disagreement("before"),
            "after": result.disagreement("after"),
        },
        "before": {name: asdict(fit) for name, fit in result.before.items()},
        "after": {name: asdict(fit) for name, fit in result.after.items()},
        "keypoints_before_px": result.keypoints_before,
    }


def _write_report(folder: SessionFolder, result: Refinement) -> None:
    from pose3d.io.atomic import atomic_write_text

    text = json.dumps(report_dict(result), indent=2, allow_nan=True) + "\n"
    folder.paths.calibration_dir.mkdir(exist_ok=True)
    atomic_write_text(folder.paths.refine_report, text)
