"""Off-screen rendering: the picture is not blank and the keypoints are where the cameras'
maths puts them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.io.video_reading import VideoReader
from pose3d.viewer.colors import BACKGROUND, keypoint_colors
from pose3d.viewer.render import SceneOptions, render_frames, save_movie, save_screenshot

from .conftest import EDGES, make_camera

pytest.importorskip("pyvista")


def _blob_centres(
    image: np.ndarray, color: tuple[float, float, float], near: np.ndarray, radius: int = 12
) -> tuple[np.ndarray, int]:
    """Centroid (x, y) of the pixels within ``radius`` px of ``near`` whose colour has the hue of
    ``color`` (shading scales a lit sphere's colour, so compare directions), and their count."""
    x0, y0 = np.round(near).astype(int)
    patch = image[y0 - radius : y0 + radius + 1, x0 - radius : x0 + radius + 1].astype(float)
    target = np.asarray(color) / np.linalg.norm(color)
    norm = np.linalg.norm(patch, axis=-1)
    cosine = (patch @ target) / np.maximum(norm, 1e-9)
    mask = (cosine > 0.995) & (norm > 60)
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return np.array([np.nan, np.nan]), 0
    return np.array([xs.mean() + x0 - radius, ys.mean() + y0 - radius]), len(xs)


@pytest.mark.parametrize("principal", [(319.5, 239.5), (345.5, 221.5)])
def test_keypoints_appear_where_the_camera_projects_them(
    poses: xr.Dataset, principal: tuple[float, float]
) -> None:
    camera = make_camera("top", principal)
    (image,) = render_frames(poses, [3], CameraGroup((camera,)), view="top")
    assert image.shape == (480, 640, 3)
    world = poses[s.POSITION].isel(time=3).transpose(s.INDIVIDUAL, s.KEYPOINT, s.SPACE).values
    pixels = camera.project(world)  # [individual, keypoint, 2]
    colors = keypoint_colors(poses.sizes[s.KEYPOINT])
    for i in range(pixels.shape[0]):
        for k, color in enumerate(colors):
            centre, count = _blob_centres(image, color, pixels[i, k])
            assert count >= 5, f"keypoint {k} of individual {i}: colour not found"
            np.testing.assert_allclose(centre, pixels[i, k], atol=1.5)
            # and not 40 px away: the test would notice a misplaced view
            _, away = _blob_centres(image, color, pixels[i, k] + 40, radius=6)
            assert away == 0


def test_picture_is_not_blank_and_shows_bones_frusta_and_floor(
    poses: xr.Dataset, cameras: CameraGroup
) -> None:
    (bare,) = render_frames(poses, [0], size=(320, 240))
    (full,) = render_frames(
        poses, [0], cameras, SceneOptions(edges=EDGES, trail=3), size=(320, 240)
    )
    background = np.round(np.array(BACKGROUND) * 255)
    drawn = np.any(np.abs(full.astype(int) - background) > 30, axis=-1)
    assert drawn.mean() > 0.01
    assert np.count_nonzero(np.any(full != bare, axis=-1)) > 100  # bones and frusta add pixels


def test_error_colouring_changes_the_keypoints(poses: xr.Dataset) -> None:
    cams = CameraGroup((make_camera(),))
    (plain,) = render_frames(poses, [0], cams, view="top")
    (errors,) = render_frames(poses, [0], cams, SceneOptions(color_by_error=True), view="top")
    world = poses[s.POSITION].isel(time=0, individual=0, keypoint=0).values
    x, y = np.round(make_camera().project(world)).astype(int)
    g = errors[y, x].astype(float)
    assert g[1] > 100 and g[0] < 60 and g[2] < 60  # 0 px: green
    assert not np.array_equal(plain[y, x], errors[y, x])


def test_screenshot_writes_a_png(tmp_path: Path, poses: xr.Dataset) -> None:
    import cv2

    path = save_screenshot(tmp_path / "shot.png", poses, 2, size=(200, 150))
    image = cv2.imread(str(path))
    assert image.shape == (150, 200, 3) and image.std() > 1
    with pytest.raises(Pose3dError, match=r"expected a \.png"):
        save_screenshot(tmp_path / "shot.jpg", poses, 2)


def test_movie_has_one_video_frame_per_pose_frame(tmp_path: Path, poses: xr.Dataset) -> None:
    calls: list[tuple[str, int, int]] = []
    path = save_movie(
        tmp_path / "m.mp4",
        poses,
        range(1, 5),
        size=(320, 240),
        progress=lambda *call: calls.append(call),
    )
    assert calls == [("render", i, 4) for i in range(5)]
    with VideoReader(path) as video:
        assert video.n_frames == 4 and video.size == (320, 240) and video.fps == pytest.approx(30)
        first, last = video.read(0), video.read(3)
    assert np.abs(first.astype(int) - last.astype(int)).max() > 30  # the subject moved


def test_view_of_an_unknown_camera_names_the_known_ones(
    poses: xr.Dataset, cameras: CameraGroup
) -> None:
    with pytest.raises(Pose3dError, match="'front' is not in the calibration; cameras: top, side"):
        list(render_frames(poses, [0], cameras, view="front"))
    with pytest.raises(Pose3dError, match="frame 9 is out of range"):
        list(render_frames(poses, [0, 9]))


def test_add_scene_returns_the_actors_of_every_part(
    poses: xr.Dataset, cameras: CameraGroup
) -> None:
    from pose3d.viewer.actors import add_scene
    from pose3d.viewer.render import make_plotter
    from pose3d.viewer.scene import build_scene

    plotter = make_plotter((160, 120))
    try:
        actors = add_scene(plotter, build_scene(poses, 1, cameras, edges=EDGES, trail=1))
        # floor + note, frusta + names, keypoints, bones, trails
        assert len(actors) == 7 and all(a is not None for a in actors)
    finally:
        plotter.close()


def test_fit_subject_shows_the_subject_larger_than_fit_all(
    poses: xr.Dataset, cameras: CameraGroup
) -> None:
    """--fit all (default) keeps every camera in the picture; --fit subject lets the subject
    fill it: its spheres then cover more pixels."""
    colours = keypoint_colors(len(poses[s.KEYPOINT]))

    def covered(fit: str) -> int:
        (image,) = render_frames(poses, [0], cameras, SceneOptions(fit=fit), size=(320, 240))
        pixels = image.reshape(-1, 3).astype(float)
        norm = np.linalg.norm(pixels, axis=1)
        hits = 0
        for colour in colours:
            target = np.asarray(colour) / np.linalg.norm(colour)
            hits += int(((pixels @ target) / np.maximum(norm, 1e-9) > 0.995).sum())
        return hits

    assert covered("subject") > 1.5 * covered("all") > 0
