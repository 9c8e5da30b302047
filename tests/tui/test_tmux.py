"""The real app in a real terminal: ``pose3d tui`` inside tmux, driven by keys and mouse clicks
(SGR mouse reports, as a terminal sends them), the screen read back with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.io.netcdf import load_labels

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)"),
]

WIDTH, HEIGHT = 140, 45


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        return out.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "tui")

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{self.screen()}")

    def click(self, col: int, row: int) -> None:
        """A left click at 0-based cell (col, row), sent as the terminal's SGR mouse report."""
        for end in ("M", "m"):
            self("send-keys", "-t", "tui", "-l", f"\x1b[<0;{col + 1};{row + 1}{end}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(f"pose3d-test-{os.getpid()}-{tmp_path.name}")
    try:
        yield server
    finally:
        server("kill-server")


def test_the_app_labels_in_tmux(session_dir: Path, tmp_path: Path, tmux: Tmux) -> None:
    _start(tmux, session_dir, tmp_path / "config")
    tmux.wait_for(lambda t: "frame 0 / 13 · paused" in t, "the Views screen")
    assert "cam0" in tmux.screen() and "cam2" in tmux.screen() and "not filmed" in tmux.screen()
    tmux("send-keys", "-t", "tui", "Right", "Right")
    tmux.wait_for(lambda t: "frame 2 / 13 · paused" in t, "two steps forward")
    tmux("send-keys", "-t", "tui", "Home", "Enter")
    tmux.wait_for(lambda t: "nose: not placed" in t, "the Label screen")
    # the middle of the image: the view spans columns 0 .. WIDTH - 37 (side panel 36 wide) and
    # the rows between the header and the keypoint's timeline (2 rows) above the footer
    tmux.click((WIDTH - 36) // 2, HEIGHT // 2 - 1)
    screen = tmux.wait_for(lambda t: "ear_left: not placed" in t, "the click to place nose")
    assert "manual" in screen
    tmux("send-keys", "-t", "tui", "p", "S-Right")
    tmux.wait_for(lambda t: "undo 2" in t, "the nudge")
    tmux("send-keys", "-t", "tui", "Escape")
    tmux.wait_for(lambda t: "· paused" in t, "back to Views")
    tmux("send-keys", "-t", "tui", "C-q")
    tmux.wait_for(lambda t: "EXITED 0" in t, "the app to quit cleanly")
    # read after the app quit: an edit's save runs in the background until the next edit
    labels = load_labels(session_dir / "labels.nc")
    nose = labels[s.POSITION].sel(time=0, view="cam0", keypoint="nose").values[:, 0]
    assert int(labels[s.SOURCE].sel(time=0, view="cam0", keypoint="nose").values[0]) == 1
    # the middle cell of the image shows its middle pixel (within a cell), nudged 10 px right
    np.testing.assert_allclose(nose, [79.5 + 10, 59.5], atol=2.5)


def _start(tmux: Tmux, session: Path, config: Path, env: str = "") -> None:
    command = " ".join(
        [
            f"env -u COLUMNS -u LINES {env}",
            f"POSE3D_CONFIG_DIR={shlex.quote(str(config))}",
            shlex.quote(sys.executable),
            "-m pose3d tui --tracker classical",
            shlex.quote(str(session)),
            "; echo EXITED $?; sleep 30",
        ]
    )
    tmux("new-session", "-d", "-s", "tui", "-x", str(WIDTH), "-y", str(HEIGHT), command)


def test_a_keyboard_only_round_in_tmux(session_dir: Path, tmp_path: Path, tmux: Tmux) -> None:
    """No mouse: place a keypoint with the crosshair, mark one not visible, propagate every
    camera, accept a tracked point, undo the accept and the propagation, redo both; labels.nc
    holds the result. The terminal has 256 colours only (no COLORTERM): the app says how to get
    true colour."""
    _start(tmux, session_dir, tmp_path / "config", env="-u COLORTERM TERM=screen-256color")
    tmux.wait_for(lambda t: "frame 0 / 13 · paused" in t, "the Views screen")
    tmux.wait_for(lambda t: "COLORTERM=truecolor" in " ".join(t.split()), "the colour hint")
    tmux("send-keys", "-t", "tui", "Enter")
    tmux.wait_for(lambda t: "nose: not placed" in t, "the Label screen")
    tmux("send-keys", "-t", "tui", "Right")  # not placed: the crosshair, at the view's middle
    tmux.wait_for(lambda t: "crosshair:" in t, "the crosshair's hint")
    tmux("send-keys", "-t", "tui", "L", "j", "Enter")  # 10 picture pixels right, 1 down: place
    tmux.wait_for(lambda t: "ear_left: not placed" in t, "nose placed, ear_left current")
    tmux("send-keys", "-t", "tui", "h")  # ear_left is not visible here
    tmux.wait_for(lambda t: "ear_right: not placed" in t and "undo 2" in t, "the hidden mark")
    tmux("send-keys", "-t", "tui", "t")
    tmux.wait_for(lambda t: "every camera with manual points" in t, "the Propagate dialog")
    tmux("send-keys", "-t", "tui", "Enter")  # Start (focused): every camera with manual points
    tmux.wait_for(lambda t: "undo 3" in t, "the propagation, one edit", timeout=90)
    tmux("send-keys", "-t", "tui", ".", "p", "p")
    tmux.wait_for(lambda t: "frame 1  view cam0" in t and "nose: (" in t, "nose, tracked, frame 1")
    assert "tracked" in tmux.screen().split("nose: (")[1].splitlines()[0]
    tmux("send-keys", "-t", "tui", "y")  # it is right: a manual anchor
    tmux.wait_for(lambda t: "undo 4" in t, "the accept")
    tmux("send-keys", "-t", "tui", "u", "u")
    tmux.wait_for(lambda t: "undo 2" in t, "the accept and the propagation undone")
    tmux("send-keys", "-t", "tui", "C-y", "C-y")
    tmux.wait_for(lambda t: "undo 4" in t, "both redone")
    tmux("send-keys", "-t", "tui", "Escape", "C-q")
    tmux.wait_for(lambda t: "EXITED 0" in t, "the app to quit cleanly")
    labels = load_labels(session_dir / "labels.nc")

    def cell(frame: int, keypoint: str) -> dict[str, object]:
        return {"time": frame, "view": "cam0", "keypoint": keypoint, "individual": "individual_0"}

    source = labels[s.SOURCE]
    nose = labels[s.POSITION].sel(cell(0, "nose")).values
    assert int(source.sel(cell(0, "nose"))) == s.PointSource.MANUAL
    assert nose[0] > 79.5 + 3 and abs(nose[1] - 59.5) < 6  # right of the middle, about level
    assert bool(labels[s.HIDDEN].sel(cell(0, "ear_left")))
    assert int(source.sel(cell(0, "ear_left"))) == s.PointSource.MANUAL
    assert int(source.sel(cell(1, "nose"))) == s.PointSource.MANUAL  # accepted, redone
    tracked = (source.sel(view="cam0") == s.PointSource.TRACKED).values
    assert tracked[2:, list(labels["keypoint"].values).index("nose")].any()  # propagated, redone
