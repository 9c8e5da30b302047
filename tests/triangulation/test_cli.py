"""``pose3d triangulate``, ``pose3d sync`` and ``pose3d export-3d`` end to end, and their one
clear message (exit code 2) on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.io.calibration_toml import save_calibration
from pose3d.io.netcdf import load_labels, load_poses, save_labels
from tests.support.cli import error_line


def _median_error(poses_path: Path, truth: np.ndarray) -> float:
    poses = load_poses(poses_path)
    position = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    return float(np.nanmedian(np.linalg.norm(position[:, :, 0] - truth, axis=-1)))


def test_triangulate_a_session(synthetic_session: Any, capsys: pytest.CaptureFixture[str]) -> None:
    root = synthetic_session.root
    assert main(["triangulate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "360 of 360 points triangulated" in out and "positions in mm" in out
    assert _median_error(root / "poses3d.nc", synthetic_session.truth) < 1.0
    poses = load_poses(root / "poses3d.nc")
    assert poses.attrs["fps"] == 30.0 and poses.attrs["pose3d_triangulation"] == "dlt"


def test_optim_with_views_and_exports(
    synthetic_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root = synthetic_session.root
    csv, h5 = root / "pose3d.csv", root / "pose3d.h5"
    args = ["triangulate", str(root), "--method", "optim", "--views", "cam0,cam2,cam3"]
    exports = ["--export", "anipose-csv", str(csv), "--export", "dlc-h5", str(h5)]
    assert main([*args, *exports]) == 0
    assert f"exported {csv}" in capsys.readouterr().out
    assert csv.is_file() and h5.is_file()
    poses = load_poses(root / "poses3d.nc")
    assert poses.attrs["pose3d_views"] == "cam0,cam2,cam3"
    assert int(poses[s.N_VIEWS].max()) == 3
    assert _median_error(root / "poses3d.nc", synthetic_session.truth) < 1.0
    again = root / "again.csv"
    assert main(["export-3d", str(root / "poses3d.nc"), "--format", "anipose-csv", str(again)]) == 0
    assert again.read_text() == csv.read_text()


def test_export_3d_is_export_by_format_name(
    synthetic_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pose3d export-3d POSES --format F OUT`` writes what ``pose3d export SESSION --format F
    OUT`` writes from the session's poses3d.nc; the suffix alone no longer chooses."""
    root = synthetic_session.root
    assert main(["triangulate", str(root)]) == 0
    poses = str(root / "poses3d.nc")
    for fmt, name in (("anipose-csv", "a.csv"), ("dlc-h5", "a.h5")):
        alias, session = tmp_path / "alias" / name, tmp_path / "session" / name
        alias.parent.mkdir(exist_ok=True)
        session.parent.mkdir(exist_ok=True)
        assert main(["export-3d", poses, "--format", fmt, str(alias)]) == 0
        assert f"exported {alias}" in capsys.readouterr().out
        assert main(["export", str(root), "--format", fmt, str(session)]) == 0
        if fmt == "anipose-csv":
            assert alias.read_text() == session.read_text()
    pd = pytest.importorskip("pandas")
    pd.testing.assert_frame_equal(
        pd.read_hdf(tmp_path / "alias" / "a.h5"), pd.read_hdf(tmp_path / "session" / "a.h5")
    )
    capsys.readouterr()
    assert main(["export-3d", poses, str(tmp_path / "b.csv")]) == EXIT_USER_ERROR
    assert "--format movement|anipose-csv|dlc-h5 (the file's suffix" in error_line(capsys)
    assert main(["export-3d", poses, "--format", "anipose", str(tmp_path / "b")]) == 2
    assert "pose3d export SESSION --format anipose OUT" in error_line(capsys)
    assert main(["triangulate", str(root), "--export", "csv", str(tmp_path / "b.csv")]) == 2
    assert "unknown export format 'csv'" in error_line(capsys)
    assert not (tmp_path / "b.csv").exists() and not (tmp_path / "b").exists()


