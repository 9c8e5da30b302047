"""The pure scene builder: a poses dataset (+ cameras) at one frame -> plain numpy data.

Nothing here imports PyVista; :mod:`pose3d.viewer.actors` turns a :class:`Scene` into actors.
All positions are in the dataset's world units (``space_unit``, e.g. mm), shape ``[..., 3]``
with ``(x, y, z)`` last; ``bounds`` are ``(xmin, xmax, ymin, ymax, zmin, zmax)`` (PyVista's
order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from pose3d import schema as s
from pose3d.cameras import Camera, CameraGroup
from pose3d.errors import Pose3dError
from pose3d.skeleton import Skeleton
from pose3d.viewer.colors import error_colors, keypoint_colors

FloatArray = NDArray[np.float64]

DEFAULT_MAX_ERROR = 5.0  # px: red at and above this reprojection error
# world units (1000 km in mm): beyond, a coordinate is damage, not a subject; VTK draws in
# float32 and the floor grid's spacing comes from the extent, which would overflow
MAX_COORDINATE = s.MAX_POSE_UNITS  # the largest a poses3d.nc may hold


@dataclass(frozen=True)
class Frustum:
    """A camera's pyramid: its centre and the 4 image-corner rays cut at ``depth``."""

    name: str
    apex: FloatArray  # [3] camera centre
    corners: FloatArray  # [4, 3] top-left, top-right, bottom-right, bottom-left (image order)

    @property
    def segments(self) -> FloatArray:
        """The 8 edges [8, 2, 3]: apex to each corner, then the image rectangle."""
        rays = [(self.apex, c) for c in self.corners]
        rim = [(self.corners[i], self.corners[(i + 1) % 4]) for i in range(4)]
        return np.array(rays + rim, dtype=np.float64)


@dataclass(frozen=True)
class FloorGrid:
    """Grid lines on the floor plane, ``spacing`` world units apart.

    The plane is ``height`` along ``up``; ``x`` and ``y`` are the lines' positions along the
    plane's axes ``u`` and ``v`` (``u``, ``v``, ``up`` orthonormal, right-handed). In a z-up
    world, ``u``, ``v``, ``up`` are the world's x, y, z and ``height`` the floor's z.
    """

    height: float
    spacing: float
    x: FloatArray  # [nx] positions along u of the lines parallel to v
    y: FloatArray  # [ny] positions along v of the lines parallel to u
    unit: str
    u: FloatArray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0]))
    v: FloatArray = field(default_factory=lambda: np.array([0.0, 1.0, 0.0]))
    up: FloatArray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))

    def world(self, a: ArrayLike, b: ArrayLike) -> FloatArray:
        """Points [..., 3] of the plane at (a, b) along (u, v)."""
        a, b = np.asarray(a, np.float64)[..., None], np.asarray(b, np.float64)[..., None]
        return a * self.u + b * self.v + self.height * self.up

    @property
    def segments(self) -> FloatArray:
        """All grid lines [nx + ny, 2, 3]."""
        x0, x1, y0, y1 = self.x[0], self.x[-1], self.y[0], self.y[-1]
        lines = [(self.world(x, y0), self.world(x, y1)) for x in self.x]
        lines += [(self.world(x0, y), self.world(x1, y)) for y in self.y]
        return np.array(lines, dtype=np.float64)

    @property
    def corners(self) -> FloatArray:
        """The grid's 4 corners [4, 3]."""
        a = np.array([self.x[0], self.x[-1], self.x[-1], self.x[0]])
        b = np.array([self.y[0], self.y[0], self.y[-1], self.y[-1]])
        return self.world(a, b)

    @property
    def label(self) -> str:
        return f"grid {self.spacing:g} {self.unit}".rstrip()


@dataclass(frozen=True)
class Scene:
    """Everything drawn at one frame, as plain arrays."""

    frame: int
    time: float
    time_unit: str  # "seconds" or "frames", as the poses' time_unit says
    points: FloatArray  # [N, 3] finite keypoints of every individual
    colors: FloatArray  # [N, 3] RGB in [0, 1]
    keypoints: tuple[str, ...]  # [N] keypoint of each point
    individuals: tuple[str, ...]  # [N] individual of each point
    bones: FloatArray  # [M, 2, 3] segments between finite keypoints
    trails: tuple[FloatArray, ...]  # polylines [L >= 2, 3], one per keypoint and individual
    trail_colors: FloatArray  # [len(trails), 3]
    frusta: tuple[Frustum, ...]
    floor: FloorGrid
    up: FloatArray  # [3] the world's up direction (z, or estimated from the cameras)
    bounds: FloatArray  # [6] poses and camera centres
    subject_bounds: FloatArray  # [6] every frame's keypoints
    point_radius: float  # world units
    unit: str


