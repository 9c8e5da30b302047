"""The layers of docs/design-notes.md hold: no module imports a higher layer (at import time or
inside a function), the domain packages never touch the session lock or its files, and the
heavy libraries stay in their rooms."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pose3d"

# lower number = lower layer; a module may import its own layer or lower ones
LAYERS = {
    "schema": 0, "errors": 0, "session": 0, "skeleton": 0, "cameras": 0, "board": 0,
    "label_cells": 0, "lens": 0, "progress": 0, "poses": 0,
    "io": 1,
    "triangulation": 2, "labels": 2,
    "viewer": 3, "tracking": 3, "calibration": 3, "synthetic": 3,
    "pipeline": 4,
    "commands": 5, "tui": 5, "cli": 5, "info_table": 5, "__main__": 5, "__init__": 5,
}  # fmt: skip
DOMAIN = ("io", "triangulation", "viewer", "tracking", "calibration", "labels")
SESSION_FILES = ("pose3d.io.lock", "pose3d.io.session_toml", "pose3d.pipeline")
ROOMS = {
    "torch": ("tracking",), "pyvista": ("viewer",), "textual": ("tui",),
    "dask": ("pipeline",), "distributed": ("pipeline",), "dask_jobqueue": ("pipeline",),
}  # fmt: skip


def _room(module: str) -> str:
    """``pose3d.io.dlc`` -> ``io``; ``pose3d.labels`` -> ``labels``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        found.append((".".join(relative.parts), path))
    return found


def _imports(path: Path) -> list[str]:
    """Every module an import statement names (``from pose3d.io import x`` counts
    ``pose3d.io.x`` too, since x may be a module)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


MODULES = _modules()


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_no_import_runs_up_the_layers(module: str, path: Path) -> None:
    mine = LAYERS[_room(module)]
    upward = [
        name for name in _imports(path) if name.startswith("pose3d.") and LAYERS[_room(name)] > mine
    ]
    assert not upward, f"{module} (layer {mine}) imports {upward}"


def test_domain_packages_leave_the_session_folder_to_the_pipeline() -> None:
    offenders = [
        (module, name)
        for module, path in MODULES
        if _room(module) in DOMAIN and not module.startswith("pose3d.io.")
        for name in _imports(path)
        if name.startswith(SESSION_FILES) or name == "pose3d.io.netcdf"
    ]
    assert not offenders


def test_heavy_libraries_stay_in_their_rooms() -> None:
    offenders = [
        (module, name)
        for module, path in MODULES
        for name in _imports(path)
        for library, rooms in ROOMS.items()
        if name.split(".")[0] == library and _room(module) not in rooms
    ]
    assert not offenders
