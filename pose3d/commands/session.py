"""``pose3d init`` and ``pose3d info``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pose3d.commands.parsing import parse_camera, parse_edges, parse_list
from pose3d.errors import Pose3dError


def cmd_init(args: argparse.Namespace) -> int:
    from pose3d.pipeline.session import init_session

    keypoints, edges, individuals = args.keypoints, args.edges, args.individuals
    if args.skeleton_from is not None:
        from pose3d.io.skeleton_files import read_skeleton

        if keypoints:
            raise Pose3dError("give --keypoints or --skeleton-from, not both")
        spec = read_skeleton(args.skeleton_from)
        keypoints, edges = spec.keypoints, edges or spec.edges
        individuals = individuals or spec.individuals
    if not keypoints:
        raise Pose3dError(
            "give the keypoints: --keypoints a,b,c, or --skeleton-from a DeepLabCut config.yaml "
            "or a SLEAP .slp"
        )
    session = init_session(
        args.session,
        cameras=dict(args.camera),
        keypoints=keypoints,
        edges=edges or [],
        individuals=individuals or ["individual_0"],
        fps=args.fps,
        board_path=args.board,
        allow_frame_mismatch=args.allow_frame_mismatch,
        calibration_media=dict(args.calibration_media or []),
    )
    print(f"created session {session.root} with {len(session.cameras)} cameras")
    print(f"next: pose3d info {session.root}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from pose3d.info_table import print_session_info
    from pose3d.pipeline.session import session_info

    info = session_info(args.session)
    print_session_info(info)
    return 1 if info.problems else 0  # scripts can tell a session with problems


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="create a session folder from videos and a skeleton")
    p.add_argument("session", type=Path, help="session folder to create")
    p.add_argument(
        "--camera",
        action="append",
        type=parse_camera,
        required=True,
        metavar="NAME=VIDEO",
        help="a camera and its video file or image folder (repeat per camera)",
    )
    p.add_argument("--keypoints", type=parse_list, help="comma-separated names")
    p.add_argument(
        "--skeleton-from",
        type=Path,
        metavar="FILE",
        help="keypoints, edges and individuals from a DeepLabCut config.yaml or a SLEAP .slp "
        "(instead of --keypoints; --edges and --individuals still win)",
    )
    p.add_argument("--edges", type=parse_edges, help="comma-separated a-b pairs, e.g. nose-neck")
    p.add_argument("--individuals", type=parse_list, help="comma-separated names")
    p.add_argument("--fps", type=float, help="frame rate (default: read from the videos)")
    p.add_argument("--board", type=Path, help="calibration board spec (TOML)")
    p.add_argument(
        "--calibration-media",
        action="append",
        type=parse_camera,
        metavar="NAME=VIDEO",
        help="a camera's board video or image folder for pose3d calibrate (repeat per camera)",
    )
    p.add_argument(
        "--allow-frame-mismatch",
        action="store_true",
        help="accept cameras whose videos have different frame counts",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("info", help="cameras, frames, fps, offsets and what the session holds")
    p.add_argument("session", type=Path)
    p.set_defaults(func=cmd_info)
