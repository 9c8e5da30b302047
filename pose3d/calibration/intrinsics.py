"""Per-camera intrinsics from board detections: the full pinhole or fisheye model.

Pinhole (``cv2.calibrateCamera``): ``fx, fy, cx, cy, k1, k2, p1, p2, k3`` are all estimated
(Anipose fixes the principal point at the image centre and uses one focal length, which costs
rotation accuracy on real lenses). Fisheye (``cv2.fisheye.calibrate``): ``fx, fy, cx, cy,
k1, k2, k3, k4``, no skew. The highest-order radial term is held at 0 unless the corners reach
the image corners (see HIGH_ORDER_REACH).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pose3d.board import MIN_CORNERS, BoardDetections
from pose3d.cameras import Camera
from pose3d.errors import CalibrationError

# Frames given to cv2.calibrateCamera per camera (the best spread); bundle adjustment uses all.
MAX_INTRINSIC_FRAMES = 40


def _pick_frames(counts: NDArray[np.int64], limit: int) -> NDArray[np.int64]:
    usable = np.flatnonzero(counts >= MIN_CORNERS)
    if len(usable) <= limit:
        return usable
    picks = np.linspace(0, len(usable) - 1, limit).round().astype(int)
    return usable[np.unique(picks)]


# The highest-order radial term (pinhole k3, the r^6 term; fisheye k4, the θ^9 term) is estimated
# only when the detected corners reach this far towards the image corners (as a fraction of the
# centre-to-corner distance); otherwise it is fixed at 0: fitted from the middle of the image alone
# it bends the lens model far off outside the board's reach (fisheye, synthetic rigs with corners
# reaching 0.6-0.8: up to 4.6 degrees off at the image border with k4 free, <= 0.9 with k4 at 0).
HIGH_ORDER_REACH = 0.8
HIGH_ORDER = {"pinhole": "k3", "fisheye": "k4"}
COVERAGE_CELLS = 8  # coverage = fraction of an 8 x 8 grid of image cells holding a corner


def reach(detections: BoardDetections, view: int) -> float:
    """How far the corners of camera ``view`` reach: the largest distance from the image centre
    over the centre-to-corner distance (0 = none, 1 = an image corner)."""
    width, height = detections.sizes[view]
    xy = detections.corners[view].reshape(-1, 2)
    xy = xy[np.isfinite(xy[:, 0])]
    if xy.size == 0:
        return 0.0
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    return float(np.max(np.linalg.norm(xy - centre, axis=1)) / np.linalg.norm(centre))


def coverage(detections: BoardDetections, view: int) -> float:
    """Fraction of the image of camera ``view`` (on an 8 x 8 grid of cells) holding a corner."""
    width, height = detections.sizes[view]
    xy = detections.corners[view].reshape(-1, 2)
    xy = xy[np.isfinite(xy[:, 0])]
    cx = np.clip((xy[:, 0] / width * COVERAGE_CELLS).astype(int), 0, COVERAGE_CELLS - 1)
    cy = np.clip((xy[:, 1] / height * COVERAGE_CELLS).astype(int), 0, COVERAGE_CELLS - 1)
    return len(set(zip(cx.tolist(), cy.tolist(), strict=True))) / COVERAGE_CELLS**2


def held_coefficients(detections: BoardDetections, view: int, fisheye: bool) -> set[str]:
    """The distortion coefficients of camera ``view`` held at 0 (see HIGH_ORDER_REACH)."""
    if reach(detections, view) >= HIGH_ORDER_REACH:
        return set()
    return {HIGH_ORDER["fisheye" if fisheye else "pinhole"]}


def calibrate_intrinsics(
    detections: BoardDetections, view: int, fisheye: bool = False
) -> tuple[Camera, float, int]:
    """Intrinsics of one camera (OpenCV's fisheye model if ``fisheye``); returns (camera at the
    origin, RMS px, frames used)."""
    name = detections.views[view]
    corners = detections.corners[view]  # [frames, corners, 2]
    counts = np.isfinite(corners[..., 0]).sum(axis=1)
    frames = _pick_frames(counts, MAX_INTRINSIC_FRAMES)
    if len(frames) < 3:
        raise CalibrationError(
            f"camera {name}: the board was found in {int((counts >= MIN_CORNERS).sum())} of "
            f"{len(counts)} frames, at least 3 are needed for its intrinsics; film the board "
            "in more poses in front of this camera"
        )
    board_points = detections.board.corner_points()
    object_points, image_points = [], []
    for f in frames:
        seen = np.isfinite(corners[f, :, 0])
        object_points.append(board_points[seen])
        image_points.append(corners[f, seen])
    size = detections.sizes[view]
    calibrate = _fisheye if fisheye else _pinhole
    held = held_coefficients(detections, view, fisheye)
    matrix, dist, rms = calibrate(object_points, image_points, size, held)
    camera = Camera(name, size, matrix, dist, model="fisheye" if fisheye else "pinhole")
    return camera, rms, len(frames)


Points = list[NDArray[np.float64]]  # per frame: board points [n, 3] or pixels [n, 2]


def _pinhole(
    object_points: Points, image_points: Points, size: tuple[int, int], held: set[str]
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """(matrix [3, 3], dist [5], RMS px) from ``cv2.calibrateCamera``; ``held``: {"k3"} or
    nothing."""
    import cv2

    width, height = size
    matrix0 = np.array(
        [
            [max(width, height), 0, width / 2 - 0.5],
            [0, max(width, height), height / 2 - 0.5],
            [0, 0, 1],
        ]
    )
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 200, 1e-12)
    rms, matrix, dist, _, _ = cv2.calibrateCamera(
        [p.astype(np.float32) for p in object_points],
        [p.astype(np.float32) for p in image_points],
        (width, height),
        matrix0,
        np.zeros(5),
        flags=cv2.CALIB_USE_INTRINSIC_GUESS | (cv2.CALIB_FIX_K3 if "k3" in held else 0),
        criteria=criteria,
    )
    return (
        np.asarray(matrix, dtype=np.float64),
        np.asarray(dist, dtype=np.float64).reshape(-1)[:5],
        float(rms),
    )


def _fisheye(
    object_points: Points, image_points: Points, size: tuple[int, int], held: set[str]
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """(matrix [3, 3], dist [4], RMS px) from ``cv2.fisheye.calibrate``, which wants points
    shaped [n, 1, 3] and [n, 1, 2] in float64; no skew, board poses re-estimated each step;
    ``held``: {"k4"} or nothing."""
    import cv2

    width, height = size
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 200, 1e-12)
    flags = cv2.fisheye.CALIB_RECOMPUTE_EXTRINSIC | cv2.fisheye.CALIB_FIX_SKEW
    if "k4" in held:
        flags |= cv2.fisheye.CALIB_FIX_K4
    rms, matrix, dist, _, _ = cv2.fisheye.calibrate(
        [p.reshape(-1, 1, 3).astype(np.float64) for p in object_points],
        [p.reshape(-1, 1, 2).astype(np.float64) for p in image_points],
        (width, height),
        np.eye(3),
        np.zeros(4),
        flags=flags,
        criteria=criteria,
    )
    return (
        np.asarray(matrix, dtype=np.float64),
        np.asarray(dist, dtype=np.float64).reshape(-1)[:4],
        float(rms),
    )
