"""A full disk, a read-only file system, a failing disk: one clear message, the old files intact.

Each failure is simulated twice: always, by injecting the OSError where the storage raises it
(a write that stops half-way with ENOSPC, an fsync or a temporary file refused); and for real,
on a small tmpfs or a read-only bind mount in a private mount namespace (``unshare -m``), where
this machine allows it (root, or user namespaces) — skipped with the reason elsewhere. The real
runs are separate processes: the HDF5 segmentation fault they once ended in must fail the test,
not end the test run.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.errors import StorageError
from pose3d.io.atomic import atomic_path, atomic_write_text
from pose3d.io.netcdf import load_labels, load_poses, save_labels, save_poses
from pose3d.labels import new_labels, set_point
from pose3d.poses import poses_dataset

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "session"


def _labels():
    ds = new_labels(4, ["cam0", "cam1"], ["nose", "tail"], ["mouse"])
    return set_point(ds, 2, "cam1", "tail", "mouse", (12.5, 7.25))


def _is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".tmp")


@pytest.fixture
def fill_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to make every atomic write from then on stop half-way with ENOSPC, as ``write``
    does on a full disk (the error names no file: FileIO.write's does not)."""
    write_bytes = Path.write_bytes

    def write_half(self: Path, data: bytes) -> int:  # type: ignore[override]
        if not _is_temporary(self):
            return write_bytes(self, data)
        write_bytes(self, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return lambda: monkeypatch.setattr(Path, "write_bytes", write_half)


# --- atomic writes -----------------------------------------------------------------------------


def test_a_write_that_fills_the_disk_names_the_file_and_changes_nothing(tmp_path, fill_disk):
    path = tmp_path / "labels.nc"
    path.write_text("old")
    fill_disk()
    with pytest.raises(
        StorageError,
        match=rf"^no space left on .* \(mounted at /.*\) while writing {path}; nothing was "
        r"changed: free some space",
    ):
        save_labels(path, _labels())
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.nc"]  # no half file left


def test_an_fsync_that_reports_a_full_disk(tmp_path, monkeypatch):
    """Network and delayed-allocation file systems report ENOSPC at fsync, after the writes."""
    path = tmp_path / "poses3d.nc"
    poses = poses_dataset(np.zeros((3, 3, 1, 1)), ["nose"], ["mouse"], fps=30.0)
    save_poses(path, poses)
    before = path.read_bytes()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            return real_fsync(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(StorageError, match=rf"no space left on .* while writing {path}; nothing"):
        save_poses(path, poses)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poses3d.nc"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            errno.EROFS,
            r"cannot write {target}: the file system .* is read-only \(EROFS\); "
            r"nothing was changed: copy the session to a writable folder",
        ),
        (errno.ENOSPC, r"no space left on .* while writing {target}; nothing was changed"),
        (errno.EDQUOT, r"disk quota exceeded on .* while writing {target}; nothing was changed"),
        (errno.EIO, r"cannot write {target}: input/output error .*\(EIO\); nothing was changed"),
        (errno.EACCES, r"cannot write {target}: folder .* is read-only; make it writable"),
    ],
    ids=["EROFS", "ENOSPC", "EDQUOT", "EIO", "EACCES"],
)
def test_a_temporary_file_the_storage_refuses(tmp_path, monkeypatch, code, message):
    target = tmp_path / "calibration.toml"
    target.write_text("old")

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / ".calibration.toml.x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(StorageError, match=message.format(target=target)):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"


def test_an_error_about_another_file_is_not_called_a_write_failure(tmp_path):
    """Reading a missing source while writing is the source's problem, said as it is."""
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "out.txt"):
        (tmp_path / "source.txt").read_bytes()
    with pytest.raises(OSError, match="busy") as info, atomic_path(tmp_path / "out.txt"):
        raise OSError(errno.EBUSY, "busy", str(tmp_path / "other"))
    assert not isinstance(info.value, StorageError)
    assert list(tmp_path.iterdir()) == []


# --- the commands ------------------------------------------------------------------------------


def _session(root: Path) -> Path:
    """The committed sample session with its calibration and labels (manual on frame 0)."""
    shutil.copytree(SAMPLE, root)
    shutil.copy(SAMPLE / "truth" / "calibration.toml", root / "calibration" / "calibration.toml")
    labels = load_labels(SAMPLE / "truth" / "labels.nc")
    labels[s.SOURCE].values[0] = int(s.PointSource.MANUAL)
    save_labels(root / "labels.nc", labels)
    save_poses(root / "poses3d.nc", load_poses(SAMPLE / "truth" / "poses3d.nc"))
    return root


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".pose3d.lock"
    }


