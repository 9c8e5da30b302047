"""Placeholder weights files for tests of the weights folder and tracker selection (files are
found by name; these hold their own name, not a network)."""

from __future__ import annotations

from pathlib import Path


def put_files(folder: Path, *names: str) -> None:
    """Create ``folder`` and one small file per name in it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(name.encode())
