"""Calibration fixtures: synthetic sessions with exact ground truth, and the real sleap-anipose
session.

The synthetic rig is the one the calibration targets are stated for: 4 cameras (640x480) around
an 800 mm arena at 1.0-1.5 m, principal points 5-20 px off the image centre, radial and
tangential distortion, and 60 board views each seen whole by at least two cameras. The fisheye
rig: 3 fisheye cameras at 0.6-0.75 m with 40 board views. The media are
lossless PNGs, so the only error left in the detections is the renderer's sensor noise and the
detector's own bias. Each session is written, detected and calibrated once per test run (writing
one takes ~10 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import xarray as xr

from pose3d.board import Board, BoardDetections
from pose3d.calibration.calibrate import CalibrationResult, calibrate
from pose3d.calibration.detect import detect_boards
from pose3d.cameras import CameraGroup
from pose3d.io.board_toml import load_board
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import ENGINE
from pose3d.io.session_toml import load_session
from pose3d.synthetic.sample import write_sample_session

SYNTHETIC = dict(n_cameras=4, n_frames=1, n_board_frames=60, image_size=(640, 480), seed=0)
# the fisheye rig: 3 cameras 0.6-0.75 m from the arena, ~100 degrees across, 40 board frames
FISHEYE = dict(SYNTHETIC, n_cameras=3, n_board_frames=40, lens="fisheye")
REAL_CAMERAS = ("back", "mid", "side", "top")


@dataclass(frozen=True)
class SyntheticRig:
    """A written synthetic session: the true cameras, the true board poses of the calibration
    media (truth/board.nc: ``rvec``/``tvec`` [time, axis] board -> world, mm) and the board
    detections in its PNG frames."""

    root: Path
    truth: CameraGroup
    board_truth: xr.Dataset
    detections: BoardDetections

    @property
    def board(self) -> Board:
        return self.detections.board


def write_rig(root: Path, board: str, spec: dict[str, object] = SYNTHETIC) -> SyntheticRig:
    write_sample_session(root, board=board, **spec)  # type: ignore[arg-type]
    session = load_session(root)
    assert session.board is not None
    frames = {
        name: path.parent / "frames" for name, path in session.calibration_media_paths().items()
    }
    with xr.open_dataset(root / "truth" / "board.nc", engine=ENGINE) as ds:
        board_truth = ds.load()
    return SyntheticRig(
        root,
        load_calibration(root / "truth" / "calibration.toml"),
        board_truth,
        detect_boards(frames, session.board),
    )


@pytest.fixture(scope="session")
def charuco_rig(tmp_path_factory: pytest.TempPathFactory) -> SyntheticRig:
    return write_rig(tmp_path_factory.mktemp("calibration") / "charuco", "charuco")


@pytest.fixture(scope="session")
def charuco_calibration(charuco_rig: SyntheticRig) -> CalibrationResult:
    return calibrate(charuco_rig.detections)


@pytest.fixture(scope="session")
def checkerboard_rig(tmp_path_factory: pytest.TempPathFactory) -> SyntheticRig:
    """The same rig and board poses with pose3d's default checkerboard (9x6 squares of 40 mm)."""
    return write_rig(tmp_path_factory.mktemp("calibration") / "checkerboard", "checkerboard")


@pytest.fixture(scope="session")
def checkerboard_calibration(checkerboard_rig: SyntheticRig) -> CalibrationResult:
    return calibrate(checkerboard_rig.detections)


@pytest.fixture(scope="session")
def fisheye_rig(tmp_path_factory: pytest.TempPathFactory) -> SyntheticRig:
    """A fisheye rig (OpenCV's fisheye model, see pose3d.synthetic.rig) with ChArUco media."""
    return write_rig(tmp_path_factory.mktemp("calibration") / "fisheye", "charuco", FISHEYE)


@pytest.fixture(scope="session")
def fisheye_calibration(fisheye_rig: SyntheticRig) -> CalibrationResult:
    return calibrate(fisheye_rig.detections, fisheye=True)


@pytest.fixture(scope="session")
def real_detections(minimal_session: Path) -> BoardDetections:
    """ChArUco corners of sleap-anipose's minimal session: 21 synchronized images per camera."""
    board = load_board(minimal_session / "board.toml")
    media = {name: minimal_session / name / "calibration_images" for name in REAL_CAMERAS}
    return detect_boards(media, board)


@pytest.fixture(scope="session")
def real_calibration(real_detections: BoardDetections) -> CalibrationResult:
    return calibrate(real_detections)


@pytest.fixture(scope="session")
def sleap_reference(minimal_session: Path) -> CameraGroup:
    """sleap-anipose's own calibration of the session (Anipose's model); its ``side`` entry is a
    broken copy of ``top``."""
    return load_calibration(minimal_session / "calibration.toml")