def n_frames(poses: xr.Dataset) -> int:
    return int(poses.sizes[s.TIME])


def check_frame(poses: xr.Dataset, frame: int) -> int:
    """``frame`` if the dataset has it, else a Pose3dError that says the valid range."""
    n = n_frames(poses)
    if not 0 <= frame < n:
        raise Pose3dError(f"frame {frame} is out of range: expected 0 <= frame < {n}")
    return frame


def parse_frame_range(text: str, total: int) -> range:
    """``"A:B"`` (B exclusive; either side may be empty) -> the frames, checked against
    ``total``."""
    start_text, sep, stop_text = text.partition(":")
    try:
        start = int(start_text) if start_text.strip() else 0
        stop = int(stop_text) if stop_text.strip() else total
    except ValueError:
        raise Pose3dError(f"frames {text!r} must be A:B, e.g. 0:30") from None
    if not sep:
        raise Pose3dError(f"frames {text!r} must be A:B, e.g. 0:30")
    if not 0 <= start < stop <= total:
        raise Pose3dError(
            f"frames {text!r} are out of range: expected 0 <= A < B <= {total} "
            f"(the poses have {total} frames)"
        )
    return range(start, stop)


def edge_indices(keypoints: Sequence[str], edges: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    """Index pairs of ``edges`` (pairs of keypoint names); unknown names raise Pose3dError."""
    return list(Skeleton.from_lists(list(keypoints), edges).edge_indices)


def _positions(poses: xr.Dataset) -> FloatArray:
    """position as [time, individual, keypoint, 3]."""
    pos = poses[s.POSITION].transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT, s.SPACE)
    return np.asarray(pos.values, dtype=np.float64)


def check_extent(poses: xr.Dataset, cameras: CameraGroup | None = None) -> None:
    """Refuse what the viewer cannot draw: an infinite keypoint coordinate, or one (or a camera
    centre) farther than MAX_COORDINATE from the origin. NaN is a missing point, as everywhere.
    The message names the poses file when the dataset was read from one."""
    _check_extent(_positions(poses), cameras, _source(poses))


def _source(poses: xr.Dataset) -> str:
    source = poses.encoding.get("source")
    return f"poses file {source}" if source else "poses"


def _check_extent(pos: FloatArray, cameras: CameraGroup | None, what: str) -> None:
    """``pos`` [time, ..., 3] and the camera centres within MAX_COORDINATE; NaN allowed."""
    magnitude = np.abs(pos)
    infinite = np.isinf(magnitude)
    if infinite.any():
        t = int(np.argwhere(infinite)[0][0])
        raise Pose3dError(
            f"{what}: a keypoint coordinate is infinite (first at frame {t}), which the viewer "
            "cannot draw; the file is damaged or was written by a failed triangulation"
        )
    with np.errstate(invalid="ignore"):
        far = magnitude > MAX_COORDINATE
    if far.any():
        t = int(np.argwhere(far)[0][0])
        raise Pose3dError(
            f"{what}: coordinates reach {np.nanmax(magnitude):.3g} (first at frame {t}), beyond "
            f"the {MAX_COORDINATE:.0e} world units the viewer can draw; the file is damaged, or "
            "its positions are not in a length unit"
        )
    for cam in cameras or ():
        if not np.all(np.abs(cam.center) <= MAX_COORDINATE):
            raise Pose3dError(
                f"calibration camera {cam.name!r} sits at {cam.center.tolist()}, beyond the "
                f"{MAX_COORDINATE:.0e} world units the viewer can draw; check the calibration's "
                "translations"
            )


