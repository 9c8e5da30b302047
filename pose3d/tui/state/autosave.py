"""Autosave of the labels being edited in the TUI: the edit journal now, labels.nc later.

Each edit is on disk before it returns: one fsynced line in the edit journal beside labels.nc
(pose3d.io.label_journal), about a millisecond however long the video; an edit of many cells
(a propagation) writes labels.nc whole, once, instead. labels.nc itself is
rewritten by a background thread once the user pauses (or every ``max_delay_s`` while edits
keep coming), from a copy of the labels taken under the editor's lock, and then the journal
lines it holds are dropped. A kill at any moment therefore loses at most the edit in
progress; labels.nc is always a complete file (the write is atomic), and whatever reads it
(``load_labels``) replays the journal.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import xarray as xr

from pose3d.io.label_journal import LabelJournal, journal_path
from pose3d.io.netcdf import save_labels
from pose3d.label_cells import Cell, CellState


class BackgroundSaver:
    """The edit journal now, labels.nc in a background thread (see the module docstring)."""

    def __init__(self, path: Path, idle_s: float = 1.0, max_delay_s: float = 10.0) -> None:
        self.path = path
        self.idle_s = idle_s
        self.max_delay_s = max_delay_s
        self.lock = threading.Lock()  # held by the editor while it edits, here while copying
        self.journal = LabelJournal(journal_path(path))
        self.writes = 0  # labels.nc writes so far (for tests)
        self._labels: xr.Dataset | None = None
        self._dirty = False  # edits not in labels.nc yet
        self._first_edit = self._last_edit = 0.0
        self._error: BaseException | None = None
        self._writing = threading.Lock()  # one rewrite at a time
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="pose3d-autosave", daemon=True)
        self._thread.start()

    def record(self, labels: xr.Dataset, cell: Cell, state: CellState) -> None:
        """Called by the editor, under ``lock``, after each edit: the edit goes to the journal
        (or, the first time, labels.nc is written whole)."""
        if not self.path.is_file():  # the first edit of new labels: the journal needs a base
            self.fold(labels)  # an orphan journal (no labels.nc) has nothing to add
        else:
            self.journal.append(cell.frame, cell.view, cell.keypoint, cell.individual, state)
        with self._wake:
            now = time.monotonic()
            if not self._dirty:
                self._first_edit = now
            self._labels, self._dirty, self._last_edit = labels, True, now
            self._wake.notify()

    def record_all(self, labels: xr.Dataset) -> None:
        """Called by the editor, under ``lock``, after an edit of many cells (a propagation, or
        its undo): labels.nc is written whole now, once, and the journal emptied."""
        self.fold(labels)
        with self._wake:
            self._labels, self._dirty = labels, False

    def fold(self, labels: xr.Dataset) -> None:
        """Write labels.nc whole from ``labels`` now and drop every journal line so far (they
        are in ``labels``)."""
        lines = self.journal.lines
        save_labels(self.path, labels, keep_journal=True)
        self.writes += 1
        self.journal.drop_first(lines)

    def wait(self) -> None:
        """Rewrite labels.nc now with every edit so far; raise the error of a failed write."""
        self._write()
        error, self._error = self._error, None
        if error is not None:
            raise error

    def close(self) -> None:
        try:
            self.wait()
        finally:
            with self._wake:
                self._closing = True
                self._wake.notify()
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closing and not self._due():
                    self._wake.wait(self._timeout())
                if self._closing:
                    return
            try:
                self._write()
            except BaseException as exc:  # kept for wait(); the journal still holds the edits
                self._error = exc
                with self._wake:  # do not retry at once: wait for the next edit
                    self._dirty = False

    def _due(self) -> bool:
        if not self._dirty:
            return False
        now = time.monotonic()
        return now - self._last_edit >= self.idle_s or now - self._first_edit >= self.max_delay_s

    def _timeout(self) -> float | None:
        if not self._dirty:
            return None
        now = time.monotonic()
        return max(
            0.01,
            min(self._last_edit + self.idle_s, self._first_edit + self.max_delay_s) - now,
        )

    def _write(self) -> None:
        with self._writing:
            with self.lock:  # no edit while the labels are copied
                with self._wake:
                    labels, dirty = self._labels, self._dirty
                    self._dirty = False
                if labels is None or not dirty:
                    return
                snapshot = labels.copy(deep=True)
                lines = self.journal.lines
            try:
                save_labels(self.path, snapshot, keep_journal=True)
            except BaseException:
                with self._wake:
                    self._dirty = True  # still to write
                raise
            self.writes += 1  # counted before the journal shrinks, which readers may watch
            self.journal.drop_first(lines)
