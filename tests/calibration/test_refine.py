"""Refining a calibration from labelled keypoints with the board as the prior: against the
synthetic rig's true cameras (a calibration off by half a degree comes back; labels that
disagree with the board are refused), the Schur-complement solver against the dense one, the
CLI on a session, and the real sleap-anipose session (whose labels disagree with its board)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from pose3d import schema as s
from pose3d.calibration import solver
from pose3d.calibration.refine import MAX_BOARD_RMS_RATIO, leave_one_out, refine_from_labels
from pose3d.cameras import CameraGroup
from pose3d.errors import CalibrationError
from pose3d.synthetic import calibration_cases as cases
from pose3d.synthetic.calibration_cases import disturbed
from tests.calibration.test_calibrate import in_camera_frame, rig_errors

NOISE_PX = 0.5  # labelled keypoints: a careful person, ten times the board corners' noise


def true_rig(charuco_rig) -> CameraGroup:
    """The synthetic rig's true cameras in the world of its board detections' poses (truth
    world): the calibration a refinement starts from is this one disturbed."""
    return charuco_rig.truth


def keypoint_pixels(cameras: CameraGroup, charuco_rig, **options) -> np.ndarray:
    """Keypoints where the rig's boards were (an animal moves in the same space)."""
    space = charuco_rig.board_truth["corner_world"].values.reshape(-1, 3)
    return cases.keypoint_pixels(cameras, space, **{"noise_px": NOISE_PX, **options})


def test_a_disturbed_calibration_comes_back_to_the_truth(charuco_rig) -> None:
    truth = true_rig(charuco_rig)
    start = disturbed(truth, 0.5, 5.0)
    pixels = keypoint_pixels(truth, charuco_rig)
    names = [f"k{i % 10}" for i in range(pixels.shape[1])]
    result = refine_from_labels(start, charuco_rig.detections, pixels, keypoints=names)
    assert result.accepted, result.problems
    assert result.n_points == int((np.isfinite(pixels).all(axis=2).sum(axis=0) >= 2).sum())
    before = rig_errors(start, truth)
    after = rig_errors(result.cameras, truth)
    for name in truth.names[1:]:
        assert before[name].rotation_deg > 0.4
        assert after[name].rotation_deg <= 0.05, (name, after[name])
        assert after[name].centre <= 1.0, (name, after[name])
    np.testing.assert_array_equal(result.cameras["cam0"].rvec, start["cam0"].rvec)
    for cam in result.cameras:  # extrinsics only
        np.testing.assert_array_equal(cam.matrix, start[cam.name].matrix)
    assert result.disagreement("after") < 0.5 * result.disagreement("before")
    assert result.disagreement("after") <= 2.5 * NOISE_PX
    for name in truth.names:
        assert result.after[name].board_rms_px <= result.before[name].board_rms_px
        # every corner, the few ChArUco corners pulled by a marker included (the calibration
        # drops them as outliers: bundle.OUTLIER_MEDIANS), hence above the calibration's RMS
        assert result.after[name].board_rms_px <= 0.3
    assert set(result.keypoints_before) == {f"k{i}" for i in range(10)}


def test_noisy_labels_cannot_drag_a_good_calibration(charuco_rig) -> None:
    """cam2's labels all 8 px to the right (a labelling tool's offset): weighed by their
    noise, the labels cannot pull cam2 off what the board says."""
    truth = true_rig(charuco_rig)
    pixels = keypoint_pixels(truth, charuco_rig)
    pixels[2, :, 0] += 8.0
    result = refine_from_labels(truth, charuco_rig.detections, pixels)
    assert result.accepted
    for name, error in rig_errors(result.cameras, truth).items():
        assert error.rotation_deg <= 0.03, (name, error)
    assert result.after["cam2"].keypoint_median_px >= 7.5  # the offset stays visible


