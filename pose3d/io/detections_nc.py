"""calibration/detections.nc: the board corners found in every camera's calibration media.

``corners [view, frame, corner, space(x, y)]`` px (NaN = not found), ``image_size [view,
size(width, height)]``; coordinates ``frame`` = media frame numbers, ``corner`` = board corner
ids; the board spec is stored as attributes (pose3d's board.toml keys, prefixed ``board_``).
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.board import BoardDetections
from pose3d.errors import SchemaError
from pose3d.io.board_toml import board_from_dict, board_to_dict
from pose3d.io.netcdf_file import read_netcdf, write_netcdf
from pose3d.schema import MAX_LABEL_PX

BOARD_PREFIX = "board_"


def detections_dataset(detections: BoardDetections) -> xr.Dataset:
    board = {
        f"{BOARD_PREFIX}{k}": (int(v) if isinstance(v, bool) else v)
        for k, v in board_to_dict(detections.board).items()
    }
    return xr.Dataset(
        {
            s.CORNERS: (
                (s.VIEW, s.FRAME, s.CORNER, s.SPACE),
                detections.corners,
                {s.ATTR_UNIT: "px"},
            ),
            s.IMAGE_SIZE: ((s.VIEW, s.SIZE), np.asarray(detections.sizes, dtype=np.int64)),
        },
        coords={
            s.VIEW: list(detections.views),
            s.FRAME: detections.frames,
            s.CORNER: np.arange(detections.corners.shape[2]),
            s.SPACE: list(s.SPACE_2D),
            s.SIZE: ["width", "height"],
        },
        attrs={
            s.ATTR_KIND: s.KIND_DETECTIONS,
            s.ATTR_SCHEMA_VERSION: s.SCHEMA_VERSION,
            s.ATTR_SOURCE_SOFTWARE: s.SOURCE_SOFTWARE,
            **board,
        },
    )


def save_detections(path: str | os.PathLike[str], detections: BoardDetections) -> None:
    """Write ``detections`` to ``path`` atomically, with checksums (pose3d.io.netcdf_file)."""
    write_netcdf(path, detections_dataset(detections))


def load_detections(path: str | os.PathLike[str]) -> BoardDetections:
    """Read a detections.nc file; every way it can be unusable is one SchemaError naming it."""
    ds = read_netcdf(path, "detections file")
    kind = ds.attrs.get(s.ATTR_KIND)
    if not (isinstance(kind, str) and kind == s.KIND_DETECTIONS) or s.CORNERS not in ds:
        raise SchemaError(f"{path} is not a pose3d detections file")
    try:
        corners = ds[s.CORNERS].transpose(s.VIEW, s.FRAME, s.CORNER, s.SPACE)
        sizes_array = ds[s.IMAGE_SIZE].transpose(s.VIEW, s.SIZE)
    except (KeyError, ValueError) as exc:
        raise SchemaError(
            f"detections file {path}: {s.CORNERS} must have dims (view, frame, corner, space) "
            f"and {s.IMAGE_SIZE} dims (view, size) ({exc})"
        ) from None
    _check_arrays(path, corners.values, sizes_array.values, ds[s.FRAME].values)
    board = board_from_dict(_board_table(path, ds.attrs), where=f"board of {path}")
    return BoardDetections(
        tuple(str(v) for v in ds[s.VIEW].values),
        tuple((int(w), int(h)) for w, h in sizes_array.values),
        ds[s.FRAME].values.astype(np.int64),
        corners.values.astype(np.float64),
        board,
    )


def _check_arrays(
    path: str | os.PathLike[str], corners: np.ndarray, sizes: np.ndarray, frames: np.ndarray
) -> None:
    def fail(problem: str) -> SchemaError:
        return SchemaError(f"detections file {path}: {problem}")

    if corners.dtype.kind != "f" or corners.shape[-1:] != (2,):
        raise fail(f"{s.CORNERS} must be float (x, y) px, got {corners.dtype} {corners.shape}")
    if np.isinf(corners).any() or np.any(np.abs(corners) > MAX_LABEL_PX):
        raise fail(
            f"{s.CORNERS} holds inf or values beyond ±{MAX_LABEL_PX:.0e} px; the file is "
            "damaged: detect the board again (pose3d calibrate)"
        )
    if sizes.dtype.kind not in "iu" or sizes.shape[-1:] != (2,) or np.any(sizes < 1):
        raise fail(f"{s.IMAGE_SIZE} must be positive whole (width, height) pixels per view")
    if frames.dtype.kind not in "iu":
        raise fail(f"coordinate {s.FRAME} must hold frame numbers, got {frames.dtype}")


def _board_table(path: str | os.PathLike[str], attrs: dict[str, object]) -> dict[str, object]:
    """The board.toml table stored in the attributes, as Python values (numbers, strings)."""
    table: dict[str, object] = {}
    for key, value in attrs.items():
        if not key.startswith(BOARD_PREFIX):
            continue
        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        table[key[len(BOARD_PREFIX) :]] = value
    if "legacy" in table:
        if table["legacy"] not in (0, 1):  # True and False are 1 and 0
            raise SchemaError(
                f"detections file {path}: attribute {BOARD_PREFIX}legacy must be 0 or 1, got "
                f"{table['legacy']!r}"
            )
        table["legacy"] = bool(table["legacy"])
    return table
