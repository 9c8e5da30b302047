"""pose3d/tui/keymap.md (package data) lists exactly the bindings of the app and each of its
screens, and `pose3d tui --keys` prints it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.binding import Binding

from pose3d.cli import main
from pose3d.tui import keymap_section, keymap_text
from pose3d.tui.app import Pose3dApp
from pose3d.tui.dialogs.help import HelpScreen
from pose3d.tui.dialogs.jump import JumpScreen
from pose3d.tui.dialogs.new_session import NewSessionScreen
from pose3d.tui.dialogs.propagate import PropagateScreen
from pose3d.tui.screens.calibration import CalibrationScreen
from pose3d.tui.screens.label import LabelScreen
from pose3d.tui.screens.sessions import SessionsScreen
from pose3d.tui.screens.three_d import ThreeDScreen
from pose3d.tui.screens.views import ViewsScreen

SECTIONS = {
    "App": Pose3dApp,
    "Sessions": SessionsScreen,
    "Views": ViewsScreen,
    "Label": LabelScreen,
    "Propagate": PropagateScreen,
    "Calibration": CalibrationScreen,
    "3D": ThreeDScreen,
    "New session": NewSessionScreen,
    "Go to frame": JumpScreen,
    "Help": HelpScreen,
}


def _documented() -> dict[str, set[tuple[str, str]]]:
    """Section title -> {(key, action)} from the tables of keymap.md."""
    found: dict[str, set[tuple[str, str]]] = {}
    section = None
    for line in keymap_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            found[section] = set()
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if section is None or len(cells) < 2 or not cells[0].startswith("`"):
            continue
        keys = re.findall(r"`([^`]+)`", cells[0])
        (action,) = re.findall(r"`([^`]+)`", cells[1])
        for binding in Binding.make_bindings([Binding(",".join(keys), action)]):
            found[section].add((binding.key, binding.action))
    return found


def _bound(owner: type) -> set[tuple[str, str]]:
    return {(b.key, b.action) for b in Binding.make_bindings(owner.BINDINGS)}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_keymap_matches_the_bindings(section: str) -> None:
    documented = _documented()
    assert section in documented, f"pose3d/tui/keymap.md has no '## {section}' section"
    bound = _bound(SECTIONS[section])
    assert documented[section] - bound == set(), "documented but not bound"
    assert bound - documented[section] == set(), "bound but not documented in pose3d/tui/keymap.md"


def test_keymap_has_no_unknown_sections() -> None:
    assert set(_documented()) == set(SECTIONS)


def test_cli_prints_the_keymap(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tui", "--keys"]) == 0
    assert capsys.readouterr().out == keymap_text()


@pytest.mark.parametrize("section", [s for s in SECTIONS if s != "App"])
def test_each_screen_names_its_keymap_section(section: str) -> None:
    """The ? overlay shows the section the screen names: its own."""
    assert section == SECTIONS[section].KEYMAP_SECTION  # type: ignore[attr-defined]
    assert keymap_section(section).startswith(f"## {section}\n")


async def test_question_mark_shows_the_keys_of_the_screen(
    session_dir: Path, recent_file: Path
) -> None:
    from textual.widgets import Markdown

    app = Pose3dApp(session_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()  # the session opens in a worker
        await pilot.pause()
        await pilot.press("enter")  # Label
        await pilot.pause()
        assert isinstance(app.screen, LabelScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.section == "Label"
        shown = app.screen.query_one(Markdown).source
        assert "`accept_point`" in shown and "`crosshair`" in shown and "`quit`" in shown
        assert shown.index("| keys |") < shown.index("One camera large")  # the table first
        await pilot.press("escape")
        assert isinstance(app.screen, LabelScreen)
