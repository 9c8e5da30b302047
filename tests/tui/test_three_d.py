"""The 3D screen: triangulate from the TUI, the reprojection table, a rendered still."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import DataTable, Input, Select

from pose3d import schema as s
from pose3d.cli import build_parser
from pose3d.commands.triangulation import triangulation_settings_from_args as cli_settings
from pose3d.errors import Pose3dError
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import load_labels, load_poses, save_labels
from pose3d.tui.app import Pose3dApp
from pose3d.tui.logic.error_table import error_table
from pose3d.tui.screens.label import LabelScreen
from pose3d.tui.screens.three_d import ThreeDScreen, default_weights, triangulation_settings
from pose3d.tui.screens.views import ViewsScreen
from pose3d.tui.widgets.frame_view import FrameView

pytestmark = [
    pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning"),
]


def test_error_table_of_the_truth_is_zero_and_sees_a_moved_point(session_dir: Path) -> None:
    truth = session_dir / "truth"
    poses, labels = load_poses(truth / "poses3d.nc"), load_labels(truth / "labels.nc")
    cameras = load_calibration(truth / "calibration.toml")
    table = error_table(poses, labels, cameras)
    assert table.views == ("cam0", "cam1", "cam2")
    assert table.median.shape == (3, len(table.keypoints))
    assert np.nanmax(table.median) < 0.01  # the truth projects onto itself
    labels[s.POSITION].loc[{"view": "cam1", "keypoint": "nose"}] += np.array([3.0, 4.0])[:, None]
    moved = error_table(poses, labels, cameras)
    k = moved.keypoints.index("nose")
    assert moved.median[1, k] == pytest.approx(5.0, abs=0.01)
    assert moved.median[0, k] < 0.01


def test_error_table_pairs_frames_when_the_poses_count_seconds(session_dir: Path) -> None:
    """poses3d.nc counts seconds when its fps is known, labels.nc frames: frame 5's labels go
    with the pose at 5 / fps s (a table that paired times as numbers saw frames 0 and 1 only,
    and frame 1's labels with the pose at 1 s)."""
    truth = session_dir / "truth"
    poses, labels = load_poses(truth / "poses3d.nc"), load_labels(truth / "labels.nc")
    cameras = load_calibration(truth / "calibration.toml")
    assert poses.attrs[s.ATTR_TIME_UNIT] == "seconds" and poses.attrs[s.ATTR_FPS] > 1
    table = error_table(poses, labels, cameras)
    assert np.nanmax(table.median) < 0.01
    seen = np.isfinite(labels[s.POSITION].sel(view=list(table.views)).values).all(axis=2)
    assert table.count.sum() == seen.sum() and poses.sizes[s.TIME] > 2  # every frame paired
    shifted = labels.copy(deep=True)
    shifted[s.POSITION].loc[{"view": "cam1", "time": slice(4, None)}] += 6.0
    k_moved = error_table(poses, shifted, cameras).median[1]
    assert np.nanmin(k_moved) == pytest.approx(6.0 * np.sqrt(2), abs=0.05)
    one = labels.copy(deep=True)
    one[s.POSITION].loc[{"view": "cam2", "time": 7, "keypoint": "nose"}] += 9.0
    worst = error_table(poses, one, cameras)
    k = worst.keypoints.index("nose")
    assert worst.worst_frame is not None and worst.worst_frame[2, k] == 7  # where to go and fix


@pytest.fixture
def labelled(session_dir: Path) -> Path:
    """The session with its true calibration and, as manual labels, the true visible points."""
    shutil.copy(session_dir / "truth" / "calibration.toml", session_dir / "calibration")
    truth = load_labels(session_dir / "truth" / "labels.nc")
    labels = truth.drop_vars("visible")
    seen = truth["visible"].values
    labels[s.POSITION].values[:] = np.where(seen[:, :, None], truth[s.POSITION].values, np.nan)
    labels[s.SOURCE].values[:] = np.where(seen, int(s.PointSource.MANUAL), 0)
    labels[s.CONFIDENCE].values[:] = np.where(seen, 1.0, np.nan)
    # the truth counts the 12 frames of cam0; the session's labels cover 14 session frames
    labels = labels.reindex({s.TIME: np.arange(14)})
    labels[s.SOURCE].values[12:] = 0
    labels[s.REVIEW].values[12:] = False
    labels[s.SOURCE] = labels[s.SOURCE].astype(np.int8)
    labels[s.REVIEW] = labels[s.REVIEW].astype(bool)
    labels[s.HIDDEN] = labels[s.HIDDEN].fillna(False).astype(bool)  # reindex made it float
    save_labels(session_dir / "labels.nc", labels)
    return session_dir


def test_triangulation_settings_are_the_clis_or_say_what_is_wrong() -> None:
    cameras = ("cam0", "cam1", "cam2")
    settings = triangulation_settings("optim", "cam0, cam2", cameras)
    assert (settings.method, settings.views) == ("optim", ("cam0", "cam2"))
    assert triangulation_settings("dlt", " ", cameras).views is None
    for method, views, words in [
        ("svd", "", "choose one of"),
        ("dlt", "cam0,cam5", "cam5"),
        ("dlt", "cam1", "at least two"),
    ]:
        with pytest.raises(Pose3dError, match=words):
            triangulation_settings(method, views, cameras)


def test_triangulation_weights_are_the_clis() -> None:
    cameras = ("cam0", "cam1", "cam2")
    flags = "--method optim --ransac-threshold 4 --scale-smooth 0.5 --loss-scale 8 --interpolate"
    cli = build_parser().parse_args(["triangulate", "S", *flags.split(" ")])
    numbers = {"ransac-threshold": "4", "scale-smooth": "0.5", "scale-length": " ",
               "loss-scale": "8"}  # fmt: skip
    assert triangulation_settings("optim", "", cameras, numbers, True) == cli_settings(cli)
    defaults = triangulation_settings("dlt", "", cameras, default_weights())
    assert defaults == cli_settings(build_parser().parse_args(["triangulate", "S"]))
    for numbers, words in [
        ({"ransac-threshold": "ten"}, "RANSAC px: 'ten' is not a number"),
        ({"ransac-threshold": "-1"}, "threshold must be > 0"),
        ({"scale-smooth": "-1"}, "must be >= 0"),
    ]:
        with pytest.raises(Pose3dError, match=words):
            triangulation_settings("dlt", "", cameras, numbers)


async def test_three_d_screen_triangulates_and_tabulates(labelled: Path, recent_file: Path) -> None:
    app = Pose3dApp(labelled)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        assert isinstance(app.screen, ViewsScreen)
        await pilot.press("d")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ThreeDScreen)
        assert screen.table is None
        screen.query_one("#method", Select).value = "ransac"  # pose3d triangulate --method
        screen.query_one("#ransac-threshold", Input).value = "0"
        await pilot.press("t")
        await pilot.pause()
        assert screen.table is None  # refused, with the reason
        assert any("threshold" in n.message for n in app._notifications)
        screen.query_one("#ransac-threshold", Input).value = "3"
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.table is not None
        assert app.workspace is not None and app.workspace.folder.writable  # never released
        assert np.nanmax(screen.table.median) < 0.5  # true labels, true calibration
        assert (labelled / "poses3d.nc").is_file()
        # enter on a camera's cell: Label there, at that keypoint's worst frame
        errors = screen.query_one("#errors", DataTable)
        errors.focus()
        errors.move_cursor(row=3, column=2)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LabelScreen)
        cursor = app.workspace.editor.cursor
        table = screen.table
        assert (cursor.view, cursor.keypoint) == (table.views[1], table.keypoints[3])
        assert table.worst_frame is not None and cursor.frame == table.worst_frame[1, 3]
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("escape")
        assert isinstance(app.screen, ViewsScreen)
        await pilot.press("d")  # reopening reads poses3d.nc
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.table is not None  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_three_d_screen_renders_a_still_without_a_display(
    labelled: Path, recent_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = Pose3dApp(labelled)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        await pilot.press("d", "t")
        await app.workers.wait_for_complete()
        await pilot.press("v")  # no display: a still instead of a window
        await app.workers.wait_for_complete()
        await pilot.pause()
        still = app.screen.query_one("#still", FrameView)
        assert still.frame is not None and still.frame.shape == (600, 800, 3)
        assert still.frame.std() > 5  # a picture, not an empty field
