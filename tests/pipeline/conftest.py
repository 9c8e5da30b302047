"""Each test module of this folder defines a module-scoped ``template`` session; ``root`` is a
fresh copy of it per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def root(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "session"
    shutil.copytree(template, copy)
    return copy
