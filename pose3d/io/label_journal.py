"""The edit journal beside labels.nc: each labelling edit on disk in a millisecond.

Rewriting labels.nc takes time in proportion to the video (0.2 s for 4 views × 12 keypoints
× 54,000 frames, plus as long again to copy the labels for a background write), far too long
to do after every click. So the TUI appends each edit to ``labels.nc.journal``, one line of
JSON per edit holding the cell's whole state after it (every variable of that
frame / view / keypoint / individual), flushed and fsynced before the edit returns, and
rewrites labels.nc now and then in the background, dropping the journal lines the new file
holds.

Replaying a line sets a cell to an absolute state, so replaying a line twice does no harm:
a crash between writing labels.nc and dropping its lines loses nothing. A line cut short by a
crash (the last one) is ignored: that edit is lost, as a kill may lose the edit in progress.
Any other line that is not an edit of these labels, or whose values do not have their
variable's type exactly (a bool for ``review`` and ``hidden``, a known code for ``source``,
two numbers or nulls for ``position``, an int ``frame``), or that marks a cell hidden while
giving it a point or no source, is refused with the line's number, before any line is
replayed; so is a journal path that is a folder, a FIFO or a symlink. A hidden mark
(``"hidden": true``) is one more variable of the cell's state; journals written before it
replay unchanged (their cells keep ``hidden`` as labels.nc has it).

Readers see the labels with the journal applied (:func:`pose3d.io.netcdf.load_labels`), and
a complete write of labels.nc (:func:`pose3d.io.netcdf.save_labels`) removes the journal, since
whatever wrote it read the labels through the journal first. Only the TUI's background writer
keeps the lines written after its copy of the labels was taken.
"""

from __future__ import annotations

import json
import os
import reprlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError, SchemaError
from pose3d.io.atomic import atomic_write_bytes
from pose3d.label_cells import Cell, CellIndex, CellState, Index, at, cell_variables

SUFFIX = ".journal"


def journal_path(labels_path: str | os.PathLike[str]) -> Path:
    """``labels.nc`` -> ``labels.nc.journal``; a journal path that exists and is not a regular
    file (a folder, a FIFO, a symlink) is refused, since pose3d appends to it and removes it."""
    path = Path(labels_path)
    journal = path.with_name(path.name + SUFFIX)
    if journal.is_symlink() or (journal.exists() and not journal.is_file()):
        if journal.is_symlink():
            kind = "a symlink"
        else:
            kind = "a folder" if journal.is_dir() else "not a regular file"
        raise SchemaError(
            f"the edit journal {journal} beside {path.name} is {kind}: pose3d keeps the unsaved "
            "edits of labels.nc in a plain file there; move it aside"
        )
    return journal


def _plain(value: Any) -> Any:
    """A cell value as JSON: NaN -> null, arrays -> lists, numpy scalars -> Python."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class LabelJournal:
    """Appends edits to a journal file; thread-safe (the writer thread drops lines)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._lines = _count_lines(self.path)

    @property
    def lines(self) -> int:
        """Lines written so far (a count to pass to :meth:`drop_first`)."""
        return self._lines

    def append(
        self, frame: int, view: str, keypoint: str, individual: str, state: Mapping[str, Any]
    ) -> None:
        """Write one edit: the cell's state after it (variable name -> value)."""
        line = {
            "frame": int(frame),
            "view": view,
            "keypoint": keypoint,
            "individual": individual,
            "state": {name: _plain(value) for name, value in state.items()},
        }
        data = (json.dumps(line, allow_nan=False) + "\n").encode("utf-8")
        with self._lock:
            with open(self.path, "ab") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            self._lines += 1

    def drop_first(self, n: int) -> None:
        """Forget the first ``n`` lines (now held by labels.nc); the file goes when empty."""
        with self._lock:
            if n <= 0:
                return
            if n >= self._lines:
                self.path.unlink(missing_ok=True)
                self._lines = 0
                return
            rest = self.path.read_bytes().splitlines(keepends=True)[n:]
            atomic_write_bytes(self.path, b"".join(rest))
            self._lines = len(rest)


def _count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    return len(path.read_bytes().splitlines())


def apply_journal(labels: xr.Dataset, path: str | os.PathLike[str]) -> xr.Dataset:
    """``labels`` with the edits of the journal at ``path`` replayed, in place (returned).

    Every line is checked before any is replayed: a line that is not an edit of these labels,
    or whose values do not have their variable's type (``"review": "false"``, ``"frame": 1.7``),
    raises one SchemaError naming the journal and the line, and ``labels`` is left unchanged.
    A line whose cell then contradicts what labels.nc holds (:func:`replay`) raises the same
    way with the lines before it replayed (load_labels then drops ``labels``).
    """
    return replay(labels, read_journal(labels, path))


