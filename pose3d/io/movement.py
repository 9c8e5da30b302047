"""movement (neuroinformatics-unit): pose3d's netCDF files, which are already movement's poses
layout (docs/formats.md), validated and written to another folder (export only).

``pose3d export SESSION --format movement OUT`` writes ``OUT/labels.nc`` (2D, with the ``view``
dim: movement's 2D functions want one view, ``ds.sel(view="cam0")``) and ``OUT/poses3d.nc``
(3D), whichever of the two datasets it is given. Both open with ``xarray.open_dataset`` in
movement. labels.nc keeps its ``hidden`` variable; in movement's own terms a hidden keypoint is
a NaN position with confidence 0 (not labelled: NaN position, NaN confidence). Neither
replaces a file, nor writes through a symbolic link at its name
(pose3d.io.formats.new_files).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pose3d.io.formats import ExportData, new_files
from pose3d.session import SessionPaths

if TYPE_CHECKING:
    import xarray as xr


def export_movement(data: ExportData, out: Path, options: Mapping[str, str]) -> list[Path]:
    """Write ``data.labels`` and ``data.poses`` (those given) into ``out`` as a session folder
    names them (labels.nc, poses3d.nc)."""
    from pose3d.io.netcdf import save_labels, save_poses

    target = SessionPaths(out)
    writes: list[tuple[Path, xr.Dataset, Callable[[Path, xr.Dataset], None]]] = []
    if data.labels is not None:
        writes.append((target.labels, data.labels, save_labels))
    if data.poses is not None:
        writes.append((target.poses, data.poses, save_poses))
    new_files(out, (path for path, _, _ in writes))
    out.mkdir(parents=True, exist_ok=True)
    for path, ds, save in writes:
        save(path, ds)
    return [path for path, _, _ in writes]
