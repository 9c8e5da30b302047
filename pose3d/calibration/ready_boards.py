"""The ready board specs shipped inside pose3d, and board specs named by file or by ready name.

The specs are package data, ``pose3d/calibration/boards/*.toml``, read through
importlib.resources so that an installed wheel has them as a checkout does. Each is a board
TOML (pose3d.io.board_toml keys) whose first comment describes the board and whose
``# paper:`` comment names the smallest paper it fits. ``pose3d board list`` shows them,
``pose3d board show NAME`` prints one (to save as SESSION/calibration/board.toml, then correct
with the measured square length), ``pose3d board render NAME`` writes it for printing.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from pose3d.board import Board
from pose3d.errors import Pose3dError

PACKAGE = "pose3d.calibration"
FOLDER = "boards"  # inside PACKAGE
SUFFIX = ".toml"


@dataclass(frozen=True)
class ReadySpec:
    """One shipped spec: ``name`` is its file name without .toml, ``text`` the TOML with its
    comments."""

    name: str
    text: str

    @property
    def description(self) -> str:
        """The first sentence of the leading comment, up to its first ': ' or '. '."""
        lines = []
        for line in self.text.splitlines():
            if not line.startswith("#") or line.startswith("# paper:"):
                break
            lines.append(line.lstrip("#").strip())
        text = " ".join(lines)
        for end in (": ", ". "):
            text = text.split(end, 1)[0]
        return text.rstrip(":.")

    @property
    def paper(self) -> str:
        """The paper named by the ``# paper:`` comment ("" if none)."""
        for line in self.text.splitlines():
            if line.startswith("# paper:"):
                return line.removeprefix("# paper:").strip()
        return ""

    def board(self) -> Board:
        from pose3d.io.board_toml import board_from_dict

        where = f"ready board spec {self.name}"
        try:
            table = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:  # a broken install, not the user's file
            raise Pose3dError(f"{where} is not valid TOML: {exc}; reinstall pose3d") from None
        return board_from_dict(table, where=where)


def ready_specs() -> list[ReadySpec]:
    """The shipped specs, sorted by name."""
    folder = files(PACKAGE).joinpath(FOLDER)
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(SUFFIX)),
        key=lambda entry: entry.name,
    )
    return [
        ReadySpec(entry.name.removesuffix(SUFFIX), entry.read_text(encoding="utf-8"))
        for entry in entries
    ]


def ready_spec(name: str) -> ReadySpec:
    """The shipped spec called ``name`` (with or without .toml)."""
    specs = ready_specs()
    wanted = name.removesuffix(SUFFIX)
    for spec in specs:
        if spec.name == wanted:
            return spec
    raise Pose3dError(
        f"no ready board spec is called {name!r}: expected one of "
        f"{', '.join(s.name for s in specs)} (pose3d board list)"
    )


def load_board_spec(spec: str | os.PathLike[str]) -> Board:
    """The board of the spec file ``spec``, or of the ready spec of that name when no such file
    exists (a bare name such as ``charuco_5x7_40mm_4x4_50``)."""
    from pose3d.io.board_toml import load_board

    path = Path(spec)
    if path.exists() or path.name != str(spec):
        return load_board(path)
    names = {s.name for s in ready_specs()}
    if path.name.removesuffix(SUFFIX) in names:
        return ready_spec(path.name).board()
    raise Pose3dError(
        f"board spec {path} does not exist: expected a BOARD.toml file or the name of a ready "
        f"spec ({', '.join(sorted(names))}; pose3d board list)"
    )
