"""The ``?`` overlay: every key of the screen it was opened on, and of the app, as keymap.md
(the key <-> action contract, kept equal to the bindings by tests/tui/test_keymap.py) lists
them; the footers show about half."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from pose3d.tui import keymap_section


class HelpScreen(ModalScreen[None]):
    KEYMAP_SECTION: ClassVar[str] = "Help"  # its keys in keymap.md
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def __init__(self, section: str) -> None:
        super().__init__()
        self.section = section

    def compose(self) -> ComposeResult:
        text = keymap_section(self.section) or f"## {self.section}\n\n(no keys listed)"
        with VerticalScroll(id="help-dialog"):
            yield Markdown(f"{text}\n\n{keymap_section('App')}\n\nescape, ? or q closes this.")

    def action_close(self) -> None:
        self.dismiss(None)
