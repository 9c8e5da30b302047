"""``pose3d calibrate``: board media -> detections -> calibration.toml + report.json.

:func:`calibrate_session` works on a session folder (its ``[calibration] media`` and board;
writes calibration/detections.nc, calibration.toml and report.json under the folder's lock);
:func:`calibrate_media` on any set of synchronized videos or image folders, writing
``out`` and ``<out>.report.json`` beside it. The algorithms are pose3d.calibration's.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from pose3d.board import Board
from pose3d.calibration.calibrate import CalibrationResult, calibrate, fisheye_views
from pose3d.calibration.detect import BoardDetections, detect_boards
from pose3d.errors import CalibrationError
from pose3d.pipeline.folder import SessionFolder
from pose3d.progress import ProgressCallback


def _detect_and_calibrate(
    media: Mapping[str, str | os.PathLike[str]],
    board: Board,
    keep_detections: Callable[[BoardDetections], None] | None,
    step: int | None,
    reference: str | None,
    origin_frame: int | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    fisheye: bool | Collection[str],
) -> CalibrationResult:
    """Detect the board in every camera's media (kept before they are checked, so that a
    failed check leaves them to look at), check them and calibrate."""
    from pose3d.calibration.diagnose import check_detections

    fisheye_views(list(media), fisheye)  # unknown camera names fail before the slow detection
    detections = detect_boards(media, board, step=step, progress=progress, cancel=cancel)
    if keep_detections is not None:
        keep_detections(detections)
    check_detections(detections, media)
    return calibrate(
        detections,
        reference=reference,
        origin_frame=origin_frame,
        progress=progress,
        fisheye=fisheye,
    )


def calibrate_session(
    folder: SessionFolder,
    step: int | None = None,
    reference: str | None = None,
    origin_frame: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    fisheye: bool | Collection[str] = False,
) -> CalibrationResult:
    """Calibrate a session from its ``[calibration] media``; ``fisheye`` as in
    :func:`pose3d.calibration.calibrate.calibrate`."""
    media = folder.calibration_media()
    board = folder.board()
    result = _detect_and_calibrate(
        media,
        board,
        folder.save_detections,
        step,
        reference,
        origin_frame,
        progress,
        cancel,
        fisheye,
    )
    folder.save_calibration(result.cameras)
    folder.save_report(result.report.to_dict())
    return result


def calibrate_media(
    media: Mapping[str, str | os.PathLike[str]],
    board: Board,
    out: str | os.PathLike[str],
    step: int | None = None,
    reference: str | None = None,
    origin_frame: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    fisheye: bool | Collection[str] = False,
) -> CalibrationResult:
    """Calibrate from ``media`` (camera -> video or image folder) and write ``out`` (Anipose's
    calibration.toml) with ``<out>.report.json`` beside it."""
    from pose3d.io.atomic import atomic_write_text
    from pose3d.io.calibration_toml import save_calibration

    out = Path(out)
    if not out.parent.is_dir():
        raise CalibrationError(f"cannot write {out}: folder {out.parent} does not exist")
    result = _detect_and_calibrate(
        media, board, None, step, reference, origin_frame, progress, cancel, fisheye
    )
    save_calibration(out, result.cameras)
    report = json.dumps(result.report.to_dict(), indent=2) + "\n"
    atomic_write_text(out.with_name(out.stem + ".report.json"), report)
    return result
