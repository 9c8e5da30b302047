"""``pose3d view``: off-screen outputs, and one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from pose3d.cameras import CameraGroup
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.io.calibration_toml import save_calibration
from pose3d.io.netcdf import save_poses
from pose3d.io.video_reading import VideoReader

pytest.importorskip("pyvista")


@pytest.fixture
def files(tmp_path: Path, poses: xr.Dataset, cameras: CameraGroup) -> tuple[Path, Path]:
    save_poses(tmp_path / "poses3d.nc", poses)
    save_calibration(tmp_path / "calibration.toml", cameras)
    return tmp_path / "poses3d.nc", tmp_path / "calibration.toml"


def test_screenshot_and_movie(
    tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    poses, calibration = files
    shot = tmp_path / "shot.png"
    args = ["view", str(poses), "--calibration", str(calibration), "--edges", "nose-neck,hip-tail"]
    assert main([*args, "--screenshot", str(shot), "--frame", "5", "--view", "side"]) == 0
    assert shot.stat().st_size > 1000
    movie = tmp_path / "m.mp4"
    size = ["--width", "320", "--height", "240", "--trail", "2", "--error-colors"]
    assert main([*args, *size, "--movie", str(movie), "--frames", "2:5"]) == 0
    with VideoReader(movie) as video:
        assert video.n_frames == 3
    assert "3 frames 2-4" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--frame", "6"], "frame 6 is out of range: expected 0 <= frame < 6"),
        (["--frame", "-1"], "frame -1 is out of range"),
        (["--movie", "{tmp}/m.mp4", "--frames", "4:10"], "expected 0 <= A < B <= 6"),
        (["--edges", "nose-paw"], "unknown keypoint(s) paw"),
        (["--view", "front"], "'front' is not in the calibration"),
        (["--calibration", "{tmp}/none.toml"], "none.toml"),
        (["--session", "{tmp}/nowhere"], "nowhere"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(
    tmp_path: Path,
    files: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    extra = [e.format(tmp=tmp_path) for e in extra]
    argv = ["view", str(files[0]), "--screenshot", str(tmp_path / "x.png"), *extra]
    if "--movie" in extra:
        argv.remove("--screenshot")
        argv.remove(str(tmp_path / "x.png"))
    assert main(argv) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "x.png").exists()


def test_missing_poses_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["view", str(tmp_path / "gone.nc"), "--screenshot", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err == f"error: poses file {tmp_path / 'gone.nc'} does not exist\n"
