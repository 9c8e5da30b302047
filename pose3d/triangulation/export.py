"""Exports of a poses3d dataset to files named by the caller (``pose3d export-3d``,
``pose3d triangulate --export``); ``pose3d export SESSION --format ...`` exports a whole
session instead (pose3d.io.label_formats).

- ``.csv``: Anipose's pose-3d table (pose3d.io.anipose), one individual per file.
- ``.h5``: DeepLabCut's 3D table, a pandas DataFrame under the key ``df_with_missing`` whose
  columns are ``(scorer, bodyparts, coords)`` with coords ``x, y, z`` — or ``(scorer,
  individuals, bodyparts, coords)`` when there are several individuals, as in multi-animal
  DeepLabCut. Needs pandas and PyTables.

Formats are chosen by the file's suffix through :data:`EXPORTERS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.io.anipose import anipose_table, one_individual, write_anipose_csv
from pose3d.io.atomic import atomic_path

SCORER = "pose3d"
DLC_KEY = "df_with_missing"

Exporter = Callable[[xr.Dataset, Path, "str | None"], None]

__all__ = [
    "EXPORTERS",
    "anipose_table",
    "dlc_frame",
    "export_poses",
    "write_anipose_csv",
    "write_dlc_h5",
]


def dlc_frame(ds: xr.Dataset) -> object:
    """DeepLabCut's 3D DataFrame of ``ds`` (pandas imported here)."""
    import pandas as pd

    position = ds[s.POSITION].transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT, s.SPACE).values
    n_time, n_ind = position.shape[:2]
    keypoints = [str(k) for k in ds[s.KEYPOINT].values]
    individuals = [str(i) for i in ds[s.INDIVIDUAL].values]
    if n_ind == 1:
        columns = pd.MultiIndex.from_product(
            [[SCORER], keypoints, list(s.SPACE_3D)], names=["scorer", "bodyparts", "coords"]
        )
    else:
        columns = pd.MultiIndex.from_product(
            [[SCORER], individuals, keypoints, list(s.SPACE_3D)],
            names=["scorer", "individuals", "bodyparts", "coords"],
        )
    return pd.DataFrame(position.reshape(n_time, -1), columns=columns, index=np.arange(n_time))


def write_dlc_h5(ds: xr.Dataset, path: Path, individual: str | None = None) -> None:
    """Write DeepLabCut's 3D h5 (all individuals; ``individual`` selects one)."""
    if individual is not None:
        ds = ds.sel({s.INDIVIDUAL: [one_individual(ds, individual)]})
    try:
        import tables  # noqa: F401  (pandas needs PyTables for HDF5)
    except ImportError:
        raise Pose3dError(
            "writing DeepLabCut .h5 needs PyTables; install it with `pip install tables`"
        ) from None
    frame = dlc_frame(ds)
    with atomic_path(path) as tmp:
        frame.to_hdf(tmp, key=DLC_KEY, mode="w", format="table")  # type: ignore[attr-defined]


EXPORTERS: dict[str, Exporter] = {".csv": write_anipose_csv, ".h5": write_dlc_h5}


def export_poses(
    ds: xr.Dataset, path: str | os.PathLike[str], individual: str | None = None
) -> Path:
    """Write ``ds`` in the format its suffix names (see :data:`EXPORTERS`); returns the path."""
    path = Path(path)
    exporter = EXPORTERS.get(path.suffix.lower())
    if exporter is None:
        raise Pose3dError(
            f"cannot export to {path}: unknown suffix {path.suffix!r}; use one of "
            f"{', '.join(sorted(EXPORTERS))} (Anipose CSV, DeepLabCut h5)"
        )
    exporter(ds, path, individual)
    return path
