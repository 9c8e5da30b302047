"""The poses dataset triangulate builds, and its clear errors on bad input."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import CalibrationError, Pose3dError, SchemaError
from pose3d.io.netcdf import load_poses, save_poses, validate_poses
from pose3d.triangulation import triangulate


@pytest.fixture(scope="module")
def labels(rig: CameraGroup, synth: ModuleType) -> xr.Dataset:
    truth = synth.random_points(np.random.default_rng(31), 24).reshape(6, 2, 2, 3)
    return synth.labels_of(rig, truth, keypoints=["nose", "tail"], individuals=["a", "b"])


def test_dataset_follows_the_poses3d_contract(
    rig: CameraGroup, labels: xr.Dataset, tmp_path: Path
) -> None:
    poses = triangulate(labels[s.POSITION], rig, labels[s.CONFIDENCE], fps=30.0)
    validate_poses(poses)
    for name, dims in s.POSES3D_DIMS.items():
        assert poses[name].dims == dims
    assert poses[s.POSITION].attrs[s.ATTR_SPACE_UNIT] == "mm"
    assert poses.attrs[s.ATTR_FPS] == 30.0 and poses.attrs[s.ATTR_TIME_UNIT] == "seconds"
    np.testing.assert_allclose(poses[s.TIME].values, np.arange(6) / 30.0)
    assert list(poses[s.KEYPOINT].values) == ["nose", "tail"]
    assert list(poses[s.INDIVIDUAL].values) == ["a", "b"]
    assert poses.attrs["pose3d_triangulation"] == "dlt"
    assert poses.attrs["pose3d_views"] == "cam0,cam1,cam2,cam3"
    save_poses(tmp_path / "poses3d.nc", poses)
    again = load_poses(tmp_path / "poses3d.nc")
    xr.testing.assert_identical(again, poses)


def test_without_fps_time_counts_frames(rig: CameraGroup, labels: xr.Dataset) -> None:
    poses = triangulate(labels[s.POSITION], rig)
    assert poses.attrs[s.ATTR_TIME_UNIT] == "frames" and s.ATTR_FPS not in poses.attrs
    np.testing.assert_array_equal(poses[s.TIME].values, np.arange(6))


def test_views_are_matched_by_name(rig: CameraGroup, labels: xr.Dataset) -> None:
    shuffled = CameraGroup(tuple(reversed(rig.cameras)), unit="mm")
    a = triangulate(labels[s.POSITION], rig)
    b = triangulate(labels[s.POSITION], shuffled)
    xr.testing.assert_allclose(a[s.POSITION], b[s.POSITION])
    relabelled = labels[s.POSITION].isel(view=[2, 0, 3, 1])
    c = triangulate(relabelled, rig)
    xr.testing.assert_allclose(a[s.POSITION], c[s.POSITION])


def test_a_subset_of_views(rig: CameraGroup, labels: xr.Dataset) -> None:
    poses = triangulate(labels[s.POSITION], rig, views=["cam3", "cam1"])
    assert (poses[s.N_VIEWS] == 2).all()
    assert poses.attrs["pose3d_views"] == "cam3,cam1"


def test_calibration_without_a_labelled_camera(rig: CameraGroup, labels: xr.Dataset) -> None:
    three = CameraGroup(rig.cameras[:3], unit="mm")
    with pytest.raises(CalibrationError, match=r"cam3 not in the calibration.*--views"):
        triangulate(labels[s.POSITION], three)
    poses = triangulate(labels[s.POSITION], three, views=["cam0", "cam1", "cam2"])
    assert (poses[s.N_VIEWS] == 3).all()


@pytest.mark.parametrize(
    ("views", "message"),
    [
        (["cam0", "camX"], r"view\(s\) camX not in the labels"),
        (["cam0"], r"at least 2 views, got 1"),
        (["cam0", "cam0"], r"must not repeat"),
    ],
)
def test_bad_views(rig: CameraGroup, labels: xr.Dataset, views: list[str], message: str) -> None:
    with pytest.raises(Pose3dError, match=message):
        triangulate(labels[s.POSITION], rig, views=views)


def test_units(rig: CameraGroup, labels: xr.Dataset) -> None:
    with pytest.raises(CalibrationError, match=r"calibration is in 'mm' but 'm' was expected"):
        triangulate(labels[s.POSITION], rig, unit="m")
    unknown = CameraGroup(rig.cameras, unit=None)  # e.g. a calibration.toml from Anipose
    assert triangulate(labels[s.POSITION], unknown, unit="mm")[s.POSITION].attrs == {
        s.ATTR_SPACE_UNIT: "mm"
    }
    assert s.ATTR_SPACE_UNIT not in triangulate(labels[s.POSITION], unknown)[s.POSITION].attrs


def test_no_point_seen_twice_gives_nan(rig: CameraGroup, labels: xr.Dataset) -> None:
    lonely = labels.copy(deep=True)
    lonely[s.POSITION].values[:, 1:] = np.nan  # only cam0 has points
    for method in ("dlt", "ransac", "optim"):
        poses = triangulate(lonely[s.POSITION], rig, method=method)
        assert poses[s.POSITION].isnull().all() and (poses[s.N_VIEWS] == 0).all()


def test_bad_arguments(rig: CameraGroup, labels: xr.Dataset) -> None:
    with pytest.raises(Pose3dError, match="unknown method 'svd'"):
        triangulate(labels[s.POSITION], rig, method="svd")
    with pytest.raises(Pose3dError, match=r"edge keypoint.*ear"):
        triangulate(labels[s.POSITION], rig, edges=[("nose", "ear")])
    with pytest.raises(SchemaError, match="must have dims"):
        triangulate(labels[s.POSITION].isel(view=0), rig)


def test_points_behind_a_camera_are_refused(rig: CameraGroup) -> None:
    """cam0's ray (as a line) and cam1's ray meet behind cam0: NaN, not a point cam0 saw."""
    from pose3d.labels import new_labels

    cam0, cam1 = rig.cameras[:2]
    target = np.array([50.0, -30.0, 100.0])
    behind = cam0.center - 0.3 * (target - cam0.center)  # on cam0's line, behind the camera
    assert cam1.world_to_camera(behind)[2] > 0 and cam0.world_to_camera(behind)[2] < 0
    labels = new_labels(2, ["cam0", "cam1"], ["kp"], ["a"])
    labels[s.POSITION].values[:, 0, :, 0, 0] = cam0.project(target)
    labels[s.POSITION].values[0, 1, :, 0, 0] = cam1.project(behind)
    labels[s.POSITION].values[1, 1, :, 0, 0] = cam1.project(target)
    poses = triangulate(labels[s.POSITION], rig)
    assert poses[s.POSITION].isel(time=0).isnull().all()
    assert (poses[s.N_VIEWS].isel(time=0) == 0).all()
    np.testing.assert_allclose(poses[s.POSITION].isel(time=1).values[:, 0, 0], target, atol=1e-6)


def test_array_level_functions(rig: CameraGroup, synth: ModuleType) -> None:
    from pose3d.triangulation import reprojection_errors, triangulate_points

    truth = synth.random_points(np.random.default_rng(33), 50)
    pixels = rig.project(truth)
    pixels[1:, 0] = np.nan  # point 0: one view only
    for method in ("dlt", "ransac"):
        points, used = triangulate_points(pixels, rig, method=method)
        assert np.isnan(points[0]).all() and not used[:, 0].any()
        np.testing.assert_allclose(points[1:], truth[1:], atol=1e-6)
        errors = reprojection_errors(points, pixels, rig)
        assert np.nanmax(errors[:, 1:]) < 1e-6 and np.isnan(errors[:, 0]).all()
    with pytest.raises(Pose3dError, match=r"pixels must be \[views=4, points, 2\]"):
        triangulate_points(pixels[:3], rig)


@pytest.mark.parametrize("method", ["dlt", "ransac"])
@pytest.mark.parametrize("fps", [30.0, None])
def test_long_recordings_are_solved_in_chunks_with_the_one_shot_result(
    rig: CameraGroup, labels: xr.Dataset, monkeypatch: pytest.MonkeyPatch, method: str, fps: float
) -> None:
    """DLT and RANSAC solve a frame alone: in chunks of frames (their memory bounded) the
    result is the one-shot one, exactly, coordinates and attributes included."""
    import pose3d.triangulation.api as api

    noisy = labels[s.POSITION].copy()
    noisy.values[2, 1] += 40.0  # an outlier view at frame 2, for RANSAC to drop
    whole = triangulate(noisy, rig, labels[s.CONFIDENCE], method=method, fps=fps)
    monkeypatch.setattr(api, "CHUNK_FRAMES", 4)  # 6 frames: a chunk of 4 and one of 2
    seen: list[tuple[int, int]] = []
    chunked = triangulate(
        noisy,
        rig,
        labels[s.CONFIDENCE],
        method=method,
        fps=fps,
        progress=lambda step, done, total: seen.append((done, total)),
    )
    assert seen == [(0, 2), (1, 2), (2, 2)]
    xr.testing.assert_identical(chunked, whole)
