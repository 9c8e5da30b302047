"""The calibration workflows beyond one synchronized board recording, measured against truth
and on the real sleap-anipose session:

1. separate intrinsics: each camera calibrated alone from its own board views, then the rig
   from the shared recording with those intrinsics held fixed, against the joint calibration;
2. refinement from labelled keypoints with the board as the prior: a calibration disturbed by
   half a degree brought back by synthetic labels, and the real session's proofread points.

    .venv/bin/python benchmarks/calibration_workflows.py          # synthetic and real
    .venv/bin/python benchmarks/calibration_workflows.py --seed 1

The real session comes from ../shared/data (or $POSE3D_SHARED_DATA); without it that part is
left out, and said so. Figures are in docs/calibration.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from pose3d.calibration.calibrate import calibrate  # noqa: E402
from pose3d.calibration.per_camera import calibrate_each  # noqa: E402
from pose3d.calibration.refine import Refinement, refine_from_labels  # noqa: E402
from pose3d.calibration.rotations import rotation_angle_deg  # noqa: E402
from pose3d.cameras import INTRINSICS_ONLY, CameraGroup, matrix_to_rodrigues  # noqa: E402
from pose3d.synthetic.calibration_cases import (  # noqa: E402
    disturbed,
    keypoint_pixels,
    own_board_views,
)

REAL_VIEWS = ("back", "mid", "side", "top")


def _shared() -> Path | None:
    path = Path(os.environ.get("POSE3D_SHARED_DATA", REPO.parent / "shared" / "data"))
    session = path / "sleap_anipose_minimal_session" / "minimal_session"
    return session if session.is_dir() else None


def proofread_pixels(session: Path) -> tuple[np.ndarray, list[str]]:
    """The proofread points of every view: pixels [n_views, frames x keypoints, 2] and each
    column's keypoint name (SLEAP analysis files: tracks [1, 2, K, T])."""
    import h5py

    views = []
    for view in REAL_VIEWS:
        (path,) = (session / view).glob("*_proofread.analysis.h5")
        with h5py.File(path, "r") as f:
            tracks = np.asarray(f["tracks"][0])  # [2, K, T]
            names = [n.decode() for n in f["node_names"][:]]
        views.append(tracks.transpose(2, 1, 0).reshape(-1, 2))
    return np.stack(views), names * tracks.shape[2]


def in_camera_frame(rig: CameraGroup, name: str) -> CameraGroup:
    """``rig`` with its world at camera ``name`` (calibrate's default world)."""
    ref = rig[name]
    cameras = []
    for cam in rig:
        rotation = cam.rotation @ ref.rotation.T
        cameras.append(
            cam.with_extrinsics(matrix_to_rodrigues(rotation), cam.world_to_camera(ref.center))
        )
    return CameraGroup(tuple(cameras), rig.unit)


def errors_row(name: str, cameras: CameraGroup, truth: CameraGroup) -> str:
    """Worst rotation (deg; "-" for intrinsics only), focal (%) and principal point (px)."""
    rotation = [float(rotation_angle_deg(c.rotation, truth[c.name].rotation)) for c in cameras]
    turned = "-" if cameras.metadata.get(INTRINSICS_ONLY) else f"{max(rotation):.3f}"
    focal = [abs(c.matrix[0, 0] / truth[c.name].matrix[0, 0] - 1.0) for c in cameras]
    principal = [
        float(np.linalg.norm(c.matrix[:2, 2] - truth[c.name].matrix[:2, 2])) for c in cameras
    ]
    return f"| {name} | {turned} | {100 * max(focal):.3f} | {max(principal):.2f} |"


def refinement_rows(result: Refinement) -> list[str]:
    rows = [
        "| camera | board RMS px before -> after | keypoints px before -> after |",
        "| --- | --- | --- |",
    ]
    for name, before in result.before.items():
        after = result.after[name]
        rows.append(
            f"| {name} | {before.board_rms_px:.3f} -> {after.board_rms_px:.3f} | "
            f"{before.keypoint_median_px:.2f} -> {after.keypoint_median_px:.2f} |"
        )
    rows.append(
        f"| all | | {result.disagreement('before'):.2f} -> {result.disagreement('after'):.2f} "
        f"({'accepted' if result.accepted else 'refused'}) |"
    )
    return rows


