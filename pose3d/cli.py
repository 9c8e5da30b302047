"""The ``pose3d`` command: parse, call ONE library function, print a summary.

Heavy libraries (torch, pyvista, textual, even xarray) are imported inside the commands, so
``pose3d --help`` starts fast. A Pose3dError is printed as one message with exit code 2; a
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pose3d import __version__
from pose3d.errors import Pose3dError

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130

Command = Callable[[argparse.Namespace], int]


def _parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse_edges(text: str) -> list[tuple[str, str]]:
    edges = []
    for item in _parse_list(text):
        parts = item.split("-")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(
                f"edge {item!r} must be two keypoints joined by '-', e.g. nose-neck"
            )
        edges.append((parts[0], parts[1]))
    return edges


def _parse_camera(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"camera {text!r} must be NAME=VIDEO, e.g. cam0=cam0.mp4")
    return name, path


def cmd_init(args: argparse.Namespace) -> int:
    from pose3d.io.session_folder import init_session

    session = init_session(
        args.session,
        cameras=dict(args.camera),
        keypoints=args.keypoints,
        edges=args.edges or [],
        individuals=args.individuals or ["individual_0"],
        fps=args.fps,
        board_path=args.board,
        allow_frame_mismatch=args.allow_frame_mismatch,
    )
    print(f"created session {session.root} with {len(session.cameras)} cameras")
    print(f"next: pose3d info {session.root}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from pose3d.info_table import print_session_info
    from pose3d.io.session_folder import session_info

    print_session_info(session_info(args.session))
    return 0


def cmd_sample_data(args: argparse.Namespace) -> int:
    from pose3d.progress import progress_bar
    from pose3d.synthetic import write_sample_session

    with progress_bar() as progress:
        write_sample_session(
            args.dir,
            n_cameras=args.cameras,
            n_frames=args.frames,
            n_individuals=args.individuals,
            image_size=(args.width, args.height),
            seed=args.seed,
            progress=progress,
        )
    print(f"wrote sample session {args.dir} (ground truth in {Path(args.dir) / 'truth'})")
    print(f"next: pose3d info {args.dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pose3d",
        description="From multi-camera videos to validated 3D skeletons.",
    )
    parser.add_argument("--version", action="version", version=f"pose3d {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="create a session folder from videos and a skeleton")
    p.add_argument("session", type=Path, help="session folder to create")
    p.add_argument(
        "--camera",
        action="append",
        type=_parse_camera,
        required=True,
        metavar="NAME=VIDEO",
        help="a camera and its video file or image folder (repeat per camera)",
    )
    p.add_argument("--keypoints", type=_parse_list, required=True, help="comma-separated names")
    p.add_argument("--edges", type=_parse_edges, help="comma-separated a-b pairs, e.g. nose-neck")
    p.add_argument("--individuals", type=_parse_list, help="comma-separated names")
    p.add_argument("--fps", type=float, help="frame rate (default: read from the videos)")
    p.add_argument("--board", type=Path, help="calibration board spec (TOML)")
    p.add_argument(
        "--allow-frame-mismatch",
        action="store_true",
        help="accept cameras whose videos have different frame counts",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("info", help="cameras, frames, fps, offsets and what the session holds")
    p.add_argument("session", type=Path)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("sample-data", help="write a synthetic session with ground truth")
    p.add_argument("dir", type=Path, help="folder to write (must not exist or be empty)")
    p.add_argument("--cameras", type=int, default=4, help="number of cameras, 2-8 (default 4)")
    p.add_argument("--frames", type=int, default=60, help="frames of the subject video")
    p.add_argument("--individuals", type=int, default=1, choices=(1, 2))
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except Pose3dError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
