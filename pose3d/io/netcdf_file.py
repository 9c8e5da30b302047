"""The netCDF files pose3d writes (labels.nc, poses3d.nc, detections.nc): bytes in, bytes out.

Writing: the dataset is encoded in memory, with an HDF5 Fletcher-32 checksum on every numeric
variable (coordinates included), and the bytes are written atomically
(:func:`pose3d.io.atomic.atomic_write_bytes`). Encoding in memory keeps HDF5 away from the
disk: a full disk or a read-only file system fails one plain ``write`` with a clear
`StorageError`, where HDF5 writing to the disk itself ended in a segmentation fault (h5netcdf
closes the half-closed h5py file again when it is garbage-collected).

Reading: HDF5 verifies the checksums, so a damaged data chunk is refused, not read as other
numbers; any failure to read a file (a damaged file, a file from another program) is one
`SchemaError` naming the file, and h5netcdf's "Exception ignored in File.close" noise after a
failed open is silenced. Files written without checksums (before pose3d wrote them) still load.
Strings (names of views, keypoints, ...) are stored outside the chunks and carry no checksum of
HDF5's: their values have a SHA-256 digest of pose3d's (pose3d.io.netcdf_digest), and the
validators check them against the data contract.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import xarray as xr

from pose3d.errors import SchemaError
from pose3d.io.atomic import atomic_write_bytes
from pose3d.io.netcdf_digest import GROUP as DIGEST_GROUP
from pose3d.io.netcdf_digest import (
    DigestMismatch,
    MissingChunk,
    add_digests,
    digest_of,
    verify_digests,
)
from pose3d.schema import TIME

ENGINE: Final = "h5netcdf"
CHECKSUM: Final = "fletcher32"  # the HDF5 filter; h5netcdf's and netCDF4's encoding key
_NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: the dtypes HDF5 filters accept


CHUNK_BYTES: Final = 1 << 20  # a chunk of a variable with a time axis: about 1 MiB of frames


def with_checksums(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` (a shallow copy) whose numeric variables are encoded with Fletcher-32 checksums,
    those with a time axis in chunks of whole frames, the same frames for every variable (about
    1 MiB for the largest), so that a long recording can be opened lazily and read a stretch of
    time at a time (``xr.open_dataset(path, chunks={"time": N})``, N a multiple of a chunk)."""
    out = ds.copy(deep=False)
    frames = time_chunk_frames(out)
    for variable in out.variables.values():
        if variable.ndim and variable.dtype.kind in _NUMERIC_KINDS:
            encoding = {**variable.encoding, CHECKSUM: True}
            if TIME in variable.dims and variable.size:
                encoding["chunksizes"] = tuple(
                    min(frames, variable.sizes[TIME]) if dim == TIME else variable.sizes[dim]
                    for dim in variable.dims
                )
            variable.encoding = encoding
    return out


