"""The pose3d terminal UI: ``Pose3dApp(session)``, run by ``pose3d tui [SESSION]``.

Screens: Sessions (recent sessions, the ``pose3d info`` status) -> Views (every camera at one
synchronized frame) -> Label (one view large). Opening a session takes its lock for as long as
it is open (pose3d.tui.state.workspace); labels.nc is saved after every edit. Full garbage
collections wait for the user's idle moments (pose3d.tui.gc_pacing).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from pose3d.errors import Pose3dError
from pose3d.tracking.registry import TrackerSpec
from pose3d.tui.gc_pacing import IdleCollector
from pose3d.tui.messages import OpenSession
from pose3d.tui.screens.sessions import SessionsScreen
from pose3d.tui.screens.views import ViewsScreen
from pose3d.tui.state.recent import add_recent
from pose3d.tui.state.workspace import Workspace
from pose3d.tui.widgets import graphics  # noqa: F401  (queries the terminal before the app runs)

MIN_SIZE = (80, 24)  # columns, rows the screens are laid out for


class Pose3dApp(App[None]):
    CSS_PATH = "pose3d.tcss"
    TITLE = "pose3d"
    BINDINGS: ClassVar[list[BindingType]] = [
        *App.BINDINGS,
        Binding("question_mark", "help", "Keys"),
    ]

    def __init__(
        self,
        session: Path | None = None,
        recent_path: Path | None = None,
        tracker: str | None = None,
        read_only: bool = False,
        tapir_side: int | None = None,
    ) -> None:
        super().__init__()
        self.read_only = read_only  # open sessions without their lock, for looking only
        self.initial_session = session
        self.recent_path = recent_path
        self.tracker = TrackerSpec(tracker, tapir_side)  # name None: the best installed
        self.workspace: Workspace | None = None
        self.collector = IdleCollector()
        self.said_small = False  # the terminal-too-small notice is shown until it is not

    def on_mount(self) -> None:
        self.collector.start()
        self.set_interval(0.5, self.collector.tick)
        self.push_screen(SessionsScreen(self.recent_path))
        if not self.is_headless and self.console.color_system != "truecolor":
            self.notify(
                f"this terminal shows {self.console.color_system} colours, so pictures look "
                "posterized: run with COLORTERM=truecolor (in tmux, add set -ga "
                'terminal-overrides ",*256col*:Tc" to ~/.tmux.conf)',
                severity="warning",
                timeout=12,
                markup=False,
            )
        if self.initial_session is not None:
            self.open_session(self.initial_session)

    def on_resize(self, event: events.Resize) -> None:
        """Say once when the terminal is smaller than the screens are laid out for."""
        width, height = event.size
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        if small and not self.said_small:
            self.notify(
                f"the terminal is {width} x {height}; pose3d's screens need at least "
                f"{MIN_SIZE[0]} x {MIN_SIZE[1]} (some fields and keys are cut): enlarge it",
                severity="warning",
                timeout=8,
            )
        self.said_small = small

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.collector.touch()
        await super().on_event(event)

    def action_help(self) -> None:
        """The keys of the current screen (keymap.md's section for it) and of the app."""
        from pose3d.tui.dialogs.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(getattr(self.screen, "KEYMAP_SECTION", "App")))

    @on(OpenSession)
    def _open_session(self, message: OpenSession) -> None:
        self.open_session(message.root)

    def open_session(self, root: Path) -> None:
        """Open ``root`` (taking its lock) and show its views; errors become notifications.

        Opening indexes every camera's video (reads each file once), so it runs in a worker."""
        if self.workspace is not None:
            self.close_session()
        if isinstance(self.screen, SessionsScreen):
            self.screen.opening(root)
        self._open_workspace(root)

    @work(thread=True, exclusive=True, group="open-session", exit_on_error=False)
    def _open_workspace(self, root: Path) -> Workspace:
        return Workspace(root, read_only=self.read_only)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "open-session":
            return
        if event.state is WorkerState.SUCCESS:
            workspace = event.worker.result
            assert isinstance(workspace, Workspace)
            self._show_session(workspace)
        elif event.state is WorkerState.ERROR:
            error = event.worker.error
            message = str(error) if isinstance(error, Pose3dError) else repr(error)
            self.notify(
                message, title="cannot open the session", severity="error", timeout=10, markup=False
            )

    def _show_session(self, workspace: Workspace) -> None:
        if self.workspace is not None:  # opened twice in a row: keep the latest
            self.workspace.close()
        self.workspace = workspace
        self.collector.touch()  # collect and freeze the views' objects at the first pause
        try:
            add_recent(self.workspace.root, self.recent_path)
        except (OSError, Pose3dError) as exc:  # the list is a convenience: say so, go on
            self.notify(
                f"could not update the recent sessions: {exc}", severity="warning", markup=False
            )
        self.push_screen(ViewsScreen(self.workspace, self.tracker), self._views_closed)

    def _views_closed(self, _: None) -> None:
        self.close_session()
        if isinstance(self.screen, SessionsScreen):
            self.screen.action_reload()

    def close_session(self) -> None:
        """Release the open session (its lock and decoders)."""
        if self.workspace is not None:
            self.workspace.close()
            self.workspace = None

    def on_unmount(self) -> None:
        self.close_session()
        self.collector.stop()
