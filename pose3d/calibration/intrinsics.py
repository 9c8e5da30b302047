"""Per-camera intrinsics from board detections: the full pinhole model.

``fx, fy, cx, cy, k1, k2, p1, p2, k3`` are all estimated (Anipose fixes the principal point at the
image centre and uses one focal length, which costs rotation accuracy on real lenses).
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


# k3 (the r^6 term) is estimated only when the detected corners reach this far towards the image
# corners (as a fraction of the centre-to-corner distance); otherwise it is fixed at 0: fitted
# from the middle of the image alone it bends the lens model far off outside the board's reach.
K3_REACH = 0.8
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


def calibrate_intrinsics(detections: BoardDetections, view: int) -> tuple[Camera, float, int]:
    """Intrinsics of one camera; returns (camera at the origin, RMS px, frames used)."""
    import cv2

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
    board_points = detections.board.corner_points().astype(np.float32)
    object_points, image_points = [], []
    for f in frames:
        seen = np.isfinite(corners[f, :, 0])
        object_points.append(board_points[seen])
        image_points.append(corners[f, seen].astype(np.float32))
    width, height = detections.sizes[view]
    matrix0 = np.array(
        [
            [max(width, height), 0, width / 2 - 0.5],
            [0, max(width, height), height / 2 - 0.5],
            [0, 0, 1],
        ]
    )
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 200, 1e-12)
    rms, matrix, dist, _, _ = cv2.calibrateCamera(
        object_points,
        image_points,
        (width, height),
        matrix0,
        np.zeros(5),
        flags=cv2.CALIB_USE_INTRINSIC_GUESS
        | (0 if reach(detections, view) >= K3_REACH else cv2.CALIB_FIX_K3),
        criteria=criteria,
    )
    camera = Camera(
        name,
        (width, height),
        np.asarray(matrix, dtype=np.float64),
        np.asarray(dist, dtype=np.float64).reshape(-1)[:5],
    )
    return camera, float(rms), len(frames)
