"""``pose3d view POSES``: the 3D viewer (a window, or off-screen ``--screenshot`` / ``--movie``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pose3d.commands.parsing import parse_edges


def cmd_view(args: argparse.Namespace) -> int:
    from pose3d.io.calibration_toml import load_calibration
    from pose3d.io.netcdf import load_poses
    from pose3d.viewer.render import SceneOptions, save_movie, save_screenshot
    from pose3d.viewer.scene import check_frame, n_frames, parse_frame_range

    poses = load_poses(args.poses)
    cameras = load_calibration(args.calibration) if args.calibration else None
    edges = args.edges
    if args.session is not None:
        from pose3d.io.session_toml import load_session

        edges = [*load_session(args.session).skeleton.edges, *(edges or [])]
    options = SceneOptions(
        edges=edges or (), trail=args.trail, color_by_error=args.error_colors, fit=args.fit
    )
    size = (args.width, args.height)
    if args.movie:
        frames = parse_frame_range(args.frames or ":", n_frames(poses))
        from pose3d.progress import progress_bar

        with progress_bar() as progress:
            path = save_movie(
                args.movie,
                poses,
                frames,
                cameras,
                options,
                view=args.view,
                size=size,
                progress=progress,
            )
        print(f"wrote {path} ({len(frames)} frames {frames.start}-{frames.stop - 1})")
        return 0
    frame = check_frame(poses, args.frame)
    if args.sheet:
        return _sheet(args, poses, frame)
    if args.screenshot:
        path = save_screenshot(
            args.screenshot, poses, frame, cameras, options, view=args.view, size=size
        )
        print(f"wrote {path} (frame {frame})")
        return 0
    from pose3d.viewer.window import ViewerWindow

    ViewerWindow(poses, cameras, options, frame=frame, view=args.view, size=size).show()
    return 0


def _sheet(args: argparse.Namespace, poses: object, frame: int) -> int:
    """--sheet: every camera's image at ``frame`` with its labels and the 3D points projected."""
    from pose3d.errors import Pose3dError
    from pose3d.io.calibration_toml import load_calibration
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.viewer.sheet import contact_sheet, save_sheet

    if args.session is None:
        raise Pose3dError("--sheet needs --session SESSION: the sheet shows its videos and labels")
    with SessionFolder(args.session, write=False) as folder:
        cameras = load_calibration(args.calibration) if args.calibration else folder.cameras()
        labels = folder.labels() if folder.paths.labels.is_file() else None
        videos = folder.videos()
        sheet = contact_sheet(poses, frame, labels, cameras, videos, args.width, args.whole)  # type: ignore[arg-type]
    path = save_sheet(args.sheet, sheet)
    print(f"wrote {path} (frame {frame}: every camera, labels and the 3D points projected)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "view",
        help="show 3D poses with cameras in a window, or render a PNG / MP4 off-screen",
        description="Show poses3d.nc in 3D: keypoints, bones, camera frusta, floor grid, time "
        "slider. --screenshot / --movie render off-screen (no display needed).",
    )
    p.add_argument("poses", type=Path, help="poses3d.nc")
    p.add_argument("--calibration", type=Path, help="calibration.toml: draw the camera frusta")
    p.add_argument("--session", type=Path, help="session folder: bones from its skeleton edges")
    p.add_argument(
        "--edges", type=parse_edges, help="bones as keypoint pairs, e.g. nose-neck,neck-tail"
    )
    p.add_argument("--frame", type=int, default=0, help="frame to show or screenshot (default 0)")
    p.add_argument("--frames", help="frames of the movie as A:B, B exclusive (default: all)")
    p.add_argument("--trail", type=int, default=0, help="trails of the last N frames (default 0)")
    p.add_argument(
        "--error-colors",
        action="store_true",
        help="colour keypoints by reprojection error (green 0 px, red >= 5 px, grey unknown)",
    )
    p.add_argument("--view", help="look through this calibration camera (window = its image size)")
    p.add_argument(
        "--fit",
        choices=("all", "subject"),
        default="all",
        help="the default view frames the subject and every camera (all), or the subject alone, "
        "large (subject)",
    )
    p.add_argument("--width", type=int, default=1024, help="image width in px (default 1024)")
    p.add_argument(
        "--whole",
        action="store_true",
        help="--sheet: whole images, not the part around the subject",
    )
    p.add_argument("--height", type=int, default=768, help="image height in px (default 768)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--screenshot", type=Path, help="render --frame off-screen to this PNG")
    out.add_argument("--movie", type=Path, help="render --frames off-screen to this MP4")
    out.add_argument(
        "--sheet",
        type=Path,
        help="write a contact sheet PNG: every camera's image at --frame with its labels and "
        "the 3D points projected (needs --session; --width sets its width)",
    )
    p.set_defaults(func=cmd_view)
