"""Reading and writing TOML files with errors that name the file."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pose3d.errors import Pose3dError
from pose3d.io.atomic import atomic_write_text
from pose3d.io.toml_format import dumps


def read_toml(path: str | os.PathLike[str], what: str = "TOML file") -> dict[str, Any]:
    """Parse ``path``; a missing or malformed file raises one clear Pose3dError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Pose3dError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Pose3dError(f"cannot read {what} {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Pose3dError(f"{what} {path} is not valid TOML: {exc}; fix that line") from None


def write_toml(path: str | os.PathLike[str], data: dict[str, Any], header: str = "") -> None:
    """Write ``data`` atomically as TOML, after an optional comment ``header``."""
    text = dumps(data)
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + "\n" + text
    atomic_write_text(path, text)


def require(table: dict[str, Any], key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    """``table[key]`` checked against ``kinds``; a clear error names the key and the file."""
    if key not in table:
        raise Pose3dError(f"{where}: missing key {key!r}")
    value = table[key]
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise Pose3dError(f"{where}: {key} must not be true/false, got {value!r}")
    if not isinstance(value, kinds):
        names = (
            kinds.__name__ if isinstance(kinds, type) else " or ".join(k.__name__ for k in kinds)
        )
        raise Pose3dError(f"{where}: {key} must be {names}, got {value!r}")
    return value
