"""Exports of a session someone else made: whatever session.toml names the session, its
individuals and keypoints (``../../x``, an absolute path, names with ``/``), every format writes
inside OUT or refuses with one clear message; and no export writes through a symbolic link,
into a folder format's subfolder or in place of the file a file format names (issue 16, item 3).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.io.netcdf import load_labels, load_poses, save_labels, save_poses
from pose3d.io.session_toml import load_session, save_session
from pose3d.session import Session
from pose3d.skeleton import Skeleton

FORMATS = ("dlc", "anipose", "movement", "nwb", "anipose-csv", "dlc-h5")
FILE_FORMATS = {"anipose-csv": "poses.csv", "dlc-h5": "poses.h5"}
PRECIOUS = b"a file of the user's, not to be touched\n"


def _rename(ds: xr.Dataset, keypoints: list[str], individuals: list[str]) -> xr.Dataset:
    """``ds`` with its keypoints renamed and its one individual copied to ``individuals``."""
    ds = ds.assign_coords({s.KEYPOINT: keypoints})
    copies = [ds.assign_coords({s.INDIVIDUAL: [name]}) for name in individuals]
    both = xr.concat(copies, dim=s.INDIVIDUAL) if len(copies) > 1 else copies[0]
    both.attrs = ds.attrs
    for name in ds.data_vars:
        both[name].attrs = ds[name].attrs
    return both


def _hostile(session: Session, name: str, individuals: list[str], keypoints: list[str]) -> Session:
    """The session with these names in session.toml, labels.nc and poses3d.nc."""
    old = session.skeleton.keypoints
    keypoints = keypoints + [k for k in old[len(keypoints) :]]
    rename = dict(zip(old, keypoints, strict=True))
    edges = tuple((rename[a], rename[b]) for a, b in session.skeleton.edges)
    labels = _rename(load_labels(session.paths.labels), keypoints, individuals)
    poses = _rename(load_poses(session.paths.poses), keypoints, individuals)
    save_labels(session.paths.labels, labels)
    save_poses(session.paths.poses, poses)
    hostile = replace(
        session,
        name=name,
        individuals=tuple(individuals),
        skeleton=Skeleton(tuple(keypoints), edges),
    )
    save_session(hostile)
    return load_session(session.root)  # as a user would get it: read from session.toml


def _tree(root: Path, skip: Path) -> set[Path]:
    """Every path under ``root``, links not followed, leaving out ``skip`` and what is in it."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for entry in (*dirs, *files):
            path = Path(folder) / entry
            if path != skip and skip not in path.parents:
                found.add(path)
    return found


def _export(session: Session, fmt: str, out: Path) -> int:
    target = out / FILE_FORMATS[fmt] if fmt in FILE_FORMATS else out
    if fmt in FILE_FORMATS:
        out.mkdir(parents=True, exist_ok=True)
    options = ["--individual", session.individuals[-1]] if fmt == "anipose-csv" else []
    return main(["export", str(session.root), "--format", fmt, *options, str(target)])


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


