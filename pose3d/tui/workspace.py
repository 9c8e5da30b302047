"""An open session in the TUI: the session lock (held while it is open), the label editor with
its autosave (pose3d.tui.autosave: each edit in the journal beside labels.nc before it returns,
labels.nc rewritten in the background), and the decoded-frame cache of its cameras. Tools that
read labels.nc while the TUI holds the session (propagate) call ``flush()`` first.
"""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels
from pose3d.io.session_toml import load_session
from pose3d.labels import new_labels
from pose3d.session import Session
from pose3d.tui.autosave import BackgroundSaver
from pose3d.tui.editor import LabelEditor
from pose3d.tui.frames import DEFAULT_MAX_BYTES, FrameCache


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
            if self.saver.journal.lines:  # fold it into labels.nc before new edits come
                self.saver.fold(labels)
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
