"""A small ray-casting renderer in numpy + OpenCV.

Each camera's rays are computed once, exactly through ``Camera.rays`` (so lens distortion is the
camera model's own), on a supersampled grid: s x s sub-samples per pixel (s = 2 by default),
sub-sample ``i`` at pixel coordinate ``(i + 0.5) / s - 0.5``. A frame intersects those rays with
the static floor (done once per camera), an optional calibration board (plane intersection, then
a bilinear look-up in a mip level of the board image matched to the sub-sample spacing, so the
board does not alias) and a set of ellipsoids (the subjects, analytic intersection); it keeps the
nearest hit per ray (a z-buffer, so occlusions are exact), shades it, averages each s x s block,
blurs by a 0.5 px Gaussian (the lens) and adds seeded sensor noise. Everything is float32 and
restricted to bounding boxes: the board's from a coarse ray grid, each ellipsoid's from its
tangent cone.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from pose3d.cameras import Camera
from pose3d.synthetic.rig import FieldOfView
from pose3d.synthetic.textures import FloorTexture, MipTexture, SkinPattern

Float32Array = NDArray[np.float32]
FloatArray = NDArray[np.float64]

SUPERSAMPLE = 2
LIGHT = np.array([0.3, -0.4, 1.0]) / np.linalg.norm([0.3, -0.4, 1.0])
SKY = np.array([0.30, 0.30, 0.32], dtype=np.float32)  # rays that miss the floor
BOARD_ID, FLOOR_ID = -2, -1  # ids of non-primitive hits; primitives are 0, 1, ...
BOARD_BACK = np.float32(0.5)  # the board's back is plain grey
_BBOX_PAD = 3  # sub-samples


@dataclass(frozen=True)
class Ellipsoids:
    """The primitives of one frame; shapes: centers [P, 3], axes [P, 3, 3] (columns are the
    part's local x, y, z in world), radii [P, 3] (semi-axes, mm), colors [P, 3] (0-1)."""

    centers: FloatArray
    axes: FloatArray
    radii: FloatArray
    colors: FloatArray
    pattern: SkinPattern

    def __len__(self) -> int:
        return int(self.centers.shape[0])


@dataclass(frozen=True)
class PlacedBoard:
    """A board texture at a pose: ``X_world = R X_board + t``; ``extent`` is the printed sheet
    (board plus margin) in board units, ``(x_min, y_min, x_max, y_max)``; ``to_texture = (scale,
    offset)`` maps board units to level-0 texture pixels as ``offset + scale * x``."""

    texture: MipTexture
    rotation: FloatArray
    tvec: FloatArray
    extent: tuple[float, float, float, float]
    to_texture: tuple[float, float]


@dataclass(frozen=True)
class CameraView:
    """A camera's precomputed rays [sH, sW, 3], static background [sH, sW, 3] and its depth
    [sH, sW], at ``supersample`` (s) sub-samples per pixel side."""

    camera: Camera
    fov: FieldOfView
    origin: FloatArray
    rays: Float32Array
    background: Float32Array
    floor_depth: Float32Array
    supersample: int = SUPERSAMPLE


def ray_grid(camera: Camera, supersample: int = SUPERSAMPLE) -> Float32Array:
    """Unit world directions [sH, sW, 3] of the supersampled pixel grid (s = ``supersample``):
    sub-sample i sits at pixel coordinate ``(i + 0.5) / s - 0.5``."""
    width, height = camera.size
    xs = (np.arange(supersample * width) + 0.5) / supersample - 0.5
    ys = (np.arange(supersample * height) + 0.5) / supersample - 0.5
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    return camera.rays(grid).astype(np.float32)


def prepare_view(camera: Camera, floor: FloorTexture, supersample: int = SUPERSAMPLE) -> CameraView:
    """Cast the camera's rays once and render the static floor behind everything."""
    origin = camera.center
    rays = ray_grid(camera, supersample)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(rays[..., 2] < -1e-6, -origin[2] / rays[..., 2], np.inf)
    depth = depth.astype(np.float32)
    hit_x = np.where(np.isfinite(depth), origin[0] + depth * rays[..., 0], 0.0).astype(np.float32)
    hit_y = np.where(np.isfinite(depth), origin[1] + depth * rays[..., 1], 0.0).astype(np.float32)
    colour = floor.sample(hit_x, hit_y)
    background = np.where(np.isfinite(depth)[..., None], colour, SKY).astype(np.float32)
    return CameraView(camera, FieldOfView.of(camera), origin, rays, background, depth, supersample)


def ellipsoid_distance(
    origin: FloatArray,
    rays: NDArray[np.floating],
    center: FloatArray,
    axes: FloatArray,
    radii: FloatArray,
) -> NDArray[np.floating]:
    """Distance along unit ``rays`` [..., 3] from ``origin`` to the first hit of one ellipsoid
    (inf where the ray misses it or the hit is behind the origin); same dtype as ``rays``."""
    to_unit = (axes / radii).T  # world -> unit-sphere frame: diag(1/r) R^T
    o = to_unit @ (origin - center)
    d = rays @ to_unit.T.astype(rays.dtype)
    a = np.einsum("...i,...i->...", d, d)
    b = d @ o.astype(rays.dtype)
    c = float(o @ o) - 1.0
    disc = b * b - a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (-b - np.sqrt(disc)) / a
    return np.where((disc >= 0) & (t > 0), t, np.inf).astype(rays.dtype)


def nearest_ellipsoid(
    origin: FloatArray, rays: FloatArray, bodies: Ellipsoids
) -> tuple[FloatArray, NDArray[np.int64]]:
    """Distance [...] and index [...] (-1 for none) of the first primitive along each ray."""
    best = np.full(rays.shape[:-1], np.inf)
    index = np.full(rays.shape[:-1], -1, dtype=np.int64)
    for p in range(len(bodies)):
        t = ellipsoid_distance(origin, rays, bodies.centers[p], bodies.axes[p], bodies.radii[p])
        closer = t < best
        best = np.where(closer, t, best)
        index = np.where(closer, p, index)
    return best, index


@dataclass
class _Buffers:
    colour: Float32Array  # [2H, 2W, 3]
    depth: Float32Array  # [2H, 2W]
    ids: NDArray[np.int16]  # [2H, 2W]


@dataclass(frozen=True)
class Rendering:
    """A rendered frame: ``image`` uint8 RGB [H, W, 3] and ``ids`` [2H, 2W] (int16) telling what
    each sub-sample shows: a primitive index, ``BOARD_ID`` or ``FLOOR_ID`` (floor or sky)."""

    image: NDArray[np.uint8]
    ids: NDArray[np.int16]


def render(
    view: CameraView,
    board: PlacedBoard | None = None,
    bodies: Ellipsoids | None = None,
    noise: tuple[np.random.Generator, float] | None = None,
    blur_sigma: float = 0.5,
) -> Rendering:
    """Render one frame; ``noise`` = (rng, sigma in grey levels) adds seeded sensor noise, and a
    Gaussian blur of ``blur_sigma`` px (0 for none) stands for the lens's point spread."""
    buffers = _Buffers(
        view.background.copy(),
        view.floor_depth.copy(),
        np.full(view.floor_depth.shape, FLOOR_ID, dtype=np.int16),
    )
    if board is not None:
        _draw_board(view, board, buffers)
    if bodies is not None and len(bodies):
        _draw_bodies(view, bodies, buffers)
    width, height = view.camera.size
    image = np.asarray(
        cv2.resize(buffers.colour, (width, height), interpolation=cv2.INTER_AREA) * 255.0,
        dtype=np.float32,
    )
    if blur_sigma > 0:
        image = np.asarray(cv2.GaussianBlur(image, (0, 0), blur_sigma), dtype=np.float32)
    grain = np.zeros_like(image) if noise is None else _gaussian_noise(image.shape, *noise)
    pixels = cv2.add(image, grain, dtype=cv2.CV_8U)  # rounds and saturates to 0-255
    return Rendering(np.asarray(pixels, dtype=np.uint8), buffers.ids)


@functools.cache
def _normal_quantiles() -> Float32Array:
    """The 256 quantiles of the standard normal distribution at (k + 0.5) / 256."""
    normal = statistics.NormalDist()
    return np.array([normal.inv_cdf((k + 0.5) / 256) for k in range(256)], dtype=np.float32)


def _gaussian_noise(shape: tuple[int, ...], rng: np.random.Generator, sigma: float) -> Float32Array:
    """Gaussian noise from random bytes through a table of normal quantiles (fast)."""
    index = rng.integers(0, 256, size=shape, dtype=np.uint8)
    return np.asarray(_normal_quantiles()[index] * np.float32(sigma), dtype=np.float32)


def _draw_board(view: CameraView, board: PlacedBoard, buffers: _Buffers) -> None:
    box = _board_box(view, board)
    if box is None:
        return
    y0, y1, x0, x1 = box
    rays = view.rays[y0:y1, x0:x1]
    t, bx, by = _board_hit(view.origin, rays, board)
    x_min, y_min, x_max, y_max = board.extent
    hit = (bx >= x_min) & (bx <= x_max) & (by >= y_min) & (by <= y_max)
    hit &= (t > 0) & (t < buffers.depth[y0:y1, x0:x1])
    if not hit.any():
        return
    normal = board.rotation[:, 2]
    front = float(normal @ (view.origin - board.tvec)) < 0  # the camera is on the -z side
    shade = np.float32(0.55 + 0.45 * abs(float(normal @ LIGHT)))
    if front:
        scale, offset = board.to_texture
        grey = board.texture.sample(
            (offset + scale * bx).astype(np.float32),
            (offset + scale * by).astype(np.float32),
            _texel_footprint(view, board),
        )
        value = (0.06 + 0.86 * grey) * shade
    else:
        value = np.full(bx.shape, BOARD_BACK * shade, dtype=np.float32)
    colour = buffers.colour[y0:y1, x0:x1]
    colour[hit] = value[hit][:, None]
    buffers.depth[y0:y1, x0:x1][hit] = t[hit]
    buffers.ids[y0:y1, x0:x1][hit] = BOARD_ID


def _texel_footprint(view: CameraView, board: PlacedBoard) -> float:
    """Level-0 texels between neighbouring sub-samples at the sheet's centre (geometric mean of
    the two directions: the board's local projection is affine)."""
    x_min, y_min, x_max, y_max = board.extent
    middle = board.tvec + board.rotation @ np.array([(x_min + x_max) / 2, (y_min + y_max) / 2, 0])
    step = 0.01 * max(x_max - x_min, y_max - y_min)
    ends = middle + step * np.array(
        [board.rotation[:, 0], -board.rotation[:, 0], board.rotation[:, 1], -board.rotation[:, 1]]
    )
    pixels = view.camera.project(ends)
    jacobian = np.column_stack([pixels[0] - pixels[1], pixels[2] - pixels[3]]) / (2 * step)
    det = abs(float(np.linalg.det(jacobian)))
    if not np.isfinite(det) or det == 0:
        return 1.0
    units_per_px = 1.0 / np.sqrt(det)
    return float(units_per_px * board.to_texture[0] / view.supersample)


def _board_hit(
    origin: FloatArray, rays: Float32Array, board: PlacedBoard
) -> tuple[Float32Array, Float32Array, Float32Array]:
    """Ray distance and board coordinates (board units) of the rays' hits on the board plane."""
    rot = board.rotation.astype(np.float32)
    rel = (origin - board.tvec).astype(np.float32)  # origin relative to the board origin
    denominator = rays @ rot[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -(rel @ rot[:, 2]) / denominator
    t = np.where(np.isfinite(t), t, np.float32(-1.0)).astype(np.float32)
    bx = rel @ rot[:, 0] + t * (rays @ rot[:, 0])
    by = rel @ rot[:, 1] + t * (rays @ rot[:, 1])
    return t, bx.astype(np.float32), by.astype(np.float32)


def _board_box(view: CameraView, board: PlacedBoard) -> tuple[int, int, int, int] | None:
    """Sub-sample bbox of the board: hits of a coarse ray grid, padded by two grid steps."""
    step = 4
    coarse = view.rays[::step, ::step]
    t, bx, by = _board_hit(view.origin, coarse, board)
    x_min, y_min, x_max, y_max = board.extent
    hit = (bx >= x_min) & (bx <= x_max) & (by >= y_min) & (by <= y_max) & (t > 0)
    if not hit.any():
        return None
    rows, cols = np.nonzero(hit)
    height, width = view.floor_depth.shape
    pad = 2 * step
    return (
        max(0, int(rows.min()) * step - pad),
        min(height, int(rows.max()) * step + pad + 1),
        max(0, int(cols.min()) * step - pad),
        min(width, int(cols.max()) * step + pad + 1),
    )


def _draw_bodies(view: CameraView, bodies: Ellipsoids, buffers: _Buffers) -> None:
    boxes = _sphere_boxes(view, bodies.centers, bodies.radii.max(axis=-1))
    for p, box in enumerate(boxes):
        if box is None:
            continue
        y0, y1, x0, x1 = box
        t = ellipsoid_distance(
            view.origin,
            view.rays[y0:y1, x0:x1],
            bodies.centers[p],
            bodies.axes[p],
            bodies.radii[p],
        )
        closer = t < buffers.depth[y0:y1, x0:x1]
        buffers.depth[y0:y1, x0:x1][closer] = t[closer]
        buffers.ids[y0:y1, x0:x1][closer] = p
    for p, box in enumerate(boxes):
        if box is not None:
            _shade_primitive(view, bodies, p, box, buffers)


def _shade_primitive(
    view: CameraView,
    bodies: Ellipsoids,
    p: int,
    box: tuple[int, int, int, int],
    buffers: _Buffers,
) -> None:
    y0, y1, x0, x1 = box
    mine = buffers.ids[y0:y1, x0:x1] == p
    if not mine.any():
        return
    rays = view.rays[y0:y1, x0:x1][mine]
    t = buffers.depth[y0:y1, x0:x1][mine][:, None]
    local = ((view.origin - bodies.centers[p]).astype(np.float32) + t * rays) @ bodies.axes[
        p
    ].astype(np.float32)  # [N, 3] hit points in the part's frame, mm
    normal = (local / (bodies.radii[p] ** 2).astype(np.float32)) @ bodies.axes[p].T.astype(
        np.float32
    )
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    shade = 0.45 + 0.55 * np.clip(normal @ LIGHT.astype(np.float32), 0.0, None)
    skin = 0.72 + 0.28 * bodies.pattern.value(p, local)
    colour = (shade * skin)[:, None] * bodies.colors[p].astype(np.float32)
    buffers.colour[y0:y1, x0:x1][mine] = colour


def _sphere_boxes(
    view: CameraView, centers: FloatArray, radii: FloatArray
) -> list[tuple[int, int, int, int] | None]:
    """Sub-sample bbox (y0, y1, x0, x1) of each sphere's silhouette [P], None when out of view:
    the projection of 16 rays on its tangent cone, widened by 5 percent and padded; the full
    frame when the cone leaves the lens's reach or holds the camera."""
    height, width = view.floor_depth.shape
    camera = view.camera
    to_center = centers - view.origin
    distance = np.linalg.norm(to_center, axis=-1)
    axis = to_center / distance[:, None]
    half = np.arcsin(np.clip(radii / distance, 0.0, 1.0)) * 1.05
    helper = np.where((np.abs(axis[:, 0]) < 0.9)[:, None], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    e2 = np.cross(axis, e1)
    angles = np.linspace(0.0, 2.0 * np.pi, 16, endpoint=False)
    around = (
        np.cos(angles)[None, :, None] * e1[:, None] + np.sin(angles)[None, :, None] * e2[:, None]
    )
    ring = np.cos(half)[:, None, None] * axis[:, None] + np.sin(half)[:, None, None] * around
    cam = ring @ camera.rotation.T  # [P, 16, 3]
    reach = view.fov.max_radius
    in_reach = np.all(cam[..., 2] > 0, axis=-1) & np.all(
        np.hypot(cam[..., 0], cam[..., 1]) <= reach * cam[..., 2], axis=-1
    )
    in_reach &= distance > radii * 1.05
    sub = (camera.project(view.origin + ring * distance[:, None, None]) + 0.5) * view.supersample
    sub -= 0.5  # pixel -> sub-sample coordinate
    off_axis = np.arccos(np.clip(axis @ camera.rotation[2], -1.0, 1.0)) - half
    boxes: list[tuple[int, int, int, int] | None] = []
    for p in range(len(centers)):
        if not in_reach[p]:
            outside = distance[p] > radii[p] * 1.05 and off_axis[p] > np.arctan(reach)
            boxes.append(None if outside else (0, height, 0, width))
            continue
        y0 = max(0, int(np.floor(sub[p, :, 1].min())) - _BBOX_PAD)
        y1 = min(height, int(np.ceil(sub[p, :, 1].max())) + _BBOX_PAD + 1)
        x0 = max(0, int(np.floor(sub[p, :, 0].min())) - _BBOX_PAD)
        x1 = min(width, int(np.ceil(sub[p, :, 0].max())) + _BBOX_PAD + 1)
        boxes.append(None if y0 >= y1 or x0 >= x1 else (y0, y1, x0, x1))
    return boxes
