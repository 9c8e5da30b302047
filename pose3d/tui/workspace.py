"""An open session in the TUI: the session lock (held while it is open), the label editor that
autosaves labels.nc after every edit, and the decoded-frame cache of its cameras."""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.io.session_toml import load_session
from pose3d.labels import new_labels
from pose3d.session import Session
from pose3d.tui.editor import LabelEditor
from pose3d.tui.frames import DEFAULT_MAX_BYTES, FrameCache


class Workspace:
    """A session opened for labelling; ``close()`` (or the context manager) releases it.

    labels.nc is loaded if it exists; otherwise an empty dataset covering every camera's frames
    is created in memory and written at the first edit.
    """

    def __init__(self, root: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.session: Session = load_session(root)
        self.lock = SessionLock(self.session.root).acquire()
        try:
            self.frames = FrameCache(self.session, max_bytes=max_bytes)
            try:
                self.editor = LabelEditor(self._labels(), save=self.save)
            except BaseException:
                self.frames.close()
                raise
        except BaseException:
            self.lock.release()
            raise

    @property
    def root(self) -> Path:
        return self.session.root

    @property
    def n_frames(self) -> int:
        """Session frames the labels cover (0 .. n_frames - 1 from the first labels frame)."""
        return self.editor.n_frames

    def save(self, labels: xr.Dataset) -> None:
        """Write labels.nc atomically (validated); the lock is held."""
        save_labels(self.session.labels_path, labels)

    def reload_labels(self) -> None:
        """Read labels.nc again after a tool changed it (e.g. propagate); clears undo."""
        self.editor.replace_labels(load_labels(self.session.labels_path))

    def close(self) -> None:
        self.frames.close()
        self.lock.release()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _labels(self) -> xr.Dataset:
        if self.session.labels_path.is_file():
            return load_labels(self.session.labels_path)
        return new_labels(
            self.frames.n_frames,
            self.session.camera_names,
            self.session.skeleton.keypoints,
            self.session.individuals,
        )
