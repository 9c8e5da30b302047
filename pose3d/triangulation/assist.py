"""Multi-view aids for a person placing a keypoint in one view (the TUI's label screen).

- ``epipolar_curve``: where a point seen at a pixel of one camera can appear in another. With
  lens distortion the epipolar "line" is a curve, so it is drawn as a polyline: the viewing ray
  of the pixel, sampled uniformly in inverse depth (which spaces the samples evenly along the
  line in the image), projected into the other camera; samples behind it or outside its image
  are dropped.
- ``suggest``: the keypoint triangulated from the other views that have it, projected into
  this view; with 3 or more other views, RANSAC keeps one wrong view from moving it.
- ``view_aids``: both for one keypoint of one frame of a labels dataset.

Pixels are distorted image pixels (the centre of the top-left pixel is (0, 0)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from pose3d import schema as s
from pose3d.cameras import Camera, CameraGroup
from pose3d.errors import Pose3dError
from pose3d.triangulation.points import triangulate_points
from pose3d.triangulation.ransac import RansacOptions

FloatArray = NDArray[np.float64]
SAMPLES = 96


@dataclass(frozen=True)
class ViewAids:
    """The aids for one keypoint in one view: a curve per other view that has the keypoint,
    and the suggested position (None with fewer than 2 other views)."""

    view: str
    curves: dict[str, FloatArray]  # other view -> polyline [M, 2] px in this view
    suggestion: tuple[float, float] | None
    used: tuple[str, ...]  # the views the suggestion was triangulated from


def epipolar_curve(
    source: Camera, pixel: ArrayLike, target: Camera, samples: int = SAMPLES
) -> FloatArray:
    """The epipolar curve [M <= samples, 2] (px of ``target``) of ``pixel`` (px of
    ``source``): the samples of its viewing ray that ``target`` sees inside its image, in order
    of depth; empty [0, 2] when it sees none.

    The ray is scanned from 2 % of the baseline to 1000 baselines, finely in inverse depth, to
    find the stretch the target sees; ``samples`` points are then spread over that stretch.
    """
    if samples < 2:
        raise Pose3dError(f"an epipolar curve needs >= 2 samples, got {samples}")
    ray = source.rays(np.asarray(pixel, np.float64).reshape(2))
    baseline = float(np.linalg.norm(target.center - source.center))
    if baseline == 0 or not np.isfinite(ray).all():
        return np.zeros((0, 2))
    scan = np.linspace(1.0 / (0.02 * baseline), 1.0 / (1000.0 * baseline), 32 * samples)
    seen = np.flatnonzero(
        _inside(target, target.project(source.center + (1.0 / scan)[:, None] * ray))
    )
    if not seen.size:
        return np.zeros((0, 2))
    first, last = max(seen[0] - 1, 0), min(seen[-1] + 1, len(scan) - 1)
    inverse = np.linspace(scan[first], scan[last], samples)
    pixels = target.project(source.center + (1.0 / inverse)[:, None] * ray)
    return pixels[_inside(target, pixels)]


def _inside(camera: Camera, pixels: FloatArray) -> NDArray[np.bool_]:
    """Which of ``pixels`` [N, 2] (NaN: not seen) lie in ``camera``'s image."""
    width, height = camera.size
    ok = np.isfinite(pixels).all(axis=1)
    with np.errstate(invalid="ignore"):
        ok &= (pixels[:, 0] >= -0.5) & (pixels[:, 0] <= width - 0.5)
        ok &= (pixels[:, 1] >= -0.5) & (pixels[:, 1] <= height - 0.5)
    return np.asarray(ok)


def suggest(
    pixels: Mapping[str, ArrayLike],
    cameras: CameraGroup,
    view: str,
    threshold: float = 10.0,
) -> tuple[tuple[float, float] | None, tuple[str, ...]]:
    """The position in ``view`` of the point seen at ``pixels`` (view -> (x, y)) in the other
    views: triangulated (RANSAC among them, ``threshold`` px) and projected. Returns
    (suggestion or None, the views used)."""
    others = [name for name in cameras.names if name != view and name in pixels]
    if view not in cameras.names:
        raise Pose3dError(f"view {view!r} is not in the calibration ({', '.join(cameras.names)})")
    found = [name for name in others if np.isfinite(np.asarray(pixels[name], float)).all()]
    if len(found) < 2:
        return None, ()
    group = cameras.subset(found)
    stacked = np.stack([np.asarray(pixels[name], np.float64).reshape(1, 2) for name in found])
    point, used = triangulate_points(
        stacked, group, method="ransac", ransac_options=RansacOptions(threshold=threshold)
    )
    projected = cameras[view].project(point[0])
    if not np.isfinite(projected).all():
        return None, ()
    names = tuple(name for name, flag in zip(found, used[:, 0], strict=True) if flag)
    return (float(projected[0]), float(projected[1])), names


def view_aids(
    labels: xr.Dataset,
    cameras: CameraGroup,
    frame: int,
    view: str,
    keypoint: str,
    individual: str,
    samples: int = SAMPLES,
) -> ViewAids:
    """Epipolar curves and the suggestion for ``keypoint`` of ``individual`` in ``view`` at
    session ``frame`` (labels' time), from the other calibrated views that hold the point (any
    source)."""
    if view not in cameras.names:
        raise Pose3dError(f"view {view!r} is not in the calibration ({', '.join(cameras.names)})")
    cell = labels[s.POSITION].sel({s.TIME: frame, s.KEYPOINT: keypoint, s.INDIVIDUAL: individual})
    pixels: dict[str, FloatArray] = {}
    for name in cell[s.VIEW].values:
        name = str(name)
        xy = np.asarray(cell.sel({s.VIEW: name}).values, np.float64)
        if name != view and name in cameras.names and np.isfinite(xy).all():
            pixels[name] = xy
    curves = {
        name: epipolar_curve(cameras[name], xy, cameras[view], samples)
        for name, xy in pixels.items()
    }
    suggestion, used = suggest(pixels, cameras, view)
    return ViewAids(view, curves, suggestion, used)
