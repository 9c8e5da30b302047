"""Why a board was found in too few frames: a diagnosis from a handful of sample frames.

`diagnose_camera` reads up to ``MAX_SAMPLES`` frames of one camera's media and tries what usually
goes wrong, keeping an alternative only when it finds clearly more of the board than the spec
(more than twice as much, plus a few):

1. ChArUco markers: the spec's dictionary on the images as they are, on mirrored images, on
   images upscaled 2x with OpenCV's minimum marker size lowered, and one dictionary of every other
   OpenCV family -> *mirrored video*, *markers too small*, *wrong dictionary*.
2. ChArUco layout, with the markers found in 1: the other legacy pattern (boards with an even
   number of rows), the size given as inner corners (one square more each way), one square
   fewer, x and y swapped -> *legacy pattern*, *inner corners*, *wrong size*.
3. Checkerboards: OpenCV's search for any grid of at least 3x3 inner corners reveals the printed
   size; upscaling reveals squares too small. (A mirrored checkerboard still looks like one.)

What is left is named from what was seen: the markers' measured size, the board found in some
sample frames (in view too rarely), markers without a matching layout, or nothing at all.
`camera_problems` diagnoses every camera of a `BoardDetections` with fewer than ``min_frames``
usable frames; `check_detections` raises a CalibrationError listing them.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pose3d.board import MIN_CORNERS, Board, BoardDetections, BoardError, CharucoBoard, Checkerboard
from pose3d.calibration import board_probes as probes
from pose3d.calibration.board_probes import Gray
from pose3d.errors import CalibrationError, Pose3dError

# A camera needs the board in at least this many frames (cv2.calibrateCamera needs 3 views).
MIN_FRAMES = 3
MAX_SAMPLES = 10
# An alternative wins when it finds more than twice what the spec finds, plus this many.
_MARGIN_MARKERS = 8
_MARGIN_CORNERS = MIN_CORNERS


class Cause(enum.Enum):
    WRONG_DICTIONARY = "wrong dictionary"
    INNER_CORNERS = "board size given as inner corners"
    WRONG_SIZE = "wrong board size"
    LEGACY_PATTERN = "legacy pattern"
    MIRRORED = "mirrored video"
    MARKERS_TOO_SMALL = "markers too small"
    BOARD_LAYOUT = "board layout does not match"
    RARELY_SEEN = "board rarely in view"
    NOT_SEEN = "board not seen"


@dataclass(frozen=True)
class Diagnosis:
    """The likely cause(s) of a camera's missing detections.

    ``causes`` the main cause first; ``detail`` one line naming them and what to do; ``board``
    the corrected spec when the fix is in the spec (dictionary, size, legacy flag), else None;
    ``marker_px`` the median side of the markers (checkerboard: squares) seen, in media pixels.
    """

    camera: str
    path: Path
    causes: tuple[Cause, ...]
    detail: str
    n_samples: int
    board: Board | None = None
    marker_px: float | None = None

    @property
    def cause(self) -> Cause:
        return self.causes[0]

    @property
    def message(self) -> str:
        return f"{self.camera} ({self.path}): {self.detail}"


@dataclass(frozen=True)
class CameraProblem:
    """A camera whose board was found in too few frames, with its diagnosis."""

    camera: str
    path: Path
    n_found: int
    n_frames: int
    diagnosis: Diagnosis

    @property
    def message(self) -> str:
        return (
            f"board found in {self.n_found} of {self.n_frames} frames of {self.camera} "
            f"({self.path}): {self.diagnosis.detail}"
        )


def diagnose_camera(
    path: str | os.PathLike[str],
    board: Board,
    frames: Sequence[int] | None = None,
    camera: str | None = None,
    max_samples: int = MAX_SAMPLES,
) -> Diagnosis:
    """Diagnose why ``board`` is (almost) never found in one camera's media (a video or an
    image folder), from up to ``max_samples`` of ``frames`` (default: all), evenly spread."""
    from pose3d.calibration.detect import to_gray
    from pose3d.io.video_reading import VideoReader

    path = Path(path)
    name = camera or path.name
    with VideoReader(path) as reader:
        wanted = list(range(reader.n_frames)) if frames is None else list(frames)
        images = [to_gray(reader.read(i)) for i in _spread(wanted, max_samples)]
    if not images:
        raise Pose3dError(f"{name} ({path}): no frames to diagnose; give at least one frame")
    if isinstance(board, CharucoBoard):
        return _diagnose_charuco(name, path, board, images)
    return _diagnose_checkerboard(name, path, board, images)


def camera_problems(
    detections: BoardDetections,
    media: Mapping[str, str | os.PathLike[str]],
    min_frames: int = MIN_FRAMES,
) -> list[CameraProblem]:
    """The cameras of ``detections`` with the board (at least MIN_CORNERS corners) in fewer than
    ``min_frames`` frames, each diagnosed on its media ``media[camera]``: half the sample frames
    where some corners were found, the rest spread over the others."""
    counts = np.isfinite(detections.corners[..., 0]).sum(axis=-1)  # [views, frames]
    problems = []
    for v, name in enumerate(detections.views):
        n_found = int((counts[v] >= MIN_CORNERS).sum())
        if n_found >= min_frames:
            continue
        if name not in media:
            raise Pose3dError(f"no calibration media for camera {name!r}; give NAME=PATH for it")
        picks = _spread(list(detections.frames[counts[v] > 0]), MAX_SAMPLES // 2)
        picks += _spread(list(detections.frames[counts[v] == 0]), MAX_SAMPLES - len(picks))
        diagnosis = diagnose_camera(media[name], detections.board, sorted(picks), camera=name)
        problems.append(
            CameraProblem(name, Path(media[name]), n_found, len(detections.frames), diagnosis)
        )
    return problems


def check_detections(
    detections: BoardDetections,
    media: Mapping[str, str | os.PathLike[str]],
    min_frames: int = MIN_FRAMES,
) -> None:
    """Raise a CalibrationError naming every camera with the board in fewer than ``min_frames``
    frames (default MIN_FRAMES = 3, what cv2.calibrateCamera needs), its count and the
    diagnosed cause; return quietly when every camera has enough."""
    problems = camera_problems(detections, media, min_frames)
    if problems:
        lines = "\n".join(f"  {p.message}" for p in problems)
        raise CalibrationError(
            f"the board was found in too few frames (at least {min_frames} per camera are "
            f"needed):\n{lines}"
        )


def _spread(frames: list[Any], n: int) -> list[int]:
    """Up to ``n`` of ``frames``, evenly spread."""
    if n <= 0 or not frames:
        return []
    if len(frames) <= n:
        return [int(f) for f in frames]
    picks = np.unique(np.linspace(0, len(frames) - 1, n).round().astype(int))
    return [int(frames[i]) for i in picks]


# --- ChArUco ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    causes: tuple[Cause, ...]  # empty: the spec as given
    detail: str
    board: CharucoBoard
    images: list[Gray]
    scale: float  # px of these images per px of the media
    perimeter_rate: float = probes.DEFAULT_PERIMETER_RATE


def _diagnose_charuco(name: str, path: Path, board: CharucoBoard, images: list[Gray]) -> Diagnosis:
    markers = _markers_finding(board, images)
    layout = _layout_finding(markers.board, markers.images)
    side = probes.marker_side(markers.board, markers.images, markers.perimeter_rate)
    side = None if side is None else side / markers.scale
    if markers.causes or layout.causes:
        return Diagnosis(
            name,
            path,
            markers.causes + layout.causes,
            "; ".join(f.detail for f in (markers, layout) if f.causes),
            len(images),
            layout.board if layout.board != board else None,
            side,
        )
    cause, detail = _charuco_leftover(board, images, side)
    return Diagnosis(name, path, (cause,), detail, len(images), None, side)


def _markers_finding(board: CharucoBoard, images: list[Gray]) -> _Finding:
    """Which dictionary and image transform find the board's markers."""
    spec = probes.count_markers(images, board.dictionary, board.n_markers)
    mirrored = _Finding((Cause.MIRRORED,), _MIRRORED, board, probes.mirror(images), 1.0)
    small = _Finding(
        (Cause.MARKERS_TOO_SMALL,),
        "",
        board,
        probes.upscale(images),
        probes.UPSCALE,
        probes.SMALL_PERIMETER_RATE,
    )
    options = [mirrored, small]
    for dictionary in probes.other_dictionaries(board):
        detail = (
            f"wrong dictionary: markers of {dictionary} found, the spec says {board.dictionary}; "
            f'set dictionary = "{dictionary}" in the board spec (every '
            f"{probes.family(dictionary)}_* dictionary with {board.n_markers} markers or more "
            "holds the same ones)"
        )
        other = replace(board, dictionary=dictionary)
        options.append(_Finding((Cause.WRONG_DICTIONARY,), detail, other, images, 1.0))
    counts = [
        probes.count_markers(f.images, f.board.dictionary, board.n_markers, f.perimeter_rate)
        for f in options
    ]
    best = int(np.argmax(counts))
    if counts[best] < 2 * spec + _MARGIN_MARKERS:
        return _Finding((), "", board, images, 1.0)
    found = options[best]
    if found.causes == (Cause.MARKERS_TOO_SMALL,):
        side = probes.marker_side(board, found.images, found.perimeter_rate)
        size = None if side is None else side / found.scale
        return replace(found, detail=_too_small(size, board, images[0].shape))
    return found


