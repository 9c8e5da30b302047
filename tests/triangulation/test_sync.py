"""Sync: frame offsets recovered exactly from the 2D labels of a moving subject; refused,
with nothing written, when the labels cannot tell the offsets apart, when the estimate is no
better than the current offsets, and when moving the labels would drop a manual point."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.errors import Pose3dError
from pose3d.io.netcdf import load_labels
from pose3d.io.session_toml import load_session
from pose3d.labels import new_labels
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.triangulate import sync_session
from pose3d.triangulation import estimate_offsets, shift_labels, triangulate
from pose3d.triangulation import sync as sync_module
from pose3d.triangulation.sync import TooFewLabels
from tests.support.cli import error_line

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


def _files(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in ("labels.nc", "session.toml")}


def test_shift_labels_moves_every_view_variable(rig: CameraGroup) -> None:
    labels = new_labels(10, ["cam0", "cam1"], ["kp"], ["a"])
    labels[s.POSITION].values[:, 0, 0, 0, 0] = np.arange(10.0)
    labels[s.POSITION].values[:, 0, 1, 0, 0] = 1.0
    labels[s.CONFIDENCE].values[:, 0] = 0.5
    labels[s.SOURCE].values[:, 0] = int(s.PointSource.TRACKED)
    labels[s.SOURCE].values[0, 0] = int(s.PointSource.MANUAL)  # moves in, stays
    moved, dropped = shift_labels(labels, {"cam0": 3, "cam1": 0})
    x = moved[s.POSITION].values[:, 0, 0, 0, 0]
    assert np.isnan(x[:3]).all() and (x[3:] == np.arange(7.0)).all()
    assert (moved[s.SOURCE].values[:3, 0] == int(s.PointSource.NONE)).all()
    assert moved[s.SOURCE].values[3, 0, 0, 0] == int(s.PointSource.MANUAL)
    assert (moved[s.SOURCE].values[4:, 0] == int(s.PointSource.TRACKED)).all()
    assert np.isnan(moved[s.CONFIDENCE].values[:3, 0]).all()
    assert dropped == {"cam0": {s.PointSource.TRACKED: 3}}
    back, lost = shift_labels(moved, {"cam0": -3})
    np.testing.assert_array_equal(back[s.POSITION].values[:7, 0], labels[s.POSITION].values[:7, 0])
    assert lost == {}  # frames 0-2 of ``moved`` are empty: nothing falls out


def test_shift_labels_never_drops_a_manual_point() -> None:
    """A manual point (or a manual mark without a position) that a shift would push out of the
    labels' frames is refused, naming the view, the points and what to do; tracked ones may go."""
    labels = new_labels(10, ["cam0", "cam1"], ["kp", "tail"], ["a"])
    labels[s.POSITION].values[:, 0] = 5.0
    labels[s.SOURCE].values[:, 0] = int(s.PointSource.TRACKED)
    labels[s.SOURCE].values[9, 0, 0] = int(s.PointSource.MANUAL)
    labels[s.SOURCE].values[8, 0, 1] = int(s.PointSource.MANUAL)
    labels[s.POSITION].values[8, 0, :, 1] = np.nan  # a person's "not visible here" mark
    before = labels.copy(deep=True)
    with pytest.raises(Pose3dError) as error:
        shift_labels(labels, {"cam0": 3})
    message = str(error.value)
    assert "cam0: a change of +3 frames would push 2 manual points (frames 8-9) past frame 9" in (
        message
    )
    assert "never dropped" in message and "delete or move those points first" in message
    xr.testing.assert_identical(labels, before)  # the input is untouched
    moved, dropped = shift_labels(labels, {"cam0": -2})  # the manual points stay inside
    assert dropped == {"cam0": {s.PointSource.TRACKED: 4}}
    assert moved[s.SOURCE].values[7, 0, 0, 0] == int(s.PointSource.MANUAL)
    assert moved[s.SOURCE].values[6, 0, 1, 0] == int(s.PointSource.MANUAL)


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
    result = report.result
    assert not result.kept_current and result.corrections == result.estimate == OFFSETS
    assert np.isfinite(result.error_after) and result.error_after < result.error_before
    # the tracked points moved out of the frames are counted, per view: cam0's first 3 frames,
    # cam2's last 2 and cam3's last 5
    seen = np.isfinite(labels[s.POSITION].values).all(axis=2)  # [T, V, K, I]
    expected = {
        "cam0": int(seen[:3, 0].sum()),
        "cam2": int(seen[-2:, 2].sum()),
        "cam3": int(seen[-5:, 3].sum()),
    }
    assert report.dropped == {v: {s.PointSource.TRACKED: n} for v, n in expected.items()}
    assert report.dropped_points == sum(expected.values())
    assert {c.name: c.offset for c in load_session(session.root).cameras} == OFFSETS
    synced = load_labels(session.paths.labels)
    poses = triangulate(synced[s.POSITION], rig)
    assert float(poses[s.REPROJECTION_ERROR].median()) < 1.0
    with SessionFolder(session.root) as folder:
        again = sync_session(folder, reference="cam1", max_offset=8)
    assert not again.written and set(again.result.corrections.values()) == {0}


