"""Files written by pose3d open in movement (>= 0.17) unchanged.

movement needs Python >= 3.12, so it lives in its own venv (`make test` builds .venv-movement
when python3.12 is on the machine) and scripts/check_movement.py runs there on our files.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d.io.netcdf import save_labels, save_poses
from pose3d.labels import new_labels, set_hidden, set_point
from pose3d.poses import poses_dataset

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_movement.py"


@pytest.fixture(scope="module")
def movement_python() -> Path:
    path = Path(
        os.environ.get("POSE3D_MOVEMENT_PYTHON", REPO / ".venv-movement" / "bin" / "python")
    )
    if not path.is_file():
        pytest.skip(
            f"movement check: no Python with movement at {path} (make test builds .venv-movement "
            "when python3.12 is available; or set POSE3D_MOVEMENT_PYTHON)"
        )
    return path


def _check(python: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), str(SCRIPT), "--strict", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _poses(fps: float | None) -> xr.Dataset:
    rng = np.random.default_rng(0)
    position = rng.normal(size=(12, 3, 4, 2)) * 100
    position[3, :, 1, 0] = np.nan
    return poses_dataset(
        position,
        ["nose", "neck", "hip", "tail"],
        ["m0", "m1"],
        fps=fps,
        space_unit="mm",
        reprojection_error=rng.random((12, 4, 2)),
        n_views=np.full((12, 4, 2), 3),
    )


def test_poses_and_labels_open_in_movement(movement_python: Path, tmp_path: Path) -> None:
    with_fps, without_fps, labels = tmp_path / "a.nc", tmp_path / "b.nc", tmp_path / "l.nc"
    save_poses(with_fps, _poses(30.0))
    save_poses(without_fps, _poses(None))
    ds = new_labels(8, ["cam0", "cam1"], ["nose", "tail"], ["m0"])
    ds = set_point(ds, 2, "cam1", "tail", "m0", (10.5, 3.0))
    save_labels(labels, set_hidden(ds, 3, "cam1", "tail", "m0"))  # movement: NaN, confidence 0

    result = _check(movement_python, with_fps, without_fps, labels)

    assert result.returncode == 0, result.stdout + result.stderr


def test_movement_check_rejects_legacy_layout(movement_python: Path, tmp_path: Path) -> None:
    legacy = _poses(30.0).rename({"keypoint": "keypoints", "individual": "individuals"})
    path = tmp_path / "legacy.nc"
    legacy.to_netcdf(path, engine="h5netcdf")

    result = _check(movement_python, path)

    assert result.returncode == 1, result.stdout + result.stderr