def poses_bounds(poses: xr.Dataset) -> FloatArray:
    """Bounds [6] of every finite keypoint of every frame; a unit cube if none is finite."""
    pts = _positions(poses).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if not len(pts):
        return np.array([-0.5, 0.5, -0.5, 0.5, -0.5, 0.5])
    lo, hi = pts.min(0), pts.max(0)
    return np.array([lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]])


def _union(bounds: FloatArray, points: FloatArray) -> FloatArray:
    if not len(points):
        return bounds
    lo = np.minimum(bounds[0::2], points.min(0))
    hi = np.maximum(bounds[1::2], points.max(0))
    return np.array([lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]])


def _size(bounds: FloatArray) -> float:
    return max(float(np.linalg.norm(bounds[1::2] - bounds[0::2])), 1e-9)


def camera_frustum(camera: Camera, depth: float) -> Frustum:
    """The frustum of ``camera``: its centre and the image corners' rays cut at ``depth``
    (along the optical axis, world units)."""
    w, h = camera.size
    corners_px = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    xy = camera.undistort_points(corners_px)
    bad = ~np.all(np.isfinite(xy), axis=1)  # fisheye corners beyond the model's field of view
    xy[bad] = camera.pixels_to_normalized(corners_px)[bad]
    d_cam = np.concatenate([xy, np.ones((4, 1))], axis=1)  # [4, 3], z = 1
    corners = camera.center + depth * (d_cam @ camera.rotation)  # R^T d for row vectors
    return Frustum(camera.name, camera.center, corners)


def _nice_spacing(extent: float) -> float:
    """A 1-2-5 step giving about 5-10 grid lines over ``extent``."""
    raw = max(extent, 1e-9) / 6
    power = 10 ** np.floor(np.log10(raw))
    step = next(m for m in (1, 2, 5, 10) if m * power >= raw)
    return float(step * power)


def world_up(cameras: CameraGroup | None) -> FloatArray:
    """The world's up direction [3]: z, unless the cameras say otherwise.

    Cameras are mounted upright, so minus the mean of their image-down axes (in world
    coordinates) points up. That is z in a world built z-up (the synthetic truth, a calibration
    with the board on the floor) and the right direction in one whose origin is a camera (what
    ``pose3d calibrate`` writes, as Anipose does). Without cameras, or when they disagree too
    much to say (their down axes cancel out), z.
    """
    z = np.array([0.0, 0.0, 1.0])
    if cameras is None or not len(cameras):
        return z
    down = np.mean([cam.rotation[1] for cam in cameras], axis=0)  # R^T (0, 1, 0)
    norm = float(np.linalg.norm(down))
    if norm < 0.3:
        return z
    up = -down / norm
    return z if float(up @ z) > np.cos(np.radians(20)) else up


