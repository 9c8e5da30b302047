"""Calibration end to end: media -> detections -> calibration.toml + report.json.

``calibrate_session`` works inside a session folder (under its lock); ``calibrate_media`` on
any set of synchronized videos or image folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pose3d.board import Board
from pose3d.calibration.calibrate import CalibrationResult, calibrate, fisheye_views
from pose3d.calibration.detect import detect_boards
from pose3d.errors import CalibrationError
from pose3d.io.atomic import atomic_write_text
from pose3d.io.board_toml import load_board
from pose3d.io.calibration_toml import save_calibration
from pose3d.io.detections_nc import save_detections
from pose3d.progress import ProgressCallback

if TYPE_CHECKING:
    from pose3d.io.lock import SessionLock

DETECTIONS_FILE = "detections.nc"
REPORT_FILE = "report.json"


def _run(
    media: Mapping[str, str | os.PathLike[str]],
    board: Board,
    step: int | None,
    reference: str | None,
    origin_frame: int | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    detections_path: Path | None,
    fisheye: bool | Collection[str],
) -> CalibrationResult:
    fisheye_views(list(media), fisheye)  # unknown camera names fail before the slow detection
    detections = detect_boards(media, board, step=step, progress=progress, cancel=cancel)
    if detections_path is not None:
        save_detections(detections_path, detections)
    from pose3d.calibration.diagnose import check_detections

    check_detections(detections, media)
    return calibrate(
        detections,
        reference=reference,
        origin_frame=origin_frame,
        progress=progress,
        fisheye=fisheye,
    )


def write_report(path: str | os.PathLike[str], result: CalibrationResult) -> None:
    atomic_write_text(path, json.dumps(result.report.to_dict(), indent=2) + "\n")


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
    calibration.toml) with ``<out>.report.json`` beside it; ``fisheye`` as in
    :func:`pose3d.calibration.calibrate.calibrate`."""
    out = Path(out)
    if not out.parent.is_dir():
        raise CalibrationError(f"cannot write {out}: folder {out.parent} does not exist")
    result = _run(media, board, step, reference, origin_frame, progress, cancel, None, fisheye)
    save_calibration(out, result.cameras)
    write_report(out.with_name(out.stem + ".report.json"), result)
    return result


def calibrate_session(
    root: str | os.PathLike[str],
    step: int | None = None,
    reference: str | None = None,
    origin_frame: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    fisheye: bool | Collection[str] = False,
    lock: SessionLock | None = None,
) -> CalibrationResult:
    """Calibrate a session from its ``[calibration] media``; writes calibration/detections.nc,
    calibration/calibration.toml and calibration/report.json; ``fisheye`` as in
    :func:`pose3d.calibration.calibrate.calibrate`. ``lock``: a SessionLock the caller already
    holds (the TUI); otherwise one is taken for the run."""
    from pose3d.io.lock import SessionLock
    from pose3d.io.session_toml import load_session

    session = load_session(root)
    media = session.calibration_media_paths()
    if not media:
        raise CalibrationError(
            f"{session.session_file} lists no calibration media; add a table like\n"
            '[calibration]\nmedia = { cam0 = "calibration/cam0.mp4", cam1 = "calibration/cam1" }'
        )
    missing = [n for n in session.camera_names if n not in media]
    if missing:
        raise CalibrationError(
            f"{session.session_file}: camera(s) {', '.join(missing)} have no calibration media "
            "in [calibration] media; every camera needs a board video or image folder"
        )
    board_file = session.calibration_dir / "board.toml"
    board = session.board or (load_board(board_file) if board_file.is_file() else None)
    if board is None:
        raise CalibrationError(
            f"session {session.root} has no board: add a [board] table to session.toml or "
            f"write {board_file} (see calibration/boards/ for ready specs)"
        )
    session.calibration_dir.mkdir(exist_ok=True)
    held = lock is not None and lock.held
    with contextlib.nullcontext() if held else SessionLock(session.root):
        result = _run(
            {n: media[n] for n in session.camera_names},
            board,
            step,
            reference,
            origin_frame,
            progress,
            cancel,
            session.calibration_dir / DETECTIONS_FILE,
            fisheye,
        )
        save_calibration(session.calibration_path, result.cameras)
        write_report(session.calibration_dir / REPORT_FILE, result)
    return result
