"""A kill -9 while labelling loses at most the last edit and never damages labels.nc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pose3d import schema as s
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels

# Places points one after the other (frame by frame, keypoint by keypoint) and prints how many
# edits have returned after each one (an edit returns while its save runs in the background;
# the next edit waits for that save).
EDITOR = """
import sys
from pose3d.tui.state.workspace import Workspace

ws = Workspace(sys.argv[1])
editor = ws.editor
n = 0
while True:
    for frame in range(ws.n_frames):
        editor.move_to(frame=frame, view="cam0", keypoint=editor.keypoints[0])
        for k in range(len(editor.keypoints)):
            editor.place_current((1.0 + n % 100, 2.0))
            n += 1
            print(n, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize("delay_s", [0.0, 0.013])
def test_kill_9_while_editing_keeps_all_saved_edits(session_dir: Path, delay_s: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", EDITOR, str(session_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    reported = 0
    try:
        for line in proc.stdout:  # wait for a few saved edits, then kill in mid-flight
            reported = int(line)
            if reported >= 6:
                break
        time.sleep(delay_s)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert reported >= 6, "the editor subprocess did not start editing"
    labels = load_labels(session_dir / "labels.nc")  # validates the file
    manual = int((labels[s.SOURCE].values == s.PointSource.MANUAL).sum())
    assert manual >= reported - 1  # every edit before the last one that returned is on disk
    with SessionLock(session_dir):  # the kernel released the dead process's lock
        pass
    leftovers = [p.name for p in session_dir.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 1  # at most the temporary file of the edit that was cut