def test_labels_that_outweigh_a_thin_board_and_disagree_with_it_are_refused(charuco_rig) -> None:
    """Four board frames against 1500 points labelled to 0.1 px whose cam2 labels are all
    8 px off: fitting them turns cam2 until the board no longer fits, and that is refused."""
    truth = true_rig(charuco_rig)
    detections = charuco_rig.detections
    boards = np.flatnonzero(detections.found().sum(axis=0) >= 2)[:4]
    thin = replace(
        detections, corners=detections.corners[:, boards], frames=detections.frames[boards]
    )
    pixels = keypoint_pixels(truth, charuco_rig, n=1500, noise_px=0.1)
    pixels[2, :, 0] += 8.0
    result = refine_from_labels(truth, thin, pixels)
    assert not result.accepted
    assert any(p.startswith("camera cam2: the board's RMS would grow") for p in result.problems)
    before, after = result.before["cam2"], result.after["cam2"]
    assert after.board_rms_px > MAX_BOARD_RMS_RATIO * before.board_rms_px


def test_refining_the_intrinsics_too(charuco_rig, charuco_calibration) -> None:
    """From the rig's own calibration (its world at cam0; k3 held at 0 where the corners do
    not reach the image corners, as the calibration holds it) disturbed by 0.3 degrees."""
    truth = in_camera_frame(charuco_rig.truth, "cam0")
    calibrated = charuco_calibration.cameras
    start = disturbed(calibrated, 0.3, 3.0)
    pixels = keypoint_pixels(charuco_rig.truth, charuco_rig)  # in the truth's own world
    result = refine_from_labels(start, charuco_rig.detections, pixels, refine_intrinsics=True)
    assert result.accepted and result.intrinsics_refined
    for name, error in rig_errors(result.cameras, truth).items():
        assert error.rotation_deg <= 0.05 and error.focal <= 0.002, (name, error)
    for cam in result.cameras:  # what the calibration held stays held
        held = calibrated[cam.name].dist == 0
        np.testing.assert_array_equal(cam.dist[held], 0.0)


def test_too_few_labelled_points_are_refused(charuco_rig) -> None:
    pixels = keypoint_pixels(charuco_rig.truth, charuco_rig, n=10)
    with pytest.raises(CalibrationError, match=r"seen by two cameras or more; refining"):
        refine_from_labels(charuco_rig.truth, charuco_rig.detections, pixels)


def test_leave_one_out_is_zero_on_exact_projections(charuco_rig) -> None:
    truth = charuco_rig.truth
    points = np.array([[0.0, 0.0, 0.0], [50.0, -30.0, 40.0]])
    distance = leave_one_out(truth, truth.project(points))
    assert np.nanmax(distance) < 1e-6


def test_the_schur_solver_matches_the_dense_one() -> None:
    """Points (3 parameters each) seen by 'cameras' that shift them: the same problem solved
    densely and with the points eliminated reaches the same minimum."""
    rng = np.random.default_rng(0)
    n_points, n_views = 30, 3
    truth_points = rng.normal(0, 5, (n_points, 3))
    offsets = rng.normal(0, 1, (n_views, 2))
    view, point = np.divmod(np.arange(n_views * n_points), n_points)
    projection = np.array([[1.0, 0.2, 0.1], [-0.3, 1.0, 0.4]])
    observed = (
        truth_points[point] @ projection.T + offsets[view] + rng.normal(0, 0.1, (len(view), 2))
    )

    def residuals(x: np.ndarray) -> np.ndarray:
        shifts = np.vstack([np.zeros(2), x[:4].reshape(2, 2)])  # view 0 holds the frame
        points = x[4:].reshape(n_points, 3)
        return (points[point] @ projection.T + shifts[view] - observed).ravel()

    def jacobian(x: np.ndarray, r: np.ndarray) -> sparse.csr_matrix:
        columns = np.zeros((x.size, r.size))
        for k in range(x.size):
            step = np.zeros(x.size)
            step[k] = 1e-6
            columns[k] = (residuals(x + step) - r) / 1e-6
        return sparse.csr_matrix(columns.T)

    x0 = np.zeros(4 + 3 * n_points)
    dense = solver.levenberg_marquardt(residuals, jacobian, x0)
    schur = solver.levenberg_marquardt(
        residuals, jacobian, x0, structure=(4, [solver.Blocks(4, 3, n_points)])
    )
    assert schur.cost == pytest.approx(dense.cost, rel=1e-6)
    np.testing.assert_allclose(schur.x[:4], dense.x[:4], atol=1e-5)


