"""Shared fixtures: the real recordings in ../shared/data (skipped with a reason when absent);
no test sees the developer's installed tracker weights or tracker setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    return Path(os.environ.get("POSE3D_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def no_installed_weights(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An empty weights folder and no $POSE3D_TRACKER: every test starts from a machine with
    no learned tracker installed (a test that installs weights sets its own folder)."""
    monkeypatch.setenv("POSE3D_WEIGHTS_DIR", str(tmp_path_factory.getbasetemp() / "no-weights"))
    monkeypatch.delenv("POSE3D_TRACKER", raising=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: third-party recordings; users' checkouts do not have it (CI does)."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(
            f"real-data test: {path} is absent (only CI and the developers have ../shared/data; "
            "set POSE3D_SHARED_DATA to point elsewhere)"
        )
    return path


@pytest.fixture(scope="session")
def minimal_session(shared_data: Path) -> Path:
    """sleap-anipose's minimal session: 4 real cameras, ChArUco media, mouse 2D/3D."""
    return shared_data / "sleap_anipose_minimal_session" / "minimal_session"
