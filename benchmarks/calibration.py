"""Calibration accuracy and speed, pose3d side by side with aniposelib on the same detections.

    .venv/bin/python benchmarks/calibration.py             # 4 cameras, 60 board views, PNG media
    .venv/bin/python benchmarks/calibration.py --quick     # 30 board views, a smoke run
    .venv/bin/python benchmarks/calibration.py --video     # the H.264 board videos instead
    .venv/bin/python benchmarks/calibration.py --detection # board detection only (see below)

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

``--detection`` measures board detection instead (no aniposelib needed): recall (boards found /
boards wholly in view) and corner error (px against the true corners) of each detector, on
synthetic sets with ground truth (pose3d.synthetic.board_views: the rig of ``--seed``, clean and
degraded renders, a small board in 1088x1920 portrait images at steep views) and on the real
ChArUco images of ../shared/data (no truth there: boards and corners found). Checkerboards: SB
only, classic only, pose3d's (SB, then classic where SB fails); ChArUco: OpenCV's
size-independent detector settings against pose3d's size-adapted ones.
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


# ---------------------------------------------------------------- board detection

WRONG_PX = 5.0  # a found board whose median corner error exceeds this is in the wrong order
SHARED_DATA = Path(
    os.environ.get("POSE3D_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
REAL_SESSION = SHARED_DATA / "sleap_anipose_minimal_session" / "minimal_session"


@dataclass(frozen=True)
class DetectionSet:
    name: str
    kind: str  # "checkerboard" or "charuco"
    image_size: tuple[int, int]
    degraded: bool
    small: bool  # a small board at steep views (strong perspective)


@dataclass(frozen=True)
class DetectionScore:
    present: int  # boards wholly in view
    wrong: int  # found with the corners in the wrong order (median error > WRONG_PX)
    spurious: int  # found where no corner of the board is in view
    corners: int  # corners found on the boards wholly in view
    corners_present: int
    errors: dict[tuple[int, int], np.ndarray]  # (view, frame) of each board found: px per corner
    seconds: float

    @property
    def found(self) -> int:
        return len(self.errors) + self.wrong

    def pooled(self, where: set[tuple[int, int]] | None = None) -> list[float]:
        """Corner errors of the boards found (rightly ordered), or of those in ``where``."""
        keys = self.errors if where is None else [k for k in self.errors if k in where]
        return [float(e) for k in keys for e in self.errors[k]]


def detection_sets() -> list[DetectionSet]:
    sets = []
    for kind in ("checkerboard", "charuco"):
        sets += [
            DetectionSet(f"{kind}, 640x480, as rendered", kind, (640, 480), False, False),
            DetectionSet(f"{kind}, 640x480, degraded", kind, (640, 480), True, False),
            DetectionSet(
                f"{kind}, 1088x1920, small board, steep, degraded", kind, (1088, 1920), True, True
            ),
        ]
    return sets


def detection_board(spec: DetectionSet) -> Any:
    from pose3d.board import CharucoBoard, Checkerboard
    from pose3d.synthetic.board_media import default_board

    if not spec.small:
        return default_board(spec.kind)
    if spec.kind == "checkerboard":
        return Checkerboard(9, 6, 12.0)
    return CharucoBoard(7, 5, 15.0, 11.25, "DICT_4X4_50")


def render_set(spec: DetectionSet, n_frames: int, seed: int) -> Any:
    from pose3d.synthetic.board_views import Placement, board_views
    from pose3d.synthetic.degrade import DEGRADED_LARGE, DEGRADED_VGA

    degradation = None
    if spec.degraded:
        degradation = DEGRADED_LARGE if max(spec.image_size) > 1000 else DEGRADED_VGA
    placement = Placement(75.0, 45.0, 300.0) if spec.small else None
    board = detection_board(spec)
    return board_views(board, n_frames, seed, 4, spec.image_size, degradation, placement)


def score(views: Any, detector: Callable[[np.ndarray], Any]) -> DetectionScore:
    """Run ``detector`` on every image of ``views`` (pose3d.synthetic.board_views.BoardViews)."""
    from pose3d.board import MIN_CORNERS

    present, absent = views.present(), views.absent()
    wrong = spurious = corners = 0
    errors: dict[tuple[int, int], np.ndarray] = {}
    start = time.perf_counter()
    for v in range(views.images.shape[0]):
        for i in range(views.images.shape[1]):
            result = detector(views.images[v, i])
            hit = len(result.ids) >= MIN_CORNERS
            spurious += int(hit and absent[v, i])
            if not present[v, i]:
                continue
            corners += len(result.ids)
            if not hit:
                continue
            error = np.linalg.norm(result.corners - views.pixels[i, v, result.ids], axis=-1)
            if np.median(error) > WRONG_PX:
                wrong += 1
            else:
                errors[v, i] = error
    seconds = time.perf_counter() - start
    n_present = int(present.sum())
    total_corners = n_present * views.board.n_corners
    return DetectionScore(n_present, wrong, spurious, corners, total_corners, errors, seconds)


def detectors_for(board: Any) -> dict[str, Callable[[np.ndarray], Any]]:
    from pose3d.board import CharucoBoard
    from pose3d.calibration.detect import charuco_detector, make_detector

    if isinstance(board, CharucoBoard):
        return {
            "OpenCV settings": charuco_detector(board, size_adapted=False),
            "pose3d (size-adapted)": make_detector(board),
        }
    return {
        "SB only": make_detector(board, ("sb",)),
        "classic only": make_detector(board, ("classic",)),
        "pose3d (SB, then classic)": make_detector(board),
    }


def median_cell(errors: list[float]) -> str:
    return f"{np.median(errors):.3f}" if errors else "-"


def report_detection(n_frames: int, seed: int) -> None:
    print(f"board detection: synthetic sets of seed {seed}, 4 cameras x {n_frames} board poses")
    print(
        "recall: boards found / boards wholly in view; corner error: px from the true corners, "
        "median and 95th percentile over the boards each found, and the median over the boards "
        "the first detector (SB; OpenCV settings) found too"
    )
    header = [
        "set: detector",
        "recall",
        "wrong order",
        "spurious",
        "corners found",
        "median px",
        "p95 px",
        "median px, boards of the first",
        "s / image",
    ]
    rows = []
    for spec in detection_sets():
        start = time.perf_counter()
        views = render_set(spec, n_frames, seed)
        print(f"  {spec.name}: rendered in {time.perf_counter() - start:.0f} s", flush=True)
        n_images = views.images.shape[0] * views.images.shape[1]
        first: set[tuple[int, int]] | None = None
        for name, detector in detectors_for(views.board).items():
            s = score(views, detector)
            first = set(s.errors) if first is None else first
            pooled = s.pooled()
            rows.append(
                [
                    f"{spec.name}: {name}",
                    f"{s.found}/{s.present} ({100 * s.found / max(1, s.present):.0f} %)",
                    str(s.wrong),
                    str(s.spurious),
                    f"{100 * s.corners / max(1, s.corners_present):.1f} %",
                    median_cell(pooled),
                    f"{np.percentile(pooled, 95):.3f}" if pooled else "-",
                    median_cell(s.pooled(first)),
                    f"{s.seconds / n_images:.3f}",
                ]
            )
            print(f"    {name}: {s.seconds:.0f} s", flush=True)
        del views
    print()
    print_table(header, rows)
    report_real_detection()


def report_real_detection() -> None:
    """Boards and corners found in the real sleap-anipose ChArUco images (no ground truth)."""
    import cv2

    from pose3d.board import MIN_CORNERS
    from pose3d.io.board_toml import load_board

    if not REAL_SESSION.is_dir():
        print(f"\nreal ChArUco images: {REAL_SESSION} is absent, skipped")
        return
    board = load_board(REAL_SESSION / "board.toml")
    rows = []
    for camera in ("back", "mid", "side", "top"):
        paths = sorted((REAL_SESSION / camera / "calibration_images").glob("*.jpg"))
        images = [cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) for path in paths]
        size = f"{images[0].shape[1]}x{images[0].shape[0]}"
        for name, detector in detectors_for(board).items():
            results = [detector(image) for image in images]
            found = sum(len(r.ids) >= MIN_CORNERS for r in results)
            rows.append(
                [
                    f"{camera} ({size}): {name}",
                    f"{found}/{len(images)}",
                    str(sum(len(r.ids) for r in results)),
                    str(sum(r.n_markers for r in results)),
                ]
            )
    print()
    print(
        f"real ChArUco images ({REAL_SESSION.name}, {board.squares_x}x{board.squares_y}, "
        f"{board.dictionary}); no ground truth: every image shows the board"
    )
    print_table(["camera: detector", "boards found", "corners", "markers"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 board views: a smoke run")
    parser.add_argument("--frames", type=int, default=None, help="board views (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="the synthetic session's seed")
    parser.add_argument("--video", action="store_true", help="detect in the H.264 board videos")
    parser.add_argument("--repeats", type=int, default=3, help="warm calls timed (best of)")
    parser.add_argument(
        "--detection", action="store_true", help="measure board detection instead (see above)"
    )
    args = parser.parse_args()
    if args.detection:
        detection_frames = args.frames if args.frames is not None else (4 if args.quick else 12)
        report_detection(detection_frames, args.seed)
        return
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
