"""Snapshot tests: each screen as an SVG (tests/tui/__snapshots__/), compared with the accepted
one; regenerate after an intended change with ``pytest tests/tui --snapshot-update``.

The session here is drawn by the test (lossless PNG folders of a fixed pattern), not by
pose3d.synthetic, so that a change of the synthetic subject does not change these pictures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose3d.io.session_toml import save_session
from pose3d.io.video_writing import write_image_folder
from pose3d.label_cells import Cell
from pose3d.pipeline.session import init_session
from pose3d.tui.app import Pose3dApp
from pose3d.tui.state.workspace import Workspace

pytestmark = pytest.mark.filterwarnings(
    # textual-image 0.12's half-cell renderer reads pixels with Pillow's deprecated getdata
    "ignore:Image.Image.getdata is deprecated:DeprecationWarning"
)
SIZE = (80, 26)


def _keys(*keys: str):  # type: ignore[no-untyped-def]
    """Press ``keys`` one by one, letting workers (frame decoding) finish after each."""

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run


KEYPOINTS = ("nose", "ear_left", "ear_right", "neck", "tail_base")


def _frames(camera: int, n: int = 12) -> list[np.ndarray]:
    """A gradient per camera with a bright square that moves 6 px right per frame."""
    y, x = np.mgrid[0:120, 0:160]
    base = np.stack([x + 40 * camera, y * 2, 255 - x], -1).clip(0, 255).astype(np.uint8)
    frames = []
    for i in range(n):
        frame = base.copy()
        frame[50:70, 10 + 6 * i : 30 + 6 * i] = 255
        frames.append(frame)
    return frames


@pytest.fixture
def plain_session(tmp_path: Path) -> Path:
    """3 cameras as PNG folders, 12 frames of 160 x 120, cam2 offset 2 (like session_dir)."""
    cameras = {}
    for j in range(3):
        cameras[f"cam{j}"] = tmp_path / "media" / f"cam{j}"
        write_image_folder(cameras[f"cam{j}"], _frames(j))
    root = tmp_path / "session"
    root.mkdir()
    session = init_session(root, cameras, KEYPOINTS, [("nose", "neck")], fps=30.0)
    save_session(session.with_offsets({"cam2": 2}))
    return root


def _labelled(root: Path) -> Path:
    """Two manual points on frame 3 of cam0 and one on cam2."""
    with Workspace(root) as ws:
        editor = ws.editor
        editor.place((40.0, 50.0), Cell(3, "cam0", "nose", "individual_0"))
        editor.place((70.0, 60.0), Cell(3, "cam0", "neck", "individual_0"))
        editor.place((90.0, 30.0), Cell(3, "cam2", "nose", "individual_0"))
    return root


def test_sessions_screen(snap_compare, recent_file: Path) -> None:
    assert snap_compare(Pose3dApp(), terminal_size=SIZE)


def test_views_screen(snap_compare, plain_session: Path, recent_file: Path) -> None:
    root = _labelled(plain_session)
    assert snap_compare(
        Pose3dApp(root), run_before=_keys("right", "right", "right"), terminal_size=SIZE
    )


def test_label_screen_zoomed(snap_compare, plain_session: Path, recent_file: Path) -> None:
    root = _labelled(plain_session)
    keys = ["right"] * 3 + ["enter", "plus", "plus"]
    assert snap_compare(Pose3dApp(root), run_before=_keys(*keys), terminal_size=SIZE)


def test_jump_dialog(snap_compare, plain_session: Path, recent_file: Path) -> None:
    assert snap_compare(Pose3dApp(plain_session), run_before=_keys("g"), terminal_size=SIZE)


def test_propagate_dialog(snap_compare, plain_session: Path, recent_file: Path) -> None:
    root = _labelled(plain_session)
    keys = ["right"] * 3 + ["enter", "t"]
    assert snap_compare(Pose3dApp(root), run_before=_keys(*keys), terminal_size=SIZE)


def test_calibration_screen(snap_compare, plain_session: Path, recent_file: Path) -> None:
    assert snap_compare(Pose3dApp(plain_session), run_before=_keys("c"), terminal_size=(100, 30))


def test_three_d_screen(snap_compare, plain_session: Path, recent_file: Path) -> None:
    assert snap_compare(Pose3dApp(plain_session), run_before=_keys("d"), terminal_size=SIZE)


def test_new_session_dialog(snap_compare, recent_file: Path) -> None:
    assert snap_compare(Pose3dApp(), run_before=_keys("ctrl+n"), terminal_size=(100, 40))
