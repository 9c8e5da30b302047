"""A synthetic rig and subjects with exact ground truth for the triangulation tests.

Four cameras stand around an 800 mm arena at 1.1-1.5 m, at different heights, with realistic
intrinsics: focal lengths 850-1000 px, principal points 8-25 px off centre, barrel distortion
with tangential terms. Subjects: random points in the arena, and a moving chain skeleton with
constant bone lengths.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import Camera, CameraGroup, look_at, matrix_to_rodrigues
from pose3d.io.calibration_toml import save_calibration
from pose3d.io.netcdf import save_labels
from pose3d.io.session_toml import save_session
from pose3d.labels import new_labels
from pose3d.session import CameraSpec, Session
from pose3d.skeleton import Skeleton
from pose3d.synthetic.chain import chain_edges, moving_chain

RIG_SIZE = 2 * 1400.0  # mm: the rig's diameter, the scale of "exact"


def make_rig() -> CameraGroup:
    specs = [  # azimuth deg, distance mm, height mm, focal px, principal offset px, k1, p1, p2
        (10.0, 1400.0, 700.0, 900.0, (12.0, -8.0), -0.22, 0.0012, -0.0008),
        (95.0, 1200.0, 900.0, 980.0, (-20.0, 10.0), -0.15, -0.0010, 0.0005),
        (190.0, 1500.0, 600.0, 860.0, (8.0, 25.0), -0.25, 0.0006, 0.0011),
        (280.0, 1300.0, 1000.0, 940.0, (-15.0, -18.0), -0.18, -0.0004, -0.0012),
    ]
    cameras = []
    for i, (azimuth, distance, height, focal, (dx, dy), k1, p1, p2) in enumerate(specs):
        a = np.deg2rad(azimuth)
        center = np.array([distance * np.cos(a), distance * np.sin(a), height])
        rotation = look_at(center, [0.0, 0.0, 80.0])
        matrix = [[focal, 0.0, 640.0 + dx], [0.0, focal * 1.004, 480.0 + dy], [0.0, 0.0, 1.0]]
        cameras.append(
            Camera(
                f"cam{i}",
                (1280, 960),
                np.array(matrix),
                np.array([k1, 0.04, p1, p2, -0.005]),
                matrix_to_rodrigues(rotation),
                -rotation @ center,
            )
        )
    return CameraGroup(tuple(cameras), unit="mm")


def make_fisheye_rig() -> CameraGroup:
    """The rig of :func:`make_rig` with fisheye lenses (OpenCV's model) of 0.7 times its focal
    lengths: 105-120 degrees across the image width, 135-150 across its diagonal."""
    lenses = [  # k1 k2 k3 k4
        (0.035, -0.006, 0.002, -0.0004),
        (-0.012, 0.004, -0.001, 0.0003),
        (0.048, -0.011, 0.004, -0.0007),
        (0.006, 0.002, -0.0015, 0.0002),
    ]
    cameras = []
    for cam, dist in zip(make_rig(), lenses, strict=True):
        matrix = cam.matrix.copy()
        matrix[[0, 1], [0, 1]] *= 0.7
        cameras.append(Camera(cam.name, cam.size, matrix, dist, cam.rvec, cam.tvec, "fisheye"))
    return CameraGroup(tuple(cameras), unit="mm")


def random_points(rng: np.random.Generator, n: int) -> np.ndarray:
    """[n, 3] points in a 700 mm x 700 mm x 250 mm box on the arena floor."""
    return rng.uniform([-350.0, -350.0, 0.0], [350.0, 350.0, 250.0], size=(n, 3))


def labels_of(
    cameras: CameraGroup,
    points: np.ndarray,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
    keypoints: Sequence[str] | None = None,
    individuals: Sequence[str] | None = None,
) -> xr.Dataset:
    """Labels of every camera for 3D points [T, K, I, 3] (or [T, K, 3]), with Gaussian pixel
    noise of ``noise`` px; points outside an image are left out (NaN)."""
    if points.ndim == 3:
        points = points[:, :, None, :]
    n_time, n_kp, n_ind, _ = points.shape
    keypoints = keypoints or [f"kp{k}" for k in range(n_kp)]
    individuals = individuals or [f"ind{i}" for i in range(n_ind)]
    ds = new_labels(n_time, cameras.names, keypoints, individuals)
    pixels = cameras.project(points)  # [V, T, K, I, 2]
    if noise:
        assert rng is not None
        pixels = pixels + rng.normal(0.0, noise, pixels.shape)
    for v, cam in enumerate(cameras):
        w, h = cam.size
        outside = (pixels[v, ..., 0] < -0.5) | (pixels[v, ..., 0] > w - 0.5)
        outside |= (pixels[v, ..., 1] < -0.5) | (pixels[v, ..., 1] > h - 0.5)
        pixels[v][outside] = np.nan
    position = pixels.transpose(1, 0, 4, 2, 3)  # [T, V, 2, K, I]
    ds[s.POSITION].values[:] = position
    seen = np.isfinite(position).all(axis=2)
    ds[s.CONFIDENCE].values[:] = np.where(seen, 1.0, np.nan)
    ds[s.SOURCE].values[:] = np.where(seen, int(s.PointSource.TRACKED), 0)
    return ds


@dataclass(frozen=True)
class SyntheticSession:
    root: Path
    cameras: CameraGroup
    truth: np.ndarray  # [T, K, 3]
    keypoints: tuple[str, ...]


def write_session(
    root: Path,
    cameras: CameraGroup,
    labels: xr.Dataset,
    edges: Sequence[tuple[str, str]] = (),
    fps: float | None = 30.0,
) -> Session:
    keypoints = [str(k) for k in labels[s.KEYPOINT].values]
    session = Session(
        root=root,
        name=root.name,
        cameras=tuple(CameraSpec(n, f"videos/{n}.mp4", 0) for n in cameras.names),
        skeleton=Skeleton(tuple(keypoints), tuple(edges)),
        individuals=tuple(str(i) for i in labels[s.INDIVIDUAL].values),
        fps=fps,
    )
    save_session(session)
    session.paths.calibration_dir.mkdir()
    save_calibration(session.paths.calibration, cameras)
    save_labels(session.paths.labels, labels)
    return session


@pytest.fixture(scope="session")
def rig() -> CameraGroup:
    return make_rig()


@pytest.fixture(scope="session")
def fisheye_rig() -> CameraGroup:
    return make_fisheye_rig()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def synthetic_session(tmp_path: Path, rig: CameraGroup) -> SyntheticSession:
    """A session folder: 4 cameras, a 6-keypoint chain over 60 frames, 0.5 px noise."""
    rng = np.random.default_rng(7)
    truth = moving_chain(rng, 60, 6)
    keypoints = tuple(f"kp{k}" for k in range(6))
    labels = labels_of(rig, truth, noise=0.5, rng=rng, keypoints=keypoints)
    root = tmp_path / "session"
    write_session(root, rig, labels, chain_edges(keypoints))
    return SyntheticSession(root, rig, truth, keypoints)


@pytest.fixture(scope="session")
def synth() -> ModuleType:
    """This module, so tests can call its builders (``synth.moving_chain(...)``) without
    importing a conftest (tests run with ``--import-mode=importlib``)."""
    return sys.modules[__name__]
