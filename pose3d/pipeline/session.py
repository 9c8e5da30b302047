"""``pose3d init`` / ``pose3d info``: create a session folder, and say what one holds."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pose3d.errors import Pose3dError, SessionError
from pose3d.io.board_toml import load_board
from pose3d.io.session_toml import save_session
from pose3d.io.video_probe import VideoInfo, probe_video
from pose3d.pipeline.folder import SessionFolder
from pose3d.session import CameraSpec, Session, SessionPaths
from pose3d.skeleton import Skeleton


@dataclass(frozen=True)
class FileStatus:
    """A file of the session: whether it exists, a one-line summary and any problem."""

    path: Path
    exists: bool
    summary: str = ""
    problem: str | None = None


@dataclass(frozen=True)
class SessionInfo:
    session: Session
    videos: tuple[VideoInfo, ...]
    calibration: FileStatus
    labels: FileStatus
    poses: FileStatus

    @property
    def problems(self) -> list[str]:
        found = [f"{v.camera}: {v.error}" for v in self.videos if v.error]
        counts = {v.n_frames for v in self.videos if v.n_frames is not None}
        offsets = any(c.offset for c in self.session.cameras)
        if len(counts) > 1 and not offsets:
            found.append(
                "cameras have different frame counts ("
                + ", ".join(f"{v.camera} {v.n_frames}" for v in self.videos)
                + "); check that the videos are of the same recording, trim them, or set offsets"
            )
        found += [f.problem for f in (self.calibration, self.labels, self.poses) if f.problem]
        return found


def _stored_video_path(root: Path, video: Path) -> str:
    """Relative to the session root when the video lies inside it, else absolute."""
    resolved = video.resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(resolved)


def _checked_media(
    root: Path, media: Mapping[str, str | os.PathLike[str]], cameras: Sequence[str]
) -> dict[str, str]:
    """Calibration media as session.toml stores them; raises naming an unknown camera or a
    path that does not exist."""
    unknown = [name for name in media if name not in cameras]
    if unknown:
        raise SessionError(
            f"calibration media for camera(s) {', '.join(unknown)}, which the session does not "
            f"have; its cameras are {', '.join(cameras)}"
        )
    for name, path in media.items():
        if not Path(path).exists():
            raise SessionError(
                f"calibration media of {name}: {path} does not exist; give the camera's board "
                "video or image folder"
            )
    return {name: _stored_video_path(root, Path(path)) for name, path in media.items()}


def init_session(
    root: str | os.PathLike[str],
    cameras: Mapping[str, str | os.PathLike[str]],
    keypoints: Sequence[str],
    edges: Sequence[Sequence[str]] = (),
    individuals: Sequence[str] = ("individual_0",),
    fps: float | None = None,
    board_path: str | os.PathLike[str] | None = None,
    allow_frame_mismatch: bool = False,
    calibration_media: Mapping[str, str | os.PathLike[str]] | None = None,
) -> Session:
    """Create a session folder whose session.toml points at the cameras' videos.

    Every video must open; frame counts must agree unless ``allow_frame_mismatch``; ``fps``
    defaults to the videos' common frame rate. ``calibration_media``: camera name -> its board
    video or image folder (session.toml's ``[calibration] media``; each must exist).
    """
    root = Path(root)
    if SessionPaths(root).session_file.exists():
        raise SessionError(f"{root} is already a session; open it with `pose3d info {root}`")
    if not cameras:
        raise SessionError("a session needs at least one camera (--camera NAME=VIDEO)")
    videos = [probe_video(name, Path(path)) for name, path in cameras.items()]
    for video in videos:
        if video.error:
            raise SessionError(f"camera {video.camera}: {video.error}")
    counts = {v.n_frames for v in videos}
    if len(counts) > 1 and not allow_frame_mismatch:
        listing = ", ".join(f"{v.camera} ({v.path}): {v.n_frames}" for v in videos)
        raise SessionError(
            f"the videos have different frame counts: {listing}. Synchronized cameras should "
            "record the same number of frames; check the files, or pass --allow-frame-mismatch "
            "and set per-camera offsets in session.toml"
        )
    if fps is None:
        rates = {round(v.fps, 3) for v in videos if v.fps}
        if len(rates) > 1:
            raise SessionError(
                "the videos have different frame rates ("
                + ", ".join(f"{v.camera}: {v.fps}" for v in videos)
                + "); give the session's rate with --fps"
            )
        fps = rates.pop() if rates else None
    skeleton = Skeleton.from_lists(keypoints, edges)
    board = load_board(board_path) if board_path is not None else None
    media = _checked_media(root, calibration_media or {}, [v.camera for v in videos])
    specs = tuple(CameraSpec(v.camera, _stored_video_path(root, v.path), 0) for v in videos)
    session = Session(
        root, root.name, specs, skeleton, tuple(individuals), fps, board, calibration_media=media
    )
    save_session(session)
    return session


def _status(path: Path, read: Callable[[], str]) -> FileStatus:
    """A file's status: missing, its one-line summary, or why it cannot be read."""
    if not path.exists():
        return FileStatus(path, False)
    try:
        return FileStatus(path, True, read())
    except Pose3dError as exc:
        return FileStatus(path, True, problem=str(exc))


def _labels_summary(folder: SessionFolder) -> str:
    from pose3d.io.label_journal import LabelJournal, journal_path
    from pose3d.io.summary import LabelCounts

    counts = LabelCounts()
    for part in folder.labels_in_parts():  # a long recording in memory that does not grow
        counts.add(part)
    summary = counts.describe()
    journal = journal_path(folder.paths.labels)
    pending = LabelJournal(journal).lines
    if pending:
        summary += (
            f" (including {pending} edit(s) still in {journal.name}, folded into labels.nc at "
            "its next write)"
        )
    return summary


def _poses_summary(folder: SessionFolder) -> str:
    from pose3d.io.summary import PoseCounts

    counts = PoseCounts()
    for part in folder.poses_in_parts():  # a long recording in memory that does not grow
        counts.add(part)
    return counts.describe()


def _calibration_status(folder: SessionFolder) -> FileStatus:
    path = folder.paths.calibration
    if not path.exists():
        return FileStatus(path, False)
    try:
        group = folder.cameras()
    except Pose3dError as exc:
        return FileStatus(path, True, problem=str(exc))
    summary = f"{len(group)} cameras, unit {group.unit or 'unknown'}"
    missing = [n for n in folder.session.camera_names if n not in group.names]
    if missing:
        return FileStatus(
            path,
            True,
            summary,
            problem=f"{path}: camera(s) {', '.join(missing)} of the session are not in the "
            f"calibration (it has {', '.join(group.names)}); recalibrate or rename the cameras",
        )
    return FileStatus(path, True, summary)


def session_info(root: str | os.PathLike[str]) -> SessionInfo:
    """Everything ``pose3d info`` prints: videos, calibration, labels, poses and problems
    (read without taking the session's lock)."""
    folder = SessionFolder(root, write=False)
    videos = tuple(probe_video(name, v.path, v.offset) for name, v in folder.videos().items())
    return SessionInfo(
        folder.session,
        videos,
        _calibration_status(folder),
        _status(folder.paths.labels, lambda: _labels_summary(folder)),
        _status(folder.paths.poses, lambda: _poses_summary(folder)),
    )
