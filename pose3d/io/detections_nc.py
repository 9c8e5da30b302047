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
from pose3d.io.atomic import atomic_path
from pose3d.io.board_toml import board_from_dict, board_to_dict
from pose3d.io.netcdf import ENGINE

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
    with atomic_path(path) as tmp:
        detections_dataset(detections).to_netcdf(tmp, engine=ENGINE)


def load_detections(path: str | os.PathLike[str]) -> BoardDetections:
    try:
        with xr.open_dataset(path, engine=ENGINE) as opened:
            ds = opened.load()
    except (OSError, ValueError) as exc:
        raise SchemaError(f"detections file {path} cannot be read ({exc})") from None
    if ds.attrs.get(s.ATTR_KIND) != s.KIND_DETECTIONS or s.CORNERS not in ds:
        raise SchemaError(f"{path} is not a pose3d detections file")
    board_table = {
        k[len(BOARD_PREFIX) :]: v for k, v in ds.attrs.items() if k.startswith(BOARD_PREFIX)
    }
    if "legacy" in board_table:
        board_table["legacy"] = bool(board_table["legacy"])
    for key in ("squares_x", "squares_y"):
        board_table[key] = int(board_table[key])
    board = board_from_dict(board_table, where=f"board of {path}")
    corners = ds[s.CORNERS].transpose(s.VIEW, s.FRAME, s.CORNER, s.SPACE).values
    sizes = tuple((int(w), int(h)) for w, h in ds[s.IMAGE_SIZE].values)
    return BoardDetections(
        tuple(str(v) for v in ds[s.VIEW].values),
        sizes,
        ds[s.FRAME].values.astype(np.int64),
        corners.astype(np.float64),
        board,
    )
