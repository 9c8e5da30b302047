"""``pose3d export SESSION --format FORMAT OUT`` end to end: what each format writes, and the one
clear message (exit code 2) with nothing written when it cannot; the format registry
(pose3d.io.formats) that lists 2D and 3D formats and hands exporters datasets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.io.anipose import write_anipose_csv
from pose3d.io.formats import FORMATS, ExportData, Lazy, export, export_formats
from pose3d.io.netcdf import load_labels, load_poses, save_labels, save_poses
from pose3d.io.session_toml import save_session
from pose3d.session import Session
from pose3d.skeleton import Skeleton


def _export(session: Session, fmt: str, out: Path, *options: str) -> int:
    return main(["export", str(session.root), "--format", fmt, *options, str(out)])


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_the_registry_lists_2d_and_3d_formats() -> None:
    formats = {f.name: f for f in FORMATS}
    assert [f.name for f in FORMATS if f.read is not None] == ["dlc", "sleap-analysis", "sleap"]
    assert list(export_formats()) == [
        "dlc", "anipose", "movement", "nwb", "anipose-csv", "dlc-h5",
    ]  # fmt: skip
    assert "labels" in formats["dlc"].needs and "poses" in formats["anipose"].needs
    assert formats["dlc-h5"].writes == formats["anipose-csv"].writes == "file"
    assert list(export_formats(("poses",))) == ["movement", "anipose-csv", "dlc-h5"]


def test_every_registered_function_exists() -> None:
    """The registry names its functions lazily (module, name): each must be there."""
    import importlib

    for fmt in FORMATS:
        for function in (fmt.check, fmt.read, fmt.export):
            if function is not None:
                assert isinstance(function, Lazy), fmt.name
                assert callable(getattr(importlib.import_module(function.module), function.name))


def test_the_help_lists_the_registered_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for fmt in export_formats().values():
        assert f"{fmt.name}: {' '.join(fmt.description.split())}" in text


def test_listing_the_formats_imports_no_format_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pose3d.cli import build_parser; build_parser(); "
        "print([m for m in ('pandas', 'xarray', 'h5py', 'pose3d.io.dlc') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dlc(full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "project"
    assert _export(full_session, "dlc", out, "--scorer", "me") == 0
    assert "exported 8 files (dlc)" in capsys.readouterr().out  # 2 views x (2 PNGs, h5, csv)
    csv = out / "labeled-data" / "cam0" / "CollectedData_me.csv"
    table = pd.read_csv(csv, header=[0, 1, 2], index_col=[0, 1, 2])
    assert [name for *_, name in table.index] == ["img00.png", "img30.png"]


def test_anipose(full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "anipose"
    assert _export(full_session, "anipose", out) == 0
    csv = out / "pose-3d" / "session.csv"
    assert f"wrote {csv}" in capsys.readouterr().out
    write_anipose_csv(load_poses(full_session.paths.poses), tmp_path / "expected.csv")
    assert csv.read_text() == (tmp_path / "expected.csv").read_text()
    table = pd.read_csv(csv)
    poses = load_poses(full_session.paths.poses)
    np.testing.assert_allclose(
        table["nose_x"], poses[s.POSITION].sel(keypoint="nose", space="x").values[:, 0]
    )
    assert _export(full_session, "anipose", out) == EXIT_USER_ERROR  # never replaces a file
    assert f"{csv} already exists" in _error(capsys)


def test_anipose_one_file_per_individual(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = replace(full_session, individuals=("a", "b"))
    save_session(session)
    poses = load_poses(session.paths.poses)
    two = xr.concat([poses, poses + 0], dim=s.INDIVIDUAL).assign_coords({s.INDIVIDUAL: ["a", "b"]})
    two.attrs, two[s.POSITION].attrs = poses.attrs, poses[s.POSITION].attrs
    save_poses(session.paths.poses, two)
    assert _export(session, "anipose", tmp_path / "all") == 0
    assert sorted(p.name for p in (tmp_path / "all" / "pose-3d").iterdir()) == [
        "session_a.csv",
        "session_b.csv",
    ]
    assert _export(session, "anipose", tmp_path / "one", "--individual", "b") == 0
    assert [p.name for p in (tmp_path / "one" / "pose-3d").iterdir()] == ["session_b.csv"]
    capsys.readouterr()
    assert _export(session, "anipose", tmp_path / "none", "--individual", "c") == EXIT_USER_ERROR
    assert "no individual 'c'; the poses hold a, b" in _error(capsys)


def test_movement(full_session: Session, tmp_path: Path) -> None:
    out = tmp_path / "movement"
    assert _export(full_session, "movement", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["labels.nc", "poses3d.nc"]
    for name in ("labels.nc", "poses3d.nc"):
        with xr.open_dataset(out / name) as got, xr.open_dataset(full_session.root / name) as want:
            xr.testing.assert_identical(got.load(), want.load())


def test_movement_carries_hidden_marks(full_session: Session, tmp_path: Path) -> None:
    """The movement export is labels.nc itself: the hidden variable travels, and in movement's
    own terms a hidden keypoint is a NaN position with confidence 0 (not labelled: NaN, NaN)."""
    from pose3d.labels import set_hidden

    labels = load_labels(full_session.paths.labels)
    labels = set_hidden(labels, 5, "cam0", "nose", "individual_0")
    save_labels(full_session.paths.labels, labels)
    out = tmp_path / "movement"
    assert _export(full_session, "movement", out) == 0
    back = load_labels(out / "labels.nc")
    xr.testing.assert_identical(back, labels)
    cell = {s.TIME: 5, s.VIEW: "cam0", s.KEYPOINT: "nose", s.INDIVIDUAL: "individual_0"}
    with xr.open_dataset(out / "labels.nc") as plain:  # what movement opens
        assert np.isnan(plain[s.POSITION].sel(cell).values).all()
        assert float(plain[s.CONFIDENCE].sel(cell)) == 0.0
        assert bool(plain[s.HIDDEN].sel(cell)) and int(plain[s.HIDDEN].sum()) == 1


def test_nwb(full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ndx_pose", reason="NWB export needs ndx-pose (pip install '.[nwb]')")
    out = tmp_path / "nwb"
    assert _export(full_session, "nwb", out, "--start-time", "2024-05-01T14:30:00Z") == 0
    assert f"wrote {out / 'session.nwb'}" in capsys.readouterr().out
    assert [p.name for p in out.iterdir()] == ["session.nwb"]


@pytest.mark.parametrize("fmt", ["anipose", "nwb", "movement", "dlc", "anipose-csv", "dlc-h5"])
def test_missing_files_are_named_and_nothing_is_written(
    fmt: str, full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full_session.paths.poses.unlink()
    full_session.paths.labels.unlink()
    out = tmp_path / "out"
    assert _export(full_session, fmt, out) == EXIT_USER_ERROR
    error = _error(capsys)
    root = full_session.root
    if fmt in ("anipose", "anipose-csv", "dlc-h5"):
        assert f"{full_session.paths.poses} does not exist" in error
        assert f"run `pose3d triangulate {root}` first" in error
    elif fmt == "movement":
        assert str(full_session.paths.labels) in error and str(full_session.paths.poses) in error
    else:
        assert f"{full_session.paths.labels} does not exist" in error
        assert f"pose3d import {root}" in error
    assert not out.exists()


def test_a_file_format_exports_the_sessions_poses(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "poses.csv"
    assert _export(full_session, "anipose-csv", out) == 0
    assert "exported 1 file (anipose-csv)" in capsys.readouterr().out
    write_anipose_csv(load_poses(full_session.paths.poses), tmp_path / "expected.csv")
    assert out.read_text() == (tmp_path / "expected.csv").read_text()


def test_an_exporter_receives_datasets_not_a_folder(full_session: Session, tmp_path: Path) -> None:
    """The session's files are read here once; the exporters work on the datasets alone (the
    session folder is gone when they run)."""
    import shutil

    labels, poses = load_labels(full_session.paths.labels), load_poses(full_session.paths.poses)
    shutil.rmtree(full_session.root)
    out = tmp_path / "movement"
    data = ExportData(labels=labels, poses=poses)
    assert export("movement", data, out) == [out / "labels.nc", out / "poses3d.nc"]
    xr.testing.assert_identical(load_labels(out / "labels.nc"), labels)
    session = replace(full_session, root=tmp_path / "elsewhere")  # names the files, not read
    anipose = export("anipose", ExportData(poses=poses, session=session), tmp_path / "anipose")
    assert anipose == [tmp_path / "anipose" / "pose-3d" / "session.csv"]
    write_anipose_csv(poses, tmp_path / "expected.csv")
    assert anipose[0].read_text() == (tmp_path / "expected.csv").read_text()


def test_wrong_format_or_option(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _export(full_session, "csv", out) == EXIT_USER_ERROR
    assert (
        "unknown export format 'csv'; pose3d exports to dlc, anipose, movement, nwb, "
        "anipose-csv, dlc-h5" in _error(capsys)
    )
    assert _export(full_session, "anipose", out, "--scorer", "me") == EXIT_USER_ERROR
    assert "export format anipose takes no option scorer (its options: individual)" in _error(
        capsys
    )
    assert not out.exists()


def test_anipose_header_quotes_awkward_keypoint_names(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Keypoint names with a comma, a quote or a line break: the header has one quoted cell
    per column (csv module), so csv and pandas read the columns and values back."""
    import csv

    awkward = ["paw, left", 'the "tip"', "two\nlines", "cr\rhere"]
    old = full_session.skeleton.keypoints
    names = [*awkward, *old[len(awkward) :]]
    poses = load_poses(full_session.paths.poses).assign_coords({s.KEYPOINT: names})
    save_poses(full_session.paths.poses, poses)
    labels = load_labels(full_session.paths.labels).assign_coords({s.KEYPOINT: names})
    save_labels(full_session.paths.labels, labels)
    rename = dict(zip(old, names, strict=True))
    edges = tuple((rename[a], rename[b]) for a, b in full_session.skeleton.edges)
    save_session(replace(full_session, skeleton=Skeleton(tuple(names), edges)))
    out = tmp_path / "anipose"
    assert _export(full_session, "anipose", out) == 0, capsys.readouterr().err
    csv_path = out / "pose-3d" / "session.csv"
    with open(csv_path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    assert header[:6] == [f"{names[0]}_{c}" for c in ("x", "y", "z", "error", "ncams", "score")]
    assert (
        header[6] == 'the "tip"_x' and header[12] == "two\nlines_x" and header[18] == "cr\rhere_x"
    )
    assert len(rows) == 60 and {len(r) for r in rows} == {len(header)} == {6 * len(names) + 13}
    table = pd.read_csv(csv_path)
    for name in names:
        np.testing.assert_array_equal(
            table[f"{name}_z"], poses[s.POSITION].sel(keypoint=name, space="z").values[:, 0]
        )


@pytest.mark.parametrize("fmt", ["anipose-csv", "dlc-h5"])
def test_a_file_format_reads_the_poses_a_part_at_a_time(
    full_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """poses3d.nc read 3 frames at a time (a long recording's parts): the same file as from
    the whole dataset, through `pose3d export` and `pose3d export-3d`; every part was read."""
    import pose3d.io.netcdf as netcdf

    if fmt == "dlc-h5":
        pytest.importorskip("tables")
    poses = load_poses(full_session.paths.poses)
    assert poses.sizes[s.TIME] > 6
    export(fmt, ExportData(poses=poses), tmp_path / "whole")
    read = []
    iter_poses = netcdf.iter_poses

    def small_parts(path: Path, frames: int = 3) -> object:
        for part in iter_poses(path, 3):
            read.append(part.sizes[s.TIME])
            yield part

    monkeypatch.setattr(netcdf, "iter_poses", small_parts)
    assert _export(full_session, fmt, tmp_path / "from_session") == 0
    assert main(["export-3d", str(full_session.paths.poses), "--format", fmt,
                 str(tmp_path / "from_file")]) == 0  # fmt: skip
    assert sum(read) == 2 * poses.sizes[s.TIME] and max(read) == 3
    for name in ("from_session", "from_file"):
        if fmt == "dlc-h5":
            expected = pd.read_hdf(tmp_path / "whole")
            pd.testing.assert_frame_equal(pd.read_hdf(tmp_path / name), expected)
        else:
            assert (tmp_path / name).read_text() == (tmp_path / "whole").read_text()
