"""write_sample_session: the folder it writes, read back with pose3d's own readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.board import CharucoBoard, Checkerboard
from pose3d.cameras import rodrigues_to_matrix
from pose3d.errors import Pose3dError
from pose3d.io.board_toml import load_board
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import ENGINE, load_labels, load_poses
from pose3d.io.session_toml import load_session
from pose3d.io.video_reading import VideoReader
from pose3d.synthetic import default_board, make_scene, make_walkers, render, simulate
from pose3d.synthetic.sample import stream, write_sample_session

ARGS = dict(
    n_cameras=3,
    n_frames=8,
    n_board_frames=6,
    image_size=(160, 120),
    n_individuals=2,
    offsets={"cam1": 2, "cam2": -1},
    seed=5,
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, int, int]]]:
    root = tmp_path_factory.mktemp("synthetic") / "sample"
    calls: list[tuple[str, int, int]] = []
    write_sample_session(root, progress=lambda *a: calls.append(a), **ARGS)  # type: ignore[arg-type]
    return root, calls


def _open_board(root: Path) -> xr.Dataset:
    with xr.open_dataset(root / "truth" / "board.nc", engine=ENGINE) as ds:
        return ds.load()


def test_layout(written: tuple[Path, list[tuple[str, int, int]]]) -> None:
    root, _ = written
    expected = ["session.toml", "calibration/board.toml", "truth/README.txt"]
    expected += [f"truth/{n}" for n in ("calibration.toml", "poses3d.nc", "labels.nc", "board.nc")]
    for rel in expected:
        assert (root / rel).is_file(), rel
    for cam in ("cam0", "cam1", "cam2"):
        with VideoReader(root / "videos" / f"{cam}.mp4") as video:
            assert (len(video), video.size) == (8, (160, 120))
        with VideoReader(root / "calibration" / cam / "board.mp4") as video:
            assert len(video) == 6
        assert len(list((root / "calibration" / cam / "frames").glob("frame_*.png"))) == 6


def test_session_toml(written: tuple[Path, list[tuple[str, int, int]]]) -> None:
    root, _ = written
    session = load_session(root)
    assert session.camera_names == ("cam0", "cam1", "cam2")
    assert [c.video for c in session.cameras] == [f"videos/cam{j}.mp4" for j in range(3)]
    assert [c.offset for c in session.cameras] == [0, 2, -1]
    assert session.individuals == ("individual_0", "individual_1")
    assert len(session.skeleton.keypoints) == 12 and session.fps == 30.0
    assert session.board == default_board("charuco") == load_board(root / "calibration/board.toml")
    assert load_calibration(root / "truth" / "calibration.toml").names == session.camera_names


def test_stored_2d_is_the_projection_of_the_stored_3d(
    written: tuple[Path, list[tuple[str, int, int]]],
) -> None:
    root, _ = written
    rig = load_calibration(root / "truth" / "calibration.toml")
    poses, labels = load_poses(root / "truth/poses3d.nc"), load_labels(root / "truth/labels.nc")
    points = np.moveaxis(poses[s.POSITION].values, 1, -1)  # [T, K, I, 3]
    assert points.shape == (8, 12, 2, 3)
    for v, cam in enumerate(rig):
        stored = np.moveaxis(labels[s.POSITION].values[:, v], 1, -1)
        assert np.abs(cam.project(points) - stored).max() < 1e-6
    visible = labels["visible"].values
    np.testing.assert_array_equal(labels[s.CONFIDENCE].values, visible.astype(float))
    np.testing.assert_array_equal(poses[s.N_VIEWS].values, visible.sum(axis=1))


def test_board_truth_is_consistent(written: tuple[Path, list[tuple[str, int, int]]]) -> None:
    root, _ = written
    rig = load_calibration(root / "truth" / "calibration.toml")
    board = load_board(root / "calibration/board.toml")
    ds = _open_board(root)
    local = board.corner_points()
    for i in range(ds.sizes[s.TIME]):
        rotation = rodrigues_to_matrix(ds["rvec"].values[i])
        world = local @ rotation.T + ds["tvec"].values[i]
        np.testing.assert_allclose(ds["corner_world"].values[i], world, atol=1e-9)
        for v, cam in enumerate(rig):
            stored = ds[s.POSITION].values[i, v].T  # [corner, 2]
            assert np.abs(cam.project(world) - stored).max() < 1e-6
    whole = ds["visible"].values.all(axis=2)
    assert (whole.sum(axis=1) >= 2).all()


def test_offsets_shift_what_each_camera_shows(
    written: tuple[Path, list[tuple[str, int, int]]],
) -> None:
    root, _ = written
    visible = load_labels(root / "truth/labels.nc")["visible"].values  # [T, V, K, I]
    assert not visible[:2, 1].any()  # cam1 starts at session frame 2
    assert not visible[7, 2].any()  # cam2 ended before session frame 7
    assert visible[2:, 1].any() and visible[:7, 2].any()
    # camera 1's video frame 0 shows session frame 2
    _, views = make_scene(5, 3, (160, 120))
    walkers = make_walkers(stream(5, "subject"), 2)
    with VideoReader(root / "videos" / "cam1.mp4") as video:
        frame0 = video.read(0).astype(float)
    shown = {
        f: render(views[1], bodies=simulate(walkers, np.array([f / 30.0])).frame(0)).image
        for f in (0, 2)
    }
    moved = np.abs(shown[0].astype(float) - shown[2]).max(axis=-1) > 30  # where the two differ
    assert moved.sum() > 20
    error = {f: np.abs(image[moved] - frame0[moved]).mean() for f, image in shown.items()}
    assert error[2] < 10 and error[2] < error[0] / 3


def test_progress_reports_every_step_to_its_end(
    written: tuple[Path, list[tuple[str, int, int]]],
) -> None:
    _, calls = written
    last = {step: (done, total) for step, done, total in calls}
    assert {"cameras", "calibration media", "videos", "ground truth"} <= set(last)
    assert all(done == total for done, total in last.values())
    assert last["videos"] == (24, 24)


def test_same_seed_gives_identical_files(
    written: tuple[Path, list[tuple[str, int, int]]], tmp_path: Path
) -> None:
    root, _ = written
    again = tmp_path / "again"
    write_sample_session(again, **ARGS)  # type: ignore[arg-type]
    for rel in ("truth/calibration.toml", "calibration/cam2/frames/frame_000003.png"):
        assert (root / rel).read_bytes() == (again / rel).read_bytes()
    for name in ("poses3d.nc", "labels.nc", "board.nc"):
        with (
            xr.open_dataset(root / "truth" / name, engine=ENGINE) as a,
            xr.open_dataset(again / "truth" / name, engine=ENGINE) as b,
        ):
            xr.testing.assert_identical(a.load(), b.load())


def test_other_seed_gives_another_session_and_boards_can_be_checkerboards(tmp_path: Path) -> None:
    small = dict(n_cameras=2, n_frames=2, n_board_frames=2, image_size=(64, 48))
    write_sample_session(tmp_path / "a", seed=1, **small)  # type: ignore[arg-type]
    write_sample_session(tmp_path / "b", seed=2, board="checkerboard", **small)  # type: ignore[arg-type]
    a = load_poses(tmp_path / "a/truth/poses3d.nc")[s.POSITION].values
    b = load_poses(tmp_path / "b/truth/poses3d.nc")[s.POSITION].values
    assert not np.allclose(a, b)
    board = load_board(tmp_path / "b/calibration/board.toml")
    assert isinstance(board, Checkerboard) and board == load_session(tmp_path / "b").board
    assert _open_board(tmp_path / "b").sizes["corner"] == board.n_corners


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    huge = CharucoBoard(5, 5, 300.0, 200.0)  # 1.5 m wide: no camera sees it whole
    with pytest.raises(Pose3dError, match="could not place the board"):
        write_sample_session(tmp_path / "s", n_cameras=2, image_size=(64, 48), board=huge)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(image_size=(161, 120)), "even"),
        (dict(offsets={"cam9": 1}), "unknown camera"),
        (dict(offsets={"cam0": 1.5}), "whole number"),
        (dict(n_individuals=3), "individuals"),
        (dict(n_cameras=1), "cameras"),
        (dict(board="circles"), "board"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(Pose3dError, match=message):
        write_sample_session(tmp_path / "s", n_frames=1, n_board_frames=1, **kwargs)  # type: ignore[arg-type]


def test_refuses_a_folder_that_holds_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(Pose3dError, match="not empty"):
        write_sample_session(tmp_path, n_frames=1, n_board_frames=1)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_sample_data_cli_writes_fisheye_media_and_truth(tmp_path: Path) -> None:
    """``pose3d sample-data --fisheye``: fisheye cameras in truth/calibration.toml, and the true
    2D of the subject and the board are the fisheye projections of the true 3D."""
    from pose3d.cli import main

    root = tmp_path / "wide"
    argv = ["sample-data", str(root), "--fisheye", "--cameras", "2", "--frames", "2"]
    argv += ["--board-frames", "2", "--width", "160", "--height", "120", "--videos-only"]
    assert main(argv) == 0
    rig = load_calibration(root / "truth" / "calibration.toml")
    assert [cam.model for cam in rig] == ["fisheye", "fisheye"]
    assert "fisheye = true" in (root / "truth" / "calibration.toml").read_text(encoding="utf-8")
    labels = load_labels(root / "truth" / "labels.nc")
    points = load_poses(root / "truth" / "poses3d.nc")[s.POSITION]
    points = points.transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    for cam in rig:
        stored = labels[s.POSITION].sel({s.VIEW: cam.name})
        stored = stored.transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
        np.testing.assert_allclose(cam.project(points), stored, atol=1e-6)
    board = _open_board(root)
    corners = board["corner_world"].values
    for v, cam in enumerate(rig):
        np.testing.assert_allclose(
            cam.project(corners), board["position"].values[:, v].transpose(0, 2, 1), atol=1e-6
        )
