"""``pose3d tui [SESSION]``: the terminal UI (Textual)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pose3d.commands.parsing import TAPIR_SIDE_HELP, parse_tapir_side
from pose3d.tracking.registry import CHOICE_HELP, TRACKERS


def cmd_tui(args: argparse.Namespace) -> int:
    if args.keys:
        from pose3d.tui import keymap_text

        print(keymap_text(), end="")
        return 0
    from pose3d.tui.app import Pose3dApp

    Pose3dApp(
        args.session, tracker=args.tracker, read_only=args.read_only, tapir_side=args.tapir_side
    ).run()
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tui",
        help="the terminal UI: sessions, synchronized camera views, labelling",
        description="Open the terminal UI. With SESSION, open that session's views directly; "
        "without, choose one from the recent sessions. Keys: pose3d tui --keys (docs/tui.md).",
    )
    p.add_argument("session", type=Path, nargs="?", help="session folder to open")
    p.add_argument("--keys", action="store_true", help="print every screen's keys and exit")
    p.add_argument(
        "--read-only",
        action="store_true",
        help="look without changing anything (no lock is taken: a session another pose3d is "
        "editing can be looked at; edits, propagation, calibration and triangulation are refused)",
    )
    p.add_argument(
        "--tracker",
        choices=tuple(TRACKERS),
        help=f"tracker of propagate; {CHOICE_HELP}",
    )
    p.add_argument("--tapir-side", type=parse_tapir_side, metavar="PX", help=TAPIR_SIDE_HELP)
    p.set_defaults(func=cmd_tui)
