"""Ground truth of a synthetic session: projections, visibility and the datasets that hold them.

Subject keypoints: a keypoint is visible in a camera iff it lies in the camera's field of view
(in front, inside the image, within the lens model's reach) and the first surface on the ray
from the camera centre towards it belongs to its own primitive (the one it is the centre of), so
self-occlusion, occlusion by the other individual and by the floor are exact.

Board corners: visible iff in the field of view and the camera sees the board's printed face.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.board import Board
from pose3d.cameras import CameraGroup
from pose3d.io.board_toml import board_to_dict
from pose3d.labels import new_labels
from pose3d.poses import poses_dataset
from pose3d.synthetic.board_media import BoardPoses
from pose3d.synthetic.raycast import Ellipsoids, nearest_ellipsoid
from pose3d.synthetic.rig import FieldOfView
from pose3d.synthetic.subject import Subjects

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# board.nc only (ground truth of the calibration media); the shared names come from pose3d.schema
CORNER = "corner"
AXIS = "axis"
VISIBLE = "visible"
FRONT_FACING = "front_facing"
BOARD_RVEC, BOARD_TVEC, CORNER_WORLD = "rvec", "tvec", "corner_world"
KIND_BOARD_TRUTH = "synthetic_board_truth"


def keypoint_visibility(
    fov: FieldOfView, bodies: Ellipsoids, points: FloatArray, parts: NDArray[np.int64]
) -> BoolArray:
    """Visibility [N] of keypoints ``points`` [N, 3] whose own primitives are ``parts`` [N]."""
    origin = fov.camera.center
    offsets = points - origin
    rays = offsets / np.linalg.norm(offsets, axis=-1, keepdims=True)
    distance, first = nearest_ellipsoid(origin, rays, bodies)
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = np.where(rays[:, 2] < 0, -origin[2] / rays[:, 2], np.inf)
    first = np.where(floor < distance, -1, first)
    return np.asarray(fov.contains(points) & (first == parts))


def subject_truth(
    rig: CameraGroup, subjects: Subjects, recorded: BoolArray | None = None
) -> tuple[FloatArray, BoolArray]:
    """True pixels [T, V, 2, K, I] and visibility [T, V, K, I] of every keypoint.

    ``recorded`` [T, V] marks the session frames each camera recorded (with frame offsets a
    camera misses some); a keypoint is visible only in recorded frames. Pixels are the true
    projection wherever the point is in front of the camera, visible or not.
    """
    points = subjects.keypoints()  # [T, 3, K, I]
    parts = subjects.keypoint_parts().ravel()  # [K * I]
    n_time, _, n_kp, n_ind = points.shape
    xyz = np.moveaxis(points, 1, -1)  # [T, K, I, 3]
    pixels = np.stack([cam.project(xyz) for cam in rig], axis=1)  # [T, V, K, I, 2]
    pixels = np.moveaxis(pixels, -1, 2)  # [T, V, 2, K, I]
    visible = np.zeros((n_time, len(rig), n_kp, n_ind), dtype=bool)
    fovs = [FieldOfView.of(cam) for cam in rig]
    for t in range(n_time):
        bodies = subjects.frame(t)
        flat = xyz[t].reshape(-1, 3)
        for v, fov in enumerate(fovs):
            visible[t, v] = keypoint_visibility(fov, bodies, flat, parts).reshape(n_kp, n_ind)
    if recorded is not None:
        visible &= recorded[:, :, None, None]
    return np.ascontiguousarray(pixels), visible


def labels_truth(
    pixels: FloatArray,
    visible: BoolArray,
    views: Sequence[str],
    keypoints: Sequence[str],
    individuals: Sequence[str],
) -> xr.Dataset:
    """The true 2D in labels.nc's layout: ``position`` the true projection (NaN only behind a
    camera), ``confidence`` 1 where visible and 0 elsewhere, ``source`` IMPORTED wherever there
    is a position, ``review`` False, plus the boolean ``visible``."""
    ds = new_labels(pixels.shape[0], views, keypoints, individuals)
    ds[s.POSITION].values[:] = pixels
    has_point = np.all(np.isfinite(pixels), axis=2)
    ds[s.CONFIDENCE].values[:] = visible.astype(np.float64)
    ds[s.SOURCE].values[:] = np.where(has_point, int(s.PointSource.IMPORTED), 0).astype(np.int8)
    ds[VISIBLE] = ((s.TIME, s.VIEW, s.KEYPOINT, s.INDIVIDUAL), visible)
    ds.attrs["description"] = "pose3d synthetic ground truth (see truth/README.txt)"
    return ds


def poses_truth(
    points: FloatArray,
    visible: BoolArray,
    keypoints: Sequence[str],
    individuals: Sequence[str],
    fps: float,
) -> xr.Dataset:
    """The true 3D [T, 3, K, I] (mm): confidence 1, reprojection error 0, ``n_views`` the number
    of cameras in which the keypoint is visible."""
    n_views = visible.sum(axis=1).astype(np.int16)
    ds = poses_dataset(
        points,
        keypoints,
        individuals,
        fps=fps,
        space_unit="mm",
        confidence=np.ones(n_views.shape),
        reprojection_error=np.zeros(n_views.shape),
        n_views=n_views,
    )
    ds.attrs["description"] = "pose3d synthetic ground truth (see truth/README.txt)"
    return ds


def board_truth(
    board: Board,
    poses: BoardPoses,
    world: FloatArray,
    pixels: FloatArray,
    visible: BoolArray,
    front: BoolArray,
    views: Sequence[str],
) -> xr.Dataset:
    """truth/board.nc: board poses, corners in the world and in every camera, visibility.

    ``rvec``/``tvec`` [time, axis] map board to world (``X_world = R(rvec) X_board + tvec``, mm);
    ``corner_world`` [time, corner, axis]; ``position`` [time, view, space, corner] true pixels;
    ``visible`` [time, view, corner]; ``front_facing`` [time, view]. ``time`` counts frames of
    the calibration media, which are synchronized (no offsets).
    """
    n_frames, n_corners = world.shape[:2]
    ds = xr.Dataset(
        {
            BOARD_RVEC: ((s.TIME, AXIS), poses.rvecs),
            BOARD_TVEC: ((s.TIME, AXIS), poses.tvecs, {s.ATTR_UNIT: "mm"}),
            CORNER_WORLD: ((s.TIME, CORNER, AXIS), world, {s.ATTR_UNIT: "mm"}),
            s.POSITION: (
                (s.TIME, s.VIEW, s.SPACE, CORNER),
                np.moveaxis(pixels, -1, 2),
                {s.ATTR_UNIT: "px"},
            ),
            VISIBLE: ((s.TIME, s.VIEW, CORNER), visible),
            FRONT_FACING: ((s.TIME, s.VIEW), front),
        },
        coords={
            s.TIME: np.arange(n_frames),
            s.VIEW: list(views),
            s.SPACE: list(s.SPACE_2D),
            CORNER: np.arange(n_corners),
            AXIS: list(s.SPACE_3D),
        },
        attrs={
            s.ATTR_KIND: KIND_BOARD_TRUTH,
            s.ATTR_SCHEMA_VERSION: s.SCHEMA_VERSION,
            s.ATTR_SOURCE_SOFTWARE: s.SOURCE_SOFTWARE,
            s.ATTR_TIME_UNIT: "frames",
            "description": "pose3d synthetic ground truth of the calibration media",
            **_board_attrs(board),
        },
    )
    return ds


def _board_attrs(board: Board) -> dict[str, object]:
    """netCDF attributes of the board spec (booleans as 0/1, which netCDF can store)."""
    return {
        f"board_{k}": (int(v) if isinstance(v, bool) else v)
        for k, v in board_to_dict(board).items()
    }
