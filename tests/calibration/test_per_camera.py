"""One camera at a time: each camera's intrinsics from its own board views (filmed apart, as
Pose2Sim and many labs do), then the rig from a shared recording with them held fixed; a
single camera calibrated alone; the files and the CLI of that workflow. Against the synthetic
rig's true cameras and on the real sleap-anipose session."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pose3d.calibration.calibrate import ONE_CAMERA_NOTE, calibrate
from pose3d.calibration.per_camera import ALONE, NOTES, calibrate_each
from pose3d.calibration.plane_check import on_board_plane
from pose3d.cameras import INTRINSICS_ONLY, Camera, rodrigues_to_matrix
from pose3d.errors import CalibrationError
from pose3d.io.calibration_toml import load_calibration, load_intrinsics, save_calibration
from pose3d.synthetic.calibration_cases import own_board_views
from tests.calibration.test_calibrate import (
    MAX_FOCAL,
    MAX_ROTATION_DEG,
    in_camera_frame,
    rig_errors,
)

MAX_PRINCIPAL_PX = 0.6  # each camera alone, 40 views of its own at the rig's detection noise


@pytest.fixture(scope="module")
def apart(charuco_rig):
    """Each camera of the synthetic rig calibrated alone from its own 40 views (noise as the
    rig's rendered detections)."""
    views = [own_board_views(c, charuco_rig.board, seed=i) for i, c in enumerate(charuco_rig.truth)]
    return calibrate_each(views)


# ---------------------------------------------------------------- each camera alone


def test_each_camera_alone_finds_its_true_intrinsics(charuco_rig, apart) -> None:
    assert apart.cameras.names == charuco_rig.truth.names
    assert apart.cameras.metadata == {INTRINSICS_ONLY: True}
    assert apart.cameras.unit == "mm"
    assert apart.report.reference == ALONE
    assert apart.report.warnings == []
    # what it could not check, said once for all cameras
    assert apart.report.notes == [*NOTES, ONE_CAMERA_NOTE]
    for cam, report in zip(apart.cameras, apart.report.cameras, strict=True):
        true = charuco_rig.truth[cam.name]
        focal = np.abs(np.diag(cam.matrix)[:2] / np.diag(true.matrix)[:2] - 1.0)
        assert focal.max() <= MAX_FOCAL, cam.name
        assert np.linalg.norm(cam.matrix[:2, 2] - true.matrix[:2, 2]) <= MAX_PRINCIPAL_PX
        assert report.rms_px <= 0.1 and report.frames_used == 40
        np.testing.assert_array_equal(cam.rvec, 0.0)
        np.testing.assert_array_equal(cam.tvec, 0.0)


def test_each_cameras_square_check_is_made_on_the_board_plane(apart) -> None:
    for result in apart.per_camera:
        square = result.report.square
        assert square is not None and square.n_pairs > 1000
        assert square.true_length == 50.0
        assert abs(square.median - 50.0) <= 0.02
        assert square.spread <= 0.01 * 50.0  # ~0.05 px of noise at ~1 px per mm


def test_a_bent_board_shows_in_the_plane_check(charuco_rig) -> None:
    """Corners pushed off the plane (a board bent along its middle) fit no pose exactly: the
    spread of the square lengths on the plane grows."""
    camera = charuco_rig.truth.cameras[0]
    flat = own_board_views(camera, charuco_rig.board, seed=7)
    bent = own_board_views(camera, charuco_rig.board, seed=7)
    columns = charuco_rig.board.inner_corners[0]
    right = np.arange(bent.corners.shape[2]) % columns >= columns // 2
    bent.corners[0, :, right] += 1.5  # the right half moved by 1.5 px
    spreads = [calibrate(d).report.square.spread for d in (flat, bent)]  # type: ignore[union-attr]
    assert spreads[1] > 3 * spreads[0], spreads


def test_on_board_plane_inverts_the_projection(charuco_rig) -> None:
    camera = charuco_rig.truth.cameras[1]
    pose = np.array([0.3, -0.2, 0.1, 40.0, -25.0, 30.0])  # board -> world
    points = charuco_rig.board.corner_points()
    world = points @ rodrigues_to_matrix(pose[:3]).T + pose[3:]
    np.testing.assert_allclose(
        on_board_plane(camera, pose, camera.project(world)), points[:, :2], atol=1e-6
    )


def test_a_single_camera_calibrates_alone(charuco_rig) -> None:
    """A rig of one camera used to fail in the report ("triangulation needs at least 2
    views")."""
    result = calibrate(charuco_rig.detections.camera(2))
    assert result.cameras.names == ("cam2",)
    true = charuco_rig.truth["cam2"]
    assert abs(result.cameras["cam2"].matrix[0, 0] / true.matrix[0, 0] - 1.0) <= 0.005
    assert result.report.square is not None and result.report.square.n_pairs > 100


# ---------------------------------------------------------------- the rig with them held fixed


def test_the_rig_holds_the_intrinsics_calibrated_apart(charuco_rig, apart) -> None:
    given = {c.name: c for c in apart.cameras}
    result = calibrate(charuco_rig.detections, intrinsics=given)
    for cam in result.cameras:
        np.testing.assert_array_equal(cam.matrix, given[cam.name].matrix)
        np.testing.assert_array_equal(cam.dist, given[cam.name].dist)
    errors = rig_errors(result.cameras, in_camera_frame(charuco_rig.truth, "cam0"))
    for name, error in errors.items():
        assert error.rotation_deg <= MAX_ROTATION_DEG, (name, error)
    assert result.report.trusted, result.report.warnings
    square = result.report.square
    assert square is not None and abs(square.median - 50.0) <= 0.05


def test_some_cameras_held_the_others_calibrated(charuco_rig, apart) -> None:
    given = {"cam1": apart.cameras["cam1"]}
    result = calibrate(charuco_rig.detections, intrinsics=given)
    np.testing.assert_array_equal(result.cameras["cam1"].matrix, given["cam1"].matrix)
    assert not np.array_equal(result.cameras["cam2"].matrix, apart.cameras["cam2"].matrix)


def test_intrinsics_of_another_image_size_are_refused(charuco_rig, apart) -> None:
    cam = apart.cameras["cam1"]
    other = Camera(cam.name, (1280, 960), cam.matrix, cam.dist)
    with pytest.raises(
        CalibrationError,
        match=r"camera cam1: its intrinsics were calibrated "
        r"on 1280x960 images, its board media are 640x480",
    ):
        calibrate(charuco_rig.detections, intrinsics={"cam1": other})


def test_fisheye_asked_for_pinhole_intrinsics_is_refused(charuco_rig, apart) -> None:
    with pytest.raises(CalibrationError, match=r"camera cam0: --fisheye asks for the fisheye"):
        calibrate(
            charuco_rig.detections, fisheye={"cam0"}, intrinsics={"cam0": apart.cameras["cam0"]}
        )


# ---------------------------------------------------------------- files


def test_an_intrinsics_file_is_no_rig(tmp_path: Path, apart) -> None:
    path = tmp_path / "intrinsics.toml"
    save_calibration(path, apart.cameras)
    with pytest.raises(CalibrationError, match=r"holds each camera's intrinsics only"):
        load_calibration(path)
    loaded = load_intrinsics(path)
    assert loaded.names == apart.cameras.names
    np.testing.assert_allclose(loaded["cam0"].matrix, apart.cameras["cam0"].matrix)


# ---------------------------------------------------------------- the CLI on a session


def test_cli_intrinsics_only_then_the_rig(charuco_rig, tmp_path: Path, capsys) -> None:
    from pose3d.cli import main
    from pose3d.io.session_toml import load_session, save_session
    from pose3d.io.video_reading import VideoReader
    from pose3d.io.video_writing import write_video

    root = tmp_path / "session"
    shutil.copytree(charuco_rig.root, root)
    session = load_session(root)
    # what the runs write and say, not how accurate they are: board videos of 20 of the 60
    # board poses (every third PNG frame of the rig)
    for path in session.calibration_media_paths().values():
        with VideoReader(path.parent / "frames") as frames:
            write_video(path, [frames.read(i) for i in range(0, frames.n_frames, 3)], session.fps)
    # cam1's intrinsics come from media of its own: here the rig's frames of cam1
    save_session(replace(session, intrinsics_media={"cam1": session.calibration_media["cam1"]}))
    assert main(["calibrate", str(root), "--intrinsics-only", "--cameras", "cam1,cam2"]) == 0
    out = capsys.readouterr().out
    assert "intrinsics only" in out and "next: pose3d calibrate" in out
    intrinsics = load_intrinsics(root / "calibration" / "intrinsics.toml")
    assert intrinsics.names == ("cam1", "cam2")
    assert (root / "calibration" / "intrinsics.report.json").is_file()
    assert not (root / "calibration" / "calibration.toml").exists()

    assert main(["calibrate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "intrinsics of cam1, cam2 held from" in out
    rig = load_calibration(root / "calibration" / "calibration.toml")
    for name in ("cam1", "cam2"):
        np.testing.assert_array_equal(rig[name].matrix, intrinsics[name].matrix)

    # again for cam0 only: cam1 and cam2 stay in the file and its report
    assert main(["calibrate", str(root), "--intrinsics-only", "--cameras", "cam0"]) == 0
    capsys.readouterr()
    again = load_intrinsics(root / "calibration" / "intrinsics.toml")
    assert set(again.names) == {"cam0", "cam1", "cam2"}
    np.testing.assert_array_equal(again["cam1"].matrix, intrinsics["cam1"].matrix)

    assert main(["calibrate", str(root), "--refit-intrinsics"]) == 0
    assert "held from" not in capsys.readouterr().out


def test_cli_refuses_options_that_do_not_go_together(charuco_rig, capsys) -> None:
    from pose3d.cli import main

    root = str(charuco_rig.root)
    for argv, message in [
        ([root, "--intrinsics-only", "--reference", "cam1"], "has no world frame"),
        ([root, "--intrinsics", "x.toml"], "--intrinsics FILE is for standalone media"),
        ([root, "--cameras", "cam1"], "--cameras chooses the cameras"),
        ([root, "--intrinsics-only", "--cameras", "cam9"], "camera(s) cam9 are not in"),
    ]:
        assert main(["calibrate", *argv]) != 0
        assert message in capsys.readouterr().err


# ---------------------------------------------------------------- real data


def test_real_cameras_each_alone_then_the_rig(real_detections, real_calibration) -> None:
    """Each of the 4 real cameras calibrated from its own 21 board images agrees with the
    joint calibration (measured: focal lengths 0.3-0.9 % apart, principal points 2-20 px: one
    camera's 21 views constrain them less than the rig's shared views do); the rig from the
    same images with those intrinsics held keeps the 24 mm squares (24.005 mm, as the joint
    calibration) and a sub-pixel RMS."""
    views = range(len(real_detections.views))
    apart = calibrate_each([real_detections.camera(v) for v in views])
    for cam in apart.cameras:
        joint = real_calibration.cameras[cam.name]
        assert cam.matrix[0, 0] == pytest.approx(joint.matrix[0, 0], rel=0.02), cam.name
        assert np.linalg.norm(cam.matrix[:2, 2] - joint.matrix[:2, 2]) <= 30.0, cam.name
    for result in apart.per_camera:
        square = result.report.square
        assert square is not None and abs(square.median - 24.0) <= 0.1, square
    rig = calibrate(real_detections, intrinsics={c.name: c for c in apart.cameras})
    square = rig.report.square
    assert square is not None and abs(square.median - 24.0) <= 0.1, square
    assert all(c.rms_px <= 1.0 for c in rig.report.cameras), rig.report.cameras
