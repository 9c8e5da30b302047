"""``pose3d review SESSION``: the review queue; ``pose3d edit SESSION ...``: one point edited.

The review loop of the TUI's Label screen (``f``, a click, ``h``, ``r``) from the command line,
for scripts and tests: list the flagged runs worst first, then place, hide, accept or delete
one point and re-track from it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pose3d.commands.parsing import TAPIR_SIDE_HELP, parse_tapir_side
from pose3d.commands.track import _lazy_progress_bar
from pose3d.tracking.registry import CHOICE_HELP, TRACKERS


def parse_xy(text: str) -> tuple[float, float]:
    x, sep, y = text.partition(",")
    try:
        if not sep:
            raise ValueError
        return float(x), float(y)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be X,Y in pixels, e.g. 312.5,140"
        ) from None


def cmd_review(args: argparse.Namespace) -> int:
    from pose3d.commands.parsing import parse_list
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.review import item_dict, queue

    views = parse_list(args.view) if args.view else None
    with SessionFolder(args.session, write=False) as folder:
        items = queue(folder, views)
    shown = items if args.limit is None else items[: args.limit]
    if args.json:
        listed = [item_dict(rank, item) for rank, item in enumerate(shown, 1)]
        document = {"runs": len(items), "items": listed}
        json.dump(document, sys.stdout, indent=1)
        print()
        return 0
    if not items:
        print("nothing is flagged for review")
        return 0
    print(f"{len(items)} runs flagged for review, worst first (each: one correction)")
    print(f"{'#':>4}  {'frames':<11} {'worst':>5}  {'view':<10} {'keypoint':<16} "
          f"{'individual':<12} {'score':>6}  reason")  # fmt: skip
    for rank, item in enumerate(shown, 1):
        frames = f"{item.frame}" if item.frames == 1 else f"{item.frame}-{item.last_frame}"
        print(
            f"{rank:>4}  {frames:<11} {item.worst_frame:>5}  {item.view:<10.10} "
            f"{item.keypoint:<16.16} "
            f"{item.individual:<12.12} {item.score:>6.1f}  {item.reason.name.lower()}"
        )
    if len(shown) < len(items):
        print(f"... {len(items) - len(shown)} more (--limit N, or --json)")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    from pose3d.label_cells import Cell
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.review import Action, edit_point, retrack
    from pose3d.tracking.registry import make_tracker

    if args.at is not None:
        action = Action.PLACE
    elif args.hidden:
        action = Action.HIDE
    elif args.accept:
        action = Action.ACCEPT
    else:
        action = Action.DELETE
    with SessionFolder(args.session) as folder:
        individual = args.individual or folder.session.individuals[0]
        cell = Cell(args.frame, args.view, args.keypoint, individual)
        done = edit_point(folder, cell, action, args.at)
        print(done.describe())
        if args.retrack:
            choice = make_tracker(args.tracker, tapir_side=args.tapir_side)
            if choice.notice:
                print(f"note: {choice.notice}")
            with _lazy_progress_bar() as progress:
                report = retrack(folder, args.view, args.frame, choice.tracker, progress=progress)
            print(
                f"{report.tracker}: re-tracked {args.view} from frame {args.frame}: "
                f"{report.tracked} points; {report.flagged} flagged, in {report.runs} runs"
                f"{report.repairs()}"
            )
        if done.written or args.retrack:
            print(f"wrote {folder.session.paths.labels}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("review", help="list the points flagged for review, worst first")
    p.add_argument("session", type=Path, help="session folder")
    p.add_argument("--view", help="only these cameras (a,b)")
    p.add_argument("--limit", type=int, help="show the N worst runs")
    p.add_argument("--json", action="store_true", help="print JSON (rank, frames, view, ...)")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser(
        "edit",
        help="place, hide, accept or delete one point of labels.nc (and re-track from it)",
    )
    p.add_argument("session", type=Path, help="session folder")
    p.add_argument("--frame", type=int, required=True, help="session frame")
    p.add_argument("--view", required=True, help="camera name")
    p.add_argument("--keypoint", required=True, help="keypoint name")
    p.add_argument("--individual", help="individual name (default: the first)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--at", type=parse_xy, metavar="X,Y", help="place (or move) the point here, in pixels"
    )
    what.add_argument("--hidden", action="store_true", help="the keypoint is not visible here")
    what.add_argument("--accept", action="store_true", help="the point there is right (manual)")
    what.add_argument("--delete", action="store_true", help="remove the point or hidden mark")
    p.add_argument(
        "--retrack", action="store_true", help="then re-track this camera from this frame"
    )
    p.add_argument(
        "--tracker",
        choices=tuple(TRACKERS),
        help=f"for --retrack; {CHOICE_HELP}",
    )
    p.add_argument("--tapir-side", type=parse_tapir_side, metavar="PX", help=TAPIR_SIDE_HELP)
    p.set_defaults(func=cmd_edit)
