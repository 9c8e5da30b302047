"""Comparing a sample session's stages with its ground truth: exact inputs give zero error,
known perturbations give the error they should, and the commands of the demo run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup, matrix_to_rodrigues, rodrigues_to_matrix
from pose3d.cli import main
from pose3d.errors import Pose3dError
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import load_labels, load_poses
from pose3d.synthetic.compare import (
    camera_errors,
    in_camera_frame,
    pose_errors,
    seed_labels,
    tracking_errors,
    truth_folder,
)

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "session" / "truth"


@pytest.fixture(scope="module")
def truth() -> tuple[CameraGroup, xr.Dataset, xr.Dataset]:
    cameras = load_calibration(SAMPLE / "calibration.toml")
    return cameras, load_labels(SAMPLE / "labels.nc"), load_poses(SAMPLE / "poses3d.nc")


def test_seed_labels_are_the_visible_true_points(truth: tuple) -> None:
    _, labels, _ = truth
    seeded = seed_labels(labels, [0, 5])
    manual = seeded[s.SOURCE].values == s.PointSource.MANUAL
    visible = labels["visible"].values.astype(bool)
    assert manual[[0, 5]].sum() == visible[[0, 5]].sum() > 0
    assert not manual[1:5].any() and not manual[6:].any()
    np.testing.assert_array_equal(
        seeded[s.POSITION].values[0][np.broadcast_to(visible[0][:, None], (4, 2, 12, 1))],
        labels[s.POSITION].values[0][np.broadcast_to(visible[0][:, None], (4, 2, 12, 1))],
    )
    with pytest.raises(Pose3dError, match="frame 99 is not in the truth"):
        seed_labels(labels, [99])


def test_camera_errors_are_zero_for_the_truth_and_see_a_turned_camera(truth: tuple) -> None:
    cameras, _, _ = truth
    moved = in_camera_frame(cameras, "cam0")  # another world: the errors do not change
    assert all(e.rotation_deg < 1e-4 and e.center < 1e-6 for e in camera_errors(moved, cameras))
    turn = rodrigues_to_matrix([0.0, np.radians(1.0), 0.0])
    cam2 = cameras["cam2"]
    turned = cam2.with_extrinsics(matrix_to_rodrigues(turn @ cam2.rotation), turn @ cam2.tvec)
    rig = CameraGroup(tuple(turned if c.name == "cam2" else c for c in cameras), cameras.unit)
    errors = {e.name: e for e in camera_errors(rig, cameras)}
    assert errors["cam2"].rotation_deg == pytest.approx(1.0, abs=1e-4)
    assert errors["cam2"].center == pytest.approx(0.0, abs=1e-6)  # turned about its centre
    assert errors["cam1"].rotation_deg < 1e-4


def test_tracking_errors_per_view(truth: tuple) -> None:
    _, labels, _ = truth
    tracked = labels.copy(deep=True)
    tracked[s.SOURCE].values[:] = s.PointSource.TRACKED
    tracked[s.POSITION].values[:, 1, 0] += 4.0  # cam1: 4 px off in x
    rows = {r.name: r for r in tracking_errors(tracked, labels)}
    assert rows["cam0"].median == 0.0 and rows["cam0"].within == 1.0
    assert rows["cam1"].median == pytest.approx(4.0) and rows["cam1"].within == 0.0
    assert rows["cam0"].points == int(labels["visible"].values[:, 0].sum())


def test_pose_errors_move_the_poses_into_the_truth_world(truth: tuple) -> None:
    """Poses expressed in a world whose origin is cam0 (what calibrate writes) compare with
    the truth at zero error; a 1 % scale error shows up in mm."""
    cameras, _, poses = truth
    calibrated = in_camera_frame(cameras, "cam0")
    in_cam0 = poses.copy(deep=True)
    position = poses[s.POSITION].transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT, s.SPACE)
    moved = cameras["cam0"].world_to_camera(position.values)
    in_cam0[s.POSITION] = (position.dims, moved)
    exact = pose_errors(in_cam0, poses, calibrated, cameras)
    assert exact.median < 1e-6 and exact.within == 1.0
    assert exact.points == int(np.isfinite(moved).all(axis=-1).sum())
    scaled = in_cam0.copy(deep=True)
    scaled[s.POSITION] = scaled[s.POSITION] * 1.01
    assert pose_errors(scaled, poses, calibrated, cameras).median > 1.0  # ~1 % of ~0.5 m


def test_demo_commands_seed_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "demo"
    args = ["sample-data", str(root), "--videos-only", "--frames", "3", "--board-frames", "2"]
    args += ["--cameras", "3", "--width", "160", "--height", "120", "--label-frames", "0,2"]
    assert main(args) == 0
    labels = load_labels(root / "labels.nc")
    manual = labels[s.SOURCE].values == s.PointSource.MANUAL
    assert manual[[0, 2]].any() and not manual[1].any()
    assert "manual points" in capsys.readouterr().out
    shutil.copy(root / "truth" / "calibration.toml", root / "calibration" / "calibration.toml")
    assert main(["compare-truth", str(root)]) == 0
    out = capsys.readouterr().out
    assert "calibration vs truth" in out and "cam2" in out and "next:" in out
    assert "0.000" in out  # the true calibration: no rotation error
    assert main(["compare-truth", str(tmp_path)]) == 2
    assert "holds no ground truth" in capsys.readouterr().err
    with pytest.raises(Pose3dError, match="no ground truth"):
        truth_folder(tmp_path)
