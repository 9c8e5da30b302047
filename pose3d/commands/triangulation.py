"""``pose3d triangulate``, ``pose3d sync`` and ``pose3d export-3d``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pose3d.commands.parsing import parse_list
from pose3d.errors import Pose3dError
from pose3d.io.formats import Input, export_formats

if TYPE_CHECKING:
    from pose3d.triangulation import TriangulationSettings

POSES_ONLY: tuple[Input, ...] = ("poses",)  # what --export and export-3d have to export


def triangulation_settings_from_args(args: argparse.Namespace) -> TriangulationSettings:
    """The settings ``pose3d triangulate`` runs with (the TUI's 3D form is tested against it)."""
    from pose3d.triangulation import TriangulationSettings

    return TriangulationSettings.from_options(
        method=args.method,
        views=args.views,
        ransac_threshold=args.ransac_threshold,
        scale_smooth=args.scale_smooth,
        scale_length=args.scale_length,
        loss_scale=args.loss_scale,
        interpolate=args.interpolate,
        unit=args.unit,
    )


def cmd_triangulate(args: argparse.Namespace) -> int:
    standalone = (args.calibration, args.labels, args.out)
    if args.session is not None and any(standalone):
        raise Pose3dError(
            "give either a SESSION folder or --calibration, --labels and --out, not both"
        )
    if args.session is None and not all(standalone):
        raise Pose3dError(
            "give a SESSION folder, or all of --calibration FILE --labels FILE --out FILE"
        )
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.labels_io import export_poses
    from pose3d.pipeline.triangulate import triangulate_files, triangulate_session
    from pose3d.progress import progress_bar

    _check_exports(args)
    settings = triangulation_settings_from_args(args)
    with progress_bar() as progress:
        if args.session is not None:
            with SessionFolder(args.session) as folder:
                poses = triangulate_session(folder, settings, progress)
            out = folder.paths.poses
        else:
            poses = triangulate_files(
                args.calibration, args.labels, args.out, settings, fps=args.fps,
                progress=progress,
            )  # fmt: skip
            out = args.out
    _print_summary(poses, out)
    for format_name, path in args.export or []:
        for written in export_poses(poses, format_name, path, _export_options(args)):
            print(f"exported {written}")
    return 0


def _export_options(args: argparse.Namespace) -> dict[str, str]:
    return {} if args.individual is None else {"individual": args.individual}


def _check_exports(args: argparse.Namespace) -> None:
    """Refuse an ``--export`` format (or option) that cannot take the poses, before the work."""
    from pose3d.io.formats import exporter

    for format_name, _ in args.export or []:
        exporter(format_name, _export_options(args), inputs=POSES_ONLY)


def _print_summary(poses: object, out: Path) -> None:
    import numpy as np

    from pose3d import schema as s

    n_views = poses[s.N_VIEWS].values  # type: ignore[index]
    errors = poses[s.REPROJECTION_ERROR].values  # type: ignore[index]
    done = int((n_views > 0).sum())
    finite = errors[np.isfinite(errors)]
    median = f"{np.median(finite):.2f} px" if finite.size else "n/a"
    unit = poses[s.POSITION].attrs.get(s.ATTR_SPACE_UNIT, "unknown unit")  # type: ignore[index]
    print(
        f"wrote {out}: {done} of {n_views.size} points triangulated, median reprojection "
        f"error {median}, positions in {unit}"
    )


def cmd_sync(args: argparse.Namespace) -> int:
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.triangulate import sync_session
    from pose3d.progress import progress_bar
    from pose3d.schema import PointSource

    with SessionFolder(args.session) as folder, progress_bar() as progress:
        report = sync_session(
            folder,
            views=args.views,
            reference=args.reference,
            max_offset=args.max_offset,
            dry_run=args.dry_run,
            progress=progress,
        )
    result = report.result
    for name, correction in result.corrections.items():
        print(f"{name}: offset {report.offsets[name]:+d} (change {correction:+d} frames)")
    print(
        f"median reprojection error {result.error_before:.2f} px -> {result.error_after:.2f} px "
        f"(reference camera {result.reference})"
    )
    if result.kept_current:
        estimate = ", ".join(f"{name} {d:+d}" for name, d in result.estimate.items() if d)
        print(
            f"kept the current offsets: the estimate ({estimate} frames) gives "
            f"{result.error_estimate:.2f} px, no better than the current "
            f"{result.error_before:.2f} px"
        )
    for view, counts in report.dropped.items():
        lost = ", ".join(
            f"{n} {'unsourced' if source == PointSource.NONE else source.name.lower()}"
            for source, n in counts.items()
        )
        print(
            f"{view}: {lost} point(s) moved outside the labels' frames and "
            f"{'would be' if args.dry_run else 'were'} dropped"
        )
    if report.written:
        print(f"wrote the offsets to {args.session / 'session.toml'} and moved labels.nc")
    elif args.dry_run:
        print("dry run: nothing written")
    else:
        print("offsets unchanged: nothing written")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.format is None:
        raise Pose3dError(
            f"name the format of {args.out}: --format "
            f"{'|'.join(export_formats(POSES_ONLY))} (the file's suffix does not choose it)"
        )
    from pose3d.pipeline.labels_io import export_poses_file

    for path in export_poses_file(args.poses, args.format, args.out, _export_options(args)):
        print(f"exported {path}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("triangulate", help="2D labels -> 3D poses (poses3d.nc)")
    p.add_argument("session", type=Path, nargs="?", help="session folder")
    p.add_argument("--calibration", type=Path, help="calibration.toml (without a session)")
    p.add_argument("--labels", type=Path, help="labels.nc (without a session)")
    p.add_argument("--out", type=Path, help="poses3d.nc to write (without a session)")
    p.add_argument("--fps", type=float, help="frame rate (without a session)")
    p.add_argument("--method", choices=("dlt", "ransac", "optim"), default="dlt")
    p.add_argument("--views", type=parse_list, help="comma-separated cameras (default: all)")
    p.add_argument("--unit", help="unit the calibration must be in, e.g. mm")
    p.add_argument(
        "--interpolate", action="store_true", help="fill gaps between triangulated frames"
    )
    p.add_argument("--ransac-threshold", type=float, default=10.0, metavar="PX")
    p.add_argument("--scale-smooth", type=float, default=2.0, help="optim: smoothness weight")
    p.add_argument("--scale-length", type=float, default=2.0, help="optim: bone-length weight")
    p.add_argument("--loss-scale", type=float, default=5.0, metavar="PX", help="optim: robust loss")
    p.add_argument(
        "--export",
        action="append",
        nargs=2,
        metavar=("FORMAT", "OUT"),
        help="also export the poses: FORMAT is one of "
        f"{', '.join(export_formats(POSES_ONLY))} (as pose3d export-3d); repeatable",
    )
    p.add_argument("--individual", help="the individual to export (anipose-csv, dlc-h5)")
    p.set_defaults(func=cmd_triangulate)

    p = sub.add_parser("sync", help="estimate camera frame offsets from the labels")
    p.add_argument("session", type=Path)
    p.add_argument("--max-offset", type=int, default=10, metavar="N", help="search +-N frames")
    p.add_argument("--views", type=parse_list, help="comma-separated cameras (default: all)")
    p.add_argument("--reference", help="camera whose offset stays (default: the first)")
    p.add_argument("--dry-run", action="store_true", help="print the offsets, write nothing")
    p.set_defaults(func=cmd_sync)

    formats = export_formats(POSES_ONLY)  # a static table: imports no format module
    p = sub.add_parser(
        "export-3d",
        help="one poses3d.nc without its session -> the format you name: "
        f"{', '.join(formats)} (pose3d export SESSION --format ... exports a whole session)",
    )
    p.add_argument("poses", type=Path, help="poses3d.nc")
    p.add_argument(
        "--format",
        metavar="|".join(formats),
        help="; ".join(f"{name}: {fmt.description}" for name, fmt in formats.items()),
    )
    p.add_argument("out", type=Path, help="the file (anipose-csv, dlc-h5) or folder to write")
    p.add_argument("--individual", help="the individual to export (anipose-csv, dlc-h5)")
    p.set_defaults(func=cmd_export)
