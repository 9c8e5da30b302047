"""The default 3D view: every camera in the picture, none in front of the subject, the subject
as large as that allows (pose3d.viewer.framing)."""

from __future__ import annotations

import numpy as np

from pose3d.viewer.framing import _picture, in_view, overview

VIEW_ANGLE, ASPECT = 30.0, 4 / 3


def _rig(radius: float, height: float, n: int = 4) -> list[np.ndarray]:
    """n cameras on a ring around the origin, each a pyramid (apex and 4 corners) pointing at
    the subject."""
    pyramids = []
    for angle in np.linspace(0, 2 * np.pi, n, endpoint=False) + 0.3:
        apex = np.array([radius * np.cos(angle), radius * np.sin(angle), height])
        axis = -apex / np.linalg.norm(apex)
        side = np.cross(axis, [0.0, 0.0, 1.0])
        side /= np.linalg.norm(side)
        top = np.cross(side, axis)
        base = apex + 0.2 * radius * axis
        corners = [base + 0.08 * radius * (a * side + b * top) for a, b in
                   ((-1, 1), (1, 1), (1, -1), (-1, -1))]  # fmt: skip
        pyramids.append(np.vstack([apex, corners]))
    return pyramids


def _box(size: float) -> np.ndarray:
    h = size / 2
    return np.array([[x, y, z] for x in (-h, h) for y in (-h, h) for z in (0.0, size / 2)])


def test_every_camera_is_in_the_picture_and_none_hides_the_subject() -> None:
    subject, pyramids = _box(0.1), _rig(1.0, 0.6)
    pose = overview(subject, pyramids, np.array([0.0, 0.0, 1.0]), VIEW_ANGLE, ASPECT)
    everything = np.concatenate([subject, *pyramids])
    assert in_view(pose, everything, VIEW_ANGLE, ASPECT).all()
    shown = _picture(pose, subject, ASPECT, VIEW_ANGLE)
    forward = (pose.focal_point - pose.position) / pose.distance
    for pyramid in pyramids:
        its = _picture(pose, pyramid, ASPECT, VIEW_ANGLE)
        apart = (its[:, 0].min() > shown[:, 0].max()) or (its[:, 0].max() < shown[:, 0].min())
        apart |= (its[:, 1].min() > shown[:, 1].max()) or (its[:, 1].max() < shown[:, 1].min())
        behind = (pyramid.mean(0) - pose.position) @ forward > (0.0 - pose.position) @ forward
        assert apart or behind
    # the rig spans 2 (a ring of radius 1), the subject 0.1: the subject spans a few percent of
    # the picture at the least; centred on the whole rig, from straight above, 0.1 / 2.4
    width = (shown[:, 0].max() - shown[:, 0].min()) / 2
    assert width > 0.1 / 2.4


def test_without_cameras_the_subject_fills_the_picture() -> None:
    subject = _box(0.1) + np.array([3.0, -2.0, 0.0])
    pose = overview(subject, [], np.array([0.0, 0.0, 1.0]), VIEW_ANGLE, ASPECT)
    assert in_view(pose, subject, VIEW_ANGLE, ASPECT).all()
    shown = _picture(pose, subject, ASPECT, VIEW_ANGLE)
    assert max(np.ptp(shown[:, 0]), np.ptp(shown[:, 1])) > 1.5  # of the picture's 2
