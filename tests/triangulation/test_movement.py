"""A triangulated poses3d.nc opens in movement (>= 0.17) unchanged.

movement needs Python >= 3.12, so scripts/check_movement.py runs in its own venv; the test is
skipped (with the reason) where that venv is absent, as tests/io/test_movement_compat.py is.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.io.netcdf import save_poses
from pose3d.triangulation import triangulate

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_triangulated_poses_open_in_movement(
    rig: CameraGroup, synth: ModuleType, tmp_path: Path
) -> None:
    python = Path(
        os.environ.get("POSE3D_MOVEMENT_PYTHON", REPO / ".venv-movement" / "bin" / "python")
    )
    if not python.is_file():
        pytest.skip(f"movement check: no Python with movement at {python}")
    rng = np.random.default_rng(61)
    truth = synth.moving_chain(rng, 40, 5)
    labels = synth.labels_of(rig, truth, noise=0.5, rng=rng)
    labels[s.POSITION].values[10:12, :, :, 2] = np.nan  # a gap: NaN points, n_views 0
    edges = synth.chain_edges([str(k) for k in labels[s.KEYPOINT].values])
    paths = []
    for method, fps in (("optim", 30.0), ("dlt", None)):
        poses = triangulate(labels[s.POSITION], rig, method=method, edges=edges, fps=fps)
        paths.append(tmp_path / f"{method}.nc")
        save_poses(paths[-1], poses)
    result = subprocess.run(
        [str(python), str(REPO / "scripts" / "check_movement.py"), "--strict", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
