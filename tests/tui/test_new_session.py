"""Creating a session from the Sessions screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from pose3d.errors import Pose3dError
from pose3d.io.session_toml import load_session
from pose3d.tui.app import Pose3dApp
from pose3d.tui.dialogs.new_session import NewSessionScreen
from pose3d.tui.logic.session_form import parse_new_session
from pose3d.tui.screens.views import ViewsScreen

pytestmark = pytest.mark.filterwarnings(
    "ignore:Image.Image.getdata is deprecated:DeprecationWarning"
)


def test_the_form_is_checked_field_by_field(tmp_path: Path) -> None:
    spec = parse_new_session(
        "new", "cam0=a.mp4\n\ncam1 = /abs/b", "nose, neck", "nose-neck", "", "30", "", tmp_path
    )
    assert spec.root == tmp_path / "new"
    assert spec.cameras == {"cam0": tmp_path / "a.mp4", "cam1": Path("/abs/b")}
    assert spec.keypoints == ("nose", "neck") and spec.edges == (("nose", "neck"),)
    assert spec.individuals == ("individual_0",) and spec.fps == 30.0 and spec.board is None
    for args, message in [
        (("", "cam0=a", "k"), "folder"),
        (("s", "cam0", "k"), "NAME=VIDEO"),
        (("s", "cam0=a\ncam0=b", "k"), "twice"),
        (("s", "cam0=a", ""), "keypoints"),
        (("s", "cam0=a", "k", "k"), "joined by '-'"),
        (("s", "cam0=a", "k", "", "", "fast"), "fps"),
    ]:
        with pytest.raises(Pose3dError, match=message):
            parse_new_session(*args, base=tmp_path)  # type: ignore[arg-type]
    config = tmp_path / "config.yaml"
    config.write_text("bodyparts: [snout, ear]\nskeleton:\n- [snout, ear]\n", "utf-8")
    taken = parse_new_session("s", "cam0=a", "", base=tmp_path, skeleton="config.yaml")
    assert taken.keypoints == ("snout", "ear") and taken.edges == (("snout", "ear"),)
    with pytest.raises(Pose3dError, match="not both"):
        parse_new_session("s", "cam0=a", "nose", base=tmp_path, skeleton="config.yaml")
    media = parse_new_session("s", "cam0=a", "k", base=tmp_path, calibration_media="cam0=b/")
    assert media.calibration_media == {"cam0": tmp_path / "b"}
    for text, message in [("cam9=b", "cam9, which is not one of the cameras"), ("cam0", "NAME")]:
        with pytest.raises(Pose3dError, match=message):
            parse_new_session("s", "cam0=a", "k", base=tmp_path, calibration_media=text)


async def test_create_a_session_and_open_it(
    session_dir: Path, tmp_path: Path, recent_file: Path
) -> None:
    app = Pose3dApp()
    async with app.run_test(size=(120, 50)) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, NewSessionScreen)
        root = tmp_path / "created"
        assert app.focused is dialog.query_one("#new-root", Input)  # type the folder at once
        dialog.query_one("#new-root", Input).value = str(root)
        dialog.query_one("#new-cameras", TextArea).text = "\n".join(
            f"cam{j}={session_dir / 'videos' / f'cam{j}.mp4'}" for j in range(2)
        )
        board = session_dir / "calibration" / "cam0"  # the sample's board images of cam0
        dialog.query_one("#new-calibration-media", TextArea).text = f"cam0={board}"
        dialog.query_one("#new-keypoints", Input).value = "nose, neck, tail_base"
        dialog.query_one("#new-edges", Input).value = "nose-neck, neck-tail_base"
        dialog.query_one("#new-create").scroll_visible(animate=False)  # the form scrolls
        await pilot.pause()
        await pilot.click("#new-create")
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, ViewsScreen):
                break
        assert isinstance(app.screen, ViewsScreen)
        assert app.workspace is not None and app.workspace.root == root
    session = load_session(root)
    assert session.camera_names == ("cam0", "cam1")
    assert session.skeleton.edges == (("nose", "neck"), ("neck", "tail_base"))
    assert session.fps == 30.0
    assert session.calibration_media_paths() == {"cam0": board.resolve()}
