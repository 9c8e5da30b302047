"""HDF5 files from other tools (DeepLabCut, SLEAP), opened with h5py as hostile input.

h5py itself never unpickles, but an HDF5 file can name other files: an external link
(``/frames`` -> ``other.h5:/x``), a dataset whose bytes live in an external raw file (any file
on the disk, read as numbers), a virtual dataset assembled from other files. A label file
from elsewhere has no business doing any of that, so :func:`member` refuses them, and refuses
datasets too large to be labels (an 8-byte file can declare a dataset of petabytes).

Damage HDF5 cannot survive is refused before HDF5 sees it: a global heap collection (where
HDF5 keeps variable-length strings: names, attributes) whose objects do not fit in it makes
HDF5 walk it for ever, in C code Python cannot interrupt (:func:`check_global_heaps`, run by
:func:`open_file`).

Errors are `ForeignHDF5Error` (what is wrong, without the file) and `DamagedHDF5Error` (an
OSError, like h5py's for a file it cannot open); the format readers say which file and what
to do.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import h5py

MAX_DATASET_BYTES = 2**32  # 4 GiB: far above any label file, well below a memory bomb


_HEAP_SIGNATURE = b"GCOL"
_HEAP_HEADER = 16  # signature, version 1, 3 reserved bytes, the collection's size (8)
_OBJECT_HEADER = 16  # index (2), reference count (2), reserved (4), size (8)


class ForeignHDF5Error(ValueError):
    """An HDF5 member that a label file must not hold (message without the file's path)."""


class DamagedHDF5Error(OSError):
    """HDF5 structures damaged so that HDF5 would not survive reading them: an OSError, as
    h5py's own for a file it cannot open, so that every reader's handling of those says it."""


def open_file(path: Path) -> h5py.File:
    """``path`` opened read-only with h5py (OSError when it is not HDF5), after
    :func:`check_global_heaps`."""
    import h5py

    check_global_heaps(path)
    return h5py.File(path, "r")


def check_global_heaps(path: Path) -> None:
    """Raise DamagedHDF5Error when a global heap collection of the file ``path`` does not hold
    together. HDF5 reads a collection by walking its objects, each one's size saying where the
    next begins, until the collection's end, without checking the sizes: one overwritten with
    ``0xFF`` (or a free-space object of size 0) sends it round for ever. Every collection (the
    ``GCOL`` signature, version 1, three reserved zero bytes) is walked here the same way, in
    a memory map of the file: each object must end inside its collection. Files that are not
    HDF5 pass (h5py refuses them)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < _HEAP_HEADER:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            at = view.find(_HEAP_SIGNATURE)
            while at >= 0:
                _check_collection(view, at, size)
                at = view.find(_HEAP_SIGNATURE, at + len(_HEAP_SIGNATURE))


def _check_collection(view: mmap.mmap, at: int, size: int) -> None:
    """Walk the global heap collection at byte ``at`` as HDF5 does (check_global_heaps)."""
    if at + _HEAP_HEADER > size or view[at + 4 : at + 8] != b"\x01\x00\x00\x00":
        return  # not a collection's header (HDF5 refuses a collection with another version)
    (length,) = struct.unpack_from("<Q", view, at + 8)
    end = at + length
    if length < _HEAP_HEADER or end > size:
        raise DamagedHDF5Error(
            f"its global heap collection at byte {at} declares {length} bytes, past the end "
            f"of the file ({size} bytes)"
        )
    position = at + _HEAP_HEADER
    while position + _OBJECT_HEADER <= end:  # what is left after the last header is free
        index, _, _, object_size = struct.unpack_from("<HHIQ", view, position)
        need = _OBJECT_HEADER + -(-object_size // 8) * 8 if index else object_size
        if need < _OBJECT_HEADER or position + need > end:
            raise DamagedHDF5Error(
                f"object {index} of its global heap collection at byte {at} declares "
                f"{object_size} bytes, past the collection's end at byte {end}"
            )
        position += need


def member(group: h5py.Group, name: str, kind: str = "dataset") -> Any:
    """The dataset (``kind="dataset"``) or group (``kind="group"``) ``name`` of ``group``,
    refused unless it is a plain member of this file whose data lies in this file."""
    import h5py

    obj: Any = group
    for part in name.strip("/").split("/"):
        link = obj.get(part, getlink=True)
        if link is None:
            raise ForeignHDF5Error(f"{name} is missing")
        if not isinstance(link, h5py.HardLink):
            raise ForeignHDF5Error(
                f"{name} is a link ({type(link).__name__}) to somewhere else; a label file "
                "holds its data itself"
            )
        obj = obj[part]
    wanted = h5py.Dataset if kind == "dataset" else h5py.Group
    if not isinstance(obj, wanted):
        raise ForeignHDF5Error(f"{name} is a {type(obj).__name__}, expected a {kind}")
    if isinstance(obj, h5py.Dataset):
        _check_dataset(obj, name)
    return obj


def _check_dataset(ds: h5py.Dataset, name: str) -> None:
    if ds.external:
        raise ForeignHDF5Error(
            f"dataset {name} keeps its data in other files ({ds.external[0][0]!r})"
        )
    if ds.is_virtual:
        raise ForeignHDF5Error(f"dataset {name} is a virtual dataset assembled from other files")
    size = ds.size * ds.dtype.itemsize if ds.size is not None else 0
    if size > MAX_DATASET_BYTES:
        raise ForeignHDF5Error(
            f"dataset {name} declares {size / 2**30:.0f} GiB (shape {ds.shape}); a label file "
            f"holds far less than {MAX_DATASET_BYTES / 2**30:.0f} GiB"
        )


def read(group: h5py.Group, name: str) -> Any:
    """The whole dataset ``name`` of ``group`` as numpy (checked by :func:`member`)."""
    return member(group, name)[()]
