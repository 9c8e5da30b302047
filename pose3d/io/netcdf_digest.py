"""A SHA-256 checksum of every Fletcher-32-checksummed variable of the netCDF files pose3d writes.

HDF5's Fletcher-32 sums 16-bit words modulo 65535, so it cannot tell a word of ``0x0000`` from
one of ``0xFFFF``: zero bytes overwritten with ``0xFF`` (an erased flash block) pass it, and a
position of 6.0 reads as 6.25. The SHA-256 checksums close that gap: :func:`add_digests`
records, in a group of their own (:data:`GROUP`), the digest of each such variable's stored
chunks (:func:`chunk_digest`), and :func:`verify_digests` compares them with the digests the
reader computes while it checks the chunk index anyway. Hashing the stored chunks, not the
decoded numbers, keeps HDF5's decoding out of it: about 0.05 s per 68 MB. Names (the
coordinates ``view``, ``keypoint``, ``individual``, ``space``) are stored as variable-length
text outside any chunk, with no checksum at all: their values are digested too
(:func:`names_digest`), so a keypoint renamed by damage (``paw_front_leFt``) is refused.
Files written before that have no digest of their names and load as before.

The digests live in a group, not in the variables' attributes, because xarray (and so movement)
reads only the root group: a file opened and saved again by another tool, possibly with other
data, comes back without the group and loads on its Fletcher-32 checksums alone, where digests
carried along in the attributes would have called it damaged. A file changed in place (h5py or
netCDF4 in append mode) keeps the group and is refused; the message says how to accept it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from typing import Any, Final

GROUP: Final = "pose3d_digests"
_ALGORITHM: Final = "sha256 of the stored chunks"


class DigestMismatch(Exception):
    """A variable whose stored chunks differ from the digest recorded when pose3d wrote it."""


class MissingChunk(Exception):
    """A chunk of a checksummed variable that the file's chunk index does not hold."""

    def __init__(self, offset: tuple[int, ...]) -> None:
        super().__init__(offset)
        self.offset = offset


def chunk_digest(dataset: Any) -> str:
    """SHA-256 of the h5py ``dataset``'s chunks as stored (filters applied, checksum included),
    in the order of the chunk grid; `MissingChunk` when the index lacks one. Each chunk is
    looked up the way ``H5Dread`` does (``read_direct_chunk``; ``get_chunk_info_by_coord`` can
    find a chunk the read then treats as unallocated, i.e. as fill values)."""
    digest = hashlib.sha256(f"{dataset.dtype.str}{dataset.shape}{dataset.chunks}".encode())
    grid = zip(dataset.shape, dataset.chunks, strict=True)
    for offset in itertools.product(*(range(0, size, chunk) for size, chunk in grid)):
        try:
            mask, raw = dataset.id.read_direct_chunk(offset)
        except (RuntimeError, OSError, KeyError, ValueError):
            raise MissingChunk(offset) from None
        digest.update(f"{offset}{mask}".encode())
        digest.update(raw)
    return digest.hexdigest()


def checksummed(dataset: Any) -> bool:
    """Whether pose3d digests ``dataset``: Fletcher-32-checksummed, chunked, not empty."""
    return bool(dataset.fletcher32) and dataset.chunks is not None and 0 not in dataset.shape


def names(dataset: Any) -> bool:
    """Whether ``dataset`` holds text (the names of views, keypoints, individuals, axes): HDF5
    stores it outside any chunk, with no checksum of its own, so pose3d digests its values."""
    import h5py

    return h5py.check_string_dtype(dataset.dtype) is not None and 0 not in dataset.shape


def names_digest(dataset: Any) -> str:
    """SHA-256 of a text ``dataset``'s values, each as UTF-8 bytes after its length."""
    digest = hashlib.sha256(f"text{dataset.shape}".encode())
    for value in dataset[()].ravel() if dataset.shape else [dataset[()]]:
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        digest.update(f"{len(raw)}:".encode())
        digest.update(raw)
    return digest.hexdigest()


def digest_of(dataset: Any) -> str | None:
    """The digest pose3d records for ``dataset``: of its chunks when it is checksummed, of its
    values when it holds names, else None."""
    if checksummed(dataset):
        return chunk_digest(dataset)
    if names(dataset):
        return names_digest(dataset)
    return None


def add_digests(h5: Any) -> None:
    """Record, in the h5py file ``h5`` open for writing, the digest of each checksummed
    variable and of each variable of names (coordinates such as ``view``)."""
    import h5py

    found: dict[str, str] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            digest = digest_of(obj)
            if digest is not None:
                found[name] = digest

    h5.visititems(visit)
    group = h5.create_group(GROUP)
    group.attrs["algorithm"] = _ALGORITHM
    for name, digest in found.items():
        group.attrs[name] = digest


def verify_digests(h5: Any, computed: Mapping[str, str]) -> None:
    """Raise `DigestMismatch` naming the first variable of the open h5py file ``h5`` whose
    digest in ``computed`` (variable name -> :func:`chunk_digest`) differs from the one
    recorded (nothing to check in a file without :data:`GROUP`)."""
    import h5py

    group = h5.get(GROUP)
    if not isinstance(group, h5py.Group):
        return
    for name, recorded in _recorded(group).items():
        if name == "algorithm":
            continue
        if name not in computed:
            raise DigestMismatch(f"{name} (listed in /{GROUP}) is missing or not checksummed")
        if computed[name] != recorded:
            raise DigestMismatch(f"{name} does not match its SHA-256 checksum")


def _recorded(group: Any) -> dict[str, str]:
    """The digest group's attributes (name -> text), each one's type looked at before its value
    is read: pose3d writes scalar strings there, and HDF5 reading a damaged one as what its
    damaged type says (a variable-length sequence) can crash the process."""
    import h5py

    out = {}
    for j in range(len(group.attrs)):
        attr = h5py.h5a.open(group.id, index=j)
        name = attr.name.decode("utf-8", "replace")
        scalar = attr.get_space().get_simple_extent_type() == h5py.h5s.SCALAR
        if attr.get_type().get_class() != h5py.h5t.STRING or not scalar:
            raise DigestMismatch(f"the checksum of {name} in /{GROUP} is damaged")
        out[name] = _text(group.attrs[name])
    return out


def _text(value: Any) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
