"""labels.nc and poses3d.nc: exact round trips, validation on write AND read, label edit rules."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError, SchemaError
from pose3d.io.netcdf import load_labels, load_poses, save_labels, save_poses
from pose3d.io.netcdf_digest import GROUP as DIGEST_GROUP
from pose3d.labels import merge_points, new_labels, set_hidden, set_point
from pose3d.poses import poses_dataset

VIEWS = ["back", "mid", "side"]
KEYPOINTS = ["nose", "ear", "tail"]
INDIVIDUALS = ["mouse_a", "mouse_b"]
P = s.PointSource


def filled_labels() -> xr.Dataset:
    """5 frames, 3 views, 3 keypoints, 2 individuals with every kind of point and flag."""
    ds = new_labels(5, VIEWS, KEYPOINTS, INDIVIDUALS)
    ds = set_point(ds, 0, "back", "nose", "mouse_a", (10.25, 20.5))
    ds = set_point(ds, 0, "mid", "tail", "mouse_b", (0.0, 1023.0), P.TRACKED, 0.75)
    ds = set_point(ds, 3, "side", "ear", "mouse_b", (1279.0, 0.125), P.IMPORTED, 0.5)
    ds = set_point(ds, 4, "side", "nose", "mouse_a", (640.5, 512.0), P.REPROJECTED, 0.0)
    ds[s.REVIEW].loc[{s.TIME: 2, s.VIEW: "mid", s.KEYPOINT: "ear", s.INDIVIDUAL: "mouse_b"}] = True
    ds = set_hidden(ds, 1, "back", "tail", "mouse_a")  # a person: "not visible here"
    ds = set_hidden(ds, 2, "side", "nose", "mouse_b", P.TRACKED)  # the tracker says so
    return ds


def _hidden_at(ds: xr.Dataset, var: str, value: object, xy: bool = False) -> xr.Dataset:
    """``ds`` with a hidden mark set behind set_hidden's back on an empty cell (frame 0, mid,
    nose, mouse_a) whose ``var`` is then ``value``."""
    ds = ds.copy(deep=True)
    cell = {s.TIME: 0, s.VIEW: "mid", s.KEYPOINT: "nose", s.INDIVIDUAL: "mouse_a"}
    ds[s.HIDDEN].loc[cell] = True
    ds[s.SOURCE].loc[cell] = int(P.MANUAL)
    ds[var].loc[cell] = value
    return ds


def filled_poses(fps: float | None = 30.0) -> xr.Dataset:
    rng = np.random.default_rng(0)
    position = rng.normal(0, 100, (6, 3, 3, 2))
    position[2, :, 1, 0] = np.nan
    n_views = rng.integers(0, 4, (6, 3, 2))
    error = rng.uniform(0, 3, (6, 3, 2))
    return poses_dataset(
        position, KEYPOINTS, INDIVIDUALS, fps=fps, reprojection_error=error, n_views=n_views
    )


# --- round trips -------------------------------------------------------------------------------


def test_labels_round_trip_exactly(tmp_path):
    ds = filled_labels()
    path = tmp_path / "labels.nc"
    save_labels(path, ds)
    loaded = load_labels(path)
    xr.testing.assert_identical(loaded, ds)
    assert loaded[s.SOURCE].dtype == np.int8
    assert loaded[s.REVIEW].dtype == bool
    assert sorted(np.unique(loaded[s.SOURCE].values).tolist()) == [int(p) for p in P]
    assert int(loaded[s.REVIEW].sum()) == 1
    assert int(np.isfinite(loaded[s.POSITION]).all(s.SPACE).sum()) == 4


@pytest.mark.parametrize("fps", [30.0, None])
def test_poses_round_trip_exactly(tmp_path, fps):
    ds = filled_poses(fps)
    path = tmp_path / "poses3d.nc"
    save_poses(path, ds)
    loaded = load_poses(path)
    xr.testing.assert_identical(loaded, ds)
    assert np.isnan(loaded[s.POSITION].values[2, :, 1, 0]).all()
    assert loaded.attrs[s.ATTR_TIME_UNIT] == ("seconds" if fps else "frames")


def test_plain_xarray_opens_our_files(tmp_path):
    save_labels(tmp_path / "labels.nc", filled_labels())
    save_poses(tmp_path / "poses3d.nc", filled_poses())
    with xr.open_dataset(tmp_path / "labels.nc") as labels:
        assert dict(labels.sizes) == {
            "time": 5,
            "view": 3,
            "space": 2,
            "keypoint": 3,
            "individual": 2,
        }
        assert labels[s.POSITION].dims == ("time", "view", "space", "keypoint", "individual")
        assert labels[s.REVIEW].dims == ("time", "view", "keypoint", "individual")
        assert labels["view"].values.tolist() == VIEWS
        assert labels[s.REVIEW].dtype == bool
        assert labels[s.POSITION].sel(
            time=0, view="back", keypoint="nose", individual="mouse_a"
        ).values.tolist() == [10.25, 20.5]
    with xr.open_dataset(tmp_path / "poses3d.nc") as poses:
        assert poses[s.POSITION].dims == ("time", "space", "keypoint", "individual")
        assert poses["space"].values.tolist() == ["x", "y", "z"]
        assert poses.attrs["ds_type"] == "poses"
        assert poses.attrs["source_software"] == "pose3d"
        assert poses.attrs["fps"] == 30.0
        assert poses[s.POSITION].attrs["space_unit"] == "mm"
        np.testing.assert_allclose(poses["time"].values, np.arange(6) / 30.0)


# --- validation on write and on read -----------------------------------------------------------


def _set(ds: xr.Dataset, var: str, value: object) -> xr.Dataset:
    ds = ds.copy(deep=True)
    ds[var].values[(0,) * ds[var].ndim] = value
    return ds


def _attr(**attrs: object) -> Callable[[xr.Dataset], xr.Dataset]:
    def change(ds: xr.Dataset) -> xr.Dataset:
        return ds.assign_attrs(attrs)

    return change


def _drop_attr(name: str) -> Callable[[xr.Dataset], xr.Dataset]:
    def change(ds: xr.Dataset) -> xr.Dataset:
        ds = ds.copy()
        ds.attrs = {k: v for k, v in ds.attrs.items() if k != name}
        return ds

    return change


BAD_LABELS = {
    "dims-order": (
        lambda ds: ds.assign(
            position=ds[s.POSITION].transpose("time", "view", "keypoint", "space", "individual")
        ),
        r"variable 'position' has dims \('time', 'view', 'keypoint', 'space', 'individual'\), "
        r"expected \('time', 'view', 'space', 'keypoint', 'individual'\)",
    ),
    "missing-variable": (
        lambda ds: ds.drop_vars(s.REVIEW),
        r"variable 'review' is missing",
    ),
    "version-2": (_attr(pose3d_schema_version=2), r"schema version 2, .*upgrade pose3d"),
    "version-0": (_attr(pose3d_schema_version=0), r"schema version 0, .*convert it with"),
    "no-version": (_drop_attr(s.ATTR_SCHEMA_VERSION), r"no pose3d_schema_version attribute"),
    "text-version": (
        _attr(pose3d_schema_version="one"),
        r"pose3d_schema_version must be a whole number, got 'one'",
    ),
    "inf-position": (
        lambda ds: _set(ds, s.POSITION, np.inf),
        r"position contains inf; use NaN for missing points",
    ),
    "confidence-above-1": (
        lambda ds: _set(ds, s.CONFIDENCE, 1.5),
        r"confidence must lie in \[0, 1\]",
    ),
    "confidence-below-0": (
        lambda ds: _set(ds, s.CONFIDENCE, -0.1),
        r"confidence must lie in \[0, 1\]",
    ),
    "unknown-source": (
        lambda ds: _set(ds, s.SOURCE, 7),
        r"source holds unknown codes \[7\]; valid: \[0, 1, 2, 3, 4\]",
    ),
    "float-source": (
        lambda ds: ds.assign(source=ds[s.SOURCE].astype(float)),
        r"source must be an integer PointSource code, got float64",
    ),
    "int-review": (
        lambda ds: ds.assign(review=ds[s.REVIEW].astype(np.int8)),
        r"review must be boolean, got int8",
    ),
    "space-coords": (
        lambda ds: ds.assign_coords(space=["u", "v"]),
        r"space must be \['x', 'y'\], got \['u', 'v'\]",
    ),
    "repeated-keypoint": (
        lambda ds: ds.assign_coords(keypoint=["nose", "ear", "nose"]),
        r"coordinate 'keypoint' has repeated values",
    ),
    "time-not-increasing": (
        lambda ds: ds.assign_coords(time=[0, 1, 3, 2, 4]),
        r"time coordinate must increase strictly",
    ),
    "int-position": (
        lambda ds: ds.assign(position=ds[s.POSITION].fillna(0).astype(np.int32)),
        r"position must be float, got int32",
    ),
    "poses-kind": (_attr(pose3d_kind="poses3d"), r"this is a poses3d file, expected labels"),
    "text-fps": (
        _attr(fps="30"),
        r"attribute fps must be a positive number or absent, got '30'",
    ),
    "array-fps": (_attr(fps=[30.0, 25.0]), r"attribute fps must be a positive number"),
    "array-kind": (_attr(pose3d_kind=[1, 2]), r"this is a \[1,? 2\] file, expected labels"),
    "text-time": (
        lambda ds: ds.assign_coords(time=["a", "b", "c", "d", "e"]),
        r"time coordinate must hold numbers \(frames or seconds\), got <U1",
    ),
    "nan-time": (
        lambda ds: ds.assign_coords(time=[0.0, 1.0, np.nan, 3.0, 4.0]),
        r"time coordinate holds NaN or inf",
    ),
    "text-confidence": (
        lambda ds: ds.assign(confidence=ds[s.CONFIDENCE].astype(str)),
        r"confidence must be float, got <U",
    ),
    "text-review-reason": (
        lambda ds: ds.assign(review_reason=ds[s.SOURCE].astype(str)),
        r"review_reason must be integer, got <U",
    ),
    "huge-position": (
        lambda ds: _set(ds, s.POSITION, 1e288),
        r"position holds 1e\+288, beyond ±1e\+06: no camera or rig is that large; the file is "
        r"damaged \(restore it from a backup\)",
    ),
    "far-position": (lambda ds: _set(ds, s.POSITION, -2e6), r"position holds 2e\+06, beyond"),
    "hidden-with-a-point": (
        lambda ds: _hidden_at(ds, s.POSITION, [3.0, 4.0]),
        r"hidden is true at 1 cells whose point holds a point \(first: frame 0, view 'mid', "
        r"keypoint 'nose', individual 'mouse_a'\); a hidden keypoint has no position",
    ),
    "hidden-without-source": (
        lambda ds: _hidden_at(ds, s.SOURCE, int(P.NONE)),
        r"hidden is true at 1 cells whose point has source none .*a hidden mark says who",
    ),
    "int-hidden": (
        lambda ds: ds.assign(hidden=ds[s.HIDDEN].astype(np.int8)),
        r"hidden must be boolean, got int8",
    ),
    "hidden-dims": (
        lambda ds: ds.assign(hidden=ds[s.HIDDEN].transpose("view", "time", ...)),
        r"variable 'hidden' has dims \('view', 'time', 'keypoint', 'individual'\), expected",
    ),
}


@pytest.mark.parametrize(("change", "message"), BAD_LABELS.values(), ids=BAD_LABELS.keys())
def test_bad_labels_are_refused_on_read(tmp_path, change, message):
    path = tmp_path / "labels.nc"
    change(filled_labels()).to_netcdf(path, engine="h5netcdf")  # behind pose3d's back
    with pytest.raises(SchemaError, match=message) as info:
        load_labels(path)
    assert str(info.value).startswith(f"labels file {path}: ")


@pytest.mark.parametrize(("change", "message"), BAD_LABELS.values(), ids=BAD_LABELS.keys())
def test_bad_labels_are_refused_on_write_and_the_old_file_stays(tmp_path, change, message):
    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    before = path.read_bytes()
    with pytest.raises(SchemaError, match=message) as info:
        save_labels(path, change(filled_labels()))
    assert str(info.value).startswith(f"labels for {path}: ")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.nc"]  # no temporary files


BAD_POSES = {
    "labels-kind": (_attr(pose3d_kind="labels"), r"this is a labels file, expected poses3d"),
    "ds-type": (_attr(ds_type="bboxes"), r"attribute ds_type must be 'poses'"),
    "float-n-views": (
        lambda ds: ds.assign(n_views=ds[s.N_VIEWS].astype(float)),
        r"n_views must be integer, got float64",
    ),
    "missing-reprojection-error": (
        lambda ds: ds.drop_vars(s.REPROJECTION_ERROR),
        r"variable 'reprojection_error' is missing",
    ),
    "space-2d": (
        lambda ds: ds.isel(space=[0, 1]),
        r"space must be \['x', 'y', 'z'\], got \['x', 'y'\]",
    ),
    "inf-position": (lambda ds: _set(ds, s.POSITION, -np.inf), r"position contains inf"),
    "confidence-above-1": (lambda ds: _set(ds, s.CONFIDENCE, 2.0), r"confidence must lie"),
    "version-2": (_attr(pose3d_schema_version=2), r"schema version 2"),
    "text-fps": (_attr(fps="30"), r"attribute fps must be a positive number or absent, got '30'"),
    "negative-fps": (_attr(fps=-5.0), r"attribute fps must be a positive number .*got -5.0"),
    "text-time": (
        lambda ds: ds.assign_coords(time=[f"t{i}" for i in range(6)]),
        r"time coordinate must hold numbers",
    ),
    "text-confidence": (
        lambda ds: ds.assign(confidence=ds[s.CONFIDENCE].astype(str)),
        r"confidence must be float",
    ),
    "text-reprojection-error": (
        lambda ds: ds.assign(reprojection_error=ds[s.REPROJECTION_ERROR].astype(str)),
        r"reprojection_error must be float",
    ),
    "array-ds-type": (_attr(ds_type=[1, 2]), r"attribute ds_type must be 'poses'"),
    "huge-position": (
        lambda ds: _set(ds, s.POSITION, 3e9),
        r"position holds 3e\+09, beyond ±1e\+09",
    ),
}


@pytest.mark.parametrize(("change", "message"), BAD_POSES.values(), ids=BAD_POSES.keys())
def test_bad_poses_are_refused_on_read_and_write(tmp_path, change, message):
    bad = change(filled_poses())
    path = tmp_path / "poses3d.nc"
    bad.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match=message) as info:
        load_poses(path)
    assert str(info.value).startswith(f"poses file {path}: ")
    save_poses(path, filled_poses())
    before = path.read_bytes()
    with pytest.raises(SchemaError, match=message):
        save_poses(path, bad)
    assert path.read_bytes() == before


def test_a_poses_file_is_not_labels(tmp_path):
    path = tmp_path / "poses3d.nc"
    save_poses(path, filled_poses())
    with pytest.raises(SchemaError, match=rf"labels file {path}: this is a poses3d file"):
        load_labels(path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"\x89HDF\r\n\x1a\n" + b"\x00" * 64,
        lambda data: b"this is not netCDF at all\n" * 40,
        lambda data: b"",
    ],
    ids=["cut-in-half", "bare-signature", "garbage", "empty"],
)
def test_damaged_files_are_named(tmp_path, damage):
    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(
        SchemaError,
        match=rf"labels file {path} cannot be read as netCDF .*"
        r"the file is damaged or not a pose3d file",
    ):
        load_labels(path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(SchemaError, match=rf"labels file {tmp_path / 'labels.nc'} does not exist"):
        load_labels(tmp_path / "labels.nc")
    with pytest.raises(SchemaError, match=rf"poses file {tmp_path / 'p.nc'} does not exist"):
        load_poses(tmp_path / "p.nc")


# --- damage: checksums, broken HDF5 metadata, no noise ------------------------------------------


def _flip_data_byte(path: Path, variable: str) -> None:
    """Flip one byte in the middle of ``variable``'s first data chunk (found with h5py)."""
    with h5py.File(path, "r") as h5:
        dataset = h5[variable]
        if dataset.chunks:
            info = dataset.id.get_chunk_info(0)
            offset, size = info.byte_offset, info.size
        else:
            offset, size = dataset.id.get_offset(), dataset.id.get_storage_size()
    data = bytearray(path.read_bytes())
    data[offset + size // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _flip_after(path: Path, signature: bytes) -> None:
    """Flip a byte of the first HDF5 metadata block that starts with ``signature``."""
    data = bytearray(path.read_bytes())
    at = data.find(signature)
    if at < 0:
        pytest.skip(f"this HDF5 writes no {signature!r} block; the damage test needs one")
    data[at + 6] ^= 0xFF
    path.write_bytes(bytes(data))


def test_every_numeric_variable_is_written_with_a_checksum(tmp_path):
    """Numbers: HDF5's Fletcher-32 and pose3d's SHA-256 of the chunks; names: a SHA-256 of
    their values (they have no HDF5 checksum)."""
    save_labels(tmp_path / "labels.nc", filled_labels())
    save_poses(tmp_path / "poses3d.nc", filled_poses())
    for name in ("labels.nc", "poses3d.nc"):
        with h5py.File(tmp_path / name, "r") as h5:
            numeric = [k for k in h5 if k != DIGEST_GROUP and h5[k].dtype.kind in "biuf"]
            text = [k for k in h5 if k != DIGEST_GROUP and h5py.check_string_dtype(h5[k].dtype)]
            assert s.TIME in numeric and s.POSITION in numeric
            assert {s.KEYPOINT, s.INDIVIDUAL, s.SPACE} <= set(text)
            assert {k: h5[k].fletcher32 for k in numeric} == {k: True for k in numeric}
            assert set(h5[DIGEST_GROUP].attrs) == {"algorithm", *numeric, *text}


def test_long_recordings_are_stored_in_chunks_of_whole_frames_and_open_lazily(tmp_path):
    """A chunk holds every view, keypoint and individual of about 1 MiB of frames, so that a
    stretch of a long recording reads without the rest (xr.open_dataset(..., chunks=...))."""
    labels = new_labels(30_000, ["a", "b", "c", "d"], [f"k{i}" for i in range(12)], ["i0"])
    rng = np.random.default_rng(0)
    labels[s.POSITION].values[:] = rng.uniform(0, 100, labels[s.POSITION].shape)
    save_labels(tmp_path / "labels.nc", labels)
    with h5py.File(tmp_path / "labels.nc", "r") as h5:
        position = h5[s.POSITION]
        frame_bytes = 4 * 2 * 12 * 1 * 8
        assert position.chunks == (2**20 // frame_bytes, 4, 2, 12, 1)
        assert h5[s.SOURCE].chunks == (2**20 // frame_bytes, 4, 12, 1)  # the same frames
    chunk = 2**20 // frame_bytes
    with xr.open_dataset(tmp_path / "labels.nc", chunks={s.TIME: chunk}) as lazy:
        stretch = lazy[s.POSITION].isel({s.TIME: slice(20_000, 20_100)})
        assert stretch.chunks is not None  # not read yet
        np.testing.assert_array_equal(stretch.values, labels[s.POSITION].values[20_000:20_100])
    xr.testing.assert_identical(load_labels(tmp_path / "labels.nc"), labels)


LABEL_VARIABLES = [s.POSITION, s.CONFIDENCE, s.SOURCE, s.REVIEW, s.HIDDEN, s.TIME]


@pytest.mark.parametrize("variable", LABEL_VARIABLES)
def test_a_flipped_byte_in_labels_data_is_refused(tmp_path, capfd, variable):
    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    _flip_data_byte(path, variable)
    with pytest.raises(
        SchemaError,
        match=rf"^labels file {path} is damaged \(checksum mismatch in {variable}\); "
        r"restore it from a backup$",
    ):
        load_labels(path)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("variable", [s.POSITION, s.N_VIEWS, s.REPROJECTION_ERROR])
def test_a_flipped_byte_in_poses_data_is_refused(tmp_path, capfd, variable):
    path = tmp_path / "poses3d.nc"
    save_poses(path, filled_poses())
    _flip_data_byte(path, variable)
    with pytest.raises(SchemaError, match=rf"checksum mismatch in {variable}\); restore it"):
        load_poses(path)
    assert capfd.readouterr().err == ""


def test_a_flipped_byte_in_detections_is_refused(tmp_path, capfd):
    from pose3d.board import BoardDetections, CharucoBoard
    from pose3d.io.detections_nc import load_detections, save_detections

    corners = np.random.default_rng(1).uniform(0, 640, (2, 3, 4, 2))
    corners[0, 1] = np.nan
    detections = BoardDetections(
        ("cam0", "cam1"),
        ((640, 480), (640, 480)),
        np.array([0, 5, 9]),
        corners,
        CharucoBoard(3, 3, 30.0, 22.0),
    )
    path = tmp_path / "detections.nc"
    save_detections(path, detections)
    loaded = load_detections(path)
    np.testing.assert_array_equal(loaded.corners, corners)
    assert loaded.board == detections.board and loaded.sizes == detections.sizes
    _flip_data_byte(path, s.CORNERS)
    with pytest.raises(
        SchemaError, match=rf"detections file {path} is damaged \(checksum mismatch in corners\)"
    ):
        load_detections(path)
    assert capfd.readouterr().err == ""


def _erase_zero_word(path: Path, variable: str, value: float) -> None:
    """Overwrite two zero bytes of ``value`` (a float64 in ``variable``'s first chunk) with
    0xFF: the 16-bit word 0x0000 becomes 0xFFFF, which Fletcher-32 (sums modulo 65535) cannot
    tell apart."""
    with h5py.File(path, "r") as h5:
        info = h5[variable].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    chunk = data[info.byte_offset : info.byte_offset + info.size]
    at = info.byte_offset + chunk.find(np.float64(value).tobytes())
    assert at >= info.byte_offset and data[at : at + 2] == b"\0\0"
    data[at : at + 2] = b"\xff\xff"
    path.write_bytes(bytes(data))


def test_a_change_fletcher32_cannot_see_is_refused_by_the_sha256_checksum(tmp_path, capfd):
    path = tmp_path / "poses3d.nc"
    poses = filled_poses()
    poses[s.POSITION].values[0, 0, 0, 0] = 6.0  # 0x4018000000000000: three zero words
    save_poses(path, poses)
    _erase_zero_word(path, s.POSITION, 6.0)
    with h5py.File(path, "r") as h5:  # HDF5's own checksum passes, with another number
        assert h5[s.POSITION][0, 0, 0, 0] != 6.0
    with pytest.raises(
        SchemaError,
        match=rf"^poses file {path} is damaged or was changed in place by another program "
        rf"\(position does not match its SHA-256 checksum\); restore it from a backup, or, to "
        rf"accept the change, delete its group /{DIGEST_GROUP} ",
    ):
        load_poses(path)
    assert capfd.readouterr().err == ""


def test_a_file_saved_again_by_xarray_with_other_data_loads(tmp_path):
    """xarray (and movement) read the root group only, so a file they save again carries no
    stale checksums: it loads on what xarray wrote."""
    path = tmp_path / "poses3d.nc"
    save_poses(path, filled_poses())
    with xr.open_dataset(path, engine="h5netcdf") as opened:
        changed = opened.load()
    changed[s.POSITION].values[1, 0, 0, 0] += 5.0
    changed.to_netcdf(tmp_path / "again.nc", engine="h5netcdf")
    with h5py.File(tmp_path / "again.nc", "r") as h5:
        assert DIGEST_GROUP not in h5
    xr.testing.assert_identical(load_poses(tmp_path / "again.nc"), changed)


def test_a_file_changed_in_place_is_refused_until_its_checksums_are_deleted(tmp_path):
    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    with h5py.File(path, "r+") as h5:
        h5[s.POSITION][0, 0, 0, 0, 0] = 11.0
    with pytest.raises(SchemaError, match=r"changed in place by another program \(position "):
        load_labels(path)
    with h5py.File(path, "r+") as h5:  # what the message says to do
        del h5[DIGEST_GROUP]
    assert float(load_labels(path)[s.POSITION][0, 0, 0, 0, 0]) == 11.0


def test_files_written_without_checksums_still_load(tmp_path):
    """labels.nc / poses3d.nc written before pose3d used checksums (or by plain xarray)."""
    labels, poses = filled_labels(), filled_poses()
    labels.to_netcdf(tmp_path / "labels.nc", engine="h5netcdf")
    poses.to_netcdf(tmp_path / "poses3d.nc", engine="h5netcdf")
    with h5py.File(tmp_path / "labels.nc", "r") as h5:
        assert not h5[s.POSITION].fletcher32
    xr.testing.assert_identical(load_labels(tmp_path / "labels.nc"), labels)
    xr.testing.assert_identical(load_poses(tmp_path / "poses3d.nc"), poses)
    save_labels(tmp_path / "labels.nc", load_labels(tmp_path / "labels.nc"))  # now with them
    with h5py.File(tmp_path / "labels.nc", "r") as h5:
        assert h5[s.POSITION].fletcher32


def test_a_file_written_before_hidden_marks_loads_with_nothing_hidden(tmp_path):
    """labels.nc without the ``hidden`` variable (pose3d before it): every cell not hidden, and
    the next save writes the variable."""
    labels = filled_labels()
    older = labels.drop_vars(s.HIDDEN)
    older[s.SOURCE].values[labels[s.HIDDEN].values] = int(P.NONE)  # no hidden marks then
    save_labels(tmp_path / "labels.nc", older)
    with h5py.File(tmp_path / "labels.nc", "r") as h5:
        assert s.HIDDEN not in h5
    loaded = load_labels(tmp_path / "labels.nc")
    assert loaded[s.HIDDEN].dtype == bool and not loaded[s.HIDDEN].values.any()
    assert loaded[s.HIDDEN].dims == s.MARK_DIMS[s.HIDDEN]
    xr.testing.assert_identical(loaded.drop_vars(s.HIDDEN), older)
    save_labels(tmp_path / "labels.nc", loaded)
    with h5py.File(tmp_path / "labels.nc", "r") as h5:
        assert s.HIDDEN in h5 and h5[s.HIDDEN].fletcher32


def test_hidden_marks_round_trip_as_their_own_state(tmp_path):
    """Not labelled, a manual hidden mark and a tracked one stay three different things."""
    save_labels(tmp_path / "labels.nc", filled_labels())
    loaded = load_labels(tmp_path / "labels.nc")
    cells = {
        (1, "back", "tail", "mouse_a"): (P.MANUAL, True, 0.0),
        (2, "side", "nose", "mouse_b"): (P.TRACKED, True, 0.0),
        (1, "back", "nose", "mouse_a"): (P.NONE, False, np.nan),
    }
    for (t, v, k, i), (source, hidden, confidence) in cells.items():
        cell = {s.TIME: t, s.VIEW: v, s.KEYPOINT: k, s.INDIVIDUAL: i}
        assert np.isnan(loaded[s.POSITION].loc[cell].values).all()
        assert int(loaded[s.SOURCE].loc[cell]) == source
        assert bool(loaded[s.HIDDEN].loc[cell]) is hidden
        np.testing.assert_equal(float(loaded[s.CONFIDENCE].loc[cell]), confidence)
    assert int(loaded[s.HIDDEN].sum()) == 2


def test_the_committed_sample_files_load():
    sample = Path(__file__).resolve().parents[2] / "sample_data" / "session" / "truth"
    assert load_labels(sample / "labels.nc").sizes[s.TIME] > 0
    assert load_poses(sample / "poses3d.nc").sizes[s.TIME] > 0


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        # the root group's link index: h5py raises RuntimeError
        (b"FRHP", r"is damaged \(checksum mismatch in the file's HDF5 metadata\)"),
        # the root group's header: h5netcdf fails half-opened and complains when collected
        (b"OHDR", r"is damaged \(checksum mismatch in the file's HDF5 metadata\)"),
    ],
    ids=["link-heap", "root-header"],
)
def test_damaged_hdf5_metadata_is_one_clear_error_and_no_noise(tmp_path, capfd, signature, message):
    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    _flip_after(path, signature)
    with pytest.raises(SchemaError, match=rf"^labels file {path} {message}; restore it"):
        load_labels(path)
    gc.collect()
    assert capfd.readouterr().err == ""


def test_a_folder_or_fifo_named_like_a_labels_file_is_refused(tmp_path):
    (tmp_path / "labels.nc").mkdir()
    with pytest.raises(SchemaError, match=r"labels\.nc is not a regular file"):
        load_labels(tmp_path / "labels.nc")
    os.mkfifo(tmp_path / "poses3d.nc")
    with pytest.raises(SchemaError, match=r"poses3d\.nc is not a regular file"):
        load_poses(tmp_path / "poses3d.nc")


# --- label edits -------------------------------------------------------------------------------

WHERE = {s.TIME: 0, s.VIEW: "back", s.KEYPOINT: "nose", s.INDIVIDUAL: "mouse_a"}


def test_set_point_places_and_deletes_without_touching_the_input():
    ds = filled_labels()
    pristine = ds.copy(deep=True)
    moved = set_point(ds, 1, "mid", "ear", "mouse_b", (5.0, 6.0), P.MANUAL)
    xr.testing.assert_identical(ds, pristine)
    at = {s.TIME: 1, s.VIEW: "mid", s.KEYPOINT: "ear", s.INDIVIDUAL: "mouse_b"}
    assert moved[s.POSITION].loc[at].values.tolist() == [5.0, 6.0]
    assert moved[s.SOURCE].loc[at] == P.MANUAL
    assert moved[s.CONFIDENCE].loc[at] == 1.0
    # nothing else changed
    xr.testing.assert_identical(moved.drop_sel({s.TIME: 1}), ds.drop_sel({s.TIME: 1}))

    flagged = ds.copy(deep=True)
    flagged[s.REVIEW].loc[WHERE] = True
    deleted = set_point(flagged, 0, "back", "nose", "mouse_a", None)
    assert np.isnan(deleted[s.POSITION].loc[WHERE]).all()
    assert np.isnan(deleted[s.CONFIDENCE].loc[WHERE])
    assert deleted[s.SOURCE].loc[WHERE] == P.NONE
    assert not deleted[s.REVIEW].loc[WHERE]
    assert flagged[s.SOURCE].loc[WHERE] == P.MANUAL  # input untouched


def test_set_point_clears_the_trackers_guess_of_that_point():
    ds = filled_labels()
    ds[s.REVIEW_SCORE] = xr.full_like(ds[s.CONFIDENCE], 3.0)
    ds[s.REVIEW_REASON] = xr.full_like(ds[s.SOURCE], int(s.ReviewReason.JUMP))
    ds[s.REVIEW].loc[WHERE] = True
    corrected = set_point(ds, 0, "back", "nose", "mouse_a", (1.0, 2.0))
    assert np.isnan(corrected[s.REVIEW_SCORE].loc[WHERE])
    assert corrected[s.REVIEW_REASON].loc[WHERE] == s.ReviewReason.NONE
    assert not corrected[s.REVIEW].loc[WHERE]
    others = corrected[s.REVIEW_SCORE].drop_sel({s.TIME: 0})
    assert (others == 3.0).all()


def test_tracker_variables_are_validated(tmp_path):
    ds = filled_labels()
    ds[s.REVIEW_REASON] = xr.full_like(ds[s.SOURCE], 9)
    path = tmp_path / "labels.nc"
    with pytest.raises(SchemaError, match=r"review_reason holds unknown codes \[9\]"):
        save_labels(path, ds)
    ds[s.REVIEW_REASON] = ds[s.SOURCE].transpose(s.VIEW, ...) * 0
    with pytest.raises(SchemaError, match=r"variable 'review_reason' has dims"):
        save_labels(path, ds)


@pytest.mark.parametrize("xy", [(np.nan, 1.0), (1.0, np.inf)])
def test_set_point_refuses_non_finite(xy):
    with pytest.raises(Pose3dError, match="a point must be two finite numbers"):
        set_point(filled_labels(), 0, "back", "nose", "mouse_a", xy)


def _tool_output(ds: xr.Dataset, value: float) -> tuple[xr.DataArray, xr.DataArray]:
    position = xr.full_like(ds[s.POSITION], value)
    confidence = xr.full_like(ds[s.CONFIDENCE], 0.25)
    return position, confidence


def test_merge_never_overwrites_manual_points():
    ds = filled_labels()
    pristine = ds.copy(deep=True)
    position, confidence = _tool_output(ds, 7.0)
    merged, written = merge_points(ds, position, confidence, P.TRACKED)
    xr.testing.assert_identical(ds, pristine)
    manual = ds[s.SOURCE] == P.MANUAL
    assert int(manual.sum()) == 2  # a point and a hidden mark
    assert merged[s.HIDDEN].sel({**WHERE, s.TIME: 1, s.KEYPOINT: "tail"})  # still hidden
    kept = merged.where(manual)
    xr.testing.assert_identical(kept[s.POSITION], ds[s.POSITION].where(manual))
    assert kept[s.POSITION].sel(WHERE).values.tolist() == [10.25, 20.5]
    assert kept[s.SOURCE].sel(WHERE) == P.MANUAL
    assert kept[s.CONFIDENCE].sel(WHERE) == 1.0
    # tracked points replace only empty and tracked cells (the policy of pose3d.labels:
    # manual > imported > reprojected > tracked); the cells they replace are not flagged
    open_cells = ds[s.SOURCE].isin([P.NONE, P.TRACKED])
    assert (written == open_cells).all()
    assert ((merged[s.POSITION] == 7.0) == open_cells).all()
    assert ((merged[s.SOURCE] == P.TRACKED) == open_cells).all()
    assert ((merged[s.CONFIDENCE] == 0.25) == open_cells).all()
    closed = ~open_cells
    xr.testing.assert_identical(merged[s.REVIEW].where(closed), ds[s.REVIEW].where(closed))
    assert not merged[s.REVIEW].where(open_cells, False).any()


def test_merge_with_nan_positions_leaves_labels_as_they_were():
    ds = filled_labels()
    position, confidence = _tool_output(ds, np.nan)
    position[{s.TIME: 3}] = 9.0  # only frame 3 has tool output
    position.loc[{s.TIME: 3, s.VIEW: "side", s.SPACE: "y"}] = np.nan  # half a point = no point
    merged, _ = merge_points(ds, position, confidence, P.IMPORTED)
    untouched = ds.drop_sel({s.TIME: 3})
    xr.testing.assert_identical(merged.drop_sel({s.TIME: 3}), untouched)
    frame = merged.sel({s.TIME: 3})
    # the side view kept its own points (an imported ear of mouse_b, NaN elsewhere)
    xr.testing.assert_identical(frame.sel({s.VIEW: "side"}), ds.sel({s.TIME: 3, s.VIEW: "side"}))
    others = frame.sel({s.VIEW: ["back", "mid"]})
    assert (others[s.POSITION] == 9.0).all()
    assert (others[s.SOURCE] == P.IMPORTED).all()


def test_merge_of_a_sub_selection_in_another_order():
    ds = filled_labels()
    position, confidence = _tool_output(ds, 3.0)
    pick = {s.TIME: [4, 0], s.VIEW: ["mid", "back"], s.INDIVIDUAL: ["mouse_b", "mouse_a"]}
    sub_position = position.sel(pick).transpose(s.KEYPOINT, s.INDIVIDUAL, s.SPACE, s.VIEW, s.TIME)
    merged, _ = merge_points(ds, sub_position, confidence.sel(pick), P.TRACKED)
    region = (ds[s.TIME].isin([0, 4])) & (ds[s.VIEW].isin(["mid", "back"]))
    written = region & (ds[s.SOURCE] != P.MANUAL)
    assert int(written.sum()) == 2 * 2 * 3 * 2 - 1
    assert ((merged[s.SOURCE] == P.TRACKED) | ~written).all()
    assert ((merged[s.POSITION] == 3.0) | ~written).all()
    xr.testing.assert_identical(merged[s.SOURCE].where(~written), ds[s.SOURCE].where(~written))
    xr.testing.assert_identical(merged[s.POSITION].where(~written), ds[s.POSITION].where(~written))


def test_merge_refuses_manual_as_a_tool_source():
    ds = filled_labels()
    position, confidence = _tool_output(ds, 1.0)
    with pytest.raises(ValueError, match="delete them with set_point"):
        merge_points(ds, position, confidence, P.NONE)


def test_edits_then_save_round_trip(tmp_path: Path):
    ds = filled_labels()
    position, confidence = _tool_output(ds, 2.5)
    merged, _ = merge_points(ds, position, confidence, P.TRACKED)
    merged = set_point(merged, 2, "mid", "tail", "mouse_b", None)
    save_labels(tmp_path / "labels.nc", merged)
    xr.testing.assert_identical(load_labels(tmp_path / "labels.nc"), merged)


def test_a_netcdf_whose_data_lies_in_another_file_is_refused(tmp_path: Path) -> None:
    """A labels.nc from elsewhere must not read another file of the disk as numbers, nor
    follow a link out of itself."""
    import h5py

    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(1000, dtype="<f8").tobytes())
    with h5py.File(path, "a") as h5:
        h5.create_dataset(
            "stolen", (1000,), "<f8", external=[(str(secret), 0, secret.stat().st_size)]
        )
    with pytest.raises(SchemaError, match="dataset stolen keeps its data in other files"):
        load_labels(path)
    linked = tmp_path / "linked.nc"
    save_labels(linked, filled_labels())
    with h5py.File(linked, "a") as h5:
        h5["elsewhere"] = h5py.ExternalLink(str(path), "/position")
    with pytest.raises(SchemaError, match="elsewhere is a link"):
        load_labels(linked)


