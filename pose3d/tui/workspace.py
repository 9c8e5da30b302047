"""An open session in the TUI: the session lock (held while it is open), the label editor with
its autosave, and the decoded-frame cache of its cameras.

Each edit is on disk before it returns: one fsynced line in the edit journal beside labels.nc
(pose3d.io.label_journal), about a millisecond however long the video. labels.nc itself is
rewritten by a background thread once the user pauses (or every ``max_delay_s`` while edits
keep coming), from a copy of the labels taken under the editor's lock, and then the journal
lines it holds are dropped. A kill at any moment therefore loses at most the edit in
progress; labels.nc is always a complete file (the write is atomic), and whatever reads it
(``load_labels``) replays the journal. Tools that read labels.nc while the TUI holds the
session (propagate) call ``flush()`` first, which rewrites it now.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.io.label_journal import LabelJournal, journal_path
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.io.session_toml import load_session
from pose3d.labels import new_labels
from pose3d.session import Session
from pose3d.tui.editor import CellState, Cursor, LabelEditor
from pose3d.tui.frames import DEFAULT_MAX_BYTES, FrameCache


class BackgroundSaver:
    """The edit journal now, labels.nc in a background thread (see the module docstring)."""

    def __init__(self, path: Path, idle_s: float = 1.0, max_delay_s: float = 10.0) -> None:
        self.path = path
        self.idle_s = idle_s
        self.max_delay_s = max_delay_s
        self.lock = threading.Lock()  # held by the editor while it edits, here while copying
        self.journal = LabelJournal(journal_path(path))
        self.writes = 0  # labels.nc rewrites so far (for tests)
        self._labels: xr.Dataset | None = None
        self._dirty = False  # edits not in labels.nc yet
        self._first_edit = self._last_edit = 0.0
        self._error: BaseException | None = None
        self._writing = threading.Lock()  # one rewrite at a time
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="pose3d-autosave", daemon=True)
        self._thread.start()

    def record(self, labels: xr.Dataset, cell: Cursor, state: CellState) -> None:
        """Called by the editor, under ``lock``, after each edit: the edit goes to the journal
        (or, the first time, labels.nc is written whole)."""
        if not self.path.is_file():  # the first edit of new labels: the journal needs a base
            save_labels(self.path, labels)
        else:
            self.journal.append(cell.frame, cell.view, cell.keypoint, cell.individual, state)
        with self._wake:
            now = time.monotonic()
            if not self._dirty:
                self._first_edit = now
            self._labels, self._dirty, self._last_edit = labels, True, now
            self._wake.notify()

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
            self.journal.drop_first(lines)
            self.writes += 1


class Workspace:
    """A session opened for labelling; ``close()`` (or the context manager) releases it.

    labels.nc is loaded if it exists; otherwise an empty dataset covering every camera's frames
    is created in memory and written at the first edit.
    """

    def __init__(self, root: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.session: Session = load_session(root)
        self._cameras: CameraGroup | None = None
        self.lock = SessionLock(self.session.root).acquire()
        self.saver = BackgroundSaver(self.session.labels_path)
        try:
            self.frames = FrameCache(self.session, max_bytes=max_bytes)
            try:
                self.editor = LabelEditor(
                    self._labels(), save=self.saver.record, lock=self.saver.lock
                )
            except BaseException:
                self.frames.close()
                raise
        except BaseException:
            self.saver.close()
            self.lock.release()
            raise

    @property
    def root(self) -> Path:
        return self.session.root

    @property
    def cameras(self) -> CameraGroup | None:
        """The session's calibration (calibration/calibration.toml), None when it has none or
        it cannot be read (the views work without it; the multi-view aids need it)."""
        if self._cameras is None and self.session.calibration_path.is_file():
            from pose3d.io.calibration_toml import load_calibration

            try:
                self._cameras = load_calibration(self.session.calibration_path)
            except Pose3dError:
                return None
        return self._cameras

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """The skeleton's edges as index pairs into the labels' keypoints (both ends known)."""
        index = {name: k for k, name in enumerate(self.editor.keypoints)}
        return tuple(
            (index[a], index[b])
            for a, b in self.session.skeleton.edges
            if a in index and b in index
        )

    @property
    def n_frames(self) -> int:
        """Session frames the labels cover (0 .. n_frames - 1 from the first labels frame)."""
        return self.editor.n_frames

    def flush(self) -> None:
        """Return once every edit is on disk (raises the error of a failed save)."""
        self.saver.wait()

    def use_session(self, session: Session) -> None:
        """Take a changed session.toml (e.g. a new board); the calibration is read again."""
        self.session = session
        self._cameras = None

    def reload_labels(self) -> None:
        """Read labels.nc again after a tool changed it (e.g. propagate); clears undo."""
        self.flush()
        self.editor.replace_labels(load_labels(self.session.labels_path))

    def close(self) -> None:
        try:
            self.saver.close()
        finally:
            self.frames.close()
            self.lock.release()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _labels(self) -> xr.Dataset:
        if self.session.labels_path.is_file():
            labels = load_labels(self.session.labels_path)  # with a crashed run's journal
            journal = self.saver.journal
            if journal.lines:  # fold it into labels.nc before new edits come
                lines = journal.lines
                save_labels(self.session.labels_path, labels, keep_journal=True)
                journal.drop_first(lines)
            views = [str(v) for v in labels[s.VIEW].values]
            cameras = list(self.session.camera_names)
            if sorted(views) != sorted(cameras):
                raise Pose3dError(
                    f"{self.session.labels_path} has views {', '.join(views)} but the session's "
                    f"cameras are {', '.join(cameras)}; rename the cameras in session.toml to "
                    "match, or move labels.nc aside to start new labels"
                )
            return labels
        return new_labels(
            self.frames.n_frames,
            self.session.camera_names,
            self.session.skeleton.keypoints,
            self.session.individuals,
        )
