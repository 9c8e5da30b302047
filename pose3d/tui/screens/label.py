"""The Label screen: one view large with zoom and pan, the keypoint list with the current one
highlighted; a click places the current keypoint (source manual) and moves to the next; arrows
nudge by 1 px (shift: 10 px); on a keypoint not placed here they start a crosshair (also ``x``)
that arrows or h j k l move and enter places (pose3d.tui.logic.crosshair); delete, hide (the
keypoint is not visible here), accept, undo, redo; next / previous individual. Below, the
timeline of the current keypoint in this view (empty / hidden / tracked / manual / flagged; a
click goes to that frame). Every edit is saved to labels.nc before the screen redraws
(pose3d.tui.state.editor)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.label_cells import Cell
from pose3d.tracking.registry import TrackerSpec
from pose3d.tracking.tour import ReviewTour
from pose3d.tui.dialogs.jump import JumpScreen
from pose3d.tui.dialogs.propagate import PropagateScreen
from pose3d.tui.drawing.canvas import Marker, label_markers, marker_texts
from pose3d.tui.drawing.palette import RGB8, individual_glyph, keypoint_rgb
from pose3d.tui.drawing.pictures import Picture, PictureCache, draw_picture, picture_key
from pose3d.tui.drawing.timeline import keypoint_status
from pose3d.tui.drawing.viewport import Viewport
from pose3d.tui.logic import crosshair
from pose3d.tui.logic.crosshair import Crosshair
from pose3d.tui.logic.propagation import PropagateRequest
from pose3d.tui.messages import KeypointChosen, PixelClicked, Seek, ZoomAt
from pose3d.tui.screens.marker_keys import MarkerStyleScreen
from pose3d.tui.screens.views import DEFAULT_FPS
from pose3d.tui.state.editor import Edit
from pose3d.tui.state.workspace import Workspace
from pose3d.tui.widgets.frame_view import FrameView
from pose3d.tui.widgets.graphics import IMAGE_WIDGET, PX_PER_CELL
from pose3d.tui.widgets.halfcell import HalfcellCanvas, halfcell_strips, truecolor
from pose3d.tui.widgets.keypoint_list import KeypointList
from pose3d.tui.widgets.timeline_bar import TimelineBar

if TYPE_CHECKING:
    from pose3d.tracking.propagate import PropagationReport
    from pose3d.tracking.review import ReviewItem
    from pose3d.triangulation.assist import ViewAids

ZOOM_STEP = 1.5
PAN_CELLS = 8


@dataclass(frozen=True)
class _Inputs:
    """What the picture of one frame of the labelled view shows."""

    markers: list[Marker]
    curves: list[tuple[np.ndarray, RGB8]]
    position: np.ndarray  # (2, K, I): the skeleton's bones join these
    aids: ViewAids | None


class LabelScreen(MarkerStyleScreen):
    KEYMAP_SECTION: ClassVar[str] = "Label"  # its keys in keymap.md (the ? overlay)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "nudge(-1, 0)", "Nudge", show=False),
        Binding("right", "nudge(1, 0)", "Nudge", show=False),
        Binding("up", "nudge(0, -1)", "Nudge", show=False),
        Binding("down", "nudge(0, 1)", "Nudge", show=False),
        Binding("shift+left", "nudge(-10, 0)", show=False),
        Binding("shift+right", "nudge(10, 0)", show=False),
        Binding("shift+up", "nudge(0, -10)", show=False),
        Binding("shift+down", "nudge(0, 10)", show=False),
        Binding("x", "crosshair", "Cursor"),
        Binding("j", "cross(0, 1)", show=False),
        Binding("k", "cross(0, -1)", show=False),
        Binding("l", "cross(1, 0)", show=False),
        Binding("H", "cross(-10, 0)", show=False),
        Binding("J", "cross(0, 10)", show=False),
        Binding("K", "cross(0, -10)", show=False),
        Binding("L", "cross(10, 0)", show=False),
        Binding("delete,backspace", "delete", "Delete"),
        Binding("h", "hide", "Hidden"),
        Binding("y", "accept_point", "Accept point"),
        Binding("c", "copy_previous", "Copy prev. frame", show=False),
        Binding("ctrl+z,u", "undo", "Undo"),
        Binding("ctrl+y,ctrl+r", "redo", "Redo"),
        Binding("n", "next_keypoint(1)", "Next kp"),
        Binding("p", "next_keypoint(-1)", "Prev kp", show=False),
        Binding("right_square_bracket", "next_individual(1)", "Next individual", show=False),
        Binding("left_square_bracket", "next_individual(-1)", "Prev individual", show=False),
        Binding("plus,equals_sign", "zoom(1.5)", "Zoom in"),
        Binding("minus", "zoom(0.6667)", "Zoom out"),
        Binding("0", "fit", "Fit", show=False),
        Binding("w", "pan(0, -1)", "Pan", show=False),
        Binding("a", "pan(-1, 0)", show=False),
        Binding("s", "pan(0, 1)", show=False),
        Binding("d", "pan(1, 0)", show=False),
        Binding("full_stop", "step(1)", "Next frame"),
        Binding("home", "go_to_start", show=False),
        Binding("end", "go_to_end", show=False),
        Binding("g", "jump", "Go to frame", show=False),
        Binding("space", "play_pause", "Play/Pause", show=False),
        Binding("comma", "step(-1)", "Prev frame", show=False),
        Binding("greater_than_sign", "step(10)", show=False),
        Binding("less_than_sign", "step(-10)", show=False),
        Binding("tab", "next_view(1)", "Next view", show=False, priority=True),
        Binding("shift+tab", "next_view(-1)", show=False, priority=True),
        Binding("enter", "accept_suggestion", "Accept suggestion"),
        Binding("e", "toggle_aids", "Epipolar", show=False),
        Binding("v", "toggle_labels", "Labels on/off", show=False),
        Binding("m", "marker_size", "Marker size", show=False),
        Binding("N", "toggle_names", "Names on/off", show=False),
        Binding("t", "propagate", "Propagate"),
        Binding("r", "retrack", "Re-track from here"),
        Binding("f", "next_flagged", "Next flagged"),
        Binding("F", "previous_flagged", "Previous flagged", show=False),
        Binding("escape", "back", "Views"),
    ]

    def __init__(self, workspace: Workspace, tracker: TrackerSpec | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        editor = workspace.editor
        self.keypoint_colors = keypoint_rgb(len(editor.keypoints))
        self.tracker = tracker or TrackerSpec()  # name None: the best installed
        self.review_tour = ReviewTour()  # the flagged runs visited (pose3d.tracking.tour)
        self.tour: list[ReviewItem] = []  # the runs f went to, in order (F goes back)
        self.tour_at = -1  # where in the tour the person is
        self.player: Timer | None = None  # playback (space)
        self.show_aids = True  # epipolar curves and the suggestion, with a calibration
        self.aids: ViewAids | None = None  # those of the current keypoint
        self.pictures = PictureCache(8)  # the neighbouring frames' pictures, drawn ahead
        self.crosshair: Crosshair | None = None  # the keyboard cursor, on the cursor's cell

    def compose(self) -> ComposeResult:
        yield Header()
        editor = self.workspace.editor
        with Horizontal():
            yield self._frame_view()
            with Vertical(id="label-side"):
                yield Static(id="label-info")
                yield KeypointList(
                    editor.keypoints, self.keypoint_colors, editor.individuals, id="keypoints"
                )
        yield TimelineBar(self.workspace.n_frames, id="label-timeline")
        yield Footer()

    def _frame_view(self) -> FrameView:
        view = self.workspace.editor.cursor.view
        sizes = self.workspace.frames.sizes
        frame_view = FrameView(view, sizes[view], edges=self.workspace.edges, id="label-view")
        frame_view.pictures = self.pictures
        return frame_view

    def on_mount(self) -> None:
        self.title = f"pose3d · {self.workspace.title} · label"
        self.refresh_view()

    # --- drawing -----------------------------------------------------------------------------

    def refresh_view(self) -> None:
        ws, editor = self.workspace, self.workspace.editor
        cursor = editor.cursor
        if self.crosshair is not None and self.crosshair.cell != cursor:
            self.crosshair = None  # it belongs to the cell it was started on
        view = self.query_one("#label-view", FrameView)
        if view.view != cursor.view:  # another camera: new size, zoom back to fit
            view.view, view.image_size = cursor.view, ws.frames.sizes[cursor.view]
            view.zoom, view.center = 1.0, None
        known, image = ws.frames.cached(cursor.view, cursor.frame)
        if not known:  # decoded by a worker, which redraws; the old picture stays meanwhile
            view.border_subtitle = f"decoding frame {cursor.frame} ..."
            self._decode(cursor.view, cursor.frame)
            return
        ws.frames.prefetch(cursor.frame, [cursor.view])
        status = keypoint_status(editor.labels, cursor.view, cursor.keypoint, cursor.individual)
        self.query_one("#label-timeline", TimelineBar).update_status(status, cursor.frame)
        inputs = self._inputs(cursor)
        _, source, review = editor.frame_points(cursor.frame, cursor.view)
        i = editor.individuals.index(cursor.individual)
        markers, curves, self.aids = inputs.markers, inputs.curves, inputs.aids
        camera_frame = ws.frames.camera_frame(cursor.view, cursor.frame)
        note = "not filmed" if camera_frame is None else f"camera frame {camera_frame}"
        view.border_title = f"{cursor.view} · frame {cursor.frame}"
        view.curves = curves
        view.show(image, markers, note, inputs.position)
        hidden = editor.frame_hidden(cursor.frame, cursor.view)
        self._update_side(source[:, i], review[:, i], hidden[:, i], view.zoom)
        self.call_after_refresh(self._draw_ahead, cursor)  # once this frame is on screen

    def _inputs(self, cursor: Cell) -> _Inputs:
        """What the picture of ``cursor``'s frame and view shows (also run in the draw-ahead
        worker, for the neighbouring frames): markers with the cursor's keypoint highlighted and
        the suggestion, the epipolar curves, and the aids they come from."""
        editor = self.workspace.editor
        position, source, review = editor.frame_points(cursor.frame, cursor.view)
        k = editor.keypoints.index(cursor.keypoint)
        i = editor.individuals.index(cursor.individual)
        style = self.workspace.marker_style
        markers = label_markers(
            position, source, review, self.keypoint_colors, (k, i), style, editor.keypoints
        )
        if not style.shown:  # no bones either: the animal alone (the crosshair stays)
            position = np.full_like(position, np.nan)
        aids = self._view_aids(cursor)
        if aids is not None and aids.suggestion is not None:
            x, y = aids.suggestion
            markers.append(Marker(x, y, self.keypoint_colors[k], suggestion=True))
        if self.crosshair is not None and self.crosshair.cell == cursor:
            here = self.crosshair
            markers.append(Marker(here.x, here.y, self.keypoint_colors[k], crosshair=True))
        curves = (
            [(curve, self.keypoint_colors[k]) for curve in aids.curves.values()]
            if aids is not None
            else []
        )
        return _Inputs(markers, curves, position, aids)

    def _draw_ahead(self, cursor: Cell) -> None:
        """Draw the pictures of the next and the previous frame of this view in a worker, so
        that a step finds them ready (as the Views screen does)."""
        view = self.query_one("#label-view", FrameView)
        if cursor != self.workspace.editor.cursor or IMAGE_WIDGET is not HalfcellCanvas:
            return
        if not view.is_mounted or view.content_size.area == 0:
            return
        self.workspace.cameras  # noqa: B018 -- read here, on the UI thread, not in the worker
        self._draw_ahead_worker(cursor, view.viewport, truecolor())

    @work(thread=True, exclusive=True, group="label-draw-ahead", exit_on_error=False)
    def _draw_ahead_worker(self, cursor: Cell, viewport: Viewport, truecolor: bool) -> None:
        worker = get_current_worker()
        editor, edges = self.workspace.editor, self.workspace.edges
        for frame in (cursor.frame + 1, cursor.frame - 1):
            if worker.is_cancelled:
                return
            if not editor.first_frame <= frame < editor.first_frame + editor.n_frames:
                continue
            image = self.workspace.frames.get(cursor.view, frame)  # waits for the decoder
            if image is None:
                continue
            there = replace(cursor, frame=frame)
            inputs = self._inputs(there)
            key = picture_key(
                image, viewport, inputs.markers, inputs.position, edges, inputs.curves, truecolor
            )
            if key in self.pictures:
                continue
            canvas = draw_picture(
                image, viewport, PX_PER_CELL, inputs.markers, inputs.position, edges, inputs.curves
            )
            texts = marker_texts(inputs.markers, viewport, PX_PER_CELL)
            strips = halfcell_strips(canvas, truecolor, texts)
            self.pictures.put(key, Picture(image, canvas, strips))

    def _update_side(
        self, source: np.ndarray, review: np.ndarray, hidden: np.ndarray, zoom: float
    ) -> None:
        """The keypoint list and the info panel: source / review / hidden mark of the cursor's
        individual's keypoints on this frame and view, ``(K,)`` each."""
        editor = self.workspace.editor
        cursor = editor.cursor
        self.query_one("#keypoints", KeypointList).update_points(
            cursor.keypoint,
            [s.PointSource(int(v)) for v in source],
            [bool(v) for v in review],
            editor.individuals.index(cursor.individual),
            hidden=[bool(v) for v in hidden],
        )
        point = editor.point()
        where = "not placed" if point is None else f"({point[0]:.1f}, {point[1]:.1f}) px"
        if point is None and editor.hidden():
            who = "you" if editor.source() == s.PointSource.MANUAL else "the tracker"
            where = f"hidden here (said by {who}; h: take the mark away)"
        flag = ""
        if bool(review[editor.keypoints.index(cursor.keypoint)]):
            reason = editor.labels.get(s.REVIEW_REASON)
            why = "" if reason is None else s.ReviewReason(int(reason.values[self._cell()])).name
            flag = f"\nflagged for review: {why.lower().replace('_', ' ')}"
        self.query_one("#label-info", Static).update(
            f"frame {cursor.frame}  view {cursor.view}  (?: keys)\n"
            f"individual {individual_glyph(editor.individuals.index(cursor.individual))} "
            f"{cursor.individual}\n"
            f"{cursor.keypoint}: {where} {editor.source().name.lower()}\n"
            f"zoom {zoom:.2g}x  undo {editor.undo_depth}"
            f"\nflagged points {int(editor.labels[s.REVIEW].values.sum())}{flag}",
            layout=False,  # a fixed height (pose3d.tcss): no layout pass, no full redraw
        )

    @work(thread=True, exclusive=True, group="decode", exit_on_error=False)
    def _decode(self, view: str, frame: int) -> None:
        self.workspace.frames.get(view, frame)
        self.app.call_from_thread(self._decoded, view, frame)

    def _decoded(self, view: str, frame: int) -> None:
        cursor = self.workspace.editor.cursor
        if (view, frame) == (cursor.view, cursor.frame) and self.is_mounted:
            self.refresh_view()

    def _view_aids(self, cursor: Cell) -> ViewAids | None:
        """Epipolar curves and the suggestion of ``cursor``'s keypoint, when the session has a
        calibration of this view and aids are shown."""
        cameras = self.workspace.cameras
        if not self.show_aids or cameras is None or cursor.view not in cameras.names:
            return None
        from pose3d.triangulation.assist import view_aids

        try:
            return view_aids(
                self.workspace.editor.labels,
                cameras,
                cursor.frame,
                cursor.view,
                cursor.keypoint,
                cursor.individual,
            )
        except Pose3dError:
            return None

    def _cell(self) -> tuple[int, int, int, int]:
        editor = self.workspace.editor
        cursor = editor.cursor
        return (
            cursor.frame - editor.first_frame,
            editor.views.index(cursor.view),
            editor.keypoints.index(cursor.keypoint),
            editor.individuals.index(cursor.individual),
        )

    def _edit(self, change: Callable[[], Edit | None], nothing: str = "") -> None:
        """Run one edit; say so when there was nothing to change or the last save failed."""
        try:
            edit = change()
        except (Pose3dError, OSError) as exc:
            self.notify(str(exc), title="labels.nc", severity="error", timeout=10, markup=False)
        else:
            if edit is None and nothing:
                self.notify(nothing, severity="warning", timeout=2)
        self.refresh_view()

    # --- actions -----------------------------------------------------------------------------

    def action_nudge(self, dx: int, dy: int) -> None:
        """Move the current point by (dx, dy) px; with the crosshair shown, move it instead (by
        picture pixels); on a keypoint not placed here, start the crosshair."""
        editor = self.workspace.editor
        if self.crosshair is not None or editor.point() is None:
            self.action_cross(dx, dy)
            return
        self._edit(lambda: editor.nudge(dx, dy))

    def action_crosshair(self) -> None:
        """Show the keyboard cursor on the current keypoint (or take it away)."""
        if self.crosshair is not None:
            self.crosshair = None
            self.refresh_view()
            return
        self._start_crosshair()

    def action_cross(self, dx: int, dy: int) -> None:
        """Move the crosshair by (dx, dy) fine steps (one picture pixel each); start it first
        where it is not shown."""
        if self.crosshair is None:
            self._start_crosshair()
            return
        viewport = self.query_one("#label-view", FrameView).viewport
        fx, fy = crosshair.step(viewport.scale, viewport.cell_aspect, PX_PER_CELL)
        size = self.workspace.frames.sizes[self.crosshair.cell.view]
        self.crosshair = self.crosshair.moved(dx * fx, dy * fy, size)
        self.refresh_view()

    def _start_crosshair(self) -> None:
        editor = self.workspace.editor
        cursor = editor.cursor
        if self.workspace.frames.camera_frame(cursor.view, cursor.frame) is None:
            self.notify("this camera did not film this frame", severity="warning")
            return
        suggestion = self.aids.suggestion if self.aids is not None else None
        last = editor.first_frame + editor.n_frames - 1
        neighbours = tuple(
            editor.point(replace(cursor, frame=f)) if editor.first_frame <= f <= last else None
            for f in (cursor.frame - 1, cursor.frame + 1)
        )
        middle = self.query_one("#label-view", FrameView).viewport.middle
        size = self.workspace.frames.sizes[cursor.view]
        here = editor.point() or suggestion
        self.crosshair = crosshair.start(cursor, here, (neighbours[0], neighbours[1]), middle, size)
        self.notify(
            "crosshair: arrows or h j k l move it (shift: 10x), enter places the keypoint "
            "there, escape takes it away",
            timeout=4,
        )
        self.refresh_view()

    def _place_at_crosshair(self) -> None:
        here = self.crosshair
        assert here is not None
        self.crosshair = None
        self._edit(lambda: self.workspace.editor.place_current((here.x, here.y)))

    def action_delete(self) -> None:
        editor = self.workspace.editor
        self._edit(editor.delete, f"{editor.cursor.keypoint} is not placed here")

    def action_hide(self) -> None:
        """Mark the current keypoint as not visible here and go to the next keypoint; on a
        person's hidden mark, take the mark away (the keypoint is unlabelled again). While the
        crosshair is shown, h moves it left instead."""
        if self.crosshair is not None:
            self.action_cross(-1, 0)
            return
        editor = self.workspace.editor
        if editor.hidden() and editor.source() == s.PointSource.MANUAL:
            self._edit(editor.delete)
            return

        def hide() -> Edit | None:
            edit = editor.hide()
            editor.next_keypoint()
            return edit

        self._edit(hide)

    def action_accept_point(self) -> None:
        """The current point is right (a tracked, imported or reprojected one): it becomes a
        manual anchor where it is, and the next keypoint is current."""
        editor = self.workspace.editor

        def accept() -> Edit | None:
            edit = editor.accept()
            if edit is not None:
                editor.next_keypoint()
            return edit

        self._edit(accept, f"{editor.cursor.keypoint} has no point here that is not manual")

    def action_copy_previous(self) -> None:
        """Copy this camera's points of the current individual on the previous frame here (as
        manual labels; what a person labelled here stays), to move them from there."""
        editor = self.workspace.editor
        if editor.cursor.frame <= editor.first_frame:
            self.notify("no previous frame to copy from", severity="warning", timeout=3)
            return
        self._edit(
            lambda: editor.copy_frame(editor.cursor.frame - 1),
            "nothing to copy: the previous frame has no label of this individual that is not "
            "labelled by hand here",
        )

    def action_undo(self) -> None:
        self._edit(self.workspace.editor.undo, "nothing to undo")

    def action_redo(self) -> None:
        self._edit(self.workspace.editor.redo, "nothing to redo")

    def action_next_keypoint(self, step: int) -> None:
        self.workspace.editor.next_keypoint(step)
        self.refresh_view()

    def action_next_individual(self, step: int) -> None:
        self.workspace.editor.next_individual(step)
        self.refresh_view()

    def action_zoom(self, factor: float) -> None:
        view = self.query_one("#label-view", FrameView)
        view.set_view(view.viewport.zoomed(factor, around=self.workspace.editor.point()))
        self.refresh_view()

    def action_fit(self) -> None:
        view = self.query_one("#label-view", FrameView)
        view.set_view(view.viewport.fitted())
        self.refresh_view()

    def action_pan(self, cols: int, rows: int) -> None:
        view = self.query_one("#label-view", FrameView)
        view.set_view(view.viewport.panned(cols * PAN_CELLS, rows * PAN_CELLS / 2))
        self.refresh_view()

    def action_step(self, delta: int) -> None:
        editor = self.workspace.editor
        last = editor.first_frame + editor.n_frames - 1
        editor.move_to(frame=min(max(editor.cursor.frame + delta, editor.first_frame), last))
        self.refresh_view()

    def action_go_to_start(self) -> None:
        editor = self.workspace.editor
        self.action_step(editor.first_frame - editor.cursor.frame)

    def action_go_to_end(self) -> None:
        editor = self.workspace.editor
        self.action_step(editor.first_frame + editor.n_frames - 1 - editor.cursor.frame)

    def action_jump(self) -> None:
        editor = self.workspace.editor
        last = editor.first_frame + editor.n_frames - 1

        def done(frame: int | None) -> None:
            if frame is not None:
                self.action_step(frame - editor.cursor.frame)

        self.app.push_screen(JumpScreen(editor.cursor.frame, last), done)

    def action_play_pause(self) -> None:
        """Play this camera at the session's frame rate (space again, or the last frame,
        stops)."""
        if self.player is not None:
            self.player.stop()
            self.player = None
            return
        fps = self.workspace.session.fps or DEFAULT_FPS
        self.player = self.set_interval(1 / fps, self._tick)

    def _tick(self) -> None:
        editor = self.workspace.editor
        if editor.cursor.frame >= editor.first_frame + editor.n_frames - 1:
            self.action_play_pause()
            return
        self.action_step(1)

    def action_next_view(self, step: int) -> None:
        editor = self.workspace.editor
        views = editor.views
        editor.move_to(view=views[(views.index(editor.cursor.view) + step) % len(views)])
        self.refresh_view()

    def action_back(self) -> None:
        if self.player is not None:
            self.action_play_pause()
        if self.crosshair is not None:
            self.crosshair = None
            self.refresh_view()
            return
        self.dismiss()

    def action_accept_suggestion(self) -> None:
        """Place the current keypoint at the crosshair, or where the other views put it (then
        the next keypoint)."""
        if self.crosshair is not None:
            self._place_at_crosshair()
            return
        if self.aids is None or self.aids.suggestion is None:
            need = "a calibration and the keypoint in two other views"
            self.notify(
                f"no suggestion here (it needs {need}); x: place it with the keyboard",
                severity="warning",
                timeout=3,
            )
            return
        suggestion = self.aids.suggestion
        self._edit(lambda: self.workspace.editor.place_current(suggestion))

    def redraw_labels(self) -> None:
        self.refresh_view()

    def action_toggle_aids(self) -> None:
        self.show_aids = not self.show_aids
        self.refresh_view()

    def action_propagate(self) -> None:
        self._run_propagation(None)

    def action_retrack(self) -> None:
        """Re-track the current view from this frame's anchors (manual points and hidden marks,
        after a correction): only the frames up to the neighbouring anchors change."""
        editor = self.workspace.editor
        cursor = editor.cursor
        end = editor.first_frame + editor.n_frames
        request = PropagateRequest((cursor.view,), (editor.first_frame, end), (cursor.frame,))
        self._run_propagation(request)

    def _run_propagation(self, request: PropagateRequest | None) -> None:
        try:  # the tracks would be written: say so before the tracking, not after
            self.workspace.refuse_when_read_only("propagate")
        except Pose3dError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return

        def done(report: PropagationReport | None) -> None:
            if request is None and report is not None:  # a new propagation: a new tour
                self.review_tour = ReviewTour()
                self.tour, self.tour_at = [], -1
            if report is not None:
                self.notify(
                    f"{report.tracker}: tracked {report.tracked} points from {report.queries} "
                    f"manual points; {report.flagged} flagged for review (f: next flagged)"
                    f"{report.repairs()}",
                    timeout=8,
                )
                if report.multiview is not None and report.multiview.advisory:
                    calibration = str(self.workspace.session.paths.calibration)
                    self.notify(
                        report.multiview.describe(calibration),
                        title="calibration",
                        severity="warning",
                        timeout=15,
                    )
            self.refresh_view()

        self.app.push_screen(PropagateScreen(self.workspace, request, self.tracker), done)

    def action_next_flagged(self) -> None:
        """Go to the worst flagged run not visited yet (review queue, worst first), at the
        run's worst frame (where its error is largest, not its first frame)."""
        from pose3d.tracking.review import review_queue

        editor = self.workspace.editor
        queue = review_queue(editor.labels)
        if self.tour_at < len(self.tour) - 1:  # after F: forward again through the same runs
            self.tour_at += 1
            self._show_run(self.tour[self.tour_at], queue)
            return
        item = self.review_tour.take(queue)
        if item is None:
            self.notify("nothing is flagged for review", timeout=3)
            return
        self.tour.append(item)
        self.tour_at = len(self.tour) - 1
        self._show_run(item, queue)

    def action_previous_flagged(self) -> None:
        """Go back to the run ``f`` went to before this one."""
        if self.tour_at <= 0:
            self.notify("no earlier flagged run in this tour", severity="warning", timeout=3)
            return
        from pose3d.tracking.review import review_queue

        self.tour_at -= 1
        self._show_run(self.tour[self.tour_at], review_queue(self.workspace.editor.labels))

    def _show_run(self, item: ReviewItem, queue: Sequence[ReviewItem]) -> None:
        editor = self.workspace.editor
        left = self.review_tour.left(queue)
        editor.move_to(
            frame=item.worst_frame,
            view=item.view,
            keypoint=item.keypoint,
            individual=item.individual,
        )
        self.notify(
            f"{item.keypoint} in {item.view}, frames {item.frame}-{item.last_frame} (worst "
            f"{item.worst_frame}): "
            f"{item.reason.name.lower().replace('_', ' ')} (score {item.score:.1f}: 1 is where "
            f"a point is flagged, higher is worse); {left} of {len(queue)} runs not visited yet",
            timeout=4,
        )
        self.refresh_view()

    # --- messages ----------------------------------------------------------------------------

    @on(Seek)
    def _seek(self, message: Seek) -> None:
        """A click on the timeline (the current keypoint's labels in this view): go there."""
        editor = self.workspace.editor
        last = editor.first_frame + editor.n_frames - 1
        editor.move_to(frame=min(max(int(message.frame), editor.first_frame), last))
        self.refresh_view()

    @on(PixelClicked)
    def _clicked(self, message: PixelClicked) -> None:
        editor = self.workspace.editor
        frames = self.workspace.frames
        if frames.camera_frame(message.view, editor.cursor.frame) is None:
            self.notify("this camera did not film this frame", severity="warning")
            return
        if not frames.cached(message.view, editor.cursor.frame)[0]:  # the picture is stale
            self.notify("the frame is still being decoded; click again", timeout=2)
            return
        self._edit(lambda: editor.place_current((message.x, message.y)))

    @on(ZoomAt)
    def _zoom_at(self, message: ZoomAt) -> None:
        """The mouse wheel zooms around the pixel under the mouse."""
        view = self.query_one("#label-view", FrameView)
        view.set_view(view.viewport.zoomed(message.factor, around=(message.x, message.y)))
        self.refresh_view()

    @on(KeypointChosen)
    def _keypoint_chosen(self, message: KeypointChosen) -> None:
        self.workspace.editor.move_to(keypoint=message.keypoint)
        self.refresh_view()
