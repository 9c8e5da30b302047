"""Exports of a poses3d dataset for the tools labs already use.

- ``.csv``: Anipose's pose-3d table, one row per frame: ``<kp>_x, <kp>_y, <kp>_z, <kp>_error,
  <kp>_ncams, <kp>_score`` per keypoint, then ``M_00 .. M_22`` and ``center_0 .. center_2``
  (the identity alignment) and ``fnum``. ``_ncams`` is empty where the point is missing or
  interpolated, as Anipose writes it. One individual per file.
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
from pose3d.io.atomic import atomic_path

SCORER = "pose3d"
DLC_KEY = "df_with_missing"

Exporter = Callable[[xr.Dataset, Path, "str | None"], None]


def _individual(ds: xr.Dataset, individual: str | None) -> str:
    names = [str(i) for i in ds[s.INDIVIDUAL].values]
    if individual is None:
        if len(names) > 1:
            raise Pose3dError(
                f"the poses hold {len(names)} individuals ({', '.join(names)}) and an Anipose "
                "CSV holds one; choose it with --individual"
            )
        return names[0]
    if individual not in names:
        raise Pose3dError(f"no individual {individual!r}; the poses hold {', '.join(names)}")
    return individual


def anipose_table(ds: xr.Dataset, individual: str | None = None) -> dict[str, np.ndarray]:
    """The columns of Anipose's pose-3d CSV for one individual, in order."""
    one = ds.sel({s.INDIVIDUAL: _individual(ds, individual)})
    position = one[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.SPACE).values  # [T, K, 3]
    error = one[s.REPROJECTION_ERROR].transpose(s.TIME, s.KEYPOINT).values
    n_views = one[s.N_VIEWS].transpose(s.TIME, s.KEYPOINT).values.astype(np.float64)
    score = one[s.CONFIDENCE].transpose(s.TIME, s.KEYPOINT).values
    columns: dict[str, np.ndarray] = {}
    for k, name in enumerate(str(v) for v in one[s.KEYPOINT].values):
        for c, axis in enumerate(s.SPACE_3D):
            columns[f"{name}_{axis}"] = position[:, k, c]
        columns[f"{name}_error"] = error[:, k]
        columns[f"{name}_ncams"] = np.where(n_views[:, k] >= 2, n_views[:, k], np.nan)
        columns[f"{name}_score"] = score[:, k]
    n_time = position.shape[0]
    for i in range(3):
        for j in range(3):
            columns[f"M_{i}{j}"] = np.full(n_time, float(i == j))
    for i in range(3):
        columns[f"center_{i}"] = np.zeros(n_time)
    columns["fnum"] = np.arange(n_time)
    return columns


def write_anipose_csv(ds: xr.Dataset, path: Path, individual: str | None = None) -> None:
    """Write Anipose's pose-3d CSV (see the module docstring)."""
    columns = anipose_table(ds, individual)
    header = ",".join(columns)
    table = np.column_stack([np.asarray(v, dtype=np.float64) for v in columns.values()])
    fnum = len(columns) - 1
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(header + "\n")
        for row in table:
            cells = ["" if np.isnan(v) else repr(float(v)) for v in row[:fnum]]
            f.write(",".join([*cells, str(int(row[fnum]))]) + "\n")


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
        ds = ds.sel({s.INDIVIDUAL: [_individual(ds, individual)]})
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
