"""The report's intrinsic-trust figures against ground truth: focal and principal-point standard
deviations, board tilts, the field of view, and the warnings they raise.

A "stereo bench" (three cameras side by side, 150 mm apart, looking at the same volume 1 m away)
is filmed twice with the same board positions: once with the board tilted by 30-45 degrees in
every direction, once facing the cameras square on (within 3 degrees). Its detections are the
true corners projected through the true cameras plus 0.15 px of noise, no rendering, so each rig
calibrates in about a second. The rendered synthetic rig and the real session are checked too.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pose3d.board import BoardDetections, CharucoBoard
from pose3d.calibration import report, trust
from pose3d.calibration.calibrate import CalibrationResult, calibrate
from pose3d.cameras import (
    Camera,
    CameraGroup,
    look_at,
    matrix_to_rodrigues,
    rodrigues_to_matrix,
)

BOARD = CharucoBoard(7, 5, 50.0, 37.5, "DICT_4X4_50")
SIZE = (640, 480)
NOISE_PX = 0.15


def bench(rng: np.random.Generator) -> CameraGroup:
    """Three 640x480 cameras 150 mm apart at the origin, looking at (0, 1000, 0) mm; focal
    lengths 650-750 px (~50 degrees across), principal points 5-20 px off centre, barrel
    distortion."""
    cameras = []
    for k, x in enumerate((-150.0, 0.0, 150.0)):
        centre = np.array([x, 0.0, 0.0])
        rotation = look_at(centre, (0.0, 1000.0, 0.0))
        f = rng.uniform(650.0, 750.0)
        offset = rng.uniform(5.0, 20.0, 2) * rng.choice([-1.0, 1.0], 2)
        matrix = np.array([[f, 0, 320 + offset[0]], [0, f * 1.002, 240 + offset[1]], [0, 0, 1]])
        dist = np.array([rng.uniform(-0.25, -0.1), rng.uniform(0.0, 0.1), 0.001, -0.001, 0.0])
        cameras.append(
            Camera(f"cam{k}", SIZE, matrix, dist, matrix_to_rodrigues(rotation), -rotation @ centre)
        )
    return CameraGroup(tuple(cameras), "mm")


def board_poses(rng: np.random.Generator, n: int, tilt_deg: tuple[float, float]) -> np.ndarray:
    """``n`` board poses [n, 6] board -> world: centres 700-1300 mm in front of the bench, the
    face turned toward the cameras, tilted by ``tilt_deg`` (range) in a random direction and
    spun about its normal at random."""
    poses = np.zeros((n, 6))
    middle = np.array([BOARD.size[0] / 2.0, BOARD.size[1] / 2.0, 0.0])
    for i in range(n):
        depth = rng.uniform(700.0, 1300.0)
        centre = np.array([rng.uniform(-0.2, 0.2) * depth, depth, rng.uniform(-0.12, 0.12) * depth])
        angle, turn = np.radians(rng.uniform(*tilt_deg)), rng.uniform(0.0, 2.0 * np.pi)
        lean = np.cos(turn) * np.array([1.0, 0.0, 0.0]) + np.sin(turn) * np.array([0.0, 0.0, 1.0])
        face = np.cos(angle) * np.array([0.0, -1.0, 0.0]) + np.sin(angle) * lean
        z_axis = -face  # the printed face looks along the board's -z
        e1 = np.cross([0.0, 0.0, 1.0], z_axis)
        e1 /= np.linalg.norm(e1)
        spin = rng.uniform(-0.5, 0.5)
        x_axis = np.cos(spin) * e1 + np.sin(spin) * np.cross(z_axis, e1)
        rotation = np.column_stack([x_axis, np.cross(z_axis, x_axis), z_axis])
        poses[i, :3], poses[i, 3:] = matrix_to_rodrigues(rotation), centre - rotation @ middle
    return poses


def detections(rig: CameraGroup, poses: np.ndarray, rng: np.random.Generator) -> BoardDetections:
    """The true corners of every pose seen by every camera, with noise; NaN off the image."""
    local = BOARD.corner_points()
    corners = np.full((len(rig), len(poses), len(local), 2), np.nan)
    for i, pose in enumerate(poses):
        world = local @ rodrigues_to_matrix(pose[:3]).T + pose[3:]
        for v, cam in enumerate(rig):
            px = cam.project(world)
            inside = np.all((px >= 2.0) & (px <= np.array(SIZE) - 2.0), axis=1)
            corners[v, i, inside] = px[inside] + rng.normal(0.0, NOISE_PX, (int(inside.sum()), 2))
    return BoardDetections(rig.names, (SIZE,) * len(rig), np.arange(len(poses)), corners, BOARD)


def bench_calibration(
    tilt_deg: tuple[float, float], seed: int = 0
) -> tuple[CameraGroup, CalibrationResult]:
    """The true bench and its calibration from 40 board views tilted by ``tilt_deg``."""
    rig = bench(np.random.default_rng(seed))
    poses = board_poses(np.random.default_rng(seed + 100), 40, tilt_deg)
    found = detections(rig, poses, np.random.default_rng(seed + 200))
    return rig, calibrate(found)


def assert_std_covers_the_error(
    cameras: CameraGroup, truth: CameraGroup, report_: report.CalibrationReport
) -> None:
    """Every camera's fx, fy, cx, cy within 4 of its reported standard deviations of the truth."""
    for c in report_.cameras:
        true = truth[c.name].matrix
        for value, std, exact in [
            (c.fx, c.fx_std, true[0, 0]),
            (c.fy, c.fy_std, true[1, 1]),
            (c.cx, c.cx_std, true[0, 2]),
            (c.cy, c.cy_std, true[1, 2]),
        ]:
            assert std is not None and np.isfinite(std) and std > 0, c
            assert abs(value - exact) < 4.0 * std, (c.name, value, exact, std)


