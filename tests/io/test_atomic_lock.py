"""Atomic writes survive exceptions and SIGKILL; the session lock holds across processes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import xarray as xr

from pose3d.errors import Pose3dError, SessionError, SessionLockedError
from pose3d.io import lock as lock_module
from pose3d.io.atomic import STALE_SECONDS, atomic_path, atomic_write_bytes, atomic_write_text
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.labels import new_labels, set_point

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def spawn(script: str, *args: str) -> subprocess.Popen[bytes]:
    """Run ``script`` in a fresh Python that imports this checkout's pose3d."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(marker: Path, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    """Wait until ``proc`` writes ``marker``; fail with its stderr if it dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text():
            return marker.read_text()
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"helper process exited with {proc.returncode}:\n{err.decode()}")
        time.sleep(0.01)
    proc.kill()
    proc.communicate()
    pytest.fail(f"helper process did not write {marker} within {timeout} s")


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# --- atomic writes -----------------------------------------------------------------------------


def test_atomic_write_text_replaces_content(tmp_path):
    path = tmp_path / "notes.txt"
    atomic_write_text(path, "first\n")
    assert path.read_text(encoding="utf-8") == "first\n"
    atomic_write_text(path, "zweite Fassung – µm\n")
    assert path.read_text(encoding="utf-8") == "zweite Fassung – µm\n"
    atomic_write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert leftovers(tmp_path, {"notes.txt"}) == []


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.toml"
    umask = os.umask(0o022)
    try:
        atomic_write_text(fresh, "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # like open(): 0o666 minus the umask


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_exception_inside_atomic_path_keeps_the_old_file(tmp_path, error):
    path = tmp_path / "labels.nc"
    path.write_bytes(b"old content")
    with pytest.raises(type(error)), atomic_path(path) as tmp:
        assert tmp.parent == tmp_path
        tmp.write_bytes(b"half of the new con")
        raise error
    assert path.read_bytes() == b"old content"
    assert leftovers(tmp_path, {"labels.nc"}) == []


def test_exception_before_first_save_creates_nothing(tmp_path):
    with pytest.raises(ValueError, match="nope"), atomic_path(tmp_path / "new.nc"):
        raise ValueError("nope")
    assert leftovers(tmp_path, set()) == []


def test_missing_folder_is_named(tmp_path):
    target = tmp_path / "no_such_session" / "labels.nc"
    with pytest.raises(
        Pose3dError,
        match=rf"cannot write {target}: folder .*no_such_session "
        r"does not exist",
    ):
        atomic_write_text(target, "x")


def test_read_only_folder_gives_a_clear_error(tmp_path, monkeypatch):
    """A folder the user cannot write to.

    chmod 0o555 makes a folder read-only for everyone but root, who bypasses permission checks
    (and the test containers run as root). So the real chmod is tried only when it can bite; the
    error path itself is always exercised by making ``tempfile.mkstemp`` fail as it does in a
    read-only folder, with PermissionError.
    """
    target = tmp_path / "labels.nc"
    target.write_bytes(b"old")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(
        Pose3dError,
        match=rf"cannot write {target}: folder {tmp_path} is "
        r"read-only; make it writable \(chmod u\+w\)",
    ):
        atomic_write_text(target, "new")
    assert target.read_bytes() == b"old"


@pytest.mark.skipif(IS_ROOT, reason="root ignores folder permissions; see the mkstemp test")
def test_read_only_folder_for_real(tmp_path):
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "labels.nc").write_bytes(b"old")
    folder.chmod(0o555)
    try:
        with pytest.raises(Pose3dError, match="is read-only"):
            atomic_write_text(folder / "labels.nc", "new")
        with pytest.raises(SessionError, match="the folder is read-only"):
            SessionLock(folder).acquire()
    finally:
        folder.chmod(0o755)
    assert (folder / "labels.nc").read_bytes() == b"old"


# --- SIGKILL in the middle of a save -----------------------------------------------------------

SLOW_WRITER = """
    import sys, time
    from pathlib import Path
    from pose3d.io.atomic import atomic_path

    target, marker = Path(sys.argv[1]), Path(sys.argv[2])
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        for i in range(200):
            fh.write(bytes([i % 251]) * 65536)
            fh.flush()
            if i == 20:
                marker.write_text(str(tmp))
            time.sleep(0.05)
"""


def _labels():
    ds = new_labels(4, ["cam0", "cam1"], ["nose", "tail"], ["mouse"])
    return set_point(ds, 2, "cam1", "tail", "mouse", (12.5, 7.25))


def test_sigkill_while_writing_keeps_the_previous_file(tmp_path):
    path = tmp_path / "labels.nc"
    old = _labels()
    save_labels(path, old)
    before = path.read_bytes()
    marker = tmp_path / "half_written"
    proc = spawn(SLOW_WRITER, str(path), str(marker))
    tmp = Path(wait_for(marker, proc))
    assert tmp.parent == tmp_path and tmp.name.startswith(".labels.nc.")
    assert tmp.stat().st_size >= 20 * 65536  # the new file is well under way
    kill(proc)
    assert path.read_bytes() == before
    xr.testing.assert_identical(load_labels(path), old)
    # the abandoned temporary file is hidden and does not stop the next save
    assert leftovers(tmp_path, {"labels.nc", "half_written"}) == [tmp.name]
    newer = set_point(old, 0, "cam0", "nose", "mouse", (1.0, 2.0))
    save_labels(path, newer)
    xr.testing.assert_identical(load_labels(path), newer)
    # a fresh leftover may be a concurrent writer's: kept; an old one is swept by the next save
    assert leftovers(tmp_path, {"labels.nc", "half_written"}) == [tmp.name]
    old_enough = time.time() - STALE_SECONDS - 1
    os.utime(tmp, (old_enough, old_enough))
    save_labels(path, old)
    assert leftovers(tmp_path, {"labels.nc", "half_written"}) == []