def test_sync_command_on_a_shifted_session(
    tmp_path: Path, rig: CameraGroup, synth: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    session = synth.write_session(tmp_path / "s", rig, _shifted_labels(rig, synth))
    assert main(["sync", str(session.root), "--reference", "cam1", "--max-offset", "8"]) == 0
    out = capsys.readouterr().out
    assert "cam3: offset +5 (change +5 frames)" in out
    assert "cam3: " in out and "tracked point(s) moved outside the labels' frames" in out
    assert "wrote the offsets" in out
    assert {c.name: c.offset for c in load_session(session.root).cameras} == OFFSETS


def test_sync_refuses_to_drop_manual_points(
    tmp_path: Path, rig: CameraGroup, synth: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """cam3 is 5 frames late: its last 5 frames leave the labels. Those hold manual points, so
    sync refuses, says which view, how many points and what to do, and writes nothing."""
    labels = _shifted_labels(rig, synth)
    manual = np.isfinite(labels[s.POSITION].values[-3:, 3]).all(axis=1)  # [3, K, I]
    labels[s.SOURCE].values[-3:, 3][manual] = int(s.PointSource.MANUAL)
    session = synth.write_session(tmp_path / "s", rig, labels)
    before = _files(session.root)
    args = ["sync", str(session.root), "--reference", "cam1", "--max-offset", "8"]
    assert main(args) == EXIT_USER_ERROR
    message = error_line(capsys)
    count = int(manual.sum())
    assert f"cam3: a change of +5 frames would push {count} manual points (frames 117-119)" in (
        message
    )
    assert "never dropped" in message and "nothing was written" in message
    assert "delete or move those points first" in message
    assert _files(session.root) == before
    assert main([*args, "--dry-run"]) == EXIT_USER_ERROR  # the estimate cannot be applied
    assert "cam3: a change of +5 frames" in error_line(capsys)


def test_sync_keeps_the_current_offsets_when_the_estimate_is_worse(
    tmp_path: Path,
    rig: CameraGroup,
    synth: ModuleType,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An estimate whose error is not below the current offsets' is never written: the result
    keeps the current offsets and says so."""
    rng = np.random.default_rng(3)
    labels = synth.labels_of(rig, synth.moving_chain(rng, 60, 6), noise=0.5, rng=rng)
    session = synth.write_session(tmp_path / "s", rig, labels)
    real = sync_module._descend

    def wrong(*args: Any) -> dict[int, list[float]]:
        scores = real(*args)
        shifts = args[2]
        shifts[2] += 2  # a descent that ends somewhere worse
        return scores

    monkeypatch.setattr(sync_module, "_descend", wrong)
    result = estimate_offsets(labels[s.POSITION], rig, max_offset=4)
    assert result.estimate["cam2"] == 2 and result.kept_current
    assert set(result.corrections.values()) == {0}
    assert result.error_after == result.error_before < result.error_estimate
    before = _files(session.root)
    assert main(["sync", str(session.root), "--max-offset", "4"]) == 0
    out = capsys.readouterr().out
    assert "kept the current offsets: the estimate (cam2 +2 frames)" in out
    assert "nothing written" in out
    assert _files(session.root) == before


def test_too_few_points_to_sync(rig: CameraGroup) -> None:
    labels = new_labels(30, list(rig.names), ["kp"], ["a"])
    with pytest.raises(Pose3dError, match="too few points are seen by two views"):
        estimate_offsets(labels[s.POSITION], rig, max_offset=3)
    with pytest.raises(Pose3dError, match="max_offset 20 is too large for 30 frames"):
        estimate_offsets(labels[s.POSITION], rig, max_offset=20)


@pytest.mark.parametrize("frames", [[0], [0, 5, 10, 15, 20, 25]], ids=["one", "sparse"])
def test_labels_that_cannot_tell_shifts_apart_are_refused(
    rig: CameraGroup, synth: ModuleType, frames: list[int]
) -> None:
    """One labelled frame, or a frame every 5: most shifts leave no point seen by two views, so
    no shift can be told from another; the arg-min over unscored shifts was -max_offset."""
    full = _shifted_labels(rig, synth, n_frames=30)
    labels = new_labels(30, list(rig.names), [str(k) for k in full[s.KEYPOINT].values], ["ind0"])
    labels[s.POSITION].values[frames] = full[s.POSITION].values[frames]
    with pytest.raises(TooFewLabels) as error:
        estimate_offsets(labels[s.POSITION], rig, max_offset=4)
    assert "cannot estimate the frame offsets" in str(error.value)
    assert "cam1 " in str(error.value) and "of 9 (points in" in str(error.value)
    assert error.value.frames_needed == 4 + 2  # 8 points a frame: 2 frames of overlap at +-4


def test_sync_after_one_labelled_frame_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scenario of issue 16: ``sample-data --label-frames 0`` (frame 0's true points as
    manual labels) with a calibration, then ``sync``: it used to set cam1-cam3 to -10, report
    "0.01 px -> inf px" and drop 28 of the 38 manual points. Now it refuses, says why and what
    to label, and leaves labels.nc and session.toml as they were."""
    root = tmp_path / "S"
    args = ["sample-data", str(root), "--videos-only", "--frames", "30", "--board-frames", "2"]
    args += ["--cameras", "4", "--width", "320", "--height", "240", "--label-frames", "0"]
    assert main(args) == 0
    capsys.readouterr()
    shutil.copy(root / "truth" / "calibration.toml", root / "calibration" / "calibration.toml")
    manual = load_labels(root / "labels.nc")[s.SOURCE].values == s.PointSource.MANUAL
    assert manual.sum() > 2 * sync_module.MIN_POINTS and manual[0].any() and not manual[1:].any()
    before = _files(root)

    assert main(["sync", str(root)]) == EXIT_USER_ERROR
    message = error_line(capsys)
    assert "cannot estimate the frame offsets: too few points are seen by two views" in message
    assert "cam1 20 of 21 (points in 1 frame" in message
    assert "label or track at least" in message and "consecutive frames in every view" in message
    assert f"(pose3d track {root} --view all)" in message and "nothing was written" in message
    assert _files(root) == before
    kept = load_labels(root / "labels.nc")[s.SOURCE].values == s.PointSource.MANUAL
    np.testing.assert_array_equal(kept, manual)
    assert all(c.offset == 0 for c in load_session(root).cameras)