@pytest.fixture(scope="module")
def tilted_bench() -> tuple[CameraGroup, CalibrationResult]:
    return bench_calibration((30.0, 45.0))


@pytest.fixture(scope="module")
def flat_bench() -> tuple[CameraGroup, CalibrationResult]:
    return bench_calibration((0.0, 3.0))


# ---------------------------------------------------------------- ground truth: the bench


def test_boards_without_tilt_hide_a_focal_error_behind_the_same_rms(
    tilted_bench, flat_bench
) -> None:
    """Measured (seed 0): RMS 0.20-0.21 px both; fx off by 0.1-0.7 px (std 0.5) with tilted
    boards, by 79-82 px (std 36-37 px, 5.8 %) without; principal points off by up to 27 px."""
    truth, tilted = tilted_bench
    _, flat = flat_bench
    rms = [c.rms_px for c in tilted.report.cameras + flat.report.cameras]
    assert max(rms) < 1.1 * min(rms)  # the RMS error cannot tell them apart

    def focal_errors(result: CalibrationResult) -> np.ndarray:
        return np.array(
            [abs(c.fx / truth[c.name].matrix[0, 0] - 1.0) for c in result.report.cameras]
        )

    def focal_stds(result: CalibrationResult) -> np.ndarray:
        return np.array([c.focal_std for c in result.report.cameras])

    assert focal_errors(flat).max() > 10 * focal_errors(tilted).max()
    assert focal_stds(flat).min() > 20 * focal_stds(tilted).max()
    assert focal_stds(flat).min() > report.MAX_FOCAL_STD > focal_stds(tilted).max()


def test_boards_without_tilt_are_warned_about_and_tilted_ones_are_not(
    tilted_bench, flat_bench
) -> None:
    _, tilted = tilted_bench
    _, flat = flat_bench
    for c in tilted.report.cameras:
        assert report.intrinsic_warnings(c) == [], c
        assert c.tilt_max_deg is not None and c.tilt_max_deg > 40.0
        assert c.tilt_directions == trust.N_DIRECTIONS
    assert tilted.report.trusted, tilted.report.warnings
    for c in flat.report.cameras:
        assert c.tilt_max_deg is not None and c.tilt_max_deg < report.MIN_TILT_DEG
        assert c.tilt_directions == 0
        (warning,) = report.intrinsic_warnings(c)
        assert "focal length is uncertain" in warning and "tilted toward and away" in warning
        assert warning in flat.report.warnings
    assert not flat.report.trusted


def test_the_std_is_of_the_size_of_the_error_on_the_bench(tilted_bench, flat_bench) -> None:
    for truth, result in (tilted_bench, flat_bench):
        assert_std_covers_the_error(result.cameras, truth, result.report)


def test_tilts_are_measured_in_each_camera(tilted_bench) -> None:
    """The board's tilt against the truth: the poses' tilt from the middle camera's axis."""
    truth, result = tilted_bench
    middle = result.report.cameras[1]
    poses = board_poses(np.random.default_rng(100), 40, (30.0, 45.0))
    tilt, _ = trust.board_tilts(truth["cam1"], poses)
    assert middle.frames_used == 40
    assert middle.tilt_median_deg == pytest.approx(np.median(tilt), abs=0.5)
    assert middle.tilt_max_deg == pytest.approx(tilt.max(), abs=0.5)
    assert tilt.min() >= 30.0 and tilt.max() <= 45.0 + 1e-9  # the middle camera looks along y


# ---------------------------------------------------------------- ground truth: rendered rigs


