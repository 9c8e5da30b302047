"""The ray-casting renderer: rays, intersections, z-buffer, texture sampling, noise."""

from __future__ import annotations

import numpy as np
import pytest

from pose3d.cameras import Camera, look_at, matrix_to_rodrigues
from pose3d.synthetic import Ellipsoids, RigSpec, make_rig, prepare_view, render
from pose3d.synthetic.raycast import FLOOR_ID, ellipsoid_distance, ray_grid
from pose3d.synthetic.textures import MipTexture, SkinPattern, make_floor


def _camera(center: tuple[float, float, float], size: tuple[int, int] = (96, 72)) -> Camera:
    rotation = look_at(center, (0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0))
    matrix = np.array([[100.0, 0, size[0] / 2 - 0.5], [0, 100.0, size[1] / 2 - 0.5], [0, 0, 1]])
    return Camera(
        "c",
        size,
        matrix,
        np.zeros(5),
        matrix_to_rodrigues(rotation),
        -rotation @ np.asarray(center),
    )


def _spheres(centers: list[tuple[float, float, float]], radius: float) -> Ellipsoids:
    n = len(centers)
    colors = np.array([[0.9, 0.5, 0.1], [0.1, 0.9, 0.2], [0.5, 0.5, 0.9]])[:n]
    return Ellipsoids(
        np.asarray(centers, dtype=float),
        np.tile(np.eye(3), (n, 1, 1)),
        np.full((n, 3), radius),
        colors,
        SkinPattern.random(np.random.default_rng(0), n),
    )


@pytest.mark.parametrize("supersample", [1, 2, 3])
def test_sub_sample_rays_point_where_the_camera_projects(supersample: int) -> None:
    cam = make_rig(RigSpec(2, (64, 48)), np.random.default_rng(1)).cameras[0]
    rays = ray_grid(cam, supersample)
    assert rays.shape == (48 * supersample, 64 * supersample, 3)
    pixels = cam.project(cam.center + 1000.0 * rays.astype(np.float64))
    coords = (np.arange(64 * supersample) + 0.5) / supersample - 0.5
    np.testing.assert_allclose(pixels[0, :, 0], coords, atol=2e-3)
    rows = (np.arange(48 * supersample) + 0.5) / supersample - 0.5
    np.testing.assert_allclose(pixels[:, 0, 1], rows, atol=2e-3)


def test_ellipsoid_distance_is_analytic() -> None:
    origin = np.zeros(3)
    rays = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    t = ellipsoid_distance(origin, rays, np.array([0.0, 0.0, 100.0]), np.eye(3), np.full(3, 10.0))
    assert t[0] == pytest.approx(90.0) and np.isinf(t[1:]).all()
    # a 30 x 10 x 10 ellipsoid whose long axis is turned onto world y: 10 mm thick along x
    turned = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # columns: local axes
    t = ellipsoid_distance(
        origin, rays[2:], np.array([100.0, 0.0, 0.0]), turned, np.array([30.0, 10.0, 10.0])
    )
    assert t[0] == pytest.approx(90.0)


def test_nearest_surface_wins_whatever_the_order() -> None:
    cam = _camera((0.0, 0.0, 500.0))
    view = prepare_view(cam, make_floor(np.random.default_rng(0), 400.0))
    for near_first in (True, False):
        centers = [(0.0, 0.0, 100.0), (0.0, 0.0, 30.0)]
        bodies = _spheres(centers if near_first else centers[::-1], 20.0)
        out = render(view, bodies=bodies, blur_sigma=0.0)
        middle = tuple(s // 2 for s in out.ids.shape)
        near = 0 if near_first else 1
        assert out.ids[middle] == near
        assert out.ids[0, 0] == FLOOR_ID


def test_rendered_sphere_has_its_colour_and_size() -> None:
    cam = _camera((0.0, 0.0, 500.0))
    view = prepare_view(cam, make_floor(np.random.default_rng(0), 400.0))
    out = render(view, bodies=_spheres([(0.0, 0.0, 50.0)], 25.0), blur_sigma=0.0)
    centre = cam.project(np.array([0.0, 0.0, 50.0]))
    x, y = np.rint(centre).astype(int)
    r, g, b = out.image[y, x].astype(float)
    assert r > g > b  # orange (0.9, 0.5, 0.1), shaded
    covered = (out.ids == 0).sum() / view.supersample**2  # pixels
    expected = np.pi * (100.0 * 25.0 / np.sqrt(450.0**2 - 25.0**2)) ** 2  # silhouette disc
    assert covered == pytest.approx(expected, rel=0.05)


def test_mip_levels_agree_on_coordinates() -> None:
    ramp = np.tile(np.arange(256, dtype=np.float32), (64, 1))
    texture = MipTexture.build(ramp, n_levels=4, fill=0.0)
    u = np.array([[37.3, 100.0, 200.7]], dtype=np.float32)
    v = np.full_like(u, 30.0)
    for footprint in (1.0, 2.0, 4.0, 8.0):
        # cv2.remap interpolates at 1/32 of a texel of the level it reads
        np.testing.assert_allclose(texture.sample(u, v, footprint), u, atol=footprint / 32)


def test_noise_is_seeded_and_has_the_asked_sigma() -> None:
    cam = _camera((0.0, 0.0, 500.0), size=(200, 150))
    view = prepare_view(cam, make_floor(np.random.default_rng(0), 400.0))
    clean = render(view).image.astype(float)
    a = render(view, noise=(np.random.default_rng(3), 2.0)).image
    b = render(view, noise=(np.random.default_rng(3), 2.0)).image
    c = render(view, noise=(np.random.default_rng(4), 2.0)).image
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.std(a - clean) == pytest.approx(2.0, rel=0.1)
