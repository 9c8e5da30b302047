"""Anipose: the pose-3d CSV of a poses3d dataset (export only).

Anipose writes one table per video set, ``<project>/<session>/pose-3d/<video>.csv``, one row per
frame: ``<kp>_x, <kp>_y, <kp>_z, <kp>_error, <kp>_ncams, <kp>_score`` per keypoint, then
``M_00 .. M_22`` and ``center_0 .. center_2`` (the alignment; here the identity) and ``fnum``.
``_ncams`` is empty where the point is missing or interpolated, as Anipose writes it. One
individual per file.

Formats (registered in pose3d.io.formats):

- ``anipose`` (a session): ``OUT/pose-3d/<session name>.csv`` from the poses, or one
  ``<session name>_<individual>.csv`` per individual when there are several (option
  ``individual`` chooses one); existing files are never replaced. The names come from
  session.toml and the poses, so each is made one safe file-name component
  (pose3d.io.safe_names.file_name: ``a/b`` -> ``a_b``; ``..`` refused) and every path is checked
  to stay in OUT (pose3d.io.formats.new_files).
- ``anipose-csv`` (poses alone): the table of one individual to the file OUT (option
  ``individual``, needed when the poses hold several).

The header is written by Python's csv module: a keypoint name holding a comma, a quote or a
line break is quoted, so the header has one cell per column and reads back with csv / pandas.
The rows are numbers only (``repr`` of each float, empty for NaN). The poses are read and
written a stretch of time at a time (pose3d.io.formats.ExportData.poses_by_part), so a long
recording's CSV is written in memory that does not grow with it.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.io.atomic import atomic_path
from pose3d.io.formats import ExportData, new_files
from pose3d.io.safe_names import file_name

POSE_3D_DIR = "pose-3d"


def one_individual(ds: xr.Dataset, individual: str | None) -> str:
    """``individual``, checked against ``ds``; None means the only one ``ds`` holds."""
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


def anipose_table(
    ds: xr.Dataset, individual: str | None = None, first_row: int = 0
) -> dict[str, np.ndarray]:
    """The columns of Anipose's pose-3d CSV for one individual, in order; ``fnum`` counts the
    rows from ``first_row`` (a part of a longer recording)."""
    one = ds.sel({s.INDIVIDUAL: one_individual(ds, individual)})
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
    columns["fnum"] = np.arange(first_row, first_row + n_time)
    return columns


def write_anipose_csv(
    ds: xr.Dataset | Iterable[xr.Dataset], path: Path, individual: str | None = None
) -> None:
    """Write Anipose's pose-3d CSV of one individual (see the module docstring), atomically;
    ``ds``: the poses, or consecutive stretches of time of them (a long recording, written a
    part at a time)."""
    parts = [ds] if isinstance(ds, xr.Dataset) else ds
    rows = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        for part in parts:
            columns = anipose_table(part, individual, first_row=rows)
            if rows == 0:
                f.write(_csv_record(columns))
            f.writelines(_number_records(columns))
            rows += part.sizes[s.TIME]
        if rows == 0:
            raise Pose3dError("no poses to write: the poses hold no frame")


def _number_records(columns: Mapping[str, np.ndarray]) -> Iterator[str]:
    """The CSV records of ``columns`` (numbers; the last, ``fnum``, integers): the shortest
    text that reads back as the same float (``repr``), empty for NaN; no cell needs quoting."""
    *values, fnum = columns.values()
    table = np.column_stack([np.asarray(v, dtype=np.float64) for v in values]).tolist()
    for row, number in zip(table, np.asarray(fnum).tolist(), strict=True):
        cells = ["" if v != v else repr(v) for v in row]  # v != v: NaN
        yield ",".join([*cells, str(number)]) + "\n"


def _csv_record(cells: Iterable[str]) -> str:
    """One CSV record ending in ``\\n``, cells quoted by the csv module where they hold a comma,
    a quote, a CR or a LF. (csv quotes a line break only when it is in ``lineterminator``, so
    the record is made with ``\\r\\n`` and ends with the file's ``\\n``.)"""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[: -len("\r\n")] + "\n"


def export_anipose(data: ExportData, out: Path, options: Mapping[str, str]) -> list[Path]:
    """Write ``out/pose-3d/<session>[_<individual>].csv`` from the poses (a part at a time:
    one pass over them per file, the first file's pass also giving the names)."""
    session = data.session
    assert session is not None  # the format needs it: formats.export
    parts = iter(data.poses_by_part())
    poses = next(parts)  # the names
    chosen = options.get("individual")
    if chosen is not None:
        individuals = [one_individual(poses, chosen)]
    else:
        individuals = [str(i) for i in poses[s.INDIVIDUAL].values]
    folder = out / POSE_3D_DIR
    stem = file_name(session.name, "session name")
    if len(individuals) == 1 and chosen is None:
        paths = [folder / f"{stem}.csv"]
    else:
        paths = [
            folder / f"{stem}_{file_name(name, 'individual name')}.csv" for name in individuals
        ]
    new_files(out, paths)
    folder.mkdir(parents=True, exist_ok=True)
    for j, (path, name) in enumerate(zip(paths, individuals, strict=True)):
        first_pass = itertools.chain([poses], parts)  # the pass the names came from
        write_anipose_csv(first_pass if j == 0 else data.poses_by_part(), path, name)
    return paths


def export_anipose_csv(data: ExportData, out: Path, options: Mapping[str, str]) -> list[Path]:
    """Write the pose-3d CSV of the poses (one individual) to the file ``out``, a part at a
    time."""
    write_anipose_csv(data.poses_by_part(), out, options.get("individual"))
    return [out]