def test_files_are_encoded_in_parallel(tmp_path):
    """The TUI's autosave thread encodes labels while the main thread may save too: HDF5's
    in-memory files must not share a name (it keeps one open file per name)."""
    from concurrent.futures import ThreadPoolExecutor

    labels = filled_labels()
    paths = [tmp_path / f"labels{i}.nc" for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda path: save_labels(path, labels), paths))
    for path in paths:
        xr.testing.assert_identical(load_labels(path), labels)


# --- a long recording, a stretch of time at a time ---------------------------------------------


def test_labels_read_in_parts_are_the_labels_with_their_journal(tmp_path):
    """iter_labels' parts, joined, are load_labels' dataset: the journal's edits land in the
    part that holds their frame, whatever the part's size."""
    from pose3d.io.label_journal import LabelJournal, journal_path
    from pose3d.io.netcdf import iter_labels

    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    journal = LabelJournal(journal_path(path))
    moved = {s.POSITION: [7.0, 8.0], s.SOURCE: int(P.MANUAL), s.CONFIDENCE: 1.0}
    journal.append(3, "mid", "ear", "mouse_a", moved)  # frame 3: the second part of 2 frames
    journal.append(4, "back", "nose", "mouse_b", {s.REVIEW: True})
    whole = load_labels(path)
    assert whole[s.POSITION].sel({s.TIME: 3, s.VIEW: "mid", s.KEYPOINT: "ear"}).values[
        :, 0
    ].tolist() == [7.0, 8.0]
    for frames in (1, 2, 3, 5, 100):
        parts = list(iter_labels(path, frames))
        assert len(parts) == -(-5 // frames) and parts[0].sizes[s.TIME] == min(frames, 5)
        xr.testing.assert_identical(xr.concat(parts, dim=s.TIME), whole)


def test_labels_read_in_parts_are_checked_like_the_whole(tmp_path, capfd):
    from pose3d.io.netcdf import iter_labels

    path = tmp_path / "labels.nc"
    BAD_LABELS["far-position"][0](filled_labels()).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match=r"^labels file .*: position holds 2e\+06, beyond"):
        list(iter_labels(path, 2))
    save_labels(path, filled_labels())
    _flip_data_byte(path, s.CONFIDENCE)
    parts = iter_labels(path, 2)
    with pytest.raises(SchemaError, match=rf"^labels file {path} is damaged \(checksum mismatch"):
        next(parts)  # before the first part: the digests are checked first
    assert capfd.readouterr().err == ""
    unordered = filled_labels().assign_coords({s.TIME: [0, 1, 5, 2, 3]})
    unordered.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match=r"time coordinate must increase strictly"):
        list(iter_labels(path, 3))  # each part of 3 frames increases; the whole does not
    with pytest.raises(SchemaError, match=r"does not exist"):
        list(iter_labels(tmp_path / "nothing.nc"))


