"""The calibrated views' consensus: it finds the view that is off, and where geometry cannot
choose between two views, the tracker's doubt does; on the synthetic rig's ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import load_poses
from pose3d.tracking.consensus import multiview_check


def test_multiview_check_finds_the_bad_view(truth: xr.Dataset, synthetic_template: Path) -> None:
    cameras = load_calibration(synthetic_template / "calibration" / "calibration.toml")
    position = truth[s.POSITION].values[:2].copy()  # (2, V, 2, K, I)
    position[0, 1, :, 5, 0] += (0.0, 25.0)
    views = [str(v) for v in truth[s.VIEW].values]
    check = multiview_check(position, views, cameras, threshold=10.0)
    assert check.errors[0, 1, 5, 0] == pytest.approx(25.0, abs=1.0)
    assert check.errors[0, [0, 2, 3], 5, 0].max() < 0.5
    assert check.inlier[0, :, 5, 0].tolist() == [True, False, True, True]
    assert check.support[0, :, 5, 0].tolist() == [3, 3, 3, 3]
    assert np.nanmax(check.errors[1]) < 0.5 and check.inlier[1].all()
    two = multiview_check(position[:, :2], views[:2], cameras)  # cam0 and the shifted cam1
    assert two.support[1].min() == 2  # two views agree where neither is off
    assert two.support[0, :, 5, 0].tolist() == [0, 0]  # they contradict: no consensus
    assert two.errors[0, :, 5, 0].min() > 4.0
    one = multiview_check(position[:, :1], views[:1], cameras)
    assert not one.checked.any()


def test_multiview_check_keeps_the_trusted_view_when_geometry_cannot_choose(
    truth: xr.Dataset, synthetic_template: Path
) -> None:
    """Three views; cam0's point slides 8 px along its epipolar line of cam1: cam0 agrees with
    cam1, cam1 with cam2, but cam0 not with cam2. Geometry alone cannot say which of cam0 and
    cam2 is wrong; the tracker's doubt can."""
    cameras = load_calibration(synthetic_template / "calibration" / "calibration.toml")
    views = ["cam0", "cam1", "cam2"]
    position = truth[s.POSITION].values[:1, :3].copy()  # (1, 3, 2, K, I)
    poses = load_poses(synthetic_template / "truth" / "poses3d.nc")
    point = poses[s.POSITION].values[0, :, 5, 0]  # (space, keypoint, individual) at frame 0
    along = point + 0.05 * (point - cameras["cam1"].center)  # further along cam1's ray
    a, b = cameras["cam0"].project(np.stack([point, along]))
    direction = (b - a) / np.linalg.norm(b - a)
    position[0, 0, :, 5, 0] += 8.0 * direction
    doubted = np.zeros((1, 3, *position.shape[3:]), bool)
    doubted[0, 0, 5, 0] = True
    check = multiview_check(position, views, cameras, threshold=4.0, doubted=doubted)
    assert check.inlier[0, :, 5, 0].tolist() == [False, True, True]
    assert check.errors[0, 0, 5, 0] > 4.0
    doubted[0, 0, 5, 0], doubted[0, 2, 5, 0] = False, True
    check = multiview_check(position, views, cameras, threshold=4.0, doubted=doubted)
    assert check.inlier[0, :, 5, 0].tolist() == [True, True, False]
