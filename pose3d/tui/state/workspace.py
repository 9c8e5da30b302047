"""An open session in the TUI: its SessionFolder (pose3d.pipeline.folder: session.toml and the lock,
held while it is open), the label editor with its autosave (pose3d.tui.state.autosave: each edit in
the journal beside labels.nc before it returns, labels.nc rewritten in the background), and the
decoded-frame cache of its cameras. A propagation runs on the editor's labels in memory and comes
back as one undoable edit, written once (:meth:`Workspace.propagate`); tools that read labels.nc
while the TUI holds the session (triangulation) call ``flush()`` first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError, SessionError
from pose3d.labels import new_labels
from pose3d.pipeline.folder import SessionFolder
from pose3d.progress import ProgressCallback
from pose3d.session import Session
from pose3d.tui.drawing.canvas import MarkerStyle
from pose3d.tui.state.autosave import BackgroundSaver
from pose3d.tui.state.editor import LabelEditor
from pose3d.tui.state.frames import DEFAULT_MAX_BYTES, FrameCache

if TYPE_CHECKING:
    from pose3d.tracking.base import PointTracker
    from pose3d.tracking.propagate import PropagationReport
    from pose3d.tui.logic.propagation import PropagateRequest


class Workspace:
    """A session opened for labelling; ``close()`` (or the context manager) releases it.

    labels.nc is loaded if it exists; otherwise an empty dataset covering every camera's frames
    is created in memory and written at the first edit.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        read_only: bool = False,
    ) -> None:
        self.folder = SessionFolder(root, write=not read_only)  # read-only: no lock taken
        self.read_only = read_only
        self._cameras: CameraGroup | None = None
        self.said: set[str] = set()  # one-time notices shown while the session is open
        self.marker_style = MarkerStyle()  # labels shown or not, marker size (v, m)
        try:
            self.saver = None if read_only else BackgroundSaver(self.folder.paths.labels)
        except BaseException:
            self.folder.close()
            raise
        try:
            self.frames = FrameCache(self.session, max_bytes=max_bytes)
            try:
                self.editor = self._editor()
            except BaseException:
                self.frames.close()
                raise
        except BaseException:
            if self.saver is not None:
                self.saver.close()
            self.folder.close()
            raise

    def _editor(self) -> LabelEditor:
        if self.saver is None:
            why = (
                f"{self.root} is open read-only (pose3d tui --read-only): nothing can be changed "
                "here; open it without --read-only to edit (once no other pose3d holds it)"
            )
            return LabelEditor(self._labels(), read_only=why)
        return LabelEditor(self._labels(), self.saver, lock=self.saver.lock)

    def refuse_when_read_only(self, what: str) -> None:
        """Raise, saying why, when the session is open read-only (``what``: the action)."""
        if self.read_only:
            raise SessionError(
                f"cannot {what}: {self.root} is open read-only (pose3d tui --read-only); open "
                "it without --read-only to change it"
            )

    @property
    def session(self) -> Session:
        return self.folder.session

    @property
    def title(self) -> str:
        """The session's name for the screens' titles, "(read-only)" after it when open so."""
        return self.session.name + (" (read-only)" if self.read_only else "")

    @property
    def root(self) -> Path:
        return self.session.root

    @property
    def cameras(self) -> CameraGroup | None:
        """The session's calibration (calibration/calibration.toml), None when it has none or
        it cannot be read (the views work without it; the multi-view aids need it)."""
        if self._cameras is None:
            try:
                self._cameras = self.folder.cameras_or_none()
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
        if self.saver is not None:
            self.saver.wait()

    def update_session(self, change: Callable[[Session], Session]) -> Session:
        """Write ``change`` of session.toml as it is on disk now (e.g. a new board; an edit
        made meanwhile in an editor is kept) and use it."""
        session = self.folder.update_session(change)
        self.calibration_changed()
        return session

    def calibration_changed(self) -> None:
        """The calibration is read again at its next use (after a calibration run)."""
        self._cameras = None

    def propagate(
        self,
        request: PropagateRequest,
        tracker: PointTracker,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        second: PointTracker | None = None,
    ) -> PropagationReport:
        """Track on the editor's labels in memory (pose3d.tracking.propagate) and take the result
        as one undoable edit, written to labels.nc once; a cancelled run changes nothing. Runs
        in a worker thread while the Propagate dialog (modal) keeps edits away."""
        from pose3d.tracking.propagate import propagate_labels

        labels, report = propagate_labels(
            self.editor.snapshot(),
            self.folder.videos(),
            self.cameras,
            tracker,
            views=request.views,
            frames=request.frames,
            from_frames=request.from_frames,
            second=second,
            progress=progress,
            cancel=cancel,
        )
        self.editor.apply(labels, "propagate")
        return report

    def close(self) -> None:
        try:
            if self.saver is not None:
                self.saver.close()
        finally:
            self.frames.close()
            self.folder.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _labels(self) -> xr.Dataset:
        if self.folder.has_labels():
            labels = self.folder.labels()  # with a crashed run's journal
            if self.saver is not None and self.saver.journal.lines:  # fold it before new edits
                self.saver.fold(labels)
            return labels  # checked against session.toml's cameras, keypoints, individuals
        return new_labels(
            self.frames.n_frames,
            self.session.camera_names,
            self.session.skeleton.keypoints,
            self.session.individuals,
        )