def test_triangulate_standalone_files(
    synthetic_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = synthetic_session.root
    out = tmp_path / "poses3d.nc"
    code = main(
        [
            "triangulate",
            "--calibration", str(root / "calibration" / "calibration.toml"),
            "--labels", str(root / "labels.nc"),
            "--out", str(out),
            "--method", "ransac",
        ]
    )  # fmt: skip
    assert code == 0
    assert _median_error(out, synthetic_session.truth) < 1.0
    assert load_poses(out).attrs["time_unit"] == "frames"


def test_sync_dry_run(synthetic_session: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", str(synthetic_session.root), "--max-offset", "3", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "cam3: offset +0 (change +0 frames)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "m"], "calibration is in 'mm' but 'm' was expected"),
        (["--views", "cam0"], "at least 2 views, got 1"),
        (["--views", "cam0,cam9"], "view(s) cam9 not in the labels"),
        (["--labels", "x.nc"], "either a SESSION folder or --calibration"),
    ],
)
def test_bad_options(
    synthetic_session: Any,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    assert main(["triangulate", str(synthetic_session.root), *args]) == EXIT_USER_ERROR
    assert message in error_line(capsys)


def test_calibration_lacks_a_camera(
    synthetic_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root = synthetic_session.root
    rig: CameraGroup = synthetic_session.cameras
    save_calibration(root / "calibration" / "calibration.toml", CameraGroup(rig.cameras[:3]))
    assert main(["triangulate", str(root)]) == EXIT_USER_ERROR
    assert "cam3 not in the calibration" in error_line(capsys)
    assert main(["triangulate", str(root), "--views", "cam0,cam1,cam2"]) == 0


def test_no_point_seen_by_two_views(
    synthetic_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root = synthetic_session.root
    labels = load_labels(root / "labels.nc")
    labels[s.POSITION].values[:, 1:] = np.nan
    save_labels(root / "labels.nc", labels)
    assert main(["triangulate", str(root)]) == EXIT_USER_ERROR
    assert "no point is seen by two or more of the views" in error_line(capsys)
    assert not (root / "poses3d.nc").exists()


def test_missing_inputs(
    synthetic_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["triangulate"]) == EXIT_USER_ERROR
    assert "give a SESSION folder, or all of" in error_line(capsys)
    root = synthetic_session.root
    (root / "calibration" / "calibration.toml").unlink()
    assert main(["triangulate", str(root)]) == EXIT_USER_ERROR
    assert "no calibration" in error_line(capsys)
    none, out = str(tmp_path / "none.nc"), str(tmp_path / "a.csv")
    assert main(["export-3d", none, "--format", "anipose-csv", out]) == 2
    assert "does not exist" in error_line(capsys)


def test_locked_session(synthetic_session: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.triangulate import triangulate_session

    with SessionFolder(synthetic_session.root) as folder:  # as the TUI holds one
        assert main(["triangulate", str(synthetic_session.root)]) == EXIT_USER_ERROR
        triangulate_session(folder)
    assert "open for writing by another pose3d process" in error_line(capsys)
    assert (synthetic_session.root / "poses3d.nc").is_file()


@pytest.mark.parametrize("method", ["dlt", "ransac", "optim"])
def test_labels_triangulated_a_part_at_a_time_are_the_whole_triangulated(
    synthetic_session: Any, method: str
) -> None:
    """pose3d triangulate reads a long recording a part at a time: DLT and RANSAC solve each
    part (each frame alone), optim gathers the parts' positions first. Parts of 7 frames give
    the poses of the labels triangulated whole (to 1e-9 mm: a batch of another size rounds
    differently in the last bit, 3e-14 mm here)."""
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.triangulation.api import TriangulationSettings, triangulate_labels

    folder = SessionFolder(synthetic_session.root, write=False)
    cameras, edges = folder.cameras(), folder.session.skeleton.edges
    settings = TriangulationSettings(method=method)
    whole = triangulate_labels(folder.labels(), cameras, settings, edges, 30.0)
    steps: list[tuple[int, int]] = []
    parts = triangulate_labels(
        folder.labels_in_parts(frames=7),
        cameras,
        settings,
        edges,
        30.0,
        lambda _step, done, total: steps.append((done, total)),
        frames=folder.labels().sizes[s.TIME],
    )
    import xarray as xr

    xr.testing.assert_allclose(parts, whole, rtol=0, atol=1e-9)
    assert parts.attrs == whole.attrs
    assert steps[-1][0] == steps[-1][1] and steps[0][0] == 0