CASES = {  # session name, individuals, keypoints (the first ones renamed)
    "parent folders": ("../../x", ["individual_0"], []),
    "parent folders everywhere": ("../../x", ["../../m", "rat"], ["../../nose"]),
    "an absolute path": ("{tmp}/abs/x", ["individual_0"], []),
    "absolute paths everywhere": ("{tmp}/abs/x", ["{tmp}/abs/m", "rat"], ["{tmp}/abs/nose"]),
    "slashes": ("lab/day1", ["a/b", "c\\d"], ["paw/left", "paw, right"]),
    "dots": ("..", ["..", "."], [".."]),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_hostile_names_never_write_outside_out(
    full_session: Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    case: str,
) -> None:
    pytest.importorskip("tables") if fmt == "dlc-h5" else None
    if fmt == "nwb":
        pytest.importorskip("ndx_pose", reason="NWB export needs ndx-pose (pip install '.[nwb]')")
    name, individuals, keypoints = (
        [v.format(tmp=tmp_path) for v in x] if isinstance(x, list) else x.format(tmp=tmp_path)
        for x in CASES[case]
    )
    session = _hostile(full_session, name, individuals, keypoints)
    out = tmp_path / "deep" / "er" / "out"
    out.parent.mkdir(parents=True)
    (tmp_path / "abs").mkdir()  # where an absolute name points: it exists, writable
    before = _tree(tmp_path, out)
    code = _export(session, fmt, out)
    assert _tree(tmp_path, out) == before  # nothing written (or removed) outside OUT
    assert not Path("/x").exists() and not Path("/abs").exists()
    if code == 0:
        written = [p for p in out.rglob("*") if p.is_file()]
        assert written and all(out in p.parents for p in written)
        assert all(".." not in p.relative_to(out).parts for p in written)
        assert "exported" in capsys.readouterr().out
    else:
        assert code == EXIT_USER_ERROR
        error = _one_error(capsys)
        assert "cannot name a file" in error or "cannot hold '/' or ':'" in error, error
        assert "rename" in error
        assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


@pytest.mark.parametrize("fmt", ["anipose", "nwb"])
def test_a_session_name_with_parent_folders_is_refused_and_named(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    if fmt == "nwb":
        pytest.importorskip("ndx_pose", reason="NWB export needs ndx-pose (pip install '.[nwb]')")
    session = _hostile(full_session, "../x", ["individual_0"], [])
    assert _export(session, fmt, tmp_path / "out") == EXIT_USER_ERROR
    error = _one_error(capsys)
    assert "the session name '../x' cannot name a file" in error
    assert "rename it (e.g. in session.toml)" in error
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("x.*"))


@pytest.mark.parametrize("fmt", ["anipose", "nwb"])
def test_an_individual_named_dot_dot_is_refused_and_named(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    if fmt == "nwb":
        pytest.importorskip("ndx_pose", reason="NWB export needs ndx-pose (pip install '.[nwb]')")
    session = _hostile(full_session, "s", ["mouse", ".."], [])
    assert _export(session, fmt, tmp_path / "out") == EXIT_USER_ERROR
    assert "the individual name '..' cannot name a file" in _one_error(capsys)
    assert not (tmp_path / "out").exists()


def test_names_with_slashes_become_one_file_name(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absolute = str(tmp_path / "abs" / "x")
    session = _hostile(full_session, absolute, ["a/b", "rat"], [])
    assert _export(session, "anipose", tmp_path / "out") == 0
    stem = absolute.replace("/", "_")
    assert sorted(p.name for p in (tmp_path / "out" / "pose-3d").iterdir()) == [
        f"{stem}_a_b.csv",
        f"{stem}_rat.csv",
    ]
    assert not (tmp_path / "abs").exists()


def test_nwb_makes_one_file_name_of_a_name_with_slashes(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ndx_pose", reason="NWB export needs ndx-pose (pip install '.[nwb]')")
    absolute = str(tmp_path / "abs" / "x")
    (tmp_path / "abs").mkdir()
    session = _hostile(full_session, absolute, ["individual_0"], [])
    assert _export(session, "nwb", tmp_path / "out") == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == [absolute.replace("/", "_") + ".nwb"]
    assert list((tmp_path / "abs").iterdir()) == []


def test_two_names_for_one_file_are_refused(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``a/b`` and ``a_b`` both become ``a_b``: the second would replace the first."""
    session = _hostile(full_session, "s", ["a/b", "a_b"], [])
    assert _export(session, "anipose", tmp_path / "out") == EXIT_USER_ERROR
    assert "s_a_b.csv and s_a_b.csv would be the same file" in _one_error(capsys)
    assert not (tmp_path / "out" / "pose-3d").exists()


# --- symbolic links and odd files where an export writes -----------------------------------------


def _precious(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PRECIOUS)
    return path


def test_a_linked_subfolder_is_not_written_through(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "pose-3d").symlink_to(elsewhere, target_is_directory=True)
    assert _export(full_session, "anipose", out) == EXIT_USER_ERROR
    error = _one_error(capsys)
    assert f"{out / 'pose-3d'} is a symbolic link (to {elsewhere})" in error
    assert "never writes through a link" in error
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("nwb", "session.nwb"), ("movement", "labels.nc"), ("anipose", "pose-3d/session.csv")],
)
@pytest.mark.parametrize("dangling", [False, True])
def test_a_link_at_a_file_name_is_refused(
    full_session: Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    name: str,
    dangling: bool,
) -> None:
    """A link to a file (kept byte-identical) or to nothing (nothing is created there, and the
    link is not replaced either)."""
    if fmt == "nwb":
        pytest.importorskip("ndx_pose", reason="NWB export needs ndx-pose (pip install '.[nwb]')")
    target = tmp_path / "elsewhere" / "target"
    if dangling:
        target.parent.mkdir()
    else:
        _precious(target)
    out = tmp_path / "out"
    (out / name).parent.mkdir(parents=True)
    (out / name).symlink_to(target)
    assert _export(full_session, fmt, out) == EXIT_USER_ERROR
    assert f"{out / name} is a symbolic link (to {target})" in _one_error(capsys)
    assert (out / name).is_symlink()
    if dangling:
        assert not target.exists()
    else:
        assert target.read_bytes() == PRECIOUS
    assert [p for p in out.rglob("*") if not p.is_symlink() and p.is_file()] == []


@pytest.mark.parametrize("fmt", ["anipose-csv", "dlc-h5"])
def test_a_file_format_never_replaces_a_link(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """These formats replace the file OUT names, but never through (or in place of) a link."""
    target = _precious(tmp_path / "elsewhere" / "important.txt")
    link = tmp_path / FILE_FORMATS[fmt]
    link.symlink_to(target)
    assert main(["export", str(full_session.root), "--format", fmt, str(link)]) == EXIT_USER_ERROR
    error = _one_error(capsys)
    assert f"{link} is a symbolic link (to {target})" in error
    assert "never writes through a link" in error
    assert link.is_symlink() and target.read_bytes() == PRECIOUS
    assert {p.name for p in tmp_path.iterdir()} == {"elsewhere", "session", link.name}


def test_export_3d_never_replaces_a_link(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = _precious(tmp_path / "important.txt")
    link = tmp_path / "poses.csv"
    link.symlink_to(target)
    args = ["export-3d", str(full_session.paths.poses), "--format", "anipose-csv", str(link)]
    assert main(args) == EXIT_USER_ERROR
    assert f"{link} is a symbolic link" in _one_error(capsys)
    assert link.is_symlink() and target.read_bytes() == PRECIOUS


def test_a_file_format_still_replaces_a_regular_file(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _precious(tmp_path / "poses.csv")
    assert main(["export", str(full_session.root), "--format", "anipose-csv", str(out)]) == 0
    assert out.read_text().startswith("nose_x,nose_y,nose_z,")


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_file_format_refuses_a_folder_or_fifo(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    out = tmp_path / "poses.csv"
    if kind == "folder":
        out.mkdir()
    else:
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        os.mkfifo(out)
    assert main(["export", str(full_session.root), "--format", "anipose-csv", str(out)]) == 2
    error = _one_error(capsys)
    what = "a folder" if kind == "folder" else "not a regular file"
    assert f"cannot export to anipose-csv: {out} is {what}" in error
    assert "name the file to write" in error


def test_a_folder_format_refuses_a_file(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _precious(tmp_path / "out")
    assert _export(full_session, "movement", out) == EXIT_USER_ERROR
    error = _one_error(capsys)
    assert f"cannot export to movement: {out} is a file" in error
    assert "writes files into the folder OUT" in error
    assert out.read_bytes() == PRECIOUS


def test_a_folder_the_user_links_to_is_followed(full_session: Session, tmp_path: Path) -> None:
    """OUT itself is the user's choice: a link to a folder (e.g. on another disk) works."""
    real = tmp_path / "disk" / "exports"
    real.mkdir(parents=True)
    (tmp_path / "exports").symlink_to(real, target_is_directory=True)
    assert _export(full_session, "movement", tmp_path / "exports") == 0
    assert sorted(p.name for p in real.iterdir()) == ["labels.nc", "poses3d.nc"]
    np.testing.assert_array_equal(
        load_poses(real / "poses3d.nc")[s.POSITION],
        load_poses(full_session.paths.poses)[s.POSITION],
    )