def test_poses_read_in_parts_are_the_poses_and_sum_up_like_them(tmp_path):
    from pose3d.io.netcdf import iter_poses
    from pose3d.io.summary import PoseCounts, summarize_poses

    path = tmp_path / "poses3d.nc"
    save_poses(path, filled_poses())
    whole = load_poses(path)
    for frames in (1, 4, 6):
        parts = list(iter_poses(path, frames))
        xr.testing.assert_identical(xr.concat(parts, dim=s.TIME), whole)
        counts = PoseCounts()
        for part in parts:
            counts.add(part)
        assert counts.describe() == summarize_poses(whole)
    assert summarize_poses(whole).startswith("6 frames, 3 keypoints, 2 individuals, 35/36 points")


def test_a_damaged_checksum_attribute_is_refused_before_its_value_is_read(tmp_path, capfd):
    """The digests are scalar strings; one whose type is damaged (fuzz: labels-parts, seed 1,
    #159, a bit flip that made one a variable-length sequence, which HDF5 then read to a
    segmentation fault) is refused by its type before its value is read."""
    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    with h5py.File(path, "r+") as h5:
        del h5[DIGEST_GROUP].attrs[s.CONFIDENCE]
        h5[DIGEST_GROUP].attrs[s.CONFIDENCE] = np.arange(3)
    with pytest.raises(SchemaError, match=r"the checksum of confidence in /pose3d_digests is"):
        load_labels(path)
    assert capfd.readouterr().err == ""


def test_a_name_changed_by_damage_is_refused_by_its_digest(tmp_path, capfd):
    """Names (view, keypoint, ... coordinates) are variable-length text outside any chunk, with
    no HDF5 checksum; their values are digested, so one changed letter (fuzz: labels, seed 1,
    #29: 'paw_front_left' read as 'paw_front_leFt') is refused, not read as another name."""
    path = tmp_path / "labels.nc"
    save_labels(path, filled_labels())
    with h5py.File(path, "r+") as h5:
        h5[s.KEYPOINT][1] = "eaR"
    with pytest.raises(SchemaError, match=r"keypoint does not match its SHA-256 checksum"):
        load_labels(path)
    with h5py.File(path, "r+") as h5:
        h5[s.KEYPOINT][1] = "ear"  # put back: the file loads again
    assert list(load_labels(path)[s.KEYPOINT].values) == KEYPOINTS
    assert capfd.readouterr().err == ""
