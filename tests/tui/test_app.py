"""Pilot tests of the app: Sessions, Views and Label screens on the sample session."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from rich.console import Console
from textual.widgets import Static

from pose3d import schema as s
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels
from pose3d.io.video_reading import VideoReader
from pose3d.tracking.review import review_queue
from pose3d.tui.app import Pose3dApp
from pose3d.tui.drawing.timeline import FrameStatus
from pose3d.tui.screens.label import LabelScreen
from pose3d.tui.screens.sessions import SessionsScreen
from pose3d.tui.screens.views import ViewsScreen
from pose3d.tui.state.recent import load_recent
from pose3d.tui.widgets.frame_view import FrameView
from pose3d.tui.widgets.graphics import PX_PER_CELL
from pose3d.tui.widgets.halfcell import HalfcellCanvas
from pose3d.tui.widgets.timeline_bar import TimelineBar

SIZE = (120, 40)
pytestmark = [
    # textual-image 0.12's half-cell renderer reads pixels with Pillow's deprecated getdata
    pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning"),
]


async def _settle(app: Pose3dApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """Let frames that were not prefetched be decoded (a worker) and drawn."""
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _open_label(app: Pose3dApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for the session to open (a worker), then Label on its first camera and frame."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def _propagate_all_views(app: Pose3dApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """From the Label screen: the Propagate dialog, every view, every frame; until it is done."""
    await pilot.press("t")
    await pilot.pause()
    await pilot.click("#start-button")  # every camera with manual points: the default
    await app.workers.wait_for_complete()
    await pilot.pause()


def _cell_of(view: FrameView, x: float, y: float) -> tuple[int, int]:
    """The widget offset (for pilot.click) of the cell that shows image pixel (x, y)."""
    col, row = view.viewport.pixel_to_cell(x, y)
    region, content = view.region, view.content_region
    return round(col) + content.x - region.x, round(row) + content.y - region.y


async def test_views_screen_steps_jumps_and_plays(session_dir: Path, recent_file: Path) -> None:
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ViewsScreen)
        views = list(app.screen.query(FrameView))
        assert [v.view for v in views] == ["cam0", "cam1", "cam2"]
        assert views[0].frame is not None and views[2].frame is None  # cam2 starts at frame 2
        assert "not filmed" in str(views[2].border_subtitle)
        await pilot.press("right", "right", "right")
        await _settle(app, pilot)
        assert screen.frame == 3
        assert views[2].frame is not None
        with VideoReader(session_dir / "videos" / "cam2.mp4") as reader:
            np.testing.assert_array_equal(views[2].frame, reader[1])  # offset 2 applied
        with VideoReader(session_dir / "videos" / "cam0.mp4") as reader:
            np.testing.assert_array_equal(views[0].frame, reader[3])
        assert "camera frame 1" in str(views[2].border_subtitle)
        await pilot.press("shift+right")
        assert screen.frame == 13
        await pilot.press("shift+left", "home")
        assert screen.frame == 0
        await pilot.press("end")
        assert screen.frame == 13
        await pilot.press("g")
        await pilot.press("5", "enter")  # the dialog selects its text on focus: 5 replaces it
        await pilot.pause()
        assert screen.frame == 5
        screen.fps = 4.0  # slow playback, so that pause comes before the end even under load
        await pilot.press("space")
        assert screen.player is not None
        await pilot.press("space")
        assert screen.player is None
        screen.fps = 100.0
        await pilot.press("space")  # plays to the last frame and stops there
        for _ in range(100):
            if screen.player is None:
                break
            await pilot.pause(0.05)
        assert screen.player is None and screen.frame == 13
        await pilot.press("3")
        assert screen.view == "cam2"
        timeline = app.screen.query_one(TimelineBar)
        await pilot.click(TimelineBar, offset=(0, 0))
        assert screen.frame == 0
        await pilot.click(TimelineBar, offset=(timeline.size.width - 1, 0))
        assert screen.frame == 13
    assert load_recent(recent_file) == [session_dir.resolve()]


async def test_label_screen_places_points_in_two_views_saved_on_disk(
    session_dir: Path, recent_file: Path
) -> None:
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        await pilot.press("enter")  # label cam0 at frame 0
        await pilot.pause()
        assert isinstance(app.screen, LabelScreen)
        view = app.screen.query_one("#label-view", FrameView)
        targets = {"cam0": [(40.0, 30.0), (100.0, 80.0)], "cam1": [(60.0, 50.0)]}
        placed = []  # (view, keypoint, frame, target, viewport)
        for name, points in targets.items():
            if name == "cam1":
                await pilot.press("tab")  # next view, same frame 0
                await _settle(app, pilot)
                assert view.view == "cam1"
            for target in points:
                cursor = app.workspace.editor.cursor
                await pilot.click(view, offset=_cell_of(view, *target))
                placed.append((name, cursor.keypoint, cursor.frame, target, view.viewport))
                await pilot.pause()
        editor = app.workspace.editor
        assert editor.cursor.keypoint == editor.keypoints[3]  # each click moved to the next
    labels = load_labels(session_dir / "labels.nc")
    assert int((labels[s.SOURCE].values == s.PointSource.MANUAL).sum()) == 3
    for name, kp, frame, target, viewport in placed:
        where = {"time": frame, "view": name, "keypoint": kp}
        xy = labels[s.POSITION].sel(where).values[:, 0]
        assert int(labels[s.SOURCE].sel(where).values[0]) == s.PointSource.MANUAL
        # a click lands within half a cell of the target pixel
        assert abs(xy[0] - target[0]) <= viewport.scale / 2 + 1e-9
        assert abs(xy[1] - target[1]) <= viewport.scale * viewport.cell_aspect / 2 + 1e-9
    with SessionLock(session_dir):  # the app released the lock on exit
        pass


async def test_label_screen_nudge_delete_undo_zoom(session_dir: Path, recent_file: Path) -> None:
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _open_label(app, pilot)
        editor = app.workspace.editor
        view = app.screen.query_one("#label-view", FrameView)
        first = editor.cursor
        await pilot.click(view, offset=_cell_of(view, 50, 50))
        await pilot.press("p")  # back to the point just placed
        assert editor.cursor == first
        x, y = editor.point()
        await pilot.press("right", "shift+down", "up")
        assert editor.point() == pytest.approx((x + 1, y + 9))
        await pilot.press("delete")
        assert editor.point() is None
        await pilot.press("ctrl+z")
        assert editor.point() == pytest.approx((x + 1, y + 9))
        await pilot.press("ctrl+y")
        assert editor.point() is None
        await pilot.press("u")
        scale = view.viewport.scale
        await pilot.press("plus", "plus")
        assert view.viewport.scale == pytest.approx(scale / 2.25)
        # zoomed in around the point: a click next to it still maps to the right pixel
        await pilot.press("n")
        await pilot.click(view, offset=_cell_of(view, x + 3, y - 2))
        placed = editor.point(
            editor.cursor.__class__(0, "cam0", editor.keypoints[1], first.individual)
        )
        assert placed is not None
        assert abs(placed[0] - (x + 3)) <= view.viewport.scale / 2 + 1e-9
        assert (
            abs(placed[1] - (y - 2)) <= view.viewport.scale * view.viewport.cell_aspect / 2 + 1e-9
        )
        await pilot.press("0")
        assert view.viewport.zoom == 1.0
        await pilot.press("escape")
        assert isinstance(app.screen, ViewsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, SessionsScreen)
        assert app.workspace is None
    on_disk = load_labels(session_dir / "labels.nc")
    assert int((on_disk[s.SOURCE].values == s.PointSource.MANUAL).sum()) == 2


async def test_a_keypoint_is_placed_with_the_keyboard_crosshair(
    session_dir: Path, recent_file: Path
) -> None:
    """An arrow on a keypoint not placed here shows the crosshair (at the middle of the view:
    no calibration, no neighbouring point); arrows and h j k l move it one picture pixel (shift:
    ten), enter places the keypoint there; on the next frame it starts at the previous frame's
    point; escape takes it away before it leaves the screen."""
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _open_label(app, pilot)
        screen, editor = app.screen, app.workspace.editor
        assert isinstance(screen, LabelScreen)
        view = screen.query_one("#label-view", FrameView)
        first = editor.cursor
        assert editor.point() is None
        await pilot.press("right")  # not placed here: shows the crosshair, moves nothing
        assert screen.crosshair is not None and editor.point() is None
        x0, y0 = screen.crosshair.x, screen.crosshair.y
        assert (x0, y0) == pytest.approx(view.viewport.middle)
        fx = view.viewport.scale / PX_PER_CELL[0]
        fy = view.viewport.scale * view.viewport.cell_aspect / PX_PER_CELL[1]
        assert fx > 1 and fy > 1  # the whole image fits: a picture pixel is several image px
        await pilot.press("l", "l", "right", "h", "J", "k")
        assert (screen.crosshair.x, screen.crosshair.y) == pytest.approx((x0 + 2 * fx, y0 + 9 * fy))
        assert not editor.hidden(first)  # h moved the crosshair, it did not mark anything
        drawn = screen._inputs(first).markers
        assert [(m.x, m.y) for m in drawn if m.crosshair] == [
            (screen.crosshair.x, screen.crosshair.y)
        ]
        await pilot.press("enter")
        assert editor.point(first) == pytest.approx((x0 + 2 * fx, y0 + 9 * fy))
        assert editor.source(first) == s.PointSource.MANUAL
        assert editor.cursor.keypoint == editor.keypoints[1] and screen.crosshair is None
        await pilot.press("full_stop", "p", "x")  # the next frame, the same keypoint
        assert editor.cursor.frame == first.frame + 1 and editor.cursor.keypoint == first.keypoint
        assert (screen.crosshair.x, screen.crosshair.y) == pytest.approx(editor.point(first))
        await pilot.press("escape")
        assert screen.crosshair is None and app.screen is screen
        assert editor.point() is None  # nothing was placed on this frame
        await pilot.press("ctrl+z")
        assert editor.point(first) is None  # placing is one undoable edit
        await pilot.press("escape")
        assert isinstance(app.screen, ViewsScreen)


async def test_label_screen_goes_to_frames_and_plays(session_dir: Path, recent_file: Path) -> None:
    """End, Home, g (a frame number) and space (play, then stop) in Label, as in Views."""
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _open_label(app, pilot)
        screen, editor = app.screen, app.workspace.editor
        assert isinstance(screen, LabelScreen)
        last = editor.first_frame + editor.n_frames - 1
        await pilot.press("end")
        assert editor.cursor.frame == last
        await pilot.press("home")
        assert editor.cursor.frame == editor.first_frame
        await pilot.press("g")
        await pilot.press("5", "enter")  # the dialog selects its text on focus: 5 replaces it
        await pilot.pause()
        assert app.screen is screen and editor.cursor.frame == 5
        await pilot.press("space")
        for _ in range(400):  # until it has played a few frames (at 30 fps: ~0.1 s)
            await pilot.pause(0.05)
            if editor.cursor.frame > 7:
                break
        await pilot.press("space")
        assert screen.player is None and editor.cursor.frame > 7
        played_to = editor.cursor.frame
        await pilot.pause(0.2)
        assert editor.cursor.frame == played_to  # stopped


async def test_labels_can_be_hidden_and_resized_in_views_and_label(
    session_dir: Path, recent_file: Path
) -> None:
    """v hides the labels (markers and bones) to see the animal; m changes the markers' size;
    both screens share the choice."""
    from pose3d.io.netcdf import save_labels
    from pose3d.synthetic.compare import seed_labels

    truth = load_labels(session_dir / "truth" / "labels.nc")
    save_labels(session_dir / "labels.nc", seed_labels(truth, [0]))
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        views = app.screen
        assert isinstance(views, ViewsScreen)
        shown = views.query(FrameView).first()
        assert shown.markers and shown.bones is not None
        await pilot.press("m")
        assert {m.size for m in shown.markers} == {1.5}
        await pilot.press("v")
        assert shown.markers == () and shown.bones is None
        await pilot.press("enter")
        await _settle(app, pilot)
        label = app.screen.query_one("#label-view", FrameView)
        assert label.markers == () and np.isnan(label.bones).all()
        await pilot.press("v")
        assert label.markers and {m.size for m in label.markers} == {1.5}
        await pilot.press("N")  # each keypoint's name beside its marker
        named = {m.name for m in label.markers}
        assert named <= set(app.workspace.editor.keypoints) and len(named) >= 3
        await pilot.pause()
        picture = label.query_one(".frame-image")
        if isinstance(picture, HalfcellCanvas):  # written as characters over the cells
            lines = [picture.render_line(y).text for y in range(picture.size.height)]
            assert sum(any(n[:4] in line for line in lines) for n in named) >= 3


async def test_views_steps_through_the_flagged_frames_only(
    session_dir: Path, recent_file: Path
) -> None:
    from pose3d.io.netcdf import save_labels
    from pose3d.labels import new_labels, set_point

    truth = load_labels(session_dir / "truth" / "labels.nc")
    views = [str(v) for v in truth["view"].values]
    keypoints = [str(k) for k in truth["keypoint"].values]
    labels = new_labels(14, views, keypoints, ["individual_0"])
    for frame in (4, 9):
        labels = set_point(labels, frame, "cam1", "nose", "individual_0", (9.0, 9.0), 2)
        labels[s.REVIEW].loc[{"time": frame, "view": "cam1", "keypoint": "nose"}] = True
    save_labels(session_dir / "labels.nc", labels)
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ViewsScreen)
        await pilot.press("f")
        assert screen.frame == 4
        await pilot.press("f")
        assert screen.frame == 9
        await pilot.press("f")  # none after: it stays, and says so
        assert screen.frame == 9
        assert any("no flagged frame after frame 9" in str(n.message) for n in app._notifications)
        await pilot.press("F")
        assert screen.frame == 4


async def test_a_long_keypoint_list_scrolls_and_keeps_the_legend(
    session_dir: Path, recent_file: Path
) -> None:
    """In a short terminal the list shows the part around the current keypoint, with how many
    are above and below, and the individuals' legend stays in view; a click still picks the
    keypoint under it."""
    from pose3d.tui.widgets.keypoint_list import KeypointList

    app = Pose3dApp(session_dir)
    async with app.run_test(size=(100, 20)) as pilot:
        await _open_label(app, pilot)
        editor = app.workspace.editor
        listed = app.screen.query_one("#keypoints", KeypointList)
        n = len(editor.keypoints)
        first, stop = listed.shown()
        assert stop - first < n  # too short for all of them
        said = " ".join(str(m.message) for m in app._notifications)
        assert "the terminal is 100 x 20; pose3d's screens need at least 80 x 24" in said
        for _ in range(n - 1):
            await pilot.press("n")
        text = listed.render().plain
        assert editor.cursor.keypoint == editor.keypoints[-1] and editor.keypoints[-1] in text
        assert "more" in text and text.splitlines()[-1].strip().endswith("individual_0")
        first, stop = listed.shown()
        await pilot.click(listed, offset=(4, 1))  # the first keypoint line under "↑ N more"
        assert editor.cursor.keypoint == editor.keypoints[first]


async def test_read_only_looks_at_a_session_another_pose3d_holds(
    session_dir: Path, recent_file: Path
) -> None:
    """pose3d tui --read-only: the session opens although it is locked, says so in the title,
    and refuses an edit and a propagation with the reason, leaving nothing written."""
    from pose3d.io.lock import SessionLock

    with SessionLock(session_dir):  # another pose3d holds it
        app = Pose3dApp(session_dir, read_only=True)
        async with app.run_test(size=SIZE) as pilot:
            await _open_label(app, pilot)
            assert isinstance(app.screen, LabelScreen) and "(read-only)" in app.screen.title
            await pilot.press("x", "enter")  # place with the crosshair: refused
            await pilot.press("t")  # propagate: refused before any tracking
            await pilot.pause()
            said = [str(n.message) for n in app._notifications if n.severity == "error"]
            assert any("read-only" in m and "cannot propagate" in m for m in said)
            assert any("open read-only" in m and "nothing can be changed" in m for m in said)
            assert app.workspace.editor.undo_depth == 0 and isinstance(app.screen, LabelScreen)
    assert not (session_dir / "labels.nc").exists()


async def test_label_screen_marks_a_keypoint_hidden(session_dir: Path, recent_file: Path) -> None:
    from pose3d.tui.widgets.keypoint_list import KeypointList

    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _open_label(app, pilot)
        editor = app.workspace.editor
        first = editor.cursor
        await pilot.press("h")  # not visible here; on to the next keypoint, as a click does
        assert editor.cursor.keypoint == editor.keypoints[1]
        assert editor.hidden(first) and editor.point(first) is None
        assert editor.source(first) == s.PointSource.MANUAL
        listed = app.screen.query_one("#keypoints", KeypointList).render().plain.splitlines()
        assert "⊘" in listed[0] and listed[0].rstrip().endswith("hidden")
        await pilot.press("p")
        timeline = app.screen.query_one("#label-timeline", TimelineBar)
        assert timeline.status[first.frame] == FrameStatus.MANUAL  # this keypoint, this view
        assert timeline.status[first.frame + 1] == FrameStatus.EMPTY
        await pilot.press("h")  # h on one's own mark takes it away
        assert not editor.hidden(first) and editor.source(first) == s.PointSource.NONE
        await pilot.press("ctrl+z")
        assert editor.hidden(first)
        await pilot.press("escape", "escape")
    on_disk = load_labels(session_dir / "labels.nc")
    where = {"time": first.frame, "view": first.view, "keypoint": first.keypoint}
    assert bool(on_disk[s.HIDDEN].sel(where).values[0])
    assert int(on_disk[s.SOURCE].sel(where).values[0]) == s.PointSource.MANUAL


async def test_sessions_screen_lists_recent_and_shows_info(
    session_dir: Path, recent_file: Path
) -> None:
    from pose3d.tui.state.recent import add_recent

    add_recent(session_dir, recent_file)
    app = Pose3dApp()
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        console = Console(width=150, file=io.StringIO(), record=True)
        console.print(app.screen.query_one("#info", Static).content)
        info = console.export_text()
        assert "cam2" in info and "videos/cam2.mp4" in info and "+2" in info  # offset
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ViewsScreen)


async def test_a_locked_session_is_refused_with_a_message(
    session_dir: Path, recent_file: Path
) -> None:
    with SessionLock(session_dir):
        app = Pose3dApp(session_dir)
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()  # the session opens in a worker
            await pilot.pause()
            assert isinstance(app.screen, SessionsScreen)
            assert app.workspace is None
            assert any("open for writing" in str(n.message) for n in app._notifications)


async def test_full_round_label_propagate_review_correct_retrack(
    session_dir: Path, recent_file: Path
) -> None:
    """Place points on frame 0 in two views, propagate, jump to the worst flagged point,
    correct it, re-track from it; labels.nc holds manual, tracked and corrected points."""
    truth = load_labels(session_dir / "truth" / "labels.nc")
    app = Pose3dApp(session_dir, tracker="classical")
    async with app.run_test(size=SIZE) as pilot:
        await _open_label(app, pilot)
        screen = app.screen
        assert isinstance(screen, LabelScreen)
        editor = app.workspace.editor
        view = screen.query_one("#label-view", FrameView)
        clicked = {}
        for name in ("cam0", "cam1"):
            if name == "cam1":
                await pilot.press("tab")
                await _settle(app, pilot)
                editor.move_to(keypoint=editor.keypoints[0])
            for keypoint in editor.keypoints[:6]:  # head and trunk: enough to track
                assert editor.cursor.keypoint == keypoint
                where = {"time": 0, "view": name, "keypoint": keypoint}
                if not bool(truth["visible"].sel(where).values[0]):
                    await pilot.press("n")
                    continue
                xy = truth[s.POSITION].sel(where).values[:, 0]
                await pilot.click(view, offset=_cell_of(view, *xy))
                clicked[(name, keypoint)] = xy
        assert len(clicked) >= 8
        # propagate both views over every frame
        await _propagate_all_views(app, pilot)
        assert isinstance(app.screen, LabelScreen)
        assert int((editor.labels[s.SOURCE].values == s.PointSource.TRACKED).sum()) > 100
        # the review queue: the worst flagged run; correct it where the truth is
        await pilot.press("f")
        item = editor.cursor
        await pilot.press("f", "F")  # the next run (if there is one), then back to this one
        assert editor.cursor == item
        said = [str(n.message) for n in app._notifications]
        runs = len(review_queue(editor.labels))  # how many depends on the machine's video
        assert runs >= 1 and any(f"of {runs} runs not visited yet" in m for m in said)
        # f, f, F: the worst run, the next one, the worst again; one run: the same one thrice
        assert len({m for m in said if " runs not visited yet" in m}) == min(runs, 2)
        assert bool(
            editor.labels[s.REVIEW]
            .sel(time=item.frame, view=item.view, keypoint=item.keypoint)
            .values[0]
        )
        where = {"time": item.frame, "view": item.view, "keypoint": item.keypoint}
        correct = truth[s.POSITION].sel(where).values[:, 0]
        await pilot.click(view, offset=_cell_of(view, *correct))
        editor.move_to(keypoint=item.keypoint)
        await pilot.press("r")  # re-track from the corrected frame
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, LabelScreen)
    labels = load_labels(session_dir / "labels.nc")
    source = labels[s.SOURCE]
    for (name, keypoint), xy in clicked.items():  # manual points where they were clicked
        where = {"time": 0, "view": name, "keypoint": keypoint}
        assert int(source.sel(where).values[0]) == s.PointSource.MANUAL
        np.testing.assert_allclose(labels[s.POSITION].sel(where).values[:, 0], xy, atol=2.5)
    # tracked points in between, near the truth where the subject is seen
    part = {"view": ["cam0", "cam1"], "keypoint": list(editor.keypoints[:6])}
    tracked = source.sel(part).values[1:12] == s.PointSource.TRACKED
    assert tracked.mean() > 0.5
    error = np.linalg.norm(
        labels[s.POSITION].sel(part).values[1:12] - truth[s.POSITION].sel(part).values[1:12],
        axis=2,
    )
    assert np.nanmedian(np.where(tracked, error, np.nan)) < 3.0
    # the correction: manual, where the truth is, no longer flagged
    where = {"time": item.frame, "view": item.view, "keypoint": item.keypoint}
    assert int(source.sel(where).values[0]) == s.PointSource.MANUAL
    np.testing.assert_allclose(labels[s.POSITION].sel(where).values[:, 0], correct, atol=2.5)
    assert not bool(labels[s.REVIEW].sel(where).values[0])


async def test_epipolar_curves_and_the_suggestion_with_a_calibration(
    session_dir: Path, recent_file: Path
) -> None:
    """With calibration/calibration.toml, a keypoint labelled in two views gets its epipolar
    curves and a suggestion in the third; enter accepts the suggestion."""
    import shutil

    shutil.copy(session_dir / "truth" / "calibration.toml", session_dir / "calibration")
    truth = load_labels(session_dir / "truth" / "labels.nc")
    frame = 2  # all three cameras film it (cam2 from session frame 2)
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        await pilot.press("right", "right", "enter")
        await _settle(app, pilot)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LabelScreen)
        editor = app.workspace.editor
        view = screen.query_one("#label-view", FrameView)
        for name in ("cam0", "cam1"):
            editor.move_to(view=name, keypoint="nose")
            screen.refresh_view()
            xy = truth[s.POSITION].sel(time=frame, view=name, keypoint="nose").values[:, 0]
            await pilot.click(view, offset=_cell_of(view, *xy))
        await pilot.press("tab")  # cam2
        await _settle(app, pilot)
        editor.move_to(keypoint="nose")
        screen.refresh_view()
        assert editor.cursor.view == "cam2" and screen.aids is not None
        assert set(screen.aids.curves) == {"cam0", "cam1"}
        true_xy = truth[s.POSITION].sel(time=frame, view="cam2", keypoint="nose").values[:, 0]
        for curve in screen.aids.curves.values():  # each curve passes near the true point
            assert np.min(np.linalg.norm(curve - true_xy, axis=1)) < 4.0
        assert screen.aids.suggestion is not None
        np.testing.assert_allclose(screen.aids.suggestion, true_xy, atol=4.0)
        await pilot.press("enter")  # accept
        assert editor.cursor.keypoint == editor.keypoints[1]
        await pilot.press("e")  # aids off
        assert screen.aids is None
    labels = load_labels(session_dir / "labels.nc")
    where = {"time": frame, "view": "cam2", "keypoint": "nose"}
    assert int(labels[s.SOURCE].sel(where).values[0]) == s.PointSource.MANUAL
    np.testing.assert_allclose(labels[s.POSITION].sel(where).values[:, 0], true_xy, atol=4.0)


async def test_the_mouse_wheel_zooms_around_the_pixel_under_the_mouse(
    session_dir: Path, recent_file: Path
) -> None:
    from textual import events

    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        await pilot.press("enter")
        await _settle(app, pilot)
        view = app.screen.query_one("#label-view", FrameView)
        offset = _cell_of(view, 90.0, 55.0)  # away from the edges: no clamping
        before = view.viewport.cell_to_pixel(*_content_cell(view, offset))
        for _ in range(3):
            await pilot._post_mouse_events([events.MouseScrollUp], view, offset=offset)
            await pilot.pause()
        assert view.viewport.zoom == pytest.approx(1.25**3)
        after = view.viewport.cell_to_pixel(*_content_cell(view, offset))
        # the pixel under the mouse stays under it (within a cell of the zoomed view)
        assert abs(after[0] - before[0]) <= view.viewport.scale
        assert abs(after[1] - before[1]) <= view.viewport.scale * view.viewport.cell_aspect
        await pilot._post_mouse_events([events.MouseScrollDown], view, offset=offset)
        await pilot.pause()
        assert view.viewport.zoom == pytest.approx(1.25**2)


def _content_cell(view: FrameView, offset: tuple[int, int]) -> tuple[int, int]:
    """The content cell of a widget offset (the inverse of _cell_of's last step)."""
    region, content = view.region, view.content_region
    return offset[0] - (content.x - region.x), offset[1] - (content.y - region.y)


async def test_a_step_shows_the_pictures_drawn_ahead(session_dir: Path, recent_file: Path) -> None:
    """After a step the next frame's pictures are drawn in a worker; the following step shows
    them, and they are what the view would have drawn itself."""
    from pose3d.tui.drawing.pictures import draw_picture
    from pose3d.tui.widgets.graphics import PX_PER_CELL
    from pose3d.tui.widgets.halfcell import HalfcellCanvas

    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ViewsScreen)
        await pilot.press("right")  # frame 1 (every camera filmed it), 2 drawn ahead
        await _settle(app, pilot)
        await pilot.pause(0.1)
        await _settle(app, pilot)
        hits = screen.pictures.hits
        await pilot.press("right")
        await _settle(app, pilot)
        assert screen.frame == 2 and screen.pictures.hits >= hits + 2
        for view in screen.query(FrameView):
            image = view.query_one(".frame-image")
            if not isinstance(image, HalfcellCanvas) or view.frame is None:
                continue
            own = draw_picture(
                view.frame, view.viewport, PX_PER_CELL, view.markers, view.bones, view.edges
            )
            assert image.image is not None and np.array_equal(image.image, own)


