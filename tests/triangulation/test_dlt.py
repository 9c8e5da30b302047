"""Exact data gives exact points with every method, from any subset of >= 2 views; points
seen by fewer than two views, and all-NaN frames, give NaN with n_views 0."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.triangulation import RefineOptions, triangulate

EXACT = 1e-6  # of the rig size


@pytest.mark.parametrize("method", ["dlt", "ransac", "optim"])
def test_exact_2d_gives_exact_3d(method: str, rig: CameraGroup, synth: ModuleType) -> None:
    rng = np.random.default_rng(3)
    truth = synth.random_points(rng, 400).reshape(40, 10, 3)
    labels = synth.labels_of(rig, truth)
    poses = triangulate(
        labels[s.POSITION], rig, labels[s.CONFIDENCE], method=method,
        refine_options=RefineOptions(scale_smooth=0.0, scale_length=0.0),
    )  # fmt: skip
    position = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    error = np.linalg.norm(position[:, :, 0] - truth, axis=-1)
    assert error.max() < EXACT * synth.RIG_SIZE
    assert (poses[s.N_VIEWS].values == 4).all()
    assert poses[s.REPROJECTION_ERROR].max() < 1e-6


@pytest.mark.parametrize("method", ["dlt", "ransac", "optim"])
def test_exact_2d_gives_exact_3d_through_fisheye_lenses(
    method: str, fisheye_rig: CameraGroup, synth: ModuleType
) -> None:
    """The same with OpenCV's fisheye model, ~110 degrees across each image."""
    rng = np.random.default_rng(5)
    truth = synth.random_points(rng, 400).reshape(40, 10, 3)
    labels = synth.labels_of(fisheye_rig, truth)
    assert np.isfinite(labels[s.POSITION].values).all()  # every camera sees every point
    poses = triangulate(
        labels[s.POSITION], fisheye_rig, labels[s.CONFIDENCE], method=method,
        refine_options=RefineOptions(scale_smooth=0.0, scale_length=0.0),
    )  # fmt: skip
    position = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    error = np.linalg.norm(position[:, :, 0] - truth, axis=-1)
    assert error.max() < EXACT * synth.RIG_SIZE
    assert poses[s.REPROJECTION_ERROR].max() < 1e-6


def test_any_subset_of_two_or_more_views(rig: CameraGroup, synth: ModuleType) -> None:
    rng = np.random.default_rng(4)
    truth = synth.random_points(rng, 2000).reshape(200, 10, 3)
    labels = synth.labels_of(rig, truth)
    hidden = rng.random((200, 4, 10)) < 0.45  # each view misses ~45 % of the points
    position = labels[s.POSITION].values  # [T, V, 2, K, I]
    position[np.broadcast_to(hidden[:, :, None, :, None], position.shape)] = np.nan
    poses = triangulate(labels[s.POSITION], rig, labels[s.CONFIDENCE])
    seen = (~hidden).sum(axis=1)  # [T, K]
    n_views = poses[s.N_VIEWS].values[..., 0]
    np.testing.assert_array_equal(n_views, np.where(seen >= 2, seen, 0))
    position = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    error = np.linalg.norm(position[:, :, 0] - truth, axis=-1)
    assert np.isnan(error[seen < 2]).all()
    assert error[seen >= 2].max() < EXACT * synth.RIG_SIZE
    for k in (2, 3, 4):  # every subset size occurs
        assert (seen == k).any()


def test_single_view_and_all_nan_frames(rig: CameraGroup, synth: ModuleType) -> None:
    truth = synth.random_points(np.random.default_rng(5), 30).reshape(10, 3, 3)
    labels = synth.labels_of(rig, truth)
    labels[s.POSITION].values[2] = np.nan  # an all-NaN frame
    labels[s.POSITION].values[4, 1:] = np.nan  # frame 4: only cam0 sees anything
    for method in ("dlt", "ransac", "optim"):
        poses = triangulate(labels[s.POSITION], rig, labels[s.CONFIDENCE], method=method)
        for frame in (2, 4):
            assert poses[s.POSITION].isel(time=frame).isnull().all()
            assert (poses[s.N_VIEWS].isel(time=frame) == 0).all()
            assert poses[s.REPROJECTION_ERROR].isel(time=frame).isnull().all()
        assert (poses[s.N_VIEWS].isel(time=[0, 1, 3, 5]) == 4).all()


def test_confidence_weights_the_views(rig: CameraGroup, synth: ModuleType) -> None:
    """A view with confidence 0 is ignored; a low-confidence wrong view pulls less."""
    truth = synth.random_points(np.random.default_rng(6), 50).reshape(50, 1, 3)
    labels = synth.labels_of(rig, truth)
    labels[s.POSITION].values[:, 0] += 15.0  # cam0 is 15 px off in x and y
    errors = {}
    for conf in (1.0, 0.2, 0.0):
        labels[s.CONFIDENCE].values[:, 0] = conf
        poses = triangulate(labels[s.POSITION], rig, labels[s.CONFIDENCE])
        position = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE)
        errors[conf] = np.median(np.linalg.norm(position.values[:, 0, 0] - truth[:, 0], axis=-1))
        if conf == 0.0:
            assert (poses[s.N_VIEWS] == 3).all()
            assert np.allclose(poses[s.CONFIDENCE], 1.0)
        else:
            expected = (3 + conf) / 4  # mean confidence of the views used
            assert np.allclose(poses[s.CONFIDENCE], expected)
    assert errors[0.0] < 1e-6 * synth.RIG_SIZE < errors[0.2] < errors[1.0]


def test_nan_confidence_counts_as_one(rig: CameraGroup, synth: ModuleType) -> None:
    truth = synth.random_points(np.random.default_rng(7), 20).reshape(20, 1, 3)
    labels = synth.labels_of(rig, truth)
    labels[s.CONFIDENCE].values[:] = np.nan
    poses = triangulate(labels[s.POSITION], rig, labels[s.CONFIDENCE])
    assert (poses[s.N_VIEWS] == 4).all() and np.allclose(poses[s.CONFIDENCE], 1.0)
