"""The committed synthetic sample session: its true 2D labels triangulate to its true 3D."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import load_labels, load_poses
from pose3d.triangulation import triangulate

TRUTH = Path(__file__).resolve().parents[2] / "sample_data" / "session" / "truth"


@pytest.mark.parametrize("method", ["dlt", "ransac"])
def test_true_labels_give_the_true_poses(method: str) -> None:
    if not (TRUTH / "labels.nc").is_file():
        pytest.skip(f"no sample session at {TRUTH}")
    labels = load_labels(TRUTH / "labels.nc")  # confidence 0 where a keypoint is hidden
    truth = load_poses(TRUTH / "poses3d.nc")
    poses = triangulate(
        labels[s.POSITION], load_calibration(TRUTH / "calibration.toml"), labels[s.CONFIDENCE],
        method=method, fps=truth.attrs.get(s.ATTR_FPS),
    )  # fmt: skip
    seen_twice = truth[s.N_VIEWS].values >= 2
    np.testing.assert_array_equal(
        poses[s.N_VIEWS].values, np.where(seen_twice, truth[s.N_VIEWS], 0)
    )
    error = np.linalg.norm(poses[s.POSITION].values - truth[s.POSITION].values, axis=1)
    assert np.nanmax(error) < 1e-6 and np.isnan(error[~seen_twice]).all()
    np.testing.assert_allclose(poses[s.TIME].values, truth[s.TIME].values)
    assert poses[s.POSITION].attrs[s.ATTR_SPACE_UNIT] == truth[s.POSITION].attrs[s.ATTR_SPACE_UNIT]