@dataclass(frozen=True)
class Edits:
    """A journal's edits, checked (:func:`read_journal`): each line's cell, its state, and the
    line's number (for messages)."""

    path: Path
    lines: list[tuple[Index, CellState, int]]


def read_journal(labels: xr.Dataset, path: str | os.PathLike[str]) -> Edits:
    """The edits of the journal at ``path``, each checked against ``labels`` (its coordinates
    and its variables' types: its data is not read, so ``labels`` may be opened lazily), as
    (cell index, state) in the journal's order; :func:`apply_journal` says what is refused."""
    path = Path(path)
    if not path.is_file():  # a folder fails to read, a FIFO would block forever
        raise SchemaError(f"the edit journal {path} is not a regular file; move it aside")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchemaError(f"cannot read the edit journal {path}: {exc}") from None
    lines = data.splitlines()
    cut_short = bool(data) and not data.endswith(b"\n")  # a crash while a line was written
    index = CellIndex(labels)
    kinds = {name: _Kind.of(labels, name) for name in cell_variables(labels)}
    edits: list[tuple[Index, CellState, int]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            edit = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, not UTF-8, too deep
            if number == len(lines) and cut_short and type(exc) is json.JSONDecodeError:
                break  # cut short by a crash while it was written: that edit is lost
            raise _line_error(path, number, f"it is not JSON ({exc})") from None
        try:
            edits.append((*_edit(edit, index, kinds), number))
        except (_BadLine, Pose3dError) as exc:
            raise _line_error(path, number, str(exc)) from None
    return Edits(path, edits)


def replay(labels: xr.Dataset, edits: Edits | None, first_row: int = 0) -> xr.Dataset:
    """``labels`` with ``edits`` (:func:`read_journal`) replayed in order, in place (returned).
    ``labels`` may be a stretch of time of the labels the edits were read against, starting
    at their row ``first_row``: the edits of other rows are left out. A line that leaves its
    cell hidden with a point, or hidden by nobody (a line that does not give the whole state,
    over a cell labels.nc holds otherwise), raises SchemaError naming the line."""
    if edits is None:
        return labels
    rows = labels.sizes[s.TIME]
    for (t, v, k, i), state, number in edits.lines:
        if not first_row <= t < first_row + rows:
            continue
        cell = (t - first_row, v, k, i)
        for name, value in state.items():
            labels[name].values[at(labels, name, cell)] = value
        if s.HIDDEN in labels.data_vars and bool(labels[s.HIDDEN].values[cell]):
            problem = _hidden_cell(labels, cell)
            if problem:
                raise _line_error(edits.path, number, problem)
    return labels


def _hidden_cell(labels: xr.Dataset, cell: Index) -> str:
    """What is wrong with the hidden cell at ``cell`` after a replay ("" when nothing)."""
    if not np.isnan(labels[s.POSITION].values[at(labels, s.POSITION, cell)]).all():
        return "it leaves the keypoint hidden with a point (a hidden keypoint has none)"
    if labels[s.SOURCE].values[cell] == s.PointSource.NONE:
        return "it leaves the keypoint hidden by nobody (source none)"
    return ""


_short = reprlib.repr  # a value shown in a message, cut to a readable length


def _line_error(path: Path, number: int, problem: str) -> SchemaError:
    return SchemaError(
        f"line {number} of the edit journal {path} does not fit the labels beside it: "
        f"{problem}; move the journal aside to open the labels without its edits"
    )


class _BadLine(Exception):
    """What is wrong with one journal line (the message)."""


_EDIT_KEYS = ("frame", "view", "keypoint", "individual")


def _edit(edit: object, index: CellIndex, kinds: dict[str, _Kind]) -> tuple[Index, CellState]:
    """One journal line's cell and values, checked against the labels."""
    if not isinstance(edit, dict):
        raise _BadLine(
            f"expected an object with {', '.join(_EDIT_KEYS)} and state, got {_short(edit)}"
        )
    missing = [key for key in (*_EDIT_KEYS, "state") if key not in edit]
    if missing:
        raise _BadLine(f"missing key(s) {', '.join(missing)}")
    frame = edit["frame"]
    if not _is_int(frame):
        raise _BadLine(f"frame must be a whole number (a session frame), got {_short(frame)}")
    for key in ("view", "keypoint", "individual"):
        if not isinstance(edit[key], str):
            raise _BadLine(f"{key} must be a name in quotes, got {_short(edit[key])}")
    cell = index(Cell(frame, edit["view"], edit["keypoint"], edit["individual"]))
    state = edit["state"]
    if not isinstance(state, dict):
        raise _BadLine(f"state must be an object of variable -> value, got {_short(state)}")
    # a variable the labels do not hold (written by a newer pose3d) is skipped, as before
    parsed = {name: kinds[name].parse(name, v) for name, v in state.items() if name in kinds}
    _check_hidden(parsed)
    return cell, parsed


def _check_hidden(state: CellState) -> None:
    """A hidden mark has no point and a source (the rule labels.nc's validation holds, checked
    here so that the message names the line)."""
    if state.get(s.HIDDEN) is not True:
        return
    position = state.get(s.POSITION)
    if position is not None and not np.isnan(position).all():
        raise _BadLine(
            f"hidden is true but position is {_short(_plain(position))}; a hidden keypoint has "
            "no position (null, null)"
        )
    if state.get(s.SOURCE) == s.PointSource.NONE:
        raise _BadLine("hidden is true but source is 0 (none); a hidden mark says who made it")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ENUMS: dict[str, type[IntEnum]] = {s.SOURCE: s.PointSource, s.REVIEW_REASON: s.ReviewReason}
# the bounds labels.nc's validation holds (pose3d.io.netcdf, which imports this module, so they
# are restated here), checked per line so that the message names the journal line
_RANGES: dict[str, tuple[float, float]] = {
    s.POSITION: (-s.MAX_LABEL_PX, s.MAX_LABEL_PX),
    s.CONFIDENCE: (0.0, 1.0),
    s.VISIBILITY: (0.0, 1.0),  # a probability
}


@dataclass(frozen=True)
class _Kind:
    """What a labels variable holds at one cell: its dtype, how many values (position: 2)."""

    dtype: np.dtype[Any]
    size: int | None  # None: one value; n: a list of n values (position's x, y)
    codes: frozenset[int] | None = None  # the enum's codes (source, review_reason)
    bounds: tuple[float, float] | None = None  # the values a float variable may take

    @classmethod
    def of(cls, labels: xr.Dataset, name: str) -> _Kind:
        da = labels[name]
        size = int(da.sizes[s.SPACE]) if s.SPACE in da.dims else None
        enum = _ENUMS.get(name)
        codes = None if enum is None else frozenset(int(m) for m in enum)
        return cls(da.dtype, size, codes, _RANGES.get(name))

    def parse(self, name: str, value: object) -> Any:
        """``value`` (JSON) as this variable's value; _BadLine if its type or shape is wrong."""
        if self.size is None:
            return self._scalar(name, value)
        if not isinstance(value, list) or len(value) != self.size:
            raise _BadLine(
                f"{name} must be a list of {self.size} numbers or null, got {_short(value)}"
            )
        return np.array([self._scalar(name, v) for v in value], dtype=self.dtype)

    def _scalar(self, name: str, value: object) -> Any:
        kind = self.dtype.kind
        if kind == "b":
            if not isinstance(value, bool):
                raise _BadLine(f"{name} must be true or false, got {_short(value)}")
            return value
        if kind in "iu":
            if self.codes is not None and (not _is_int(value) or value not in self.codes):
                codes = ", ".join(str(c) for c in sorted(self.codes))
                raise _BadLine(f"{name} must be one of the codes {codes}, got {_short(value)}")
            if not _is_int(value):
                raise _BadLine(f"{name} must be a whole number, got {_short(value)}")
            info = np.iinfo(self.dtype)
            if not info.min <= value <= info.max:  # type: ignore[operator]
                raise _BadLine(f"{name} must be between {info.min} and {info.max}, got {value}")
            return value
        if kind == "f":
            if value is None:
                return np.nan
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise _BadLine(f"{name} must be a number or null, got {_short(value)}")
            if not abs(value) <= float(np.finfo(self.dtype).max):  # inf, NaN, beyond a float32
                raise _BadLine(f"{name} must be a finite number or null, got {_short(value)}")
            if self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
                low, high = self.bounds
                raise _BadLine(f"{name} must lie in [{low:g}, {high:g}], got {_short(value)}")
            return value
        raise _BadLine(f"{name} has dtype {self.dtype}, which a journal cannot hold")
