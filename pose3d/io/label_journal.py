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

Readers see the labels with the journal applied (:func:`pose3d.io.netcdf.load_labels`), and
a complete write of labels.nc (:func:`pose3d.io.netcdf.save_labels`) removes the journal, since
whatever wrote it read the labels through the journal first. Only the TUI's background writer
keeps the lines written after its copy of the labels was taken.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d.errors import Pose3dError, SchemaError
from pose3d.io.atomic import atomic_write_bytes
from pose3d.label_cells import Cell, CellIndex, at

SUFFIX = ".journal"


def journal_path(labels_path: str | os.PathLike[str]) -> Path:
    """``labels.nc`` -> ``labels.nc.journal``."""
    path = Path(labels_path)
    return path.with_name(path.name + SUFFIX)


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
    """``labels`` with the edits of the journal at ``path`` replayed, in place (returned)."""
    path = Path(path)
    lines = path.read_bytes().splitlines()
    index = CellIndex(labels)
    for number, raw in enumerate(lines, start=1):
        try:
            edit = json.loads(raw)
            cell = index(Cell(edit["frame"], edit["view"], edit["keypoint"], edit["individual"]))
            state = edit["state"]
        except (ValueError, KeyError, TypeError, Pose3dError) as exc:
            if number == len(lines) and type(exc) is json.JSONDecodeError:
                break  # cut short by a crash while it was written: that edit is lost
            raise SchemaError(
                f"line {number} of the edit journal {path} does not fit the labels beside it "
                f"({type(exc).__name__}: {exc}); move the journal aside to open the labels "
                "without its edits"
            ) from None
        for name, value in state.items():
            if name in labels.data_vars:
                array = labels[name].values
                array[at(labels, name, cell)] = _value(value, array.dtype)
    return labels


def _value(value: Any, dtype: np.dtype[Any]) -> NDArray[Any]:
    """A JSON value back into an array of ``dtype`` (null -> NaN for floats)."""
    if dtype.kind == "f":
        if isinstance(value, list):
            return np.array([np.nan if v is None else v for v in value], dtype=dtype)
        return np.array(np.nan if value is None else value, dtype=dtype)
    return np.array(value).astype(dtype)
