"""The label editor: manual edits of labels.nc with undo / redo, saved after every edit.

An edit changes one point, a *cell* ``(frame, view, keypoint, individual)``: place it (source
MANUAL, through :func:`pose3d.labels.set_point`, which also clears the tracker's guess), nudge it
or delete it. Each edit records the cell's every variable before and after, so undo and redo
restore the cell exactly (a deleted tracked point comes back as tracked, with its flags).

The editor changes its labels in place (a copy costs as much as the labels are long) while
holding ``lock``, and, still holding it, calls ``save(labels, cell, state)`` with the cell's
state after the edit. The autosave (pose3d.tui.autosave) appends that state to the edit
journal beside labels.nc before the edit returns and rewrites labels.nc in the background,
copying the labels under the same lock; so a kill at any moment loses at most the edit in
progress, and never damages a file.

The cursor (frame, view, keypoint, individual) is what the Label screen edits; placing the
current keypoint moves the cursor to the next keypoint, as in DeepLabCut's labelling GUI.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.labels import set_point

CellState = dict[str, Any]  # variable name -> the cell's value (position: array of 2)


@dataclass(frozen=True)
class Cursor:
    """The point being edited: session frame, view, keypoint and individual (names)."""

    frame: int
    view: str
    keypoint: str
    individual: str


Save = Callable[[xr.Dataset, Cursor, CellState], None]


@dataclass(frozen=True)
class Edit:
    """One undoable change of one cell; ``what`` is "place", "nudge" or "delete"."""

    what: str
    cell: Cursor
    before: CellState
    after: CellState


def _no_save(labels: xr.Dataset, cell: Cursor, state: CellState) -> None:
    return None


class LabelEditor:
    """Edits of a labels dataset (owned by the editor) with a cursor, undo / redo and autosave."""

    def __init__(
        self,
        labels: xr.Dataset,
        save: Save = _no_save,
        max_undo: int = 1000,
        lock: threading.Lock | None = None,
    ) -> None:
        self._labels = labels
        self._save = save
        self._lock: contextlib.AbstractContextManager[Any] = lock or contextlib.nullcontext()
        self._max_undo = max_undo
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self.views = tuple(str(v) for v in labels[s.VIEW].values)
        self.keypoints = tuple(str(k) for k in labels[s.KEYPOINT].values)
        self.individuals = tuple(str(i) for i in labels[s.INDIVIDUAL].values)
        time = labels[s.TIME].values
        self.first_frame, self.n_frames = int(time[0]), len(time)
        first = (self.views[0], self.keypoints[0], self.individuals[0])
        self.cursor = Cursor(self.first_frame, *first)

    @property
    def labels(self) -> xr.Dataset:
        """The current labels (do not modify; the editor owns them)."""
        return self._labels

    def replace_labels(self, labels: xr.Dataset) -> None:
        """Take labels changed outside the editor (e.g. after propagate); clears undo / redo."""
        self._labels = labels
        self._undo.clear()
        self._redo.clear()

    # --- reading -----------------------------------------------------------------------------

    def point(self, cell: Cursor | None = None) -> tuple[float, float] | None:
        """The (x, y) of a cell (default: the cursor's) in pixels, None where there is none."""
        xy = self._labels[s.POSITION].values[self._index(cell or self.cursor, space=True)]
        return None if not np.all(np.isfinite(xy)) else (float(xy[0]), float(xy[1]))

    def source(self, cell: Cursor | None = None) -> s.PointSource:
        return s.PointSource(int(self._labels[s.SOURCE].values[self._index(cell or self.cursor)]))

    def frame_points(self, frame: int, view: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The points of one view on one frame: position (2, K, I), source and review (K, I)."""
        t = self._time_index(frame)
        v = self._position(self.views, view, "view")
        ds = self._labels
        return (
            ds[s.POSITION].values[t, v],
            ds[s.SOURCE].values[t, v],
            ds[s.REVIEW].values[t, v],
        )

    # --- edits -------------------------------------------------------------------------------

    def place(self, xy: tuple[float, float], cell: Cursor | None = None) -> Edit:
        """Place a manual point at ``xy`` (pixels) on a cell (default: the cursor's)."""
        return self._apply("place", cell or self.cursor, (float(xy[0]), float(xy[1])))

    def place_current(self, xy: tuple[float, float]) -> Edit:
        """Place the cursor's keypoint at ``xy`` and move the cursor to the next keypoint."""
        edit = self.place(xy)
        self.next_keypoint()
        return edit

    def nudge(self, dx: float, dy: float, cell: Cursor | None = None) -> Edit | None:
        """Move a cell's point by (dx, dy) px; it becomes manual. None where there is no point."""
        cell = cell or self.cursor
        xy = self.point(cell)
        if xy is None:
            return None
        return self._apply("nudge", cell, (xy[0] + dx, xy[1] + dy))

    def delete(self, cell: Cursor | None = None) -> Edit | None:
        """Delete a cell's point (any source). None where there is no point."""
        cell = cell or self.cursor
        if self.point(cell) is None and self.source(cell) == s.PointSource.NONE:
            return None
        return self._apply("delete", cell, None)

    def undo(self) -> Edit | None:
        """Undo the last edit (the cursor moves to its cell); None when there is nothing."""
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._redo.append(edit)
        self.cursor = edit.cell
        self._restore(edit.cell, edit.before)
        return edit

    def redo(self) -> Edit | None:
        """Redo the last undone edit; None when there is nothing."""
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._undo.append(edit)
        self.cursor = edit.cell
        self._restore(edit.cell, edit.after)
        return edit

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_depth(self) -> int:
        """How many edits can be undone."""
        return len(self._undo)

    # --- the cursor --------------------------------------------------------------------------

    def move_to(self, **changes: Any) -> Cursor:
        """Move the cursor (frame=, view=, keypoint=, individual=); names are checked."""
        cursor = replace(self.cursor, **changes)
        self._index(cursor)
        self.cursor = cursor
        return cursor

    def next_keypoint(self, step: int = 1) -> Cursor:
        """The next (``step`` < 0: previous) keypoint; stays on the last / first one."""
        k = self.keypoints.index(self.cursor.keypoint) + step
        k = min(max(k, 0), len(self.keypoints) - 1)
        return self.move_to(keypoint=self.keypoints[k])

    def next_individual(self, step: int = 1) -> Cursor:
        """The next (``step`` < 0: previous) individual, cycling."""
        i = (self.individuals.index(self.cursor.individual) + step) % len(self.individuals)
        return self.move_to(individual=self.individuals[i])

    # --- internals ---------------------------------------------------------------------------

    def _apply(self, what: str, cell: Cursor, xy: tuple[float, float] | None) -> Edit:
        self._index(cell)  # an unknown cell is refused before anything changes
        before = self._read_cell(cell)
        with self._lock:
            set_point(
                self._labels,
                cell.frame,
                cell.view,
                cell.keypoint,
                cell.individual,
                xy,
                inplace=True,
            )
            after = self._read_cell(cell)
            edit = Edit(what, cell, before, after)
            self._undo.append(edit)
            del self._undo[: -self._max_undo]
            self._redo.clear()
            self._save(self._labels, cell, after)
        return edit

    def _restore(self, cell: Cursor, state: CellState) -> None:
        with self._lock:
            self._write_cell(cell, state)
            self._save(self._labels, cell, self._read_cell(cell))

    def _cell_vars(self) -> list[str]:
        return [str(name) for name, da in self._labels.data_vars.items() if s.TIME in da.dims]

    def _read_cell(self, cell: Cursor) -> CellState:
        state: CellState = {}
        for name in self._cell_vars():
            index = self._index(cell, space=s.SPACE in self._labels[name].dims)
            value = self._labels[name].values[index]
            state[name] = value.copy() if isinstance(value, np.ndarray) else value
        return state

    def _write_cell(self, cell: Cursor, state: CellState) -> None:
        for name, value in state.items():
            if name in self._labels.data_vars:
                index = self._index(cell, space=s.SPACE in self._labels[name].dims)
                self._labels[name].values[index] = value

    def _time_index(self, frame: int) -> int:
        t = int(frame) - self.first_frame
        if not 0 <= t < self.n_frames:
            raise Pose3dError(
                f"frame {frame} is outside the labels, which cover session frames "
                f"{self.first_frame}-{self.first_frame + self.n_frames - 1}"
            )
        return t

    @staticmethod
    def _position(names: tuple[str, ...], name: str, what: str) -> int:
        try:
            return names.index(name)
        except ValueError:
            raise Pose3dError(f"unknown {what} {name!r}; known: {', '.join(names)}") from None

    def _index(self, cell: Cursor, space: bool = False) -> tuple[Any, ...]:
        t = self._time_index(cell.frame)
        v = self._position(self.views, cell.view, "view")
        k = self._position(self.keypoints, cell.keypoint, "keypoint")
        i = self._position(self.individuals, cell.individual, "individual")
        return (t, v, slice(None), k, i) if space else (t, v, k, i)
