"""Board poses and the renderer's geometry checked by OpenCV's detectors (the board images
themselves: tests/calibration/test_board_image.py)."""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import pytest

from pose3d.board import Board, CharucoBoard, Checkerboard
from pose3d.calibration.opencv_board import opencv_charuco
from pose3d.cameras import Camera, CameraGroup
from pose3d.errors import Pose3dError
from pose3d.synthetic import (
    BoardPoses,
    CameraView,
    board_texture,
    corner_truth,
    default_board,
    make_scene,
    placed_boards,
    render,
    sample_board_poses,
)


def test_default_board_rejects_unknown_kinds() -> None:
    with pytest.raises(Pose3dError, match="charuco"):
        default_board("circles")


class Scene(NamedTuple):
    rig: CameraGroup
    views: list[CameraView]
    poses: BoardPoses


@pytest.fixture(scope="module")
def scene() -> Scene:
    """Three 640x480 cameras and 12 board poses."""
    rig, views = make_scene(seed=3, n_cameras=3, image_size=(640, 480))
    board = default_board("charuco")
    poses = sample_board_poses(rig, board, 12, np.random.default_rng(5), board.square_length / 2)
    return Scene(rig, views, poses)


def _render_all(scene: Scene, board: Board) -> list[list[np.ndarray]]:
    texture = board_texture(board, scene.rig, board.square_length / 2)
    sheets = list(placed_boards(texture, scene.poses))
    return [
        [
            render(view, board=s, noise=(np.random.default_rng(i), 1.0)).image
            for i, s in enumerate(sheets)
        ]
        for view in scene.views
    ]


def _view_angle(camera: Camera, poses: BoardPoses, i: int, board: Board) -> float:
    rotation = poses.rotation(i)
    middle = np.array([board.size[0] / 2, board.size[1] / 2, 0.0])
    to_camera = camera.center - (poses.tvecs[i] + rotation @ middle)
    cos = -rotation[:, 2] @ to_camera / np.linalg.norm(to_camera)
    return float(np.degrees(np.arccos(cos)))


def test_every_pose_is_seen_whole_by_two_cameras(scene: Scene) -> None:
    board = default_board("charuco")
    world, _, visible = corner_truth(scene.rig, board, scene.poses)
    whole = visible.all(axis=2)  # [frame, camera]
    assert (whole.sum(axis=1) >= 2).all()
    assert (whole.mean(axis=0) >= 0.25).all()  # every camera sees it in many frames
    assert world[..., 2].min() > 0  # above the floor
    normals = np.stack([scene.poses.rotation(i)[:, 2] for i in range(len(scene.poses))])
    tilt = np.degrees(np.arccos(np.abs(normals[:, 2])))
    assert tilt.max() - tilt.min() > 20  # varied orientations


def test_charuco_detection_matches_the_truth(scene: Scene) -> None:
    """The most telling test of the renderer: OpenCV finds the corners where the camera model
    projects them, through the lens distortion. ChArUco refinement is biased by the markers
    near each corner at oblique views (a detector effect), hence the looser tail bound."""
    board = default_board("charuco")
    assert isinstance(board, CharucoBoard)
    frames = _render_all(scene, board)
    _, pixels, visible = corner_truth(scene.rig, board, scene.poses)
    detector = cv2.aruco.CharucoDetector(opencv_charuco(board))
    n_views, n_detected, errors = 0, 0, []
    for c, camera in enumerate(scene.rig):
        for i in range(len(scene.poses)):
            if not visible[i, c].all() or _view_angle(camera, scene.poses, i, board) > 50:
                continue
            n_views += 1
            grey = cv2.cvtColor(frames[c][i], cv2.COLOR_RGB2GRAY)
            corners, ids, _, _ = detector.detectBoard(grey)
            if ids is None or len(ids) < board.n_corners // 2:
                continue
            n_detected += 1
            found = corners.reshape(-1, 2) - pixels[i, c, ids.ravel()]
            errors.append(np.linalg.norm(found, axis=1))
    assert n_views >= 10
    assert n_detected >= 0.8 * n_views
    err = np.concatenate(errors)
    assert np.median(err) < 0.15
    assert np.percentile(err, 95) < 0.5
    assert err.max() < 1.0


def test_checkerboard_corners_match_the_truth_to_a_quarter_of_a_pixel(scene: Scene) -> None:
    """Without markers beside the corners sub-pixel refinement is unbiased, so the rendered
    geometry (distortion, anti-aliasing) is checked tightly."""
    board = Checkerboard(7, 5, 50.0)
    frames = _render_all(scene, board)
    _, pixels, visible = corner_truth(scene.rig, board, scene.poses)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
    errors, n_found = [], 0
    for c, camera in enumerate(scene.rig):
        for i in range(len(scene.poses)):
            if not visible[i, c].all() or _view_angle(camera, scene.poses, i, board) > 50:
                continue
            grey = cv2.cvtColor(frames[c][i], cv2.COLOR_RGB2GRAY)
            found, corners = cv2.findChessboardCorners(grey, board.inner_corners)
            if not found:
                continue
            n_found += 1
            refined = cv2.cornerSubPix(grey, corners, (2, 2), (-1, -1), criteria).reshape(-1, 2)
            nearest = np.linalg.norm(refined[:, None] - pixels[i, c][None], axis=-1).min(axis=1)
            errors.append(nearest)
    assert n_found >= 8
    err = np.concatenate(errors)
    assert np.median(err) < 0.1
    assert err.max() < 0.25
