"""Point tracking: speed, memory and accuracy of pose3d's trackers.

    .venv/bin/python benchmarks/tracking.py                        # everything (~15 min, 2 cores)
    .venv/bin/python benchmarks/tracking.py --skip cotracker3      # the classical parts (~1 min)
    .venv/bin/python benchmarks/tracking.py --only cotracker3 --frames 48 200
    .venv/bin/python benchmarks/tracking.py --only tapir --frames 48 200 [--max-side 256 512]

Sections:

- classical: frames/s of ClassicalTracker tracking 50 points through 200 RGB frames of 640 × 480
  (in memory, a smooth texture translating and rotating), side by side with the anchor run in
  the same process on the same frames: OpenCV's bare pyramidal LK, one forward call per frame
  on grey frames (no forward-backward step, no appearance check, no bookkeeping). Reported as
  frames/s and the ratio ours / anchor (lower than 1: ours does ~2.5× the LK work).
- real: the sleap-anipose minimal session (4 cameras, 1280 × 1024, 120 frames), seeded with the
  proofread points of frame 0, propagated through all frames by ``propagate``; median / 90th
  percentile px error against the proofread points, per view.
- synthetic: a 4-camera 640 × 480 synthetic session, seeded with the true visible points of
  frame 0, propagated over frames 0-30; PCK@3px of the visible points and the review flags
  (share of the > 5 px points caught, share of tracked points and of images flagged).
- cotracker3: CPU time (process time, all threads) and wall time of CoTracker3Predictor.track
  (offline network, 50 queries + the 6 × 6 support grid, iters 6) on T random frames at
  384 × 512, with the deterministic random weights of ../shared/cotracker3/random_weights.py;
  peak memory = the child process's ru_maxrss (one subprocess per case), and the memory of the
  loaded model alone. Target: <= 2 GB at 200 frames. ``--variant online`` runs the online
  network instead (streamed over the clip and the time-reversed clip). Measured at 200 frames
  (docs/tracking.md): online 1.64 GB (was 2.31 GB); offline at least 1.60 GB in a run
  stopped early (was 1.92 GB).
- tapir: BootsTAPIR (our network, random weights of ../shared/tapir's key list) beside
  CoTracker3 (offline) on the same clip and queries, one process per row: CPU time, wall time,
  peak memory, the ratio of CPU times; at the default model size (long side 256: the clip
  resized to 256 x 256, the network's training size) and refined again at 384 x 512
  (``--max-side 256 512``, ``pose3d track --tapir-side 512``). Target at 200
  frames: <= 0.5x CoTracker3's CPU time and <= 1.5 GB. Random weights say nothing about
  accuracy (docs/tracking.md gives the published TAP-Vid figures).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSE3D_SHARED", REPO.parent / "shared"))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # tests.support, when pose3d is not installed editable
SECTIONS = ("classical", "real", "synthetic", "cotracker3", "tapir")


def moving_texture(n_frames: int, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """(T, H, W, 3) uint8: a smooth random texture translating 2 px/frame and rotating."""
    width, height = size
    noise = np.random.default_rng(seed).random((2 * height, 2 * width, 3)).astype(np.float32)
    base = cv2.GaussianBlur(noise, (0, 0), 2.0) * 255.0
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    for t in range(n_frames):
        matrix = cv2.getRotationMatrix2D((width, height), 0.2 * t, 1.0)
        matrix[:, 2] += (2.0 * t - width / 2, 1.0 * t - height / 2)
        warped = cv2.warpAffine(base, matrix, (width, height), flags=cv2.INTER_LINEAR)
        frames[t] = np.clip(warped, 0, 255).astype(np.uint8)
    return frames


def bare_lk(frames: np.ndarray, points: np.ndarray, window: int) -> None:
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    p = points.astype(np.float32).reshape(-1, 1, 2)
    for a, b in itertools.pairwise(grey):
        p, _, _ = cv2.calcOpticalFlowPyrLK(a, b, p, None, winSize=(window, window), maxLevel=4)


def best_of(fn: object, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def section_classical() -> None:
    from pose3d.tracking.classical import ClassicalTracker, auto_window

    n_frames, size, n_points = 200, (640, 480), 50
    frames = moving_texture(n_frames, size)
    rng = np.random.default_rng(1)
    points = np.column_stack([rng.uniform(150, 490, n_points), rng.uniform(120, 360, n_points)])
    queries = np.column_stack([np.zeros(n_points), points])
    tracker = ClassicalTracker()
    ours = best_of(lambda: tracker.track(frames, queries))
    anchor = best_of(lambda: bare_lk(frames, points, auto_window(size[0])))
    print(f"classical tracker, {n_points} points, {n_frames} frames of {size[0]} x {size[1]}")
    print(f"  {'':<34}{'frames/s':>10}{'ratio':>8}")
    print(
        f"  {'pose3d ClassicalTracker (RGB, fb)':<34}{n_frames / ours:>10.0f}{anchor / ours:>8.2f}"
    )
    print(f"  {'anchor: bare cv2 LK (grey)':<34}{n_frames / anchor:>10.0f}{1.0:>8.2f}")


def section_real() -> None:
    import h5py

    from pose3d import schema as s
    from pose3d.io.netcdf import load_labels, save_labels
    from pose3d.io.session_toml import save_session
    from pose3d.labels import new_labels
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.track import propagate
    from pose3d.session import CameraSpec, Session
    from pose3d.skeleton import Skeleton
    from pose3d.tracking.classical import ClassicalTracker

    data = SHARED / "data" / "sleap_anipose_minimal_session" / "minimal_session"
    if not data.is_dir():
        print(f"real data: {data} is absent, skipped")
        return
    views = ("back", "mid", "side", "top")
    points = {}
    for view in views:
        (path,) = (data / view).glob("*_proofread.analysis.h5")
        with h5py.File(path, "r") as f:
            points[view] = np.asarray(f["tracks"][0]).transpose(2, 0, 1)  # (T, 2, K)
            names = [n.decode() for n in f["node_names"][:]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cams = tuple(CameraSpec(v, str(data / v / f"minimal_{v}.mp4")) for v in views)
        save_session(Session(root, "minimal", cams, Skeleton.from_lists(names, []), ("mouse",)))
        labels = new_labels(120, views, names, ["mouse"])
        for v, view in enumerate(views):
            first = points[view][0]
            labels[s.POSITION].values[0, v, :, :, 0] = first
            labels[s.SOURCE].values[0, v, np.isfinite(first).all(axis=0), 0] = 1
        save_labels(root / "labels.nc", labels)
        start = time.perf_counter()
        with SessionFolder(root) as folder:
            propagate(folder, list(views), (0, 120), ClassicalTracker())
        wall = time.perf_counter() - start
        out = load_labels(root / "labels.nc")
    print("real data: sleap-anipose minimal session, seeded on frame 0, 120 frames, classical")
    print(f"  {'view':<6}{'median px':>10}{'p90 px':>8}{'points':>8}")
    for v, view in enumerate(views):
        error = np.linalg.norm(out[s.POSITION].values[1:, v, :, :, 0] - points[view][1:], axis=1)
        error = error[np.isfinite(error)]
        print(
            f"  {view:<6}{np.median(error):>10.2f}{np.percentile(error, 90):>8.1f}{error.size:>8}"
        )
    print(f"  propagate wall time (decode + track + flags, 4 x 120 frames): {wall:.1f} s")


def section_synthetic() -> None:
    from pose3d import schema as s
    from pose3d.io.netcdf import load_labels, save_labels
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.track import propagate
    from pose3d.synthetic import write_sample_session
    from pose3d.synthetic.compare import seed_labels
    from pose3d.tracking.classical import ClassicalTracker
    from pose3d.tracking.review import review_queue

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "session"
        session = write_sample_session(
            root, n_cameras=4, n_frames=40, n_board_frames=1, image_folders=False
        )
        shutil.copy(root / "truth" / "calibration.toml", root / "calibration")
        truth = load_labels(root / "truth" / "labels.nc")
        save_labels(root / "labels.nc", seed_labels(truth, [0]))
        with SessionFolder(root) as folder:
            propagate(folder, list(session.camera_names), (0, 31), ClassicalTracker())
        out = load_labels(root / "labels.nc")
    seen = truth["visible"].values[0]
    visible = truth["visible"].values[1:31]
    tracked = out[s.SOURCE].values[1:31] == s.PointSource.TRACKED
    error = np.linalg.norm(out[s.POSITION].values[1:31] - truth[s.POSITION].values[1:31], axis=2)
    wanted = visible & seen[None]
    pck = (np.nan_to_num(error, nan=np.inf)[wanted] < 3).mean()
    bad = tracked & visible & (error > 5)
    flagged = out[s.REVIEW].values[1:31] & tracked
    images = int(tracked.any(axis=(2, 3)).sum())
    queue = review_queue(out)
    visits = {(item.frame, item.view) for item in queue}
    print("synthetic: 4 cameras 640 x 480, seeded on frame 0, frames 1-30, classical")
    print(f"  PCK@3px of visible points, all keypoints {pck:.3f} (target 0.90)")
    print(
        f"  points > 5 px off: {bad.sum()} of {tracked.sum()}; flagged: "
        f"{(flagged & bad).sum() / max(bad.sum(), 1):.2f} of them (target 0.90); "
        f"flagged points {flagged.sum() / tracked.sum():.3f} of tracked (target 0.20)"
    )
    print(
        f"  review queue: {len(queue)} runs at {len(visits)} of {images} tracked images "
        f"({len(visits) / images:.3f}); images holding a flagged point "
        f"{flagged.any(axis=(2, 3)).sum() / images:.2f}, session frames "
        f"{flagged.any(axis=(1, 2, 3)).sum()} of 30"
    )


def benchmark_clip(n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The clip (T, 384, 512, 3) and 50 queries (t, x, y) every learned-tracker case tracks."""
    video = moving_texture(n_frames, (512, 384))
    rng = np.random.default_rng(0)
    queries = np.column_stack(
        [rng.integers(0, n_frames, 50), rng.uniform(0, 511, 50), rng.uniform(0, 383, 50)]
    )
    return video, queries


