"""``pose3d info`` as rich tables."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from pose3d.pipeline.session import FileStatus, SessionInfo


def _status(status: FileStatus) -> Text:
    if not status.exists:
        return Text("absent", style="dim")
    if status.problem:
        return Text("unusable", style="bold red")
    return Text(status.summary or "present", style="green")


def info_renderable(info: SessionInfo) -> Group:
    session = info.session
    header = Table.grid(padding=(0, 2))
    header.add_row("session", f"{session.name}  ({session.root})")
    header.add_row("fps", f"{session.fps:g}" if session.fps else "unknown")
    header.add_row(
        "keypoints", f"{len(session.skeleton.keypoints)}: " + ", ".join(session.skeleton.keypoints)
    )
    header.add_row("edges", str(len(session.skeleton.edges)))
    header.add_row("individuals", ", ".join(session.individuals))
    board = session.board
    header.add_row(
        "board",
        "none"
        if board is None
        else f"{type(board).__name__} "
        f"{board.squares_x}x{board.squares_y} squares of {board.square_length:g} {board.unit}",
    )

    cams = Table(title="cameras", title_justify="left")
    for column in ("camera", "video", "frames", "fps", "size", "offset"):
        cams.add_column(
            column, justify="right" if column in ("frames", "fps", "offset") else "left"
        )
    for v in info.videos:
        if v.error:
            cams.add_row(
                v.camera, str(v.path), Text("unreadable", style="red"), "", "", str(v.offset)
            )
            continue
        size = f"{v.size[0]}x{v.size[1]}" if v.size else ""
        fps = f"{v.fps:g}" if v.fps else "-"
        cams.add_row(v.camera, str(v.path), str(v.n_frames), fps, size, f"{v.offset:+d}")

    files = Table(title="files", title_justify="left")
    files.add_column("what")
    files.add_column("path")
    files.add_column("status")
    for what, status in (
        ("calibration", info.calibration),
        ("labels", info.labels),
        ("poses", info.poses),
    ):
        files.add_row(what, str(status.path.relative_to(session.root)), _status(status))

    parts: list[Table | Text] = [header, cams, files]
    for problem in info.problems:
        parts.append(Text(f"problem: {problem}", style="yellow"))
    return Group(*parts)


def print_session_info(info: SessionInfo, console: Console | None = None) -> None:
    (console or Console()).print(info_renderable(info))
