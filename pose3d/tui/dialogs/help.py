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
            yield Markdown(
                _table_first(text) + f"\n\n{keymap_section('App')}\n\nescape, ? or q closes this."
            )

    def action_close(self) -> None:
        self.dismiss(None)


def _table_first(section: str) -> str:
    """The section with its key table before its prose (the table is what ``?`` is for; on a
    small terminal the prose would push it below the fold)."""
    lines = section.splitlines()
    title = lines[:1]
    table = [line for line in lines[1:] if line.startswith("|")]
    prose = [line for line in lines[1:] if not line.startswith("|")]
    return "\n".join([*title, "", *table, "", *prose]).strip()
