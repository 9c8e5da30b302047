"""``pose3d track SESSION --view NAME|all --frames A:B``: propagate manual labels by tracking."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from pose3d.commands.parsing import TAPIR_SIDE_HELP, parse_list, parse_tapir_side
from pose3d.progress import ProgressCallback
from pose3d.tracking.registry import CHOICE_HELP, TRACKERS


def parse_frames(text: str) -> tuple[int | None, int | None]:
    """``"A:B"`` -> ``(A, B)`` session frames, B excluded; ``"A:"`` / ``":B"`` / ``":"`` leave
    that end open."""
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return (int(start) if start.strip() else None, int(stop) if stop.strip() else None)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"frames {text!r} must be A:B (session frames, B excluded), e.g. 0:120"
        ) from None


def parse_frame_list(text: str) -> list[int]:
    try:
        return [int(item) for item in parse_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be frame numbers, e.g. 40,85") from None


@contextlib.contextmanager
def _lazy_progress_bar() -> Iterator[ProgressCallback]:
    """A progress bar that appears at the first update, so that an input error stays one line."""
    from pose3d.progress import progress_bar

    with contextlib.ExitStack() as stack:
        bar: list[ProgressCallback] = []

        def update(step: str, done: int, total: int) -> None:
            if not bar:
                bar.append(stack.enter_context(progress_bar()))
            bar[0](step, done, total)

        yield update


def cmd_track(args: argparse.Namespace) -> int:
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.track import propagate
    from pose3d.tracking.registry import make_trackers

    with SessionFolder(args.session) as folder, _lazy_progress_bar() as progress:
        session = folder.session
        views = "all" if args.view == "all" else parse_list(args.view)
        choice, second = make_trackers(
            args.tracker, args.second_opinion, tapir_side=args.tapir_side
        )
        report = propagate(
            folder,
            views,
            args.frames,
            choice.tracker,
            keypoints=args.keypoints,
            from_frames=args.from_frames,
            second=second,
            progress=progress,
        )
    start, stop = report.frames
    if choice.notice:
        print(f"note: {choice.notice}")
    used = (choice.tracker.name, None if second is None else second.name)
    if args.tapir_side is not None and "tapir" not in used:
        print(f"note: --tapir-side applies to the tapir tracker only; {report.tracker} ignored it")
    opinion = f" (second opinion: {second.name})" if second is not None else ""
    print(
        f"{report.tracker}: tracked {report.tracked} points of {', '.join(report.views)} in "
        f"frames {start}:{stop} from {report.queries} manual points; {report.flagged} flagged "
        f"for review{opinion}, in {report.runs} runs (one correction each){report.repairs()}"
    )
    for view in report.skipped:
        print(f"{view}: no manual labels in frames {start}:{stop}, not tracked")
    if report.multiview is not None and report.multiview.advisory:
        print(f"note: {report.multiview.describe(str(session.paths.calibration))}")
    print(f"wrote {session.paths.labels}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "track",
        help="propagate manual labels through the videos (point tracker) and flag for review",
    )
    p.add_argument("session", type=Path, help="session folder")
    p.add_argument("--view", required=True, help="a camera name, several (a,b), or all")
    p.add_argument(
        "--frames", type=parse_frames, metavar="A:B", help="session frames A to B-1 (default all)"
    )
    p.add_argument(
        "--tracker",
        choices=tuple(TRACKERS),
        help=CHOICE_HELP,
    )
    p.add_argument(
        "--second-opinion",
        choices=tuple(TRACKERS),
        metavar="TRACKER",
        help="track the same points again with this other tracker and flag where the two "
        "part by more than 8 px (review reason 'disagreement'); doubles the tracking time",
    )
    p.add_argument("--tapir-side", type=parse_tapir_side, metavar="PX", help=TAPIR_SIDE_HELP)
    p.add_argument("--keypoints", type=parse_list, help="only these keypoints (a,b,c)")
    p.add_argument(
        "--from",
        dest="from_frames",
        type=parse_frame_list,
        metavar="F[,F]",
        help="re-track only from the manual points on these frames (after a correction)",
    )
    p.set_defaults(func=cmd_track)