def test_the_std_is_of_the_size_of_the_error_on_the_synthetic_rig(
    charuco_rig, charuco_calibration
) -> None:
    """Measured (seed 0): fx std 0.16-0.32 px (0.025-0.038 %), errors within 1.5 std; cx, cy
    std 0.2-0.8 px; the board tilted 34-43 degrees (median), in 3-4 directions; no warning."""
    assert_std_covers_the_error(
        charuco_calibration.cameras, charuco_rig.truth, charuco_calibration.report
    )
    for c in charuco_calibration.report.cameras:
        assert report.intrinsic_warnings(c) == [], c
        assert c.tilt_median_deg is not None and c.tilt_median_deg > 25.0
        assert c.tilt_directions is not None and c.tilt_directions >= 3
        assert c.fov_deg == pytest.approx(field_of_view(charuco_rig.truth[c.name]), abs=0.5)


def test_a_pinhole_model_on_a_very_wide_lens_is_warned_about(
    fisheye_rig, fisheye_calibration
) -> None:
    """Measured (seed 0): the fisheye model sees 105, 123 and 91 degrees across the three
    images; the pinhole model 103, 112 and 91: the two widest are told to use --fisheye."""
    for c in fisheye_calibration.report.cameras:
        assert c.fov_deg == pytest.approx(field_of_view(fisheye_rig.truth[c.name]), abs=1.0)
        assert report.intrinsic_warnings(c) == [], c  # the fisheye model fits it
    pinhole = calibrate(fisheye_rig.detections)
    wide = {c.name for c in pinhole.report.cameras if (c.fov_deg or 0.0) > report.WIDE_LENS_DEG}
    assert len(wide) >= 2
    for name in wide:
        assert any(f"--fisheye={name}" in w for w in pinhole.report.warnings)


def test_real_session_figures(real_calibration) -> None:
    """sleap-anipose's minimal session: every camera gets finite standard deviations and tilts."""
    for c in real_calibration.report.cameras:
        for value in (c.fx_std, c.fy_std, c.cx_std, c.cy_std, c.tilt_median_deg, c.tilt_max_deg):
            assert value is not None and np.isfinite(value) and value > 0, c
        assert c.focal_std is not None and c.focal_std < report.MAX_FOCAL_STD
    # measured: fx std 0.15-0.46 px (0.03-0.05 %), median tilts 7-78 degrees, lenses 76-96
    # degrees across: no warning of these kinds
    assert not [w for w in real_calibration.report.warnings if "focal" in w or "fisheye" in w]


# ---------------------------------------------------------------- the pieces


def field_of_view(camera: Camera) -> float:
    """The true field of view across the width at the principal point's height, by projecting
    rays: the angle of the rays whose pixels reach the left and right edges (bisection)."""
    angles = []
    for edge in (0.0, float(camera.size[0])):
        lo, hi = 0.0, np.radians(89.0)
        sign = 1.0 if edge > camera.matrix[0, 2] else -1.0
        for _ in range(60):
            mid = (lo + hi) / 2.0
            point = camera.rotation.T @ (
                np.array([sign * np.sin(mid), 0.0, np.cos(mid)]) - camera.tvec
            )
            u = camera.project(point[None])[0, 0]
            lo, hi = (mid, hi) if sign * (u - edge) < 0 else (lo, mid)
        angles.append(lo)
    return float(np.degrees(sum(angles)))


def test_board_tilts_and_directions_of_known_poses() -> None:
    camera = Camera("cam", (640, 480), np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]))
    facing = matrix_to_rodrigues(np.diag([1.0, 1.0, 1.0]))  # the board's -z looks at the camera
    turned = [
        matrix_to_rodrigues(rodrigues_to_matrix([0.0, a, 0.0])) for a in np.radians([30, -30])
    ]
    tipped = matrix_to_rodrigues(rodrigues_to_matrix([np.radians(40.0), 0.0, 0.0]))
    poses = np.array([[*r, 0.0, 0.0, 1000.0] for r in (facing, *turned, tipped)] + [[np.nan] * 6])
    tilt, direction = trust.board_tilts(camera, poses)
    np.testing.assert_allclose(tilt[:4], [0.0, 30.0, 30.0, 40.0], atol=1e-9)
    assert np.isnan(tilt[4])
    # turned about the y axis: to the left and right of the image; about x: up or down
    assert {round(direction[1]) % 360, round(direction[2]) % 360} == {0, 180}
    assert round(direction[3]) % 180 == 90
    assert trust.tilt_directions(tilt, direction, 15.0) == 3
    assert trust.tilt_directions(tilt, direction, 35.0) == 1
    assert trust.field_of_view_deg(camera) == pytest.approx(2 * np.degrees(np.arctan(0.64)))


