"""The calibration report: what a lab needs to decide whether to trust a calibration.

Per camera: RMS reprojection error after bundle adjustment, frames and corners used, the
intrinsics, and how well the board poses pinned them (pose3d.calibration.trust): the standard
deviations of fx, fy, cx, cy, the board's tilts, the lens's field of view. For the rig: the
square-length diagnostic — the detected corners triangulated with the calibrated cameras, and
the distances between neighbouring corners compared with the true square length (median and
spread), which catches scale and consistency errors that a low reprojection error hides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board
from pose3d.cameras import CameraGroup

# Thresholds of the verdict.
MAX_RMS_PX = 1.0
MAX_SQUARE_ERROR = 0.005  # relative error of the median square length
MAX_SQUARE_STD = 0.05  # robust spread of square lengths, relative to the square
MAX_DROPPED = 0.10  # fraction of a camera's corners that bundle adjustment may drop
MIN_COVERAGE = 0.25  # fraction of a camera's image the board should have covered
# How well the board poses pinned the intrinsics (see pose3d.calibration.trust and
# docs/calibration.md for the figures behind these numbers).
MAX_FOCAL_STD = 0.005  # standard deviation of fx or fy, relative to the focal length
MAX_PRINCIPAL_STD_DEG = 0.5  # standard deviation of cx or cy, as the angle it turns the camera by
MIN_TILT_DEG = 15.0  # the board should be tilted at least this much from facing the camera
# a pinhole camera seeing more than this across its image wants --fisheye (real pinhole lenses
# calibrate well at 93-96 degrees; the synthetic fisheye lenses span 88-112, so this catches the
# widest only)
WIDE_LENS_DEG = 100.0


@dataclass(frozen=True)
class CameraReport:
    name: str
    rms_px: float
    frames_used: int
    corners_used: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortions: list[float]  # pinhole: k1 k2 p1 p2 k3; fisheye: k1 k2 k3 k4
    model: str = "pinhole"  # the lens model: "pinhole" or "fisheye"
    corners_dropped: int = 0  # detected corners left out as outliers
    coverage: float = 1.0  # fraction of the image (8 x 8 cells) where corners were detected
    # distortion coefficients held at 0 (pinhole k3, fisheye k4): the corners did not reach the
    # image corners
    held: list[str] = field(default_factory=list)
    # 1-sigma uncertainties (px) from the bundle adjustment's covariance; None: not computed
    fx_std: float | None = None
    fy_std: float | None = None
    cx_std: float | None = None
    cy_std: float | None = None
    # the board's tilt from facing the camera (deg) over the views used, and in how many of the 4
    # image directions (right, down, left, up) it was tilted by at least MIN_TILT_DEG
    tilt_median_deg: float | None = None
    tilt_max_deg: float | None = None
    tilt_directions: int | None = None
    fov_deg: float | None = None  # field of view across the image width, through the lens model

    @property
    def focal_std(self) -> float | None:
        """The larger standard deviation of fx and fy relative to the focal length."""
        if self.fx_std is None or self.fy_std is None:
            return None
        return max(self.fx_std / self.fx, self.fy_std / self.fy)

    @property
    def principal_std_deg(self) -> float | None:
        """The larger standard deviation of cx and cy as the angle it turns the camera by."""
        if self.cx_std is None or self.cy_std is None:
            return None
        return float(
            np.degrees(max(np.arctan(self.cx_std / self.fx), np.arctan(self.cy_std / self.fy)))
        )


@dataclass(frozen=True)
class SquareDiagnostic:
    """Distances between neighbouring triangulated corners, in the board's unit."""

    true_length: float
    median: float
    std: float
    n_pairs: int
    spread: float = 0.0  # 1.4826 x median absolute deviation: the std without the outliers

    @property
    def relative_error(self) -> float:
        return abs(self.median - self.true_length) / self.true_length

    @classmethod
    def measure(cls, lengths: NDArray[np.float64], true_length: float) -> SquareDiagnostic | None:
        """The diagnostic of measured square ``lengths`` [n] (NaN ignored); None when none."""
        lengths = lengths[np.isfinite(lengths)]
        if lengths.size == 0:
            return None
        median = float(np.median(lengths))
        spread = 1.4826 * float(np.median(np.abs(lengths - median)))
        return cls(true_length, median, float(np.std(lengths)), int(lengths.size), spread)


@dataclass(frozen=True)
class CalibrationReport:
    cameras: list[CameraReport]
    square: SquareDiagnostic | None
    unit: str
    reference: str
    warnings: list[str] = field(default_factory=list)
    # what this calibration could not check, and what it took as given (not reasons to
    # distrust it: e.g. one camera cannot measure scale)
    notes: list[str] = field(default_factory=list)

    @property
    def trusted(self) -> bool:
        return not self.warnings

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["trusted"] = self.trusted
        return data


def neighbour_pairs(board: Board) -> NDArray[np.int64]:
    """Corner id pairs [n, 2] one square apart (along x and along y)."""
    nx, ny = board.inner_corners
    ids = np.arange(nx * ny).reshape(ny, nx)
    along_x = np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], axis=1)
    along_y = np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], axis=1)
    return np.concatenate([along_x, along_y])


