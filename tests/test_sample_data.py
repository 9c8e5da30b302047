"""The committed sample session opens and agrees with its ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pose3d import schema as s
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import load_labels, load_poses
from pose3d.io.session_toml import load_session
from pose3d.io.video_reading import VideoReader

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "session"


def test_sample_session_is_complete_and_small() -> None:
    session = load_session(SAMPLE)
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size <= 5 * 2**20
    assert not (SAMPLE / ".pose3d.lock").exists()
    for name in session.camera_names:
        with VideoReader(session.video_path(name)) as reader:
            assert reader.n_frames == 60 and reader.size == (640, 480)
    assert set(session.calibration_media_paths()) == set(session.camera_names)
    assert all(p.is_file() for p in session.calibration_media_paths().values())


def test_sample_truth_is_consistent() -> None:
    session = load_session(SAMPLE)
    cameras = load_calibration(SAMPLE / "truth" / "calibration.toml")
    poses = load_poses(SAMPLE / "truth" / "poses3d.nc")
    labels = load_labels(SAMPLE / "truth" / "labels.nc")
    assert cameras.names == session.camera_names and cameras.unit == "mm"
    points = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    for name in cameras.names:
        stored = labels[s.POSITION].sel({s.VIEW: name})
        stored = stored.transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
        np.testing.assert_allclose(cameras[name].project(points), stored, atol=1e-6)
    assert labels["visible"].values.mean() > 0.5
