"""Calibration media: a board moved through varied poses, its renders and its ground truth.

Board poses map board to world: ``X_world = R(rvec) X_board + tvec`` (board frame as in
``pose3d.board``: the board in z = 0, its printed face seen from the -z side, as OpenCV's
solvePnP has it). A pose is kept only if at least two cameras see the whole sheet face-on enough
(within ``max_view_angle`` of its normal), one of them the camera whose turn it is, so every
camera sees the board in many frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board, CharucoBoard, Checkerboard
from pose3d.calibration.board_image import BoardImage, board_image
from pose3d.cameras import CameraGroup, matrix_to_rodrigues, rodrigues_to_matrix
from pose3d.errors import Pose3dError
from pose3d.synthetic.raycast import SUPERSAMPLE, PlacedBoard
from pose3d.synthetic.rig import FieldOfView
from pose3d.synthetic.textures import MipTexture

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

DEFAULT_BOARDS: dict[str, Board] = {
    "charuco": CharucoBoard(7, 5, 50.0, 37.5, "DICT_4X4_50"),
    "checkerboard": Checkerboard(9, 6, 40.0),  # one odd, one even: not 180-degree symmetric
}


def default_board(kind: str) -> Board:
    """The board of a synthetic session: "charuco" (7x5 squares of 50 mm, 37.5 mm 4x4 markers)
    or "checkerboard" (9x6 squares of 40 mm)."""
    if kind not in DEFAULT_BOARDS:
        raise Pose3dError(f"board must be one of {', '.join(DEFAULT_BOARDS)}, got {kind!r}")
    return DEFAULT_BOARDS[kind]


@dataclass(frozen=True)
class BoardPoses:
    """Board-to-world poses, rvecs [N, 3] and tvecs [N, 3] (mm)."""

    rvecs: FloatArray
    tvecs: FloatArray

    def __len__(self) -> int:
        return int(self.rvecs.shape[0])

    def rotation(self, i: int) -> FloatArray:
        return rodrigues_to_matrix(self.rvecs[i])

    def to_world(self, i: int, points: FloatArray) -> FloatArray:
        """Board points [..., 3] of frame ``i`` in world coordinates [..., 3]."""
        return np.asarray(points) @ self.rotation(i).T + self.tvecs[i]


def sheet_outline(board: Board, margin: float, per_edge: int = 8) -> FloatArray:
    """Points [4 * per_edge, 3] along the edge of the printed sheet (board plus margin)."""
    width, height = board.size
    x0, y0, x1, y1 = -margin, -margin, width + margin, height + margin
    s = np.linspace(0.0, 1.0, per_edge, endpoint=False)
    edges = [
        np.column_stack([x0 + s * (x1 - x0), np.full(per_edge, y0)]),
        np.column_stack([np.full(per_edge, x1), y0 + s * (y1 - y0)]),
        np.column_stack([x1 - s * (x1 - x0), np.full(per_edge, y1)]),
        np.column_stack([np.full(per_edge, x0), y1 - s * (y1 - y0)]),
    ]
    xy = np.concatenate(edges)
    return np.column_stack([xy, np.zeros(len(xy))])


def sample_board_poses(
    rig: CameraGroup,
    board: Board,
    n_frames: int,
    rng: np.random.Generator,
    margin: float,
    max_view_angle: float = 60.0,
    placement_radius: float = 220.0,
    height: tuple[float, float] = (100.0, 350.0),
    max_tilt: float = 20.0,
) -> BoardPoses:
    """``n_frames`` board poses, each seen whole by >= 2 cameras (see the module docstring).

    For frame k the camera whose turn it is (cameras take turns in shuffled rounds) and one of
    its two nearest neighbours are picked; the board is placed at a random point of the arena
    volume (``placement_radius`` around the centre, ``height`` above the floor, mm), faces the
    bisector of the two viewing directions, tilted by up to ``max_tilt`` degrees more, at a
    random rotation about its normal. Draws that fail the visibility test are redrawn.
    """
    if n_frames < 1:
        raise Pose3dError(f"n_board_frames must be at least 1, got {n_frames}")
    fovs = [FieldOfView.of(cam) for cam in rig]
    centers = np.array([cam.center for cam in rig])
    outline = sheet_outline(board, margin)
    neighbours = _neighbours(centers)
    turns = _turns(len(rig), n_frames, rng)
    rvecs, tvecs = np.zeros((n_frames, 3)), np.zeros((n_frames, 3))
    for k, primary in enumerate(turns):
        for _ in range(500):
            partner = int(rng.choice(neighbours[primary]))
            rotation, tvec = _draw_pose(
                board, centers, primary, partner, rng, placement_radius, height, max_tilt
            )
            sheet = outline @ rotation.T + tvec
            if sheet[:, 2].min() < 5.0:  # stands above the floor
                continue
            seen = [_sees_whole(fov, sheet, rotation, tvec, max_view_angle) for fov in fovs]
            if seen[primary] and sum(seen) >= 2:
                rvecs[k], tvecs[k] = matrix_to_rodrigues(rotation), tvec
                break
        else:
            raise Pose3dError(
                f"could not place the board so that cam {rig.cameras[primary].name} and another "
                "camera see it whole; use a smaller board or cameras closer together"
            )
    return BoardPoses(rvecs, tvecs)


def _neighbours(centers: FloatArray) -> list[list[int]]:
    """For each camera, the (up to) two cameras closest in azimuth around the arena."""
    azimuth = np.arctan2(centers[:, 1], centers[:, 0])
    gap = np.abs(np.angle(np.exp(1j * (azimuth[:, None] - azimuth[None, :]))))
    np.fill_diagonal(gap, np.inf)
    return [list(np.argsort(row)[: min(2, len(row) - 1)]) for row in gap]


def _turns(n_cameras: int, n_frames: int, rng: np.random.Generator) -> list[int]:
    rounds = -(-n_frames // n_cameras)
    return [int(c) for _ in range(rounds) for c in rng.permutation(n_cameras)][:n_frames]


def _draw_pose(
    board: Board,
    centers: FloatArray,
    primary: int,
    partner: int,
    rng: np.random.Generator,
    placement_radius: float,
    height: tuple[float, float],
    max_tilt: float,
) -> tuple[FloatArray, FloatArray]:
    angle = rng.uniform(0.0, 2.0 * np.pi)
    radius = placement_radius * np.sqrt(rng.uniform())
    center = np.array([radius * np.cos(angle), radius * np.sin(angle), rng.uniform(*height)])
    views = centers[[primary, partner]] - center
    facing = (views / np.linalg.norm(views, axis=1, keepdims=True)).sum(axis=0)
    facing = _tilt(facing / np.linalg.norm(facing), np.deg2rad(rng.uniform(0.0, max_tilt)), rng)
    z_axis = -facing  # the printed face looks along -z
    helper = np.array([0.0, 0.0, 1.0]) if abs(z_axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(helper, z_axis)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(z_axis, e1)
    spin = rng.uniform(0.0, 2.0 * np.pi)
    x_axis = np.cos(spin) * e1 + np.sin(spin) * e2
    rotation = np.column_stack([x_axis, np.cross(z_axis, x_axis), z_axis])
    middle = np.array([board.size[0] / 2.0, board.size[1] / 2.0, 0.0])
    return rotation, center - rotation @ middle


def _tilt(direction: FloatArray, angle: float, rng: np.random.Generator) -> FloatArray:
    """``direction`` rotated by ``angle`` about a random axis perpendicular to it."""
    axis = np.cross(direction, rng.standard_normal(3))
    axis /= np.linalg.norm(axis)
    return direction * np.cos(angle) + np.cross(axis, direction) * np.sin(angle)


def _sees_whole(
    fov: FieldOfView, sheet: FloatArray, rotation: FloatArray, tvec: FloatArray, max_angle: float
) -> bool:
    to_camera = fov.camera.center - tvec
    facing = -rotation[:, 2] @ to_camera / np.linalg.norm(to_camera)
    if facing < np.cos(np.deg2rad(max_angle)):
        return False
    margin = max(1.0, 4.0 * fov.camera.size[0] / 640.0)  # px, 4 px at 640 px wide
    return bool(fov.contains(sheet, margin=margin).all())


def front_facing(rig: CameraGroup, poses: BoardPoses) -> BoolArray:
    """Whether each camera sees the printed face of the board [N, V]."""
    normals = np.stack([poses.rotation(i)[:, 2] for i in range(len(poses))])  # [N, 3]
    centers = np.array([cam.center for cam in rig])  # [V, 3]
    offsets = centers[None, :, :] - poses.tvecs[:, None, :]  # [N, V, 3]
    return np.asarray(np.einsum("nvi,ni->nv", offsets, normals) < 0)


def corner_truth(
    rig: CameraGroup, board: Board, poses: BoardPoses
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """World corners [N, C, 3], their true pixels [N, V, C, 2] and visibility [N, V, C]: a corner
    is visible iff the camera sees the board's printed face and the corner is in its view."""
    local = board.corner_points()
    world = np.stack([poses.to_world(i, local) for i in range(len(poses))])
    pixels = np.stack([cam.project(world) for cam in rig], axis=1)
    fovs = [FieldOfView.of(cam) for cam in rig]
    inside = np.stack([fov.contains(world) for fov in fovs], axis=1)
    visible = inside & front_facing(rig, poses)[:, :, None]
    return world, pixels, visible


def board_texture(board: Board, rig: CameraGroup, margin: float) -> BoardImage:
    """The board image used as texture: fine enough that a texel is at most half a sub-sample
    for a board 500 mm from the camera with the longest focal length."""
    focal = max(float(cam.matrix[0, 0]) for cam in rig)
    px_per_unit = float(np.clip(2.0 * SUPERSAMPLE * focal / 500.0, 1.0, 12.0))
    return board_image(board, px_per_unit, margin)


def placed_boards(texture: BoardImage, poses: BoardPoses) -> Iterator[PlacedBoard]:
    """The renderer's view of the board in each pose."""
    grey = MipTexture.build((texture.image.astype(np.float32) / 255.0).astype(np.float32))
    width, height = texture.board.size
    margin = texture.margin
    extent = (-margin, -margin, width + margin, height + margin)
    mapping = (texture.px_per_unit, texture.margin_px - 0.5)
    for i in range(len(poses)):
        yield PlacedBoard(grey, poses.rotation(i), poses.tvecs[i], extent, mapping)
