"""``pose3d sample-data DIR``: a synthetic session with ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path


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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sample-data", help="write a synthetic session with ground truth")
    p.add_argument("dir", type=Path, help="folder to write (must not exist or be empty)")
    p.add_argument("--cameras", type=int, default=4, help="number of cameras, 2-8 (default 4)")
    p.add_argument("--frames", type=int, default=60, help="frames of the subject video")
    p.add_argument("--individuals", type=int, default=1, choices=(1, 2))
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample_data)
