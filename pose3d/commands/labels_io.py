"""``pose3d import`` / ``pose3d export``: label files of DeepLabCut, SLEAP (docs/interop.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_import(args: argparse.Namespace) -> int:
    from pose3d.io.label_formats import import_labels, load_name_map
    from pose3d.io.session_toml import load_session

    session = load_session(args.session)
    name_map = load_name_map(args.map) if args.map is not None else None
    report = import_labels(session, args.view, args.file, args.as_, name_map)
    print(
        f"imported {report.file_format} file {report.path} into view {report.view}: "
        f"{report.frames} frames, {report.manual} manual points, {report.imported} pre-labels"
        + (f", {report.kept} left as they were (manual points there)" if report.kept else "")
    )
    print(f"wrote {session.labels_path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pose3d.io.label_formats import export_labels
    from pose3d.io.session_toml import load_session

    session = load_session(args.session)
    options = {"scorer": args.scorer} if args.scorer else {}
    written = export_labels(session, args.format, args.out, options)
    print(f"exported {len(written)} files to {args.out}")
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

    p = sub.add_parser("export", help="export a session's manual labels for another tool")
    p.add_argument("session", type=Path)
    p.add_argument("--format", required=True, help="dlc")
    p.add_argument("--scorer", help="dlc: the scorer of the project's config.yaml")
    p.add_argument("out", type=Path, help="folder to write (e.g. the DeepLabCut project folder)")
    p.set_defaults(func=cmd_export)
