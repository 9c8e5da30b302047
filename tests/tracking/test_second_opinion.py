"""A second opinion: another tracker run on the same queries; the distance between the two
filled tracks is each tracked point's ``disagreement``, and beyond ``max_disagreement_px`` it
flags the point (ReviewReason.DISAGREEMENT) unless another reason scores higher."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.io.netcdf import load_labels
from pose3d.labels import new_labels, set_point
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.track import propagate
from pose3d.tracking.base import PointTracker
from pose3d.tracking.classical import ClassicalTracker
from pose3d.tracking.review import ReviewThresholds, review_points
from tests.tracking.conftest import Seeder

FRAMES = (0, 16)


def tracked_labels(
    seeded: Seeder, tracker: PointTracker, second: PointTracker | None = None
) -> xr.Dataset:
    root = seeded([0])
    with SessionFolder(root) as folder:
        propagate(folder, "cam0", FRAMES, tracker, second=second)
    return load_labels(root / "labels.nc").isel({s.TIME: slice(*FRAMES)}).sel({s.VIEW: "cam0"})


def test_disagreement_is_the_distance_between_the_two_trackers_tracks(seeded: Seeder) -> None:
    first = ClassicalTracker()
    other = ClassicalTracker(window=21, template=15)  # another opinion: a larger window
    both = tracked_labels(seeded, first, other)
    alone = tracked_labels(seeded, first)
    second = tracked_labels(seeded, other)
    tracked = [x[s.SOURCE].values == s.PointSource.TRACKED for x in (both, alone, second)]
    cells = tracked[0] & tracked[1] & tracked[2]
    assert cells.sum() > 100
    # the second opinion changes no track of the first tracker
    np.testing.assert_array_equal(
        both[s.POSITION].values.transpose(0, 2, 3, 1)[cells],
        alone[s.POSITION].values.transpose(0, 2, 3, 1)[cells],
    )
    apart = np.linalg.norm(alone[s.POSITION].values - second[s.POSITION].values, axis=1)
    np.testing.assert_allclose(both[s.DISAGREEMENT].values[cells], apart[cells], atol=1e-4)
    assert np.nanmax(apart[cells]) > 1.0  # the two trackers do differ here
    assert np.isnan(alone[s.DISAGREEMENT].values).all()  # no second opinion, no disagreement
    manual = both[s.SOURCE].values == s.PointSource.MANUAL
    assert np.isnan(both[s.DISAGREEMENT].values[manual]).all()


def test_a_disagreement_beyond_its_threshold_flags_the_point() -> None:
    labels = new_labels(4, ["cam0"], ["nose", "tail"], ["mouse"])
    for t in range(4):
        source = s.PointSource.MANUAL if t == 0 else s.PointSource.TRACKED
        for k, name in enumerate(("nose", "tail")):
            xy = (100.0 + t, 50.0 + 10 * k)
            labels = set_point(labels, t, "cam0", name, "mouse", xy, source, confidence=0.9)
    labels = labels.assign(
        {s.DISAGREEMENT: (s.TRACK_DIMS[s.DISAGREEMENT], np.full((4, 1, 2, 1), np.nan, np.float32))}
    )
    labels[s.DISAGREEMENT].values[1:, 0, :, 0] = [[2.0, 12.0], [7.9, 8.0], [30.0, np.nan]]
    out, _ = review_points(labels, thresholds=ReviewThresholds(max_disagreement_px=8.0))
    flagged = out[s.REVIEW].values[:, 0, :, 0]
    np.testing.assert_array_equal(
        flagged, [[False, False], [False, True], [False, True], [True, False]]
    )
    reason = out[s.REVIEW_REASON].values[:, 0, :, 0]
    assert (reason[flagged] == s.ReviewReason.DISAGREEMENT).all()
    np.testing.assert_allclose(out[s.REVIEW_SCORE].values[3, 0, 0, 0], 30.0 / 8.0)


def test_the_threshold_must_be_positive() -> None:
    with pytest.raises(Exception, match="max_disagreement_px must be > 0"):
        ReviewThresholds(max_disagreement_px=0.0)
