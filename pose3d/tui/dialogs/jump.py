"""A small dialog that asks for a frame number."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Input, Label


class JumpScreen(ModalScreen[int | None]):
    KEYMAP_SECTION: ClassVar[str] = "Go to frame"  # its keys in keymap.md (the ? overlay)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, frame: int, last: int) -> None:
        super().__init__()
        self.frame, self.last = frame, last

    def compose(self) -> ComposeResult:
        with Vertical(id="jump-dialog"):
            yield Label(f"Go to frame (0-{self.last})")
            yield Label("enter: go   escape: cancel", classes="hint")
            yield Input(
                str(self.frame),
                id="jump-frame",
                validators=[Integer(minimum=0, maximum=self.last)],
                select_on_focus=True,
            )

    @on(Input.Submitted, "#jump-frame")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            self.notify(f"expected a frame number from 0 to {self.last}", severity="warning")
            return
        self.dismiss(int(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
