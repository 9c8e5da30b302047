"""The Sessions screen: recent sessions, a path to type, and the status ``pose3d info`` prints."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from pose3d.errors import Pose3dError
from pose3d.tui.messages import OpenSession
from pose3d.tui.state.recent import load_recent


class SessionsScreen(Screen[None]):
    KEYMAP_SECTION: ClassVar[str] = "Sessions"  # its keys in keymap.md (the ? overlay)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "focus_path", "Type a path"),
        Binding("f5", "reload", "Reload list"),
        Binding("ctrl+n", "new_session", "New session"),
    ]

    def __init__(self, recent_path: Path | None = None) -> None:
        super().__init__()
        self.recent_path = recent_path

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="sessions-left"):
                yield Label("Recent sessions (enter opens; ctrl+n: new session)")
                yield OptionList(id="recent")
                yield Label("Open a session folder")
                yield Input(placeholder="path/to/session (enter opens)", id="path")
            with VerticalScroll(id="sessions-info"):
                yield Static("Choose a session to see its status.", id="info")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        options = self.query_one("#recent", OptionList)
        options.clear_options()
        for root in load_recent(self.recent_path):
            options.add_option(Option(str(root), id=str(root)))
        if options.option_count:
            options.highlighted = 0
            options.focus()
        else:
            self.query_one("#path", Input).focus()

    def action_new_session(self) -> None:
        from pose3d.tui.dialogs.new_session import NewSessionScreen

        def created(root: Path | None) -> None:
            if root is not None:
                self.notify(f"created session {root}", timeout=4)
                self.post_message(OpenSession(root))

        self.app.push_screen(NewSessionScreen(), created)

    def action_focus_path(self) -> None:
        self.query_one("#path", Input).focus()

    @on(OptionList.OptionHighlighted, "#recent")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.show_info(Path(event.option.id))

    @on(OptionList.OptionSelected, "#recent")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.post_message(OpenSession(Path(event.option.id)))

    @on(Input.Submitted, "#path")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            root = Path(event.value.strip()).expanduser()
            self.show_info(root)
            self.post_message(OpenSession(root))

    def opening(self, root: Path) -> None:
        """Say that ``root`` is being opened (its videos are read first)."""
        for info in self.query("#info").results(Static):  # none before the screen is composed
            info.update(Text(f"opening {root}: reading the videos ...", style="bold"))

    def show_info(self, root: Path) -> None:
        self.query_one("#info", Static).update(Text(f"reading {root} ...", style="dim"))
        self._load_info(root)

    @work(thread=True, exclusive=True, group="session-info")
    def _load_info(self, root: Path) -> None:
        from pose3d.info_table import info_renderable
        from pose3d.pipeline.session import session_info

        shown: RenderableType
        try:
            shown = info_renderable(session_info(root))
        except Pose3dError as exc:
            shown = Text(str(exc), style="red")
        self.app.call_from_thread(self.query_one("#info", Static).update, shown)
