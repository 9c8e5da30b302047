"""Names from other people's files never make a path out of the folder the user named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pose3d.errors import Pose3dError
from pose3d.io.safe_names import file_name, inside


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mouse_1", "mouse_1"),
        ("session 2024-05-01", "session 2024-05-01"),
        ("x/../../y", "x_.._.._y"),
        ("/etc/passwd", "_etc_passwd"),
        ("a\\b:c*d?e", "a_b_c_d_e"),
        ("line\nbreak", "line_break"),
        ("souris_é", "souris_é"),
        ("trailing dot.", "trailing dot"),
    ],
)
def test_names_become_one_safe_component(name: str, expected: str) -> None:
    assert file_name(name) == expected
    assert "/" not in file_name(name) and "\\" not in file_name(name)


@pytest.mark.parametrize(
    "name", ["", "..", ".", "///", "../../x", ".hidden", "-rf", "CON", "nul.txt", "x" * 300]
)
def test_unusable_names_are_refused_with_the_reason(name: str) -> None:
    with pytest.raises(Pose3dError, match=r"the session name .* cannot name a file: it "):
        file_name(name, "session name")


def test_paths_must_stay_inside_their_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert inside(out, out / "a.csv") == out / "a.csv"
    with pytest.raises(Pose3dError, match="lies outside"):
        inside(out, out / ".." / "escape.csv")
    with pytest.raises(Pose3dError, match="lies outside"):
        inside(out, "/tmp/elsewhere.csv")
    monkeypatch.chdir(tmp_path)  # relative paths are relative to the working folder
    assert inside("out", "out/a.csv") == Path("out/a.csv")
    with pytest.raises(Pose3dError, match="lies outside"):
        inside("out", "out/../elsewhere/x.csv")
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(Pose3dError, match="lies outside"):
        inside(out, out / "link" / "escape.csv")
