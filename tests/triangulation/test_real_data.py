"""sleap-anipose's minimal session: the proofread 2D of back, mid and top with its
calibration.toml, against the published 3D (points3d.h5, mm)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.io.calibration_toml import load_calibration
from pose3d.labels import new_labels
from pose3d.triangulation import triangulate

VIEWS = ("back", "mid", "top")  # the calibration's `side` entry is a copy of `top`


def _labels(root: Path) -> tuple[xr.Dataset, list[tuple[str, str]]]:
    import h5py

    tracks = {}
    for view in VIEWS:
        (path,) = (root / view).glob("*_proofread.analysis.h5")
        with h5py.File(path, "r") as f:
            tracks[view] = f["tracks"][0]  # [2 (x, y), K, T]
            names = [n.decode() for n in f["node_names"][:]]
            edges = [(a.decode(), b.decode()) for a, b in f["edge_names"][:]]
    n_time = tracks[VIEWS[0]].shape[-1]
    labels = new_labels(n_time, VIEWS, names, ["track_0"])
    position = np.stack([tracks[v].transpose(2, 0, 1) for v in VIEWS], axis=1)  # [T, V, 2, K]
    labels[s.POSITION].values[:] = position[..., None]
    return labels, edges


def _reference(root: Path) -> np.ndarray:
    import h5py

    with h5py.File(root / "points3d.h5", "r") as f:
        return np.asarray(f["tracks"][:, 0])  # [T, K, 3] mm


@pytest.fixture(scope="module")
def session_data(minimal_session: Path) -> tuple[xr.Dataset, list[tuple[str, str]], np.ndarray]:
    labels, edges = _labels(minimal_session)
    return labels, edges, _reference(minimal_session)


def test_dlt_matches_published_3d(
    minimal_session: Path, session_data: tuple[xr.Dataset, list[tuple[str, str]], np.ndarray]
) -> None:
    labels, _, reference = session_data
    cameras = load_calibration(minimal_session / "calibration.toml")  # 4 cameras, unit unknown
    poses = triangulate(labels[s.POSITION], cameras, unit="mm")
    position = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    distance = np.linalg.norm(position[:, :, 0] - reference, axis=-1)
    assert np.isfinite(distance).mean() > 0.95
    assert np.nanmedian(distance) <= 4.0  # mm
    assert poses[s.POSITION].attrs[s.ATTR_SPACE_UNIT] == "mm"


@pytest.mark.parametrize("method", ["ransac", "optim"])
def test_robust_methods_stay_close(
    method: str,
    minimal_session: Path,
    session_data: tuple[xr.Dataset, list[tuple[str, str]], np.ndarray],
) -> None:
    """The reference is itself a constrained fit whose reprojection error is 5-10 px, so the
    robust methods (which drop views beyond 10 px) are held to a looser bound."""
    labels, edges, reference = session_data
    cameras = load_calibration(minimal_session / "calibration.toml")
    poses = triangulate(labels[s.POSITION], cameras, method=method, edges=edges)
    position = poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values
    distance = np.linalg.norm(position[:, :, 0] - reference, axis=-1)
    assert np.nanmedian(distance) <= 6.0
    assert float(poses[s.REPROJECTION_ERROR].median()) < 2.0  # px, against the labels