COMMANDS = {
    "triangulate": lambda root, out: ["triangulate", str(root)],
    "track": lambda root, out: ["track", str(root), "--view", "cam0", "--tracker", "classical"],
    "calibrate": lambda root, out: ["calibrate", str(root)],
    "export": lambda root, out: ["export", str(root), str(out), "--format", "movement"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_commands_on_a_full_disk_say_so_in_one_line(tmp_path, capsys, fill_disk, command):
    root = _session(tmp_path / "session")
    before = _digests(root)
    capsys.readouterr()
    fill_disk()

    code = main(command(root, tmp_path / "out"))

    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert "no space left on" in line and "; nothing was changed" in line
    assert f"while writing {tmp_path}" in line
    assert _digests(root) == before
    assert not [p for p in tmp_path.rglob("*") if _is_temporary(p)]


# --- for real: a small tmpfs, a read-only bind mount -------------------------------------------


# a private mount namespace: its mounts vanish with the process; -r maps a user to root there
UNSHARE = ["unshare", "-m", "--propagation", "private", *(["-r"] if os.geteuid() else [])]


def _private_mounts_refused() -> str | None:
    """Why this machine cannot mount in a private namespace (None when it can)."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return "needs Linux with unshare(1)"
    probe = tempfile.mkdtemp()
    try:
        done = subprocess.run(
            [*UNSHARE, "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    finally:
        os.rmdir(probe)
    if done.returncode:
        return (
            "cannot mount a tmpfs in a private mount namespace here (needs root or user "
            f"namespaces): {done.stderr.strip() or done.returncode}"
        )
    return None


MOUNTS_REFUSED = _private_mounts_refused()
needs_mounts = pytest.mark.skipif(MOUNTS_REFUSED is not None, reason=str(MOUNTS_REFUSED))

# Runs inside `unshare -m`: mounts, runs each command as `python -m pose3d`, reports JSON.
DRIVER = """
    import hashlib, json, os, subprocess, sys
    from pathlib import Path

    mode, mount_point, session, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    commands = json.loads(sys.argv[5])

    def run(*argv):
        subprocess.run(argv, check=True, capture_output=True)

    def digests(root):
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(Path(root).rglob("*"))
                if p.is_file() and p.name != ".pose3d.lock" and p.name != "filler"}

    if mode == "full":
        run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point))
        run("cp", "-r", session, str(mount_point / "session"))
        filler = mount_point / "filler"
        with open(filler, "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"x" * 4096)
            except OSError:
                pass
        # not one page left: even the session lock's note of its holder cannot be written
    else:
        run("cp", "-r", session, str(mount_point / "session"))
        run("mount", "--bind", str(mount_point), str(mount_point))
        run("mount", "-o", "remount,ro,bind", str(mount_point))
    before = digests(mount_point)
    results = []
    for argv in commands:
        argv = [a.replace("MNT", str(mount_point)) for a in argv]
        done = subprocess.run([sys.executable, "-m", "pose3d", *argv], capture_output=True,
                              text=True, timeout=300)
        results.append({"argv": argv, "rc": done.returncode, "stderr": done.stderr})
    leftovers = [str(p) for p in mount_point.rglob(".*.tmp")]
    print(json.dumps({"results": results, "same": digests(mount_point) == before,
                      "leftovers": leftovers}))
"""


def _run_in_private_mounts(tmp_path: Path, mode: str, commands: list[list[str]]) -> dict:
    root = _session(tmp_path / "session")
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            *UNSHARE,
            sys.executable,
            "-c",
            textwrap.dedent(DRIVER),
            mode,
            str(mount_point),
            str(root),
            str(tmp_path / "out"),
            json.dumps(commands),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report: dict = json.loads(done.stdout.splitlines()[-1])
    return report


def _assert_one_clear_line(result: dict, *expected: str) -> None:
    err = result["stderr"]
    assert result["rc"] == EXIT_USER_ERROR, (result["argv"], result["rc"], err[-2000:])
    assert "Traceback" not in err and "Fatal Python error" not in err, err[-2000:]
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    for text in expected:
        assert text in line, (result["argv"], line)


@pytest.mark.slow
@needs_mounts
def test_commands_on_a_real_full_tmpfs(tmp_path):
    commands = [
        ["triangulate", "MNT/session"],
        ["track", "MNT/session", "--view", "cam0", "--tracker", "classical"],
        ["calibrate", "MNT/session"],
        ["export", "MNT/session", "MNT/out", "--format", "movement"],
        ["export", "MNT/session", "MNT/out-nwb", "--format", "nwb"],
    ]
    report = _run_in_private_mounts(tmp_path, "full", commands)
    for result in report["results"]:
        _assert_one_clear_line(
            result, "no space left on tmpfs (mounted at ", "; nothing was changed"
        )
    assert report["same"], "a file of the session changed"
    assert report["leftovers"] == []


@pytest.mark.slow
@needs_mounts
def test_commands_on_a_real_read_only_file_system(tmp_path):
    commands = [
        ["init", "MNT/new", "--camera", "a=MNT/session/videos/cam0.mp4", "--keypoints", "x"],
        ["sample-data", "MNT/sample"],
        ["triangulate", "MNT/session"],
        ["track", "MNT/session", "--view", "cam0", "--tracker", "classical"],
        ["calibrate", "MNT/session"],
        ["export", "MNT/session", "MNT/out", "--format", "movement"],
    ]
    report = _run_in_private_mounts(tmp_path, "read-only", commands)
    for result in report["results"]:
        _assert_one_clear_line(result, "read-only", str(tmp_path / "mnt"))
    assert report["same"]
