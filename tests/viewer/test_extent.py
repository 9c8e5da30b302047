"""Poses the viewer cannot draw (1e300 mm, inf) get one message naming the file, never a
traceback, before any scene, plotter or output file is made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import Camera, CameraGroup
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.errors import Pose3dError
from pose3d.viewer.scene import MAX_COORDINATE, build_scene, check_extent

from .conftest import EDGES, make_poses


def _poses_with(value: float, frame: int = 3) -> xr.Dataset:
    """The analytic poses with one coordinate (nose x of mouse_a at ``frame``) set to ``value``."""
    poses = make_poses()
    poses[s.POSITION].values[frame, 0, 0, 0] = value  # [time, space, keypoint, individual]
    return poses


BAD = {
    "1e300": (1e300, r"coordinates reach 1e\+300 \(first at frame 3\), beyond the 1e\+09 world"),
    "-1e300": (-1e300, r"coordinates reach 1e\+300 \(first at frame 3\)"),
    "1e10": (1e10, r"coordinates reach 1e\+10"),
    "inf": (np.inf, r"a keypoint coordinate is infinite \(first at frame 3\)"),
    "-inf": (-np.inf, r"a keypoint coordinate is infinite"),
}


@pytest.mark.parametrize(("value", "message"), BAD.values(), ids=BAD.keys())
def test_build_scene_refuses_absurd_or_infinite_coordinates(value: float, message: str) -> None:
    poses = _poses_with(value)
    with pytest.raises(Pose3dError, match=rf"^poses: {message}"):
        build_scene(poses, 0, edges=EDGES, trail=3)
    with pytest.raises(Pose3dError, match=message):
        check_extent(poses)


def test_the_message_names_the_file_the_poses_were_read_from() -> None:
    poses = _poses_with(1e300)
    poses.encoding["source"] = "/data/rig/poses3d.nc"
    with pytest.raises(Pose3dError, match=r"^poses file /data/rig/poses3d.nc: coordinates reach"):
        build_scene(poses, 5)


def test_coordinates_within_the_bound_and_nan_still_draw() -> None:
    poses = _poses_with(0.5 * MAX_COORDINATE)
    poses[s.POSITION].values[0] = np.nan  # a frame with nothing triangulated
    scene = build_scene(poses, 3, edges=EDGES)
    assert np.isfinite(scene.bounds).all() and scene.bounds[1] == 0.5 * MAX_COORDINATE
    assert np.isfinite(scene.floor.segments).all()


def test_an_absurd_camera_centre_is_refused(cameras: CameraGroup) -> None:
    first = cameras.cameras[0]
    with pytest.raises(Pose3dError, match=r"translation .* is beyond 1e\+09 world units"):
        Camera(first.name, first.size, first.matrix, first.dist, first.rvec, np.array([0, 0, 1e99]))
    # each translation within the bound, the centre (-R^T t, turned by 45 degrees) beyond it
    turned = np.array([0.0, 0.0, np.pi / 4])
    far = Camera(first.name, first.size, first.matrix, first.dist, turned, np.array([9e8, 9e8, 0]))
    with pytest.raises(Pose3dError, match=r"calibration camera 'top' sits at .*beyond the 1e\+09"):
        build_scene(make_poses(), 0, CameraGroup((far, cameras.cameras[1])))


def test_rendering_and_the_window_refuse_before_making_anything(tmp_path: Path) -> None:
    pytest.importorskip("pyvista")
    from pose3d.viewer.render import save_movie, save_screenshot
    from pose3d.viewer.window import ViewerWindow

    poses = _poses_with(1e300)
    with pytest.raises(Pose3dError, match=r"coordinates reach 1e\+300"):
        save_screenshot(tmp_path / "shot.png", poses)
    with pytest.raises(Pose3dError, match=r"coordinates reach 1e\+300"):
        save_movie(tmp_path / "movie.mp4", poses)
    with pytest.raises(Pose3dError, match=r"coordinates reach 1e\+300"):
        ViewerWindow(poses, off_screen=True, size=(320, 240))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [1e300, np.inf], ids=["1e300", "inf"])
@pytest.mark.parametrize("output", ["--screenshot", "--movie"])
def test_pose3d_view_gives_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: float, output: str
) -> None:
    """A poses3d.nc holding them (written around pose3d's own validation, as a damaged or
    foreign file would be): exit 2, one line that names the file, no output written."""
    pytest.importorskip("pyvista")
    path = tmp_path / "poses3d.nc"
    _poses_with(value).to_netcdf(path, engine="h5netcdf")
    target = tmp_path / ("x.png" if output == "--screenshot" else "x.mp4")
    assert main(["view", str(path), output, str(target)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and str(path) in err
    assert "Traceback" not in err
    assert not target.exists()
