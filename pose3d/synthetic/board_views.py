"""Board images with ground truth for measuring board detectors: a synthetic rig, a board moved
through poses (as in the calibration media, see ``board_media``), each camera's render of every
pose, optionally degraded (``degrade``), kept in memory.

Rendering, noise and board poses are those of ``write_sample_session`` for the same seed, rig
and board (its calibration frames, in grey, are ``board_views(...)`` with no degradation); the
degradations draw from a stream of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board
from pose3d.synthetic import board_media
from pose3d.synthetic.degrade import Degradation, degrade
from pose3d.synthetic.raycast import render

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_DEGRADE_STREAM = 100  # spawn key of the degradations' generators (beside sample's streams)


@dataclass(frozen=True)
class Placement:
    """Where the board goes (``board_media.sample_board_poses``): ``max_view_angle`` (deg)
    between the board's normal and the two cameras that must see it whole, ``max_tilt`` (deg)
    away from facing them, ``placement_radius`` and ``height`` (mm) of its centre."""

    max_view_angle: float = 60.0
    max_tilt: float = 20.0
    placement_radius: float = 220.0
    height: tuple[float, float] = (100.0, 350.0)

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "max_view_angle": self.max_view_angle,
            "max_tilt": self.max_tilt,
            "placement_radius": self.placement_radius,
            "height": self.height,
        }


@dataclass(frozen=True)
class BoardViews:
    """Grey images [V, N, H, W] uint8 of ``board`` in N poses by V cameras; the true corner
    pixels [N, V, C, 2] (id order) and whether each corner is visible [N, V, C] (in the image,
    printed face towards the camera)."""

    board: Board
    names: tuple[str, ...]
    images: NDArray[np.uint8]
    pixels: FloatArray
    visible: BoolArray
    degradation: Degradation = field(default_factory=Degradation)

    def present(self) -> BoolArray:
        """[V, N]: the camera sees the whole board."""
        return np.asarray(self.visible.all(axis=-1).T)

    def absent(self) -> BoolArray:
        """[V, N]: the camera sees no corner of the board."""
        return np.asarray(~self.visible.any(axis=-1).T)


def board_views(
    board: Board,
    n_frames: int,
    seed: int = 0,
    n_cameras: int = 4,
    image_size: tuple[int, int] = (640, 480),
    degradation: Degradation | None = None,
    placement: Placement | None = None,
) -> BoardViews:
    """Render ``n_frames`` poses of ``board`` in the rig of ``seed`` (``make_scene``), each
    image degraded by a draw from ``degradation`` (None: as rendered)."""
    from pose3d.synthetic.sample import NOISE_SIGMA, make_scene, stream

    placement = placement or Placement()
    rig, views = make_scene(seed, n_cameras, image_size)
    margin = board.square_length / 2.0
    poses = board_media.sample_board_poses(
        rig, board, n_frames, stream(seed, "board"), margin, **placement.as_kwargs()
    )
    texture = board_media.board_texture(board, rig, margin)
    placed = list(board_media.placed_boards(texture, poses))
    width, height = image_size
    images = np.zeros((len(views), n_frames, height, width), np.uint8)
    for j, view in enumerate(views):
        for i, sheet in enumerate(placed):
            noise = (stream(seed, "board_noise", j, i), NOISE_SIGMA)
            rgb = render(view, board=sheet, noise=noise).image
            grey = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
            if degradation is not None:
                rng = np.random.default_rng(
                    np.random.SeedSequence(seed, spawn_key=(_DEGRADE_STREAM, j, i))
                )
                grey = degrade(grey, degradation, rng)
            images[j, i] = grey
    _, pixels, visible = board_media.corner_truth(rig, board, poses)
    return BoardViews(board, rig.names, images, pixels, visible, degradation or Degradation())
