"""The label editor: manual edits of labels.nc with undo / redo, saved after every edit.

An edit changes one point, a *cell* ``(frame, view, keypoint, individual)``
(pose3d.label_cells): place it (source MANUAL, through :func:`pose3d.labels.set_point`, which
also clears the tracker's guess), nudge it, accept it (a tool's point becomes manual where it
is), delete it, or mark the keypoint hidden there (a manual hidden mark,
:func:`pose3d.labels.set_hidden`). A propagation is one edit of many
cells (:meth:`LabelEditor.apply`). Each edit records its cells' every variable before and
after, so undo and redo restore them exactly (a deleted tracked point comes back as tracked,
with its flags; an undone propagation takes its tracks away).

The editor changes its labels in place (a copy costs as much as the labels are long) while
holding ``lock``, and, still holding it, calls ``saver.record(labels, cell, state)`` with the
cell's state after the edit (an edit of many cells calls ``saver.record_all(labels)``). The
autosave (pose3d.tui.state.autosave) appends that state to the edit journal beside labels.nc before
the edit returns and rewrites labels.nc in the background, copying the labels under the same
lock (an edit of many cells rewrites labels.nc at once); so a kill at any moment loses at most
the edit in progress, and never damages a file.

The cursor (frame, view, keypoint, individual) is what the Label screen edits; placing the
current keypoint moves the cursor to the next keypoint, as in DeepLabCut's labelling GUI.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.errors import SessionError
from pose3d.label_cells import Cell, CellIndex, CellState, read_cell, with_hidden
from pose3d.labels import set_hidden, set_point

Cells = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]  # t, v, k, i
Values = dict[str, NDArray[Any]]  # variable -> its values at the cells: (n,) or (n, 2)


class Saver(Protocol):
    """Where the editor's changes go (pose3d.tui.state.autosave.BackgroundSaver)."""

    def record(self, labels: xr.Dataset, cell: Cell, state: CellState) -> None: ...

    def record_all(self, labels: xr.Dataset) -> None: ...


class _NoSave:
    def record(self, labels: xr.Dataset, cell: Cell, state: CellState) -> None:
        return None

    def record_all(self, labels: xr.Dataset) -> None:
        return None


@dataclass(frozen=True)
class Edit:
    """One undoable change: "place", "nudge", "accept", "hide" or "delete" of one cell, or
    "propagate" of many.

    ``cell`` is where the cursor goes on undo / redo; ``cells`` the array positions of every
    changed cell; ``before`` / ``after`` their values."""

    what: str
    cell: Cell
    cells: Cells
    before: Values
    after: Values

    @property
    def size(self) -> int:
        """How many cells the edit changed."""
        return len(self.cells[0])


