"""Accuracy against ground truth: 1 px noise (vs an oracle least-squares fit with the true
cameras) and outliers in one view (RANSAC and robust refinement stay near the clean error)."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.triangulation import RefineOptions, triangulate

NO_PRIORS = RefineOptions(scale_smooth=0.0, scale_length=0.0, loss="linear")


def _errors(poses: xr.Dataset, truth: np.ndarray) -> np.ndarray:
    """3D errors [T, K] (mm) of the first individual against truth [T, K, 3]."""
    position = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    return np.linalg.norm(position[:, :, 0] - truth, axis=-1)


def _oracle(rig: CameraGroup, pixels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Least-squares points [N, 3] minimising the pixel error with the true cameras
    (scipy, started at the truth, independent of pose3d.triangulation); pixels [V, N, 2]."""
    from scipy.optimize import least_squares
    from scipy.sparse import block_diag

    n = truth.shape[0]

    def residuals(x: np.ndarray) -> np.ndarray:
        projected = rig.project(x.reshape(n, 3))  # [V, N, 2]
        return (projected - pixels).transpose(1, 0, 2).ravel()

    sparsity = block_diag([np.ones((2 * len(rig), 3))] * n)
    fit = least_squares(residuals, truth.ravel(), jac_sparsity=sparsity, x_scale="jac")
    return np.asarray(fit.x).reshape(n, 3)


def test_noise_matches_the_oracle(rig: CameraGroup, synth: ModuleType) -> None:
    rng = np.random.default_rng(11)
    truth = synth.random_points(rng, 1500)
    labels = synth.labels_of(rig, truth[:, None, :], noise=1.0, rng=rng)
    pixels = labels[s.POSITION].values[:, :, :, 0, 0].transpose(1, 0, 2)  # [V, N, 2]
    assert np.isfinite(pixels).all()
    oracle = np.median(np.linalg.norm(_oracle(rig, pixels, truth) - truth, axis=-1))
    for method, options in (("dlt", None), ("optim", NO_PRIORS)):
        poses = triangulate(
            labels[s.POSITION], rig, labels[s.CONFIDENCE], method=method, refine_options=options
        )
        median = np.median(_errors(poses, truth[:, None]))
        assert median <= 1.10 * oracle, (method, median, oracle)
    assert 0.1 < oracle < 2.0  # mm: 1 px at ~1.3 m is ~1.4 mm; the test would be vacuous else


def test_outliers_in_one_view(rig: CameraGroup, synth: ModuleType) -> None:
    rng = np.random.default_rng(12)
    truth = synth.moving_chain(rng, 300, 10)
    clean = synth.labels_of(rig, truth, noise=1.0, rng=rng)
    clean_errors = _errors(triangulate(clean[s.POSITION], rig), truth)
    clean_error, clean_mean = np.median(clean_errors), np.mean(clean_errors)

    dirty = clean.copy(deep=True)
    wrong = rng.random((300, 10)) < 0.2  # 20 % of cam2's points anywhere in its image
    width, height = rig.cameras[2].size
    noise = rng.uniform([0, 0], [width, height], size=(300, 10, 2)).transpose(0, 2, 1)
    view = dirty[s.POSITION].values[:, 2, :, :, 0]  # [T, 2, K]
    dirty[s.POSITION].values[:, 2, :, :, 0] = np.where(wrong[:, None, :], noise, view)

    # judged on the points that have an outlier, and on the mean over all (the median of all
    # points would hide a 20 % minority)
    dlt = _errors(triangulate(dirty[s.POSITION], rig, method="dlt"), truth)
    assert np.median(dlt[wrong]) > 5 * clean_error  # the outliers do drag plain DLT
    edges = synth.chain_edges([str(k) for k in clean[s.KEYPOINT].values])
    for method in ("ransac", "optim"):
        error = _errors(triangulate(dirty[s.POSITION], rig, method=method, edges=edges), truth)
        assert np.median(error[wrong]) <= 2 * clean_error, (method, error[wrong], clean_error)
        assert np.mean(error) <= 2 * clean_mean, (method, np.mean(error), clean_mean)
    ransac = triangulate(dirty[s.POSITION], rig, method="ransac")
    rejected = (ransac[s.N_VIEWS].values[..., 0] == 3) & wrong
    assert rejected.sum() >= 0.95 * wrong.sum()  # the outliers are the views left out


def test_robust_loss_alone_resists_outliers(rig: CameraGroup, synth: ModuleType) -> None:
    """Refinement with the cauchy loss, started from the dragged DLT and given every label
    (outliers included, no RANSAC), still lands near the clean error."""
    from pose3d.triangulation import triangulate_points
    from pose3d.triangulation.projection import lenses
    from pose3d.triangulation.refine import refine

    rng = np.random.default_rng(13)
    truth = synth.moving_chain(rng, 300, 10)
    labels = synth.labels_of(rig, truth, noise=1.0, rng=rng)
    pixels = labels[s.POSITION].values[..., 0].transpose(1, 0, 3, 2)  # [V, T, K, 2]
    clean, _ = triangulate_points(pixels.reshape(len(rig), -1, 2), rig)
    clean_error = np.median(np.linalg.norm(clean.reshape(truth.shape) - truth, axis=-1))
    wrong = rng.random((300, 10)) < 0.2
    pixels[2][wrong] = rng.uniform([0, 0], rig.cameras[2].size, size=(int(wrong.sum()), 2))
    start, _ = triangulate_points(pixels.reshape(len(rig), -1, 2), rig)
    weights = np.isfinite(pixels[..., 0]).astype(float)
    edges = [(k, k + 1) for k in range(9)]
    refined = refine(
        lenses(rig), pixels, weights, start.reshape(truth.shape), edges,
        RefineOptions(loss="cauchy"),
    )  # fmt: skip
    error = np.linalg.norm(refined - truth, axis=-1)
    dragged = np.linalg.norm(start.reshape(truth.shape) - truth, axis=-1)
    assert np.median(dragged[wrong]) > 5 * clean_error
    assert np.median(error[wrong]) <= 2 * clean_error
    assert np.mean(error) <= 2 * clean_error
