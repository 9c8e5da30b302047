"""SessionFolder: the lock for its life, every artefact loaded and saved through it, one clear
message per missing file; read-only folders take no lock and refuse to write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.errors import CalibrationError, Pose3dError, SessionError, SessionLockedError
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels
from pose3d.labels import set_point
from pose3d.pipeline.folder import SessionFolder
from pose3d.session import SessionPaths


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pose3d.synthetic import write_sample_session

    root = tmp_path_factory.mktemp("folder") / "session"
    write_sample_session(
        root, n_cameras=2, n_frames=6, n_board_frames=1, image_size=(160, 120),
        offsets={"cam1": 2}, image_folders=False,
    )  # fmt: skip
    return root


def test_the_lock_is_held_for_the_folders_life(root: Path) -> None:
    with SessionFolder(root) as folder:
        assert folder.writable and (root / ".pose3d.lock").is_file()
        with pytest.raises(SessionLockedError, match="open for writing by another"):
            SessionFolder(root)
        reader = SessionFolder(root, write=False)  # reading needs no lock
        assert not reader.writable and reader.session == folder.session
    SessionFolder(root).close()  # released


def test_a_read_only_folder_refuses_to_write(root: Path) -> None:
    folder = SessionFolder(root, write=False)
    labels = folder.labels_or_new()
    with pytest.raises(SessionError, match=r"cannot write .*labels.nc: .* opened read-only"):
        folder.save_labels(labels)
    assert not (root / "labels.nc").exists()


def test_missing_files_say_what_to_do(root: Path) -> None:
    with SessionFolder(root) as folder:
        with pytest.raises(Pose3dError, match=r"labels.nc does not exist: .*\(pose3d tui "):
            folder.labels()
        with pytest.raises(Pose3dError, match=r"poses3d.nc does not exist: .*`pose3d triangulate "):
            folder.poses()
        with pytest.raises(Pose3dError, match=r"no calibration: .*\(pose3d calibrate "):
            folder.cameras()
        assert folder.cameras_or_none() is None and folder.report() is None


def test_new_labels_cover_every_camera_and_round_trip(root: Path) -> None:
    with SessionFolder(root) as folder:
        labels = folder.labels_or_new()
        assert labels.sizes[s.TIME] == 8  # cam1: 6 frames from session frame 2
        assert [str(v) for v in labels[s.VIEW].values] == ["cam0", "cam1"]
        labels = set_point(labels, 3, "cam1", "nose", "individual_0", (5.0, 6.0))
        folder.save_labels(labels)
        assert folder.paths.labels == SessionPaths(root).labels == root / "labels.nc"
        again = folder.labels()
    np.testing.assert_array_equal(again[s.POSITION].values, load_labels(root / "labels.nc")[
        s.POSITION].values)  # fmt: skip
    assert again[s.POSITION].sel(time=3, view="cam1", keypoint="nose").values[:, 0].tolist() == [
        5.0,
        6.0,
    ]


def test_calibration_inputs_are_checked_once(root: Path) -> None:
    with SessionFolder(root) as folder:
        media = folder.calibration_media()
        assert list(media) == ["cam0", "cam1"] and all(p.exists() for p in media.values())
        assert folder.board() is not None
        folder.paths.report.write_text("{not json", encoding="utf-8")
        with pytest.raises(CalibrationError, match=r"report\.json cannot be read"):
            folder.report()
        folder.update_session(lambda now: type(now)(**{**now.__dict__, "board": None}))
        folder.paths.board.unlink()
        with pytest.raises(CalibrationError, match=r"has no board: .*`pose3d board list`"):
            folder.board()


def test_a_plain_lock_elsewhere_blocks_the_folder(root: Path) -> None:
    with SessionLock(root), pytest.raises(SessionLockedError):
        SessionFolder(root)
