"""``pose3d import`` (DeepLabCut, SLEAP labels) and ``pose3d export`` (a session as DeepLabCut,
Anipose, movement or NWB files); docs/interop.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from pose3d.io.formats import export_formats


def cmd_import(args: argparse.Namespace) -> int:
    from pose3d.io.label_formats import load_name_map
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.labels_io import import_labels

    name_map = load_name_map(args.map) if args.map is not None else None
    with SessionFolder(args.session) as folder:
        report = import_labels(folder, args.view, args.file, args.as_, name_map)
    print(
        f"imported {report.file_format} file {report.path} into view {report.view}: "
        f"{report.frames} frames, {report.manual} manual points, {report.imported} pre-labels"
        + (f", {report.kept} left as they were (manual points there)" if report.kept else "")
    )
    print(f"wrote {folder.paths.labels}")
    return 0


_OPTIONS = ("scorer", "individual", "start_time")  # given ones go to the exporter


def cmd_export(args: argparse.Namespace) -> int:
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.labels_io import export_session

    options = {key: getattr(args, key) for key in _OPTIONS if getattr(args, key) is not None}
    with SessionFolder(args.session, write=False) as folder:
        written = export_session(folder, args.format, args.out, options)
    if len(written) <= 10:
        for path in written:
            print(f"wrote {path}")
    noun = "file" if len(written) == 1 else "files"
    print(f"exported {len(written)} {noun} ({args.format}) to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import", help="import a DeepLabCut or SLEAP label file into one view of a session"
    )
    p.add_argument("session", type=Path)
    p.add_argument("--view", required=True, help="the camera the file labels")
    p.add_argument("file", type=Path, help="CollectedData_*.h5/.csv, DLC predictions, .slp, .h5")
    p.add_argument(
        "--as",
        dest="as_",
        choices=("labels", "prelabels"),
        help="labels: every point manual; prelabels: every point imported (never overwrites "
        "manual points); default: as the file says (hand labels manual, predictions imported)",
    )
    p.add_argument("--map", type=Path, help="TOML table renaming the file's keypoints")
    p.set_defaults(func=cmd_import)

    formats = export_formats()  # a static table: imports no format module
    p = sub.add_parser(
        "export", help="export a session for DeepLabCut, Anipose, movement or NWB (docs/interop.md)"
    )
    p.add_argument("session", type=Path)
    p.add_argument(
        "--format",
        required=True,
        metavar="|".join(formats),
        help="; ".join(f"{name}: {fmt.description}" for name, fmt in formats.items()),
    )
    p.add_argument("--scorer", help="dlc: the scorer of the project's config.yaml")
    p.add_argument("--individual", help="anipose, anipose-csv, dlc-h5: export this individual only")
    p.add_argument(
        "--start-time",
        dest="start_time",
        metavar="ISO8601",
        help="nwb: when the recording started, e.g. 2024-05-01T14:30:00+02:00 "
        "(default: the first video's modification time)",
    )
    p.add_argument(
        "out",
        type=Path,
        help="folder to write into (dlc: the DeepLabCut project; anipose: the Anipose session "
        "folder, gets pose-3d/; movement, nwb: any folder; existing files are never replaced), "
        "or the file to write (anipose-csv, dlc-h5)",
    )
    p.set_defaults(func=cmd_export)
