"""The contact sheet: each camera's image with its labels and the 3D points projected into it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.cli import main
from pose3d.io.calibration_toml import save_calibration
from pose3d.io.netcdf import save_labels, save_poses
from pose3d.io.video_writing import write_video
from pose3d.labels import new_labels, set_point
from pose3d.pipeline.session import init_session
from pose3d.session import ViewVideo
from pose3d.viewer.colors import keypoint_colors
from pose3d.viewer.sheet import CAPTION_PX, _around, contact_sheet


def _session(root: Path, poses: xr.Dataset, cameras: CameraGroup) -> tuple[Path, xr.Dataset]:
    """Grey videos of 6 frames for each camera; labels where the 3D points project, moved by
    (3, 4) px in 'top' (a 5 px error there), manual."""
    videos = {}
    for camera in cameras:
        frames = (np.full((480, 640, 3), 90, np.uint8) for _ in range(6))
        videos[camera.name] = write_video(root / "videos" / f"{camera.name}.mp4", frames, 30.0)
    keypoints = [str(k) for k in poses[s.KEYPOINT].values]
    individuals = [str(i) for i in poses[s.INDIVIDUAL].values]
    session = init_session(root / "s", videos, keypoints, individuals=individuals, fps=30.0)
    labels = new_labels(6, cameras.names, keypoints, individuals)
    shift = {"top": np.array([3.0, 4.0]), "side": np.zeros(2)}
    for camera in cameras:
        position = poses[s.POSITION].transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT, s.SPACE).values
        pixels = camera.project(position)
        for t in range(6):
            for i, individual in enumerate(individuals):
                for k, keypoint in enumerate(keypoints):
                    xy = pixels[t, i, k] + shift[camera.name]
                    labels = set_point(labels, t, camera.name, keypoint, individual, xy)
    save_labels(session.paths.labels, labels)
    return session.root, labels


def test_each_tile_shows_labels_and_projections(
    tmp_path: Path, poses: xr.Dataset, cameras: CameraGroup
) -> None:
    _, labels = _session(tmp_path, poses, cameras)
    top = cameras.subset(["top"])
    videos = {"top": ViewVideo(tmp_path / "videos" / "top.mp4", 0)}
    sheet = contact_sheet(poses, 2, labels, top, videos, width=640, whole=True)
    assert sheet.shape == (480 + CAPTION_PX, 640, 3)  # one tile, at its own size
    picture = sheet[CAPTION_PX:]
    point = poses[s.POSITION].isel(time=2).sel(individual="mouse_a", keypoint="neck").values
    x, y = np.round(top["top"].project(point)).astype(int)
    assert tuple(picture[y, x]) == (255, 255, 255)  # the cross over the projection
    color = np.array(keypoint_colors(4)[1]) * 255  # neck's disc, 5 px away, filled: manual
    assert np.abs(picture[y + 4, x + 3].astype(float) - color).max() < 40
    assert (np.abs(picture.astype(int) - 90).max(axis=2) > 30).sum() > 200  # drawn, not blank


def test_a_tile_shows_the_part_around_the_subject() -> None:
    image = np.zeros((480, 640, 3), np.int32)
    y, x = np.mgrid[0:480, 0:640]
    image[..., 0], image[..., 1] = x, y  # each pixel says where it is
    points = np.array([[400.0, 300.0], [430.0, 320.0], [np.nan, 5.0], [410.0, 290.0]])
    part = _around(image, points)
    h, w = part.shape[:2]
    assert w == pytest.approx(640 / 3, abs=2) and w / h == pytest.approx(640 / 480, rel=0.02)
    x0, y0 = int(part[0, 0, 0]), int(part[0, 0, 1])  # where the part starts in the image
    for px, py in points[np.isfinite(points).all(axis=1)]:
        assert x0 + 10 < px < x0 + w - 10 and y0 + 10 < py < y0 + h - 10
    assert _around(image, np.array([[np.nan, np.nan]])) is image  # nothing to centre on
    spread = np.array([[10.0, 10.0], [630.0, 470.0]])
    assert _around(image, spread).shape == image.shape  # the subject fills it: all of it


def test_cli_writes_the_sheet_or_says_what_it_needs(
    tmp_path: Path, poses: xr.Dataset, cameras: CameraGroup, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = _session(tmp_path, poses, cameras)
    save_poses(tmp_path / "poses3d.nc", poses)
    (root / "calibration").mkdir(exist_ok=True)
    save_calibration(root / "calibration" / "calibration.toml", cameras)
    out = tmp_path / "sheet.png"
    poses_file = str(tmp_path / "poses3d.nc")
    assert (
        main(["view", poses_file, "--session", str(root), "--frame", "3", "--sheet", str(out)]) == 0
    )
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] == 1024 and "wrote" in capsys.readouterr().out
    assert main(["view", poses_file, "--sheet", str(tmp_path / "x.png")]) != 0
    assert "--sheet needs --session" in capsys.readouterr().err
