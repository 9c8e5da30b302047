"""``pose3d calibrate``: a session, or standalone media with a board spec."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pose3d.commands.parsing import parse_camera, parse_list
from pose3d.errors import Pose3dError

if TYPE_CHECKING:
    from pose3d.calibration.report import CalibrationReport


def print_report(report: CalibrationReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"calibration (world frame: {report.reference}, unit: {report.unit})")
    columns = ("camera", "lens", "RMS px", "frames", "corners", "fx", "fy", "cx", "cy", "k1")
    for column in columns:
        table.add_column(column, justify="left" if column in ("camera", "lens") else "right")
    for c in report.cameras:
        table.add_row(
            c.name,
            c.model,
            f"{c.rms_px:.3f}",
            str(c.frames_used),
            str(c.corners_used),
            f"{c.fx:.1f}",
            f"{c.fy:.1f}",
            f"{c.cx:.1f}",
            f"{c.cy:.1f}",
            f"{c.distortions[0]:+.4f}",
        )
    console = Console()
    console.print(table)
    square = report.square
    if square is not None:
        console.print(
            f"square length: median {square.median:.3f} {report.unit}, std {square.std:.3f} "
            f"(true {square.true_length:g}; {square.n_pairs} neighbouring corner pairs)"
        )
    if report.trusted:
        console.print("[green]verdict: trust this calibration[/green]")
    for warning in report.warnings:
        console.print(f"[yellow]warning: {warning}[/yellow]")


def cmd_calibrate(args: argparse.Namespace) -> int:
    from pose3d.pipeline.calibrate import calibrate_media, calibrate_session
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.progress import progress_bar

    fisheye = args.fisheye if isinstance(args.fisheye, bool) else parse_list(args.fisheye)
    if not args.targets:
        hint = (
            f"; --fisheye took {args.fisheye!r} as its camera names: write --fisheye last, or "
            "--fisheye=cam1,cam3"
            if not isinstance(args.fisheye, bool)
            else ""
        )
        raise Pose3dError(
            "give a SESSION folder, or --board BOARD.toml --out calibration.toml NAME=PATH..."
            + hint
        )
    options = {
        "step": args.step,
        "reference": args.reference,
        "origin_frame": args.origin_frame,
        "fisheye": fisheye,
    }
    if args.board is None:
        if len(args.targets) != 1 or "=" in args.targets[0]:
            raise Pose3dError(
                "give a SESSION folder, or --board BOARD.toml --out calibration.toml NAME=PATH..."
            )
        with SessionFolder(args.targets[0]) as folder, progress_bar() as progress:
            result = calibrate_session(folder, progress=progress, **options)
        written = folder.paths.calibration_dir
    else:
        from pose3d.io.board_toml import load_board

        if args.out is None or not args.targets:
            raise Pose3dError("with --board, give --out calibration.toml and NAME=PATH per camera")
        media = {}
        for text in args.targets:
            name, path = parse_camera(text)
            if name in media:
                raise Pose3dError(f"camera {name!r} is given twice")
            media[name] = Path(path)
        with progress_bar() as progress:
            result = calibrate_media(
                media, load_board(args.board), args.out, progress=progress, **options
            )
        written = Path(args.out)
    print_report(result.report)
    print(f"wrote {written}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "calibrate",
        help="calibrate the camera rig from board videos or image folders",
        description=(
            "pose3d calibrate SESSION, or pose3d calibrate --board BOARD.toml --out "
            "calibration.toml NAME=PATH [NAME=PATH ...] where PATH is a video or a folder of "
            "synchronized images (image k of every camera shows the same instant)."
        ),
    )
    p.add_argument("targets", nargs="*", metavar="SESSION | NAME=PATH")
    p.add_argument("--board", type=Path, help="board spec (TOML) for standalone media")
    p.add_argument("--out", type=Path, help="calibration.toml to write (standalone)")
    p.add_argument("--step", type=int, help="look at every N-th frame (default: ~300 frames)")
    p.add_argument("--reference", help="camera that defines the world frame (default: first)")
    p.add_argument(
        "--origin-frame", type=int, help="put the world frame at the board in this media frame"
    )
    p.add_argument(
        "--fisheye",
        nargs="?",
        const=True,
        default=False,
        metavar="CAM1,CAM3",
        help="OpenCV's fisheye lens model for every camera, or for the cameras named "
        "(default: the pinhole model)",
    )
    p.set_defaults(func=cmd_calibrate)
