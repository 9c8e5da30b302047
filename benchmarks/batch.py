"""pose3d batch: what the Dask engine costs and what its workers gain.

    .venv/bin/python benchmarks/batch.py                 # 12 sessions, 1 worker and all cores
    .venv/bin/python benchmarks/batch.py --sessions 4    # a smoke run
    .venv/bin/python benchmarks/batch.py --memory 10000,50000,108000   # triangulate --method optim

Input: 12 copies of one synthetic session (4 cameras of 320 x 240, 90 frames, the true points
of frame 0 as a person's clicks), the steps calibrate, track, triangulate (optim), export.

Anchor (same process): the same tasks run one after another by ``run_job`` in this process,
with nothing of Dask, on one thread as a Dask worker runs them: "the steps' own time". Then
the same batch, from fresh copies, on a LocalCluster of 1 worker and of one worker per core.
Reported:

- the engine's overhead: (batch wall time, from the cluster being up to the last task, with 1
  worker) / (the steps' own time) - 1, in total and per task (target <= 5 %); the cluster's
  start is reported apart (once per batch, not per task);
- the speed-up with all cores against 1 worker, beside the core count;
- a rerun with nothing changed: the wall time to find every task up to date.

``--windows N``: optim on N frames refined in windows (what a long recording gets) against
one problem: how far apart the points are, and each against the truth.

``--memory N,N,... [--method dlt|ransac|optim]``: peak memory (RSS) and time of ``pose3d
triangulate`` (default ``--method optim``) on synthetic labels of N frames (4 cameras, 12
keypoints, 1 px noise), each in its own process.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pose3d.pipeline.batch.engine import EngineSettings
from pose3d.pipeline.batch.plan import find_batch, tasks
from pose3d.pipeline.batch.run import run_batch
from pose3d.pipeline.batch.task import Outcome, run_job
from pose3d.pipeline.compare_truth import seed_from_truth
from pose3d.pipeline.folder import SessionFolder
from pose3d.synthetic import write_sample_session

STEPS = ("calibrate", "track", "triangulate", "export")
OPTIM = {"triangulate": {"method": "optim"}}


def _template(folder: Path, frames: int) -> Path:
    root = folder / "template"
    write_sample_session(root, n_cameras=4, n_frames=frames, n_board_frames=40,
                         image_size=(320, 240), image_folders=False)  # fmt: skip
    with SessionFolder(root) as session:
        seed_from_truth(session, [0])
    return root


def _lab(template: Path, folder: Path, n: int) -> Path:
    for i in range(n):
        shutil.copytree(template, folder / f"s{i:02d}")
    return folder


def _in_process(lab: Path) -> tuple[float, list[Outcome]]:
    """The tasks one after another here, on one thread as a worker runs them (OpenCV's pool,
    BLAS and OpenMP limited to 1, as Dask's nanny and pose3d's task do)."""
    import cv2
    from threadpoolctl import threadpool_limits

    graph = tasks(find_batch(lab), STEPS, OPTIM)
    outcomes: list[Outcome] = []
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(1):
            start = time.perf_counter()
            for task in graph:
                outcomes.append(run_job(task.job, *(outcomes[i] for i in task.after)))
            return time.perf_counter() - start, outcomes
    finally:
        cv2.setNumThreads(threads)


def _on_cluster(lab: Path, workers: int) -> tuple[float, float, list[Outcome]]:
    """(cluster start s, wall from the cluster up to the last task s, outcomes)."""
    up: list[float] = []
    start = time.perf_counter()
    result = run_batch(lab, STEPS, OPTIM, engine=EngineSettings(workers=workers),
                       on_start=lambda said, graph: up.append(time.perf_counter()))  # fmt: skip
    end = time.perf_counter()
    return up[0] - start, end - up[0], result.outcomes


def engine(n_sessions: int, frames: int) -> None:
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = _template(folder, frames)
        own, outcomes = _in_process(_lab(template, folder / "anchor", n_sessions))
        assert all(o.ok for o in outcomes), [o.detail for o in outcomes if not o.ok]
        n = len(outcomes)
        per_step = {step: sum(o.seconds for o in outcomes if o.step == step) for step in STEPS}
        print(f"{n_sessions} sessions x {len(STEPS)} steps = {n} tasks; 4 cameras 320 x 240, "
              f"{frames} frames; {cores} cores")  # fmt: skip
        print(f"anchor, the tasks one after another in this process: {own:.1f} s "
              f"({', '.join(f'{k} {v:.1f}' for k, v in per_step.items())})")  # fmt: skip
        walls = {}
        for workers in sorted({1, cores}):
            lab = _lab(template, folder / f"w{workers}", n_sessions)
            start_s, wall, outcomes = _on_cluster(lab, workers)
            assert all(o.ok for o in outcomes), [o.detail for o in outcomes if not o.ok]
            walls[workers] = wall
            inside = {step: sum(o.seconds for o in outcomes if o.step == step) for step in STEPS}
            print(f"LocalCluster, {workers} worker(s): cluster up in {start_s:.1f} s, tasks "
                  f"{wall:.1f} s; the tasks' own times, measured in the workers: "
                  f"{sum(inside.values()):.1f} s "
                  f"({', '.join(f'{k} {v:.1f}' for k, v in inside.items())})")  # fmt: skip
            if workers == 1:
                over = wall / own - 1
                per_task = 1000 * (wall - own) / n
                print(f"  engine overhead with 1 worker: {100 * over:+.1f} % of the steps' own "
                      f"time ({per_task:+.0f} ms per task; target <= 5 %)")  # fmt: skip
            if workers == cores:
                re_start, re_wall, again = _on_cluster(lab, workers)
                assert all(o.status == "up to date" for o in again)
                print(f"  rerun, nothing changed: all {n} up to date in {re_wall:.1f} s "
                      f"(cluster up in {re_start:.1f} s)")  # fmt: skip
        if cores > 1:
            print(f"speed-up, {cores} workers against 1: {walls[1] / walls[cores]:.2f}x "
                  f"on {cores} cores")  # fmt: skip


def memory(frame_counts: list[int], method: str = "optim") -> None:
    print(f"triangulate --method {method}, 4 cameras x 12 keypoints, 1 px noise, a process each")
    print(f"{'frames':>8} {'peak RSS MB':>12} {'seconds':>8} {'ms/frame':>9}")
    here = str(Path(__file__).resolve().parents[1])
    for n in frame_counts:
        code = (
            f"import sys; sys.path.insert(0, {here!r}); "
            f"from benchmarks.batch import triangulate_run; triangulate_run({n}, {method!r})"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        )
        peak_mb, seconds = (float(v) for v in out.stdout.split())
        print(f"{n:>8} {peak_mb:>12.0f} {seconds:>8.1f} {1000 * seconds / n:>9.2f}", flush=True)


def triangulate_run(n_frames: int, method: str) -> None:
    """Triangulate ``n_frames`` of synthetic 4-camera labels with ``method`` and print the
    process's peak RSS (MB) and the triangulation's time (s): run in a child process."""
    import numpy as np

    from benchmarks.triangulation import labels_position, observe
    from pose3d.synthetic.chain import moving_chain
    from pose3d.synthetic.rig import RigSpec, make_rig
    from pose3d.triangulation import triangulate

    rng = np.random.default_rng(0)
    cameras = make_rig(RigSpec(n_cameras=4, image_size=(1280, 1024)), rng)
    truth = moving_chain(rng, n_frames, 12)
    position = labels_position(cameras, observe(cameras, truth, rng, outliers=0.0))
    edges = [(f"kp{k}", f"kp{k + 1}") for k in range(11)]
    start = time.perf_counter()
    triangulate(position, cameras, method=method, edges=edges)
    seconds = time.perf_counter() - start
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, seconds)


def windows(n_frames: int) -> None:
    """``--windows N``: optim on N frames in windows (the default) against one problem."""
    import numpy as np

    import pose3d.triangulation.refine as refine
    from benchmarks.triangulation import labels_position, observe
    from pose3d import schema as s
    from pose3d.synthetic.chain import moving_chain
    from pose3d.synthetic.rig import RigSpec, make_rig
    from pose3d.triangulation import triangulate

    rng = np.random.default_rng(0)
    cameras = make_rig(RigSpec(n_cameras=4, image_size=(1280, 1024)), rng)
    truth = moving_chain(rng, n_frames, 12)
    position = labels_position(cameras, observe(cameras, truth, rng, outliers=0.0))
    edges = [(f"kp{k}", f"kp{k + 1}") for k in range(11)]

    def run() -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        poses = triangulate(position, cameras, method="optim", edges=edges)
        dims = (s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE)
        return poses[s.POSITION].transpose(*dims).values[:, :, 0], time.perf_counter() - start

    windowed, windowed_s = run()
    window = refine.WINDOW_FRAMES
    refine.WINDOW_FRAMES = n_frames  # one problem
    whole, whole_s = run()
    refine.WINDOW_FRAMES = window
    apart = np.linalg.norm(windowed - whole, axis=-1)
    apart = apart[np.isfinite(apart)]
    print(f"optim, {n_frames} frames x 12 keypoints, 4 cameras, 1 px noise: windows of "
          f"{window} frames (+{refine.OVERLAP_FRAMES} each side) {windowed_s:.1f} s, one "
          f"problem {whole_s:.1f} s")  # fmt: skip
    print(f"  windowed - one problem: median {np.median(apart):.4f} mm, 99th percentile "
          f"{np.percentile(apart, 99):.4f} mm, largest {apart.max():.4f} mm")  # fmt: skip
    for name, points in (("windows", windowed), ("one problem", whole)):
        error = np.linalg.norm(points - truth, axis=-1)
        print(f"  {name} against the truth: median {np.nanmedian(error):.4f} mm, mean "
              f"{np.nanmean(error):.4f} mm")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=12)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--memory", help="frame counts for the memory run, e.g. 10000,50000")
    parser.add_argument("--method", default="optim", choices=("dlt", "ransac", "optim"))
    parser.add_argument(
        "--windows", type=int, metavar="N", help="optim in windows vs one, N frames"
    )
    args = parser.parse_args()
    if args.windows:
        windows(args.windows)
        return
    if args.memory:
        memory([int(n) for n in args.memory.split(",")], args.method)
        return
    engine(args.sessions, args.frames)


if __name__ == "__main__":
    main()
