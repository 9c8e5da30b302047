"""A small synthetic session for the TUI tests (written once per run, copied per test).

3 cameras at 160 x 120, 12 frames each, cam2 starts 2 session frames late (offset 2), no
labels.nc.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
from pathlib import Path

import pytest

N_FRAMES, SIZE, OFFSETS = 12, (160, 120), {"cam2": 2}


@pytest.fixture(scope="session")
def tui_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pose3d.synthetic import write_sample_session

    root = tmp_path_factory.mktemp("tui") / "session"
    write_sample_session(
        root,
        n_cameras=3,
        n_frames=N_FRAMES,
        n_board_frames=1,
        image_size=SIZE,
        image_folders=False,
        offsets=OFFSETS,
    )
    return root


@pytest.fixture
def session_dir(tui_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the session for one test."""
    root = tmp_path / "session"
    shutil.copytree(tui_template, root)
    return root


@pytest.fixture
def recent_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The recent-sessions list lives in the test's folder, never in the user's config."""
    monkeypatch.setenv("POSE3D_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config" / "recent_sessions.json"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests (the Pilot tests) in a fresh asyncio loop, without a plugin."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True
