"""The Calibration screen: the board form, a calibration run with progress, the report, the
hints when the board is not found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select, Static

from pose3d.board import CharucoBoard
from pose3d.errors import Pose3dError
from pose3d.io.lock import SessionLock
from pose3d.io.session_toml import load_session
from pose3d.tui.app import Pose3dApp
from pose3d.tui.screens.calibration import (
    CalibrationScreen,
    board_from_form,
    calibration_options,
)
from pose3d.tui.screens.views import ViewsScreen

pytestmark = [
    pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning"),
]
SIZE = (140, 44)


async def _until(pilot, predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until ``predicate()`` holds (workers report through messages)."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.1)


def _copy(template: Path, tmp_path: Path) -> Path:
    """A session of the test's own, copied from the module's template."""
    import shutil

    return Path(shutil.copytree(template, tmp_path / "session"))


async def _open_calibration(app: Pose3dApp, pilot) -> CalibrationScreen:  # type: ignore[no-untyped-def]
    """Wait for the session to open (a worker), then the Calibration screen (c in Views)."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ViewsScreen)
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(app.screen, CalibrationScreen)
    return app.screen


@pytest.fixture(scope="module")
def calibration_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 cameras at 320 x 240 with 20 board frames each: enough to calibrate in seconds."""
    from pose3d.synthetic import write_sample_session

    root = tmp_path_factory.mktemp("tui-calibration") / "session"
    write_sample_session(
        root, n_cameras=2, n_frames=2, n_board_frames=20, image_size=(320, 240),
        image_folders=False,
    )  # fmt: skip
    return root


def test_board_form_values_make_boards_or_say_what_is_wrong() -> None:
    values = {
        "type": "charuco", "squares_x": "7", "squares_y": "5", "square_length": "50",
        "marker_length": "37.5", "dictionary": "DICT_4X4_50", "legacy": False, "unit": "mm",
    }  # fmt: skip
    board = board_from_form(values)
    assert isinstance(board, CharucoBoard) and board.marker_length == 37.5
    with pytest.raises(Exception, match="whole numbers"):
        board_from_form({**values, "squares_x": "seven"})


def test_calibration_options_are_the_clis_or_say_what_is_wrong() -> None:
    cameras = ("cam0", "cam1", "cam2")
    blank = calibration_options({"step": "", "reference": "", "fisheye": ""}, cameras)
    assert blank == {"step": None, "reference": None, "origin_frame": None, "fisheye": False}
    chosen = calibration_options(
        {"step": "5", "reference": "cam2", "origin_frame": " 12", "fisheye": "all"}, cameras
    )
    assert chosen == {"step": 5, "reference": "cam2", "origin_frame": 12, "fisheye": True}
    some = calibration_options({"fisheye": "cam0, cam2"}, cameras)
    assert some["fisheye"] == ("cam0", "cam2")
    for wrong, words in [
        ({"step": "x"}, "whole number"),
        ({"step": "0"}, "1 or more"),
        ({"reference": "cam9"}, "not one of"),
        ({"fisheye": "cam0,cam7"}, "cam7"),
        ({"origin_frame": "first"}, "frame number"),
        ({"origin_frame": "-1"}, "0 or more"),
    ]:
        with pytest.raises(Pose3dError, match=words):
            calibration_options(wrong, cameras)


async def test_calibrate_from_the_tui(
    calibration_template: Path, tmp_path: Path, recent_file: Path
) -> None:
    root = _copy(calibration_template, tmp_path)
    app = Pose3dApp(root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_calibration(app, pilot)
        assert screen.query_one("#squares-x", Input).value == "7"  # the session's board
        # a wrong board is refused with a message, session.toml unchanged
        screen.query_one("#square-length", Input).value = "-3"
        await pilot.click("#calibrate")
        await pilot.pause()
        assert not screen.running
        assert any("square" in str(n.message) for n in app._notifications)
        screen.query_one("#square-length", Input).value = "50"
        # the options of pose3d calibrate: every 2nd frame, cam1 as the reference camera, the
        # world frame at the board in media frame 4
        screen.query_one("#calib-step", Input).value = "2"
        screen.query_one("#calib-reference", Select).value = "cam1"
        screen.query_one("#calib-origin", Input).value = "4"
        assert screen._options() == {
            "step": 2, "reference": "cam1", "origin_frame": 4, "fisheye": False
        }  # fmt: skip
        await pilot.pause(0.3)  # a button ignores clicks while it shows the last press (0.2 s)
        await pilot.click("#calibrate")
        await _until(pilot, lambda: screen.query_one("#calib-report", DataTable).row_count > 0)
        assert not screen.running
        assert set(screen.bars) >= {"detect cam0", "detect cam1"}
        table = screen.query_one("#calib-report", DataTable)
        assert table.row_count == 2
        assert all("±" in str(table.get_row_at(0)[i]) for i in (6, 7, 8, 9))  # fx fy cx cy
        verdict = str(screen.query_one("#calib-verdict", Static).content)
        assert "square length" in verdict
        report = json.loads((root / "calibration" / "report.json").read_text())
        assert report["reference"] == "board in frame 4"
        assert (root / "calibration" / "calibration.toml").is_file()
        assert app.workspace is not None and app.workspace.cameras is not None
        assert app.workspace.folder.writable  # the lent lock came back
        await pilot.press("escape")
        assert isinstance(app.screen, ViewsScreen)
    assert load_session(root).board is not None
    with SessionLock(root):
        pass


async def test_saving_the_board_keeps_what_was_written_to_session_toml_meanwhile(
    calibration_template: Path, tmp_path: Path, recent_file: Path
) -> None:
    """The board is written into session.toml as it is on disk when saved: a table added by
    hand while the app was open stays; a file that no longer reads is refused, unchanged."""
    root = _copy(calibration_template, tmp_path)
    toml = root / "session.toml"
    app = Pose3dApp(root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_calibration(app, pilot)
        edited = toml.read_text(encoding="utf-8") + '\n[lab]\nrig = "arena B"\n'
        toml.write_text(edited, encoding="utf-8")  # by hand, in an editor, while the app is open
        screen.query_one("#squares-x", Input).value = "9"
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = load_session(root)
        assert saved.board is not None and saved.board.squares_x == 9
        assert saved.extra["lab"] == {"rig": "arena B"}
        toml.write_text("[session\n", encoding="utf-8")  # broken meanwhile
        screen.query_one("#squares-x", Input).value = "8"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert toml.read_text(encoding="utf-8") == "[session\n"
        assert any("session.toml" in str(n.message) for n in app._notifications)


async def test_without_calibration_media_the_screen_shows_the_table_to_add(
    calibration_template: Path, tmp_path: Path, recent_file: Path
) -> None:
    """The error names session.toml's [calibration] table with this session's cameras (the
    brackets were taken for markup and vanished)."""
    import shutil
    from dataclasses import replace

    from pose3d.io.session_toml import save_session

    root = tmp_path / "session"
    shutil.copytree(calibration_template, root)
    save_session(replace(load_session(root), calibration_media={}))
    app = Pose3dApp(root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_calibration(app, pilot)
        await pilot.press("f5")
        status = screen.query_one("#calib-status", Static)
        await _until(pilot, lambda: not screen.running and "media" in str(status.render()))
        shown = str(status.render())
        assert '[calibration]\nmedia = { cam0 = "calibration/cam0.mp4", cam1 = ' in shown


async def test_a_board_that_is_not_found_gives_a_hint(
    calibration_template: Path, tmp_path: Path, recent_file: Path
) -> None:
    root = _copy(calibration_template, tmp_path)
    app = Pose3dApp(root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_calibration(app, pilot)
        screen.query_one("#squares-x", Input).value = "9"  # not the board in the videos
        await pilot.click("#calibrate")

        def status() -> str:
            return str(screen.query_one("#calib-status", Static).content)

        # the run may start and end within one pause: wait for its outcome, not its start
        await _until(pilot, lambda: not screen.running and "[red]" in status())
        assert "board" in status().lower()
        assert not (root / "calibration" / "calibration.toml").exists()
        assert app.workspace is not None and app.workspace.folder.writable


async def test_the_report_shows_the_intrinsics_uncertainty_and_its_warnings(
    session_dir: Path, recent_file: Path
) -> None:
    """A report.json with weakly determined intrinsics: the table shows each value with its
    standard deviation and the board's tilts, the verdict the warning with what to do; a camera
    of an older report (no such figures) shows its values alone."""
    from pose3d.calibration.report import CalibrationReport, CameraReport, verdict

    weak = CameraReport(
        "cam0", 0.21, 40, 1400, 635.2, 636.4, 293.5, 257.0, [-0.2, 0.05, 0.0, 0.0, 0.0],
        fx_std=36.4, fy_std=36.5, cx_std=9.5, cy_std=0.8, tilt_median_deg=7.0,
        tilt_max_deg=10.0, tilt_directions=0, fov_deg=54.4,
    )  # fmt: skip
    old = CameraReport("cam1", 0.2, 40, 1400, 700.0, 700.0, 320.0, 240.0, [0.0] * 5)
    cameras = [weak, old]
    report = CalibrationReport(cameras, None, "mm", "cam0", verdict(cameras, None, "mm"))
    (session_dir / "calibration").mkdir(exist_ok=True)
    (session_dir / "calibration" / "report.json").write_text(json.dumps(report.to_dict()))
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_calibration(app, pilot)
        table = screen.query_one("#calib-report", DataTable)
        labels = [str(column.label) for column in table.columns.values()]
        assert labels[6:11] == ["fx ± std", "fy ± std", "cx ± std", "cy ± std", "tilt° med/max"]
        first, second = table.get_row_at(0), table.get_row_at(1)
        assert [str(cell) for cell in first[6:11]] == [
            "635.2 ± 36.4", "636.4 ± 36.5", "293.5 ± 9.5", "257.0 ± 0.8", "7 / 10"
        ]  # fmt: skip
        assert [str(cell) for cell in second[6:11]] == ["700.0", "700.0", "320.0", "240.0", "-"]
        verdict_text = str(screen.query_one("#calib-verdict", Static).content)
        assert "camera cam0: its focal length is uncertain by ±36.5 px" in verdict_text
        assert "tilted toward and away from the camera by 30-45 degrees" in verdict_text
        assert "trust this calibration" not in verdict_text
