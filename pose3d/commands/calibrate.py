"""``pose3d calibrate``: a session, or standalone media with a board spec."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pose3d.commands.parsing import parse_camera, parse_list
from pose3d.errors import Pose3dError

if TYPE_CHECKING:
    from pose3d.calibration.refine import Refinement
    from pose3d.calibration.report import CalibrationReport
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.progress import ProgressCallback


def print_report(report: CalibrationReport) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    def spread(value: float, std: float | None) -> str:
        return f"{value:.1f}" if std is None else f"{value:.1f}±{std:.1f}"

    table = Table(
        title=f"calibration (world frame: {report.reference}, unit: {report.unit})",
        caption="RMS reprojection error, fx fy cx cy in px, ± one standard deviation; pts: "
        "corners used; tilt: "
        "the board's, median/largest (degrees); distortions in the report",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
    )
    lens = any(c.model != "pinhole" for c in report.cameras)  # a column only for a mixed rig
    columns = ("camera", *(("lens",) if lens else ()), "RMS", "views", "pts", "fx",
               "fy", "cx", "cy", "tilt°")  # fmt: skip
    for column in columns:
        left = column in ("camera", "lens")
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    for c in report.cameras:
        tilt = (
            "-"
            if c.tilt_median_deg is None or c.tilt_max_deg is None
            else f"{c.tilt_median_deg:.0f}/{c.tilt_max_deg:.0f}"
        )
        table.add_row(
            c.name,
            *((c.model,) if lens else ()),
            f"{c.rms_px:.3f}",
            str(c.frames_used),
            str(c.corners_used),
            spread(c.fx, c.fx_std),
            spread(c.fy, c.fy_std),
            spread(c.cx, c.cx_std),
            spread(c.cy, c.cy_std),
            tilt,
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
    for note in report.notes:
        console.print(f"note: {note}")


def cmd_calibrate(args: argparse.Namespace) -> int:
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
    _refuse_misplaced_options(args)
    if args.board is None:
        if len(args.targets) != 1 or "=" in args.targets[0]:
            raise Pose3dError(
                "give a SESSION folder, or --board BOARD.toml --out calibration.toml NAME=PATH..."
            )
        with SessionFolder(args.targets[0]) as folder, progress_bar() as progress:
            if args.refine_from_labels:
                return _refine(folder, args, progress)
            if args.intrinsics_only:
                _session_intrinsics(folder, args, fisheye, progress)
                return 0
            _session_rig(folder, args, fisheye, progress)
        return 0
    from pose3d.io.board_toml import load_board

    if args.out is None or not args.targets:
        raise Pose3dError("with --board, give --out calibration.toml and NAME=PATH per camera")
    media = _media(args.targets)
    with progress_bar() as progress:
        if args.intrinsics_only:
            from pose3d.pipeline.calibrate import calibrate_media_intrinsics

            done = calibrate_media_intrinsics(
                media, load_board(args.board), args.out, args.step, progress, None, fisheye
            )
            print_report(done.report)
            print(f"wrote {args.out} (intrinsics only)")
            print(_next_step_standalone(args.out))
            return 0
        from pose3d.pipeline.calibrate import calibrate_media

        result = calibrate_media(
            media,
            load_board(args.board),
            args.out,
            progress=progress,
            step=args.step,
            reference=args.reference,
            origin_frame=args.origin_frame,
            fisheye=fisheye,
            intrinsics=args.intrinsics,
        )
    print_report(result.report)
    if args.intrinsics is not None:
        print(f"intrinsics held from {args.intrinsics}")
    print(f"wrote {args.out}")
    return 0


def _refine(folder: SessionFolder, args: argparse.Namespace, progress: ProgressCallback) -> int:
    from pose3d.pipeline.refine import refine_session_calibration

    result = refine_session_calibration(folder, args.refine_intrinsics, progress)
    print_refinement(result)
    if not result.accepted:
        for problem in result.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(
            f"error: the refinement was not written; {folder.paths.calibration} is unchanged "
            f"(figures in {folder.paths.refine_report})",
            file=sys.stderr,
        )
        return 1
    print(
        f"wrote {folder.paths.calibration} (the previous one is {folder.paths.before_refine}; "
        f"figures in {folder.paths.refine_report})"
    )
    return 0


UNCHANGED = 0.05  # a refinement moving the disagreement by less than this share changed nothing


def print_refinement(result: Refinement) -> None:
    from rich.console import Console
    from rich.table import Table

    what = "extrinsics and intrinsics" if result.intrinsics_refined else "extrinsics"
    table = Table(title=f"refinement of the {what} from {result.n_points} labelled points")
    for column in ("camera", "board RMS px", "keypoints px", "points"):
        table.add_column(column, justify="left" if column == "camera" else "right")
    for name, before in result.before.items():
        after = result.after[name]
        table.add_row(
            name,
            f"{before.board_rms_px:.2f} -> {after.board_rms_px:.2f}",
            f"{before.keypoint_median_px:.2f} -> {after.keypoint_median_px:.2f}",
            str(after.n_keypoints),
        )
    console = Console()
    console.print(table)
    console.print(
        "keypoints px: the median distance of each labelled point to the reprojection of its "
        "triangulation from the other views; "
        f"over all views {result.disagreement('before'):.2f} -> "
        f"{result.disagreement('after'):.2f} px"
    )
    ranked = sorted(result.keypoints_before.items(), key=lambda item: item[1])
    if ranked:
        worst = ", ".join(f"{name} {px:.1f} px" for name, px in ranked[::-1][:3])
        best = ", ".join(f"{name} {px:.1f} px" for name, px in ranked[:3])
        console.print(f"keypoints the views disagree on most: {worst}; least: {best}")
    was, now = result.disagreement("before"), result.disagreement("after")
    if result.accepted and abs(was - now) < UNCHANGED * was:
        console.print(
            "note: the labels barely moved the calibration: weighed by how well they agree with "
            "each other, they say less than the board; the views' disagreement lies in the "
            "labels (a keypoint placed at different spots in different views), not in the "
            "calibration"
        )


def _refuse_misplaced_options(args: argparse.Namespace) -> None:
    if args.refine_from_labels and (
        args.board is not None or args.intrinsics_only or args.refit_intrinsics
    ):
        raise Pose3dError(
            "--refine-from-labels refines a session's calibration (pose3d calibrate SESSION "
            "--refine-from-labels); it takes neither standalone media nor --intrinsics-only"
        )
    if args.refine_intrinsics and not args.refine_from_labels:
        raise Pose3dError("--refine-intrinsics goes with --refine-from-labels")
    if args.intrinsics_only and (args.reference or args.origin_frame is not None):
        raise Pose3dError(
            "--intrinsics-only calibrates each camera alone: it has no world frame, so "
            "--reference and --origin-frame belong to the rig's calibration that follows"
        )
    if args.intrinsics is not None and (args.board is None or args.intrinsics_only):
        raise Pose3dError(
            "--intrinsics FILE is for standalone media (--board ... --out ...); a session uses "
            "its calibration/intrinsics.toml (pose3d calibrate SESSION --intrinsics-only)"
        )
    if args.cameras is not None and not (args.intrinsics_only and args.board is None):
        raise Pose3dError(
            "--cameras chooses the cameras of a session whose intrinsics to calibrate: use it "
            "with pose3d calibrate SESSION --intrinsics-only"
        )
    if args.refit_intrinsics and (args.intrinsics_only or args.board is not None):
        raise Pose3dError(
            "--refit-intrinsics is for a session's rig calibration: it ignores "
            "calibration/intrinsics.toml and calibrates the intrinsics from the shared media"
        )


def _media(targets: list[str]) -> dict[str, Path]:
    media: dict[str, Path] = {}
    for text in targets:
        name, path = parse_camera(text)
        if name in media:
            raise Pose3dError(f"camera {name!r} is given twice")
        media[name] = Path(path)
    return media


def _session_intrinsics(
    folder: SessionFolder,
    args: argparse.Namespace,
    fisheye: bool | list[str],
    progress: ProgressCallback,
) -> None:
    from pose3d.pipeline.calibrate import calibrate_session_intrinsics

    cameras = parse_list(args.cameras) if args.cameras else None
    done = calibrate_session_intrinsics(folder, cameras, args.step, progress, None, fisheye)
    print_report(done.report)
    print(f"wrote {folder.paths.intrinsics} (intrinsics only)")
    print(
        f"next: pose3d calibrate {folder.root} calibrates the rig from [calibration] media "
        "with these intrinsics held fixed"
    )


def _session_rig(
    folder: SessionFolder,
    args: argparse.Namespace,
    fisheye: bool | list[str],
    progress: ProgressCallback,
) -> None:
    from pose3d.pipeline.calibrate import calibrate_session

    result = calibrate_session(
        folder,
        step=args.step,
        reference=args.reference,
        origin_frame=args.origin_frame,
        progress=progress,
        fisheye=fisheye,
        refit_intrinsics=args.refit_intrinsics,
    )
    print_report(result.report)
    if folder.paths.intrinsics.is_file() and not args.refit_intrinsics:
        given = folder.intrinsics_or_none()
        names = set() if given is None else set(given.names)
        held = [c.name for c in result.report.cameras if c.name in names]
        print(f"intrinsics of {', '.join(held)} held from {folder.paths.intrinsics}")
    print(f"wrote {folder.paths.calibration_dir}")


def _next_step_standalone(out: Path) -> str:
    return (
        "next: pose3d calibrate --board BOARD.toml --out calibration.toml "
        f"--intrinsics {out} NAME=PATH ... (the shared recording)"
    )


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
        "--intrinsics-only",
        action="store_true",
        help="calibrate each camera's intrinsics alone, from its own board media (a session's "
        "[calibration] intrinsics_media, else its media; or NAME=PATH each filmed apart); "
        "writes calibration/intrinsics.toml (or --out), which the rig's calibration then holds "
        "fixed",
    )
    p.add_argument(
        "--cameras",
        metavar="CAM1,CAM3",
        help="with SESSION --intrinsics-only: only these cameras (the others already in "
        "calibration/intrinsics.toml are kept)",
    )
    p.add_argument(
        "--intrinsics",
        type=Path,
        metavar="FILE",
        help="standalone media: hold the intrinsics of the cameras in FILE fixed (written by "
        "--intrinsics-only, or any calibration.toml)",
    )
    p.add_argument(
        "--refit-intrinsics",
        action="store_true",
        help="SESSION: calibrate the intrinsics from the shared media even where "
        "calibration/intrinsics.toml has them",
    )
    p.add_argument(
        "--refine-from-labels",
        action="store_true",
        help="SESSION: refine the calibration's extrinsics from the manual and imported points "
        "of labels.nc, the board detections kept as the prior; written only if no camera's "
        "board RMS grows beyond 1.5x",
    )
    p.add_argument(
        "--refine-intrinsics",
        action="store_true",
        help="with --refine-from-labels: refine the intrinsics too",
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
