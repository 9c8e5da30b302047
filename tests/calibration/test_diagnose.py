"""Detection diagnostics: each cause on a small synthetic video made to have it.

The videos are a printed board (``board_image``) warped into 320x240 frames at varied poses over
a blotchy background, written as H.264; the diagnosis is checked against the cause built in,
and the corrected spec it proposes against the board that was printed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from pose3d.board import Board, CharucoBoard, Checkerboard
from pose3d.calibration.board_image import board_image
from pose3d.calibration.detect import detect_boards
from pose3d.calibration.diagnose import (
    Cause,
    camera_problems,
    check_detections,
    diagnose_camera,
)
from pose3d.errors import CalibrationError, Pose3dError
from pose3d.io.video_writing import write_image_folder, write_video

SIZE = (320, 240)
N_FRAMES = 8
CHARUCO = CharucoBoard(8, 5, 30.0, 22.0, "DICT_4X4_50")
# An even number of rows: the legacy and the current pattern differ.
EVEN_ROWS = CharucoBoard(5, 6, 30.0, 22.0, "DICT_4X4_50")
CHECKER = Checkerboard(9, 6, 25.0)


def board_frames(
    board: Board, fill: float = 0.7, seed: int = 0, n: int = N_FRAMES
) -> list[np.ndarray]:
    """RGB frames [H, W, 3]: the printed board, about ``fill`` of the frame, at varied poses."""
    rng = np.random.default_rng(seed)
    width, height = SIZE
    printed = board_image(board, 600 / max(board.size)).image.astype(np.float32)
    ih, iw = printed.shape
    src = np.float32([[0, 0], [iw, 0], [iw, ih], [0, ih]])
    frames = []
    for _ in range(n):
        blotches = rng.random((height // 8 + 2, width // 8 + 2)).astype(np.float32)
        background = 60 + 120 * cv2.resize(blotches, (width + 16, height + 16))[:height, :width]
        scale = fill * min(width / iw, height / ih) * rng.uniform(0.85, 1.0)
        angle = rng.uniform(-0.5, 0.5)
        rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        quad = (src - [iw / 2, ih / 2]) * scale @ rotation
        quad *= 1 + rng.uniform(-0.12, 0.12, (4, 1))  # perspective
        homography = cv2.getPerspectiveTransform(
            src, np.float32(quad + np.array([width / 2, height / 2]))
        )
        sheet = cv2.warpPerspective(printed, homography, SIZE)
        mask = cv2.warpPerspective(np.ones_like(printed), homography, SIZE)
        image = background * (1 - mask) + sheet * mask
        image = 38 + 0.7 * image + rng.normal(0, 3, image.shape)
        grey = np.clip(image, 0, 255).astype(np.uint8)
        frames.append(np.repeat(grey[..., None], 3, axis=-1))
    return frames


def board_video(path: Path, board: Board, fill: float = 0.7, mirrored: bool = False) -> Path:
    frames = board_frames(board, fill)
    if mirrored:
        frames = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
    return write_video(path, frames, fps=25)


def found_in_all(path: Path, board: Board) -> bool:
    detections = detect_boards({"cam": path}, board)
    return bool(detections.found().all())


@pytest.mark.parametrize(
    ("printed", "spec", "cause", "text"),
    [
        (
            replace(CHARUCO, dictionary="DICT_5X5_100"),
            CHARUCO,
            Cause.WRONG_DICTIONARY,
            "wrong dictionary: markers of DICT_5X5_50 found, the spec says DICT_4X4_50",
        ),
        (
            CHARUCO,
            replace(CHARUCO, squares_x=7, squares_y=4),
            Cause.INNER_CORNERS,
            "the board size looks like inner corners (7x4); give squares (8x5)",
        ),
        (
            replace(EVEN_ROWS, legacy=True),
            EVEN_ROWS,
            Cause.LEGACY_PATTERN,
            "legacy pattern: the board is found with legacy = true",
        ),
        (
            CHARUCO,
            replace(CHARUCO, squares_x=5, squares_y=8),
            Cause.WRONG_SIZE,
            "wrong board size: the board is found as 8x5 squares, the spec says 5x8",
        ),
        (
            CHECKER,
            replace(CHECKER, squares_x=8, squares_y=5),
            Cause.INNER_CORNERS,
            "the board size looks like inner corners (8x5); give squares (9x6)",
        ),
        (
            CHECKER,
            replace(CHECKER, squares_x=10, squares_y=7),
            Cause.WRONG_SIZE,
            "a checkerboard of 9x6 squares is found, the spec says 10x7",
        ),
    ],
    ids=["dictionary", "inner-corners", "legacy", "swapped", "checker-inner", "checker-big"],
)
def test_a_wrong_spec_is_named_and_corrected(
    tmp_path: Path, printed: Board, spec: Board, cause: Cause, text: str
) -> None:
    video = board_video(tmp_path / "cam2.mp4", printed)
    assert not found_in_all(video, spec)

    diagnosis = diagnose_camera(video, spec, camera="cam2")

    assert diagnosis.causes == (cause,)
    assert text in diagnosis.detail
    assert diagnosis.message.startswith(f"cam2 ({video}): ")
    assert diagnosis.board is not None
    assert found_in_all(video, diagnosis.board)  # the proposed spec finds the printed board


def test_the_legacy_test_board_really_differs() -> None:
    legacy = board_image(replace(EVEN_ROWS, legacy=True), 4).image
    current = board_image(EVEN_ROWS, 4).image
    assert (legacy != current).mean() > 0.1
    assert np.array_equal(
        board_image(replace(CHARUCO, legacy=True), 4).image, board_image(CHARUCO, 4).image
    )  # odd rows: no difference, so the diagnosis only tries the flag for even rows


def test_two_causes_are_both_named(tmp_path: Path) -> None:
    video = board_video(tmp_path / "cam.mp4", replace(CHARUCO, dictionary="DICT_6X6_50"))
    spec = replace(CHARUCO, squares_x=7, squares_y=4)
    diagnosis = diagnose_camera(video, spec)
    assert diagnosis.causes == (Cause.WRONG_DICTIONARY, Cause.INNER_CORNERS)
    assert "DICT_6X6_50" in diagnosis.detail and "give squares (8x5)" in diagnosis.detail
    assert diagnosis.board == replace(CHARUCO, dictionary="DICT_6X6_50")


def test_mirrored_video(tmp_path: Path) -> None:
    video = board_video(tmp_path / "cam.mp4", CHARUCO, mirrored=True)
    assert not found_in_all(video, CHARUCO)
    diagnosis = diagnose_camera(video, CHARUCO, camera="cam")
    assert diagnosis.cause is Cause.MIRRORED
    assert diagnosis.detail.startswith("mirrored video: the board is found in the horizontally")
    assert diagnosis.board is None  # the fix is in the video, not the spec


def test_markers_too_small(tmp_path: Path) -> None:
    video = board_video(tmp_path / "cam.mp4", CHARUCO, fill=0.3)
    assert not found_in_all(video, CHARUCO)
    diagnosis = diagnose_camera(video, CHARUCO)
    assert diagnosis.cause is Cause.MARKERS_TOO_SMALL
    # the board spans ~0.3 of 240 px: 8 squares of ~9 px, markers ~6-8 px across
    assert diagnosis.marker_px is not None and 4 < diagnosis.marker_px < 10
    assert f"markers too small (~{diagnosis.marker_px:.0f} px" in diagnosis.detail
    assert "film closer or use a bigger board / higher resolution" in diagnosis.detail


def test_checkerboard_squares_too_small(tmp_path: Path) -> None:
    video = board_video(tmp_path / "cam.mp4", CHECKER, fill=0.12)
    diagnosis = diagnose_camera(video, CHECKER)
    assert diagnosis.cause is Cause.MARKERS_TOO_SMALL
    assert diagnosis.detail.startswith("squares too small (~")


@pytest.mark.parametrize("board", [CHARUCO, CHECKER], ids=["charuco", "checkerboard"])
def test_nothing_in_view(tmp_path: Path, board: Board) -> None:
    video = board_video(tmp_path / "cam.mp4", board, fill=1e-4)  # a sub-pixel board
    diagnosis = diagnose_camera(video, board)
    assert diagnosis.cause is Cause.NOT_SEEN
    assert "in 8 sample frames; check that the board is in view, evenly lit" in diagnosis.detail


def test_a_correct_spec_in_few_frames_is_rarely_seen(tmp_path: Path) -> None:
    video = board_video(tmp_path / "cam.mp4", CHARUCO)
    diagnosis = diagnose_camera(video, CHARUCO, frames=[2, 5])
    assert diagnosis.causes == (Cause.RARELY_SEEN,)
    assert diagnosis.n_samples == 2
    assert "the spec matches (the board is found in 2 of 2 sample frames)" in diagnosis.detail


def test_image_folders_are_diagnosed_too(tmp_path: Path) -> None:
    folder = tmp_path / "cam3"
    write_image_folder(folder, board_frames(CHARUCO, n=4))
    diagnosis = diagnose_camera(folder, replace(CHARUCO, dictionary="DICT_7X7_50"))
    assert diagnosis.cause is Cause.WRONG_DICTIONARY
    assert diagnosis.message.startswith(
        f"cam3 ({folder}): wrong dictionary: markers of DICT_4X4_50"
    )


def test_check_detections_names_the_failing_camera(tmp_path: Path) -> None:
    media = {
        "cam1": board_video(tmp_path / "cam1.mp4", CHARUCO),
        "cam2": board_video(tmp_path / "cam2.mp4", replace(CHARUCO, dictionary="DICT_5X5_50")),
    }
    detections = detect_boards(media, CHARUCO)

    problems = camera_problems(detections, media)
    assert [p.camera for p in problems] == ["cam2"]
    assert (problems[0].n_found, problems[0].n_frames) == (0, N_FRAMES)
    with pytest.raises(CalibrationError) as error:
        check_detections(detections, media)
    message = str(error.value)
    assert (
        f"board found in 0 of {N_FRAMES} frames of cam2 ({media['cam2']}): wrong dictionary"
        in message
    )
    assert "cam1" not in message


def test_check_detections_passes_a_correct_spec(tmp_path: Path) -> None:
    media = {name: board_video(tmp_path / f"{name}.mp4", CHARUCO) for name in ("a", "b")}
    detections = detect_boards(media, CHARUCO)
    assert camera_problems(detections, media) == []
    check_detections(detections, media)  # no error
    with pytest.raises(CalibrationError, match=r"board found in 8 of 8 frames of a .*rarely"):
        check_detections(detections, media, min_frames=N_FRAMES + 1)


def test_real_board_given_as_inner_corners(minimal_session: Path) -> None:
    """sleap-anipose's real 8x11 board (DICT_4X4_1000) with the spec in inner corners."""
    from pose3d.io.board_toml import load_board

    board = load_board(minimal_session / "board.toml")
    spec = replace(board, squares_x=7, squares_y=10)
    diagnosis = diagnose_camera(minimal_session / "top" / "calibration_images", spec, max_samples=4)
    assert diagnosis.causes == (Cause.INNER_CORNERS,)
    assert diagnosis.board == board


def test_bad_requests_raise(tmp_path: Path) -> None:
    video = board_video(tmp_path / "cam1.mp4", CHARUCO)
    with pytest.raises(Pose3dError, match=r"cam1.mp4 \(.*cam1.mp4\): no frames to diagnose"):
        diagnose_camera(video, CHARUCO, frames=[])
    detections = detect_boards({"cam1": video}, replace(CHARUCO, dictionary="DICT_6X6_50"))
    with pytest.raises(Pose3dError, match="no calibration media for camera 'cam1'"):
        camera_problems(detections, {"cam2": video})