def square_diagnostic(
    cameras: CameraGroup, corners: NDArray[np.float64], board: Board
) -> SquareDiagnostic | None:
    """Triangulate corners [n_views, n_frames, n_corners, 2] (NaN = not seen) and measure the
    distances between neighbours; None when no corner is seen by two cameras."""
    import xarray as xr

    from pose3d import schema as s
    from pose3d.triangulation.api import triangulate

    _, n_frames, n_corners, _ = corners.shape
    position = xr.DataArray(
        corners.transpose(1, 0, 3, 2)[..., None],  # [frame, view, xy, corner, 1]
        dims=(s.TIME, s.VIEW, s.SPACE, s.KEYPOINT, s.INDIVIDUAL),
        coords={
            s.TIME: np.arange(n_frames),
            s.VIEW: list(cameras.names),
            s.SPACE: list(s.SPACE_2D),
            s.KEYPOINT: [f"corner_{i}" for i in range(n_corners)],
            s.INDIVIDUAL: ["board"],
        },
    )
    points = triangulate(position, cameras, method="dlt")[s.POSITION].values[..., 0]
    points = points.transpose(0, 2, 1)  # [frame, corner, xyz]
    pairs = neighbour_pairs(board)
    lengths = np.linalg.norm(points[:, pairs[:, 0]] - points[:, pairs[:, 1]], axis=-1).ravel()
    return SquareDiagnostic.measure(lengths, board.square_length)


def verdict(cameras: list[CameraReport], square: SquareDiagnostic | None, unit: str) -> list[str]:
    """The reasons not to trust a calibration (empty: trust it)."""
    warnings = [
        f"camera {c.name}: RMS reprojection error {c.rms_px:.2f} px > {MAX_RMS_PX} px; check its "
        "detections (blur, a mis-sized board spec) or film more board poses"
        for c in cameras
        if c.rms_px > MAX_RMS_PX
    ]
    for c in cameras:
        total = c.corners_used + c.corners_dropped
        if total and c.corners_dropped > MAX_DROPPED * total:
            warnings.append(
                f"camera {c.name}: {c.corners_dropped} of {total} detected corners "
                f"({100 * c.corners_dropped / total:.0f} %) disagree with the calibration and were "
                "left out; check for a mis-sized board spec, motion blur or a bent board"
            )
        if c.coverage < MIN_COVERAGE:
            warnings.append(
                f"camera {c.name}: the board covered {100 * c.coverage:.0f} % of the image; film "
                "it near the edges and corners of the image too, or the lens model is a guess there"
            )
    warnings += [w for c in cameras for w in intrinsic_warnings(c)]
    if square is None:
        warnings.append("no board corner was seen by two cameras: the rig scale is unchecked")
    else:
        if square.relative_error > MAX_SQUARE_ERROR:
            warnings.append(
                f"square length {square.median:.3f} {unit} against a true {square.true_length:g}"
                f" {unit} ({100 * square.relative_error:.2f} % off): check square_length in the "
                "board spec and that the board is flat"
            )
        if square.spread > MAX_SQUARE_STD * square.true_length:
            warnings.append(
                f"square lengths spread by {square.spread:.3f} {unit} (> "
                f"{100 * MAX_SQUARE_STD:g} % of a square): cameras disagree; film more poses "
                "seen by several cameras at once"
            )
    return warnings


TILT_ADVICE = (
    "film the board tilted toward and away from the camera by 30-45 degrees, turned left, right, "
    "up and down, and calibrate again"
)


def intrinsic_warnings(c: CameraReport) -> list[str]:
    """The reasons not to trust camera ``c``'s intrinsics though its RMS error may look fine:
    weakly determined focal length or principal point, board views without tilt (one warning
    with the advice), and a pinhole model on a lens too wide for it."""
    weak = []
    if c.focal_std is not None and not c.focal_std <= MAX_FOCAL_STD:
        std = max(c.fx_std or 0.0, c.fy_std or 0.0)
        weak.append(
            f"its focal length is uncertain by ±{std:.1f} px ({100 * c.focal_std:.2f} % > "
            f"{100 * MAX_FOCAL_STD:g} %)"
        )
    pp = c.principal_std_deg
    if pp is not None and not pp <= MAX_PRINCIPAL_STD_DEG:
        std = max(c.cx_std or 0.0, c.cy_std or 0.0)
        weak.append(
            f"its principal point is uncertain by ±{std:.1f} px ({pp:.2f}° of rotation > "
            f"{MAX_PRINCIPAL_STD_DEG:g}°)"
        )
    if c.tilt_max_deg is not None and not c.tilt_max_deg >= MIN_TILT_DEG:
        weak.append(
            f"the board was tilted at most {c.tilt_max_deg:.1f}° from facing the camera (< "
            f"{MIN_TILT_DEG:g}°), so the focal length rests on perspective it barely saw"
        )
    warnings = [f"camera {c.name}: " + "; ".join(weak) + f"; {TILT_ADVICE}"] if weak else []
    if c.model == "pinhole" and c.fov_deg is not None and c.fov_deg > WIDE_LENS_DEG:
        warnings.append(
            f"camera {c.name}: the lens sees {c.fov_deg:.0f}° across the image (> "
            f"{WIDE_LENS_DEG:g}°), wider than the pinhole model follows; calibrate it with "
            f"--fisheye={c.name} (or fisheye={{{c.name!r}}} in Python)"
        )
    return warnings
