"""Board detection in calibration media (videos or folders of synchronized images).

Corners are sub-pixel accurate: ChArUco corners are interpolated from the markers and refined
with ``cornerSubPix`` by OpenCV's CharucoDetector; checkerboards are found by
``findChessboardCornersSB``, refined by ``cornerSubPix`` (half-window up to 5 px, below half a
square) and put in the board's id order (square (0, 0) black). Cameras are processed in
parallel threads (OpenCV releases the GIL); every camera reads the same media frame numbers, so
detections stay synchronized.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board, BoardDetections, CharucoBoard
from pose3d.calibration.opencv_board import opencv_charuco
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


def make_detector(board: Board) -> Detector:
    """A function grey image [H, W] uint8 -> FrameCorners for ``board`` (thread-safe per call
    site: make one detector per thread)."""
    import cv2

    if isinstance(board, CharucoBoard):
        detector_params = cv2.aruco.DetectorParameters()
        detector_params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
        charuco_params = cv2.aruco.CharucoParameters()
        charuco_params.tryRefineMarkers = True
        detector = cv2.aruco.CharucoDetector(opencv_charuco(board), charuco_params, detector_params)

        def detect_charuco(gray: NDArray[np.uint8]) -> FrameCorners:
            corners, ids, _, marker_ids = detector.detectBoard(gray)
            n_markers = 0 if marker_ids is None else len(marker_ids)
            if ids is None or len(ids) == 0:
                return FrameCorners(np.zeros(0, np.int64), np.zeros((0, 2)), n_markers)
            return FrameCorners(
                ids.reshape(-1).astype(np.int64),
                corners.reshape(-1, 2).astype(np.float64),
                n_markers,
            )

        return detect_charuco

    pattern = board.inner_corners
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 40, 1e-3)

    def detect_checkerboard(gray: NDArray[np.uint8]) -> FrameCorners:
        found, corners = cv2.findChessboardCornersSB(
            gray, pattern, flags=cv2.CALIB_CB_NORMALIZE_IMAGE
        )
        if not found:
            return FrameCorners(np.zeros(0, np.int64), np.zeros((0, 2)))
        rows = corners.reshape(pattern[1], pattern[0], 2)
        spacing = float(np.median(np.linalg.norm(np.diff(rows, axis=1), axis=-1)))
        half = max(2, min(5, int(spacing / 2 - 1)))
        refined = cv2.cornerSubPix(gray, corners, (half, half), (-1, -1), criteria)
        grid = refined.reshape(pattern[1], pattern[0], 2).astype(np.float64)
        points = oriented(grid, gray).reshape(-1, 2)
        return FrameCorners(np.arange(len(points), dtype=np.int64), points)

    return detect_checkerboard


def oriented(grid: NDArray[np.float64], gray: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Checkerboard corners [rows, cols, 2] in the board's id order: square (0, 0) is black.

    OpenCV may return the grid turned by 180 degrees; the colours of the two outer corner squares
    tell the orientation when they differ, i.e. for boards with one odd and one even number of
    squares (for the others the grid is returned as found).
    """
    first = grid[0, 0] - 0.5 * (grid[0, 1] - grid[0, 0]) - 0.5 * (grid[1, 0] - grid[0, 0])
    last = grid[-1, -1] + 0.5 * (grid[-1, -1] - grid[-1, -2]) + 0.5 * (grid[-1, -1] - grid[-2, -1])
    height, width = gray.shape[:2]

    def shade(point: NDArray[np.float64]) -> float:
        x = int(np.clip(round(point[0]), 0, width - 1))
        y = int(np.clip(round(point[1]), 0, height - 1))
        return float(gray[y, x])

    if shade(first) > shade(last):
        return grid[::-1, ::-1]
    return grid


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