class LabelEditor:
    """Edits of a labels dataset (owned by the editor) with a cursor, undo / redo and autosave."""

    def __init__(
        self,
        labels: xr.Dataset,
        saver: Saver | None = None,
        max_undo: int = 1000,
        lock: threading.Lock | None = None,
        read_only: str = "",
    ) -> None:
        self._labels = labels
        self.read_only = read_only  # why nothing may change ('' : edits are allowed)
        self._saver: Saver = saver or _NoSave()
        self._cells = CellIndex(labels)
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
        self.cursor = Cell(self.first_frame, *first)

    @property
    def labels(self) -> xr.Dataset:
        """The current labels (do not modify; the editor owns them)."""
        return self._labels

    def snapshot(self) -> xr.Dataset:
        """A copy of the labels, taken while no edit runs (for a tool to work on)."""
        with self._lock:
            return self._labels.copy(deep=True)

    # --- reading -----------------------------------------------------------------------------

    def point(self, cell: Cell | None = None) -> tuple[float, float] | None:
        """The (x, y) of a cell (default: the cursor's) in pixels, None where there is none."""
        t, v, k, i = self._cells(cell or self.cursor)
        xy = self._labels[s.POSITION].values[t, v, :, k, i]
        return None if not np.all(np.isfinite(xy)) else (float(xy[0]), float(xy[1]))

    def source(self, cell: Cell | None = None) -> s.PointSource:
        return s.PointSource(int(self._labels[s.SOURCE].values[self._cells(cell or self.cursor)]))

    def hidden(self, cell: Cell | None = None) -> bool:
        """Whether a cell (default: the cursor's) holds a hidden mark (anyone's)."""
        if s.HIDDEN not in self._labels.data_vars:
            return False
        return bool(self._labels[s.HIDDEN].values[self._cells(cell or self.cursor)])

    def frame_hidden(self, frame: int, view: str) -> np.ndarray:
        """The hidden marks of one view on one frame, (K, I) bool."""
        t, v, _, _ = self._cells(Cell(frame, view, self.keypoints[0], self.individuals[0]))
        if s.HIDDEN not in self._labels.data_vars:
            return np.zeros(self._labels[s.SOURCE].values.shape[2:], bool)
        return np.asarray(self._labels[s.HIDDEN].values[t, v])

    def frame_points(self, frame: int, view: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The points of one view on one frame: position (2, K, I), source and review (K, I)."""
        t, v, _, _ = self._cells(Cell(frame, view, self.keypoints[0], self.individuals[0]))
        ds = self._labels
        return (
            ds[s.POSITION].values[t, v],
            ds[s.SOURCE].values[t, v],
            ds[s.REVIEW].values[t, v],
        )

    # --- edits -------------------------------------------------------------------------------

    def place(self, xy: tuple[float, float], cell: Cell | None = None) -> Edit:
        """Place a manual point at ``xy`` (pixels) on a cell (default: the cursor's)."""
        return self._apply("place", cell or self.cursor, (float(xy[0]), float(xy[1])))

    def place_current(self, xy: tuple[float, float]) -> Edit:
        """Place the cursor's keypoint at ``xy`` and move the cursor to the next keypoint."""
        edit = self.place(xy)
        self.next_keypoint()
        return edit

    def nudge(self, dx: float, dy: float, cell: Cell | None = None) -> Edit | None:
        """Move a cell's point by (dx, dy) px; it becomes manual. None where there is no point."""
        cell = cell or self.cursor
        xy = self.point(cell)
        if xy is None:
            return None
        return self._apply("nudge", cell, (xy[0] + dx, xy[1] + dy))

    def delete(self, cell: Cell | None = None) -> Edit | None:
        """Delete a cell's point (any source). None where there is no point."""
        cell = cell or self.cursor
        if self.point(cell) is None and self.source(cell) == s.PointSource.NONE:
            return None
        return self._apply("delete", cell, None)

    def hide(self, cell: Cell | None = None) -> Edit | None:
        """Mark a cell's keypoint as not visible there (a manual hidden mark; its point, if
        any, goes). None where a person already said so."""
        cell = cell or self.cursor
        if self.hidden(cell) and self.source(cell) == s.PointSource.MANUAL:
            return None
        return self._apply("hide", cell, None)

    def accept(self, cell: Cell | None = None) -> Edit | None:
        """Say a tool's (or a file's) point is right: it becomes manual where it is, an anchor
        for the tracker, and the flags of its run are cleared (pose3d.tracking.review.
        clear_runs), in one undoable edit. None where there is no point or it is manual
        already."""
        from pose3d.tracking.review import clear_runs

        cell = cell or self.cursor
        xy = self.point(cell)
        if xy is None or self.source(cell) == s.PointSource.MANUAL:
            return None
        index = self._cells(cell)
        where = (cell.frame, cell.view, cell.keypoint, cell.individual)
        labels = set_point(self.snapshot(), *where, xy)
        if s.REVIEW in labels.data_vars:
            labels = clear_runs(labels, index)
        self.cursor = cell
        return self.apply(labels, "accept")

    def copy_frame(self, source_frame: int, cell: Cell | None = None) -> Edit | None:
        """Copy the points and hidden marks of a cell's view and individual (default: the
        cursor's) on ``source_frame`` to its frame, as manual labels, in one undoable edit
        (SLEAP's "copy instance"): a start to move them from. A keypoint a person labelled on
        the frame keeps its label. None where nothing is copied."""
        cell = cell or self.cursor
        labels = self.snapshot()
        for keypoint in self.keypoints:
            there, here = (
                replace(cell, frame=source_frame, keypoint=keypoint),
                replace(cell, keypoint=keypoint),
            )
            if self.source(here) == s.PointSource.MANUAL:
                continue
            where = (here.frame, here.view, here.keypoint, here.individual)
            xy = self.point(there)
            if xy is not None:
                set_point(labels, *where, xy, inplace=True)
            elif self.hidden(there):
                set_hidden(labels, *where, inplace=True)
        self.cursor = cell
        return self.apply(labels, "copy")

    def undo(self) -> Edit | None:
        """Undo the last edit (the cursor moves to its cell); None when there is nothing."""
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._redo.append(edit)
        self.cursor = edit.cell
        self._restore(edit, edit.before)
        return edit

    def redo(self) -> Edit | None:
        """Redo the last undone edit; None when there is nothing."""
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._undo.append(edit)
        self.cursor = edit.cell
        self._restore(edit, edit.after)
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

    def move_to(self, **changes: Any) -> Cell:
        """Move the cursor (frame=, view=, keypoint=, individual=); names are checked."""
        cursor = replace(self.cursor, **changes)
        self._cells(cursor)
        self.cursor = cursor
        return cursor

    def next_keypoint(self, step: int = 1) -> Cell:
        """The next (``step`` < 0: previous) keypoint; stays on the last / first one."""
        k = self.keypoints.index(self.cursor.keypoint) + step
        k = min(max(k, 0), len(self.keypoints) - 1)
        return self.move_to(keypoint=self.keypoints[k])

    def next_individual(self, step: int = 1) -> Cell:
        """The next (``step`` < 0: previous) individual, cycling."""
        i = (self.individuals.index(self.cursor.individual) + step) % len(self.individuals)
        return self.move_to(individual=self.individuals[i])

    # --- internals ---------------------------------------------------------------------------

    def _refuse_when_read_only(self) -> None:
        if self.read_only:
            raise SessionError(self.read_only)

    def _apply(self, what: str, cell: Cell, xy: tuple[float, float] | None) -> Edit:
        self._refuse_when_read_only()
        index = self._cells(cell)  # an unknown cell is refused before anything changes
        cells: Cells = tuple(np.array([j], np.intp) for j in index)  # type: ignore[assignment]
        if s.HIDDEN not in self._labels.data_vars:  # labels from before hidden marks existed
            with self._lock:
                self._add_variables(with_hidden(self._labels))
        before = self._values(cells)
        with self._lock:
            where = (cell.frame, cell.view, cell.keypoint, cell.individual)
            if what == "hide":
                set_hidden(self._labels, *where, inplace=True)
            else:
                set_point(self._labels, *where, xy, inplace=True)
            edit = Edit(what, cell, cells, before, self._values(cells))
            self._push(edit)
            self._saver.record(self._labels, cell, read_cell(self._labels, index))
        return edit

    def apply(self, labels: xr.Dataset, what: str = "propagate") -> Edit | None:
        """Take the labels a tool made from :meth:`snapshot` as one edit (undone in one step),
        saved at once; None when they change nothing. Variables the tool added (the
        tracker's) are added here first, unset (NaN, 0)."""
        self._refuse_when_read_only()
        with self._lock:
            self._add_variables(labels)
            cells = self._changed(labels)
            if not len(cells[0]):
                return None
            before = self._values(cells)
            after = self._values(cells, labels)
            self._write(cells, after)
            edit = Edit(what, self.cursor, cells, before, after)
            self._push(edit)
            self._saver.record_all(self._labels)
        return edit

    def _push(self, edit: Edit) -> None:
        self._undo.append(edit)
        del self._undo[: -self._max_undo]
        self._redo.clear()

    def _restore(self, edit: Edit, values: Values) -> None:
        with self._lock:
            self._write(edit.cells, values)
            if edit.size == 1:
                index = tuple(int(a[0]) for a in edit.cells)
                state = read_cell(self._labels, index)  # type: ignore[arg-type]
                self._saver.record(self._labels, edit.cell, state)
            else:
                self._saver.record_all(self._labels)

    def _variables(self) -> list[str]:
        return [str(name) for name, da in self._labels.data_vars.items() if s.TIME in da.dims]

    def _values(self, cells: Cells, labels: xr.Dataset | None = None) -> Values:
        """Every cell variable's values at ``cells`` (copies)."""
        ds = self._labels if labels is None else labels
        t, v, k, i = cells
        out: Values = {}
        for name in self._variables():
            array = ds[name].values
            out[name] = (array[t, v, :, k, i] if array.ndim == 5 else array[t, v, k, i]).copy()
        return out

    def _write(self, cells: Cells, values: Values) -> None:
        t, v, k, i = cells
        for name, value in values.items():
            array = self._labels[name].values
            if array.ndim == 5:
                array[t, v, :, k, i] = value
            else:
                array[t, v, k, i] = value

    def _add_variables(self, labels: xr.Dataset) -> None:
        for name in labels.data_vars:
            if name in self._labels.data_vars or s.TIME not in labels[name].dims:
                continue
            dtype = labels[name].dtype
            fill = np.nan if dtype.kind == "f" else 0
            self._labels[name] = labels[name].copy(data=np.full(labels[name].shape, fill, dtype))

    def _changed(self, labels: xr.Dataset) -> Cells:
        """The cells where ``labels`` differs from the editor's (NaN equals NaN)."""
        changed = np.zeros(labels[s.SOURCE].shape, bool)  # (T, V, K, I)
        for name in self._variables():
            a, b = self._labels[name].values, labels[name].values
            differ = a != b
            if a.dtype.kind == "f":
                differ &= ~(np.isnan(a) & np.isnan(b))
            changed |= differ.any(axis=2) if a.ndim == 5 else differ
        return np.nonzero(changed)  # type: ignore[return-value]
