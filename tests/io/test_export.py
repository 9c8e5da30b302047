"""``pose3d export SESSION --format dlc|anipose|movement|nwb OUT`` end to end: what each format
writes, and the one clear message (exit code 2) with nothing written when it cannot."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.commands.labels_io import EXPORT_FORMATS
from pose3d.io.anipose import write_anipose_csv
from pose3d.io.label_formats import label_formats
from pose3d.io.netcdf import load_poses, save_poses
from pose3d.io.session_toml import save_session
from pose3d.session import Session


def _export(session: Session, fmt: str, out: Path, *options: str) -> int:
    return main(["export", str(session.root), "--format", fmt, *options, str(out)])


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_the_help_lists_the_registered_formats() -> None:
    exporting = [name for name, fmt in label_formats().items() if fmt.export is not None]
    assert list(EXPORT_FORMATS) == exporting


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
    write_anipose_csv(load_poses(full_session.poses_path), tmp_path / "expected.csv")
    assert csv.read_text() == (tmp_path / "expected.csv").read_text()
    table = pd.read_csv(csv)
    poses = load_poses(full_session.poses_path)
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
    poses = load_poses(session.poses_path)
    two = xr.concat([poses, poses + 0], dim=s.INDIVIDUAL).assign_coords({s.INDIVIDUAL: ["a", "b"]})
    two.attrs, two[s.POSITION].attrs = poses.attrs, poses[s.POSITION].attrs
    save_poses(session.poses_path, two)
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


def test_nwb(full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ndx_pose", reason="NWB export needs ndx-pose (pip install '.[nwb]')")
    out = tmp_path / "nwb"
    assert _export(full_session, "nwb", out, "--start-time", "2024-05-01T14:30:00Z") == 0
    assert f"wrote {out / 'session.nwb'}" in capsys.readouterr().out
    assert [p.name for p in out.iterdir()] == ["session.nwb"]


@pytest.mark.parametrize("fmt", ["anipose", "nwb", "movement"])
def test_missing_files_are_named_and_nothing_is_written(
    fmt: str, full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full_session.poses_path.unlink()
    if fmt != "anipose":
        full_session.labels_path.unlink()
    out = tmp_path / "out"
    assert _export(full_session, fmt, out) == EXIT_USER_ERROR
    missing = full_session.poses_path if fmt == "anipose" else full_session.labels_path
    assert str(missing.name) in _error(capsys)
    assert not out.exists()


def test_wrong_format_or_option(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _export(full_session, "csv", out) == EXIT_USER_ERROR
    assert "unknown export format 'csv'; pose3d exports to dlc, anipose" in _error(capsys)
    assert _export(full_session, "anipose", out, "--scorer", "me") == EXIT_USER_ERROR
    assert "export format anipose takes no option scorer (its options: individual)" in _error(
        capsys
    )
    assert not out.exists()
