"""The 3D screen: triangulate the labels (in a worker), the reprojection error per camera and
keypoint, and the 3D viewer — in its own process when there is a display, else a still
rendered off-screen (``pose3d view --screenshot``, also in its own process) shown here."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Footer, Header, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from pose3d.errors import Pose3dError
from pose3d.tui.logic.error_table import ErrorTable, error_table
from pose3d.tui.state.workspace import Workspace
from pose3d.tui.widgets.frame_view import FrameView
from pose3d.tui.widgets.toggles import Check

STILL_SIZE = (800, 600)
METHODS = ("dlt", "ransac", "optim")  # pose3d triangulate --method


WEIGHTS = (  # (field id, label, TriangulationSettings path): pose3d triangulate's numbers
    ("ransac-threshold", "RANSAC px", "ransac.threshold"),
    ("scale-smooth", "smooth", "refine.scale_smooth"),
    ("scale-length", "bone length", "refine.scale_length"),
    ("loss-scale", "loss px", "refine.loss_scale"),
)


def triangulation_settings(
    method: str,
    views: str,
    cameras: Sequence[str],
    numbers: Mapping[str, str] | None = None,
    interpolate: bool = False,
) -> Any:
    """The TriangulationSettings of ``pose3d triangulate --method M --views a,b
    --ransac-threshold PX --scale-smooth W --scale-length W --loss-scale PX [--interpolate]``
    from the form's strings (``numbers`` by the field ids of WEIGHTS; a blank or missing one
    keeps the default); raises Pose3dError saying what is wrong."""
    from pose3d.triangulation import RansacOptions, RefineOptions, TriangulationSettings

    if method not in METHODS:
        raise Pose3dError(f"method {method!r}: choose one of {', '.join(METHODS)}")
    chosen = tuple(v.strip() for v in views.split(",") if v.strip())
    unknown = [v for v in chosen if v not in cameras]
    if unknown:
        raise Pose3dError(
            f"views: no camera named {', '.join(unknown)}; this session has {', '.join(cameras)}"
        )
    if chosen and len(chosen) < 2:
        raise Pose3dError("views: triangulation needs at least two cameras (blank: all)")
    values: dict[str, dict[str, Any]] = {"ransac": {}, "refine": {}}
    for field_id, label, path in WEIGHTS:
        text = (numbers or {}).get(field_id, "").strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise Pose3dError(f"{label}: {text!r} is not a number") from None
        group, name = path.split(".")
        values[group][name] = value
    return TriangulationSettings(
        method=method,
        views=chosen or None,
        ransac=RansacOptions(**values["ransac"]),
        refine=RefineOptions(**values["refine"]),
        interpolate=interpolate,
    )


def default_weights() -> dict[str, str]:
    """The form's numbers as the library's defaults, by the field ids of WEIGHTS."""
    from pose3d.triangulation import TriangulationSettings

    defaults = TriangulationSettings()
    out = {}
    for field_id, _, path in WEIGHTS:
        group, name = path.split(".")
        out[field_id] = f"{getattr(getattr(defaults, group), name):g}"
    return out


def has_display() -> bool:
    """Whether a window can open (an X or Wayland display, or macOS / Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class ThreeDScreen(Screen[None]):
    KEYMAP_SECTION: ClassVar[str] = "3D"  # its keys in keymap.md (the ? overlay)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "triangulate", "Triangulate"),
        Binding("v", "viewer", "3D viewer"),
        Binding("r", "still", "Render still"),
        Binding("escape", "back", "Views"),
    ]

    AUTO_FOCUS = "#errors"  # the form's fields take letters; the screen's keys work from here

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.table: ErrorTable | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="three-d-left"):
                with Horizontal(id="three-d-options"):
                    yield Label("method")
                    yield Select(
                        [(m, m) for m in METHODS], value="dlt", allow_blank=False, id="method"
                    )
                    yield Label("views")
                    yield Input("", placeholder="all, or a,b", id="views")
                    yield Check("interpolate gaps", id="interpolate")
                with Horizontal(id="three-d-weights"):
                    for (field_id, label, _), value in zip(
                        WEIGHTS, default_weights().values(), strict=True
                    ):
                        yield Label(label)
                        yield Input(value, id=field_id)
                yield Static(id="three-d-status")
                yield DataTable(id="errors", zebra_stripes=True, cursor_type="cell")
            yield FrameView("3D", STILL_SIZE, id="still")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"pose3d · {self.workspace.title} · 3D"
        self.query_one("#still", FrameView).border_subtitle = "r: render a still here"
        if self.workspace.session.paths.poses.is_file():
            self._say("poses3d.nc found; reading it ...")
            self._load_table()
        else:
            self._say("no poses3d.nc yet: press t to triangulate the labels")

    def _say(self, text: str) -> None:
        self.query_one("#three-d-status", Static).update(text)

    # --- triangulation -------------------------------------------------------------------------

    def action_triangulate(self) -> None:
        try:  # poses3d.nc would be written: say so before the work
            self.workspace.refuse_when_read_only("triangulate (it writes poses3d.nc)")
        except Pose3dError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        if self.workspace.cameras is None:
            self.notify(
                f"no calibration: {self.workspace.session.paths.calibration} is missing or "
                "unreadable; calibrate the session first (pose3d calibrate)",
                severity="error",
                timeout=8,
                markup=False,
            )
            return
        try:
            self.workspace.flush()
        except (Pose3dError, OSError) as exc:
            self.notify(
                f"labels.nc could not be saved: {exc}", severity="error", timeout=10, markup=False
            )
            return
        if not self.workspace.session.paths.labels.is_file():
            self.notify(
                "no labels yet: label each keypoint in at least two views first (Label screen)",
                severity="warning",
                timeout=8,
            )
            return
        try:
            settings = triangulation_settings(
                str(self.query_one("#method", Select).value),
                self.query_one("#views", Input).value,
                self.workspace.session.camera_names,
                {field_id: self.query_one(f"#{field_id}", Input).value for field_id, *_ in WEIGHTS},
                self.query_one("#interpolate", Checkbox).value,
            )
        except Pose3dError as exc:
            self.notify(str(exc), title="triangulation", severity="error", timeout=8, markup=False)
            return
        self._say(f"triangulating ({settings.method}) ...")
        self._triangulate(settings)

    @work(thread=True, exclusive=True, group="three-d", exit_on_error=False)
    def _triangulate(self, settings: Any) -> ErrorTable:
        from pose3d.pipeline.triangulate import triangulate_session

        def progress(step: str, done: int, total: int) -> None:
            self.app.call_from_thread(self._say, f"{step}: {done} / {total}")

        poses = triangulate_session(  # the labels being edited, as they are now
            self.workspace.folder, settings, progress, labels=self.workspace.editor.snapshot()
        )
        assert self.workspace.cameras is not None
        return error_table(poses, self.workspace.editor.labels, self.workspace.cameras)

    @work(thread=True, exclusive=True, group="three-d", exit_on_error=False)
    def _load_table(self) -> ErrorTable:
        cameras = self.workspace.cameras
        if cameras is None:
            raise Pose3dError("no calibration: the errors need calibration/calibration.toml")
        poses = self.workspace.folder.poses()
        return error_table(poses, self.workspace.editor.labels, cameras)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "three-d-still":
            self._still_done(event)
            return
        if event.worker.group != "three-d":
            return
        if event.state is WorkerState.SUCCESS:
            result = event.worker.result
            assert isinstance(result, ErrorTable)
            self.show_table(result)
        elif event.state is WorkerState.ERROR:
            self._say(f"[red]{escape(str(event.worker.error))}[/]")

    def show_table(self, table: ErrorTable) -> None:
        self.table = table
        widget = self.query_one("#errors", DataTable)
        widget.clear(columns=True)
        widget.add_columns("keypoint", *table.views)
        for k, name in enumerate(table.keypoints):
            widget.add_row(name, *(_px(table.median[v, k]) for v in range(len(table.views))))
        widget.add_row("all (median)", *(_px(e) for e in table.overall()))
        overall = np.nanmedian(table.median) if np.isfinite(table.median).any() else np.nan
        self._say(
            f"{self.workspace.session.paths.poses.name}: median reprojection error "
            f"{_px(overall)} (per camera and keypoint, over frames; v: 3D viewer, r: still)"
        )

    @on(DataTable.CellSelected, "#errors")
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        """Enter (or a click) on a camera's cell of a keypoint: Label at that camera and
        keypoint, on the frame where its reprojection error is largest."""
        from pose3d.tui.screens.label import LabelScreen

        table, row, column = self.table, event.coordinate.row, event.coordinate.column
        if table is None or table.worst_frame is None or table.worst_individual is None:
            return
        if not (0 <= row < len(table.keypoints) and 1 <= column <= len(table.views)):
            return  # the keypoint names, or the medians' row
        v, k = column - 1, row
        frame = int(table.worst_frame[v, k])
        if frame < 0:
            self.notify("no point of this keypoint in this camera", severity="warning", timeout=3)
            return
        individual = table.individuals[int(table.worst_individual[v, k])]
        editor = self.workspace.editor
        editor.move_to(
            frame=frame, view=table.views[v], keypoint=table.keypoints[k], individual=individual
        )
        self.notify(
            f"{table.keypoints[k]} in {table.views[v]}: frame {frame} is its worst "
            f"({_px(table.median[v, k])} median)",
            timeout=4,
        )
        self.app.push_screen(LabelScreen(self.workspace, getattr(self.app, "tracker", None)))

    # --- the viewer ----------------------------------------------------------------------------

    def _view_command(self, *extra: str) -> list[str]:
        session = self.workspace.session
        command = [sys.executable, "-m", "pose3d", "view", str(session.paths.poses)]
        command += ["--session", str(session.root)]
        if session.paths.calibration.is_file():
            command += ["--calibration", str(session.paths.calibration)]
        return [*command, "--frame", str(self.workspace.editor.cursor.frame), *extra]

    def action_viewer(self) -> None:
        if not self.workspace.session.paths.poses.is_file():
            self.notify("no poses3d.nc yet: press t to triangulate", severity="warning")
            return
        if not has_display():
            self.notify("no display here: rendering a still instead", timeout=4)
            self.action_still()
            return
        subprocess.Popen(
            self._view_command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.notify("the 3D viewer opens in its own window", timeout=4)

    def action_still(self) -> None:
        if not self.workspace.session.paths.poses.is_file():
            self.notify("no poses3d.nc yet: press t to triangulate", severity="warning")
            return
        self._say("rendering a still of the 3D scene ...")
        self._render_still()

    @work(thread=True, exclusive=True, group="three-d-still", exit_on_error=False)
    def _render_still(self) -> np.ndarray:
        import cv2

        with tempfile.TemporaryDirectory(prefix="pose3d-still-") as folder:
            png = Path(folder) / "still.png"
            width, height = STILL_SIZE
            command = self._view_command(
                "--screenshot", str(png), "--width", str(width), "--height", str(height)
            )
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            if done.returncode != 0 or not png.is_file():
                raise Pose3dError(
                    f"the still could not be rendered: {done.stderr.strip() or done.stdout}"
                )
            image = cv2.imread(str(png), cv2.IMREAD_COLOR)
        if image is None:
            raise Pose3dError(f"the still {png} could not be read back")
        return np.ascontiguousarray(image[..., ::-1])

    def _still_done(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.SUCCESS:
            image = event.worker.result
            assert isinstance(image, np.ndarray)
            view = self.query_one("#still", FrameView)
            view.image_size = (image.shape[1], image.shape[0])
            view.border_title = f"3D · frame {self.workspace.editor.cursor.frame}"
            view.show(image)
            self._say("still rendered (v opens the interactive viewer where there is a display)")
        elif event.state is WorkerState.ERROR:
            self._say(f"[red]{escape(str(event.worker.error))}[/]")

    def action_back(self) -> None:
        self.dismiss()


def _px(value: float) -> str:
    return "—" if not np.isfinite(value) else f"{value:.2f} px"
