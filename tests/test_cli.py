"""The pose3d command: init / info on real video files, clear errors, a light start."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.io.calibration_toml import save_calibration
from pose3d.io.netcdf import save_labels
from pose3d.io.session_toml import load_session
from pose3d.io.video_writing import write_video
from pose3d.labels import new_labels, set_point

HEAVY = ("torch", "pyvista", "textual", "xarray", "cv2", "av", "scipy")


def _videos(folder: Path, frames: dict[str, int]) -> dict[str, Path]:
    paths = {}
    for name, n in frames.items():
        path = folder / f"{name}.mp4"
        write_video(path, (np.full((32, 48, 3), 5 * i, np.uint8) for i in range(n)), fps=25)
        paths[name] = path
    return paths


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from pose3d.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('loaded:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "loaded:"


def test_init_then_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    videos = _videos(tmp_path, {"top": 12, "side": 12})
    root = tmp_path / "session"

    code = main(
        [
            "init",
            str(root),
            "--camera",
            f"top={videos['top']}",
            "--camera",
            f"side={videos['side']}",
            "--keypoints",
            "nose,neck,tail",
            "--edges",
            "nose-neck,neck-tail",
            "--individuals",
            "m1,m2",
        ]
    )

    assert code == 0
    session = load_session(root)
    assert session.camera_names == ("top", "side")
    assert session.fps == pytest.approx(25.0)
    assert session.skeleton.edges == (("nose", "neck"), ("neck", "tail"))
    assert session.individuals == ("m1", "m2")
    capsys.readouterr()

    assert main(["info", str(root)]) == 0
    out = capsys.readouterr().out
    assert "top" in out and "side" in out and "12" in out and "absent" in out


def test_init_takes_the_calibration_media(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--calibration-media NAME=VIDEO writes [calibration] media; without it, pose3d calibrate
    says how to add it, with this session's camera names; a wrong camera or path is refused."""
    videos = _videos(tmp_path, {"top": 4, "side": 4})
    boards = _videos(tmp_path / "boards", {"top": 4, "side": 4})
    base = ["--camera", f"top={videos['top']}", "--camera", f"side={videos['side']}"]
    base += ["--keypoints", "nose"]
    media = ["--calibration-media", f"top={boards['top']}", "--calibration-media"]
    assert main(["init", str(tmp_path / "s1"), *base, *media, f"side={boards['side']}"]) == 0
    assert load_session(tmp_path / "s1").calibration_media_paths() == {
        "top": boards["top"].resolve(), "side": boards["side"].resolve()
    }  # fmt: skip
    assert (
        main(["init", str(tmp_path / "s2"), *base, *media, f"front={boards['side']}"])
        == EXIT_USER_ERROR
    )
    assert "front, which the session does not have" in capsys.readouterr().err
    assert (
        main(["init", str(tmp_path / "s3"), *base, *media, "side=nowhere.mp4"]) == EXIT_USER_ERROR
    )
    assert "nowhere.mp4 does not exist" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "s4"), *base]) == 0
    capsys.readouterr()
    assert main(["calibrate", str(tmp_path / "s4")]) == EXIT_USER_ERROR
    said = capsys.readouterr().err
    assert (
        '[calibration]\nmedia = { top = "calibration/top.mp4", side = "calibration/side.mp4" }'
        in said
    )


def test_init_takes_the_skeleton_from_a_dlc_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    videos = _videos(tmp_path, {"top": 4})
    config = tmp_path / "config.yaml"
    config.write_text("bodyparts: [snout, ear, tail]\nskeleton:\n- [snout, ear]\n", "utf-8")
    camera = ["--camera", f"top={videos['top']}"]
    assert main(["init", str(tmp_path / "s"), *camera, "--skeleton-from", str(config)]) == 0
    session = load_session(tmp_path / "s")
    assert session.skeleton.keypoints == ("snout", "ear", "tail")
    assert session.skeleton.edges == (("snout", "ear"),)
    both = ["--skeleton-from", str(config), "--keypoints", "a"]
    assert main(["init", str(tmp_path / "t"), *camera, *both]) == EXIT_USER_ERROR
    assert "not both" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "u"), *camera]) == EXIT_USER_ERROR
    assert "--skeleton-from" in capsys.readouterr().err


