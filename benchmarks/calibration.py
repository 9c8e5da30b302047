"""Calibration accuracy and speed, pose3d side by side with aniposelib on the same detections.

    .venv/bin/python benchmarks/calibration.py             # 4 cameras, 60 board views, PNG media
    .venv/bin/python benchmarks/calibration.py --quick     # 30 board views, a smoke run
    .venv/bin/python benchmarks/calibration.py --video     # the H.264 board videos instead

Needs aniposelib, an optional extra: the dev install (`pip install -e ".[dev]"`, as `make test`
makes .venv) or `pip install "pose3d-suite[anipose]"`.

Input: a synthetic session from pose3d.synthetic (4 cameras 640x480 1.0-1.5 m from an 800 mm
arena, principal points 5-20 px off centre, radial and tangential distortion; a 7x5 ChArUco
board of 50 mm squares moved through ``--frames`` poses, each seen whole by two cameras or
more), written to a temporary folder. The board is detected once, by pose3d's detect_boards,
and both libraries calibrate from those corners: pose3d's ``calibrate`` and aniposelib's
``CameraGroup.calibrate_rows`` (the corners converted to its "rows": per camera, one dict per
frame with ``framenum``, ``corners`` [N, 1, 2] float32, ``ids`` [N, 1] and ``filled``).
Detection is shared and not timed.

Errors, the same for both, against the true cameras: camera rotation (degrees) and centre (% of
the rig's size) with both rigs put in the frame of their first camera (aniposelib's bundle
adjustment moves every camera, so only relative poses compare), the larger relative error of
fx and fy, and the RMS reprojection error of the corners seen by two cameras or more,
triangulated with the rig under test (pose3d's DLT for both).
Times (libraries imported beforehand): a first call, which for aniposelib includes compiling
its numba and JAX functions, as every new process does, and then the best of ``--repeats`` warm
calls on fresh copies of the input (with the same seed, aniposelib's subsampling draws the same
point counts, so JAX reuses its compiled functions: its best case); the ratios use the warm
calls. pose3d's bundle adjustment solves dense normal equations with numpy (OpenBLAS): on a
busy machine OpenBLAS's threads make those solves many times slower, so the load average is
printed with the times.

aniposelib 0.8.0 as read from its source: its CharucoBoard uses OpenCV's 4.7+ class API and
builds with OpenCV 4.14 (it has no legacy-pattern flag; detection is ours, and calibrate_rows
uses the board only for ``getChessboardCorners`` in solvePnP and for the object points, which
the legacy pattern does not change). calibrate_rows starts the intrinsics from
``cv2.initCameraMatrix2D`` with zero distortion and its bundle adjustment refines one focal
length and k1 per camera: the principal point stays at the image centre, fx = fy, and k2, p1,
p2, k3 stay 0. It prints the cameras unconditionally (silenced here) and subsamples points with
the global ``np.random`` (seeded with ``--seed`` before every call, so calls repeat).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pose3d.board import BoardDetections, CharucoBoard
    from pose3d.cameras import CameraGroup

ROTATION_TARGET = 5.0  # pose3d at least this many times more accurate in rotation
SPEED_TARGET = 1.0  # and at least as fast


@dataclass(frozen=True)
class CameraErrors:
    rotation_deg: float
    centre_pct: float  # of the rig's size
    focal_pct: float
    rms_px: float


@dataclass(frozen=True)
class Run:
    name: str
    first_s: float
    warm_s: float
    errors: dict[str, CameraErrors]


# ---------------------------------------------------------------- input


def write_session(root: Path, n_frames: int, seed: int) -> None:
    from pose3d.synthetic.sample import write_sample_session

    write_sample_session(
        root, n_cameras=4, n_frames=1, n_board_frames=n_frames, image_size=(640, 480), seed=seed
    )


def detect(root: Path, video: bool) -> BoardDetections:
    from pose3d.calibration.detect import detect_boards
    from pose3d.io.session_toml import load_session

    session = load_session(root)
    assert session.board is not None
    media = session.calibration_media_paths()  # board.mp4 per camera
    if not video:
        media = {name: path.parent / "frames" for name, path in media.items()}
    return detect_boards(media, session.board)


def anipose_board(board: CharucoBoard) -> Any:
    from aniposelib.boards import CharucoBoard as AniposeCharuco

    dict_size = int(board.dictionary.rsplit("_", 1)[1])
    return AniposeCharuco(
        board.squares_x,
        board.squares_y,
        board.square_length,
        board.marker_length,
        marker_bits=board.marker_bits,
        dict_size=dict_size,
    )


def to_rows(detections: BoardDetections, board: Any) -> list[list[dict[str, Any]]]:
    """aniposelib's rows, one list per camera: every frame with at least one corner, as its
    ``detect_video`` makes them (corners [N, 1, 2] float32, ids [N, 1], then ``filled``)."""
    all_rows = []
    for v in range(len(detections.views)):
        rows = []
        for k, frame in enumerate(detections.frames):
            ids = np.flatnonzero(np.isfinite(detections.corners[v, k, :, 0]))
            if ids.size == 0:
                continue
            corners = detections.corners[v, k, ids].astype(np.float32).reshape(-1, 1, 2)
            rows.append({"framenum": int(frame), "corners": corners, "ids": ids.reshape(-1, 1)})
        all_rows.append(board.fill_points_rows(rows))
    return all_rows


# ---------------------------------------------------------------- the two calibrations


def run_pose3d(detections: BoardDetections, repeats: int) -> tuple[CameraGroup, float, float]:
    from pose3d.calibration.calibrate import calibrate

    start = time.perf_counter()
    calibrate(detections)
    first = time.perf_counter() - start
    warm, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = calibrate(detections)
        warm = min(warm, time.perf_counter() - start)
    assert result is not None
    return result.cameras, first, warm


def run_aniposelib(
    detections: BoardDetections, repeats: int, seed: int
) -> tuple[CameraGroup, float, float]:
    from aniposelib.cameras import Camera as AniposeCamera
    from aniposelib.cameras import CameraGroup as AniposeGroup

    from pose3d.board import CharucoBoard

    if not isinstance(detections.board, CharucoBoard):
        raise SystemExit("this benchmark compares ChArUco calibrations")
    board = anipose_board(detections.board)
    rows = to_rows(detections, board)

    def once() -> tuple[Any, float]:
        group = AniposeGroup(
            [
                AniposeCamera(name=name, size=size)
                for name, size in zip(detections.views, detections.sizes, strict=True)
            ]
        )
        given = copy.deepcopy(rows)  # calibrate_rows writes rvec/tvec into the rows
        np.random.seed(seed)  # noqa: NPY002 - aniposelib draws from the global legacy RNG
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba's object-mode and JAX's dtype warnings
            start = time.perf_counter()
            group.calibrate_rows(given, board, verbose=False)
            elapsed = time.perf_counter() - start
        return group, elapsed

    _, first = once()
    warm, group = float("inf"), None
    for _ in range(repeats):
        group, elapsed = once()
        warm = min(warm, elapsed)
    return from_aniposelib(group, detections.board.unit), first, warm


def from_aniposelib(group: Any, unit: str) -> CameraGroup:
    from pose3d.cameras import Camera, CameraGroup

    cameras = [
        Camera(
            cam.get_name(),
            tuple(cam.get_size()),
            cam.get_camera_matrix(),
            cam.get_distortions(),
            cam.get_rotation(),
            cam.get_translation(),
        )
        for cam in group.cameras
    ]
    return CameraGroup(tuple(cameras), unit)


# ---------------------------------------------------------------- errors


def reprojection_rms(rig: CameraGroup, detections: BoardDetections) -> dict[str, float]:
    """Per camera, the RMS px of its corners against their triangulation with ``rig``."""
    found = detections.found()
    pixels = np.where(found[..., None, None], detections.corners, np.nan)  # [V, F, C, 2]
    flat = pixels.reshape(len(rig), -1, 2)
    from pose3d.triangulation import triangulate_points

    points, _ = triangulate_points(flat, rig)
    rms = {}
    for v, cam in enumerate(rig):
        error = np.linalg.norm(cam.project(points) - flat[v], axis=-1)
        rms[cam.name] = float(np.sqrt(np.nanmean(error**2)))
    return rms


def camera_errors(
    rig: CameraGroup, truth: CameraGroup, detections: BoardDetections
) -> dict[str, CameraErrors]:
    from pose3d.calibration.rotations import rotation_angle_deg
    from pose3d.synthetic.compare import in_camera_frame

    reference = detections.views[0]
    ours, true = in_camera_frame(rig, reference), in_camera_frame(truth, reference)
    centres = np.array([cam.center for cam in true])
    size = float(np.max(np.linalg.norm(centres[:, None] - centres[None], axis=-1)))
    rms = reprojection_rms(rig, detections)
    errors = {}
    for cam in ours:
        t = true[cam.name]
        focal = np.abs(np.diag(cam.matrix)[:2] / np.diag(t.matrix)[:2] - 1.0).max()
        errors[cam.name] = CameraErrors(
            float(rotation_angle_deg(cam.rotation, t.rotation)),
            100.0 * float(np.linalg.norm(cam.center - t.center)) / size,
            100.0 * float(focal),
            rms[cam.name],
        )
    return errors


# ---------------------------------------------------------------- report


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) + 2 for i, h in enumerate(header)]
    print("|" + "|".join(f" {h:<{w - 1}}" for h, w in zip(header, widths, strict=True)) + "|")
    print("|" + "|".join("-" * (w - 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|")
    for row in rows:
        cells = [f" {row[0]:<{widths[0] - 1}}"]
        cells += [f"{c:>{w - 1}} " for c, w in zip(row[1:], widths[1:], strict=True)]
        print("|" + "|".join(cells) + "|")


def report(ours: Run, theirs: Run, reference: str) -> None:
    names = list(ours.errors)
    fields: list[tuple[str, Callable[[CameraErrors], float], str]] = [
        ("rotation (deg)", lambda e: e.rotation_deg, "{:.4f}"),
        ("centre (% rig)", lambda e: e.centre_pct, "{:.4f}"),
        ("focal (%)", lambda e: e.focal_pct, "{:.3f}"),
        ("RMS (px)", lambda e: e.rms_px, "{:.3f}"),
    ]
    header = ["camera"] + [
        f"{label} {run.name}" for label, _, _ in fields for run in (ours, theirs)
    ]
    rows = []
    for name in names:
        cells = [name + (" (ref)" if name == reference else "")]
        for _, get, fmt in fields:
            cells += [fmt.format(get(run.errors[name])) for run in (ours, theirs)]
        rows.append(cells)
    print()
    print_table(header, rows)

    print()
    print_table(
        ["time (s)", ours.name, theirs.name, "ratio"],
        [
            [
                "first call",
                f"{ours.first_s:.2f}",
                f"{theirs.first_s:.2f}",
                f"{theirs.first_s / ours.first_s:.1f}x",
            ],
            [
                "warm call",
                f"{ours.warm_s:.2f}",
                f"{theirs.warm_s:.2f}",
                f"{theirs.warm_s / ours.warm_s:.1f}x",
            ],
        ],
    )

    others = [n for n in names if n != reference]  # the reference's pose is exact by definition

    def mean(run: Run, get: Callable[[CameraErrors], float], which: Sequence[str]) -> float:
        return statistics.fmean(get(run.errors[n]) for n in which)

    def worst(run: Run, get: Callable[[CameraErrors], float], which: Sequence[str]) -> float:
        return max(get(run.errors[n]) for n in which)

    print()
    for label, get, which in (
        ("rotation", fields[0][1], others),
        ("centre", fields[1][1], others),
        ("focal", fields[2][1], names),
        ("RMS", fields[3][1], names),
    ):
        ratio_mean = mean(theirs, get, which) / mean(ours, get, which)
        ratio_worst = worst(theirs, get, which) / worst(ours, get, which)
        print(
            f"pose3d {label} error is {ratio_mean:.1f}x smaller on average "
            f"({ratio_worst:.1f}x on the worst camera)"
        )
    speed = theirs.warm_s / ours.warm_s
    first = theirs.first_s / ours.first_s
    print(f"pose3d is {speed:.1f}x faster (warm calls; first calls {first:.1f}x)")

    rotation = mean(theirs, fields[0][1], others) / mean(ours, fields[0][1], others)
    print()
    print(
        f"target: rotation error >= {ROTATION_TARGET:g}x smaller: "
        f"{'MET' if rotation >= ROTATION_TARGET else 'NOT MET'} ({rotation:.1f}x)"
    )
    print(f"target: no slower: {'MET' if speed >= SPEED_TARGET else 'NOT MET'} ({speed:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 board views: a smoke run")
    parser.add_argument("--frames", type=int, default=None, help="board views (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="the synthetic session's seed")
    parser.add_argument("--video", action="store_true", help="detect in the H.264 board videos")
    parser.add_argument("--repeats", type=int, default=3, help="warm calls timed (best of)")
    args = parser.parse_args()
    n_frames = args.frames if args.frames is not None else (30 if args.quick else 60)

    # import what both calibrations import lazily before timing anything
    import aniposelib.cameras  # noqa: F401
    import jax  # noqa: F401

    import pose3d.calibration.calibrate
    import pose3d.triangulation.api  # noqa: F401
    from pose3d.io.calibration_toml import load_calibration

    with tempfile.TemporaryDirectory(prefix="pose3d-bench-") as tmp:
        root = Path(tmp) / "session"
        start = time.perf_counter()
        write_session(root, n_frames, args.seed)
        written = time.perf_counter() - start
        start = time.perf_counter()
        detections = detect(root, args.video)
        detected = time.perf_counter() - start
        truth = load_calibration(root / "truth" / "calibration.toml")

    media = "H.264 videos (crf 17)" if args.video else "lossless PNGs"
    print(
        f"synthetic session: 4 cameras 640x480, {n_frames} board views, seed {args.seed}, "
        f"{media} (written in {written:.1f} s)"
    )
    seen = ", ".join(
        f"{name} {n}"
        for name, n in zip(detections.views, detections.found().sum(axis=1), strict=True)
    )
    print(f"board found ({detected:.1f} s, shared, not timed): {seen}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before timing")

    cameras, first, warm = run_pose3d(detections, args.repeats)
    ours = Run("pose3d", first, warm, camera_errors(cameras, truth, detections))
    cameras, first, warm = run_aniposelib(detections, args.repeats, args.seed)
    theirs = Run("aniposelib", first, warm, camera_errors(cameras, truth, detections))
    report(ours, theirs, detections.views[0])


if __name__ == "__main__":
    main()
