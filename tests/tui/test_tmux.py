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
    command = " ".join(
        [
            "env -u COLUMNS -u LINES",
            f"POSE3D_CONFIG_DIR={shlex.quote(str(tmp_path / 'config'))}",
            shlex.quote(sys.executable),
            "-m pose3d tui",
            shlex.quote(str(session_dir)),
            "; echo EXITED $?; sleep 30",
        ]
    )
    tmux("new-session", "-d", "-s", "tui", "-x", str(WIDTH), "-y", str(HEIGHT), command)
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
