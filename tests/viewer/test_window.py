"""The interactive window, built off-screen (no display here): widgets and toggles work."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import xarray as xr

from pose3d.cameras import CameraGroup
from pose3d.viewer.render import SceneOptions
from pose3d.viewer.window import DEFAULT_TRAIL, ViewerWindow

from .conftest import EDGES

pytest.importorskip("pyvista")


@pytest.fixture
def window(poses: xr.Dataset, cameras: CameraGroup) -> Iterator[ViewerWindow]:
    win = ViewerWindow(poses, cameras, SceneOptions(edges=EDGES), off_screen=True, size=(320, 240))
    yield win
    win.plotter.close()


def test_window_constructs_with_slider_and_buttons(window: ViewerWindow) -> None:
    assert window.frame == 0 and window.n_frames == 6
    assert window.slider.GetRepresentation().GetMaximumValue() == 5
    assert len(window.buttons) == 3
    image = window.scene_view.image()
    assert image.shape == (240, 320, 3) and image.std() > 1


def test_slider_and_keys_move_through_time(window: ViewerWindow) -> None:
    window.go_to(3)
    assert window.frame == 3 and window.slider.GetRepresentation().GetValue() == 3
    window.go_to(7)  # wraps, as playing past the end does
    assert window.frame == 1
    window.tick()
    assert window.frame == 1  # paused
    window.toggle_play()
    window.tick()
    window.tick()
    assert window.playing and window.frame == 3
    assert window.buttons["play (space)"].GetRepresentation().GetState() == 1
    window.toggle_play()
    assert not window.playing


def test_toggles_redraw_with_trails_and_error_colours(window: ViewerWindow) -> None:
    window.go_to(4)
    window.toggle_trails()
    scene = window.scene_view.scene
    assert scene is not None and window.options.trail == DEFAULT_TRAIL and len(scene.trails) == 8
    before = scene.colors.copy()
    window.toggle_error_colors()
    scene = window.scene_view.scene
    assert scene is not None and window.options.color_by_error
    assert not np.allclose(before, scene.colors)
    window.toggle_trails()
    assert window.scene_view.scene is not None and window.scene_view.scene.trails == ()
