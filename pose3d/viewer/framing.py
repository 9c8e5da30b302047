"""Where the 3D view looks from by default: the subject large and every camera in the picture
(pure).

The view comes from above at an angle, from the side that lets it come closest to the subject
(every frame's keypoints) while every camera's pyramid and the subject stay inside the picture:
of a few directions (every 45° of azimuth, at 25°, 40° and 55° of elevation over the floor),
the one whose view can stand nearest the subject, so the subject is as large as the cameras
allow. Along a direction the view may also move sideways, so the points fill the picture
instead of sitting around its centre; a margin keeps them off its edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

AZIMUTHS = np.radians(np.arange(0.0, 360.0, 45.0))
ELEVATIONS = np.radians([25.0, 40.0, 55.0])
MARGIN = 1.08  # the points' extent grows by this much, so nothing touches the picture's edge


@dataclass(frozen=True)
class ViewPose:
    position: FloatArray  # [3] where the view is from
    focal_point: FloatArray  # [3] where it looks at
    up: FloatArray  # [3] the picture's up
    distance: float


def overview(
    subject: FloatArray,  # [N, 3] points of the subject (e.g. its bounding box's corners)
    cameras: Sequence[FloatArray],  # each camera's pyramid [P, 3], to be in the picture too
    up: FloatArray,  # [3] the world's up
    view_angle: float = 30.0,  # vertical, degrees (VTK's default)
    aspect: float = 4 / 3,  # picture width / height
) -> ViewPose:
    """The default view of ``subject`` with every camera in the picture (module docstring)."""
    subject = np.asarray(subject, np.float64).reshape(-1, 3)
    pyramids = [np.asarray(c, np.float64).reshape(-1, 3) for c in cameras]
    points = np.concatenate([subject, *pyramids])
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    middle = (subject.min(axis=0) + subject.max(axis=0)) / 2
    tan_v = np.tan(np.radians(view_angle) / 2)
    u = _perpendicular(up)
    v = np.cross(up, u)
    poses = []
    for elevation in ELEVATIONS:
        for azimuth in AZIMUTHS:
            towards = np.cos(elevation) * (np.cos(azimuth) * u + np.sin(azimuth) * v)
            forward = -(towards + np.sin(elevation) * up)  # from the view towards the subject
            fit = _fit(points - middle, forward, up, tan_v * aspect, tan_v)
            poses.append(
                ViewPose(fit.position + middle, fit.focal_point + middle, fit.up, fit.distance)
            )
    clear = [
        p for p in poses if not any(_in_front(p, subject, c, aspect, view_angle) for c in pyramids)
    ]
    return min(clear or poses, key=lambda p: p.distance)


def _in_front(
    pose: ViewPose, subject: FloatArray, pyramid: FloatArray, aspect: float, view_angle: float
) -> bool:
    """Whether a camera's pyramid stands between the view and the subject: nearer than the
    subject's middle, and over it in the picture."""
    mine, its = (
        _picture(pose, subject, aspect, view_angle),
        _picture(pose, pyramid, aspect, view_angle),
    )
    forward, _, _ = _axes(pose.focal_point - pose.position, pose.up)
    nearer = float((pyramid.mean(axis=0) - pose.position) @ forward) < float(
        (subject.mean(axis=0) - pose.position) @ forward
    )
    overlap = (its[:, 0].min() < mine[:, 0].max()) and (mine[:, 0].min() < its[:, 0].max())
    overlap &= (its[:, 1].min() < mine[:, 1].max()) and (mine[:, 1].min() < its[:, 1].max())
    return bool(nearer and overlap)


def _picture(pose: ViewPose, points: FloatArray, aspect: float, view_angle: float) -> FloatArray:
    """Points [N, 3] in the picture of ``pose``: [N, 2], -1..1 across and up the picture."""
    forward, right, top = _axes(pose.focal_point - pose.position, pose.up)
    relative = points - pose.position
    depth = np.maximum(relative @ forward, 1e-12)
    tan_v = np.tan(np.radians(view_angle) / 2)
    return np.column_stack(
        [(relative @ right) / (depth * tan_v * aspect), (relative @ top) / (depth * tan_v)]
    )


def _fit(
    relative: FloatArray, forward: FloatArray, up: FloatArray, tan_h: float, tan_v: float
) -> ViewPose:
    """The view along ``forward`` that holds every point (relative to the subject's middle, at
    the origin) inside its cone with MARGIN, from as close as it can: the view may move
    sideways, so the points fill the picture rather than sit around its centre. ``distance``:
    from the view to the subject's middle along ``forward``."""
    forward, right, top = _axes(forward, up)
    x, y, z = relative @ right, relative @ top, relative @ forward
    scale = max(float(np.abs(relative).max()), 1e-9)
    # the view at (cx, cy, cz): each point needs |x - cx| <= tan_h (z - cz) (and y alike), so
    # cz <= z - |x - cx| / tan_h; the best cx and cy are those that let cz be largest
    cx, depth_x = _best_offset(x, z, tan_h / MARGIN)
    cy, depth_y = _best_offset(y, z, tan_v / MARGIN)
    cz = min(depth_x, depth_y, float(z.min()) - 1e-3 * scale)
    position = cx * right + cy * top + cz * forward
    distance = -cz  # to the subject's middle (z = 0) along forward
    focal = position + distance * forward
    return ViewPose(position, focal, top, distance)


def _best_offset(across: FloatArray, depth: FloatArray, tan: float) -> tuple[float, float]:
    """The sideways offset c that maximises min_i (depth_i - |across_i - c| / tan), and that
    maximum (a concave, piecewise linear function of c: its peak is where the two sides
    meet)."""
    # left side: depth_i - (c - across_i) / tan for points left of c; the peak of the minimum
    # of the lines of slope -1/tan (a + b c) and +1/tan is where the lowest of each meet
    a = depth + across / tan  # lines decreasing in c: a - c / tan
    b = depth - across / tan  # lines increasing in c: b + c / tan
    low_a, low_b = float(a.min()), float(b.min())
    c = (low_a - low_b) * tan / 2
    return c, low_a - c / tan


def _axes(forward: FloatArray, up: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A view's unit axes: ``forward`` (normalised), right, and the picture's up (``top``,
    perpendicular to both, towards ``up``)."""
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    return forward, right, np.cross(right, forward)


def _perpendicular(up: FloatArray) -> FloatArray:
    """A unit vector perpendicular to ``up`` (the world's x where it can be)."""
    axis = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = axis - (axis @ up) * up
    return u / np.linalg.norm(u)


def in_view(
    pose: ViewPose, points: FloatArray, view_angle: float, aspect: float
) -> NDArray[np.bool_]:
    """Whether each point [N, 3] lies inside the picture of ``pose`` (for tests and checks)."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    forward, _, _ = _axes(pose.focal_point - pose.position, pose.up)
    ahead = (points - pose.position) @ forward > 0
    xy = _picture(pose, points, aspect, view_angle)
    return np.asarray(ahead & (np.abs(xy) <= 1 + 1e-9).all(axis=1))
