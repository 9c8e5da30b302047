"""The synthetic rodent: skeleton, body geometry, motion, visibility and its rendered colours."""

from __future__ import annotations

import numpy as np
import pytest

from pose3d.cameras import Camera, look_at, matrix_to_rodrigues
from pose3d.synthetic import (
    KEYPOINTS,
    FieldOfView,
    keypoint_visibility,
    make_scene,
    make_walkers,
    render,
    rodent_skeleton,
    simulate,
    subject_truth,
)
from pose3d.synthetic.raycast import Ellipsoids
from pose3d.synthetic.subject import MARKER_LIFT, MARKERS, N_PARTS, PARTS, Subjects
from pose3d.synthetic.textures import SkinPattern

FPS = 30.0


@pytest.fixture(scope="module")
def pair() -> Subjects:
    """Two individuals over 10 s."""
    return simulate(make_walkers(np.random.default_rng(11), 2), np.arange(300) / FPS)


def _index(name: str) -> int:
    return KEYPOINTS.index(name)


def test_skeleton_has_a_rodent_layout() -> None:
    skeleton = rodent_skeleton()
    assert len(skeleton.keypoints) >= 8 and len(skeleton.edges) >= 8
    for name in ("nose", "ear_left", "ear_right", "tail_base", "tail_tip", "paw_front_left"):
        assert name in skeleton.keypoints
    linked = {k for edge in skeleton.edges for k in edge}
    assert linked == set(skeleton.keypoints)


def test_keypoints_are_centres_of_their_own_primitive_outside_all_others(pair: Subjects) -> None:
    points = pair.keypoints()  # [T, 3, K, I]
    assert points.shape == (300, 3, len(KEYPOINTS), 2)
    parts = pair.keypoint_parts()
    np.testing.assert_array_equal(np.moveaxis(points, 1, -1), pair.centers[:, parts])
    for i in range(2):
        body = slice(i * N_PARTS, (i + 1) * N_PARTS)
        xyz = np.moveaxis(points[:, :, :, i], 1, -1)  # [T, K, 3]
        local = (
            np.einsum(
                "tpji,tkpj->tkpi", pair.axes[:, body], xyz[:, :, None] - pair.centers[:, None, body]
            )
            / pair.radii[:, None, body]
        )  # [T, K, P, 3]: unit-sphere coordinates
        inside = np.linalg.norm(local, axis=-1) < 1.0
        inside[:, np.arange(len(KEYPOINTS)), parts[:, i] - i * N_PARTS] = False
        assert not inside.any()


def test_trunk_keypoints_are_markers_fixed_on_top_of_their_trunk(pair: Subjects) -> None:
    """neck, spine_mid and tail_base ride on the trunk's skin: fixed in the trunk's frame, just
    above its top, so a tracker following the skin follows the keypoint."""
    index = {name: p for p, (name, _, _) in enumerate(PARTS)}
    for i in range(2):
        for keypoint, trunk in MARKERS.items():
            mark, body = index[keypoint] + i * N_PARTS, index[trunk] + i * N_PARTS
            local = np.einsum(
                "tji,tj->ti", pair.axes[:, body], pair.centers[:, mark] - pair.centers[:, body]
            )  # [T, 3] in the trunk's frame
            top = [0.0, 0.0, pair.radii[0, body, 2] + MARKER_LIFT]
            np.testing.assert_allclose(local, np.tile(top, (300, 1)), atol=1e-9)
            assert np.ptp(pair.centers[:, body, :2], axis=0).max() > 50.0  # the trunk moves


def test_body_size_arena_and_floor(pair: Subjects) -> None:
    points = np.moveaxis(pair.keypoints(), 1, -1)  # [T, K, I, 3]
    chain = [_index(k) for k in ("nose", "neck", "spine_mid", "tail_base", "tail_mid", "tail_tip")]
    along_floor = points[:, chain, :, :2]  # the trunk markers ride 50-60 mm up: length in x, y
    length = np.linalg.norm(np.diff(along_floor, axis=1), axis=-1).sum(axis=1)
    assert length.min() >= 150.0 and length.max() <= 250.0
    assert np.hypot(pair.centers[..., 0], pair.centers[..., 1]).max() < 380.0
    assert (pair.centers[..., 2] - pair.radii[..., 2]).min() > -0.5  # nothing sinks in the floor


def test_motion_is_smooth_and_alive(pair: Subjects) -> None:
    points = np.moveaxis(pair.keypoints(), 1, -1)  # [T, K, I, 3]
    speed = np.linalg.norm(np.diff(points, axis=0), axis=-1) * FPS
    assert speed.max() < 800.0  # mm/s: no jumps
    spine = points[:, _index("spine_mid")]
    assert (np.linalg.norm(spine[-1] - spine[0], axis=-1) > 50.0).all() or (
        speed[:, _index("spine_mid")].mean(axis=0) > 50.0
    ).all()  # it walks

    def heading(a: str, b: str) -> np.ndarray:
        d = points[:, _index(b)] - points[:, _index(a)]
        return np.arctan2(d[..., 1], d[..., 0])

    def turn(x: np.ndarray) -> np.ndarray:
        return np.degrees(np.angle(np.exp(1j * x)))

    bend = turn(heading("spine_mid", "neck") - heading("tail_base", "spine_mid"))
    head = turn(heading("neck", "nose") - heading("spine_mid", "neck"))
    assert (np.ptp(bend, axis=0) > 10).all()  # the body bends
    assert (np.ptp(head, axis=0) > 20).all()  # the head turns
    paw = points[:, _index("paw_front_left"), :, 2]
    assert (np.ptp(paw, axis=0) > 8).all()  # the paws lift


