"""The session lock on a folder someone else made: a symbolic link, a folder, a FIFO or a
hard-linked file at ``SESSION/.pose3d.lock`` is refused with one clear message, never followed,
truncated or waited on, and the file it points to is left byte-identical (issue 16, item 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.errors import SessionError
from pose3d.io.lock import SessionLock
from pose3d.session import Session

REPO = Path(__file__).resolve().parents[2]
PRECIOUS = b"a file the user needs\n" * 10


def _precious(path: Path) -> Path:
    path.write_bytes(PRECIOUS)
    return path


def _refused(root: Path, what: str) -> str:
    with pytest.raises(SessionError) as info:
        SessionLock(root).acquire()
    message = str(info.value)
    assert f"{root / '.pose3d.lock'} is {what}" in message, message
    assert "nothing was changed" in message and "run the command again" in message
    return message


def test_a_symlinked_lock_never_truncates_its_target(tmp_path: Path) -> None:
    target = _precious(tmp_path / "elsewhere.txt")
    session = tmp_path / "session"
    session.mkdir()
    (session / ".pose3d.lock").symlink_to(target)
    message = _refused(session, f"a symbolic link (to {target})")
    assert "remove the link" in message and "not what it points to" in message
    assert target.read_bytes() == PRECIOUS
    assert (session / ".pose3d.lock").is_symlink()  # left as it was, for the user to look at


def test_a_dangling_symlink_creates_nothing_where_it_points(tmp_path: Path) -> None:
    session = tmp_path / "session"
    session.mkdir()
    (session / ".pose3d.lock").symlink_to(tmp_path / "created_elsewhere")
    _refused(session, "a symbolic link")
    assert not (tmp_path / "created_elsewhere").exists()


def test_a_link_swapped_in_after_the_check_is_refused_by_the_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the open sees nothing (the link appears in between): O_NOFOLLOW makes
    the open itself fail, and nothing is written through the link."""
    target = _precious(tmp_path / "elsewhere.txt")
    session = tmp_path / "session"
    session.mkdir()
    (session / ".pose3d.lock").symlink_to(target)
    monkeypatch.setattr(os.path, "lexists", lambda path: False)
    _refused(session, "a symbolic link")
    assert target.read_bytes() == PRECIOUS


def test_a_hard_linked_lock_is_refused(tmp_path: Path) -> None:
    """A second name of another file (made in a folder someone else sent) would be emptied."""
    session = tmp_path / "session"
    session.mkdir()
    target = _precious(session / "labels_backup.csv")
    os.link(target, session / ".pose3d.lock")
    _refused(session, "a file with 2 hard links")
    assert target.read_bytes() == PRECIOUS


def test_a_folder_at_the_lock_path_is_refused(tmp_path: Path) -> None:
    session = tmp_path / "session"
    (session / ".pose3d.lock").mkdir(parents=True)
    _precious(session / ".pose3d.lock" / "inside.txt")
    message = _refused(session, "a folder")
    assert "move it out of the session folder" in message
    assert (session / ".pose3d.lock" / "inside.txt").read_bytes() == PRECIOUS


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_at_the_lock_path_is_refused_without_hanging(tmp_path: Path) -> None:
    """Run in a child process with a deadline: a lock that waited for the FIFO's other end
    would hang the test run otherwise."""
    session = tmp_path / "session"
    session.mkdir()
    os.mkfifo(session / ".pose3d.lock")
    code = textwrap.dedent(
        """
        import sys
        from pose3d.errors import SessionError
        from pose3d.io.lock import SessionLock
        try:
            SessionLock(sys.argv[1]).acquire()
        except SessionError as exc:
            print(exc)
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code, str(session)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert f"{session / '.pose3d.lock'} is a FIFO (named pipe)" in done.stdout


def test_a_regular_lock_file_left_behind_is_reused(tmp_path: Path) -> None:
    """The normal case still works: an old lock file of one link is taken over."""
    (tmp_path / ".pose3d.lock").write_text('{"pid": 1}')
    with SessionLock(tmp_path) as lock:
        assert f'"pid": {os.getpid()}' in lock.path.read_text()


def test_a_writing_command_says_it_in_one_line(
    full_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = _precious(tmp_path / "elsewhere.txt")
    poses = full_session.paths.poses.read_bytes()
    full_session.paths.lock.symlink_to(target)
    assert main(["triangulate", str(full_session.root)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot lock session"), err
    assert ".pose3d.lock is a symbolic link" in err[0]
    assert target.read_bytes() == PRECIOUS
    assert full_session.paths.poses.read_bytes() == poses
