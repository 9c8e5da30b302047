"""A damaged HDF5 global heap collection is refused before HDF5 reads it (it made HDF5 loop for
ever: the fuzz run's poses mutant seed 0 #651, 16 bytes overwritten with 0xFF), in pose3d's
netCDF files and in the foreign HDF5 files pose3d imports; intact files pass. An attribute of a
type pose3d never writes is refused before it is read (a damaged type can crash HDF5).

Each damaged file is loaded in a child process with a time limit, so that a regression is a
failing test, not a hung suite."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from pose3d.errors import SchemaError
from pose3d.io.hdf5_reading import DamagedHDF5Error, check_global_heaps
from pose3d.io.netcdf import load_poses, save_poses
from tests.io.test_netcdf import filled_poses

LIMIT_S = 120  # a load takes about a second; HDF5's loop never ends


def _objects(path: Path) -> list[int]:
    """Byte offsets of the objects of the file's first global heap collection."""
    data = path.read_bytes()
    at = data.index(b"GCOL")
    (length,) = struct.unpack_from("<Q", data, at + 8)
    offsets, position = [], at + 16
    while position + 16 <= at + length:
        index, _, _, size = struct.unpack_from("<HHIQ", data, position)
        offsets.append(position)
        position += 16 + -(-size // 8) * 8 if index else size
    return offsets


def _damage(path: Path, offset: int, header: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(header)] = header
    path.write_bytes(bytes(data))


def _load_in_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=LIMIT_S
    )


@pytest.fixture
def poses_file(tmp_path: Path) -> Path:
    path = tmp_path / "poses3d.nc"
    save_poses(path, filled_poses())
    check_global_heaps(path)  # intact: passes
    assert len(_objects(path)) > 10  # names, units, digests: HDF5's strings
    return path


@pytest.mark.parametrize(
    "header",
    [
        b"\xff" * 16,  # the fuzz mutant's damage: every field all ones
        struct.pack("<HHIQ", 0, 0, 0, 0),  # a free-space object of 0 bytes: no progress
        struct.pack("<HHIQ", 7, 1, 0, 1 << 40),  # an object larger than its collection
    ],
)
def test_a_damaged_heap_object_is_refused_not_looped_on(poses_file: Path, header: bytes) -> None:
    _damage(poses_file, _objects(poses_file)[3], header)
    with pytest.raises(DamagedHDF5Error, match="global heap collection at byte"):
        check_global_heaps(poses_file)
    done = _load_in_child(
        "from pose3d.io.netcdf import load_poses; from pose3d.errors import SchemaError\n"
        f"try:\n    load_poses({str(poses_file)!r})\n"
        "except SchemaError as e:\n    print(e)\nelse:\n    print('loaded')"
    )
    said = done.stdout.strip()
    assert said.startswith(f"poses file {poses_file} is damaged (object "), said
    assert "restore it from a backup" in said and not done.stderr


def test_a_collection_past_the_end_of_the_file_is_refused(poses_file: Path) -> None:
    data = poses_file.read_bytes()
    at = data.index(b"GCOL")
    _damage(poses_file, at + 8, struct.pack("<Q", len(data)))
    with pytest.raises(DamagedHDF5Error, match="past the end of the file"):
        check_global_heaps(poses_file)


def test_foreign_files_with_a_damaged_heap_are_refused_by_their_reader(
    shared_data: Path, tmp_path: Path
) -> None:
    session = shared_data / "sleap_anipose_minimal_session" / "minimal_session"
    original = next((session / "back").glob("*.analysis.h5"))
    check_global_heaps(original)  # the real file passes
    copy = tmp_path / original.name
    shutil.copy(original, copy)
    _damage(copy, _objects(copy)[1], b"\xff" * 16)
    done = _load_in_child(
        "from pathlib import Path; from pose3d.io.sleap import read_analysis\n"
        "from pose3d.errors import Pose3dError\n"
        f"try:\n    read_analysis(Path({str(copy)!r}))\n"
        "except Pose3dError as e:\n    print(e)\nelse:\n    print('loaded')"
    )
    said = done.stdout.strip()
    assert str(copy) in said and "global heap collection" in said, said
    assert not done.stderr


def test_every_real_hdf5_file_of_the_shared_data_passes(shared_data: Path) -> None:
    files = [p for p in shared_data.rglob("*") if p.suffix in (".h5", ".slp", ".nc", ".hdf5")]
    assert len(files) >= 8
    for path in files:
        check_global_heaps(path)


@pytest.mark.parametrize(
    ("dtype", "words"),
    [
        ("vlen", "variable-length sequence"),  # what a damaged type became in an earlier run
        ("enum", "enum"),
    ],
)
def test_an_attribute_of_a_type_pose3d_never_writes_is_refused_unread(
    poses_file: Path, dtype: str, words: str
) -> None:
    """Attributes carry no checksum; one whose type says 'variable-length sequence' could
    crash HDF5 when read, so its type is looked at first."""
    with h5py.File(poses_file, "a") as h5:
        if dtype == "vlen":
            value = np.empty(1, dtype=h5py.vlen_dtype(np.int32))
            value[0] = np.arange(3, dtype=np.int32)
            h5["position"].attrs.create("units", value)
        else:
            kind = h5py.enum_dtype({"a": 0, "b": 1}, basetype="i1")
            h5["position"].attrs.create("units", 1, dtype=kind)
    with pytest.raises(SchemaError, match=f"attribute 'units' of position is an HDF5 {words}"):
        load_poses(poses_file)
