"""``SessionFolder``: a session folder opened for work, the one door to its files.

It reads session.toml, holds the session lock for its whole life (when opened for writing),
loads and saves every artefact (labels.nc with its edit journal, calibration.toml,
detections.nc, report.json, poses3d.nc, session.toml) and says, once, what to do when one is
missing. The session verbs (pose3d.pipeline.calibrate, .track, .triangulate, .labels_io) take a
SessionFolder; the TUI's workspace holds one while a session is open.

>>> with SessionFolder("demo_session") as folder:          # doctest: +SKIP
...     labels = folder.labels()
...     folder.save_labels(labels)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pose3d import schema as s
from pose3d.cameras import size_mismatches
from pose3d.errors import CalibrationError, Pose3dError, SessionError
from pose3d.io.lock import SessionLock
from pose3d.io.session_toml import load_session, save_session
from pose3d.session import Session, SessionPaths, ViewVideo

if TYPE_CHECKING:
    import xarray as xr

    from pose3d.board import Board
    from pose3d.calibration.detect import BoardDetections
    from pose3d.cameras import CameraGroup


class SessionFolder:
    """A session folder; ``write=True`` (the default) takes its lock until :meth:`close`.

    ``root`` is the folder (or its session.toml), or a `Session` already read. A read-only
    folder (``write=False``) loads but refuses to save; it takes no lock, so ``pose3d info`` and
    exports work while the TUI has the session open.
    """

    def __init__(self, root: str | os.PathLike[str] | Session, *, write: bool = True) -> None:
        self.session = root if isinstance(root, Session) else load_session(root)
        self.lock: SessionLock | None = None
        if write:
            self.lock = SessionLock(self.paths.root, self.paths.lock.name).acquire()

    @property
    def root(self) -> Path:
        return self.session.root

    @property
    def paths(self) -> SessionPaths:
        return self.session.paths

    @property
    def writable(self) -> bool:
        return self.lock is not None and self.lock.held

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> SessionFolder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- session.toml and the videos -----------------------------------------------------------

    def update_session(self, change: Callable[[Session], Session]) -> Session:
        """Read session.toml as it is on disk now, write ``change`` of it, and use that from
        now on: an edit made to the file since the folder was opened (by hand, in an editor)
        is kept, with the tables pose3d does not know. A file that no longer reads is refused
        with load_session's message (nothing is written)."""
        self._check_writable(self.paths.session_file)
        session = change(load_session(self.root))
        save_session(session)
        self.session = session
        return session

    def videos(self) -> dict[str, ViewVideo]:
        """Each camera's video and frame offset."""
        session = self.session
        return {c.name: ViewVideo(session.video_path(c.name), c.offset) for c in session.cameras}

    def session_frames(self) -> int:
        """Session frames 0 .. n - 1 that cover every camera's last frame (videos are opened)."""
        from pose3d.io.video_reading import VideoReader

        ends = []
        for video in self.videos().values():
            with VideoReader(video.path) as reader:
                ends.append(reader.n_frames + video.offset)
        return max(ends)

    # --- labels.nc -----------------------------------------------------------------------------

    def has_labels(self) -> bool:
        return self.paths.labels.is_file()

    def labels(self) -> xr.Dataset:
        """labels.nc, validated, with the edits of its journal replayed."""
        from pose3d.io.netcdf import load_labels

        if not self.has_labels():
            raise Pose3dError(
                f"{self.paths.labels} does not exist: session {self.root} has no labels yet; "
                f"label some keypoints first (pose3d tui {self.root}) or import them "
                "(pose3d import)"
            )
        labels = load_labels(self.paths.labels)
        self._check_labels(labels)
        return labels

    def labels_in_parts(self, frames: int | None = None) -> Iterator[xr.Dataset]:
        """labels.nc a stretch of ``frames`` frames at a time (default
        pose3d.io.netcdf.PART_FRAMES), each part what :meth:`labels` holds for those frames:
        for reading a long recording in memory that does not grow with it."""
        from pose3d.io.netcdf import PART_FRAMES, iter_labels

        if not self.has_labels():
            self.labels()  # says what to do
        for part in iter_labels(self.paths.labels, frames or PART_FRAMES):
            self._check_labels(part)
            yield part

    def _check_labels(self, labels: xr.Dataset) -> None:
        """labels.nc must name the session's cameras, keypoints and individuals (any order)."""
        session = self.session
        expected = {
            "views": (s.VIEW, session.camera_names, "cameras"),
            "keypoints": (s.KEYPOINT, session.skeleton.keypoints, "keypoints"),
            "individuals": (s.INDIVIDUAL, session.individuals, "individuals"),
        }
        for what, (dim, names, noun) in expected.items():
            found = [str(v) for v in labels[dim].values]
            if sorted(found) != sorted(names):
                raise Pose3dError(
                    f"{self.paths.labels} has {what} {', '.join(found)} but the session's "
                    f"{noun} are {', '.join(names)}; make session.toml name the same {noun} "
                    "(renaming there, or adding what is missing), or move labels.nc aside to "
                    "start new labels"
                )

    def labels_or_new(self) -> xr.Dataset:
        """labels.nc, or empty labels covering every camera's frames when there is none yet."""
        if self.has_labels():
            return self.labels()
        from pose3d.labels import new_labels

        session = self.session
        return new_labels(
            self.session_frames(),
            session.camera_names,
            session.skeleton.keypoints,
            session.individuals,
        )

    def save_labels(self, labels: xr.Dataset, keep_journal: bool = False) -> None:
        """Write labels.nc atomically (``keep_journal``: see pose3d.io.label_journal)."""
        from pose3d.io.netcdf import save_labels

        self._check_writable(self.paths.labels)
        save_labels(self.paths.labels, labels, keep_journal=keep_journal)

    # --- calibration/ --------------------------------------------------------------------------

    def has_calibration(self) -> bool:
        return self.paths.calibration.is_file()

    def cameras(self) -> CameraGroup:
        """calibration/calibration.toml; raises saying how to get one when it is missing, and
        when it was made for images of another size than the videos' (videos that cannot be
        read are not checked: triangulating needs only the labels)."""
        from pose3d.io.calibration_toml import load_calibration
        from pose3d.io.video_probe import frame_size

        if not self.has_calibration():
            raise Pose3dError(
                f"no calibration: {self.paths.calibration} is missing; calibrate the session "
                f"first (pose3d calibrate {self.root}) or copy an Anipose calibration.toml there"
            )
        cameras = load_calibration(self.paths.calibration)
        sizes = {}
        for name, video in self.videos().items():
            try:
                sizes[name] = frame_size(video.path)
            except Pose3dError:
                continue
        mismatch = size_mismatches(cameras, sizes)
        if mismatch:
            raise CalibrationError(f"{self.paths.calibration}: {mismatch}")
        return cameras

    def cameras_or_none(self) -> CameraGroup | None:
        """The calibration, or None when the session has none."""
        return self.cameras() if self.has_calibration() else None

    def board(self) -> Board:
        """The board: session.toml's [board] table, else calibration/board.toml."""
        from pose3d.io.board_toml import load_board

        if self.session.board is not None:
            return self.session.board
        if self.paths.board.is_file():
            return load_board(self.paths.board)
        raise CalibrationError(
            f"session {self.root} has no board: add a [board] table to session.toml or "
            f"write {self.paths.board} (`pose3d board list` shows ready specs)"
        )

    def calibration_media(self) -> dict[str, Path]:
        """Every camera's board video or image folder, in camera order; raises naming what is
        missing from session.toml's [calibration] table."""
        session = self.session
        media = session.calibration_media_paths()
        if not media:
            example = ", ".join(f'{n} = "calibration/{n}.mp4"' for n in session.camera_names)
            raise CalibrationError(
                f"{self.paths.session_file} lists no calibration media (each camera's board "
                f"video or image folder); add a table like\n[calibration]\nmedia = {{ {example} }}"
            )
        missing = [n for n in session.camera_names if n not in media]
        if missing:
            raise CalibrationError(
                f"{self.paths.session_file}: camera(s) {', '.join(missing)} have no calibration "
                "media in [calibration] media; every camera needs a board video or image folder"
            )
        return {n: media[n] for n in session.camera_names}

    def intrinsics_media(self, cameras: Sequence[str] | None = None) -> dict[str, Path]:
        """The board media of each camera in ``cameras`` (default: all) for its intrinsics
        alone: ``[calibration] intrinsics_media``, else its ``[calibration] media``; raises
        naming the cameras that have neither, or that the session does not have."""
        session = self.session
        names = list(session.camera_names if cameras is None else cameras)
        unknown = [n for n in names if n not in session.camera_names]
        if unknown:
            raise CalibrationError(
                f"camera(s) {', '.join(unknown)} are not in {self.paths.session_file}; its "
                f"cameras are {', '.join(session.camera_names)}"
            )
        media = {**session.calibration_media_paths(), **session.intrinsics_media_paths()}
        missing = [n for n in names if n not in media]
        if missing:
            raise CalibrationError(
                f"{self.paths.session_file}: camera(s) {', '.join(missing)} have no board media; "
                "add each camera's own board video or image folder, e.g.\n[calibration]\n"
                f'intrinsics_media = {{ {missing[0]} = "calibration/{missing[0]}_intrinsics" }}'
            )
        return {n: media[n] for n in names}

    def intrinsics_or_none(self) -> CameraGroup | None:
        """calibration/intrinsics.toml (each camera's intrinsics calibrated apart), or None."""
        from pose3d.io.calibration_toml import load_intrinsics

        path = self.paths.intrinsics
        return load_intrinsics(path) if path.is_file() else None

    def save_intrinsics(self, cameras: CameraGroup, report: dict[str, Any]) -> None:
        """calibration/intrinsics.toml and intrinsics.report.json."""
        from pose3d.io.atomic import atomic_write_text
        from pose3d.io.calibration_toml import save_calibration

        self._check_writable(self.paths.intrinsics)
        self.paths.calibration_dir.mkdir(exist_ok=True)
        save_calibration(self.paths.intrinsics, cameras)
        atomic_write_text(self.paths.intrinsics_report, json.dumps(report, indent=2) + "\n")

    def intrinsics_report(self) -> dict[str, Any] | None:
        """calibration/intrinsics.report.json, None when there is none."""
        return self._json_report(self.paths.intrinsics_report)

    def detections(self) -> BoardDetections:
        """calibration/detections.nc; raises saying how to make it when it is missing."""
        from pose3d.io.detections_nc import load_detections

        if not self.paths.detections.is_file():
            raise CalibrationError(
                f"{self.paths.detections} does not exist: calibrate the session from its board "
                f"media first (pose3d calibrate {self.root})"
            )
        return load_detections(self.paths.detections)

    def save_detections(self, detections: BoardDetections) -> None:
        from pose3d.io.detections_nc import save_detections

        self._check_writable(self.paths.detections)
        self.paths.calibration_dir.mkdir(exist_ok=True)
        save_detections(self.paths.detections, detections)

    def save_calibration(self, cameras: CameraGroup) -> None:
        from pose3d.io.calibration_toml import save_calibration

        self._check_writable(self.paths.calibration)
        self.paths.calibration_dir.mkdir(exist_ok=True)
        save_calibration(self.paths.calibration, cameras)

    def save_report(self, report: dict[str, Any]) -> None:
        """calibration/report.json (a calibration report's ``to_dict()``)."""
        from pose3d.io.atomic import atomic_write_text

        self._check_writable(self.paths.report)
        self.paths.calibration_dir.mkdir(exist_ok=True)
        atomic_write_text(self.paths.report, json.dumps(report, indent=2) + "\n")

    def report(self) -> dict[str, Any] | None:
        """calibration/report.json, None when there is none; raises saying why one cannot be
        read."""
        return self._json_report(self.paths.report)

    @staticmethod
    def _json_report(path: Path) -> dict[str, Any] | None:
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CalibrationError(
                f"{path} cannot be read ({exc}); calibrate again to write a new one"
            ) from None
        if not isinstance(data, dict):
            raise CalibrationError(f"{path} is not a calibration report; calibrate again")
        return data

    # --- poses3d.nc ----------------------------------------------------------------------------

    def has_poses(self) -> bool:
        return self.paths.poses.is_file()

    def poses(self) -> xr.Dataset:
        """poses3d.nc, validated; raises saying how to make it when it is missing."""
        from pose3d.io.netcdf import load_poses

        if not self.has_poses():
            raise Pose3dError(
                f"{self.paths.poses} does not exist: session {self.root} has no 3D poses yet; "
                f"run `pose3d triangulate {self.root}` first"
            )
        return load_poses(self.paths.poses)

    def poses_in_parts(self, frames: int | None = None) -> Iterator[xr.Dataset]:
        """poses3d.nc a stretch of ``frames`` frames at a time (pose3d.io.netcdf.iter_poses)."""
        from pose3d.io.netcdf import PART_FRAMES, iter_poses

        if not self.has_poses():
            self.poses()  # says what to do
        yield from iter_poses(self.paths.poses, frames or PART_FRAMES)

    def save_poses(self, poses: xr.Dataset) -> None:
        from pose3d.io.netcdf import save_poses

        self._check_writable(self.paths.poses)
        save_poses(self.paths.poses, poses)

    # --- internals -----------------------------------------------------------------------------

    def _check_writable(self, path: Path) -> None:
        if not self.writable:
            raise SessionError(
                f"cannot write {path}: session {self.root} was opened read-only (without its "
                "lock); open it with SessionFolder(root) to write"
            )
