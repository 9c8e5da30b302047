"""Cameras with OpenCV's pinhole or fisheye lens model, in numpy only.

Conventions (the same as OpenCV and Anipose):

- ``rvec`` (Rodrigues) and ``tvec`` map world to camera: ``X_cam = R @ X_world + t``;
  ``tvec`` is in world units (mm when the board was given in mm).
- pixels: the centre of the top-left pixel is (0, 0); points are ``(x, y)``, last axis.
- ``model`` "pinhole" (default): distortion ``(k1, k2, p1, p2, k3)``; "fisheye": distortion
  ``(k1, k2, k3, k4)`` of the equidistant model; the formulas are in :mod:`pose3d.lens`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pose3d.errors import CalibrationError
from pose3d.lens import LENS_MODELS, LensModel, LensModelName

FloatArray = NDArray[np.float64]


def rodrigues_to_matrix(rvec: ArrayLike) -> FloatArray:
    """Rotation matrix [3, 3] of a Rodrigues vector [3] (angle = norm, axis = direction)."""
    r = np.asarray(rvec, dtype=np.float64).reshape(3)
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(theta) * kx + (1.0 - np.cos(theta)) * (kx @ kx)


def matrix_to_rodrigues(matrix: ArrayLike) -> FloatArray:
    """Rodrigues vector [3] of a rotation matrix [3, 3] (robust near 0 and 180 degrees)."""
    rot = np.asarray(matrix, dtype=np.float64).reshape(3, 3)
    # sin(theta) * axis from the antisymmetric part, cos(theta) from the trace: atan2 keeps the
    # angle accurate near 0 and 180 degrees, where arccos of the trace loses half the digits
    sin_axis = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]]) / 2
    sin = float(np.linalg.norm(sin_axis))
    cos = float(np.clip((np.trace(rot) - 1.0) / 2.0, -1.0, 1.0))
    theta = float(np.arctan2(sin, cos))
    if sin == 0.0 and cos > 0.0:
        return np.zeros(3)
    if cos > 0.0:
        return sin_axis * (theta / sin)
    # beyond 90 degrees the axis comes from the symmetric part, (1 - cos) k kᵀ, and its sign
    # from the antisymmetric part (at exactly 180 degrees both signs are the same rotation)
    outer = (rot + rot.T) / 2.0 - cos * np.eye(3)
    i = int(np.argmax(np.diag(outer)))
    axis = outer[:, i] / np.linalg.norm(outer[:, i])
    if axis @ sin_axis < 0:
        axis = -axis
    return axis * theta


def _as_vector(value: ArrayLike, n: int, what: str, name: str) -> FloatArray:
    arr = np.array(value, dtype=np.float64).reshape(-1)  # a copy: the caller's array may change
    if arr.size != n:
        raise CalibrationError(f"camera {name!r}: {what} must have {n} numbers, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(
            f"camera {name!r}: {what} contains NaN or inf ({arr.tolist()}); recalibrate or fix "
            "the calibration file"
        )
    return arr


def _distortions(value: ArrayLike, model: str, name: str) -> FloatArray:
    """The distortion vector of ``model`` (pinhole: 5 numbers, fisheye: 4) from what was given:
    nothing (no distortion), pinhole's 4 or 5 numbers, or fisheye's 4."""
    given = _as_vector(value, np.asarray(value).size, "distortions", name)
    if model == "fisheye":
        if given.size not in (0, 4):
            raise CalibrationError(
                f"camera {name!r}: a fisheye camera's distortions must be 4 numbers "
                f"(k1 k2 k3 k4), got {given.size}; a pinhole camera has 5 (k1 k2 p1 p2 k3)"
            )
        n = 4
    else:
        if given.size not in (0, 4, 5):
            raise CalibrationError(
                f"camera {name!r}: distortions must be 4 or 5 numbers (k1 k2 p1 p2 [k3]), "
                f"got {given.size}"
            )
        n = 5
    dist = np.zeros(n)
    dist[: given.size] = given
    return dist


MAX_TRANSLATION = 1e9  # world units (1000 km in mm): beyond it a calibration is damaged


def _bounded(tvec: FloatArray, name: str) -> FloatArray:
    if np.abs(tvec).max() > MAX_TRANSLATION:
        raise CalibrationError(
            f"camera {name!r}: translation {tvec.tolist()} is beyond {MAX_TRANSLATION:.0e} world "
            "units from the origin; the file is damaged, or its unit is not what it says"
        )
    return tvec


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera: intrinsics (matrix, dist, lens model), extrinsics (rvec, tvec),
    image size."""

    name: str
    size: tuple[int, int]  # (width, height) in pixels
    matrix: FloatArray  # [3, 3]
    # pinhole: [5] k1 k2 p1 p2 k3 (4 numbers: k3 = 0); fisheye: [4] k1 k2 k3 k4; none: zeros
    dist: FloatArray = field(default_factory=lambda: np.zeros(0))
    rvec: FloatArray = field(default_factory=lambda: np.zeros(3))  # [3] world -> camera
    tvec: FloatArray = field(default_factory=lambda: np.zeros(3))  # [3] world units
    model: LensModelName = "pinhole"  # "pinhole" | "fisheye" (see pose3d.lens)

    def __post_init__(self) -> None:
        name = str(self.name)
        object.__setattr__(self, "name", name)
        if not name.strip() or not name.isprintable():
            raise CalibrationError(
                f"camera name {name!r} must be printable text, not empty; name the camera as "
                "session.toml does"
            )
        if self.model not in LENS_MODELS:
            raise CalibrationError(
                f"camera {name!r}: lens model must be one of {', '.join(LENS_MODELS)}, "
                f"got {self.model!r}"
            )
        if len(self.size) != 2 or min(self.size) <= 0:
            raise CalibrationError(f"camera {name!r}: size must be [width, height] > 0")
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        matrix = _as_vector(self.matrix, 9, "matrix", name).reshape(3, 3)
        if matrix[0, 0] <= 0 or matrix[1, 1] <= 0:
            raise CalibrationError(f"camera {name!r}: focal lengths must be positive")
        if not np.array_equal(matrix[2], [0.0, 0.0, 1.0]) or matrix[1, 0] != 0:
            raise CalibrationError(
                f"camera {name!r}: the intrinsic matrix must be [[fx, s, cx], [0, fy, cy], "
                f"[0, 0, 1]], got {matrix.tolist()}; the file is damaged or not a "
                "camera calibration"
            )
        for attr, value in (
            ("matrix", matrix),
            ("dist", _distortions(self.dist, self.model, name)),
            ("rvec", _as_vector(self.rvec, 3, "rotation", name)),
            ("tvec", _bounded(_as_vector(self.tvec, 3, "translation", name), name)),
        ):
            value.setflags(write=False)
            object.__setattr__(self, attr, value)

    @property
    def lens_model(self) -> LensModel:
        """The kernels of this camera's lens model."""
        return LENS_MODELS[self.model]

    @property
    def rotation(self) -> FloatArray:
        """World-to-camera rotation matrix [3, 3]."""
        return rodrigues_to_matrix(self.rvec)

    @property
    def center(self) -> FloatArray:
        """Camera centre in world coordinates [3]."""
        return -self.rotation.T @ self.tvec

    @property
    def extrinsics(self) -> FloatArray:
        """[3, 4] matrix ``[R | t]``."""
        return np.hstack([self.rotation, self.tvec[:, None]])

    def world_to_camera(self, points: ArrayLike) -> FloatArray:
        """Points [..., 3] in world coordinates to camera coordinates [..., 3]."""
        pts = np.asarray(points, dtype=np.float64)
        return pts @ self.rotation.T + self.tvec

    def distort(self, normalized: ArrayLike) -> FloatArray:
        """Ideal normalized coordinates [..., 2] to distorted normalized coordinates [..., 2]."""
        xy = np.asarray(normalized, dtype=np.float64)
        return np.stack(self.lens_model.distort(xy[..., 0], xy[..., 1], *self.dist), axis=-1)

    def normalized_to_pixels(self, normalized: ArrayLike) -> FloatArray:
        """Distorted normalized coordinates [..., 2] to pixels [..., 2] through the matrix."""
        xy = np.asarray(normalized, dtype=np.float64)
        m = self.matrix
        u = m[0, 0] * xy[..., 0] + m[0, 1] * xy[..., 1] + m[0, 2]
        v = m[1, 1] * xy[..., 1] + m[1, 2]
        return np.stack([u, v], axis=-1)

    def pixels_to_normalized(self, pixels: ArrayLike) -> FloatArray:
        """Pixels [..., 2] to distorted normalized coordinates [..., 2] (inverse matrix)."""
        uv = np.asarray(pixels, dtype=np.float64)
        m = self.matrix
        y = (uv[..., 1] - m[1, 2]) / m[1, 1]
        x = (uv[..., 0] - m[0, 2] - m[0, 1] * y) / m[0, 0]
        return np.stack([x, y], axis=-1)

    def project(self, points: ArrayLike) -> FloatArray:
        """World points [..., 3] to distorted pixels [..., 2]; NaN in, NaN out.

        Points behind the camera (z <= 0) project to NaN.
        """
        cam = self.world_to_camera(points)
        z = cam[..., 2:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            normalized = np.where(z > 0, cam[..., :2] / z, np.nan)
        return self.normalized_to_pixels(self.distort(normalized))

    def undistort_points(self, pixels: ArrayLike) -> FloatArray:
        """Distorted pixels [..., 2] to ideal normalized coordinates [..., 2]; NaN stays NaN.

        Inverts the distortion with Newton's method (see :mod:`pose3d.lens`), so the result
        re-distorts to the input to ~1e-14 for the distortion of real lenses. Fisheye: NaN
        beyond the field of view the model describes (90 degrees off axis, or where its
        distortion folds).
        """
        xy = self.pixels_to_normalized(pixels)
        lens = self.lens_model
        if lens.zero_is_identity and not np.any(self.dist):
            return xy
        return np.stack(lens.undistort(xy[..., 0], xy[..., 1], *self.dist), axis=-1)

    def undistort_pixels(self, pixels: ArrayLike) -> FloatArray:
        """Distorted pixels [..., 2] to the pixels an ideal (distortion-free) camera would see."""
        xy = self.undistort_points(pixels)
        m = self.matrix
        return np.stack(
            [m[0, 0] * xy[..., 0] + m[0, 1] * xy[..., 1] + m[0, 2], m[1, 1] * xy[..., 1] + m[1, 2]],
            axis=-1,
        )

    def rays(self, pixels: ArrayLike) -> FloatArray:
        """Unit viewing directions [..., 3] in world coordinates of distorted pixels [..., 2]."""
        xy = self.undistort_points(pixels)
        d_cam = np.concatenate([xy, np.ones((*xy.shape[:-1], 1))], axis=-1)
        d_world = d_cam @ self.rotation  # R^T d for row vectors
        return d_world / np.linalg.norm(d_world, axis=-1, keepdims=True)

    def with_extrinsics(self, rvec: ArrayLike, tvec: ArrayLike) -> Camera:
        return Camera(
            self.name,
            self.size,
            self.matrix,
            self.dist,
            np.asarray(rvec),
            np.asarray(tvec),
            self.model,
        )

    def __repr__(self) -> str:
        fx, fy = self.matrix[0, 0], self.matrix[1, 1]
        lens = "" if self.model == "pinhole" else f", model={self.model!r}"
        return f"Camera({self.name!r}, size={self.size}, f=({fx:.1f}, {fy:.1f}){lens})"


def look_at(center: ArrayLike, target: ArrayLike, up: ArrayLike = (0.0, 0.0, 1.0)) -> FloatArray:
    """World-to-camera rotation [3, 3] of a camera at ``center`` looking at ``target``.

    Camera axes follow OpenCV: x right, y down, z forward; ``up`` is the world's up direction.
    """
    c = np.asarray(center, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - c
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(right) < 1e-9:
        raise ValueError("look_at: the viewing direction is parallel to up")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


# CameraGroup.metadata key of cameras whose intrinsics were calibrated without a rig
# (``pose3d calibrate --intrinsics-only``): their positions are unknown
INTRINSICS_ONLY = "intrinsics_only"


@dataclass(frozen=True)
class CameraGroup:
    """An ordered rig of cameras with unique names; the order is the ``view`` coordinate."""

    cameras: tuple[Camera, ...]
    unit: str | None = "mm"  # unit of translations and of triangulated points; None = unknown
    metadata: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        if not self.cameras:
            raise CalibrationError("a camera group needs at least one camera")
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            raise CalibrationError(f"camera names must be unique, got {names}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, name: str) -> Camera:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise CalibrationError(
            f"camera {name!r} is not in the calibration; it has: {', '.join(self.names)}"
        )

    def subset(self, names: Sequence[str]) -> CameraGroup:
        """The cameras ``names``, in that order; a clear error names any missing camera."""
        missing = [n for n in names if n not in self.names]
        if missing:
            raise CalibrationError(
                f"camera(s) {', '.join(missing)} not in the calibration, which has "
                f"{', '.join(self.names)}; recalibrate with these cameras or rename them"
            )
        return CameraGroup(tuple(self[n] for n in names), self.unit, dict(self.metadata))

    def project(self, points: ArrayLike) -> FloatArray:
        """World points [..., 3] to pixels in every camera [n_cameras, ..., 2]."""
        return np.stack([cam.project(points) for cam in self.cameras])


def size_mismatches(cameras: CameraGroup, sizes: Mapping[str, tuple[int, int] | None]) -> str:
    """Why ``cameras`` (a calibration) do not fit videos of ``sizes`` (camera -> (w, h)), or ""
    when they do."""
    wrong = [
        f"{name} calibrated at {cameras[name].size[0]}x{cameras[name].size[1]}, video "
        f"{size[0]}x{size[1]}"
        for name, size in sizes.items()
        if size is not None and name in cameras.names and tuple(cameras[name].size) != size
    ]
    if not wrong:
        return ""
    return (
        f"the calibration's image sizes differ from the videos' ({'; '.join(wrong)}): it belongs "
        "to other videos, or the videos were resized or cropped; recalibrate from this rig's "
        "board media (pose3d calibrate), or check the camera names"
    )
