"""A compact TOML writer for pose3d's own files, readable like Anipose's.

Arrays stay on one line (``matrix = [[800.0, 0.0, 320.0], ...]``), tables of tables become
``[section]`` headers and lists of tables ``[[section]]``. Strings are escaped by tomli_w, the
reference writer, so the output always parses back to the same data (a property test checks it).
"""

from __future__ import annotations

import math
import re
from typing import Any

import tomli_w

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    return tomli_w.dumps({"k": text})[4:].rstrip("\n")


def format_value(value: Any) -> str:
    """One TOML value on one line: scalars, (nested) arrays, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(str(k))} = {format_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML: {value!r}")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit(table: dict[str, Any], prefix: str, lines: list[str]) -> None:
    nested = []
    for key, value in table.items():
        if isinstance(value, dict) or _is_table_list(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(str(key))} = {format_value(value)}")
    for key, value in nested:
        name = f"{prefix}.{_key(str(key))}" if prefix else _key(str(key))
        if isinstance(value, dict):
            lines.append("")
            lines.append(f"[{name}]")
            _emit(value, name, lines)
        else:
            for item in value:
                lines.append("")
                lines.append(f"[[{name}]]")
                _emit(item, name, lines)


def dumps(data: dict[str, Any]) -> str:
    """TOML text of ``data`` (a dict of str keys to TOML-compatible values)."""
    lines: list[str] = []
    _emit(data, "", lines)
    text = "\n".join(lines).lstrip("\n")
    return text + "\n"