def _plane_axes(up: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Orthonormal u, v with (u, v, up) right-handed: u is world x (or y) flattened."""
    for axis in (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])):
        u = axis - (axis @ up) * up
        if np.linalg.norm(u) > 0.3:
            u = u / np.linalg.norm(u)
            return u, np.cross(up, u)
    raise AssertionError("x and y cannot both be parallel to up")


def floor_grid(points: FloatArray, unit: str, up: ArrayLike = (0.0, 0.0, 1.0)) -> FloorGrid:
    """A grid under ``points`` [N, 3] (the keypoints of every frame) on the floor plane.

    With z up, the floor is z = 0 (or lower, if keypoints go below 0); with another up (a world
    whose origin is a camera), the plane under the lowest keypoint.
    """
    up_axis = np.asarray(up, np.float64) / np.linalg.norm(up)
    u, v = _plane_axes(up_axis)
    pts = np.asarray(points, np.float64).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if not len(pts):
        pts = np.array([[-0.5, -0.5, 0.0], [0.5, 0.5, 1.0]]) @ np.stack([u, v, up_axis])
    a, b, h = pts @ u, pts @ v, pts @ up_axis
    spacing = _nice_spacing(max(float(np.ptp(a)), float(np.ptp(b))))
    x = np.arange(np.floor(a.min() / spacing) - 1, np.ceil(a.max() / spacing) + 2) * spacing
    y = np.arange(np.floor(b.min() / spacing) - 1, np.ceil(b.max() / spacing) + 2) * spacing
    z_up = bool(np.allclose(up_axis, (0.0, 0.0, 1.0)))
    height = min(0.0, float(h.min())) if z_up else float(h.min())
    return FloorGrid(height, spacing, x, y, unit, u, v, up_axis)


def _trails(pos: FloatArray, frame: int, length: int) -> list[tuple[FloatArray, int]]:
    """(polyline [L, 3], keypoint index) of the last ``length`` frames up to ``frame``."""
    if length < 1:
        return []
    window = pos[max(0, frame - length) : frame + 1]  # [t, individual, keypoint, 3]
    out = []
    for i in range(window.shape[1]):
        for k in range(window.shape[2]):
            line = window[:, i, k]
            line = line[np.all(np.isfinite(line), axis=1)]
            if len(line) >= 2:
                out.append((line, k))
    return out


def build_scene(
    poses: xr.Dataset,
    frame: int,
    cameras: CameraGroup | None = None,
    *,
    edges: Sequence[Sequence[str]] = (),
    trail: int = 0,
    color_by_error: bool = False,
    max_error: float = DEFAULT_MAX_ERROR,
) -> Scene:
    """The scene of ``poses`` (a validated poses3d dataset) at ``frame``; Pose3dError when
    coordinates are infinite or absurd (:func:`check_extent`).

    ``edges``: bones as pairs of keypoint names; ``trail``: how many past frames the trails
    show (0: none); ``color_by_error``: colour points by ``reprojection_error`` (green 0 px,
    red >= ``max_error`` px, grey unknown) instead of their keypoint colour.
    """
    check_frame(poses, frame)
    if trail < 0:
        raise Pose3dError(f"trail must be >= 0 frames, got {trail}")
    keypoint_names = [str(k) for k in poses[s.KEYPOINT].values]
    individual_names = [str(i) for i in poses[s.INDIVIDUAL].values]
    bones_idx = edge_indices(keypoint_names, edges)
    pos = _positions(poses)  # [time, individual, keypoint, 3]
    _check_extent(pos, cameras, _source(poses))
    now = pos[frame]  # [individual, keypoint, 3]
    finite = np.all(np.isfinite(now), axis=-1)  # [individual, keypoint]
    palette = np.array(keypoint_colors(len(keypoint_names)), dtype=np.float64).reshape(-1, 3)
    if color_by_error:
        err = poses[s.REPROJECTION_ERROR].transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT).values
        colors = error_colors(err[frame], max_error)  # [individual, keypoint, 3]
    else:
        colors = np.broadcast_to(palette, now.shape).copy()
    ii, kk = np.nonzero(finite)
    bones = [
        (now[i, a], now[i, b])
        for i in range(now.shape[0])
        for a, b in bones_idx
        if finite[i, a] and finite[i, b]
    ]
    trails = _trails(pos, frame, trail)
    data_bounds = poses_bounds(poses)
    unit = str(poses[s.POSITION].attrs.get(s.ATTR_SPACE_UNIT, ""))
    frusta: tuple[Frustum, ...] = ()
    bounds = data_bounds
    up = world_up(cameras)
    if cameras is not None and len(cameras):
        centre = (data_bounds[0::2] + data_bounds[1::2]) / 2
        distance = float(np.median([np.linalg.norm(c.center - centre) for c in cameras]))
        frusta = tuple(camera_frustum(c, 0.2 * distance) for c in cameras)
        bounds = _union(data_bounds, np.array([c.center for c in cameras]))
    return Scene(
        frame=frame,
        time=float(poses[s.TIME].values[frame]),
        time_unit=str(poses.attrs.get(s.ATTR_TIME_UNIT, "frames")),
        points=now[ii, kk].reshape(-1, 3),
        colors=colors[ii, kk].reshape(-1, 3),
        keypoints=tuple(keypoint_names[k] for k in kk),
        individuals=tuple(individual_names[i] for i in ii),
        bones=np.array(bones, dtype=np.float64).reshape(-1, 2, 3),
        trails=tuple(line for line, _ in trails),
        trail_colors=np.array([palette[k] for _, k in trails], dtype=np.float64).reshape(-1, 3),
        frusta=frusta,
        floor=floor_grid(pos.reshape(-1, 3), unit, up),
        up=up,
        bounds=bounds,
        subject_bounds=data_bounds,
        point_radius=0.015 * _size(data_bounds),
        unit=unit,
    )