def learned_child(network_name: str, n_frames: int, iters: int, variant: str, side: int) -> None:
    """Run in a subprocess: track the benchmark clip with one learned tracker (random
    weights), print JSON (time, memory)."""
    import torch

    if network_name == "tapir":
        from pose3d.tracking.tapir.predictor import TapirPredictor
        from tests.support.tapir_kit import kit_dir as tapir_kit
        from tests.support.tapir_kit import random_network as random_tapir

        predictor: Any = TapirPredictor(random_tapir(tapir_kit(), variant), max_side=side)
    else:
        from pose3d.tracking.cotracker3 import CoTracker3Predictor
        from tests.support.cotracker3_kit import kit_dir, random_network

        predictor = CoTracker3Predictor(random_network(kit_dir(), variant), iters=iters)
    model_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    video, queries = benchmark_clip(n_frames)
    cpu, wall = time.process_time(), time.perf_counter()
    predictor.track(video, queries)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"frames": n_frames, "cpu_s": cpu, "wall_s": wall, "peak_mb": peak,
                      "model_mb": model_rss, "threads": torch.get_num_threads()}))  # fmt: skip


def run_child(network_name: str, n: int, iters: int, variant: str, side: int) -> dict | str:
    """One learned-tracker case in its own process: its JSON row, or the error's last line."""
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(n), "--network", network_name,
         "--iters", str(iters), "--variant", variant, "--max-side", str(side)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if child.returncode != 0:
        return " ".join(child.stderr.strip().splitlines()[-1:])
    row: dict = json.loads(child.stdout.strip().splitlines()[-1])
    return row


