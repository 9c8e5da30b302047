"""What does not fit the session is said where both sides are known, before anything runs:
a calibration made for images of another size, labels of other keypoints; ``pose3d info``
exits non-zero when it lists a problem."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from pose3d import schema as s
from pose3d.cli import main
from pose3d.io.calibration_toml import load_calibration, save_calibration
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.synthetic.compare import seed_labels


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pose3d.synthetic import write_sample_session

    root = tmp_path_factory.mktemp("checks") / "session"
    write_sample_session(
        root, n_cameras=2, n_frames=8, n_board_frames=1, image_size=(160, 120),
        image_folders=False,
    )  # fmt: skip
    shutil.copy(root / "truth" / "calibration.toml", root / "calibration" / "calibration.toml")
    save_labels(root / "labels.nc", seed_labels(load_labels(root / "truth" / "labels.nc"), [0]))
    return root


def test_a_sound_session_passes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(root)]) == 0
    assert main(["track", str(root), "--view", "all", "--tracker", "classical"]) == 0


def test_a_calibration_of_other_image_sizes_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = root / "calibration" / "calibration.toml"
    cameras = load_calibration(path)
    resized = replace(cameras["cam1"], size=(320, 240))
    save_calibration(path, replace(cameras, cameras=(cameras["cam0"], resized)))
    before = (root / "labels.nc").read_bytes()
    assert main(["info", str(root)]) == 1
    out = capsys.readouterr().out
    assert "cam1 calibrated at 320x240, video 160x120" in " ".join(out.split())
    for command in (["track", "--view", "all", "--tracker", "classical"], ["triangulate"]):
        assert main([command[0], str(root), *command[1:]]) == 2
        err = capsys.readouterr().err
        assert "cam1 calibrated at 320x240, video 160x120" in err and "recalibrate" in err
    assert (root / "labels.nc").read_bytes() == before
    assert not (root / "poses3d.nc").exists()


def test_labels_of_other_keypoints_are_said_at_once(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = load_labels(root / "labels.nc")
    names = [str(k) for k in labels[s.KEYPOINT].values]
    save_labels(root / "labels.nc", labels.assign_coords({s.KEYPOINT: ["snout", *names[1:]]}))
    assert main(["info", str(root)]) == 1
    assert "snout" in capsys.readouterr().out
    assert main(["track", str(root), "--view", "all", "--tracker", "classical"]) == 2
    err = capsys.readouterr().err
    assert "has keypoints snout" in err and "but the session's keypoints are" in err
