"""The Calibration screen: the board spec form, board detection per camera with progress bars in
a cancellable worker, and the report (per-camera RMS, frames used, the intrinsics with their
standard deviations, the board's tilts, the square-length check, the warnings).

Calibration runs ``pose3d.pipeline.calibrate.calibrate_session`` — what ``pose3d calibrate``
runs — with the options of the form (frame step, reference camera, origin frame, fisheye
lenses), in the TUI's SessionFolder, whose lock the TUI holds while the session is open.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
)
from textual.worker import Worker, WorkerState

from pose3d.board import Board, CharucoBoard, Checkerboard
from pose3d.errors import Pose3dError, SessionLockedError
from pose3d.tui.state.workspace import Workspace
from pose3d.tui.widgets.toggles import Check

DICTIONARIES = [f"DICT_{n}X{n}_{m}" for n in (4, 5, 6, 7) for m in (50, 100, 250, 1000)]


def board_from_form(values: dict[str, Any]) -> Board:
    """A board from the form's values (strings / bools); raises Pose3dError saying what is
    wrong."""
    try:
        squares_x, squares_y = int(values["squares_x"]), int(values["squares_y"])
        square = float(values["square_length"])
    except ValueError:
        raise Pose3dError("squares must be whole numbers and the square length a number") from None
    unit = str(values.get("unit") or "mm")
    if values["type"] == "checkerboard":
        return Checkerboard(squares_x, squares_y, square, unit=unit)
    try:
        marker = float(values["marker_length"])
    except ValueError:
        raise Pose3dError("the marker length must be a number (ChArUco boards)") from None
    return CharucoBoard(
        squares_x,
        squares_y,
        square,
        marker,
        dictionary=str(values["dictionary"]),
        legacy=bool(values.get("legacy")),
        unit=unit,
    )


def calibration_options(values: dict[str, Any], cameras: Sequence[str]) -> dict[str, Any]:
    """``calibrate_session``'s step, reference, origin frame and fisheye from the form's
    strings, as ``pose3d calibrate --step --reference --origin-frame --fisheye`` takes them;
    raises Pose3dError saying what is wrong."""
    step_text = str(values.get("step") or "").strip()
    try:
        step = int(step_text) if step_text else None
    except ValueError:
        raise Pose3dError(f"the frame step must be a whole number, not {step_text!r}") from None
    if step is not None and step < 1:
        raise Pose3dError(f"the frame step must be 1 or more, not {step}")
    origin_text = str(values.get("origin_frame") or "").strip()
    try:
        origin_frame = int(origin_text) if origin_text else None
    except ValueError:
        raise Pose3dError(f"the origin frame must be a frame number, not {origin_text!r}") from None
    if origin_frame is not None and origin_frame < 0:
        raise Pose3dError(f"the origin frame must be 0 or more, not {origin_frame}")
    reference = str(values.get("reference") or "") or None
    if reference is not None and reference not in cameras:
        raise Pose3dError(f"reference camera {reference!r} is not one of {', '.join(cameras)}")
    fisheye_text = str(values.get("fisheye") or "").strip()
    fisheye: bool | tuple[str, ...]
    if fisheye_text.lower() in ("", "none", "no"):
        fisheye = False
    elif fisheye_text.lower() in ("all", "yes"):
        fisheye = True
    else:
        fisheye = tuple(n.strip() for n in fisheye_text.split(",") if n.strip())
        unknown = [n for n in fisheye if n not in cameras]
        if unknown:
            raise Pose3dError(
                f"fisheye: no camera named {', '.join(unknown)}; write camera names "
                f"({', '.join(cameras)}) separated by commas, or 'all'"
            )
    return {
        "step": step,
        "reference": reference,
        "origin_frame": origin_frame,
        "fisheye": fisheye,
    }


def with_std(value: float, std: object) -> str:
    """``value ± std`` (px) as the report table shows it; the value alone when a report has no
    standard deviation for it (older reports, intrinsics held)."""
    if isinstance(std, (int, float)) and not isinstance(std, bool):
        return f"{value:.1f} ± {std:.1f}"
    return f"{value:.1f}"


def tilt_range(median: object, maximum: object) -> str:
    """The board's median and largest tilt from facing the camera (deg), or "-" when unknown."""
    numbers = [
        x for x in (median, maximum) if isinstance(x, (int, float)) and not isinstance(x, bool)
    ]
    if len(numbers) < 2:
        return "-"
    return f"{numbers[0]:.0f} / {numbers[1]:.0f}"