def print_row(label: str, n: int, r: dict | str, verdict: str = "") -> None:
    if isinstance(r, str):
        print(f"  {label:<22}{n:>6}  failed: {r}")
        return
    print(
        f"  {label:<22}{n:>6}{r['cpu_s']:>9.0f}{r['wall_s']:>9.0f}{r['wall_s'] / n:>9.2f}"
        f"{r['peak_mb']:>9.0f}{r['model_mb']:>10.0f}{verdict}"
    )


HEADER = (
    f"  {'tracker':<22}{'frames':>6}{'CPU s':>9}{'wall s':>9}{'s/frame':>9}{'peak MB':>9}"
    f"{'model MB':>10}"
)


def section_cotracker3(frames: list[int], iters: int, variant: str) -> None:
    print(
        f"cotracker3 (our network, {variant}, random weights), 384 x 512, 50 queries, iters {iters}"
    )
    print(HEADER)
    for n in frames:
        r = run_child("cotracker3", n, iters, variant, 0)
        verdict = ""
        if n == 200 and not isinstance(r, str):
            verdict = "  <= 2 GB" if r["peak_mb"] <= 2048 else "  > 2 GB target"
        print_row(f"cotracker3 {variant}", n, r, verdict)
    print(f"  torch threads: {os.cpu_count()} cores; peak = ru_maxrss of one process per row")