def test_same_seed_same_motion_other_seed_other_motion() -> None:
    times = np.arange(20) / FPS
    a = simulate(make_walkers(np.random.default_rng(1), 2), times).keypoints()
    b = simulate(make_walkers(np.random.default_rng(1), 2), times).keypoints()
    c = simulate(make_walkers(np.random.default_rng(2), 2), times).keypoints()
    assert np.array_equal(a, b) and not np.allclose(a, c)


def _pinhole(center: np.ndarray, target: np.ndarray) -> Camera:
    rotation = look_at(center, target)
    matrix = np.array([[800.0, 0, 319.5], [0, 800.0, 239.5], [0, 0, 1]])
    return Camera(
        "c", (640, 480), matrix, np.zeros(5), matrix_to_rodrigues(rotation), -rotation @ center
    )


def _spheres(centers: np.ndarray, radius: float) -> Ellipsoids:
    n = len(centers)
    pattern = SkinPattern.random(np.random.default_rng(0), n)
    axes = np.tile(np.eye(3), (n, 1, 1))
    return Ellipsoids(centers, axes, np.full((n, 3), radius), np.full((n, 3), 0.5), pattern)


def test_visibility_of_constructed_occlusions() -> None:
    camera = _pinhole(np.array([0.0, -1000.0, 500.0]), np.zeros(3))
    fov = FieldOfView.of(camera)
    target = np.array([[0.0, 0.0, 20.0]])
    between = camera.center + 0.5 * (target[0] - camera.center)
    alone = _spheres(target, 10.0)
    blocked = _spheres(np.vstack([target, between]), 10.0)
    assert keypoint_visibility(fov, alone, target, np.array([0]))[0]
    assert not keypoint_visibility(fov, blocked, target, np.array([0]))[0]
    outside = np.array([[5000.0, 0.0, 20.0]])  # far outside the image
    assert not keypoint_visibility(fov, _spheres(outside, 10.0), outside, np.array([0]))[0]


def test_body_and_other_individual_hide_keypoints() -> None:
    one = simulate(make_walkers(np.random.default_rng(4), 1), np.zeros(1))
    points = np.moveaxis(one.keypoints()[0, :, :, 0], 0, -1)  # [K, 3]
    nose, spine = points[_index("nose")], points[_index("spine_mid")]
    forward = (nose - spine) / np.linalg.norm(nose - spine)
    # a camera in front of the nose at body height, looking down the body: the tail base is
    # behind the trunk, the nose in front of it
    front = _pinhole(spine + 600.0 * forward + np.array([0.0, 0.0, 5.0]), spine)
    parts = one.keypoint_parts()[:, 0]
    seen = keypoint_visibility(FieldOfView.of(front), one.frame(0), points, parts)
    assert seen[_index("nose")] and not seen[_index("tail_base")]
    # a second individual (a shifted copy) standing between that camera and the first
    shift = 250.0 * forward
    frame = one.frame(0)
    both = Ellipsoids(
        np.vstack([frame.centers, frame.centers + shift]),
        np.vstack([frame.axes, frame.axes]),
        np.vstack([frame.radii, frame.radii]),
        np.vstack([frame.colors, frame.colors]),
        SkinPattern(np.vstack([frame.pattern.freq] * 2), np.vstack([frame.pattern.phase] * 2)),
    )
    hidden = keypoint_visibility(FieldOfView.of(front), both, points, parts)
    assert not hidden[_index("nose")]
    assert hidden.sum() < seen.sum()


def test_visible_keypoints_show_the_subject_not_the_floor() -> None:
    rig, views = make_scene(seed=2, n_cameras=2, image_size=(640, 480))
    subjects = simulate(make_walkers(np.random.default_rng(6), 2), np.arange(6) / FPS)
    pixels, visible = subject_truth(rig, subjects)  # [T, V, 2, K, I], [T, V, K, I]
    assert 0.3 < visible.mean() < 1.0
    good, total = 0, 0
    for v, view in enumerate(views):
        floor = render(view, blur_sigma=0.0).image.astype(int)
        for t in range(len(subjects.times)):
            out = render(view, bodies=subjects.frame(t))
            image = out.image.astype(int)
            for k, i in zip(*np.nonzero(visible[t, v]), strict=True):
                x, y = np.rint(pixels[t, v, :, k, i]).astype(int)
                r, _, b = image[y, x]
                warm = r > b  # the subjects are brown, white and pink; the floor is blue-grey
                changed = np.abs(image[y, x] - floor[y, x]).max() > 20
                sub = out.ids[2 * y : 2 * y + 2, 2 * x : 2 * x + 2] // N_PARTS
                mine = (sub == i).any()
                good += int(warm and changed and mine)
                total += 1
    assert total > 100
    assert good / total > 0.97
