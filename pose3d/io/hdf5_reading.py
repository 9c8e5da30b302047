"""HDF5 files from other tools (DeepLabCut, SLEAP), opened with h5py as hostile input.

h5py itself never unpickles, but an HDF5 file can name other files: an external link
(``/frames`` -> ``other.h5:/x``), a dataset whose bytes live in an external raw file (any file
on the disk, read as numbers), a virtual dataset assembled from other files. A label file
from elsewhere has no business doing any of that, so :func:`member` refuses them, and refuses
datasets too large to be labels (an 8-byte file can declare a dataset of petabytes).

Errors are `ForeignHDF5Error` (what is wrong, without the file); the format readers say which
file and what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import h5py

MAX_DATASET_BYTES = 2**32  # 4 GiB: far above any label file, well below a memory bomb


class ForeignHDF5Error(ValueError):
    """An HDF5 member that a label file must not hold (message without the file's path)."""


def open_file(path: Path) -> h5py.File:
    """``path`` opened read-only with h5py (OSError when it is not HDF5)."""
    import h5py

    return h5py.File(path, "r")


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
