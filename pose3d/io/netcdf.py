"""labels.nc and poses3d.nc: validated on write AND on read, written atomically.

A file that fails validation raises one SchemaError that names the file, says what was
expected and what was found; nothing is written when a dataset fails on write. Every numeric
variable is written with an HDF5 checksum, so a damaged file is refused on read
(pose3d.io.netcdf_file), and coordinates far beyond any image or rig (`schema.MAX_LABEL_PX`,
`schema.MAX_POSE_UNITS`) are refused as damage too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import SchemaError, shown
from pose3d.io.label_journal import Edits, apply_journal, journal_path, read_journal, replay
from pose3d.io.netcdf_file import ENGINE, open_netcdf, read_netcdf, read_part, write_netcdf
from pose3d.label_cells import with_hidden

__all__ = [
    "ENGINE",
    "PART_FRAMES",
    "iter_labels",
    "iter_poses",
    "load_labels",
    "load_poses",
    "save_labels",
    "save_poses",
    "validate_labels",
    "validate_poses",
]


PART_FRAMES = 4096  # frames read at a time by iter_labels and iter_poses


def _fail(where: str, problem: str) -> SchemaError:
    return SchemaError(f"{where}: {problem}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _dtype_is(ds: xr.Dataset, name: str, kinds: str) -> bool:
    return ds[name].dtype.kind in kinds


def _check_common(
    ds: xr.Dataset,
    kind: str,
    dims: dict[str, tuple[str, ...]],
    where: str,
    max_position: float,
) -> None:
    found_kind = ds.attrs.get(s.ATTR_KIND)
    if found_kind is not None and not (isinstance(found_kind, str) and found_kind == kind):
        raise _fail(where, f"this is a {found_kind} file, expected {kind}")
    version = ds.attrs.get(s.ATTR_SCHEMA_VERSION)
    if version is None:
        raise _fail(where, f"no {s.ATTR_SCHEMA_VERSION} attribute; not a file written by pose3d")
    try:
        version = int(version)
    except (TypeError, ValueError, OverflowError):
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
    if not _dtype_is(ds, s.TIME, "iuf"):
        raise _fail(
            where,
            f"time coordinate must hold numbers (frames or seconds), got {ds[s.TIME].dtype}",
        )
    time = ds[s.TIME].values
    if not np.isfinite(time).all():
        raise _fail(where, "time coordinate holds NaN or inf; expected frames or seconds")
    if time.size > 1 and not np.all(np.diff(time) > 0):
        raise _fail(where, "time coordinate must increase strictly")
    fps = ds.attrs.get(s.ATTR_FPS)
    if fps is not None and not (_is_number(fps) and np.isfinite(fps) and fps > 0):
        shown = fps.item() if isinstance(fps, np.generic) else fps
        raise _fail(where, f"attribute fps must be a positive number or absent, got {shown!r}")
    position = ds[s.POSITION]
    if not np.issubdtype(position.dtype, np.floating):
        raise _fail(where, f"position must be float, got {position.dtype}")
    values = position.values
    if np.isinf(values).any():
        raise _fail(where, "position contains inf; use NaN for missing points")
    if np.any(np.abs(values) > max_position):
        worst = float(np.nanmax(np.abs(values)))
        raise _fail(
            where,
            f"position holds {worst:.3g}, beyond ±{max_position:.0e}: no camera or rig is "
            "that large; the file is damaged (restore it from a backup) or was written wrongly",
        )
    if not _dtype_is(ds, s.CONFIDENCE, "f"):
        raise _fail(where, f"confidence must be float, got {ds[s.CONFIDENCE].dtype}")
    confidence = ds[s.CONFIDENCE].values
    if np.any((confidence < 0) | (confidence > 1)):
        raise _fail(where, "confidence must lie in [0, 1] (or be NaN)")


def validate_labels(ds: xr.Dataset, where: str = "labels") -> None:
    """Raise SchemaError unless ``ds`` follows the labels.nc contract (see pose3d.schema)."""
    _check_common(ds, s.KIND_LABELS, s.LABEL_DIMS, where, s.MAX_LABEL_PX)
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
        kinds = "iu" if name == s.REVIEW_REASON else "f"
        if name in ds.data_vars and not _dtype_is(ds, name, kinds):
            expected = "integer" if kinds == "iu" else "float"
            raise _fail(where, f"{name} must be {expected}, got {ds[name].dtype}")
    if s.REVIEW_REASON in ds.data_vars:
        valid_reasons = {int(r) for r in s.ReviewReason}
        bad_reasons = np.setdiff1d(np.unique(ds[s.REVIEW_REASON].values), list(valid_reasons))
        if bad_reasons.size:
            raise _fail(where, f"review_reason holds unknown codes {bad_reasons.tolist()}")
    if s.HIDDEN in ds.data_vars:  # optional: files written before it load as all False
        _check_hidden(ds, where)


def _check_hidden(ds: xr.Dataset, where: str) -> None:
    """``hidden``: bool, cell dims, True only where the cell has no position and a source."""
    expected = s.MARK_DIMS[s.HIDDEN]
    if ds[s.HIDDEN].dims != expected:
        raise _fail(where, f"variable 'hidden' has dims {ds[s.HIDDEN].dims}, expected {expected}")
    if ds[s.HIDDEN].dtype != bool:
        raise _fail(where, f"hidden must be boolean, got {ds[s.HIDDEN].dtype}")
    hidden = ds[s.HIDDEN].transpose(*expected).values
    position = ds[s.POSITION].transpose(*s.LABEL_DIMS[s.POSITION]).values  # (T, V, 2, K, I)
    source = ds[s.SOURCE].transpose(*expected).values
    problems = (
        (hidden & ~np.isnan(position).all(axis=2), "holds a point", "a hidden keypoint has no "
         "position: delete the point or the hidden mark"),
        (hidden & (source == s.PointSource.NONE), "has source none", "a hidden mark says who "
         "made it (source manual, tracked, imported or reprojected)"),
    )  # fmt: skip
    for bad, found, rule in problems:
        if bad.any():
            t, v, k, i = (int(j) for j in np.argwhere(bad)[0])
            raise _fail(
                where,
                f"hidden is true at {int(bad.sum())} cells whose point {found} (first: frame "
                f"{ds[s.TIME].values[t]}, view {_name(ds, s.VIEW, v)}, keypoint "
                f"{_name(ds, s.KEYPOINT, k)}, individual {_name(ds, s.INDIVIDUAL, i)}); {rule}",
            )


def _name(ds: xr.Dataset, dim: str, j: int) -> str:
    return shown(repr(str(ds[dim].values[j])))


def validate_poses(ds: xr.Dataset, where: str = "poses") -> None:
    """Raise SchemaError unless ``ds`` follows the poses3d.nc contract (see pose3d.schema)."""
    _check_common(ds, s.KIND_POSES3D, s.POSES3D_DIMS, where, s.MAX_POSE_UNITS)
    if list(ds[s.SPACE].values) != list(s.SPACE_3D):
        raise _fail(where, f"space must be {list(s.SPACE_3D)}, got {ds[s.SPACE].values.tolist()}")
    ds_type = ds.attrs.get(s.ATTR_DS_TYPE)
    if not (isinstance(ds_type, str) and ds_type == s.DS_TYPE_POSES):
        raise _fail(where, f"attribute ds_type must be {s.DS_TYPE_POSES!r}")
    if not np.issubdtype(ds[s.N_VIEWS].dtype, np.integer):
        raise _fail(where, f"n_views must be integer, got {ds[s.N_VIEWS].dtype}")
    if not _dtype_is(ds, s.REPROJECTION_ERROR, "f"):
        raise _fail(
            where, f"reprojection_error must be float, got {ds[s.REPROJECTION_ERROR].dtype}"
        )


def save_labels(path: str | os.PathLike[str], ds: xr.Dataset, keep_journal: bool = False) -> None:
    """Validate ``ds`` and write it to ``path`` atomically; the edit journal beside it is
    removed (``ds`` was read through it), unless ``keep_journal`` (pose3d.io.label_journal)."""
    validate_labels(ds, f"labels for {path}")
    journal = journal_path(path)  # a journal path that is a folder or FIFO: refused before
    write_netcdf(path, ds)
    if not keep_journal:
        journal.unlink(missing_ok=True)


def load_labels(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read and validate a labels.nc file (loaded into memory; the file is closed), with the
    edits of its journal, if one is beside it, replayed (pose3d.io.label_journal). A file
    written before labels had ``hidden`` gets it, all False (nothing is hidden)."""
    ds = with_hidden(read_netcdf(path, "labels file"))  # older files: nothing hidden
    journal = journal_path(path)
    if journal.is_file():
        ds = apply_journal(ds, journal)
    validate_labels(ds, f"labels file {path}")
    return ds


