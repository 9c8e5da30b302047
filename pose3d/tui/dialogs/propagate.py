"""Propagate (and re-track) from the Label screen: a dialog for the direction, range and views,
then a cancellable background worker with a progress bar running the tracker on the editor's
labels in memory (pose3d.tui.state.workspace.Workspace.propagate).

The result is one edit (ctrl+z takes the whole propagation back), written to labels.nc once,
through the autosave, under the lock the TUI holds; a cancelled run changes nothing.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, RadioButton, RadioSet
from textual.worker import Worker, WorkerState

from pose3d.errors import Pose3dError
from pose3d.tracking.base import TrackingCancelled
from pose3d.tracking.propagate import PropagationReport
from pose3d.tracking.registry import TrackerSpec
from pose3d.tui.logic.propagation import (
    Direction,
    PropagateRequest,
    check_frames,
    manual_views,
    propagation_frames,
    what_it_replaces,
)
from pose3d.tui.state.workspace import Workspace
from pose3d.tui.widgets.toggles import Radio


class PropagateScreen(ModalScreen["PropagationReport | None"]):
    """With ``request`` the run starts at once (re-track); without, the dialog asks first."""

    KEYMAP_SECTION: ClassVar[str] = "Propagate"  # its keys in keymap.md (the ? overlay)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        workspace: Workspace,
        request: PropagateRequest | None = None,
        tracker: TrackerSpec | None = None,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.request = request
        self.tracker = tracker or TrackerSpec()
        self.cancel_event = threading.Event()
        self.running = False

    def compose(self) -> ComposeResult:
        editor = self.workspace.editor
        cursor = editor.cursor
        start, stop = propagation_frames(
            Direction.FORWARD, cursor.frame, editor.first_frame, editor.n_frames
        )
        with Vertical(id="propagate-dialog"):
            yield Label(f"Propagate the manual points from frame {cursor.frame}")
            with RadioSet(id="direction"):
                yield Radio("forward: to the last frame", value=True, id="forward")
                yield Radio("backward: from the first frame", id="backward")
                yield Radio("both: every frame", id="both")
            with Horizontal(id="propagate-range"):
                yield Label("frames")
                yield Input(str(start), id="start", type="integer")
                yield Label("to")
                yield Input(str(stop - 1), id="last", type="integer")
            with RadioSet(id="cameras"):
                yield Radio("every camera with manual points", value=True, id="all-views")
                yield Radio(f"this camera only ({cursor.view})", id="this-view")
            others = self._second_opinions()
            if others:  # another installed tracker: its distance is a review flag
                with RadioSet(id="second"):
                    yield Radio("no second opinion", value=True, id="second-none")
                    for name in others:
                        yield Radio(f"second opinion: {name} (tracks again)", id=f"second-{name}")
            yield Label("", id="propagate-effect")
            yield Label(self._tracker_line(), id="propagate-tracker", markup=False)
            with Horizontal(id="propagate-buttons"):
                yield Button("Start", id="start-button", variant="primary")
                yield Button("Cancel", id="cancel-button")
            yield Label("", id="propagate-step")
            yield ProgressBar(id="propagate-progress", show_eta=False)

    def _second_opinions(self) -> list[str]:
        """The other trackers that can run here (installed), for a second opinion."""
        from pose3d.tracking.registry import TRACKERS, select

        try:
            first = select(self.tracker.name).name
        except Pose3dError:
            return []
        others = []
        for name in TRACKERS:
            if name == first:
                continue
            try:
                select(name)
            except Pose3dError:  # its weights are not installed
                continue
            others.append(name)
        return others

    def _tracker_line(self) -> str:
        """Which tracker will run and the licence of its weights (or why none can)."""
        from pose3d.tracking.registry import licence_line, select

        try:
            name = select(self.tracker.name).name
        except Pose3dError as exc:
            return f"tracker: {exc}"
        return f"tracker: {name} — {licence_line(name)}"

    def on_mount(self) -> None:
        self.query_one("#propagate-progress", ProgressBar).display = False
        if self.request is not None:
            self.query_one("#propagate-effect", Label).display = False
            self.start(self.request)
        else:
            self._say_effect()
            self.query_one("#start-button", Button).focus()

    # --- the dialog --------------------------------------------------------------------------

    @on(RadioSet.Changed, "#direction")
    def _direction(self, event: RadioSet.Changed) -> None:
        editor = self.workspace.editor
        direction = Direction(event.pressed.id)
        start, stop = propagation_frames(
            direction, editor.cursor.frame, editor.first_frame, editor.n_frames
        )
        self.query_one("#start", Input).value = str(start)
        self.query_one("#last", Input).value = str(stop - 1)
        self._say_effect()

    @on(RadioSet.Changed, "#cameras")
    @on(Input.Changed, "#start, #last")
    def _say_effect(self) -> None:
        """Say which cameras and frames the run covers and what it replaces, before it runs."""
        effect = self.query_one("#propagate-effect", Label)
        try:
            request = self._request()
        except (ValueError, Pose3dError):
            effect.update("[red]the frames must be numbers within the labels' frames[/red]")
            return
        labels = self.workspace.editor.labels
        effect.update(what_it_replaces(labels, request.views, request.frames))

    def _request(self) -> PropagateRequest:
        """The run the dialog describes; raises on a range that is not one."""
        editor = self.workspace.editor
        start = int(self.query_one("#start", Input).value)
        stop = int(self.query_one("#last", Input).value) + 1
        frames = check_frames(start, stop, editor.first_frame, editor.n_frames)
        second = None
        for button in self.query("#second RadioButton").results(RadioButton):
            if button.value and button.id != "second-none" and button.id is not None:
                second = button.id.removeprefix("second-")
        if self.query_one("#this-view", RadioButton).value:
            return PropagateRequest((editor.cursor.view,), frames, second=second)
        return PropagateRequest(manual_views(editor.labels, frames), frames, second=second)

    @on(Button.Pressed, "#start-button")
    def _start_pressed(self) -> None:
        try:
            request = self._request()
        except (ValueError, Pose3dError) as exc:
            self.notify(
                f"{exc}" if isinstance(exc, Pose3dError) else "frames must be numbers", markup=False
            )
            return
        if not request.views:
            self.notify(what_it_replaces(self.workspace.editor.labels, (), request.frames))
            return
        self.start(request)

    @on(Button.Pressed, "#cancel-button")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.query_one("#propagate-step", Label).update("cancelling ...")
        else:
            self.dismiss(None)

    # --- the run -----------------------------------------------------------------------------

    def start(self, request: PropagateRequest) -> None:
        self.running = True
        self.query_one("#start-button", Button).disabled = True
        self.query_one("#propagate-progress", ProgressBar).display = True
        self.query_one("#propagate-step", Label).update(request.describe())
        self._run(request)

    @work(thread=True, exclusive=True, group="propagate", exit_on_error=False)
    def _run(self, request: PropagateRequest) -> PropagationReport:
        choice, second = self.tracker.make(request.second)
        if choice.notice and choice.notice not in self.workspace.said:  # once, not every run
            self.workspace.said.add(choice.notice)
            self.app.call_from_thread(self.notify, choice.notice, timeout=8)
        return self.workspace.propagate(
            request,
            choice.tracker,
            progress=self._progress_from_thread,
            cancel=self.cancel_event,
            second=second,
        )

    def _progress_from_thread(self, step: str, done: int, total: int) -> None:
        self.app.call_from_thread(self._show_progress, step, done, total)

    def _show_progress(self, step: str, done: int, total: int) -> None:
        if not self.cancel_event.is_set():
            self.query_one("#propagate-step", Label).update(step)
        self.query_one("#propagate-progress", ProgressBar).update(total=total, progress=done)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "propagate" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
        ):
            return
        self.running = False
        if event.state is WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
            return
        error = event.worker.error
        if isinstance(error, TrackingCancelled):
            self.notify("propagation cancelled; the labels are unchanged", timeout=5)
        elif isinstance(error, Pose3dError):
            self.notify(str(error), title="propagate", severity="error", timeout=10, markup=False)
        else:
            self.notify(
                f"{type(error).__name__}: {error}", severity="error", timeout=10, markup=False
            )
        self.dismiss(None)
