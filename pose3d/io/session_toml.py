"""session.toml: the description of a session folder.

::

    name = "mouse_day1"
    fps = 30.0
    keypoints = ["nose", "neck", "tail_base"]
    edges = [["nose", "neck"], ["neck", "tail_base"]]
    individuals = ["mouse"]

    [[cameras]]
    name = "cam0"
    video = "videos/cam0.mp4"   # relative to the session folder, or absolute
    offset = 0                  # camera frame i is session frame i + offset (|offset| < 10**7)

    [board]                     # optional; see pose3d.io.board_toml
    type = "charuco"
    ...

    [calibration]               # optional: each camera's board video or image folder
    media = { cam0 = "calibration/cam0/board.mp4" }
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pose3d.board import Board
from pose3d.errors import Pose3dError, SessionError
from pose3d.io.board_toml import board_from_dict, board_to_dict
from pose3d.io.toml_file import is_number, names, read_toml, require, short, write_toml
from pose3d.session import MAX_FPS, SESSION_FILE, CameraSpec, Session
from pose3d.skeleton import Skeleton

KNOWN_KEYS = {"name", "fps", "keypoints", "edges", "individuals", "cameras", "board", "calibration"}


def session_from_dict(root: Path, data: dict[str, Any], where: str) -> Session:
    try:
        cameras = _cameras(require(data, "cameras", list, where), where)
        skeleton = Skeleton.from_lists(
            names(require(data, "keypoints", list, where), "keypoints", where),
            _edges(data.get("edges", []), where),
        )
        fps = data.get("fps")
        if fps is not None and not is_number(fps):
            raise SessionError(f"{where}: fps must be a number, got {short(fps)}")
        if fps is not None and abs(fps) > MAX_FPS:  # before float(), which 10**400 overflows
            raise SessionError(f"{where}: fps must be at most {MAX_FPS:g}, got {short(fps)}")
        board = _board(data["board"], where) if "board" in data else None
        individuals = data.get("individuals", ["individual_0"])
        if not isinstance(individuals, list) or not all(isinstance(i, str) for i in individuals):
            # a bare string would otherwise become one individual per letter
            raise SessionError(
                f"{where}: individuals must be a list of names, got {short(individuals)}"
            )
        name = data.get("name", root.name)
        if not isinstance(name, str):
            raise SessionError(
                f"{where}: name must be the session's name in quotes, got {short(name)}"
            )
        media = _calibration_media(data.get("calibration", {}), where, "media")
        intrinsics_media = _calibration_media(
            data.get("calibration", {}), where, "intrinsics_media"
        )
        extra = {k: v for k, v in data.items() if k not in KNOWN_KEYS}
        return Session(
            root=root,
            name=name,
            cameras=tuple(cameras),
            skeleton=skeleton,
            individuals=tuple(individuals),
            fps=None if fps is None else float(fps),
            board=board,
            calibration_media=media,
            intrinsics_media=intrinsics_media,
            extra=extra,
        )
    except Pose3dError as exc:  # SessionError too: Session names the folder, not session.toml
        message = str(exc)
        raise SessionError(
            message if message.startswith(where) else f"{where}: {message}"
        ) from None


def _cameras(tables: list[Any], where: str) -> list[CameraSpec]:
    cameras = []
    for i, cam in enumerate(tables):
        at = f"{where}, cameras[{i}]"
        if not isinstance(cam, dict):
            raise SessionError(f"{at}: expected a table with name, video, offset")
        offset = cam.get("offset", 0)
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise SessionError(
                f"{at}: offset must be a whole number of frames, got {short(offset)}"
            )
        try:
            cameras.append(
                CameraSpec(require(cam, "name", str, at), require(cam, "video", str, at), offset)
            )
        except Pose3dError as exc:  # CameraSpec knows the value, not where it was written
            message = str(exc)
            raise SessionError(message if message.startswith(at) else f"{at}: {message}") from None
    return cameras


def _edges(edges: object, where: str) -> list[tuple[str, str]]:
    """``edges = [["nose", "neck"], ...]``: a list of pairs of keypoint names."""
    example = 'e.g. edges = [["nose", "neck"], ["neck", "tail"]]'
    if not isinstance(edges, list):
        raise SessionError(
            f"{where}: edges must be a list of keypoint pairs, {example}; got {short(edges)}"
        )
    pairs = []
    for i, edge in enumerate(edges):
        if (
            not isinstance(edge, list)
            or len(edge) != 2
            or not all(isinstance(k, str) for k in edge)
        ):
            raise SessionError(
                f"{where}: edges[{i}] must be a pair of keypoint names, {example}; got "
                f"{short(edge)}"
            )
        pairs.append((edge[0], edge[1]))
    return pairs


def _board(table: object, where: str) -> Board:
    if not isinstance(table, dict):
        raise SessionError(
            f"{where}: board must be a [board] table (type, squares_x, squares_y, "
            f"square_length, ...), got board = {short(table)}"
        )
    return board_from_dict(table, f"{where} [board]")


def _calibration_media(table: object, where: str, key: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise SessionError(f"{where}: [calibration] must be a table")
    media = table.get(key, {})
    if not isinstance(media, dict) or not all(isinstance(v, str) for v in media.values()):
        raise SessionError(
            f"{where}: [calibration] {key} must map camera names to paths, e.g. "
            f'{key} = {{ cam0 = "calibration/cam0.mp4" }}'
        )
    return {str(k): v for k, v in media.items()}


def session_to_dict(session: Session) -> dict[str, Any]:
    data: dict[str, Any] = {"name": session.name}
    if session.fps is not None:
        data["fps"] = session.fps
    data["keypoints"] = list(session.skeleton.keypoints)
    data["edges"] = [list(e) for e in session.skeleton.edges]
    data["individuals"] = list(session.individuals)
    data.update(session.extra)
    data["cameras"] = [
        {"name": c.name, "video": c.video, "offset": c.offset} for c in session.cameras
    ]
    if session.board is not None:
        data["board"] = board_to_dict(session.board)
    calibration = {}
    if session.calibration_media:
        calibration["media"] = dict(session.calibration_media)
    if session.intrinsics_media:
        calibration["intrinsics_media"] = dict(session.intrinsics_media)
    if calibration:
        data["calibration"] = calibration
    return data


def load_session(root: str | os.PathLike[str]) -> Session:
    """Read ``root/session.toml`` (``root`` may also be the session.toml path itself)."""
    path = Path(root)
    if path.name == SESSION_FILE and path.is_file():
        path = path.parent
    toml_path = path / SESSION_FILE
    if not path.is_dir():
        raise SessionError(f"session folder {path} does not exist")
    if not toml_path.is_file():
        raise SessionError(
            f"{path} is not a pose3d session: {SESSION_FILE} is missing; create one with "
            "`pose3d init` or `pose3d sample-data`"
        )
    try:
        data = read_toml(toml_path, "session file")
    except Pose3dError as exc:  # missing or malformed: one SessionError, as for every other case
        raise SessionError(str(exc)) from None
    return session_from_dict(path, data, str(toml_path))


def save_session(session: Session) -> None:
    """Write ``session.toml`` atomically into ``session.root`` (created if needed)."""
    try:
        session.root.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise SessionError(
            f"cannot create session folder {session.root}: permission denied"
        ) from None
    write_toml(session.session_file, session_to_dict(session), header="pose3d session")
