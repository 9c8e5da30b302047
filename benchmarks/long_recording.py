"""Long recordings: peak memory and time of each session command as the recording grows.

    .venv/bin/python benchmarks/long_recording.py --frames 10000,50000,108000
    .venv/bin/python benchmarks/long_recording.py --frames 2000 --steps info,flags   # a smoke run

Input, per frame count N: a session folder made from the synthetic sample session (4 cameras,
its rodent skeleton of 12 keypoints, its true calibration) whose labels.nc holds N frames of
tracked points: the sample's true 3D motion repeated along a slow drift, projected into every
camera with 1 px noise, 2 % of the points moved 30 px (what the flags should find), the
tracker's variables (visibility, confidence, forward-backward error) drawn as a tracker gives
them, and 1 % of the cells hidden by the tracker. N = 108,000 is one hour at 30 fps.

Each step runs in its own process (``pose3d`` commands in-process through ``pose3d.cli.main``,
or the library call named): its peak RSS, the same process's RSS before the step (Python and
the imports) and the step's wall time. Steps:

- ``info``: ``pose3d info``;
- ``flags``: ``review_points`` on the whole recording with the calibration, in place as a
  propagation runs it (what it adds for the frames it tracked), then the file written;
- ``queue``: ``pose3d review --json`` (the runs of flagged points);
- ``triangulate``: ``pose3d triangulate`` (DLT; ``--method`` picks another);
- ``export-movement``, ``export-nwb``, ``export-anipose-csv``, ``export-dlc-h5``: ``pose3d
  export`` in that format;
- ``track``: ``pose3d track --view cam0 --tracker classical`` over the whole recording from
  frame 0's points made manual (its video first made N frames long, the sample's 320 × 240
  frames played forwards and backwards as the labels' motion is; not part of the measure).

Target (issue 20): peak memory flat as the recording grows (what grows is the data: labels.nc
holds ~0.8 KB per frame for these 48 cells), time linear.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEPS = (
    "info",
    "flags",
    "queue",
    "triangulate",
    "export-movement",
    "export-nwb",
    "export-anipose-csv",
    "export-dlc-h5",
    "track",
)
TRACK_VIEW = "cam0"
OUTLIER_SHARE = 0.02
OUTLIER_PX = 30.0
HIDDEN_SHARE = 0.01


def make_session(root: Path, n_frames: int) -> Path:
    """A session folder with ``n_frames`` of tracked labels (module docstring)."""
    import numpy as np

    from pose3d import schema as s
    from pose3d.io.calibration_toml import load_calibration
    from pose3d.io.netcdf import load_poses, save_labels
    from pose3d.labels import new_labels
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.synthetic import write_sample_session

    session = write_sample_session(
        root, n_frames=60, n_board_frames=6, image_size=(320, 240), image_folders=False
    )
    shutil.copy(root / "truth" / "calibration.toml", session.paths.calibration)
    cameras = load_calibration(session.paths.calibration)
    truth = load_poses(root / "truth" / "poses3d.nc")[s.POSITION].values  # (60, 3, K, I)
    rng = np.random.default_rng(0)
    repeats = -(-n_frames // len(truth))
    # the sample's motion played forwards and backwards (no jumps), drifting slowly
    cycle = np.concatenate([truth, truth[::-1]])
    points = np.tile(cycle, (repeats // 2 + 1, 1, 1, 1))[:n_frames]
    drift = 20.0 * np.sin(np.arange(n_frames) / 3000.0)[:, None, None, None]
    points = points + drift * np.array([1.0, 0.5, 0.0])[None, :, None, None]
    views = list(session.camera_names)
    keypoints = list(session.skeleton.keypoints)
    labels = new_labels(n_frames, views, keypoints, list(session.individuals))
    from pose3d.tracking.review import with_track_variables

    labels = with_track_variables(labels)
    xyz = np.moveaxis(points, 1, -1).reshape(-1, 3)  # (T·K·I, 3)
    shape = (n_frames, len(keypoints), points.shape[-1])
    position = labels[s.POSITION].values
    for j, view in enumerate(views):
        uv = cameras[view].project(xyz).reshape(*shape, 2)  # (T, K, I, 2)
        uv = uv + rng.normal(0.0, 1.0, uv.shape)
        wrong = rng.random(shape) < OUTLIER_SHARE
        angle = rng.uniform(0, 2 * np.pi, shape)
        uv[wrong] += OUTLIER_PX * np.stack([np.cos(angle), np.sin(angle)], -1)[wrong]
        position[:, j] = np.moveaxis(uv, -1, 1)
    cells = labels[s.SOURCE].shape
    labels[s.SOURCE].values[:] = int(s.PointSource.TRACKED)
    labels[s.CONFIDENCE].values[:] = rng.uniform(0.6, 1.0, cells)
    labels[s.VISIBILITY].values[:] = rng.uniform(0.6, 1.0, cells)
    labels[s.FB_ERROR].values[:] = rng.exponential(0.5, cells)
    hidden = rng.random(cells) < HIDDEN_SHARE
    labels[s.HIDDEN].values[:] = hidden
    position[np.broadcast_to(hidden[:, :, None], position.shape)] = np.nan
    save_labels(session.paths.labels, labels)
    with SessionFolder(root):  # the session opens (and nothing is left locked)
        pass
    return root


def prepare_tracking(root: Path) -> None:
    """Make TRACK_VIEW's video as long as the labels (the sample's frames forwards and
    backwards, as make_session plays the motion) and its frame-0 points manual: what ``track``
    needs. Done once per session."""
    from dataclasses import replace

    import numpy as np

    from pose3d import schema as s
    from pose3d.io.netcdf import load_labels, save_labels
    from pose3d.io.session_toml import load_session, save_session
    from pose3d.io.video_reading import VideoReader
    from pose3d.io.video_writing import write_video

    session = load_session(root)
    long_video = f"videos/{TRACK_VIEW}_long.mp4"
    if (root / long_video).is_file():
        return
    labels = load_labels(session.paths.labels)
    n_frames = labels.sizes[s.TIME]
    camera = next(c for c in session.cameras if c.name == TRACK_VIEW)
    with VideoReader(root / camera.video) as reader:
        sample = [reader.read(i) for i in range(reader.n_frames)]
    cycle = sample + sample[::-1]
    frames = (cycle[t % len(cycle)] for t in range(n_frames))
    write_video(root / long_video, frames, session.fps or 30.0)
    cameras = tuple(
        replace(c, video=long_video) if c.name == TRACK_VIEW else c for c in session.cameras
    )
    save_session(replace(session, cameras=cameras))
    v = [str(name) for name in labels[s.VIEW].values].index(TRACK_VIEW)
    seen = np.isfinite(labels[s.POSITION].values[0, v]).all(axis=0)  # (K, I)
    labels[s.SOURCE].values[0, v][seen] = int(s.PointSource.MANUAL)
    save_labels(session.paths.labels, labels)


def run_step(root: Path, step: str, method: str) -> None:
    """Run ``step`` on the session ``root`` in this process; print JSON with the RSS before,
    the peak and the wall time."""
    import contextlib
    import io

    from pose3d.cli import main
    from pose3d.io.calibration_toml import load_calibration
    from pose3d.io.netcdf import load_labels, save_labels
    from pose3d.tracking.review import review_points

    before = high_water_mb()
    out = root / "out"
    start = time.perf_counter()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        if step == "flags":
            labels = load_labels(root / "labels.nc")
            cameras = load_calibration(root / "calibration" / "calibration.toml")
            flagged, _ = review_points(labels, cameras=cameras, copy=False)
            save_labels(root / "labels.nc", flagged)
            code = 0
        elif step == "info":
            code = main(["info", str(root)])
        elif step == "queue":
            code = main(["review", str(root), "--json"])
        elif step == "triangulate":
            code = main(["triangulate", str(root), "--method", method])
        elif step == "track":
            code = main(["track", str(root), "--view", TRACK_VIEW, "--tracker", "classical"])
        else:
            fmt = step.removeprefix("export-")
            shutil.rmtree(out / fmt, ignore_errors=True)  # exports never replace a file
            for old in out.glob(f"{fmt}.*"):
                old.unlink()
            target = out / fmt
            out.mkdir(exist_ok=True)  # a file format writes into an existing folder
            if fmt in ("anipose-csv", "dlc-h5"):
                target = out / f"{fmt}.{'csv' if fmt == 'anipose-csv' else 'h5'}"
            code = main(["export", str(root), str(target), "--format", fmt])
    seconds = time.perf_counter() - start
    peak = high_water_mb()
    print(json.dumps({"code": code, "before": before, "peak": peak, "seconds": seconds}))


def high_water_mb() -> float:
    """This process's peak resident memory (MB): VmHWM, which an exec starts afresh (unlike
    ru_maxrss, which keeps the forking parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def measure(root: Path, step: str, method: str) -> dict[str, float]:
    here = str(Path(__file__).resolve().parents[1])
    code = (
        f"import sys; sys.path.insert(0, {here!r}); "
        f"import pose3d.cli, pose3d.tracking.review, pose3d.pipeline.labels_io; "
        f"from benchmarks.long_recording import run_step; "
        f"run_step(__import__('pathlib').Path({str(root)!r}), {step!r}, {method!r})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"{step} on {root} ended with exit status {result['code']}")
    return result


def in_child(function: str, root: Path, *args: int) -> None:
    """``function(root, *args)`` of this module, run in a child process (its memory is not
    this process's)."""
    here = str(Path(__file__).resolve().parents[1])
    call = ", ".join([f"__import__('pathlib').Path({str(root)!r})", *map(repr, args)])
    code = (
        f"import sys; sys.path.insert(0, {here!r}); "
        f"from benchmarks.long_recording import {function}; {function}({call})"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", default="10000,50000,108000", help="frame counts, a,b,c")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"of {', '.join(STEPS)}")
    parser.add_argument("--method", default="dlt", help="triangulate's method")
    parser.add_argument("--keep", type=Path, help="make the sessions in this folder and keep them")
    args = parser.parse_args()
    steps = [step.strip() for step in args.steps.split(",") if step.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        raise SystemExit(f"unknown steps {unknown}: expected some of {', '.join(STEPS)}")
    base = args.keep or Path(tempfile.mkdtemp(prefix="pose3d-long-"))
    print(f"{'frames':>8} {'step':<20} {'RSS before MB':>14} {'peak MB':>8} {'step MB':>8} "
          f"{'seconds':>8} {'us/frame':>9}")  # fmt: skip
    try:
        for n in (int(v) for v in args.frames.split(",")):
            root = base / f"frames_{n}"
            if not (root / "labels.nc").is_file():  # made in a child: this process stays small
                shutil.rmtree(root, ignore_errors=True)
                in_child("make_session", root, n)
            for step in steps:
                if step == "track":  # in a child of its own: not part of the measure
                    in_child("prepare_tracking", root)
                r = measure(root, step, args.method)
                print(
                    f"{n:>8} {step:<20} {r['before']:>14.0f} {r['peak']:>8.0f} "
                    f"{r['peak'] - r['before']:>8.0f} {r['seconds']:>8.1f} "
                    f"{1e6 * r['seconds'] / n:>9.1f}",
                    flush=True,
                )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