async def test_the_label_screen_shows_pictures_drawn_ahead(
    session_dir: Path, recent_file: Path
) -> None:
    """With a calibration and labels in the other views, the next frame's picture (markers,
    bones, epipolar curves) is drawn in a worker; a step shows it, and it is what
    the view would have drawn itself."""
    import shutil

    from pose3d.io.netcdf import save_labels
    from pose3d.synthetic.compare import seed_labels
    from pose3d.tui.drawing.pictures import draw_picture
    from pose3d.tui.widgets.graphics import PX_PER_CELL
    from pose3d.tui.widgets.halfcell import HalfcellCanvas

    shutil.copy(session_dir / "truth" / "calibration.toml", session_dir / "calibration")
    truth = load_labels(session_dir / "truth" / "labels.nc")
    labels = seed_labels(truth, [0, 1, 2, 3]).sel({s.VIEW: ["cam0", "cam1", "cam2"]})
    labels[s.POSITION].loc[{s.VIEW: "cam2"}] = np.nan  # cam2 unlabelled: it gets the aids
    labels[s.SOURCE].loc[{s.VIEW: "cam2"}] = s.PointSource.NONE
    save_labels(session_dir / "labels.nc", labels)
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        await pilot.press("enter")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LabelScreen)
        while app.workspace.editor.cursor.view != "cam2":  # type: ignore[union-attr]
            await pilot.press("tab")
        await pilot.press("full_stop")  # frame 1, frame 2 drawn ahead
        await _settle(app, pilot)
        await pilot.pause(0.1)
        await _settle(app, pilot)
        hits = screen.pictures.hits
        await pilot.press("full_stop")
        await _settle(app, pilot)
        assert app.workspace.editor.cursor.frame == 2  # type: ignore[union-attr]
        assert screen.pictures.hits >= hits + 1
        view = screen.query_one("#label-view", FrameView)
        assert view.curves  # the epipolar curves of the other labelled views are drawn
        image = view.query_one(".frame-image")
        if isinstance(image, HalfcellCanvas):
            own = draw_picture(
                view.frame,
                view.viewport,
                PX_PER_CELL,
                view.markers,
                view.bones,
                view.edges,
                view.curves,
            )
            assert image.image is not None and np.array_equal(image.image, own)


