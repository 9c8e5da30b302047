"""labels.nc and poses3d.nc: validated on write AND on read, written atomically.

A file that fails validation raises one SchemaError that names the file, says what was
expected and what was found; nothing is written when a dataset fails on write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import SchemaError
from pose3d.io.atomic import atomic_path
from pose3d.io.label_journal import apply_journal, journal_path

ENGINE: Final = "h5netcdf"


def _fail(where: str, problem: str) -> SchemaError:
    return SchemaError(f"{where}: {problem}")


def _check_common(ds: xr.Dataset, kind: str, dims: dict[str, tuple[str, ...]], where: str) -> None:
    found_kind = ds.attrs.get(s.ATTR_KIND)
    if found_kind is not None and found_kind != kind:
        raise _fail(where, f"this is a {found_kind} file, expected {kind}")
    version = ds.attrs.get(s.ATTR_SCHEMA_VERSION)
    if version is None:
        raise _fail(where, f"no {s.ATTR_SCHEMA_VERSION} attribute; not a file written by pose3d")
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise _fail(
            where, f"{s.ATTR_SCHEMA_VERSION} must be a whole number, got {version!r}"
        ) from None
    if version != s.SCHEMA_VERSION:
        advice = (
            "upgrade pose3d to read it"
            if version > s.SCHEMA_VERSION
            else "convert it with the pose3d release that wrote it"
        )
        raise _fail(
            where,
            f"schema version {version}, this pose3d reads version {s.SCHEMA_VERSION}; {advice}",
        )
    for name, expected in dims.items():
        if name not in ds.data_vars:
            raise _fail(where, f"variable {name!r} is missing (expected dims {expected})")
        if ds[name].dims != expected:
            raise _fail(where, f"variable {name!r} has dims {ds[name].dims}, expected {expected}")
    for dim in {d for expected in dims.values() for d in expected}:
        if dim not in ds.coords:
            raise _fail(where, f"coordinate {dim!r} is missing")
        values = ds[dim].values
        if dim != s.TIME and len(set(values.tolist())) != len(values):
            raise _fail(where, f"coordinate {dim!r} has repeated values: {values.tolist()}")
    if ds.sizes.get(s.TIME, 0) < 1:
        raise _fail(where, "no frames (time has length 0)")
    time = ds[s.TIME].values
    if time.size > 1 and not np.all(np.diff(time) > 0):
        raise _fail(where, "time coordinate must increase strictly")
    fps = ds.attrs.get(s.ATTR_FPS)
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise _fail(where, f"attribute fps must be a positive number or absent, got {fps}")
    position = ds[s.POSITION]
    if not np.issubdtype(position.dtype, np.floating):
        raise _fail(where, f"position must be float, got {position.dtype}")
    if np.isinf(position.values).any():
        raise _fail(where, "position contains inf; use NaN for missing points")
    confidence = ds[s.CONFIDENCE].values
    if np.any((confidence < 0) | (confidence > 1)):
        raise _fail(where, "confidence must lie in [0, 1] (or be NaN)")


def validate_labels(ds: xr.Dataset, where: str = "labels") -> None:
    """Raise SchemaError unless ``ds`` follows the labels.nc contract (see pose3d.schema)."""
    _check_common(ds, s.KIND_LABELS, s.LABEL_DIMS, where)
    if list(ds[s.SPACE].values) != list(s.SPACE_2D):
        raise _fail(where, f"space must be {list(s.SPACE_2D)}, got {ds[s.SPACE].values.tolist()}")
    source = ds[s.SOURCE]
    if not np.issubdtype(source.dtype, np.integer):
        raise _fail(where, f"source must be an integer PointSource code, got {source.dtype}")
    valid = {int(p) for p in s.PointSource}
    bad = np.setdiff1d(np.unique(source.values), list(valid))
    if bad.size:
        raise _fail(where, f"source holds unknown codes {bad.tolist()}; valid: {sorted(valid)}")
    if ds[s.REVIEW].dtype != bool:
        raise _fail(where, f"review must be boolean, got {ds[s.REVIEW].dtype}")
    for name, dims in s.TRACK_DIMS.items():  # optional, written by the tracker
        if name in ds.data_vars and ds[name].dims != dims:
            raise _fail(where, f"variable {name!r} has dims {ds[name].dims}, expected {dims}")
    if s.REVIEW_REASON in ds.data_vars:
        valid_reasons = {int(r) for r in s.ReviewReason}
        bad_reasons = np.setdiff1d(np.unique(ds[s.REVIEW_REASON].values), list(valid_reasons))
        if bad_reasons.size:
            raise _fail(where, f"review_reason holds unknown codes {bad_reasons.tolist()}")


def validate_poses(ds: xr.Dataset, where: str = "poses") -> None:
    """Raise SchemaError unless ``ds`` follows the poses3d.nc contract (see pose3d.schema)."""
    _check_common(ds, s.KIND_POSES3D, s.POSES3D_DIMS, where)
    if list(ds[s.SPACE].values) != list(s.SPACE_3D):
        raise _fail(where, f"space must be {list(s.SPACE_3D)}, got {ds[s.SPACE].values.tolist()}")
    if ds.attrs.get(s.ATTR_DS_TYPE) != s.DS_TYPE_POSES:
        raise _fail(where, f"attribute ds_type must be {s.DS_TYPE_POSES!r}")
    if not np.issubdtype(ds[s.N_VIEWS].dtype, np.integer):
        raise _fail(where, f"n_views must be integer, got {ds[s.N_VIEWS].dtype}")


def _save(path: str | os.PathLike[str], ds: xr.Dataset) -> None:
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine=ENGINE)


def _load(path: str | os.PathLike[str], what: str) -> xr.Dataset:
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{what} {path} does not exist")
    try:
        with xr.open_dataset(path, engine=ENGINE) as opened:
            return opened.load()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SchemaError(
            f"{what} {path} cannot be read as netCDF ({type(exc).__name__}: {exc}); the file is "
            "damaged or not a pose3d file"
        ) from None


def save_labels(path: str | os.PathLike[str], ds: xr.Dataset, keep_journal: bool = False) -> None:
    """Validate ``ds`` and write it to ``path`` atomically; the edit journal beside it is
    removed (``ds`` was read through it), unless ``keep_journal`` (pose3d.io.label_journal)."""
    validate_labels(ds, f"labels for {path}")
    _save(path, ds)
    if not keep_journal:
        journal_path(path).unlink(missing_ok=True)


def load_labels(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read and validate a labels.nc file (loaded into memory; the file is closed), with the
    edits of its journal, if one is beside it, replayed (pose3d.io.label_journal)."""
    ds = _load(path, "labels file")
    journal = journal_path(path)
    if journal.is_file():
        ds = apply_journal(ds, journal)
    validate_labels(ds, f"labels file {path}")
    return ds


def save_poses(path: str | os.PathLike[str], ds: xr.Dataset) -> None:
    """Validate ``ds`` and write it to ``path`` atomically."""
    validate_poses(ds, f"poses for {path}")
    _save(path, ds)


def load_poses(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read and validate a poses3d.nc file (loaded into memory; the file is closed)."""
    ds = _load(path, "poses file")
    validate_poses(ds, f"poses file {path}")
    return ds