class CalibrationScreen(Screen[None]):
    KEYMAP_SECTION: ClassVar[str] = "Calibration"  # its keys in keymap.md (the ? overlay)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save_board", "Save board"),
        Binding("f5", "calibrate", "Calibrate"),
        Binding("escape", "back", "Back / cancel"),
    ]

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.cancel_event = threading.Event()
        self.running = False
        self.bars: dict[str, ProgressBar] = {}

    def compose(self) -> ComposeResult:
        board = self.workspace.session.board
        charuco = board if isinstance(board, CharucoBoard) else None
        yield Header()
        with Horizontal():
            with VerticalScroll(id="board-form"):
                yield Label("Board (saved in session.toml)")
                yield Select(
                    [("ChArUco", "charuco"), ("checkerboard", "checkerboard")],
                    value="checkerboard" if isinstance(board, Checkerboard) else "charuco",
                    allow_blank=False,
                    id="board-type",
                )
                yield Label("squares x, y (squares, not inner corners)")
                with Horizontal(classes="pair"):
                    yield Input(str(board.squares_x) if board else "", id="squares-x")
                    yield Input(str(board.squares_y) if board else "", id="squares-y")
                yield Label("square length, marker length (ChArUco)")
                with Horizontal(classes="pair"):
                    yield Input(f"{board.square_length:g}" if board else "", id="square-length")
                    yield Input(f"{charuco.marker_length:g}" if charuco else "", id="marker-length")
                yield Label("dictionary (ChArUco)")
                yield Select(
                    [(name, name) for name in DICTIONARIES],
                    value=charuco.dictionary if charuco else "DICT_4X4_50",
                    allow_blank=False,
                    id="dictionary",
                )
                yield Check(
                    "legacy ChArUco pattern (OpenCV < 4.6)",
                    bool(charuco and charuco.legacy),
                    id="legacy",
                )
                yield Label("unit")
                yield Input(board.unit if board else "mm", id="unit")
                yield Label("Calibration (as pose3d calibrate)")
                yield Label("frame step (blank: about 300 frames)")
                yield Input("", placeholder="every N-th frame", id="calib-step")
                yield Label("reference camera (the world frame)")
                cameras = self.workspace.session.camera_names
                yield Select(
                    [(name, name) for name in cameras],
                    value=cameras[0],
                    allow_blank=False,
                    id="calib-reference",
                )
                yield Label("world origin: the board in frame N (optional)")
                yield Input("", placeholder="frame number", id="calib-origin")
                yield Label("fisheye lenses: all, or cameras a,b")
                yield Input("", placeholder="none", id="calib-fisheye")
                with Horizontal(classes="pair"):
                    yield Button("Save board", id="save-board")
                    yield Button("Calibrate", id="calibrate", variant="primary")
            with Vertical(id="calib-right"):
                yield Static(id="calib-status")
                yield Vertical(id="calib-progress")
                yield DataTable(id="calib-report", zebra_stripes=True)
                yield Static(id="calib-verdict")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"pose3d · {self.workspace.title} · calibration"
        media = self.workspace.session.calibration_media_paths()
        where = ", ".join(f"{n}: {p.name}" for n, p in media.items()) or "none in session.toml"
        self._say(f"calibration media: {where}")
        try:
            report = self.workspace.folder.report()
            if report is not None:
                self.show_report(report)
        except (Pose3dError, KeyError, TypeError) as exc:
            unread = f"{self.workspace.session.paths.report} could not be read: {exc}"
            self._say(f"[yellow]{escape(unread)}[/]")

    def _say(self, text: str) -> None:
        self.query_one("#calib-status", Static).update(text)

    def _form(self) -> dict[str, Any]:
        def text(id: str) -> str:
            return self.query_one(f"#{id}", Input).value.strip()

        return {
            "type": self.query_one("#board-type", Select).value,
            "squares_x": text("squares-x"),
            "squares_y": text("squares-y"),
            "square_length": text("square-length"),
            "marker_length": text("marker-length"),
            "dictionary": self.query_one("#dictionary", Select).value,
            "legacy": self.query_one("#legacy", Checkbox).value,
            "unit": text("unit"),
        }

    # --- the board ---------------------------------------------------------------------------

    @on(Button.Pressed, "#save-board")
    def action_save_board(self) -> bool:
        """Validate the form and write the board into session.toml; False when invalid."""
        try:
            self.workspace.refuse_when_read_only("save the board into session.toml")
            board = board_from_form(self._form())
            session = self.workspace.update_session(lambda now: replace(now, board=board))
        except Pose3dError as exc:
            self.notify(str(exc), title="board", severity="error", timeout=10, markup=False)
            return False
        self.notify(f"board saved in {session.session_file.name}", timeout=3)
        return True

    # --- calibration -------------------------------------------------------------------------

    @on(Button.Pressed, "#calibrate")
    def action_calibrate(self) -> None:
        if self.running or not self.action_save_board():
            return
        try:
            options = self._options()
            self.workspace.flush()
        except (Pose3dError, OSError) as exc:
            self.notify(str(exc), title="calibration", severity="error", timeout=10, markup=False)
            return
        self.running = True
        self.cancel_event.clear()
        self.query_one("#calibrate", Button).disabled = True
        for bar in self.query("#calib-progress > *"):
            bar.remove()
        self.bars.clear()
        self._say("calibrating: detecting the board in every camera ... (escape cancels)")
        self._calibrate(options)

    def _options(self) -> dict[str, Any]:
        values = {
            "step": self.query_one("#calib-step", Input).value,
            "reference": self.query_one("#calib-reference", Select).value,
            "origin_frame": self.query_one("#calib-origin", Input).value,
            "fisheye": self.query_one("#calib-fisheye", Input).value,
        }
        return calibration_options(values, self.workspace.session.camera_names)

    @work(thread=True, exclusive=True, group="calibrate", exit_on_error=False)
    def _calibrate(self, options: dict[str, Any]) -> dict[str, Any]:
        from pose3d.pipeline.calibrate import calibrate_session

        def progress(step: str, done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, step, done, total)

        result = calibrate_session(  # in the TUI's folder: its lock is held while it is open
            self.workspace.folder, progress=progress, cancel=self.cancel_event, **options
        )
        report: dict[str, Any] = result.report.to_dict()
        return report

    def _progress(self, step: str, done: int, total: int) -> None:
        bar = self.bars.get(step)
        if bar is None:
            box = self.query_one("#calib-progress", Vertical)
            box.mount(Label(step))
            bar = self.bars[step] = ProgressBar(show_eta=False)
            box.mount(bar)
        bar.update(total=total, progress=done)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "calibrate" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
        ):
            return
        self.running = False
        self.query_one("#calibrate", Button).disabled = False
        self.workspace.calibration_changed()
        if event.state is WorkerState.SUCCESS:
            report = event.worker.result
            assert isinstance(report, dict)
            self.show_report(report)
            return
        error = event.worker.error
        if isinstance(error, SessionLockedError):
            self.notify(
                f"{error}; the session is closed here", severity="error", timeout=15, markup=False
            )
            self.app.pop_screen()
            self.app.pop_screen()  # back to Sessions: without the lock nothing may be edited
            return
        cancelled = self.cancel_event.is_set()
        message = "calibration cancelled; nothing was written" if cancelled else str(error)
        self._say(f"[red]{escape(message)}[/]")

    def show_report(self, report: dict[str, Any]) -> None:
        table = self.query_one("#calib-report", DataTable)
        table.clear(columns=True)
        columns = (
            "camera", "lens", "RMS px", "frames", "corners", "coverage", "fx ± std", "fy ± std",
            "cx ± std", "cy ± std", "tilt° med/max", "k1",
        )  # fmt: skip
        table.add_columns(*columns)
        for c in report["cameras"]:
            table.add_row(
                c["name"],
                c.get("model", "pinhole"),
                f"{c['rms_px']:.3f}",
                str(c["frames_used"]),
                str(c["corners_used"]),
                f"{100 * c.get('coverage', 1.0):.0f} %",
                *(with_std(c[key], c.get(f"{key}_std")) for key in ("fx", "fy", "cx", "cy")),
                tilt_range(c.get("tilt_median_deg"), c.get("tilt_max_deg")),
                f"{c['distortions'][0]:+.4f}",
            )
        lines = []
        square = report.get("square")
        unit = report.get("unit", "")
        if square:
            lines.append(
                f"square length: median {square['median']:.3f} {unit}, std {square['std']:.3f} "
                f"(true {square['true_length']:g}; {square['n_pairs']} neighbouring pairs)"
            )
        warnings = report.get("warnings", [])
        if warnings:
            lines += [f"[yellow]warning: {w}[/]" for w in warnings]
        else:
            lines.append("[green]verdict: trust this calibration[/]")
        self.query_one("#calib-verdict", Static).update("\n".join(lines))
        self._say(
            f"calibration of {len(report['cameras'])} cameras (world frame: "
            f"{report.get('reference', '?')}, unit: {unit}) in "
            f"{self.workspace.session.paths.calibration.relative_to(self.workspace.root)}"
        )

    def action_back(self) -> None:
        if self.running:
            self.cancel_event.set()
            self._say("cancelling ...")
            return
        self.dismiss()
