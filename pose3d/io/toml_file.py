"""Reading and writing TOML files with errors that name the file, and the checks every reader
of a TOML table shares (a key's type, an array of numbers, a list of names)."""

from __future__ import annotations

import math
import os
import reprlib
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

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
    except RecursionError:  # tomllib recurses once per level of nested arrays / inline tables
        raise Pose3dError(
            f"{what} {path} nests arrays or inline tables too deeply to be read; it is not a "
            "file pose3d or Anipose wrote"
        ) from None


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
        raise Pose3dError(f"{where}: {key} must not be true/false, got {short(value)}")
    if not isinstance(value, kinds):
        expected = (
            kinds.__name__ if isinstance(kinds, type) else " or ".join(k.__name__ for k in kinds)
        )
        raise Pose3dError(f"{where}: {key} must be {expected}, got {short(value)}")
    return value


def short(value: object) -> str:
    """``repr(value)`` cut to a readable length for a message (long lists, huge numbers)."""
    return reprlib.repr(value)


def is_number(value: object) -> bool:
    """A TOML (or numpy) int or float; true / false are not numbers."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def number_array(value: object, key: str, where: str) -> NDArray[np.float64]:
    """``value``, a number or a (nested) array of numbers with rows of equal length, as floats.

    true / false, strings, tables and numbers too large for a float are refused (numpy would
    read ``true`` as 1.0); NaN and inf pass, for the caller to judge where it knows the field.
    """
    try:
        rows = _floats(value)
    except _NotANumber as exc:
        leaf = exc.args[0]
        if isinstance(leaf, bool | np.bool_):
            found = "true/false where a number was expected"
        elif is_number(leaf):
            found = f"{short(leaf)} is too large for a number"
        else:
            found = f"not a number where one was expected ({short(leaf)})"
        raise Pose3dError(f"{where}: {key}: {found}, in {short(value)}") from None
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:  # ragged: numpy cannot make a rectangular array of it
        raise Pose3dError(
            f"{where}: {key} must be an array whose rows have equal lengths, got {short(value)}"
        ) from None


class _NotANumber(Exception):
    """A leaf of a number array that is not a number (its only argument)."""


def _floats(value: object, depth: int = 0) -> Any:
    """``value`` with every number a Python float; raises _NotANumber at the first leaf that
    is not one (an array nested deeper than 8 levels is not one either)."""
    if isinstance(value, list | tuple | np.ndarray) and depth < 8:
        return [_floats(v, depth + 1) for v in value]
    if not is_number(value):
        raise _NotANumber(value)
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        raise _NotANumber(value) from None


def whole_number(value: object, key: str, where: str, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``: an int, or a float with nothing after the point
    (Pose2Sim writes image sizes as ``1088.0``); true / false are refused."""
    if isinstance(value, float | np.floating) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, int | np.integer) or isinstance(value, bool | np.bool_):
        raise Pose3dError(f"{where}: {key} must be a whole number, got {short(value)}")
    if not low <= value <= high:
        raise Pose3dError(f"{where}: {key} must be between {low} and {high}, got {short(value)}")
    return int(value)


def names(value: object, key: str, where: str) -> list[str]:
    """``value``, a list of strings (keypoint, individual or camera names)."""
    if not isinstance(value, list):
        raise Pose3dError(f"{where}: {key} must be a list of names, got {short(value)}")
    for i, name in enumerate(value):
        if not isinstance(name, str):
            raise Pose3dError(
                f"{where}: {key}[{i}] must be a name in quotes, got {short(name)}; e.g. "
                f'{key} = ["nose", "tail"]'
            )
    return list(value)
