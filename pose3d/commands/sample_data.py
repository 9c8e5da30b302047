"""``pose3d sample-data DIR``: a synthetic session with ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from pose3d.commands.parsing import parse_list


def parse_offsets(text: str) -> dict[str, int]:
    """``"cam1=-3,cam3=2"`` -> ``{"cam1": -3, "cam3": 2}``."""
    offsets = {}
    for item in parse_list(text):
        name, sep, value = item.partition("=")
        try:
            offsets[name] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"offset {item!r} must be CAMERA=FRAMES, e.g. cam1=-3"
            ) from None
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"offset {item!r} must be CAMERA=FRAMES, e.g. cam1=-3")
    return offsets


def cmd_sample_data(args: argparse.Namespace) -> int:
    from pose3d.progress import progress_bar
    from pose3d.synthetic import write_sample_session

    with progress_bar() as progress:
        write_sample_session(
            args.dir,
            n_cameras=args.cameras,
            n_frames=args.frames,
            n_board_frames=args.board_frames,
            n_individuals=args.individuals,
            image_size=(args.width, args.height),
            board=args.board,
            offsets=args.offsets,
            seed=args.seed,
            fps=args.fps,
            image_folders=not args.videos_only,
            lens="fisheye" if args.fisheye else "pinhole",
            progress=progress,
        )
    print(f"wrote sample session {args.dir} (ground truth in {Path(args.dir) / 'truth'})")
    if args.label_frames:
        _seed(Path(args.dir), args.label_frames)
    print(f"next: pose3d info {args.dir}")
    return 0


def _seed(root: Path, frames: list[int]) -> None:
    from pose3d.pipeline.compare_truth import seed_from_truth
    from pose3d.pipeline.folder import SessionFolder

    with SessionFolder(root) as folder:
        n = seed_from_truth(folder, frames)
    listed = ", ".join(str(f) for f in frames)
    print(
        f"wrote {folder.paths.labels}: {n} manual points (the true visible points of frame "
        f"{listed})"
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sample-data", help="write a synthetic session with ground truth")
    p.add_argument("dir", type=Path, help="folder to write (must not exist or be empty)")
    p.add_argument("--cameras", type=int, default=4, help="number of cameras, 2-8 (default 4)")
    p.add_argument("--frames", type=int, default=60, help="frames of the subject videos")
    p.add_argument("--board-frames", type=int, default=60, help="frames of the board videos")
    p.add_argument("--individuals", type=int, default=1, choices=(1, 2))
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--board", choices=("charuco", "checkerboard"), default="charuco")
    p.add_argument(
        "--offsets", type=parse_offsets, help="camera frame offsets, e.g. cam1=-3,cam2=2"
    )
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--videos-only",
        action="store_true",
        help="write the calibration media as videos only (no PNG folders)",
    )
    p.add_argument(
        "--fisheye",
        action="store_true",
        help="fisheye cameras (OpenCV's fisheye model) close to the arena, with a wide view",
    )
    p.add_argument(
        "--label-frames",
        type=_frames,
        default=[],
        help="also write labels.nc with the true visible points of these frames as manual "
        "labels (as a person would click them), e.g. 0 or 0,30",
    )
    p.set_defaults(func=cmd_sample_data)


def _frames(text: str) -> list[int]:
    try:
        return [int(item) for item in parse_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"frames {text!r} must be frame numbers separated by commas, e.g. 0,30"
        ) from None