def iter_labels(path: str | os.PathLike[str], frames: int = PART_FRAMES) -> Iterator[xr.Dataset]:
    """labels.nc a stretch of ``frames`` frames at a time, for work on a long recording in
    memory that does not grow with it: each part is what ``load_labels(path)`` holds for those
    frames (the journal's edits replayed, validated), read into memory, the file open between
    parts. The file's integrity is checked before the first part (as load_labels does), its
    time coordinate as a whole (it must increase across parts too), each part's values as it
    is read; a bad part raises SchemaError after the parts before it were yielded."""
    with open_netcdf(path, "labels file") as lazy:
        opened = with_hidden(lazy)  # older files: nothing hidden (held whole: one bool a cell)
        journal = journal_path(path)
        edits: Edits | None = None
        if journal.is_file() and opened.sizes.get(s.TIME):  # no frames: refused below
            edits = read_journal(opened, journal)

        def replayed(part: xr.Dataset, start: int) -> xr.Dataset:
            return replay(part, edits, start)

        yield from _parts(opened, path, "labels file", frames, validate_labels, replayed)


def iter_poses(path: str | os.PathLike[str], frames: int = PART_FRAMES) -> Iterator[xr.Dataset]:
    """poses3d.nc a stretch of ``frames`` frames at a time (:func:`iter_labels` says how)."""
    with open_netcdf(path, "poses file") as opened:
        yield from _parts(opened, path, "poses file", frames, validate_poses)


