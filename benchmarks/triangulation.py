"""Triangulation speed and accuracy, pose3d side by side with aniposelib on the same input.

    .venv/bin/python benchmarks/triangulation.py            # 3 cameras x 1000 frames x 20 kp
    .venv/bin/python benchmarks/triangulation.py --quick    # 200 frames, a smoke run

Needs aniposelib, an optional extra: the dev install (`pip install -e ".[dev]"`, as `make test`
makes .venv) or `pip install "pose3d-suite[anipose]"`.

Input: a rig from pose3d.synthetic (3 cameras 1.0-1.5 m from an 800 mm arena, 1280 x 1024,
lens distortion, off-centre principal points), a 20-keypoint chain with constant bone lengths
walking and turning at 30 fps, projected with 1 px Gaussian noise; points outside an image are
missing. Scenario "outliers" replaces 20 % of one camera's points with points anywhere in its
image (on the first 200 frames by default: aniposelib's refinement takes minutes there).
Both libraries get the same pixels (aniposelib's CameraGroup is built from our cameras).
Timings are the best of several runs after a warm-up (aniposelib's JAX/numba compile is not
counted); aniposelib's RANSAC and refinement run once (they take seconds to minutes). Errors
are the distances to the true 3D points (mm), median and mean over the points both methods
return; "error ratio" is pose3d's median over aniposelib's. "DLT" times the array-level
``triangulate_points`` (points only, like ``CameraGroup.triangulate``); "(full dataset)" is
``triangulate`` on a labels DataArray, with reprojection errors, n_views and the xarray
dataset. The refinement row times pose3d's whole ``method="optim"`` (RANSAC start, refinement,
dataset) against ``triangulate_optim`` (DLT start, refinement), with the same weights.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.labels import new_labels
from pose3d.synthetic.chain import moving_chain
from pose3d.synthetic.rig import RigSpec, make_rig
from pose3d.triangulation import RefineOptions, triangulate, triangulate_points

SCALE_SMOOTH, SCALE_LENGTH, THRESHOLD = 2.0, 2.0, 5.0  # Anipose's defaults, given to both


@dataclass(frozen=True)
class Row:
    name: str
    ours_s: float
    anchor_s: float
    ours_error: tuple[float, float]  # median, mean (mm)
    anchor_error: tuple[float, float]
    target: float


def observe(
    cameras: CameraGroup, truth: np.ndarray, rng: np.random.Generator, outliers: float
) -> np.ndarray:
    """Pixels [V, T, K, 2] with 1 px noise, NaN outside the image, ``outliers`` of cam1's
    points replaced by uniform ones."""
    pixels = cameras.project(truth) + rng.normal(0.0, 1.0, (len(cameras), *truth.shape[:2], 2))
    for v, cam in enumerate(cameras):
        w, h = cam.size
        x, y = pixels[v, ..., 0], pixels[v, ..., 1]
        pixels[v][(x < 0) | (x > w - 1) | (y < 0) | (y > h - 1)] = np.nan
    if outliers:
        w, h = cameras.cameras[1].size
        wrong = rng.random(truth.shape[:2]) < outliers
        pixels[1][wrong] = rng.uniform([0, 0], [w - 1, h - 1], size=(int(wrong.sum()), 2))
    return pixels


def labels_position(cameras: CameraGroup, pixels: np.ndarray) -> xr.DataArray:
    n_frames, n_kp = pixels.shape[1:3]
    labels = new_labels(n_frames, cameras.names, [f"kp{k}" for k in range(n_kp)], ["animal"])
    labels[s.POSITION].values[:] = pixels.transpose(1, 0, 3, 2)[..., None]
    return labels[s.POSITION]


def anipose_group(cameras: CameraGroup) -> object:
    from aniposelib.cameras import Camera as AniposeCamera
    from aniposelib.cameras import CameraGroup as AniposeGroup

    return AniposeGroup(
        [
            AniposeCamera(
                name=c.name, size=c.size, matrix=c.matrix, dist=c.dist, rvec=c.rvec, tvec=c.tvec
            )
            for c in cameras
        ]
    )


def best_time(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def errors(points: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    distance = np.linalg.norm(points.reshape(-1, 3) - truth.reshape(-1, 3), axis=-1)[mask]
    return float(np.median(distance)), float(np.mean(distance))


def poses_points(poses: xr.Dataset) -> np.ndarray:
    return poses[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.INDIVIDUAL, s.SPACE).values[:, :, 0]


def scenario(
    cameras: CameraGroup, truth: np.ndarray, pixels: np.ndarray, repeats: int
) -> list[Row]:
    group = anipose_group(cameras)
    n_views, n_kp = pixels.shape[0], pixels.shape[2]
    flat = pixels.reshape(n_views, -1, 2)
    edges = [(i, i + 1) for i in range(n_kp - 1)]
    position = labels_position(cameras, pixels)
    rows = []

    group.triangulate(flat[:, :50])  # type: ignore[attr-defined]  # JAX compile, not timed
    ours_t, (ours, _) = best_time(lambda: triangulate_points(flat, cameras), repeats)  # type: ignore[misc]
    full_t, _ = best_time(lambda: triangulate(position, cameras), repeats)
    anchor_t, anchor = best_time(lambda: group.triangulate(flat), repeats)  # type: ignore[attr-defined]
    both = np.isfinite(ours).all(1) & np.isfinite(anchor).all(1)
    rows.append(
        Row("DLT", ours_t, anchor_t, errors(ours, truth, both), errors(anchor, truth, both), 5)
    )
    rows.append(
        Row(
            "  (full dataset)",
            full_t,
            anchor_t,
            errors(ours, truth, both),
            errors(anchor, truth, both),
            0,
        )
    )

    ours_t, (ours, _) = best_time(
        lambda: triangulate_points(flat, cameras, method="ransac"), repeats
    )  # type: ignore[misc]
    anchor_t, result = best_time(lambda: group.triangulate_ransac(flat), 1)  # type: ignore[attr-defined]
    anchor = result[0]  # type: ignore[index]
    both = np.isfinite(ours).all(1) & np.isfinite(anchor).all(1)
    rows.append(
        Row("RANSAC", ours_t, anchor_t, errors(ours, truth, both), errors(anchor, truth, both), 50)
    )

    options = RefineOptions(
        scale_smooth=SCALE_SMOOTH, scale_length=SCALE_LENGTH, loss_scale=THRESHOLD
    )
    names = [f"kp{k}" for k in range(n_kp)]
    named = [(names[a], names[b]) for a, b in edges]
    ours_t, poses = best_time(
        lambda: triangulate(position, cameras, method="optim", edges=named, refine_options=options),
        max(1, repeats // 2),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's object-mode fallback warnings
        anchor_t, anchor = best_time(
            lambda: group.triangulate_optim(  # type: ignore[attr-defined]
                pixels, constraints=[list(e) for e in edges], scale_smooth=SCALE_SMOOTH,
                scale_length=SCALE_LENGTH, reproj_error_threshold=THRESHOLD, n_deriv_smooth=1,
            ),
            1,
        )  # fmt: skip
    ours = poses_points(poses)  # type: ignore[arg-type]
    both = np.isfinite(ours).all(-1).ravel() & np.isfinite(anchor).all(-1).ravel()  # type: ignore[union-attr]
    rows.append(
        Row(
            "refinement (optim)",
            ours_t,
            anchor_t,
            errors(ours, truth, both),
            errors(anchor, truth, both),
            10,
        )
    )  # type: ignore[arg-type]
    return rows


def print_rows(title: str, rows: list[Row]) -> None:
    """One line per method; ``error ratio`` is pose3d's median error over aniposelib's."""
    print(f"\n{title}")
    print(
        f"| {'':18} | {'pose3d s':>8} | {'aniposelib s':>12} | {'speed-up':>8} | {'target':>6} "
        f"| {'pose3d mm med / mean':>20} | {'aniposelib mm':>15} | {'error ratio':>11} |"
    )
    widths = (20, 10, 14, 10, 8, 22, 17, 13)
    print("|" + "|".join("-" * (w - 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|")
    for r in rows:
        ratio = r.anchor_s / r.ours_s
        target = f">={r.target:.0f}x" if r.target else ""
        print(
            f"| {r.name:18} | {r.ours_s:8.4f} | {r.anchor_s:12.4f} | {ratio:7.1f}x | {target:>6} "
            f"| {r.ours_error[0]:9.3f} / {r.ours_error[1]:8.3f} "
            f"| {r.anchor_error[0]:6.3f} / {r.anchor_error[1]:6.3f} "
            f"| {r.ours_error[0] / r.anchor_error[0]:11.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 frames, fewer repeats")
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--keypoints", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--outlier-frames",
        type=int,
        default=200,
        help="frames of the outlier scenario (0 skips it; aniposelib's refinement needs "
        "minutes there)",
    )
    args = parser.parse_args()
    n_frames = 200 if args.quick else args.frames
    repeats = 3 if args.quick else 7
    rng = np.random.default_rng(args.seed)
    cameras = make_rig(RigSpec(n_cameras=3, image_size=(1280, 1024)), rng)
    truth = moving_chain(rng, n_frames, args.keypoints)
    print(
        f"{len(cameras)} cameras x {n_frames} frames x {args.keypoints} keypoints "
        f"({n_frames * args.keypoints} points), 1 px noise; "
        f"refinement: scale_smooth={SCALE_SMOOTH}, scale_length={SCALE_LENGTH}, "
        f"threshold/loss scale {THRESHOLD} px, first differences, bones as constraints"
    )
    clean = observe(cameras, truth, rng, outliers=0.0)
    print(f"points seen by 2+ views: {np.mean(np.isfinite(clean[..., 0]).sum(0) >= 2):.1%}")
    print_rows("clean (1 px noise)", scenario(cameras, truth, clean, repeats))
    n_dirty = min(n_frames, args.outlier_frames)
    if n_dirty:
        dirty = observe(cameras, truth[:n_dirty], rng, outliers=0.2)
        title = f"outliers: 20 % of cam1's points wrong, first {n_dirty} frames"
        print_rows(title, scenario(cameras, truth[:n_dirty], dirty, repeats))


if __name__ == "__main__":
    main()