def section_tapir(frames: list[int], iters: int, variant: str, sides: list[int]) -> None:
    """BootsTAPIR (ours) beside CoTracker3 (ours, offline, iters) on the same clip and
    queries, one process per row, one row after the other."""
    print(f"tapir (our BootsTAPIR, {variant}, random weights) beside cotracker3 (offline, iters "
          f"{iters}): 384 x 512, 50 queries; target at 200 frames <= 0.5x CoTracker3's CPU time "
          "and <= 1.5 GB")  # fmt: skip
    print(HEADER + f"{'x CoTr3':>9}")
    for n in frames:
        anchor = run_child("cotracker3", n, iters, "offline", 0)
        print_row("cotracker3 offline", n, anchor)
        for side in sides:
            r = run_child("tapir", n, iters, variant, side)
            verdict = ""
            if not isinstance(r, str) and not isinstance(anchor, str):
                ratio = r["cpu_s"] / anchor["cpu_s"]
                verdict = f"{ratio:>9.2f}"
                if n == 200:
                    time_ok = "met" if ratio <= 0.5 else "unmet"
                    memory_ok = "met" if r["peak_mb"] <= 1536 else "unmet"
                    verdict += f"  time {time_ok}, memory {memory_ok}"
            print_row(f"tapir {variant} side {side}", n, r, verdict)
    print(f"  torch threads: {os.cpu_count()} cores; peak = ru_maxrss of one process per row; "
          "side = the model size's long side (256: 256 x 256 only, the default; 512: refined at "
          "256 x 256 and 384 x 512)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS)
    parser.add_argument("--skip", nargs="+", choices=SECTIONS, default=[])
    parser.add_argument("--frames", nargs="+", type=int, default=[48, 200])
    parser.add_argument("--iters", type=int, default=6)
    parser.add_argument("--variant", choices=("offline", "online"), default="offline")
    parser.add_argument(
        "--max-side", nargs="+", type=int, default=[256, 512], help="tapir: model sizes' long side"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--network", default="cotracker3", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        learned_child(args.network, args.child, args.iters, args.variant, args.max_side[0])
        return
    chosen = [x for x in (args.only or SECTIONS) if x not in args.skip]
    runners = {
        "classical": section_classical,
        "real": section_real,
        "synthetic": section_synthetic,
        "cotracker3": lambda: section_cotracker3(args.frames, args.iters, args.variant),
        "tapir": lambda: section_tapir(args.frames, args.iters, args.variant, args.max_side),
    }
    for name in chosen:
        runners[name]()
        print()


if __name__ == "__main__":
    main()
