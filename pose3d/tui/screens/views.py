"""The Views screen: every camera side by side at one synchronized session frame (each camera's
offset applied by the frame cache), labels overlaid in keypoint colours, the timeline of
per-frame status; step, jump, play and pause."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.timer import Timer
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from pose3d.tracking.registry import TrackerSpec
from pose3d.tui.dialogs.jump import JumpScreen
from pose3d.tui.drawing.canvas import Marker, label_markers, marker_texts
from pose3d.tui.drawing.palette import keypoint_rgb
from pose3d.tui.drawing.pictures import Picture, PictureCache, draw_picture, picture_key
from pose3d.tui.drawing.timeline import FLAGGED, frame_status
from pose3d.tui.drawing.viewport import Viewport
from pose3d.tui.messages import PixelClicked, Seek, ViewChosen
from pose3d.tui.screens.marker_keys import MarkerStyleScreen
from pose3d.tui.state.workspace import Workspace
from pose3d.tui.widgets.frame_view import FrameView
from pose3d.tui.widgets.graphics import IMAGE_WIDGET, PX_PER_CELL
from pose3d.tui.widgets.halfcell import HalfcellCanvas, halfcell_strips, truecolor
from pose3d.tui.widgets.timeline_bar import TimelineBar

DEFAULT_FPS = 30.0
PLAY_AHEAD = 8  # frames each decoder reads ahead while playing


class ViewsScreen(MarkerStyleScreen):
    KEYMAP_SECTION: ClassVar[str] = "Views"  # its keys in keymap.md (the ? overlay)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "step(1)", "Next frame"),
        Binding("left", "step(-1)", "Previous frame"),
        Binding("shift+right", "step(10)", "+10 frames", show=False),
        Binding("shift+left", "step(-10)", "-10 frames", show=False),
        Binding("home", "go_to_start", "First frame", show=False),
        Binding("end", "go_to_end", "Last frame", show=False),
        Binding("g", "jump", "Go to frame"),
        Binding("f", "flagged(1)", "Next flagged frame", show=False),
        Binding("F", "flagged(-1)", "Previous flagged frame", show=False),
        Binding("space", "play_pause", "Play/Pause"),
        Binding("tab", "next_view(1)", "Next view", show=False, priority=True),
        Binding("shift+tab", "next_view(-1)", "Previous view", show=False, priority=True),
        *(Binding(str(n), f"choose_view({n - 1})", show=False) for n in range(1, 10)),
        Binding("enter,l", "label", "Label view"),
        Binding("v", "toggle_labels", "Labels on/off", show=False),
        Binding("m", "marker_size", "Marker size", show=False),
        Binding("N", "toggle_names", "Names on/off", show=False),
        Binding("c", "calibration", "Calibration"),
        Binding("d", "three_d", "3D"),
        Binding("escape", "close_session", "Sessions"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, workspace: Workspace, tracker: TrackerSpec | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.tracker = tracker or TrackerSpec()
        self.keypoint_colors = keypoint_rgb(len(workspace.editor.keypoints))
        self.player: Timer | None = None
        self.fps = workspace.session.fps or DEFAULT_FPS  # playback rate
        self.status = frame_status(workspace.editor.labels)
        self.pictures = PictureCache()  # the neighbours' pictures, drawn ahead in a worker

    @property
    def frame(self) -> int:
        return self.workspace.editor.cursor.frame

    @property
    def view(self) -> str:
        return self.workspace.editor.cursor.view

    def compose(self) -> ComposeResult:
        yield Header()
        frames = self.workspace.frames
        with Grid(id="views-grid"):
            for j, name in enumerate(frames.views):
                view = FrameView(
                    name, frames.sizes[name], edges=self.workspace.edges, id=f"view-{j}"
                )
                view.pictures = self.pictures
                yield view
        yield TimelineBar(self.workspace.n_frames, id="timeline")
        yield Static(id="views-status")
        yield Footer()

    def on_mount(self) -> None:
        n = len(self.workspace.frames.views)
        columns = min(n, 2) if n <= 4 else 3
        grid = self.query_one("#views-grid", Grid)
        grid.styles.grid_size_columns = columns
        self.title = f"pose3d · {self.workspace.title}"
        self.refresh_frame()

    def on_screen_resume(self) -> None:
        self.status = frame_status(self.workspace.editor.labels)
        self.refresh_frame()

    # --- drawing -----------------------------------------------------------------------------

    def refresh_frame(self) -> None:
        """Draw the views of the current frame from the cache; frames not decoded yet are
        decoded by a worker, which redraws when they are ready (the old picture stays)."""
        ws = self.workspace
        frame = self.frame
        # the status lines first: their repaint then joins the views' in one screen update
        self.query_one("#timeline", TimelineBar).update_status(self.status, frame)
        playing = "playing" if self.player is not None else "paused"
        self.query_one("#views-status", Static).update(
            f" frame {frame} / {ws.n_frames - 1} · {playing} · selected view {self.view} "
            f"(enter: label it) · ?: keys",
            layout=False,  # one line, always: a layout pass would redraw every view again
        )
        waiting = False
        for j, name in enumerate(ws.frames.views):
            view = self.query_one(f"#view-{j}", FrameView)
            view.set_class(name == self.view, "-selected")
            known, image = ws.frames.cached(name, frame)
            if not known:
                view.border_subtitle = f"decoding frame {frame} ..."
                waiting = True
                continue
            camera_frame = ws.frames.camera_frame(name, frame)
            markers, bones = self._labels(frame, name)
            note = "not filmed" if camera_frame is None else f"camera frame {camera_frame}"
            view.show(image, markers, note, bones)
        if waiting:
            self._decode(frame, *self._picture_jobs())
        else:
            # after this frame is on screen: decoding and drawing the neighbours in threads
            # would slow the screen update down (the GIL, and 2 cores for 4 decoders)
            self.call_after_refresh(self._draw_ahead, frame)

    def _labels(self, frame: int, view: str) -> tuple[list[Marker], np.ndarray | None]:
        """The markers and the bone positions (2, K, I) of ``view`` at ``frame``."""
        editor = self.workspace.editor
        if view not in editor.views:
            return [], None
        points = editor.frame_points(frame, view)
        style = self.workspace.marker_style
        markers = label_markers(
            *points, self.keypoint_colors, style=style, names=self.workspace.editor.keypoints
        )
        return markers, points[0] if style.shown else None

    def _picture_jobs(self) -> tuple[list[tuple[str, Viewport]], bool]:
        """What a worker needs to draw this screen's pictures: (view, viewport) of every view
        shown (none when the pictures are not half-cell strips), and whether in truecolor. Read
        on the UI thread."""
        if IMAGE_WIDGET is not HalfcellCanvas:
            return [], False
        jobs = [
            (view.view, view.viewport)
            for view in self.query(FrameView)
            if view.is_mounted and view.content_size.area > 0
        ]
        return jobs, truecolor()

    def _draw_ahead(self, frame: int) -> None:
        """Decode the frames around ``frame`` and draw the pictures of the next and the
        previous one, in the background."""
        if frame != self.frame or not self.is_mounted:
            return
        self.workspace.frames.prefetch(frame, ahead=PLAY_AHEAD if self.player else None)
        jobs, colors = self._picture_jobs()
        if jobs:
            self._draw_ahead_worker(frame, jobs, colors)

    @work(thread=True, exclusive=True, group="draw-ahead", exit_on_error=False)
    def _draw_ahead_worker(
        self, frame: int, jobs: list[tuple[str, Viewport]], truecolor: bool
    ) -> None:
        playing = self.player is not None  # then the frames after the next, not the last one
        self._draw_pictures((frame + 1, frame + 2 if playing else frame - 1), jobs, truecolor)

    def _draw_pictures(
        self, frames: tuple[int, ...], jobs: list[tuple[str, Viewport]], truecolor: bool
    ) -> None:
        """Draw the pictures of ``frames`` into the picture cache (in a worker thread)."""
        worker = get_current_worker()
        cache, edges = self.workspace.frames, self.workspace.edges
        for f in frames:
            if not self.workspace.editor.first_frame <= f <= self.last_frame:
                continue
            for view, viewport in jobs:
                if worker.is_cancelled:
                    return
                image = cache.get(view, f)  # waits for the decoder (this thread only)
                markers, bones = self._labels(f, view)
                key = picture_key(image, viewport, markers, bones, edges, (), truecolor)
                if image is None or key in self.pictures:
                    continue
                canvas = draw_picture(image, viewport, PX_PER_CELL, markers, bones, edges)
                texts = marker_texts(markers, viewport, PX_PER_CELL)
                strips = halfcell_strips(canvas, truecolor, texts)
                self.pictures.put(key, Picture(image, canvas, strips))

    @work(thread=True, exclusive=True, group="decode", exit_on_error=False)
    def _decode(self, frame: int, jobs: list[tuple[str, Viewport]], truecolor: bool) -> None:
        # the neighbours wait until this frame is on screen (_draw_ahead queues them): their
        # decoding would compete with drawing it for the cores; its pictures are drawn here,
        # off the UI thread, as the neighbours' are
        self.workspace.frames.get_all(frame)
        self._draw_pictures((frame,), jobs, truecolor)
        self.app.call_from_thread(self._decoded, frame)

    def _decoded(self, frame: int) -> None:
        if frame == self.frame and self.is_mounted:
            self.refresh_frame()

    def go_to(self, frame: int) -> None:
        frame = min(max(int(frame), self.workspace.editor.first_frame), self.last_frame)
        self.workspace.editor.move_to(frame=frame)
        self.refresh_frame()

    @property
    def last_frame(self) -> int:
        editor = self.workspace.editor
        return editor.first_frame + editor.n_frames - 1

    # --- actions -----------------------------------------------------------------------------

    def action_step(self, delta: int) -> None:
        self.go_to(self.frame + delta)

    def action_go_to_start(self) -> None:
        self.go_to(self.workspace.editor.first_frame)

    def action_go_to_end(self) -> None:
        self.go_to(self.last_frame)

    def action_flagged(self, step: int) -> None:
        """Step to the next (step 1) or previous (-1) frame holding a point flagged for
        review, in any view: the flagged frames only."""
        first = self.workspace.editor.first_frame
        flagged = np.flatnonzero(self.status & FLAGGED) + first
        ahead = flagged[flagged > self.frame] if step > 0 else flagged[flagged < self.frame][::-1]
        if not ahead.size:
            where = "after" if step > 0 else "before"
            self.notify(f"no flagged frame {where} frame {self.frame}", timeout=3)
            return
        self.go_to(int(ahead[0]))

    def action_jump(self) -> None:
        def done(frame: int | None) -> None:
            if frame is not None:
                self.go_to(frame)

        self.app.push_screen(JumpScreen(self.frame, self.last_frame), done)

    def action_play_pause(self) -> None:
        if self.player is not None:
            self.player.stop()
            self.player = None
        else:
            self.player = self.set_interval(1 / self.fps, self._tick)
        self.refresh_frame()

    def _tick(self) -> None:
        """The next frame once every view of it is decoded (the decoders read ahead, in
        order): playback never shows a frame half decoded nor makes a decoder seek over the
        frames it skipped, and runs at the session's rate where the decoders keep up."""
        if self.frame >= self.last_frame:
            self.action_play_pause()
            return
        following = self.frame + 1
        if not self._drawn(following):
            self.workspace.frames.prefetch(self.frame, ahead=PLAY_AHEAD)
            drawing = any(w.group == "draw-ahead" and w.is_running for w in self.workers)
            if not drawing:
                self._draw_ahead(self.frame)
            return
        self.go_to(following)

    def _drawn(self, frame: int) -> bool:
        """Whether every view of ``frame`` is decoded and, on a half-cell terminal, its
        picture drawn ahead (so that showing it leaves the UI thread only Textual's work)."""
        frames, edges = self.workspace.frames, self.workspace.edges
        if not all(frames.cached(v, frame)[0] for v in frames.views):
            return False
        jobs, colors = self._picture_jobs()
        for view, viewport in jobs:
            image = frames.cached(view, frame)[1]
            if image is None:
                continue
            markers, bones = self._labels(frame, view)
            if picture_key(image, viewport, markers, bones, edges, (), colors) not in self.pictures:
                return False
        return True

    def redraw_labels(self) -> None:
        self.refresh_frame()

    def action_next_view(self, step: int) -> None:
        views = self.workspace.frames.views
        self.choose_view(views[(views.index(self.view) + step) % len(views)])

    def action_choose_view(self, index: int) -> None:
        views = self.workspace.frames.views
        if 0 <= index < len(views):
            self.choose_view(views[index])

    def choose_view(self, view: str) -> None:
        self.workspace.editor.move_to(view=view)
        self.refresh_frame()

    def action_label(self) -> None:
        from pose3d.tui.screens.label import LabelScreen

        if self.player is not None:
            self.action_play_pause()
        self.app.push_screen(LabelScreen(self.workspace, self.tracker))

    def action_calibration(self) -> None:
        from pose3d.tui.screens.calibration import CalibrationScreen

        if self.player is not None:
            self.action_play_pause()
        self.app.push_screen(CalibrationScreen(self.workspace))

    def action_three_d(self) -> None:
        from pose3d.tui.screens.three_d import ThreeDScreen

        if self.player is not None:
            self.action_play_pause()
        self.app.push_screen(ThreeDScreen(self.workspace))

    def action_close_session(self) -> None:
        if self.player is not None:
            self.player.stop()
        self.dismiss()

    # --- messages ----------------------------------------------------------------------------

    @on(Seek)
    def _seek(self, message: Seek) -> None:
        self.go_to(message.frame)

    @on(ViewChosen)
    def _view_chosen(self, message: ViewChosen) -> None:
        self.choose_view(message.view)

    @on(PixelClicked)
    def _pixel_clicked(self, message: PixelClicked) -> None:
        self.choose_view(message.view)
