"""Views that repair each other (pose3d.tracking.repair): a flagged tracked point that a strong
consensus of the other views rejects moves to the consensus' reprojection (source REPROJECTED),
two tracked views are not enough, a reprojected point is judged again on every run, and a
re-track replaces the reprojected points of the cells it governs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.labels import set_point
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.track import propagate
from pose3d.tracking.classical import ClassicalTracker
from pose3d.tracking.repair import repair_views
from pose3d.tracking.review import flag_points
from tests.support.tracked import tracked_truth

Seeder = Callable[[Sequence[int]], Path]
K = 3  # the keypoint shifted in cam3
SHIFTED = (slice(6, 10), 3, slice(None), K, 0)  # frames 6-9 of cam3, (x, y)


@pytest.fixture
def cameras(synthetic_template: Path) -> CameraGroup:
    return load_calibration(synthetic_template / "calibration" / "calibration.toml")


def shifted(truth: xr.Dataset) -> xr.Dataset:
    """Tracked truth with keypoint K of cam3 40 px off on frames 6-9, its confidence 0.7."""
    labels = tracked_truth(truth)
    labels[s.POSITION].values[SHIFTED] += (40.0, 0.0)
    labels[s.CONFIDENCE].values[6:10, 3, K, 0] = 0.7
    return labels


def error(labels: xr.Dataset, truth: xr.Dataset) -> np.ndarray:
    """(T, V, K, I) px from the truth, over the labels' frames."""
    diff = labels[s.POSITION].values - truth[s.POSITION].values[: labels.sizes[s.TIME]]
    return np.asarray(np.hypot(diff[:, :, 0], diff[:, :, 1]))


def test_a_point_three_views_reject_moves_to_their_consensus(
    truth: xr.Dataset, cameras: CameraGroup
) -> None:
    flagged = flag_points(shifted(truth), cameras=cameras)
    assert flagged[s.REVIEW].values[6:10, 3, K, 0].all()
    out, moved = repair_views(flagged, (0, 10), cameras)
    assert moved == 4
    here = (slice(6, 10), 3, K, 0)
    assert (out[s.SOURCE].values[here] == s.PointSource.REPROJECTED).all()
    assert error(out, truth)[here].max() < 0.5  # the true calibration: back on the truth
    assert not out[s.REVIEW].values.any()  # nothing left to review
    np.testing.assert_allclose(out[s.CONFIDENCE].values[here], 0.7)  # its own confidence
    others = np.ones(out[s.SOURCE].shape, bool)
    others[here] = False
    np.testing.assert_array_equal(out[s.POSITION].values[:, :, 0][others],
                                  flagged[s.POSITION].values[:, :, 0][others])  # fmt: skip
    assert (out[s.SOURCE].values[others] == s.PointSource.TRACKED).all()


def test_two_tracked_views_do_not_repair_but_a_person_and_a_view_do(
    truth: xr.Dataset, cameras: CameraGroup
) -> None:
    """With cam2's points gone, cam0 and cam1 alone cannot see an error along their epipolar
    line: cam3 stays flagged. A person's point in cam0 makes the pair strong."""
    labels = shifted(truth)
    labels[s.POSITION].values[:, 2, :, K, 0] = np.nan
    labels[s.SOURCE].values[:, 2, K, 0] = s.PointSource.NONE
    flagged = flag_points(labels, cameras=cameras)
    out, moved = repair_views(flagged, (0, 10), cameras)
    assert moved == 0 and out[s.REVIEW].values[6:10, 3, K, 0].all()
    assert (out[s.SOURCE].values[6:10, 3, K, 0] == s.PointSource.TRACKED).all()

    labels[s.SOURCE].values[6:10, 0, K, 0] = s.PointSource.MANUAL
    out, moved = repair_views(flag_points(labels, cameras=cameras), (0, 10), cameras)
    assert moved == 4 and error(out, truth)[6:10, 3, K, 0].max() < 0.5


def test_a_reprojected_point_follows_the_consensus_or_is_flagged(
    truth: xr.Dataset, cameras: CameraGroup
) -> None:
    """A person moves keypoint K of cam0 on frame 7 by 3 px: the reprojected point of cam3
    follows the new consensus. Once the other views lose the keypoint on frame 8, the
    reprojected point there has no consensus: it stays where it is, flagged for a person."""
    repaired, _ = repair_views(flag_points(shifted(truth), cameras=cameras), (0, 10), cameras)
    name, individual = str(truth[s.KEYPOINT].values[K]), "individual_0"
    moved_xy = truth[s.POSITION].values[7, 0, :, K, 0] + (3.0, 0.0)
    edited = set_point(
        repaired, 7, "cam0", name, individual, (float(moved_xy[0]), float(moved_xy[1]))
    )
    edited[s.POSITION].values[8, :3, :, K, 0] = np.nan
    edited[s.SOURCE].values[8, :3, K, 0] = s.PointSource.NONE
    before = edited[s.POSITION].values[:, 3, :, K, 0].copy()
    out, moved = repair_views(flag_points(edited, cameras=cameras), (0, 10), cameras)
    assert moved == 0  # no tracked point moved: the reprojected ones were judged again
    now = out[s.POSITION].values[:, 3, :, K, 0]
    assert np.linalg.norm(now[7] - before[7]) > 0.5  # 1.3 px: with the person's point
    np.testing.assert_allclose(now[[6, 9]], before[[6, 9]], atol=1e-6)  # nothing changed there
    np.testing.assert_array_equal(now[8], before[8])
    assert out[s.REVIEW].values[8, 3, K, 0]
    assert out[s.REVIEW_REASON].values[8, 3, K, 0] == s.ReviewReason.MULTI_VIEW
    assert out[s.SOURCE].values[8, 3, K, 0] == s.PointSource.REPROJECTED
    items = [i for i in _queue(out) if i.view == "cam3"]
    assert [(i.frame, i.keypoint) for i in items] == [(8, name)]


def _queue(labels: xr.Dataset) -> list:
    from pose3d.tracking.review import review_queue

    return review_queue(labels)


def test_a_retrack_replaces_the_reprojected_points_it_governs(
    seeded: Seeder, truth: xr.Dataset
) -> None:
    """A stale reprojected point (15 px off, no other view left to judge it) on frames 10-12
    of cam0 is replaced by the track when cam0 is re-tracked over those frames."""
    root = seeded([0])
    tracker = ClassicalTracker()
    with SessionFolder(root) as folder:
        propagate(folder, "all", (0, 30), tracker)
    labels = load_labels(root / "labels.nc")
    k = int(np.flatnonzero(labels[s.SOURCE].values[0, 0, :, 0] == s.PointSource.MANUAL)[0])
    stale = (slice(10, 13), 0, k, 0)
    labels[s.POSITION].values[10:13, 0, :, k, 0] = truth[s.POSITION].values[10:13, 0, :, k, 0] + 15
    labels[s.SOURCE].values[stale] = s.PointSource.REPROJECTED
    labels[s.POSITION].values[10:13, 1:, :, k, 0] = np.nan
    labels[s.SOURCE].values[10:13, 1:, k, 0] = s.PointSource.NONE
    save_labels(root / "labels.nc", labels)
    with SessionFolder(root) as folder:
        propagate(folder, "cam0", (0, 30), tracker, from_frames=[0])
    after = load_labels(root / "labels.nc")
    assert (after[s.SOURCE].values[stale] == s.PointSource.TRACKED).all()
    assert error(after, truth)[stale].max() < 3.0
