"""The pure scene builder: plain arrays, no PyVista."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.viewer.colors import error_colors, keypoint_colors
from pose3d.viewer.scene import (
    build_scene,
    camera_frustum,
    check_frame,
    floor_grid,
    parse_frame_range,
    world_up,
)

from .conftest import EDGES


def test_scene_module_does_not_import_pyvista() -> None:
    code = "import sys, pose3d.viewer.scene, pose3d.viewer.colors; print('pyvista' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_keypoint_colors_are_fixed_and_distinct() -> None:
    for n in (1, 9, 10, 30):
        colors = keypoint_colors(n)
        assert len(colors) == n == len(set(colors))
        assert all(0 <= c <= 1 for rgb in colors for c in rgb)
    assert keypoint_colors(5) == keypoint_colors(5)


def test_error_colors_go_green_to_red_and_grey_when_unknown() -> None:
    rgb = error_colors([0.0, 5.0, 100.0, np.nan], max_error=10.0)
    np.testing.assert_allclose(rgb[0], (0, 1, 0))
    np.testing.assert_allclose(rgb[1], (1, 1, 0))
    np.testing.assert_allclose(rgb[2], (1, 0, 0))
    np.testing.assert_allclose(rgb[3], (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="max_error > 0"):
        error_colors([1.0], max_error=0)


def test_scene_has_points_bones_and_colors_of_every_individual(poses: xr.Dataset) -> None:
    scene = build_scene(poses, 2, edges=EDGES)
    expected = poses[s.POSITION].isel(time=2).transpose(s.INDIVIDUAL, s.KEYPOINT, s.SPACE)
    np.testing.assert_allclose(scene.points, expected.values.reshape(-1, 3))
    assert scene.individuals == ("mouse_a",) * 4 + ("mouse_b",) * 4
    assert scene.keypoints[:4] == ("nose", "neck", "hip", "tail")
    np.testing.assert_allclose(scene.colors[:4], keypoint_colors(4))
    np.testing.assert_allclose(scene.colors[4:], keypoint_colors(4))  # same keypoint, same colour
    assert scene.bones.shape == (6, 2, 3)  # 3 edges x 2 individuals
    np.testing.assert_allclose(scene.bones[0], scene.points[:2])
    assert scene.frusta == () and scene.trails == ()
    assert scene.unit == "mm" and scene.floor.height == 0.0
    assert scene.time == pytest.approx(2 / 30) and scene.time_unit == "seconds"


def test_time_without_a_frame_rate_counts_frames(poses: xr.Dataset) -> None:
    frames = poses.assign_coords({s.TIME: np.arange(poses.sizes[s.TIME])})
    frames.attrs[s.ATTR_TIME_UNIT] = "frames"
    del frames.attrs[s.ATTR_FPS]
    scene = build_scene(frames, 3)
    assert scene.time == 3.0 and scene.time_unit == "frames"


def test_missing_keypoints_are_left_out_with_their_bones(poses: xr.Dataset) -> None:
    poses[s.POSITION][2, :, 1, 0] = np.nan  # neck of mouse_a
    scene = build_scene(poses, 2, edges=EDGES)
    assert len(scene.points) == 7 and "neck" not in scene.keypoints[:3]
    assert scene.bones.shape == (4, 2, 3)


def test_error_colouring_uses_reprojection_error(poses: xr.Dataset) -> None:
    scene = build_scene(poses, 0, color_by_error=True, max_error=4.0)
    np.testing.assert_allclose(scene.colors[:4], error_colors([0, 2, 6, np.nan], 4.0))


def test_trails_hold_the_last_frames(poses: xr.Dataset) -> None:
    scene = build_scene(poses, 4, trail=2)
    assert len(scene.trails) == 8 and scene.trail_colors.shape == (8, 3)
    np.testing.assert_allclose(scene.trails[0][:, 0], [-150 + 10, -150 + 15, -150 + 20])
    assert build_scene(poses, 0, trail=3).trails == ()  # one point is no line


def test_frustum_corners_lie_on_the_image_corner_rays(cameras: CameraGroup) -> None:
    cam = cameras["top"]
    frustum = camera_frustum(cam, depth=100.0)
    np.testing.assert_allclose(frustum.apex, cam.center)
    px = cam.project(frustum.corners)
    np.testing.assert_allclose(px, [[-0.5, -0.5], [639.5, -0.5], [639.5, 479.5], [-0.5, 479.5]])
    np.testing.assert_allclose(cam.world_to_camera(frustum.corners)[:, 2], 100.0)
    assert frustum.segments.shape == (8, 2, 3)


def test_scene_with_cameras_has_named_frusta_and_wider_bounds(
    poses: xr.Dataset, cameras: CameraGroup
) -> None:
    scene = build_scene(poses, 0, cameras)
    assert [f.name for f in scene.frusta] == ["top", "side"]
    assert scene.bounds[0] == pytest.approx(-900) and scene.bounds[5] == pytest.approx(800)


def test_floor_grid_has_round_spacing_and_covers_the_data() -> None:
    points = np.array([[-150.0, -110.0, 20.0], [160.0, 120.0, 120.0]])
    grid = floor_grid(points, "mm")
    assert grid.spacing == 100.0 and grid.label == "grid 100 mm"
    assert grid.x[0] <= -150 and grid.x[-1] >= 160 and grid.y[0] <= -110 and grid.y[-1] >= 120
    assert grid.segments.shape == (len(grid.x) + len(grid.y), 2, 3)
    np.testing.assert_allclose(grid.segments[..., 2], 0.0)  # z up: the floor is z = 0
    assert floor_grid(np.array([[0, 0, -5.0], [1, 1, 1]]), "m").height == -5.0


def test_up_comes_from_the_cameras_when_the_world_is_a_camera(cameras: CameraGroup) -> None:
    """In the fixture's z-up world, up is z; the same rig with camera "top" as the world
    origin (what pose3d calibrate writes) gets the world's z expressed in that camera's frame,
    and its floor grid lies under the points, perpendicular to it."""
    from pose3d.cameras import matrix_to_rodrigues

    np.testing.assert_allclose(world_up(cameras), (0.0, 0.0, 1.0))
    ref = cameras["side"]
    moved = CameraGroup(
        tuple(
            cam.with_extrinsics(
                matrix_to_rodrigues(cam.rotation @ ref.rotation.T),
                cam.world_to_camera(ref.center),
            )
            for cam in cameras
        ),
        cameras.unit,
    )
    true_up = ref.rotation @ np.array([0.0, 0.0, 1.0])  # world z seen from "side"
    down = np.mean([cam.rotation[1] for cam in cameras], axis=0)
    expected = -down / np.linalg.norm(down)  # in the original world
    assert world_up(moved) @ (ref.rotation @ expected) == pytest.approx(1.0)
    assert np.degrees(np.arccos(np.clip(world_up(moved) @ true_up, -1, 1))) < 30
    points = np.array([[0.0, 0.0, 0.0], [100.0, 50.0, 80.0]])
    in_side = ref.world_to_camera(points)
    grid = floor_grid(in_side, "mm", world_up(moved))
    heights = grid.segments.reshape(-1, 3) @ grid.up
    np.testing.assert_allclose(heights, (in_side @ grid.up).min())
    np.testing.assert_allclose(np.cross(grid.u, grid.v), grid.up, atol=1e-12)


def test_frames_out_of_range_say_the_range(poses: xr.Dataset) -> None:
    assert check_frame(poses, 5) == 5
    with pytest.raises(Pose3dError, match=r"frame 6 is out of range: expected 0 <= frame < 6"):
        build_scene(poses, 6)
    assert parse_frame_range("1:4", 6) == range(1, 4)
    assert parse_frame_range(":", 6) == range(0, 6)
    with pytest.raises(Pose3dError, match="expected 0 <= A < B <= 6"):
        parse_frame_range("2:9", 6)
    with pytest.raises(Pose3dError, match="must be A:B"):
        parse_frame_range("3", 6)


def test_unknown_edge_names_the_keypoints(poses: xr.Dataset) -> None:
    with pytest.raises(Pose3dError, match=r"unknown keypoint.*foot"):
        build_scene(poses, 0, edges=[("nose", "foot")])
