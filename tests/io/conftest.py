"""A session to export: the committed sample session cut to 2 cameras and 6 keypoints (NWB
writes a group per camera and keypoint: fewer keep the tests fast), its ground truth as
labels.nc, poses3d.nc and calibration.toml, some points made manual, missing or less confident."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.io.netcdf import load_labels, load_poses, save_labels, save_poses
from pose3d.io.session_toml import load_session, save_session
from pose3d.session import Session
from pose3d.skeleton import Skeleton

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "session"
VIEWS = ("cam0", "cam2")


@pytest.fixture
def full_session(tmp_path: Path) -> Session:
    """cam0, cam2; nose .. tail_base; 60 frames at 30 fps, 1 individual; labels with manual
    points on frames 0 and 30, NaN points and confidences in [0, 1]; 3D poses in mm; the
    calibration of all 4 cameras; videos that open."""
    root = tmp_path / "session"
    root.mkdir()
    shutil.copy(SAMPLE / "session.toml", root)
    (root / "videos").mkdir()
    for view in VIEWS:
        shutil.copy(SAMPLE / "videos" / f"{view}.mp4", root / "videos")
    (root / "calibration").mkdir()
    shutil.copy(SAMPLE / "truth" / "calibration.toml", root / "calibration" / "calibration.toml")
    full = load_session(root)
    keypoints = full.skeleton.keypoints[:6]
    edges = tuple(e for e in full.skeleton.edges if set(e) <= set(keypoints))
    session = replace(
        full,
        cameras=tuple(c for c in full.cameras if c.name in VIEWS),
        skeleton=Skeleton(keypoints, edges),
        calibration_media={},
    )
    save_session(session)
    cut = {s.KEYPOINT: list(keypoints)}
    save_poses(root / "poses3d.nc", load_poses(SAMPLE / "truth" / "poses3d.nc").sel(cut))
    labels = load_labels(SAMPLE / "truth" / "labels.nc").drop_vars("visible")
    labels = labels.sel({**cut, s.VIEW: list(VIEWS)})
    rng = np.random.default_rng(5)
    confidence = labels[s.CONFIDENCE].values
    confidence[:] = rng.uniform(0.2, 1.0, confidence.shape)
    labels[s.SOURCE].values[[0, 30]] = int(s.PointSource.MANUAL)
    confidence[[0, 30]] = 1.0
    gone = rng.uniform(size=confidence.shape) < 0.1  # (T, V, K, I)
    gone[[0, 30]] = False
    labels[s.POSITION].values[np.broadcast_to(gone[:, :, None], labels[s.POSITION].shape)] = np.nan
    confidence[gone] = np.nan
    labels[s.SOURCE].values[gone] = int(s.PointSource.NONE)
    save_labels(root / "labels.nc", labels)
    return load_session(root)
