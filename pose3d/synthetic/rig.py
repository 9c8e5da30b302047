"""Random but realistic camera rigs around a circular arena, and each camera's field of view.

World frame: millimetres, the arena floor is the plane z = 0 centred on the origin, z up.
Cameras stand 1.0-1.5 m from the arena centre at varied heights and azimuths and all look at the
arena; the focal length of each is chosen so that the whole arena floor fits in its image. Fisheye
rigs (``RigSpec(lens="fisheye")``) stand closer, 0.6-0.75 m, so that the arena fills a wide field
of view: typically 85-125 degrees across the image width (median 105), 95-165 across its
diagonal, against 35-60 degrees across the width for the pinhole rigs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pose3d.cameras import Camera, CameraGroup, look_at, matrix_to_rodrigues
from pose3d.errors import Pose3dError
from pose3d.lens import FISHEYE, HALF_PI, LENS_MODELS, LensModelName

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

ARENA_RADIUS = 400.0  # mm: an arena 800 mm wide
MIN_CAMERAS, MAX_CAMERAS = 2, 8


@dataclass(frozen=True)
class RigSpec:
    """The ranges a random rig is drawn from (lengths in mm, angles in degrees).

    Intrinsics: ``fy = fx (1 + e)`` with ``|e| <= focal_aspect``; the principal point lies
    ``principal_offset`` px from the image centre in a random direction (scaled down for images
    narrower than 640 px); distortion
    ``k1 k2 p1 p2 k3`` uniform in the given ranges (tangential terms in +-``tangential``).
    ``lens="fisheye"``: OpenCV's fisheye model with ``k1 k2 k3 k4`` uniform in ``fisheye_k``,
    cameras ``fisheye_distance`` from the arena centre instead of ``distance``.
    """

    n_cameras: int = 4
    image_size: tuple[int, int] = (640, 480)  # (width, height)
    lens: LensModelName = "pinhole"
    arena_radius: float = ARENA_RADIUS
    distance: tuple[float, float] = (1000.0, 1500.0)  # camera centre to arena centre
    elevation: tuple[float, float] = (25.0, 55.0)  # angle above the floor plane
    roll: float = 3.0  # max absolute roll about the optical axis
    arena_fill: float = 0.96  # fraction of the half image the arena may span
    focal_aspect: float = 0.01
    principal_offset: tuple[float, float] = (5.0, 20.0)
    k1: tuple[float, float] = (-0.25, 0.05)
    k2: tuple[float, float] = (-0.05, 0.05)
    k3: tuple[float, float] = (-0.01, 0.01)
    tangential: float = 1.5e-3
    fisheye_distance: tuple[float, float] = (600.0, 750.0)
    fisheye_k: tuple[tuple[float, float], ...] = (
        (-0.02, 0.05),
        (-0.01, 0.01),
        (-0.005, 0.005),
        (-0.001, 0.001),
    )

    def __post_init__(self) -> None:
        if self.lens not in LENS_MODELS:
            raise Pose3dError(f"lens must be one of {', '.join(LENS_MODELS)}, got {self.lens!r}")
        if not MIN_CAMERAS <= self.n_cameras <= MAX_CAMERAS:
            raise Pose3dError(
                f"a synthetic rig has {MIN_CAMERAS} to {MAX_CAMERAS} cameras, got {self.n_cameras}"
            )
        width, height = self.image_size
        if width < 32 or height < 32:
            raise Pose3dError(f"image_size must be at least 32x32 px, got {width}x{height}")


def make_rig(spec: RigSpec, rng: np.random.Generator) -> CameraGroup:
    """A rig of ``spec.n_cameras`` cameras named cam0, cam1, ... looking at the arena."""
    azimuths = _azimuths(spec.n_cameras, rng)
    cameras = []
    for index, azimuth in enumerate(azimuths):
        cameras.append(_make_camera(f"cam{index}", azimuth, spec, rng))
    return CameraGroup(tuple(cameras), "mm", {"generator": "pose3d.synthetic"})


def _azimuths(n: int, rng: np.random.Generator) -> FloatArray:
    """Camera azimuths (rad): evenly around the arena from 4 cameras on, on an arc below that.

    Two or three cameras on opposite sides could never see the same face of a board, so they
    stand on an arc about 80 degrees apart, as labs place them.
    """
    spacing = 2.0 * np.pi / n if n >= 4 else np.deg2rad(80.0)
    jitter = rng.uniform(-0.15, 0.15, n) * spacing
    return rng.uniform(0.0, 2.0 * np.pi) + spacing * np.arange(n) + jitter


def _make_camera(name: str, azimuth: float, spec: RigSpec, rng: np.random.Generator) -> Camera:
    fisheye = spec.lens == "fisheye"
    distance = rng.uniform(*(spec.fisheye_distance if fisheye else spec.distance))
    elevation = np.deg2rad(rng.uniform(*spec.elevation))
    center = distance * np.array(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ]
    )
    target = np.array([*rng.uniform(-40.0, 40.0, 2), rng.uniform(0.0, 60.0)])
    roll = np.deg2rad(rng.uniform(-spec.roll, spec.roll))
    c, s = np.cos(roll), np.sin(roll)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ look_at(center, target)
    tvec = -rotation @ center

    width, height = spec.image_size
    offset_angle = rng.uniform(0.0, 2.0 * np.pi)
    scale = min(1.0, width / 640.0)  # the offsets are for 640 px wide images; smaller scale down
    offset = (
        scale
        * rng.uniform(*spec.principal_offset)
        * np.array([np.cos(offset_angle), np.sin(offset_angle)])
    )
    cx, cy = (width - 1) / 2.0 + offset[0], (height - 1) / 2.0 + offset[1]
    rvec = matrix_to_rodrigues(rotation)
    if fisheye:
        dist = _fisheye_distortion(spec, rng)
        fx = _arena_focal(rotation, tvec, spec, (cx, cy), dist)
        fy = fx * (1.0 + rng.uniform(-spec.focal_aspect, spec.focal_aspect))
        matrix = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        return Camera(name, (width, height), matrix, dist, rvec, tvec, "fisheye")
    fx = _arena_focal(rotation, tvec, spec, (cx, cy))
    fy = fx * (1.0 + rng.uniform(-spec.focal_aspect, spec.focal_aspect))
    matrix = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    dist = _distortion(spec, rng, matrix)
    return Camera(name, (width, height), matrix, dist, rvec, tvec)


def _arena_focal(
    rotation: FloatArray,
    tvec: FloatArray,
    spec: RigSpec,
    principal: tuple[float, float],
    fisheye_dist: FloatArray | None = None,
) -> float:
    """The focal length (px) at which the arena's rim (floor and 50 mm up) just fits the image
    (through the fisheye distortion ``fisheye_dist`` if given; a pinhole's is left out)."""
    angles = np.linspace(0.0, 2.0 * np.pi, 72, endpoint=False)
    rim = spec.arena_radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    points = np.concatenate(
        [np.column_stack([rim, np.zeros(72)]), np.column_stack([rim, np.full(72, 50.0)])]
    )
    cam = points @ rotation.T + tvec
    normalized = cam[:, :2] / cam[:, 2:3]
    if fisheye_dist is not None:
        normalized = np.stack(FISHEYE.distort(*normalized.T, *fisheye_dist), axis=-1)
    width, height = spec.image_size
    room_x = spec.arena_fill * min(principal[0] + 0.5, width - 0.5 - principal[0])
    room_y = spec.arena_fill * min(principal[1] + 0.5, height - 0.5 - principal[1])
    return float(
        min(room_x / np.abs(normalized[:, 0]).max(), room_y / np.abs(normalized[:, 1]).max())
    )


def _distortion(spec: RigSpec, rng: np.random.Generator, matrix: FloatArray) -> FloatArray:
    """Distortion drawn until the radial model is monotonic well beyond the image corners."""
    width, height = spec.image_size
    corners = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [-0.5, height - 0.5], [width, height]])
    reach = np.hypot(
        (corners[:, 0] - matrix[0, 2]) / matrix[0, 0], (corners[:, 1] - matrix[1, 2]) / matrix[1, 1]
    ).max()
    radii = np.linspace(0.0, 1.5 * reach, 200)
    for _ in range(100):
        k1, k2, k3 = rng.uniform(*spec.k1), rng.uniform(*spec.k2), rng.uniform(*spec.k3)
        p1, p2 = rng.uniform(-spec.tangential, spec.tangential, 2)
        r2 = radii**2
        slope = 1.0 + 3.0 * k1 * r2 + 5.0 * k2 * r2**2 + 7.0 * k3 * r2**3  # d(r radial)/dr
        if slope.min() > 0.3:
            return np.array([k1, k2, p1, p2, k3])
    raise Pose3dError("could not draw a monotonic lens distortion; narrow the k1/k2/k3 ranges")