def test_info_reports_labels_and_calibration_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pose3d.cameras import Camera, CameraGroup

    videos = _videos(tmp_path, {"a": 6, "b": 6})
    root = tmp_path / "s"
    main(
        [
            "init",
            str(root),
            "--camera",
            f"a={videos['a']}",
            "--camera",
            f"b={videos['b']}",
            "--keypoints",
            "nose",
        ]
    )
    labels = set_point(
        new_labels(6, ["a", "b"], ["nose"], ["individual_0"]),
        1,
        "a",
        "nose",
        "individual_0",
        (3.0, 4.0),
    )
    save_labels(root / "labels.nc", labels)
    (root / "calibration").mkdir()
    cam = Camera("a", (48, 32), np.array([[50.0, 0, 24], [0, 50, 16], [0, 0, 1]]))
    save_calibration(root / "calibration" / "calibration.toml", CameraGroup((cam,)))
    capsys.readouterr()

    assert main(["info", str(root)]) == 1  # it lists a problem: scripts can tell

    out = " ".join(capsys.readouterr().out.split())
    assert "1 manual" in out
    assert "camera(s) b of the session are not in the calibration" in out

    # an edit a killed TUI left in the journal: counted, and said to be there
    from pose3d.io.label_journal import LabelJournal, journal_path

    edited = set_point(labels, 2, "b", "nose", "individual_0", (5.0, 6.0))
    cell = {"time": 2, "view": "b", "keypoint": "nose", "individual": "individual_0"}
    state = {name: edited[name].sel(cell).values for name in edited.data_vars}
    LabelJournal(journal_path(root / "labels.nc")).append(2, "b", "nose", "individual_0", state)
    assert main(["info", str(root)]) == 1
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())  # the table wraps it
    assert "2 manual" in out and "including 1 edit(s) still in labels.nc.journal" in out


def test_mismatched_frame_counts_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    videos = _videos(tmp_path, {"a": 10, "b": 8})
    args = [
        "init",
        str(tmp_path / "s"),
        "--camera",
        f"a={videos['a']}",
        "--camera",
        f"b={videos['b']}",
        "--keypoints",
        "nose",
    ]

    assert main(args) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert (
        "different frame counts" in err and "a.mp4): 10" in err and "--allow-frame-mismatch" in err
    )
    assert not (tmp_path / "s" / "session.toml").exists()
    assert main([*args, "--allow-frame-mismatch"]) == 0


@pytest.mark.parametrize(
    ("make_input", "expected"),
    [
        (lambda p: ["--camera", f"a={p / 'missing.mp4'}", "--keypoints", "x"], "missing.mp4"),
        (lambda p: ["--camera", f"a={p / 'junk.mp4'}", "--keypoints", "x"], "junk.mp4"),
        (lambda p: ["--camera", f"a={p / 'a.mp4'}", "--keypoints", "x,x"], "repeated: x"),
        (
            lambda p: ["--camera", f"a={p / 'a.mp4'}", "--keypoints", "x", "--edges", "x-y"],
            "unknown keypoint(s) y",
        ),
    ],
)
def test_bad_input_gives_one_message_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_input,
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    _videos(tmp_path, {"a": 4})
    (tmp_path / "junk.mp4").write_text("not a video")

    code = main(["init", str(tmp_path / "s"), *make_input(tmp_path)])

    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert expected in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pose3d", "--debug", "info", str(tmp_path / "nothere")],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "does not exist" in result.stderr


# --- errors of the operating system: one line, the file, what the errno means -------------------


def _init_args(tmp_path: Path, root: Path) -> list[str]:
    videos = _videos(tmp_path, {"a": 4})
    return ["init", str(root), "--camera", f"a={videos['a']}", "--keypoints", "nose"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.EROFS, "the file system {mount} is read-only (EROFS); copy the session"),
        (errno.ENOSPC, "no space left on {mount} (ENOSPC); free some space"),
        (errno.EDQUOT, "disk quota exceeded on {mount} (EDQUOT)"),
        (errno.ENAMETOOLONG, "file name too long for this file system (ENAMETOOLONG); use a"),
        (errno.EIO, "input/output error (the disk or the network file system failed) (EIO)"),
    ],
    ids=["EROFS", "ENOSPC", "EDQUOT", "ENAMETOOLONG", "EIO"],
)
def test_an_os_error_no_command_expected_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    expected: str,
) -> None:
    from pose3d.errors import mount_description

    args = _init_args(tmp_path, tmp_path / "session")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    capsys.readouterr()

    assert main(args) == EXIT_USER_ERROR

    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(f"error: {tmp_path / 'session'}: ")
    assert expected.format(mount=mount_description(tmp_path)) in err


def test_an_os_error_without_a_file_still_says_what_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _init_args(tmp_path, tmp_path / "session")

    def fail(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")  # as h5py and FFmpeg raise them

    monkeypatch.setattr(Path, "mkdir", fail)
    capsys.readouterr()

    assert main(args) == EXIT_USER_ERROR
    assert capsys.readouterr().err == (
        "error: input/output error (the disk or the network file system failed) (EIO); check "
        "the disk or the network share (dmesg) and copy your data somewhere safe\n"
    )


def test_debug_shows_the_traceback_of_an_os_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    args = _init_args(tmp_path, blocker / "session")  # a folder inside a file: ENOTDIR

    plain = subprocess.run([sys.executable, "-m", "pose3d", *args], capture_output=True, text=True)
    assert plain.returncode == EXIT_USER_ERROR
    assert plain.stderr == f"error: {blocker / 'session'}: not a directory (ENOTDIR)\n"

    debug = subprocess.run(
        [sys.executable, "-m", "pose3d", "--debug", *args], capture_output=True, text=True
    )
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "NotADirectoryError" in debug.stderr