def _layout_finding(board: CharucoBoard, images: list[Gray]) -> _Finding:
    """Which size and legacy flag interpolate the most ChArUco corners from the markers."""
    base = sum(probes.corners_per_image(board, images))
    best, best_count = _Finding((), "", board, images, 1.0), base
    for cause, candidate in _layouts(board):
        count = sum(probes.corners_per_image(candidate, images))
        if count >= 2 * base + _MARGIN_CORNERS and count > best_count:
            causes = (cause,) if candidate.legacy == board.legacy else (cause, Cause.LEGACY_PATTERN)
            detail = _layout_detail(board, candidate)
            best, best_count = (
                _Finding(tuple(dict.fromkeys(causes)), detail, candidate, images, 1.0),
                count,
            )
    return best


def _layouts(board: CharucoBoard) -> list[tuple[Cause, CharucoBoard]]:
    """Alternative layouts: the other legacy pattern, sizes +1, -1 and swapped (each with the
    other legacy pattern too when its number of rows is even)."""
    sx, sy = board.squares_x, board.squares_y
    sizes = [(Cause.INNER_CORNERS, sx + 1, sy + 1), (Cause.WRONG_SIZE, sx - 1, sy - 1)]
    if sx != sy:
        sizes.append((Cause.WRONG_SIZE, sy, sx))
    layouts: list[tuple[Cause, CharucoBoard]] = []
    if sy % 2 == 0:
        layouts.append((Cause.LEGACY_PATTERN, replace(board, legacy=not board.legacy)))
    for cause, x, y in sizes:
        dictionary = probes.fit_dictionary(board.dictionary, (x * y) // 2)
        if dictionary is None:
            continue
        try:
            resized = replace(board, squares_x=x, squares_y=y, dictionary=dictionary)
        except BoardError:  # fewer than 3x3 squares
            continue
        layouts.append((cause, resized))
        if y % 2 == 0:
            layouts.append((cause, replace(resized, legacy=not board.legacy)))
    return layouts


def _layout_detail(spec: CharucoBoard, found: CharucoBoard) -> str:
    parts = []
    x, y = found.squares_x, found.squares_y
    if (x, y) == (spec.squares_x + 1, spec.squares_y + 1):
        parts.append(
            f"the board size looks like inner corners ({spec.squares_x}x{spec.squares_y}); "
            f"give squares ({x}x{y}): squares_x = {x}, squares_y = {y}"
        )
    elif (x, y) != (spec.squares_x, spec.squares_y):
        parts.append(
            f"wrong board size: the board is found as {x}x{y} squares, the spec says "
            f"{spec.squares_x}x{spec.squares_y}; set squares_x = {x}, squares_y = {y}"
        )
    if found.dictionary != spec.dictionary:
        parts.append(f'dictionary = "{found.dictionary}" (for the extra markers)')
    if found.legacy != spec.legacy:
        flag = str(found.legacy).lower()
        parts.append(
            f"legacy pattern: the board is found with legacy = {flag}; set legacy = {flag} in "
            "the board spec (boards with an even number of rows made with OpenCV < 4.6, or "
            "with tools based on it, carry the legacy pattern)"
        )
    return ", and ".join(parts)


def _charuco_leftover(
    board: CharucoBoard, images: list[Gray], side: float | None
) -> tuple[Cause, str]:
    """The cause when no alternative found clearly more than the spec."""
    shape = images[0].shape
    found = probes.frames_found(board, images)
    with_markers = probes.frames_with_markers(board, images)
    if side is not None and side < _needed_side(board, shape) and found < with_markers:
        return Cause.MARKERS_TOO_SMALL, _too_small(side, board, shape)
    if found:
        return Cause.RARELY_SEEN, _rarely_seen(found, len(images))
    max_id = probes.max_marker_id(images, board.dictionary)
    if max_id is not None:
        return Cause.BOARD_LAYOUT, (
            f"board layout does not match: markers of {board.dictionary} found (ids up to "
            f"{max_id}; a {board.squares_x}x{board.squares_y} board has ids 0-"
            f"{board.n_markers - 1}) but no ChArUco corners; check squares_x, squares_y, "
            "marker_length and legacy against the printed board"
        )
    return Cause.NOT_SEEN, _not_seen("ArUco markers of any dictionary", len(images))


_MIRRORED = (
    "mirrored video: the board is found in the horizontally flipped images; turn off the "
    "camera's mirror setting or un-mirror the video (ffmpeg -vf hflip) before calibrating "
    "(or reprint the board if it was printed mirrored)"
)


def _rarely_seen(found: int, n: int) -> str:
    return (
        f"board rarely in view: the spec matches (the board is found in {found} of {n} sample "
        "frames) but this camera sees the board in too few frames; film the board longer in "
        "front of this camera, moving slowly"
    )


def _not_seen(what: str, n: int) -> str:
    return (
        f"board not seen: no {what} in {n} sample frames; check that the board is in view, "
        "evenly lit without glare, in focus and not blurred by motion"
    )


def _too_small(side: float | None, board: Board, shape: tuple[int, ...]) -> str:
    size = "" if side is None else f"~{side:.0f} px, "
    what = "markers" if isinstance(board, CharucoBoard) else "squares"
    return (
        f"{what} too small ({size}reliable detection needs about "
        f"{_needed_side(board, shape):.0f} px at {shape[1]}x{shape[0]}); film closer or use a "
        "bigger board / higher resolution"
    )


def _needed_side(board: Board, shape: tuple[int, ...]) -> float:
    """Marker (checkerboard: square) side in px for reliable detection: about 2 px per marker
    cell, and OpenCV's minimum marker perimeter (0.03 of the longer image side) + 25 %."""
    if isinstance(board, Checkerboard):
        return 8.0
    return max(2.0 * (board.marker_bits + 2), 1.25 * probes.DEFAULT_PERIMETER_RATE * max(shape) / 4)


# --- checkerboards ---------------------------------------------------------------------------


def _diagnose_checkerboard(
    name: str, path: Path, board: Checkerboard, images: list[Gray]
) -> Diagnosis:
    n, shape = len(images), images[0].shape
    grids, scale = _checker_grids(board, images), 1.0
    if not grids:
        grids, scale = _checker_grids(board, probes.upscale(images)), probes.UPSCALE
    if not grids:
        return Diagnosis(name, path, (Cause.NOT_SEEN,), _not_seen("checkerboard", n), n)
    side = float(np.median([g[2] for g in grids])) / scale
    small = _too_small(side, board, shape)
    if scale != 1.0:
        return Diagnosis(name, path, (Cause.MARKERS_TOO_SMALL,), small, n, None, side)
    long, short = max((g[0], g[1]) for g in grids)  # partial views give smaller grids
    if (long, short) == _long_short(board.inner_corners):
        found = probes.frames_found(board, images)
        if found < len(grids) and side < _needed_side(board, shape):
            return Diagnosis(name, path, (Cause.MARKERS_TOO_SMALL,), small, n, None, side)
        if found == 0:
            what = f"checkerboard detected accurately (a grid of its size is seen in {len(grids)})"
            return Diagnosis(name, path, (Cause.NOT_SEEN,), _not_seen(what, n), n, None, side)
        return Diagnosis(name, path, (Cause.RARELY_SEEN,), _rarely_seen(found, n), n, None, side)
    x, y = (long + 1, short + 1) if board.squares_x >= board.squares_y else (short + 1, long + 1)
    fixed = replace(board, squares_x=x, squares_y=y)
    if (x, y) == (board.squares_x + 1, board.squares_y + 1):
        detail = (
            f"the board size looks like inner corners ({board.squares_x}x{board.squares_y}); "
            f"give squares ({x}x{y}): squares_x = {x}, squares_y = {y}"
        )
        return Diagnosis(name, path, (Cause.INNER_CORNERS,), detail, n, fixed, side)
    detail = (
        f"wrong board size: a checkerboard of {x}x{y} squares is found, the spec says "
        f"{board.squares_x}x{board.squares_y}; set squares_x = {x}, squares_y = {y}"
    )
    return Diagnosis(name, path, (Cause.WRONG_SIZE,), detail, n, fixed, side)


def _long_short(size: tuple[int, int]) -> tuple[int, int]:
    return max(size), min(size)


def _checker_grids(board: Checkerboard, images: list[Gray]) -> list[tuple[int, int, float]]:
    """The grids found whose size is the spec's inner corners, one more or one fewer each way
    (other sizes are partial views or textures of the background)."""
    long, short = _long_short(board.inner_corners)
    sizes = {(long + d, short + d) for d in (-1, 0, 1)}
    grids = [probes.largest_grid(im, short - 1) for im in images]
    return [g for g in grids if g is not None and (g[0], g[1]) in sizes]
