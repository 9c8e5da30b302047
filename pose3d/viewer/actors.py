"""PyVista actors of a :class:`~pose3d.viewer.scene.Scene`: ``add_*(plotter, ...) -> actor``.

The only module (with :mod:`.render` and :mod:`.window`) that imports PyVista; each function
draws one part of the scene and returns its actor(s), so callers can hide or replace them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvista as pv

from pose3d.cameras import Camera
from pose3d.errors import Pose3dError
from pose3d.viewer import colors as palette
from pose3d.viewer.scene import FloatArray, FloorGrid, Frustum, Scene

Actor = Any  # pyvista.Actor (or a labels actor); typed loosely, PyVista ships partial stubs


def _segments_mesh(segments: FloatArray) -> pv.PolyData:
    """Line segments [M, 2, 3] as one PolyData of M lines."""
    seg = np.asarray(segments, dtype=np.float64).reshape(-1, 2, 3)
    n = len(seg)
    lines = np.column_stack([np.full(n, 2), 2 * np.arange(n), 2 * np.arange(n) + 1]).ravel()
    return pv.PolyData(seg.reshape(-1, 3), lines=lines)


def _rgb(colors: FloatArray) -> np.ndarray:
    return np.clip(np.round(np.asarray(colors) * 255), 0, 255).astype(np.uint8)


def add_keypoints(plotter: pv.Plotter, scene: Scene) -> Actor | None:
    """Spheres of ``scene.point_radius`` at the keypoints, in their colours; None if none."""
    if not len(scene.points):
        return None
    cloud = pv.PolyData(scene.points)
    cloud.point_data["rgb"] = _rgb(scene.colors)
    spheres = cloud.glyph(
        geom=pv.Sphere(radius=scene.point_radius, theta_resolution=16, phi_resolution=16),
        scale=False,
        orient=False,
    )
    return plotter.add_mesh(spheres, scalars="rgb", rgb=True, name="keypoints", ambient=0.3)


def add_bones(plotter: pv.Plotter, scene: Scene) -> Actor | None:
    """Tubes along the bones; None if there are none."""
    if not len(scene.bones):
        return None
    tubes = _segments_mesh(scene.bones).tube(radius=0.35 * scene.point_radius, n_sides=12)
    return plotter.add_mesh(tubes, color=palette.BONE, name="bones")


def add_trails(plotter: pv.Plotter, scene: Scene, line_width: float = 2.0) -> Actor | None:
    """The keypoints' paths over the last frames, in keypoint colours; None if none."""
    if not scene.trails:
        return None
    points = np.concatenate(scene.trails)
    sizes = [len(t) for t in scene.trails]
    starts = np.cumsum([0, *sizes[:-1]])
    lines = np.concatenate([[n, *range(s0, s0 + n)] for s0, n in zip(starts, sizes, strict=True)])
    mesh = pv.PolyData(points, lines=lines)
    mesh.cell_data["rgb"] = _rgb(scene.trail_colors)
    return plotter.add_mesh(mesh, scalars="rgb", rgb=True, line_width=line_width, name="trails")


def add_frusta(plotter: pv.Plotter, frusta: tuple[Frustum, ...]) -> list[Actor]:
    """The cameras' pyramids and their names; [] without cameras."""
    if not frusta:
        return []
    lines = _segments_mesh(np.concatenate([f.segments for f in frusta]))
    actors = [plotter.add_mesh(lines, color=palette.FRUSTUM, line_width=1.5, name="frusta")]
    actors.append(
        plotter.add_point_labels(
            np.array([f.apex for f in frusta]),
            [f.name for f in frusta],
            font_size=12,
            point_size=1,
            shape_opacity=0.3,
            name="camera_names",
        )
    )
    return actors


def add_floor(plotter: pv.Plotter, floor: FloorGrid) -> list[Actor]:
    """The floor grid and a corner note of its spacing and unit."""
    grid = plotter.add_mesh(_segments_mesh(floor.segments), color=palette.FLOOR, name="floor")
    note = plotter.add_text(floor.label, position="upper_right", font_size=10, color="black")
    return [grid, note]


def add_frame_label(plotter: pv.Plotter, scene: Scene) -> Actor:
    """``frame K (t s)`` (or just ``frame K`` without a frame rate) in the upper left corner."""
    text = f"frame {scene.frame}"
    if scene.time_unit == "seconds":
        text += f"  ({scene.time:.2f} s)"
    return plotter.add_text(text, position="upper_left", font_size=10, color="black", name="frame")


def add_skeleton(plotter: pv.Plotter, scene: Scene) -> list[Actor]:
    """The parts that change with the frame: keypoints, bones, trails."""
    parts = (add_keypoints(plotter, scene), add_bones(plotter, scene), add_trails(plotter, scene))
    return [a for a in parts if a is not None]


def add_scene(plotter: pv.Plotter, scene: Scene) -> list[Actor]:
    """Everything: floor, frusta, keypoints, bones, trails."""
    plotter.background_color = pv.Color(palette.BACKGROUND)
    return (
        add_floor(plotter, scene.floor)
        + add_frusta(plotter, scene.frusta)
        + add_skeleton(plotter, scene)
    )


def set_view_from_camera(plotter: pv.Plotter, camera: Camera, distance: float = 1.0) -> None:
    """Make the plotter's view match ``camera``: its centre, optical axis, image-up = -y, and
    vertical view angle from fy and the image height; the principal point's offset from the
    image centre becomes VTK's window centre. The window must be ``camera.size`` pixels;
    fx != fy and lens distortion cannot be reproduced (VTK renders an ideal pinhole)."""
    w, h = camera.size
    if tuple(plotter.window_size) != (w, h):
        raise Pose3dError(
            f"camera {camera.name!r}: expected a {w}×{h} px window to match its image, "
            f"got {plotter.window_size[0]}×{plotter.window_size[1]}"
        )
    rot = camera.rotation
    forward, down = rot[2], rot[1]  # camera z and y axes in world coordinates
    fy, cx, cy = camera.matrix[1, 1], camera.matrix[0, 2], camera.matrix[1, 2]
    plotter.camera_position = [
        tuple(camera.center),
        tuple(camera.center + distance * forward),
        tuple(-down),
    ]
    plotter.camera.view_angle = float(np.degrees(2 * np.arctan2(h / 2, fy)))
    # window centre in [-1, 1] viewport units: +x right, +y up (pixel y points down)
    plotter.camera.SetWindowCenter(-2 * (cx - (w - 1) / 2) / w, 2 * (cy - (h - 1) / 2) / h)
    plotter.reset_camera_clipping_range()