def synthetic(seed: int) -> None:
    from pose3d.calibration.detect import detect_boards
    from pose3d.io.calibration_toml import load_calibration
    from pose3d.io.session_toml import load_session
    from pose3d.synthetic.sample import write_sample_session

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rig"
        write_sample_session(
            root,
            board="charuco",
            n_cameras=4,
            n_frames=1,
            n_board_frames=60,
            image_size=(640, 480),
            seed=seed,
        )
        session = load_session(root)
        assert session.board is not None
        frames = {n: p.parent / "frames" for n, p in session.calibration_media_paths().items()}
        detections = detect_boards(frames, session.board)
        truth = load_calibration(root / "truth" / "calibration.toml")
        import xarray as xr

        with xr.open_dataset(root / "truth" / "board.nc", engine="h5netcdf") as ds:
            space = ds["corner_world"].values.reshape(-1, 3)

    print(f"## synthetic rig (4 cameras 640x480, 60 board views, seed {seed})\n")
    world = in_camera_frame(truth, truth.names[0])
    start = time.perf_counter()
    joint = calibrate(detections)
    joint_s = time.perf_counter() - start
    views = [own_board_views(c, detections.board, seed=i) for i, c in enumerate(truth)]
    start = time.perf_counter()
    apart = calibrate_each(views)
    rig = calibrate(detections, intrinsics={c.name: c for c in apart.cameras})
    apart_s = time.perf_counter() - start
    print("separate intrinsics (40 views of its own per camera, 0.05 px) vs joint:\n")
    print("| calibration | rotation deg (worst) | focal % (worst) | principal point px (worst) |")
    print("| --- | --- | --- | --- |")
    print(errors_row(f"joint ({joint_s:.1f} s)", joint.cameras, world))
    print(errors_row("each camera alone", apart.cameras, world))
    print(errors_row(f"rig, intrinsics held ({apart_s:.1f} s)", rig.cameras, world))
    print()

    pixels = keypoint_pixels(truth, space, n=400, noise_px=0.5)
    bumped = disturbed(truth, 0.5, 5.0)
    start = time.perf_counter()
    result = refine_from_labels(bumped, detections, pixels)
    seconds = time.perf_counter() - start
    print(
        f"refinement from 400 keypoints (0.5 px) of a calibration disturbed by 0.5 deg and 5 mm "
        f"({seconds:.1f} s):\n"
    )
    print("| calibration | rotation deg (worst) | focal % (worst) | principal point px (worst) |")
    print("| --- | --- | --- | --- |")
    print(errors_row("disturbed", bumped, truth))
    print(errors_row("refined", result.cameras, truth))
    print()
    print("\n".join(refinement_rows(result)))
    print()


def real(session: Path) -> None:
    from pose3d.calibration.detect import detect_boards
    from pose3d.io.board_toml import load_board

    board = load_board(session / "board.toml")
    media = {v: session / v / "calibration_images" for v in REAL_VIEWS}
    detections = detect_boards(media, board)
    joint = calibrate(detections)
    print("## real session (sleap-anipose minimal session, 4 cameras 1280x1024, 21 images)\n")
    apart = calibrate_each([detections.camera(v) for v in range(len(REAL_VIEWS))])
    rig = calibrate(detections, intrinsics={c.name: c for c in apart.cameras})
    print("| calibration | fx per camera | square length mm | RMS px per camera |")
    print("| --- | --- | --- | --- |")
    for name, calibrated in (("joint", joint), ("rig, intrinsics held", rig)):
        square = calibrated.report.square
        fx = ", ".join(f"{c.matrix[0, 0]:.1f}" for c in calibrated.cameras)
        rms = ", ".join(f"{c.rms_px:.2f}" for c in calibrated.report.cameras)
        print(f"| {name} | {fx} | {square.median:.3f} | {rms} |" if square else "")
    fx = ", ".join(f"{c.matrix[0, 0]:.1f}" for c in apart.cameras)
    rms = ", ".join(f"{c.rms_px:.2f}" for c in apart.report.cameras)
    print(f"| each camera alone | {fx} | (plane) | {rms} |\n")

    pixels, names = proofread_pixels(session)
    start = time.perf_counter()
    refined = refine_from_labels(joint.cameras, detections, pixels, keypoints=names)
    seconds = time.perf_counter() - start
    print(f"refinement from the proofread points ({refined.n_points} points, {seconds:.1f} s):\n")
    print("\n".join(refinement_rows(refined)))
    ranked = sorted(refined.keypoints_before.items(), key=lambda item: item[1])
    print(
        "\nper keypoint, leave one view out (px): "
        + ", ".join(f"{name} {px:.1f}" for name, px in ranked)
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    synthetic(args.seed)
    session = _shared()
    if session is None:
        print("real session: ../shared/data is absent; left out")
    else:
        real(session)


if __name__ == "__main__":
    main()