def _fisheye_distortion(spec: RigSpec, rng: np.random.Generator) -> FloatArray:
    """Fisheye k1..k4 drawn until θd(θ) rises steadily up to 90 degrees off axis."""
    theta2 = np.linspace(0.0, HALF_PI, 200) ** 2
    for _ in range(100):
        k = np.array([rng.uniform(*bounds) for bounds in spec.fisheye_k])
        slope = 1.0 + theta2 * (
            3 * k[0] + theta2 * (5 * k[1] + theta2 * (7 * k[2] + theta2 * 9 * k[3]))
        )
        if slope.min() > 0.3:
            return k
    raise Pose3dError("could not draw a monotonic fisheye distortion; narrow the fisheye_k ranges")


@dataclass(frozen=True)
class FieldOfView:
    """Where a camera sees: in front of it, inside its image, and within the distortion's reach.

    The last condition matters: OpenCV's polynomial folds back far outside the image, so a point
    well outside the field of view can project to a pixel inside the image. ``max_radius`` is the
    largest ideal normalized radius of any image-border pixel, and at most the radius where the
    lens model folds (``LensModel.monotonic_radius``).
    """

    camera: Camera
    max_radius: float

    @classmethod
    def of(cls, camera: Camera) -> FieldOfView:
        width, height = camera.size
        xs = np.linspace(-0.5, width - 0.5, 64)
        ys = np.linspace(-0.5, height - 0.5, 64)
        border = np.concatenate(
            [
                np.column_stack([xs, np.full(64, -0.5)]),
                np.column_stack([xs, np.full(64, height - 0.5)]),
                np.column_stack([np.full(64, -0.5), ys]),
                np.column_stack([np.full(64, width - 0.5), ys]),
            ]
        )
        with np.errstate(all="ignore"):
            radius = np.linalg.norm(camera.undistort_points(border), axis=-1)
        fold = camera.lens_model.monotonic_radius(camera.dist)
        reach = float(np.nanmax(radius)) * 1.01 if np.isfinite(radius).any() else fold
        return cls(camera, min(reach, fold))

    def contains(self, points: ArrayLike, margin: float = 0.0) -> BoolArray:
        """Whether world points [..., 3] project inside the image (pixel areas included), at
        least ``margin`` px from its border."""
        cam = self.camera.world_to_camera(points)
        z = cam[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            radius = np.hypot(cam[..., 0], cam[..., 1]) / z
        pixels = self.camera.project(points)
        width, height = self.camera.size
        low = margin - 0.5
        inside = (
            (pixels[..., 0] >= low)
            & (pixels[..., 0] <= width - 0.5 - margin)
            & (pixels[..., 1] >= low)
            & (pixels[..., 1] <= height - 0.5 - margin)
        )
        return np.asarray((z > 0) & (radius <= self.max_radius) & inside)
