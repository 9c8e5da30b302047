"""Synthetic ground truth: camera rigs, a ray-cast arena with a calibration board and a moving
textured rodent, rendered to videos and image folders with exact 2D/3D truth.

Modules: ``rig`` (cameras around the arena, field of view), ``textures`` (floor, skin),
``raycast`` (the renderer), ``board_media`` (board poses and their truth, the board texture
drawn by pose3d.calibration.board_image), ``subject`` (the rodent and its motion), ``truth``
(visibility and the truth datasets), ``sample`` (a whole session on disk).
"""

from pose3d.synthetic.board_media import (
    BoardPoses,
    board_texture,
    corner_truth,
    default_board,
    front_facing,
    placed_boards,
    sample_board_poses,
)
from pose3d.synthetic.raycast import CameraView, Ellipsoids, Rendering, prepare_view, render
from pose3d.synthetic.rig import FieldOfView, RigSpec, make_rig
from pose3d.synthetic.sample import make_scene, write_sample_session
from pose3d.synthetic.subject import (
    EDGES,
    KEYPOINTS,
    Subjects,
    Walker,
    make_walkers,
    rodent_skeleton,
    simulate,
)
from pose3d.synthetic.truth import keypoint_visibility, subject_truth

__all__ = [
    "EDGES",
    "KEYPOINTS",
    "BoardPoses",
    "CameraView",
    "Ellipsoids",
    "FieldOfView",
    "Rendering",
    "RigSpec",
    "Subjects",
    "Walker",
    "board_texture",
    "corner_truth",
    "default_board",
    "front_facing",
    "keypoint_visibility",
    "make_rig",
    "make_scene",
    "make_walkers",
    "placed_boards",
    "prepare_view",
    "render",
    "rodent_skeleton",
    "sample_board_poses",
    "simulate",
    "subject_truth",
    "write_sample_session",
]
