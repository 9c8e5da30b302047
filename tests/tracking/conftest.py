"""A synthetic session with ground truth for the tracking tests (written once per test run).

4 cameras at 640 × 480, 40 frames of the textured rodent walking (self-occluding), the true
calibration copied to calibration/calibration.toml (so the multi-view flag can run). Tests that
write labels work on a copy (``seeded``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import xarray as xr

from pose3d.io.netcdf import load_labels, save_labels
from pose3d.synthetic.compare import seed_labels

N_CAMERAS, N_FRAMES, SIZE = 4, 40, (640, 480)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$POSE3D_WEIGHTS_DIR, not created yet (every learned tracker's files share it), and no
    $POSE3D_TRACKER."""
    target = tmp_path / "weights"
    monkeypatch.setenv("POSE3D_WEIGHTS_DIR", str(target))
    monkeypatch.delenv("POSE3D_TRACKER", raising=False)
    return target


@pytest.fixture(scope="session")
def synthetic_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pose3d.synthetic import write_sample_session

    root = tmp_path_factory.mktemp("tracking") / "session"
    write_sample_session(
        root,
        n_cameras=N_CAMERAS,
        n_frames=N_FRAMES,
        n_board_frames=1,
        image_size=SIZE,
        image_folders=False,
    )
    shutil.copy(root / "truth" / "calibration.toml", root / "calibration" / "calibration.toml")
    return root


@pytest.fixture(scope="session")
def truth(synthetic_template: Path) -> xr.Dataset:
    """truth/labels.nc: true 2D of every view (position) and ``visible``."""
    return load_labels(synthetic_template / "truth" / "labels.nc")


Seeder = Callable[[Sequence[int]], Path]


@pytest.fixture
def seeded(synthetic_template: Path, truth: xr.Dataset, tmp_path: Path) -> Seeder:
    """``seeded(frames)``: a copy of the session whose labels.nc holds the true points of
    ``frames`` that are visible, as manual labels; returns its folder."""

    def make(frames: Sequence[int]) -> Path:
        root = tmp_path / "session"
        if not root.exists():
            shutil.copytree(synthetic_template, root)
        save_labels(root / "labels.nc", seed_labels(truth, frames))
        return root

    return make