# ---------------------------------------------------------------- the CLI on a session


def test_cli_refines_a_session_from_its_labels(charuco_rig, tmp_path: Path, capsys) -> None:
    from pose3d.cli import main
    from pose3d.io.calibration_toml import load_calibration, save_calibration
    from pose3d.io.detections_nc import save_detections
    from pose3d.io.netcdf import save_labels
    from pose3d.io.session_toml import load_session
    from pose3d.labels import new_labels

    root = tmp_path / "session"
    shutil.copytree(charuco_rig.root, root)
    session = load_session(root)
    (root / "calibration").mkdir(exist_ok=True)
    truth = charuco_rig.truth
    start = disturbed(truth, 0.5, 5.0)
    save_calibration(root / "calibration" / "calibration.toml", start)
    save_detections(root / "calibration" / "detections.nc", charuco_rig.detections)
    pixels = keypoint_pixels(truth, charuco_rig, n=40 * len(session.skeleton.keypoints))
    keypoints = list(session.skeleton.keypoints)
    labels = new_labels(40, list(session.camera_names), keypoints, list(session.individuals))
    labels[s.POSITION].values[..., 0] = pixels.reshape(len(truth), 40, len(keypoints), 2).transpose(
        1, 0, 3, 2
    )
    seen = np.isfinite(labels[s.POSITION].values[..., 0]).all(axis=2)
    labels[s.SOURCE].values[..., 0] = np.where(seen, s.PointSource.MANUAL, 0)
    # the tracker's guesses are left out
    labels[s.SOURCE].values[:20, 0, :, 0] = np.where(seen[:20, 0], s.PointSource.TRACKED, 0)
    save_labels(root / "labels.nc", labels)

    assert main(["calibrate", str(root), "--refine-from-labels"]) == 0
    out = capsys.readouterr().out
    assert "refinement of the extrinsics from" in out and "wrote" in out
    refined = load_calibration(root / "calibration" / "calibration.toml")
    for name, error in rig_errors(refined, truth).items():
        assert error.rotation_deg <= 0.05, (name, error)
    kept = load_calibration(root / "calibration" / "calibration.before-refine.toml")
    np.testing.assert_allclose(kept["cam1"].rvec, start["cam1"].rvec)
    report = json.loads((root / "calibration" / "refine.report.json").read_text())
    assert report["accepted"] is True
    assert report["disagreement_px"]["after"] < report["disagreement_px"]["before"]


# ---------------------------------------------------------------- real data


def test_the_real_sessions_labels_disagree_with_each_other_not_with_its_board(
    real_detections, real_calibration, minimal_session
) -> None:
    """The proofread points of the real session disagree with its board calibration by a
    median 11.1 px (leave one view out), but the labels disagree with themselves as much: fitted
    to the labels alone the cameras would move by 40 degrees. Weighed by their noise, the labels
    leave the calibration as it is (the board's RMS and the disagreement change by < 1 %), and
    the diagnosis shows where the disagreement lies: the body-surface keypoints (trunk, tail,
    haunches) the views place differently, 10-40 px, where the ears and head agree to 2-5 px."""
    from tests.tracking.test_real_data import VIEWS, proofread

    points, names = proofread(minimal_session)
    pixels = np.stack([points[v].transpose(0, 2, 1).reshape(-1, 2) for v in VIEWS])
    keypoints = names * points[VIEWS[0]].shape[0]
    result = refine_from_labels(
        real_calibration.cameras, real_detections, pixels, keypoints=keypoints
    )
    assert result.accepted, result.problems
    before, after = result.disagreement("before"), result.disagreement("after")
    assert 10.0 <= before <= 12.5
    assert abs(after - before) <= 0.01 * before
    for name in VIEWS:
        assert result.after[name].board_rms_px <= 1.05 * result.before[name].board_rms_px
    worst = sorted(result.keypoints_before, key=result.keypoints_before.__getitem__)[-4:]
    assert set(worst) <= {"Trunk", "Tail_0", "Tail_1", "Tail_2", "Haunch_left", "Haunch_right"}
    assert min(result.keypoints_before.values()) <= 4.0
