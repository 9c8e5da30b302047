"""sleap-anipose's minimal session (4 real cameras, 1280 × 1024, a mouse, 120 frames): seeded
with the proofread points of frame 0 in each view, the classical tracker propagates them
through all 120 frames; the error is measured against the proofread points of frames 1-119."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.io.session_toml import save_session
from pose3d.labels import new_labels
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.track import propagate
from pose3d.session import CameraSpec, Session
from pose3d.skeleton import Skeleton
from pose3d.tracking.classical import ClassicalTracker

VIEWS = ("back", "mid", "side", "top")
# median px error against the proofread points, frames 1-119, measured with the default
# ClassicalTracker (13 px window at 1280 px): back 1.36, mid 0.97, side 2.58, top 1.67. The
# proofread points are themselves a corrected model output (about 1-2 px of label noise), so
# the bounds are the measured values plus 25 %: they catch a regression, not label noise.
BOUNDS = {"back": 1.7, "mid": 1.25, "side": 3.25, "top": 2.1}


def proofread(root: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    import h5py

    points = {}
    for view in VIEWS:
        (path,) = (root / view).glob("*_proofread.analysis.h5")
        with h5py.File(path, "r") as f:
            points[view] = np.asarray(f["tracks"][0]).transpose(2, 0, 1)  # (T, 2 (x, y), K)
            names = [n.decode() for n in f["node_names"][:]]
    return points, names


@pytest.fixture(scope="module")
def tracked(minimal_session: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    points, names = proofread(minimal_session)
    root = tmp_path_factory.mktemp("minimal")
    cameras = tuple(CameraSpec(v, str(minimal_session / v / f"minimal_{v}.mp4")) for v in VIEWS)
    save_session(Session(root, "minimal", cameras, Skeleton.from_lists(names, []), ("mouse",)))
    labels = new_labels(120, VIEWS, names, ["mouse"])
    for v, view in enumerate(VIEWS):
        first = points[view][0]  # (2, K)
        seen = np.isfinite(first).all(axis=0)
        labels[s.POSITION].values[0, v, :, :, 0] = first
        labels[s.SOURCE].values[0, v, seen, 0] = s.PointSource.MANUAL
    save_labels(root / "labels.nc", labels)
    with SessionFolder(root) as folder:
        report = propagate(folder, list(VIEWS), (0, 120), ClassicalTracker())
    assert report.skipped == ()
    return {"labels": load_labels(root / "labels.nc"), "points": points}


@pytest.mark.parametrize("view", VIEWS)
def test_median_error_against_the_proofread_points(tracked: dict, view: str) -> None:
    labels, points = tracked["labels"], tracked["points"]
    v = VIEWS.index(view)
    position = labels[s.POSITION].values[1:, v, :, :, 0]  # (119, 2, K)
    error = np.linalg.norm(position - points[view][1:], axis=1)
    error = error[np.isfinite(error)]
    assert error.size > 1000
    assert np.median(error) <= BOUNDS[view], np.median(error)
