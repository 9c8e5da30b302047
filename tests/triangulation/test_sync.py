"""Sync: frame offsets recovered exactly from the 2D labels of a moving subject."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.io.netcdf import load_labels
from pose3d.io.session_toml import load_session
from pose3d.labels import new_labels
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.triangulate import sync_session
from pose3d.triangulation import estimate_offsets, shift_labels, triangulate

OFFSETS = {"cam0": -3, "cam1": 0, "cam2": 2, "cam3": 5}
MARGIN = 10


def _shifted_labels(rig: CameraGroup, synth: ModuleType, n_frames: int = 120) -> xr.Dataset:
    """Labels stored with offsets 0 while camera v really shows session frame t + OFFSETS[v]."""
    rng = np.random.default_rng(41)
    truth = synth.moving_chain(rng, n_frames + 2 * MARGIN, 8)
    labels = synth.labels_of(rig, truth[MARGIN:-MARGIN], noise=0.5, rng=rng)
    for v, name in enumerate(rig.names):
        moved = truth[MARGIN + OFFSETS[name] : MARGIN + OFFSETS[name] + n_frames]
        view = synth.labels_of(rig, moved, noise=0.5, rng=rng)
        labels[s.POSITION].values[:, v] = view[s.POSITION].values[:, v]
    return labels


def test_offsets_are_recovered_exactly(rig: CameraGroup, synth: ModuleType) -> None:
    labels = _shifted_labels(rig, synth)
    result = estimate_offsets(
        labels[s.POSITION], rig, labels[s.CONFIDENCE], reference="cam1", max_offset=8
    )
    assert result.corrections == OFFSETS
    assert result.error_after < 1.0 < 3 * result.error_before  # px
    scores = np.array(result.scores["cam3"])
    assert scores.shape == (17,) and int(np.argmin(scores)) == 8 + 5


def test_default_reference_is_the_first_view(rig: CameraGroup, synth: ModuleType) -> None:
    labels = _shifted_labels(rig, synth)
    result = estimate_offsets(labels[s.POSITION], rig, max_offset=10)
    assert result.reference == "cam0"
    assert result.corrections == {k: v - OFFSETS["cam0"] for k, v in OFFSETS.items()}


def test_shift_labels_moves_every_view_variable(rig: CameraGroup) -> None:
    labels = new_labels(10, ["cam0", "cam1"], ["kp"], ["a"])
    labels[s.POSITION].values[:, 0, 0, 0, 0] = np.arange(10.0)
    labels[s.POSITION].values[:, 0, 1, 0, 0] = 1.0
    labels[s.CONFIDENCE].values[:, 0] = 0.5
    labels[s.SOURCE].values[:, 0] = int(s.PointSource.MANUAL)
    moved, dropped = shift_labels(labels, {"cam0": 3, "cam1": 0})
    x = moved[s.POSITION].values[:, 0, 0, 0, 0]
    assert np.isnan(x[:3]).all() and (x[3:] == np.arange(7.0)).all()
    assert (moved[s.SOURCE].values[:3, 0] == int(s.PointSource.NONE)).all()
    assert (moved[s.SOURCE].values[3:, 0] == int(s.PointSource.MANUAL)).all()
    assert np.isnan(moved[s.CONFIDENCE].values[:3, 0]).all()
    assert dropped == 3
    back, _ = shift_labels(moved, {"cam0": -3})
    np.testing.assert_array_equal(back[s.POSITION].values[:7, 0], labels[s.POSITION].values[:7, 0])


def test_sync_session_writes_offsets_and_moves_labels(
    tmp_path: Path, rig: CameraGroup, synth: ModuleType
) -> None:
    labels = _shifted_labels(rig, synth)
    session = synth.write_session(tmp_path / "s", rig, labels)
    with SessionFolder(session.root) as folder:
        dry = sync_session(folder, reference="cam1", max_offset=8, dry_run=True)
    assert dry.offsets == OFFSETS and not dry.written
    assert all(c.offset == 0 for c in load_session(session.root).cameras)

    with SessionFolder(session.root) as folder:
        report = sync_session(folder, reference="cam1", max_offset=8)
    assert report.written and report.offsets == OFFSETS
    assert {c.name: c.offset for c in load_session(session.root).cameras} == OFFSETS
    synced = load_labels(session.paths.labels)
    poses = triangulate(synced[s.POSITION], rig)
    assert float(poses[s.REPROJECTION_ERROR].median()) < 1.0
    with SessionFolder(session.root) as folder:
        again = sync_session(folder, reference="cam1", max_offset=8)
    assert not again.written and set(again.result.corrections.values()) == {0}


def test_too_few_points_to_sync(rig: CameraGroup) -> None:
    labels = new_labels(30, list(rig.names), ["kp"], ["a"])
    with pytest.raises(Pose3dError, match="too few points are seen by two views"):
        estimate_offsets(labels[s.POSITION], rig, max_offset=3)
    with pytest.raises(Pose3dError, match="max_offset 20 is too large for 30 frames"):
        estimate_offsets(labels[s.POSITION], rig, max_offset=20)
