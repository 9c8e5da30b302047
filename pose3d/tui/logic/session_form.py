"""The New-session form's text -> the arguments of pose3d.pipeline.session.init_session (pure).

Cameras (and, optionally, their calibration media: board videos or image folders) one per line
as ``NAME=VIDEO`` (a video file or an image folder), keypoints and
individuals comma-separated, edges as ``a-b`` pairs, fps optional. Relative paths are taken from
``base`` (the folder the TUI was started in), as on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pose3d.errors import Pose3dError


@dataclass(frozen=True)
class NewSession:
    root: Path
    cameras: dict[str, Path]
    keypoints: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    individuals: tuple[str, ...]
    fps: float | None
    board: Path | None
    calibration_media: dict[str, Path]


def _names(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.replace("\n", ",").split(",") if item.strip())


def _path(text: str, base: Path) -> Path:
    path = Path(text.strip()).expanduser()
    return path if path.is_absolute() else base / path


def parse_new_session(
    root: str,
    cameras: str,
    keypoints: str,
    edges: str = "",
    individuals: str = "",
    fps: str = "",
    board: str = "",
    base: Path | None = None,
    calibration_media: str = "",
    skeleton: str = "",
) -> NewSession:
    """Check the form; raise Pose3dError saying which field is wrong and how to write it.
    ``skeleton``: a DeepLabCut config.yaml or SLEAP .slp whose keypoints, edges and individuals
    fill the fields left blank (pose3d.io.skeleton_files)."""
    base = base or Path.cwd()
    if not root.strip():
        raise Pose3dError("give the folder of the new session")
    found = _camera_lines(cameras, "camera", base)
    media = _camera_lines(calibration_media, "calibration media", base)
    unknown = [name for name in media if name not in found]
    if unknown:
        raise Pose3dError(
            f"calibration media for {', '.join(unknown)}, which is not one of the cameras "
            f"({', '.join(found) or 'none given'})"
        )
    if not found:
        raise Pose3dError("give at least one camera, one per line: NAME=VIDEO")
    names = _names(keypoints)
    spec = None
    if skeleton.strip():
        from pose3d.io.skeleton_files import read_skeleton

        spec = read_skeleton(_path(skeleton, base))
        if names:
            raise Pose3dError("give the keypoints or a file to take the skeleton from, not both")
        names = spec.keypoints
    if not names:
        raise Pose3dError("give the keypoints, comma-separated, e.g. nose, neck, tail_base")
    pairs = []
    for item in _names(edges):
        ends = item.split("-")
        if len(ends) != 2 or not all(e.strip() for e in ends):
            raise Pose3dError(f"edge {item!r} must be two keypoints joined by '-', e.g. nose-neck")
        pairs.append((ends[0].strip(), ends[1].strip()))
    rate = None
    if fps.strip():
        try:
            rate = float(fps)
        except ValueError:
            raise Pose3dError(f"fps must be a number, got {fps.strip()!r}") from None
    return NewSession(
        root=_path(root, base),
        cameras=found,
        keypoints=names,
        edges=tuple(pairs) or (spec.edges if spec is not None else ()),
        individuals=_names(individuals)
        or (spec.individuals if spec is not None else ())
        or ("individual_0",),
        fps=rate,
        board=_path(board, base) if board.strip() else None,
        calibration_media=media,
    )


def _camera_lines(text: str, what: str, base: Path) -> dict[str, Path]:
    """``NAME=PATH`` lines -> {name: path}; raises naming a malformed or repeated line."""
    found: dict[str, Path] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, video = line.partition("=")
        if not sep or not name.strip() or not video.strip():
            raise Pose3dError(
                f"{what} line {line.strip()!r} must be NAME=VIDEO, e.g. cam0=cam0.mp4"
            )
        if name.strip() in found:
            raise Pose3dError(f"{what}: camera {name.strip()!r} is given twice")
        found[name.strip()] = _path(video, base)
    return found