def _parts(
    opened: xr.Dataset,
    path: str | os.PathLike[str],
    what: str,
    frames: int,
    validate: Callable[[xr.Dataset, str], None],
    prepare: Callable[[xr.Dataset, int], xr.Dataset] | None = None,
) -> Iterator[xr.Dataset]:
    """The parts of an opened file, each ``prepare``d and ``validate``d; the time coordinate
    checked as a whole first."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    where = f"{what} {path}"
    if not opened.sizes.get(s.TIME):  # no frames, or no time: the validator says what is wrong
        validate(read_part(opened, path, what), where)
    time = opened[s.TIME].values
    if np.issubdtype(time.dtype, np.number) and not np.all(np.diff(time) > 0):
        raise SchemaError(f"{where}: time coordinate must increase strictly")
    for start in range(0, opened.sizes[s.TIME], frames):
        part = read_part(opened, path, what, slice(start, start + frames))
        if prepare is not None:
            part = prepare(part, start)
        validate(part, where)
        yield part


def save_poses(path: str | os.PathLike[str], ds: xr.Dataset) -> None:
    """Validate ``ds`` and write it to ``path`` atomically."""
    validate_poses(ds, f"poses for {path}")
    write_netcdf(path, ds)


def load_poses(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read and validate a poses3d.nc file (loaded into memory; the file is closed)."""
    ds = read_netcdf(path, "poses file")
    validate_poses(ds, f"poses file {path}")
    return ds