def test_old_reports_and_constructors_keep_working() -> None:
    """A CameraReport without the new figures (an older report.json) gives no new warning; one
    with them serialises to strict JSON."""
    old = report.CameraReport("cam0", 0.2, 20, 500, 800.0, 800.0, 320.0, 240.0, [0.0] * 5)
    assert old.focal_std is None and old.principal_std_deg is None
    assert report.intrinsic_warnings(old) == []
    weak = report.CameraReport(
        "cam0", 0.2, 20, 500, 800.0, 800.0, 320.0, 240.0, [0.0] * 5, fx_std=8.0, fy_std=8.0,
        cx_std=1.0, cy_std=1.0, tilt_median_deg=4.0, tilt_max_deg=9.0, tilt_directions=0,
        fov_deg=43.6,
    )  # fmt: skip
    (warning,) = report.intrinsic_warnings(weak)
    assert "±8.0 px (1.00 % > 0.5 %)" in warning and "at most 9.0°" in warning
    assert "principal point" not in warning  # 1 px at 800 px is 0.07 degrees
    wide = report.CameraReport(
        "cam1", 0.2, 20, 500, 250.0, 250.0, 320.0, 240.0, [0.0] * 5, fov_deg=104.0
    )
    (warning,) = report.intrinsic_warnings(wide)
    assert "--fisheye=cam1" in warning
    full = report.CalibrationReport([weak, wide], None, "mm", "cam0", [])
    data = json.loads(json.dumps(full.to_dict(), allow_nan=False))
    assert data["cameras"][0]["fx_std"] == 8.0 and data["cameras"][1]["tilt_max_deg"] is None


def test_cli_table_shows_the_std_and_the_tilts(capsys, monkeypatch) -> None:
    from pose3d.commands.calibrate import print_report

    monkeypatch.setenv("COLUMNS", "80")  # a plain terminal: every value whole

    camera = report.CameraReport(
        "cam0", 0.2, 20, 500, 800.0, 801.0, 320.0, 240.0, [0.0] * 5, fx_std=8.0, fy_std=8.1,
        cx_std=1.2, cy_std=1.3, tilt_median_deg=4.0, tilt_max_deg=9.0, tilt_directions=0,
    )  # fmt: skip
    warnings = report.intrinsic_warnings(camera)
    print_report(report.CalibrationReport([camera], None, "mm", "cam0", warnings))
    out = " ".join(capsys.readouterr().out.split())
    assert "800.0±8.0" in out and "801.0±8.1" in out and "320.0±1.2" in out
    assert "tilt°" in out and "4/9" in out and "…" not in out
    assert "focal length is uncertain" in out


def _print_figures() -> None:  # pragma: no cover - the measurement of docs/calibration.md
    """Print each camera's figures on the bench (tilted, flat), the rendered rig (seed 0) and
    the real session (when ../shared/data holds it)."""
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import REAL_CAMERAS, write_rig

    from pose3d.calibration.detect import detect_boards
    from pose3d.io.board_toml import load_board

    def show(label: str, result: CalibrationResult, truth: CameraGroup | None) -> None:
        print(label)
        for c in result.report.cameras:
            error = "" if truth is None else f", fx error {c.fx - truth[c.name].matrix[0, 0]:+.2f}"
            print(
                f"  {c.name}: RMS {c.rms_px:.2f} px, fx {c.fx:.1f} ± {c.fx_std:.2f} px "
                f"({100 * (c.focal_std or 0.0):.3f} %){error}, cx ± {c.cx_std:.2f}, "
                f"cy ± {c.cy_std:.2f} px, tilt median {c.tilt_median_deg:.0f}° max "
                f"{c.tilt_max_deg:.0f}° in {c.tilt_directions} directions, {c.fov_deg:.0f}° across"
            )
        for warning in result.report.warnings:
            print(f"  warning: {warning}")

    for tilt in ((30.0, 45.0), (0.0, 3.0)):
        truth, result = bench_calibration(tilt)
        show(f"bench, board tilted {tilt[0]:g}-{tilt[1]:g} degrees", result, truth)
    rig = write_rig(Path(tempfile.mkdtemp()) / "charuco", "charuco")
    show("rendered synthetic rig, seed 0", calibrate(rig.detections), rig.truth)
    root = Path(__file__).parents[3] / "shared/data/sleap_anipose_minimal_session/minimal_session"
    if root.is_dir():
        media = {name: root / name / "calibration_images" for name in REAL_CAMERAS}
        found = detect_boards(media, load_board(root / "board.toml"))
        show("sleap-anipose minimal session", calibrate(found), None)


if __name__ == "__main__":
    _print_figures()
