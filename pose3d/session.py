"""Session: one recording of a subject by a synchronized camera rig, and where its files live.

A session is a folder (see docs/session.md)::

    SESSION/
      session.toml    name, fps, cameras [{name, video, offset}], keypoints, edges,
                      individuals, board
      calibration/         board media, detections.nc, calibration.toml, report.json
      labels.nc            2D labels and tracks of every view
      poses3d.nc           3D result

Frame offsets: camera j's frame i is session frame ``i + offset_j``.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pose3d.board import Board
from pose3d.errors import SessionError
from pose3d.skeleton import Skeleton

SESSION_FILE = "session.toml"
CALIBRATION_DIR = "calibration"
MAX_OFFSET = 10**7  # frames: |offset| below this (46 hours at 60 fps); beyond, a damaged file
MAX_FPS = 1e6  # frames per second: faster than any camera a lab films with


@dataclass(frozen=True)
class SessionPaths:
    """Where each file of a session folder lives: the one place their names are spelled.

    Reading and writing them is pose3d.pipeline.folder.SessionFolder's job (under the lock).
    """

    root: Path

    @property
    def session_file(self) -> Path:
        return self.root / SESSION_FILE

    @property
    def calibration_dir(self) -> Path:
        return self.root / CALIBRATION_DIR

    @property
    def board(self) -> Path:
        """calibration/board.toml: the board, when session.toml has no [board] table."""
        return self.calibration_dir / "board.toml"

    @property
    def detections(self) -> Path:
        return self.calibration_dir / "detections.nc"

    @property
    def calibration(self) -> Path:
        return self.calibration_dir / "calibration.toml"

    @property
    def report(self) -> Path:
        """calibration/report.json: what the calibration checked and found."""
        return self.calibration_dir / "report.json"

    @property
    def intrinsics(self) -> Path:
        """calibration/intrinsics.toml: each camera's intrinsics calibrated apart
        (``pose3d calibrate --intrinsics-only``), held fixed by the rig's calibration."""
        return self.calibration_dir / "intrinsics.toml"

    @property
    def before_refine(self) -> Path:
        """calibration/calibration.before-refine.toml: the calibration a refinement from the
        labels replaced (``pose3d calibrate --refine-from-labels``)."""
        return self.calibration_dir / "calibration.before-refine.toml"

    @property
    def refine_report(self) -> Path:
        """calibration/refine.report.json: a refinement's figures before and after."""
        return self.calibration_dir / "refine.report.json"

    @property
    def intrinsics_report(self) -> Path:
        """calibration/intrinsics.report.json: what the intrinsics-only calibration checked."""
        return self.calibration_dir / "intrinsics.report.json"

    @property
    def labels(self) -> Path:
        return self.root / "labels.nc"

    @property
    def poses(self) -> Path:
        return self.root / "poses3d.nc"

    @property
    def lock(self) -> Path:
        return self.root / ".pose3d.lock"


@dataclass(frozen=True)
class ViewVideo:
    """A camera's video (file or image folder) and its frame offset: camera frame i is session
    frame i + offset."""

    path: Path
    offset: int = 0


@dataclass(frozen=True)
class CameraSpec:
    """A camera of the session: its name, its video (relative to the session root or absolute)
    and its frame offset (camera frame i is session frame i + offset)."""

    name: str
    video: str
    offset: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SessionError(f"a camera name must be a string, got {self.name!r}")
        if not self.name.strip():
            raise SessionError("a camera name must not be empty")
        if any(c in self.name for c in "/\\ "):
            raise SessionError(f"camera name {self.name!r} must not contain spaces or slashes")
        if not isinstance(self.video, str):
            raise SessionError(f"camera {self.name!r}: video must be a path, got {self.video!r}")
        offset = self.offset
        if isinstance(offset, bool | np.bool_) or not isinstance(offset, int | np.integer):
            raise SessionError(
                f"camera {self.name!r}: offset must be a whole number of frames, got "
                f"{reprlib.repr(offset)}"
            )
        if not -MAX_OFFSET < offset < MAX_OFFSET:
            raise SessionError(
                f"camera {self.name!r}: offset {reprlib.repr(int(offset))} frames is beyond "
                f"+-{MAX_OFFSET:,} frames (46 hours at 60 fps); camera frame i is session frame "
                "i + offset, so it is a few frames for cameras started together"
            )
        object.__setattr__(self, "offset", int(offset))


@dataclass(frozen=True)
class Session:
    root: Path
    name: str
    cameras: tuple[CameraSpec, ...]
    skeleton: Skeleton
    individuals: tuple[str, ...] = ("individual_0",)
    fps: float | None = None
    board: Board | None = None
    # camera name -> the board video or image folder of that camera (relative or absolute)
    calibration_media: dict[str, str] = field(default_factory=dict)
    # camera name -> its own board video or image folder for its intrinsics alone, filmed apart
    # from the other cameras (``pose3d calibrate --intrinsics-only``)
    intrinsics_media: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "individuals", tuple(str(i) for i in self.individuals))
        names = [c.name for c in self.cameras]
        if not names:
            raise SessionError(f"session {self.root}: at least one camera is needed")
        if len(set(names)) != len(names):
            raise SessionError(f"session {self.root}: camera names must be unique, got {names}")
        if not self.individuals or len(set(self.individuals)) != len(self.individuals):
            raise SessionError(
                f"session {self.root}: individuals must be unique names, "
                f"got {list(self.individuals)}"
            )
        for what, media in (
            ("calibration media", self.calibration_media),
            ("intrinsics media", self.intrinsics_media),
        ):
            unknown = sorted(set(media) - set(names))
            if unknown:
                raise SessionError(
                    f"session {self.root}: {what} of unknown camera(s) "
                    f"{', '.join(unknown)}; cameras are {', '.join(names)}"
                )
        if self.fps is not None and not 0 < self.fps <= MAX_FPS:
            raise SessionError(
                f"session {self.root}: fps must be positive"
                + (f" and at most {MAX_FPS:g}" if self.fps > 0 else "")
                + f", got {self.fps}"
            )

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def camera(self, name: str) -> CameraSpec:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise SessionError(
            f"session {self.root} has no camera {name!r}; it has {', '.join(self.camera_names)}"
        )

    def video_path(self, name: str) -> Path:
        return self._resolve(self.camera(name).video)

    def _resolve(self, path: str) -> Path:
        resolved = Path(path)
        return resolved if resolved.is_absolute() else self.root / resolved

    def calibration_media_paths(self) -> dict[str, Path]:
        """Camera name -> its calibration video or image folder, for the cameras that have one."""
        return {name: self._resolve(path) for name, path in self.calibration_media.items()}

    def intrinsics_media_paths(self) -> dict[str, Path]:
        """Camera name -> its own board media for its intrinsics, for the cameras that have
        them (``[calibration] intrinsics_media``)."""
        return {name: self._resolve(path) for name, path in self.intrinsics_media.items()}

    def with_offsets(self, offsets: dict[str, int]) -> Session:
        cams = tuple(replace(c, offset=int(offsets.get(c.name, c.offset))) for c in self.cameras)
        return replace(self, cameras=cams)

    @property
    def paths(self) -> SessionPaths:
        """Where the session's files live (session.toml, calibration/, labels.nc, ...)."""
        return SessionPaths(self.root)

    @property
    def session_file(self) -> Path:
        return self.paths.session_file
