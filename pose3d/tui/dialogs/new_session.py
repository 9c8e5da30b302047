"""The New-session dialog: cameras and their videos, keypoints, skeleton edges, individuals,
fps and board; creates the folder with ``init_session`` (what ``pose3d init`` runs) in a worker,
since it opens and indexes every video."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, TextArea
from textual.worker import Worker, WorkerState

from pose3d.errors import Pose3dError
from pose3d.tui.logic.session_form import NewSession, parse_new_session
from pose3d.tui.widgets.toggles import Check


class NewSessionScreen(ModalScreen["Path | None"]):
    KEYMAP_SECTION: ClassVar[str] = "New session"  # its keys in keymap.md (the ? overlay)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="new-session-dialog"):
            yield Label("New session")
            yield Label("folder to create")
            yield Input(placeholder="e.g. sessions/mouse_2024_05_01", id="new-root")
            yield Label("cameras, one per line: NAME=VIDEO (a video file or an image folder)")
            yield TextArea(id="new-cameras")
            yield Label("skeleton from a DeepLabCut config.yaml or SLEAP .slp (optional)")
            yield Input(placeholder="project/config.yaml, or labels.slp", id="new-skeleton")
            yield Label("keypoints, comma-separated (blank: from that file)")
            yield Input(
                placeholder="nose, ear_left, ear_right, neck, tail_base", id="new-keypoints"
            )
            yield Label("skeleton edges, a-b pairs (optional)")
            yield Input(placeholder="nose-neck, neck-tail_base", id="new-edges")
            yield Label("individuals (optional; default one: individual_0)")
            yield Input(id="new-individuals")
            yield Label("fps (optional: read from the videos) and board spec TOML (optional)")
            with Horizontal(classes="pair"):
                yield Input(id="new-fps", placeholder="fps")
                yield Input(id="new-board", placeholder="board.toml (pose3d board list)")
            yield Label("calibration media (optional), one per line: NAME=VIDEO of the board")
            yield TextArea(id="new-calibration-media")
            yield Check("the videos may have different frame counts", id="new-mismatch")
            with Horizontal(classes="pair"):
                yield Button("Create", id="new-create", variant="primary")
                yield Button("Cancel", id="new-cancel")
            yield Label("", id="new-status")

    def on_mount(self) -> None:
        self.query_one("#new-root", Input).focus()  # type the folder at once

    def _value(self, id: str) -> str:
        return self.query_one(f"#{id}", Input).value

    @on(Button.Pressed, "#new-create")
    def _create(self) -> None:
        try:
            spec = parse_new_session(
                self._value("new-root"),
                self.query_one("#new-cameras", TextArea).text,
                self._value("new-keypoints"),
                self._value("new-edges"),
                self._value("new-individuals"),
                self._value("new-fps"),
                self._value("new-board"),
                calibration_media=self.query_one("#new-calibration-media", TextArea).text,
                skeleton=self._value("new-skeleton"),
            )
        except Pose3dError as exc:
            self.notify(str(exc), title="new session", severity="error", timeout=10, markup=False)
            return
        self.query_one("#new-create", Button).disabled = True
        self.query_one("#new-status", Label).update("opening the videos ...")
        self._init(spec, self.query_one("#new-mismatch", Checkbox).value)

    @work(thread=True, exclusive=True, group="new-session", exit_on_error=False)
    def _init(self, spec: NewSession, allow_mismatch: bool) -> Path:
        from pose3d.pipeline.session import init_session

        session = init_session(
            spec.root,
            cameras=spec.cameras,
            keypoints=spec.keypoints,
            edges=spec.edges,
            individuals=spec.individuals,
            fps=spec.fps,
            board_path=spec.board,
            allow_frame_mismatch=allow_mismatch,
            calibration_media=spec.calibration_media,
        )
        return session.root

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "new-session":
            return
        if event.state is WorkerState.SUCCESS:
            root = event.worker.result
            assert isinstance(root, Path)
            self.dismiss(root)
        elif event.state is WorkerState.ERROR:
            self.query_one("#new-create", Button).disabled = False
            self.query_one("#new-status", Label).update("")
            self.notify(
                str(event.worker.error),
                title="new session",
                severity="error",
                timeout=15,
                markup=False,
            )

    @on(Button.Pressed, "#new-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