def test_stale_sweep_matches_only_its_own_file(tmp_path):
    """Names with glob characters are matched literally; other files' leftovers stay."""
    odd, other = tmp_path / "a[1]*.txt", tmp_path / "b.txt"
    old_enough = time.time() - STALE_SECONDS - 1
    mine, theirs = tmp_path / ".a[1]*.txt.x1.tmp", tmp_path / ".b.txt.x2.tmp"
    for leftover in (mine, theirs):
        leftover.write_bytes(b"half")
        os.utime(leftover, (old_enough, old_enough))
    atomic_write_text(odd, "new")
    assert not mine.exists() and theirs.exists() and odd.read_text() == "new"
    atomic_write_text(other, "new")
    assert not theirs.exists()


KILLED_BEFORE_RENAME = """
    import os, sys, time
    from pathlib import Path
    from pose3d.io.netcdf import load_labels, save_labels
    from pose3d.labels import set_point

    path, marker = Path(sys.argv[1]), Path(sys.argv[2])
    labels = set_point(load_labels(path), 0, "cam0", "nose", "mouse", (99.0, 99.0))

    def hang_before_rename(tmp, target):
        assert Path(tmp).stat().st_size > 0  # the temporary file is complete and fsynced...
        marker.write_text("written")
        time.sleep(60)  # ...and the process dies before the rename

    os.replace = hang_before_rename
    save_labels(path, labels)
"""


def test_sigkill_inside_save_labels_keeps_the_previous_file(tmp_path):
    path = tmp_path / "labels.nc"
    old = _labels()
    save_labels(path, old)
    before = path.read_bytes()
    marker = tmp_path / "marker"
    proc = spawn(KILLED_BEFORE_RENAME, str(path), str(marker))
    wait_for(marker, proc)
    kill(proc)
    assert path.read_bytes() == before
    xr.testing.assert_identical(load_labels(path), old)


# --- SessionLock -------------------------------------------------------------------------------


def test_lock_acquire_release_in_process(tmp_path):
    lock = SessionLock(tmp_path)
    assert not lock.held
    assert lock.acquire() is lock
    assert lock.held
    assert lock.acquire() is lock  # acquiring again is a no-op
    assert f'"pid": {os.getpid()}' in lock.path.read_text()
    lock.release()
    assert not lock.held
    assert lock.path.read_text() == ""  # nobody named as holder any more
    lock.release()  # releasing twice is a no-op
    with SessionLock(tmp_path) as again:
        assert again.held
    assert not again.held


def test_second_lock_in_the_same_process_is_refused(tmp_path):
    with (
        SessionLock(tmp_path),
        pytest.raises(
            SessionLockedError,
            match=rf"session {tmp_path} is open for writing "
            rf"by another pose3d process \(pid {os.getpid()} on ",
        ),
    ):
        SessionLock(tmp_path).acquire()
    with SessionLock(tmp_path) as lock:  # free again after the with-block
        assert lock.held


def test_lock_released_when_the_with_block_fails(tmp_path):
    with pytest.raises(RuntimeError), SessionLock(tmp_path):
        raise RuntimeError("edit failed")
    with SessionLock(tmp_path) as lock:
        assert lock.held


HOLDER = """
    import sys, time
    from pathlib import Path
    from pose3d.io.lock import SessionLock

    root, marker = Path(sys.argv[1]), Path(sys.argv[2])
    SessionLock(root).acquire()
    marker.write_text("locked")
    time.sleep(120)
"""


def test_lock_held_by_another_process_names_it_and_dies_with_it(tmp_path):
    session = tmp_path / "session"
    session.mkdir()
    marker = tmp_path / "locked"
    proc = spawn(HOLDER, str(session), str(marker))
    try:
        wait_for(marker, proc)
        with pytest.raises(
            SessionLockedError,
            match=rf"\(pid {proc.pid} on \S+ since "
            r"\d{4}-\d\d-\d\dT[\d:]+\); close it there first",
        ):
            SessionLock(session).acquire()
    finally:
        kill(proc)  # SIGKILL: no chance to release; the kernel drops the flock
    lock = SessionLock(session).acquire()
    assert lock.held
    assert f'"pid": {os.getpid()}' in lock.path.read_text()
    lock.release()


def test_lock_needs_an_existing_folder(tmp_path):
    with pytest.raises(SessionError, match=rf"session folder {tmp_path / 'gone'} does not exist"):
        SessionLock(tmp_path / "gone").acquire()


def test_lock_in_a_read_only_folder(tmp_path, monkeypatch):
    """As root a chmod cannot make the folder read-only (see above), so os.open refuses here."""
    real_open = os.open

    def refuse_lock_file(path, *args, **kwargs):
        if Path(path).name == ".pose3d.lock":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(lock_module.os, "open", refuse_lock_file)
    with pytest.raises(
        SessionError,
        match=rf"cannot lock session {tmp_path}: the folder is "
        r"read-only; make it writable",
    ):
        SessionLock(tmp_path).acquire()
