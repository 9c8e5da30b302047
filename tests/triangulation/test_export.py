"""Triangulated poses exported through the format registry (pose3d.io.formats) without a
session: Anipose's pose-3d CSV and DeepLabCut's 3D h5 read back with pandas, movement's netCDF
with xarray; formats that need a session, or inputs that were not given, are named."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.io.formats import ExportData, export
from pose3d.pipeline.labels_io import export_poses
from pose3d.triangulation import triangulate

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def poses(rig: CameraGroup, synth: ModuleType) -> xr.Dataset:
    truth = synth.random_points(np.random.default_rng(51), 30).reshape(10, 3, 3)
    labels = synth.labels_of(rig, truth, noise=0.5, rng=np.random.default_rng(52),
                             keypoints=["nose", "neck", "tail"])  # fmt: skip
    labels[s.POSITION].values[4, 1:, :, 2] = np.nan  # tail seen by one view in frame 4
    return triangulate(labels[s.POSITION], rig, labels[s.CONFIDENCE], fps=25.0)


def test_anipose_csv_round_trip(poses: xr.Dataset, tmp_path: Path) -> None:
    (path,) = export("anipose-csv", ExportData(poses=poses), tmp_path / "pose3d.csv")
    assert path == tmp_path / "pose3d.csv"
    table = pd.read_csv(path)
    keypoints = ["nose", "neck", "tail"]
    expected = [f"{k}_{f}" for k in keypoints for f in ("x", "y", "z", "error", "ncams", "score")]
    expected += [f"M_{i}{j}" for i in range(3) for j in range(3)]
    expected += ["center_0", "center_1", "center_2", "fnum"]
    assert list(table.columns) == expected
    assert len(table) == 10 and (table["fnum"].to_numpy() == np.arange(10)).all()
    for k in keypoints:
        one = poses.sel(keypoint=k).isel(individual=0)
        for c in "xyz":
            np.testing.assert_array_equal(table[f"{k}_{c}"], one[s.POSITION].sel(space=c))
        np.testing.assert_array_equal(table[f"{k}_error"], one[s.REPROJECTION_ERROR])
        np.testing.assert_array_equal(table[f"{k}_score"], one[s.CONFIDENCE])
    assert np.isnan(table.loc[4, "tail_x"]) and np.isnan(table.loc[4, "tail_ncams"])
    assert (table.loc[table.index != 4, "tail_ncams"] == 4).all()
    assert (table["M_00"] == 1).all() and (table["M_01"] == 0).all()


def test_dlc_h5_round_trip(poses: xr.Dataset, tmp_path: Path) -> None:
    pytest.importorskip("tables")
    (path,) = export_poses(poses, "dlc-h5", tmp_path / "pose3d.h5")
    frame = pd.read_hdf(path, key="df_with_missing")
    assert frame.columns.names == ["scorer", "bodyparts", "coords"]
    assert list(frame.columns.get_level_values("bodyparts").unique()) == ["nose", "neck", "tail"]
    assert list(frame.columns.get_level_values("coords").unique()) == ["x", "y", "z"]
    values = frame.loc[:, ("pose3d", "neck", ["x", "y", "z"])].to_numpy()
    expected = poses[s.POSITION].sel(keypoint="neck").isel(individual=0).transpose(s.TIME, s.SPACE)
    np.testing.assert_array_equal(values, expected.values)


def test_several_individuals(rig: CameraGroup, synth: ModuleType, tmp_path: Path) -> None:
    truth = synth.random_points(np.random.default_rng(53), 16).reshape(4, 2, 2, 3)
    labels = synth.labels_of(rig, truth, individuals=["m1", "m2"])
    poses = triangulate(labels[s.POSITION], rig)
    with pytest.raises(Pose3dError, match=r"2 individuals \(m1, m2\).*--individual"):
        export_poses(poses, "anipose-csv", tmp_path / "a.csv")
    (csv,) = export_poses(poses, "anipose-csv", tmp_path / "a.csv", {"individual": "m2"})
    np.testing.assert_allclose(pd.read_csv(csv)["kp0_x"], truth[:, 0, 1, 0], atol=1e-6)
    pytest.importorskip("tables")
    (h5,) = export_poses(poses, "dlc-h5", tmp_path / "a.h5")
    frame = pd.read_hdf(h5, key="df_with_missing")
    assert frame.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    np.testing.assert_allclose(frame[("pose3d", "m1", "kp1", "z")], truth[:, 1, 0, 2], atol=1e-6)
    (one,) = export_poses(poses, "dlc-h5", tmp_path / "m2.h5", {"individual": "m2"})
    frame = pd.read_hdf(one, key="df_with_missing")  # one individual: single-animal columns
    assert frame.columns.names == ["scorer", "bodyparts", "coords"]
    np.testing.assert_allclose(frame[("pose3d", "kp0", "x")], truth[:, 0, 1, 0], atol=1e-6)


def test_movement_takes_the_poses_alone(poses: xr.Dataset, tmp_path: Path) -> None:
    out = tmp_path / "movement"
    assert export_poses(poses, "movement", out) == [out / "poses3d.nc"]
    with xr.open_dataset(out / "poses3d.nc") as got:
        xr.testing.assert_allclose(got.load()[s.POSITION], poses[s.POSITION])


def test_unknown_format_or_option(poses: xr.Dataset, tmp_path: Path) -> None:
    with pytest.raises(Pose3dError, match=r"unknown export format 'csv'; .*anipose-csv, dlc-h5"):
        export_poses(poses, "csv", tmp_path / "out.csv")
    with pytest.raises(Pose3dError, match="takes no option scorer"):
        export_poses(poses, "anipose-csv", tmp_path / "out.csv", {"scorer": "me"})
    assert not (tmp_path / "out.csv").exists()


def test_a_format_that_needs_a_session_says_so(poses: xr.Dataset, tmp_path: Path) -> None:
    for name in ("anipose", "nwb", "dlc"):
        with pytest.raises(
            Pose3dError, match=rf"without a session.*pose3d export SESSION --format {name} OUT"
        ):
            export_poses(poses, name, tmp_path / "out")
    with pytest.raises(Pose3dError, match=r"needs the 3D poses \(poses3d.nc\), and none were"):
        export("dlc-h5", ExportData(), tmp_path / "out.h5")
    with pytest.raises(Pose3dError, match="neither 2D labels nor 3D poses were given"):
        export("movement", ExportData(), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


AWKWARD = ["paw, left", 'the "tip"', "two\nlines", "carriage\rreturn", "plain"]


def _awkward(poses: xr.Dataset) -> xr.Dataset:
    """``poses`` with keypoint names a hand-joined CSV header breaks on, and two more
    keypoints (copies, moved by 1 mm) so that there are five."""
    more = poses.isel({s.KEYPOINT: [0, 1]}).copy(deep=True)
    more[s.POSITION].values[:] += 1.0
    five = xr.concat([poses, more], dim=s.KEYPOINT, combine_attrs="override")
    return five.assign_coords({s.KEYPOINT: AWKWARD})


def _check_awkward(path: Path, poses: xr.Dataset) -> None:
    """Read back with csv and pandas: one cell per column, named right, values right."""
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    fields = ("x", "y", "z", "error", "ncams", "score")
    expected = [f"{k}_{f}" for k in AWKWARD for f in fields]
    expected += [f"M_{i}{j}" for i in range(3) for j in range(3)]
    expected += ["center_0", "center_1", "center_2", "fnum"]
    assert rows[0] == expected
    assert len(rows) == 1 + poses.sizes[s.TIME] and {len(r) for r in rows} == {len(expected)}
    table = pd.read_csv(path)
    assert list(table.columns) == expected
    for k in AWKWARD:
        one = poses.sel({s.KEYPOINT: k}).isel({s.INDIVIDUAL: 0})
        for c in "xyz":
            np.testing.assert_array_equal(table[f"{k}_{c}"], one[s.POSITION].sel(space=c))
        np.testing.assert_array_equal(table[f"{k}_score"], one[s.CONFIDENCE])
    assert (table["fnum"].to_numpy() == np.arange(poses.sizes[s.TIME])).all()


def test_anipose_csv_quotes_awkward_keypoint_names(poses: xr.Dataset, tmp_path: Path) -> None:
    awkward = _awkward(poses)
    (path,) = export("anipose-csv", ExportData(poses=awkward), tmp_path / "pose3d.csv")
    _check_awkward(path, awkward)


def test_export_3d_quotes_awkward_keypoint_names(
    poses: xr.Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pose3d export-3d`` from a poses3d.nc whose keypoint names hold , " and line breaks."""
    from pose3d.cli import main
    from pose3d.io.netcdf import save_poses

    awkward = _awkward(poses)
    save_poses(tmp_path / "poses3d.nc", awkward)
    out = tmp_path / "out.csv"
    args = ["export-3d", str(tmp_path / "poses3d.nc"), "--format", "anipose-csv", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    _check_awkward(out, awkward)
