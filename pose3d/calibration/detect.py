"""Board detection in calibration media (videos or folders of synchronized images).

Corners are sub-pixel accurate: ChArUco corners are interpolated from the markers and refined
with ``cornerSubPix`` by OpenCV's CharucoDetector, its smallest marker set from the image size
(``opencv_board.charuco_detector_parameters``); checkerboards are found by
``findChessboardCornersSB`` or, where it fails, the classic ``findChessboardCorners``, refined
and put in the board's id order (``pose3d.calibration.chessboard``). Cameras are processed in
parallel threads (OpenCV releases the GIL); every camera reads the same media frame numbers, so
detections stay synchronized.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board, BoardDetections, CharucoBoard
from pose3d.calibration.chessboard import METHODS, CheckerboardMethod, find_checkerboard
from pose3d.calibration.opencv_board import opencv_charuco_detector
from pose3d.errors import Pose3dError
from pose3d.progress import ProgressCallback

# Long videos are subsampled to look at about this many frames per camera by default.
DEFAULT_MAX_FRAMES = 300


class CalibrationCancelled(Pose3dError):
    """The user cancelled a long calibration step."""


@dataclass(frozen=True)
class FrameCorners:
    """Corners found in one image: ``ids`` [n] (board corner ids), ``corners`` [n, 2] px."""

    ids: NDArray[np.int64]
    corners: NDArray[np.float64]
    n_markers: int = 0


Detector = Callable[[NDArray[np.uint8]], FrameCorners]


def make_detector(
    board: Board, checkerboard_methods: Sequence[CheckerboardMethod] = METHODS
) -> Detector:
    """A function grey image [H, W] uint8 -> FrameCorners for ``board`` (thread-safe per call
    site: make one detector per thread). ``checkerboard_methods``: the checkerboard detectors
    to try, in order (see ``pose3d.calibration.chessboard``)."""
    if isinstance(board, CharucoBoard):
        return charuco_detector(board)

    def detect_checkerboard(gray: NDArray[np.uint8]) -> FrameCorners:
        points = find_checkerboard(gray, board, checkerboard_methods)
        if points is None:
            return FrameCorners(np.zeros(0, np.int64), np.zeros((0, 2)))
        return FrameCorners(np.arange(len(points), dtype=np.int64), points)

    return detect_checkerboard


def charuco_detector(board: CharucoBoard, size_adapted: bool = True) -> Detector:
    """ChArUco detection with OpenCV's detector built for each image size met (``size_adapted``
    False: OpenCV's size-independent settings, as pose3d had them before)."""
    detectors: dict[tuple[int, int], Any] = {}

    def detect_charuco(gray: NDArray[np.uint8]) -> FrameCorners:
        size = (int(gray.shape[1]), int(gray.shape[0]))
        if size not in detectors:
            detectors[size] = opencv_charuco_detector(board, size if size_adapted else None)
        corners, ids, _, marker_ids = detectors[size].detectBoard(gray)
        n_markers = 0 if marker_ids is None else len(marker_ids)
        if ids is None or len(ids) == 0:
            return FrameCorners(np.zeros(0, np.int64), np.zeros((0, 2)), n_markers)
        return FrameCorners(
            ids.reshape(-1).astype(np.int64),
            corners.reshape(-1, 2).astype(np.float64),
            n_markers,
        )

    return detect_charuco


def to_gray(frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """RGB [H, W, 3] or grey [H, W] -> grey [H, W]."""
    if frame.ndim == 2:
        return frame
    import cv2

    return np.asarray(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))


def _frame_numbers(n_frames: int, step: int | None, max_frames: int | None) -> list[int]:
    if step is None:
        limit = DEFAULT_MAX_FRAMES if max_frames is None else max_frames
        step = max(1, -(-n_frames // max(1, limit)))
    frames = list(range(0, n_frames, max(1, step)))
    return frames if max_frames is None else frames[:max_frames]


def detect_camera(
    path: str | os.PathLike[str],
    board: Board,
    frames: Sequence[int],
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[tuple[int, int], dict[int, FrameCorners]]:
    """Detect ``board`` in the given frames of one camera's media; returns (size, by frame)."""
    from pose3d.io.video_reading import VideoReader

    detector = make_detector(board)
    found: dict[int, FrameCorners] = {}
    with VideoReader(path) as reader:
        wanted = set(frames)
        for done, index in enumerate(sorted(wanted)):
            if cancel is not None and cancel.is_set():
                raise CalibrationCancelled("board detection cancelled")
            result = detector(to_gray(reader.read(index)))
            if len(result.ids):
                found[index] = result
            if progress is not None:
                progress(done + 1)
        return reader.size, found


def detect_boards(
    media: Mapping[str, str | os.PathLike[str]],
    board: Board,
    step: int | None = None,
    max_frames: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    workers: int = 2,
) -> BoardDetections:
    """Detect ``board`` in every camera's calibration media (synchronized videos or image
    folders: frame k of every camera shows the same instant).

    ``step`` looks at every step-th frame (default: about 300 frames per camera);
    ``progress(camera_name, done, total)`` is called per frame; setting ``cancel`` stops early.
    """
    from pose3d.io.video_reading import VideoReader

    if not media:
        raise Pose3dError("no calibration media given (NAME=PATH per camera)")
    counts = {}
    for name, path in media.items():
        with VideoReader(path) as reader:
            counts[name] = reader.n_frames
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{n}: {c} frames ({media[n]})" for n, c in counts.items())
        raise Pose3dError(
            f"the calibration media of the cameras have different lengths ({listing}); "
            "synchronized media have the same number of frames: trim them to the same instants"
        )
    frames = _frame_numbers(next(iter(counts.values())), step, max_frames)
    names = list(media)

    def run(name: str) -> tuple[tuple[int, int], dict[int, FrameCorners]]:
        def tick(done: int) -> None:
            if progress is not None:
                progress(f"detect {name}", done, len(frames))

        return detect_camera(media[name], board, frames, tick, cancel)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(run, names))
    corners = np.full((len(names), len(frames), board.n_corners, 2), np.nan)
    position = {f: i for i, f in enumerate(frames)}
    for v, (_, found) in enumerate(results):
        for frame, result in found.items():
            keep = (result.ids >= 0) & (result.ids < board.n_corners)
            corners[v, position[frame], result.ids[keep]] = result.corners[keep]
    return BoardDetections(
        tuple(names),
        tuple(size for size, _ in results),
        np.asarray(frames, dtype=np.int64),
        corners,
        board,
    )
