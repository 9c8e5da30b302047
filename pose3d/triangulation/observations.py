"""From a labels ``position`` DataArray to the flat arrays the triangulation kernels use.

``position [time, view, space(x, y), keypoint, individual]`` (distorted px) and ``confidence
[time, view, keypoint, individual]`` become ``pixels [V, N, 2]`` and ``weights [V, N]`` with
``N = time * keypoint * individual`` points in that (C) order. A label's weight is its
confidence; a NaN confidence with a finite position weighs 1; a NaN position weighs 0.

Views are matched to cameras by name, never by order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import CalibrationError, Pose3dError, SchemaError
from pose3d.triangulation.blocks import finite_rows

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Observations:
    """The 2D points of the chosen views, flattened, with the cameras that saw them."""

    cameras: CameraGroup  # in view order
    pixels: FloatArray  # [V, N, 2] distorted px, NaN = not seen
    weights: FloatArray  # [V, N] >= 0, 0 = not seen
    time: NDArray[np.generic]  # [T] the labels' time coordinate
    keypoints: tuple[str, ...]
    individuals: tuple[str, ...]

    @property
    def views(self) -> tuple[str, ...]:
        return self.cameras.names

    @property
    def shape(self) -> tuple[int, int, int]:
        """(time, keypoint, individual)."""
        return len(self.time), len(self.keypoints), len(self.individuals)


def _require_dims(array: xr.DataArray, dims: tuple[str, ...], what: str) -> xr.DataArray:
    missing = [d for d in dims if d not in array.dims]
    extra = [d for d in array.dims if d not in dims]
    if missing or extra:
        raise SchemaError(
            f"{what} must have dims {dims}, got {array.dims}; is it the position of a labels "
            "dataset (labels.nc)?"
        )
    return array.transpose(*dims)


def select_views(available: Sequence[str], views: Sequence[str] | None) -> tuple[str, ...]:
    """The views to use: ``views`` (checked against ``available``) or all of ``available``."""
    chosen = tuple(available) if views is None else tuple(views)
    missing = [v for v in chosen if v not in available]
    if missing:
        raise Pose3dError(
            f"view(s) {', '.join(missing)} not in the labels, which have "
            f"{', '.join(available)}; check --views"
        )
    if len(set(chosen)) != len(chosen):
        raise Pose3dError(f"views must not repeat, got {', '.join(chosen)}")
    if len(chosen) < 2:
        raise Pose3dError(
            f"triangulation needs at least 2 views, got {len(chosen)} ({', '.join(chosen)})"
        )
    return chosen


def match_cameras(cameras: CameraGroup, views: Sequence[str]) -> CameraGroup:
    """The cameras named like ``views``, in that order; a clear error names missing cameras."""
    try:
        return cameras.subset(views)
    except CalibrationError as exc:
        raise CalibrationError(
            f"the labels have views the calibration lacks: {exc}; pass --views with the "
            "cameras to use"
        ) from None


def observations(
    position: xr.DataArray,
    cameras: CameraGroup,
    confidence: xr.DataArray | None = None,
    views: Sequence[str] | None = None,
) -> Observations:
    """Flatten ``position`` (and ``confidence``) of the chosen ``views`` for the kernels."""
    position = _require_dims(position, s.LABEL_DIMS[s.POSITION], "position")
    space = [str(v) for v in position[s.SPACE].values]
    if space != list(s.SPACE_2D):
        raise SchemaError(f"position must have space = {list(s.SPACE_2D)}, got {space}")
    chosen = select_views([str(v) for v in position[s.VIEW].values], views)
    group = match_cameras(cameras, chosen)
    pos = position.sel({s.VIEW: list(chosen)}).values.astype(np.float64)  # [T, V, 2, K, I]
    n_views = pos.shape[1]
    pixels = pos.transpose(1, 0, 3, 4, 2).reshape(n_views, -1, 2)  # [V, T*K*I, 2]
    if confidence is None:
        conf = np.ones((n_views, pixels.shape[1]))
    else:
        conf_da = _require_dims(confidence, s.LABEL_DIMS[s.CONFIDENCE], "confidence")
        values = conf_da.sel({s.VIEW: list(chosen)}).values.astype(np.float64)  # [T, V, K, I]
        conf = values.transpose(1, 0, 2, 3).reshape(n_views, -1)
    seen: NDArray[np.bool_] = finite_rows(pixels)
    weights = np.where(seen, np.where(np.isnan(conf), 1.0, np.clip(conf, 0.0, None)), 0.0)
    pixels = np.where(seen[..., None], pixels, np.nan)
    return Observations(
        cameras=group,
        pixels=pixels,
        weights=weights,
        time=position[s.TIME].values,
        keypoints=tuple(str(k) for k in position[s.KEYPOINT].values),
        individuals=tuple(str(i) for i in position[s.INDIVIDUAL].values),
    )


def resolve_unit(calibration_unit: str | None, expected: str | None) -> str | None:
    """The unit of the 3D points: the calibration's; ``expected`` must agree with it, and
    stands in for it when the calibration does not say (e.g. a file written by Anipose)."""
    if expected is not None and calibration_unit is not None and expected != calibration_unit:
        raise CalibrationError(
            f"the calibration is in {calibration_unit!r} but {expected!r} was expected; "
            f"recalibrate with the board in {expected}, or drop the unit option to get "
            f"points in {calibration_unit}"
        )
    return calibration_unit if calibration_unit is not None else expected
