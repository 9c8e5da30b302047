"""``pose3d calibrate``: board media -> detections -> calibration.toml + report.json.

:func:`calibrate_session` works on a session folder (its ``[calibration] media`` and board;
writes calibration/detections.nc, calibration.toml and report.json under the folder's lock;
holds the intrinsics of calibration/intrinsics.toml fixed when there is one);
:func:`calibrate_media` on any set of synchronized videos or image folders, writing
``out`` and ``<out>.report.json`` beside it. :func:`calibrate_session_intrinsics` and
:func:`calibrate_media_intrinsics` calibrate each camera's intrinsics alone from its own media
(``--intrinsics-only``). The algorithms are pose3d.calibration's.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from pose3d.board import Board
from pose3d.calibration.calibrate import CalibrationResult, calibrate, fisheye_views
from pose3d.calibration.detect import BoardDetections, detect_boards
from pose3d.calibration.per_camera import IntrinsicsResult, calibrate_each
from pose3d.cameras import CameraGroup
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
    intrinsics: CameraGroup | None = None,
) -> CalibrationResult:
    """Detect the board in every camera's media (kept before they are checked, so that a
    failed check leaves them to look at), check them and calibrate; the cameras of
    ``intrinsics`` keep those intrinsics."""
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
        intrinsics=None if intrinsics is None else {c.name: c for c in intrinsics.cameras},
    )


def calibrate_session(
    folder: SessionFolder,
    step: int | None = None,
    reference: str | None = None,
    origin_frame: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    fisheye: bool | Collection[str] = False,
    refit_intrinsics: bool = False,
) -> CalibrationResult:
    """Calibrate a session from its ``[calibration] media``; ``fisheye`` as in
    :func:`pose3d.calibration.calibrate.calibrate`. The cameras in calibration/intrinsics.toml
    keep those intrinsics unless ``refit_intrinsics``."""
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
        None if refit_intrinsics else folder.intrinsics_or_none(),
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
    intrinsics: str | os.PathLike[str] | None = None,
) -> CalibrationResult:
    """Calibrate from ``media`` (camera -> video or image folder) and write ``out`` (Anipose's
    calibration.toml) with ``<out>.report.json`` beside it; the cameras in the file
    ``intrinsics`` (e.g. written by :func:`calibrate_media_intrinsics`) keep those intrinsics."""
    from pose3d.io.calibration_toml import load_intrinsics, save_calibration

    out = _writable(out)
    given = None if intrinsics is None else load_intrinsics(intrinsics)
    result = _detect_and_calibrate(
        media, board, None, step, reference, origin_frame, progress, cancel, fisheye, given
    )
    save_calibration(out, result.cameras)
    _write_report(out, result.report.to_dict())
    return result


def _writable(out: str | os.PathLike[str]) -> Path:
    out = Path(out)
    if not out.parent.is_dir():
        raise CalibrationError(f"cannot write {out}: folder {out.parent} does not exist")
    return out


def _write_report(out: Path, report: dict[str, Any]) -> None:
    """``<out>.report.json`` beside ``out``."""
    from pose3d.io.atomic import atomic_write_text

    text = json.dumps(report, indent=2) + "\n"
    atomic_write_text(out.with_name(out.stem + ".report.json"), text)


def _detect_each(
    media: Mapping[str, str | os.PathLike[str]],
    board: Board,
    step: int | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> list[BoardDetections]:
    """Each camera's detections in its own media (not synchronized with the others'),
    checked."""
    from pose3d.calibration.diagnose import check_detections

    found = []
    for name, path in media.items():
        one = detect_boards({name: path}, board, step=step, progress=progress, cancel=cancel)
        check_detections(one, {name: path})
        found.append(one)
    return found


def calibrate_session_intrinsics(
    folder: SessionFolder,
    cameras: Sequence[str] | None = None,
    step: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    fisheye: bool | Collection[str] = False,
) -> IntrinsicsResult:
    """Calibrate the intrinsics of ``cameras`` (default: all) each alone, from its
    ``[calibration] intrinsics_media`` (else its ``media``), and write them to
    calibration/intrinsics.toml (other cameras already there are kept) with
    intrinsics.report.json; `calibrate_session` then holds them fixed."""
    media = folder.intrinsics_media(cameras)
    fisheye_views(list(media), fisheye)  # unknown names fail before the slow detection
    result = calibrate_each(
        _detect_each(media, folder.board(), step, progress, cancel), fisheye, progress
    )
    group, report = result.cameras, result.report.to_dict()
    previous = folder.intrinsics_or_none()
    if previous is not None:
        group, report = _merged(previous, folder.intrinsics_report(), group, report)
    folder.save_intrinsics(group, report)
    return result


def _merged(
    previous: CameraGroup,
    previous_report: dict[str, Any] | None,
    group: CameraGroup,
    report: dict[str, Any],
) -> tuple[CameraGroup, dict[str, Any]]:
    """``group`` and ``report`` with the cameras of ``previous`` they do not recalibrate."""
    from dataclasses import replace

    new = set(group.names)
    kept = [c for c in previous.cameras if c.name not in new]
    cameras = replace(group, cameras=tuple(kept) + tuple(group.cameras))
    entries = (previous_report or {}).get("cameras", [])
    old = [e for e in entries if isinstance(e, dict) and e.get("name") not in new]
    return cameras, {**report, "cameras": old + list(report["cameras"])}


def calibrate_media_intrinsics(
    media: Mapping[str, str | os.PathLike[str]],
    board: Board,
    out: str | os.PathLike[str],
    step: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    fisheye: bool | Collection[str] = False,
) -> IntrinsicsResult:
    """Calibrate each camera of ``media`` (camera -> its own video or image folder) alone and
    write ``out`` (intrinsics only, in Anipose's calibration.toml format) with
    ``<out>.report.json`` beside it."""
    from pose3d.io.calibration_toml import save_calibration

    out = _writable(out)
    fisheye_views(list(media), fisheye)
    result = calibrate_each(_detect_each(media, board, step, progress, cancel), fisheye, progress)
    save_calibration(out, result.cameras)
    _write_report(out, result.report.to_dict())
    return result
