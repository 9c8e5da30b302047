"""Off-screen rendering of the scene to images, a PNG or an MP4 (no display needed).

Without a display, VTK needs an off-screen OpenGL context: :func:`make_plotter` asks for EGL
(``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow``) unless the variable is already set; set it
to ``vtkOSOpenGLRenderWindow`` to use OSMesa instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.progress import ProgressCallback
from pose3d.viewer.scene import (
    DEFAULT_MAX_ERROR,
    Scene,
    build_scene,
    check_extent,
    check_frame,
)

DEFAULT_SIZE = (1024, 768)  # (width, height) px; even, as H.264 needs
OPENGL_WINDOW_VAR = "VTK_DEFAULT_OPENGL_WINDOW"


@dataclass(frozen=True)
class SceneOptions:
    """What to draw besides the keypoints (see :func:`pose3d.viewer.scene.build_scene`)."""

    edges: Sequence[Sequence[str]] = ()
    trail: int = 0
    color_by_error: bool = False
    max_error: float = DEFAULT_MAX_ERROR
    fit: str = "all"  # the default view frames the subject and every camera; "subject": it alone

    def scene(self, poses: xr.Dataset, frame: int, cameras: CameraGroup | None) -> Scene:
        return build_scene(
            poses,
            frame,
            cameras,
            edges=self.edges,
            trail=self.trail,
            color_by_error=self.color_by_error,
            max_error=self.max_error,
        )


DEFAULT_OPTIONS = SceneOptions()


def make_plotter(size: tuple[int, int] = DEFAULT_SIZE, *, off_screen: bool = True) -> Any:
    """A PyVista plotter of ``size`` (width, height) px; off-screen, it asks VTK for EGL when no
    display is set and the user chose no OpenGL window."""
    if off_screen and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault(OPENGL_WINDOW_VAR, "vtkEGLRenderWindow")
    import pyvista as pv

    return pv.Plotter(off_screen=off_screen, window_size=list(size))


@dataclass
class SceneView:
    """A plotter showing one frame of the poses; :meth:`show_frame` swaps the skeleton only.

    ``view``: a camera name to look through (the window then gets that camera's image size),
    else an oblique view of the whole scene.
    """

    plotter: Any
    poses: xr.Dataset
    cameras: CameraGroup | None = None
    options: SceneOptions = DEFAULT_OPTIONS
    view: str | None = None
    scene: Scene | None = None
    skeleton_actors: list[Any] = field(default_factory=list)

    def show_frame(self, frame: int) -> Scene:
        """Draw ``frame`` (the floor and frusta are drawn on the first call only)."""
        from pose3d.viewer import actors

        scene = self.options.scene(self.poses, frame, self.cameras)
        for actor in self.skeleton_actors:
            self.plotter.remove_actor(actor, render=False)
        if self.scene is None:
            actors.add_floor(self.plotter, scene.floor)
            actors.add_frusta(self.plotter, scene.frusta)
            self.plotter.background_color = actors.palette.BACKGROUND
            self._set_view(scene)
        self.skeleton_actors = actors.add_skeleton(self.plotter, scene)
        self.skeleton_actors.append(actors.add_frame_label(self.plotter, scene))
        self.scene = scene
        return scene

    def _set_view(self, scene: Scene) -> None:
        from pose3d.viewer.actors import set_view_from_camera

        if self.view is None:  # the subject large, every camera's pyramid in the picture
            from pose3d.viewer.framing import overview

            b = scene.subject_bounds
            subject = np.array([[x, y, z] for x in b[0:2] for y in b[2:4] for z in b[4:6]])
            pyramids = [np.vstack([f.apex, f.corners]) for f in scene.frusta]
            if self.options.fit == "subject":  # the subject fills the picture; cameras may not
                pyramids = []
            camera = self.plotter.camera
            width, height = self.plotter.window_size
            pose = overview(subject, pyramids, scene.up, camera.view_angle, width / height)
            camera.focal_point = tuple(pose.focal_point)
            camera.position = tuple(pose.position)
            camera.up = tuple(pose.up)
            self.plotter.reset_camera_clipping_range()
            return
        if self.cameras is None or self.view not in self.cameras.names:
            known = ", ".join(self.cameras.names) if self.cameras is not None else "none"
            raise Pose3dError(
                f"view camera {self.view!r} is not in the calibration; cameras: {known}"
            )
        set_view_from_camera(self.plotter, self.cameras[self.view])

    def image(self) -> np.ndarray:
        """The rendered picture, RGB uint8 [height, width, 3]."""
        return np.asarray(self.plotter.screenshot(return_img=True))[..., :3]


def open_view(
    poses: xr.Dataset,
    cameras: CameraGroup | None = None,
    options: SceneOptions = DEFAULT_OPTIONS,
    *,
    view: str | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    off_screen: bool = True,
) -> SceneView:
    """A :class:`SceneView` on a new plotter (``size`` is ignored when ``view`` names a
    camera: the window takes that camera's image size)."""
    check_extent(poses, cameras)  # before VTK sees a coordinate it cannot draw
    if view is not None and cameras is not None and view in cameras.names:
        size = cameras[view].size
    return SceneView(make_plotter(size, off_screen=off_screen), poses, cameras, options, view)


def render_frames(
    poses: xr.Dataset,
    frames: Iterable[int],
    cameras: CameraGroup | None = None,
    options: SceneOptions = DEFAULT_OPTIONS,
    *,
    view: str | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> Iterator[np.ndarray]:
    """Off-screen pictures [height, width, 3] uint8 of ``frames``, one plotter for all."""
    frames = list(frames)
    for frame in frames:
        check_frame(poses, frame)
    scene_view = open_view(poses, cameras, options, view=view, size=size)
    try:
        for frame in frames:
            scene_view.show_frame(frame)
            yield scene_view.image()
    finally:
        scene_view.plotter.close()


def save_screenshot(
    path: str | os.PathLike[str],
    poses: xr.Dataset,
    frame: int = 0,
    cameras: CameraGroup | None = None,
    options: SceneOptions = DEFAULT_OPTIONS,
    *,
    view: str | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> Path:
    """Render ``frame`` off-screen to the PNG ``path`` (written atomically)."""
    from pose3d.io.video_writing import write_png

    if Path(path).suffix.lower() != ".png":  # said before the rendering, not after
        raise Pose3dError(f"cannot write screenshot {path}: expected a .png file")
    (image,) = render_frames(poses, [frame], cameras, options, view=view, size=size)
    return write_png(path, image, "screenshot")


def save_movie(
    path: str | os.PathLike[str],
    poses: xr.Dataset,
    frames: Sequence[int] | None = None,
    cameras: CameraGroup | None = None,
    options: SceneOptions = DEFAULT_OPTIONS,
    *,
    view: str | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    fps: float | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Render ``frames`` (default: all) off-screen to the video ``path`` (.mp4 etc., see
    :func:`pose3d.io.video_writing.write_video`) at ``fps`` (default: the poses' fps, else 30);
    ``progress("render", done, total)`` after each frame."""
    from pose3d.io.video_writing import write_video

    check_extent(poses, cameras)  # before the video file is started
    frames = range(int(poses.sizes[s.TIME])) if frames is None else frames
    rate = fps or float(poses.attrs.get(s.ATTR_FPS, 0.0)) or 30.0
    images = render_frames(poses, frames, cameras, options, view=view, size=size)
    if progress is not None:
        images = _counted(images, len(frames), progress)
    return write_video(path, images, rate)


def _counted(
    images: Iterator[np.ndarray], total: int, progress: ProgressCallback
) -> Iterator[np.ndarray]:
    progress("render", 0, total)
    for done, image in enumerate(images, 1):
        yield image
        progress("render", done, total)