async def test_propagation_warns_when_the_views_disagree_with_the_calibration(
    session_dir: Path, recent_file: Path
) -> None:
    """calibration.toml has cam0 and cam1 swapped: after a propagation the Label screen says
    that the multi-view flag only advises, naming the file."""
    from dataclasses import replace

    from pose3d.io.calibration_toml import load_calibration, save_calibration
    from pose3d.io.netcdf import save_labels
    from pose3d.synthetic.compare import seed_labels

    cameras = load_calibration(session_dir / "truth" / "calibration.toml")
    swapped = (
        replace(cameras["cam1"], name="cam0"),
        replace(cameras["cam0"], name="cam1"),
        cameras["cam2"],
    )
    calibration = session_dir / "calibration" / "calibration.toml"
    save_calibration(calibration, replace(cameras, cameras=swapped))
    truth = load_labels(session_dir / "truth" / "labels.nc")
    save_labels(session_dir / "labels.nc", seed_labels(truth, [0]))
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, LabelScreen)
        await _propagate_all_views(app, pilot)
        assert isinstance(app.screen, LabelScreen)
        warnings = [str(n.message) for n in app._notifications if n.severity == "warning"]
        assert any(f"disagree with {calibration}" in w and "only advises" in w for w in warnings)


async def test_the_propagate_dialog_takes_every_camera_with_manual_points_by_default(
    session_dir: Path, recent_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dialog's default is every camera with a manual point (said with what the run will
    replace); "this camera only" tracks the current camera alone. Without CoTracker3's weights
    the classical tracker's notice is shown once, not at every run."""
    from textual.widgets import Label, RadioButton

    from pose3d.io.netcdf import save_labels
    from pose3d.synthetic.compare import seed_labels

    truth = load_labels(session_dir / "truth" / "labels.nc")
    save_labels(session_dir / "labels.nc", seed_labels(truth, [0]))
    monkeypatch.setenv("POSE3D_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    app = Pose3dApp(session_dir)  # the best installed tracker: the classical one here

    def notices() -> int:
        return sum("no CoTracker3 weights" in str(n.message) for n in app._notifications)

    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        await pilot.press("enter")
        await _settle(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        dialog = app.screen
        assert dialog.query_one("#all-views", RadioButton).value
        effect = str(dialog.query_one("#propagate-effect", Label).render())
        assert effect.startswith("fills cam0, cam1, frames 0-") and "keeps" in effect
        await pilot.click("#this-view")
        await pilot.pause()
        marks = [str(dialog.query_one(f"#{i}").render())[:3] for i in ("all-views", "this-view")]
        assert marks == ["▐ ▌", "▐●▌"]  # the mark says which is chosen, colour aside
        effect = str(dialog.query_one("#propagate-effect", Label).render())
        assert effect.startswith("fills cam0, frames 0-")
        await pilot.click("#start-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, LabelScreen)
        tracked = app.workspace.editor.labels[s.SOURCE].values == s.PointSource.TRACKED
        views = app.workspace.editor.views
        assert tracked[:, views.index("cam0")].any()
        assert not tracked[:, [i for i, v in enumerate(views) if v != "cam0"]].any()
        assert notices() == 1
        await pilot.press("t")
        await pilot.pause()
        effect = str(app.screen.query_one("#propagate-effect", Label).render())
        assert effect.startswith("replaces the ") and "of cam0, cam1" in effect
        await pilot.click("#start-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, LabelScreen)
        assert notices() == 1


async def test_propagation_is_one_undoable_edit_written_once(
    session_dir: Path, recent_file: Path
) -> None:
    """The Propagate dialog tracks the labels being edited (an edit not yet in labels.nc is
    tracked too), writes labels.nc once, and ctrl+z takes the whole propagation back."""
    from pose3d.io.label_journal import journal_path
    from pose3d.io.netcdf import save_labels
    from pose3d.synthetic.compare import seed_labels

    truth = load_labels(session_dir / "truth" / "labels.nc")
    save_labels(session_dir / "labels.nc", seed_labels(truth, [0]))
    app = Pose3dApp(session_dir, tracker="classical")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, LabelScreen)
        workspace = app.workspace
        editor = workspace.editor
        manual = editor.labels[s.SOURCE].values == s.PointSource.MANUAL
        k = int(np.flatnonzero(~manual[0, 0, :, 0])[0])  # a keypoint not seeded in cam0
        cell = editor.cursor.__class__(0, "cam0", editor.keypoints[k], editor.individuals[0])
        editor.place((60.0, 40.0), cell)  # in the journal, not yet in labels.nc
        workspace.flush()
        before = editor.snapshot()
        writes = workspace.saver.writes
        await _propagate_all_views(app, pilot)
        assert isinstance(app.screen, LabelScreen)
        assert workspace.saver.writes == writes + 1  # one write of labels.nc for the run
        assert not journal_path(session_dir / "labels.nc").exists()
        on_disk = load_labels(session_dir / "labels.nc")
        tracked = on_disk[s.SOURCE].values == s.PointSource.TRACKED
        assert tracked.sum() > 100
        assert tracked[1:, 0, k, 0].any()  # the unsaved edit was tracked too
        np.testing.assert_array_equal(on_disk[s.SOURCE].values, editor.labels[s.SOURCE].values)
        assert editor.undo_depth == 2  # the placed point, then the propagation
        await pilot.press("ctrl+z")
        await pilot.pause()
        for name in before.data_vars:
            np.testing.assert_array_equal(editor.labels[name].values, before[name].values)
        workspace.flush()
        assert not (load_labels(session_dir / "labels.nc")[s.SOURCE].values == 2).any()
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert (editor.labels[s.SOURCE].values == s.PointSource.TRACKED).sum() == tracked.sum()


async def test_propagate_asks_another_installed_tracker_for_a_second_opinion(
    session_dir: Path, recent_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With BootsTAPIR's weights installed (random ones here) beside the classical tracker, the
    Propagate dialog offers it as a second opinion; chosen, the run records how far its tracks
    are from the classical ones (the disagreement a review flag reads). Without other installed
    trackers the choice is not shown (every other test here)."""
    import torch
    from textual.widgets import Input

    from pose3d.pipeline.compare_truth import seed_from_truth
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.tracking import weights_tapir as wt
    from pose3d.tracking.tapir import build_tapir

    weights = tmp_path / "weights"
    weights.mkdir()
    torch.manual_seed(0)
    torch.save(build_tapir("offline").state_dict(), weights / wt.RELEASES["offline"])
    monkeypatch.setenv("POSE3D_WEIGHTS_DIR", str(weights))
    with SessionFolder(session_dir) as folder:
        seed_from_truth(folder, [0])
    app = Pose3dApp(session_dir, tracker="classical")
    async with app.run_test(size=SIZE) as pilot:
        await _open_label(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        dialog = app.screen
        assert [b.id for b in dialog.query("#second RadioButton")] == [
            "second-none",
            "second-tapir",
        ]
        dialog.query_one("#last", Input).value = "3"  # frames 0-3: enough to compare
        await pilot.click("#second-tapir")
        await pilot.click("#start-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        labels = app.workspace.editor.labels
    tracked = labels[s.SOURCE].values[1:4] == s.PointSource.TRACKED
    apart = labels[s.DISAGREEMENT].values[1:4]
    assert tracked.sum() > 20 and np.isfinite(apart[tracked]).mean() > 0.5
    assert np.isnan(labels[s.DISAGREEMENT].values[5:]).all()  # outside the run: none


async def test_f_does_not_go_back_to_the_run_just_corrected(
    session_dir: Path, recent_file: Path
) -> None:
    """After a correction split a flagged run (as a re-track does), `f` goes to the other
    keypoint's run first, then to what is left of the corrected one (issue 19)."""
    from pose3d.io.netcdf import save_labels
    from pose3d.labels import new_labels, set_point
    from pose3d.tracking.review import with_track_variables

    truth = load_labels(session_dir / "truth" / "labels.nc")
    views = [str(v) for v in truth["view"].values]
    keypoints = [str(k) for k in truth["keypoint"].values]
    nose, ear = keypoints[0], keypoints[1]

    def flagged(runs: list[tuple[str, range, float]]) -> xr.Dataset:
        labels = with_track_variables(new_labels(14, views, keypoints, ["individual_0"]))
        for keypoint, frames, score in runs:
            for frame in frames:
                cell = (frame, "cam0", keypoint, "individual_0")
                labels = set_point(labels, *cell, (20.0 + frame, 20.0), s.PointSource.TRACKED)
                where = {"time": frame, "view": "cam0", "keypoint": keypoint}
                labels[s.REVIEW].loc[where] = True
                labels[s.REVIEW_SCORE].loc[where] = score
                labels[s.REVIEW_REASON].loc[where] = int(s.ReviewReason.JUMP)
        return labels

    save_labels(
        session_dir / "labels.nc", flagged([(nose, range(2, 9), 5.0), (ear, range(10, 13), 2.0)])
    )
    app = Pose3dApp(session_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _open_label(app, pilot)
        editor = app.workspace.editor
        await pilot.press("f")
        assert (editor.cursor.keypoint, editor.cursor.frame) == (nose, 2)
        # the correction on frame 5 and its re-track: the nose's run split in two, still the
        # worst runs of the queue
        split = flagged(
            [(nose, range(2, 4), 4.0), (nose, range(6, 9), 4.0), (ear, range(10, 13), 2.0)]
        )
        editor.apply(split, "propagate")
        visits = []
        for _ in range(2):
            await pilot.press("f")
            visits.append((editor.cursor.keypoint, editor.cursor.frame))
        assert visits == [(ear, 10), (nose, 6)]