def time_chunk_frames(ds: xr.Dataset) -> int:
    """The frames of one chunk of ``ds``: as many as fill CHUNK_BYTES of its largest variable
    per frame (at least 1)."""
    frame_bytes = [
        v.dtype.itemsize * v.size // v.sizes[TIME]
        for v in ds.variables.values()
        if TIME in v.dims and v.size and v.dtype.kind in _NUMERIC_KINDS
    ]
    return max(1, CHUNK_BYTES // max(frame_bytes, default=1))


def netcdf_bytes(ds: xr.Dataset) -> bytes:
    """The netCDF-4 file of ``ds`` (as ``ds.to_netcdf(engine="h5netcdf")`` writes it), in
    memory, with the SHA-256 digest of each checksummed variable."""
    import h5netcdf
    import h5py
    from xarray.backends import H5NetCDFStore

    # HDF5's in-memory driver, under a name of its own: HDF5 keeps one open file per name, and
    # the autosave thread may encode while the main thread does; track_order as h5netcdf sets
    # it (netCDF-4 needs it to append)
    name = f"pose3d-{uuid.uuid4().hex}.nc"
    with h5py.File(name, "w", driver="core", backing_store=False, track_order=True) as h5:
        with h5netcdf.File(h5, "w") as nc:
            ds.dump_to_store(H5NetCDFStore(nc))
        add_digests(h5)
        h5.flush()
        return bytes(h5.id.get_file_image())


def write_netcdf(path: str | os.PathLike[str], ds: xr.Dataset) -> None:
    """Write ``ds`` to ``path`` atomically, every numeric variable checksummed (Fletcher-32
    and a SHA-256 digest, :mod:`pose3d.io.netcdf_digest`)."""
    atomic_write_bytes(path, netcdf_bytes(with_checksums(ds)))


def read_netcdf(path: str | os.PathLike[str], what: str) -> xr.Dataset:
    """Read the netCDF file ``path`` into memory (the file is closed).

    Raises one `SchemaError` starting with ``"{what} {path}"`` when the file is absent, is
    not a regular file, fails a checksum or cannot be read as netCDF at all.
    """
    with open_netcdf(path, what) as opened:
        return read_part(opened, path, what)


@contextlib.contextmanager
def open_netcdf(path: str | os.PathLike[str], what: str) -> Iterator[xr.Dataset]:
    """The netCDF file ``path`` opened lazily: its coordinates and attributes read, its data
    read only as :func:`read_part` asks (a long recording a stretch of time at a time), after
    the checks :func:`read_netcdf` makes (every chunk's SHA-256 digest is verified first, one
    chunk at a time). Raises SchemaError as read_netcdf does."""
    path = Path(path)
    if not path.exists():
        raise SchemaError(f"{what} {path} does not exist")
    if not path.is_file():
        raise SchemaError(
            f"{what} {path} is not a regular file (a folder, FIFO or device); expected a "
            "netCDF file written by pose3d"
        )
    _refuse_foreign_storage(path, what)
    problem: str | None = None
    with _quiet_h5netcdf_close():
        try:
            opened = xr.open_dataset(path, engine=ENGINE)
        except Exception as error:  # a hostile file makes h5py raise anything at all
            problem = _why_unreadable(path, error)
        if problem is not None:
            gc.collect()  # free the half-opened h5netcdf file here, while its noise is silenced
    if problem is not None:
        raise SchemaError(f"{what} {path} {problem}")
    with opened:
        yield opened


def frames_of(path: str | os.PathLike[str]) -> int | None:
    """How many frames the netCDF file ``path`` holds (its time axis' length), read from the
    file's metadata alone; None where it cannot say (the readers say why)."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            time = h5.get(TIME, getlink=True)
            if not isinstance(time, h5py.HardLink):  # links are the readers' business
                return None
            return int(h5[TIME].shape[0])
    except Exception:  # not HDF5, damaged: the readers refuse it with a message
        return None


def read_part(
    opened: xr.Dataset, path: str | os.PathLike[str], what: str, rows: slice | None = None
) -> xr.Dataset:
    """The time ``rows`` of a dataset :func:`open_netcdf` opened (all of it: None), read into
    memory; a chunk that fails its checksum raises SchemaError as read_netcdf does."""
    part = opened if rows is None or TIME not in opened.dims else opened.isel({TIME: rows})
    with _quiet_h5netcdf_close():
        try:
            return part.load()
        except Exception as error:
            problem = _why_unreadable(Path(path), error)
        gc.collect()  # what the failed read left, while its noise is silenced
    raise SchemaError(f"{what} {path} {problem}")


def _refuse_foreign_storage(path: Path, what: str) -> None:
    """Refuse a file whose members are links to elsewhere, or whose data lies in other files
    (external raw storage, virtual datasets) or is absurdly large (pose3d.io.hdf5_reading):
    read as labels, such a file would read any file on the disk as numbers."""
    from pose3d.io.hdf5_reading import DamagedHDF5Error, ForeignHDF5Error, open_file

    try:
        with open_file(path) as h5:
            computed: dict[str, str] = {}
            _check_members(h5, computed)
            verify_digests(h5, computed)
    except DamagedHDF5Error as error:
        raise SchemaError(f"{what} {path} is damaged ({error}); restore it from a backup") from None
    except ForeignHDF5Error as error:
        raise SchemaError(
            f"{what} {path}: {error}; pose3d writes every netCDF file whole, so this one comes "
            "from elsewhere and is not read"
        ) from None
    except _Damaged as damage:
        raise SchemaError(f"{what} {path} {damage}") from None
    except DigestMismatch as mismatch:
        if _damaged_variable(path) is not None:
            return  # HDF5's own checksum fails too: the read fails and _why_unreadable says so
        raise SchemaError(
            f"{what} {path} is damaged or was changed in place by another program ({mismatch}); "
            f"restore it from a backup, or, to accept the change, delete its group "
            f"/{DIGEST_GROUP} (h5py: del file['{DIGEST_GROUP}'])"
        ) from None
    except Exception:  # not HDF5 at all, or damaged: the netCDF reader says what it is
        return


class _Damaged(Exception):
    """A netCDF file pose3d wrote, damaged since (the message says how)."""


def _check_members(group: Any, computed: dict[str, str]) -> None:
    """Refuse links and foreign storage; put each checksummed variable's digest, and each
    variable of names' (pose3d.io.netcdf_digest), in ``computed``, refusing a chunk missing
    from the index. The index itself carries no checksum: a damaged entry makes a chunk read as
    missing, i.e. as fill values (NaN), with no error — pose3d writes every chunk, so a missing
    one is damage."""
    import h5py

    from pose3d.io.hdf5_reading import member

    _check_attribute_types(group)
    for name in group:
        if not isinstance(group.get(name, getlink=True), h5py.HardLink):
            member(group, name)  # raises naming the link
        found = group[name]
        if isinstance(found, h5py.Group):
            _check_members(found, computed)
            continue
        member(group, name)
        _check_attribute_types(found)
        try:
            digest = digest_of(found)
        except MissingChunk as missing:
            raise _Damaged(
                f"is damaged (the data chunk at {list(missing.offset)} of "
                f"{found.name.lstrip('/')} is missing from the file's index); restore it from "
                "a backup"
            ) from None
        if digest is not None:
            computed[found.name.lstrip("/")] = digest


_TYPE_CLASSES = {  # HDF5 type classes (h5py.h5t) a damaged attribute may show, in words
    2: "time",
    4: "bitfield",
    5: "opaque",
    6: "compound",
    7: "reference",
    8: "enum",
    9: "variable-length sequence",
    10: "array",
}


def _check_attribute_types(obj: Any) -> None:
    """Refuse an attribute of ``obj`` (a group or a variable) of a type no netCDF file pose3d
    writes holds, its type looked at before its value is read: attributes carry no checksum,
    and HDF5 reading a damaged one as what its damaged type says (a variable-length sequence)
    can crash the process. pose3d's files hold strings and numbers, and the dimension scales'
    DIMENSION_LIST (variable-length references) and REFERENCE_LIST (a compound)."""
    import h5py

    for j in range(len(obj.attrs)):
        attr = h5py.h5a.open(obj.id, index=j)
        kind = attr.get_type()
        found = kind.get_class()
        name = attr.name.decode("utf-8", "replace")
        plain = found in (h5py.h5t.STRING, h5py.h5t.INTEGER, h5py.h5t.FLOAT)
        scales = (name == "DIMENSION_LIST" and found == h5py.h5t.VLEN) and (
            kind.get_super().get_class() == h5py.h5t.REFERENCE
        )
        if plain or scales or (name == "REFERENCE_LIST" and found == h5py.h5t.COMPOUND):
            continue
        what = _TYPE_CLASSES.get(found, f"class {found}")
        where = obj.name.lstrip("/") or "the file"
        raise _Damaged(
            f"is damaged or not pose3d's (attribute {name!r} of {where} is an HDF5 {what}, "
            "which pose3d never writes there); restore it from a backup"
        )


def _why_unreadable(path: Path, error: Exception) -> str:
    damaged = _damaged_variable(path)
    if damaged is not None:
        return f"is damaged (checksum mismatch in {damaged}); restore it from a backup"
    if "checksum" in str(error):  # HDF5 checksums its own metadata (object headers, B-trees)
        return (
            "is damaged (checksum mismatch in the file's HDF5 metadata); restore it from a backup"
        )
    return (
        f"cannot be read as netCDF ({type(error).__name__}: {error}); the file is damaged or "
        "not a pose3d file"
    )


def _damaged_variable(path: Path) -> str | None:
    """The first variable of ``path`` whose data fails its checksum, if one does."""
    import h5py

    failed: list[str] = []

    def check(name: str, obj: Any) -> None:
        if failed or not isinstance(obj, h5py.Dataset) or not obj.fletcher32:
            return
        try:
            obj[()]
        except OSError as error:
            if "filter" in str(error):  # "filter returned failure during read"
                failed.append(name)

    try:
        with h5py.File(path, "r") as h5:
            h5.visititems(check)
    except Exception:  # the file is too damaged to look inside: no variable to name
        return None
    return failed[0] if failed else None


_HOOK_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_h5netcdf_close() -> Iterator[None]:
    """Drop the exceptions h5netcdf raises from ``File.__del__`` while in this block.

    h5netcdf's File closes itself when garbage-collected; a File whose opening failed halfway
    then raises (``'File' object has no attribute '_writable'``), and Python prints it as
    "Exception ignored in: <function File.close>". Any other unraisable exception is passed on.
    """
    with _HOOK_LOCK:
        previous = sys.unraisablehook

        def hook(unraisable: Any) -> None:
            if getattr(unraisable.object, "__module__", "").startswith("h5netcdf"):
                return
            previous(unraisable)

        sys.unraisablehook = hook
        try:
            yield
        finally:
            sys.unraisablehook = previous
