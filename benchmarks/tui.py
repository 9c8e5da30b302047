"""The TUI's frame step: key press to every view redrawn, 4 cameras at 1280 x 1024.

    .venv/bin/python benchmarks/tui.py               # 30 steps warm, 10 cold, 200 x 60 cells
    .venv/bin/python benchmarks/tui.py --quick       # 10 steps warm, 4 cold, a smoke run
    .venv/bin/python benchmarks/tui.py --profile     # cProfile of the warm steps (top 25)
    .venv/bin/python benchmarks/tui.py --tmux        # also the real app in tmux (needs tmux)

Input: a session written here (4 cameras of 1280 x 1024 H.264, 24 frames of a moving
low-frequency texture with noise, so that a frame has the thousands of distinct colours of a
real video; 5 keypoints x 2 individuals labelled on every frame of every camera, mixed manual
and tracked), opened in ``Pose3dApp`` under Textual's headless driver at 200 x 60 cells with
half-cell blocks (what tmux and ssh users see).

Headless Textual composes the screen but does not turn it into terminal escape codes; here the
app's display hook does that too (``CompositorUpdate.render_segments``, the string a terminal
would get), so the time covers everything up to the write to the terminal. A step's time runs
from the key press to the end of the last screen update that follows it.

- warm: the frames were prefetched (each step waits for the background decoding of the
  neighbours before the next key), the issue's target of 100 ms applies here.
- cold: a jump of 10 frames (``shift+right``) to frames not decoded yet: the key is
  answered at once (the old picture stays, marked "decoding") and the frame arrives later; the
  time is key press to the frame on screen.
- label: the Label screen (one view large, the same 200 x 60 cells), a step with ``.``.
- playback: space at frame 0 plays to the last frame at the session's 30 fps, the decoders
  reading ahead; the rate is the frames shown with every view decoded (a frame whose views were
  still decoding when its turn came is skipped) over the time from the key to the last one;
  the target is the session's rate.

With ``--tmux`` the same session is opened by ``pose3d tui`` in a tmux window of 200 x 60
(``COLORTERM=truecolor``), a key is sent with ``tmux send-keys`` and the pane is read back
with ``capture-pane`` every few milliseconds until the status line shows the next frame: key
to screen in a real terminal (the status line is written in the same update as the views).

Anchors (same process): the bare work a step cannot avoid, decode 4 frames from the videos and
resize each to its view's cells (``cv2.resize``, INTER_AREA) — "decode+resize"; the ratio
says how much the UI adds to it. For a jump, the same from frame 0 to frame 10: each reader
seeks back to the keyframe before it and decodes forward, one camera after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import pose3d
from pose3d import schema as s
from pose3d.io.netcdf import save_labels
from pose3d.io.video_reading import VideoReader
from pose3d.io.video_writing import write_video
from pose3d.labels import new_labels
from pose3d.pipeline.session import init_session
from pose3d.schema import PointSource

SIZE = (1280, 1024)
N_CAMERAS, N_FRAMES = 4, 24
KEYPOINTS = ("nose", "ear_left", "ear_right", "neck", "tail_base")
INDIVIDUALS = ("mouse_a", "mouse_b")
TERMINAL = (200, 60)


def _frames(camera: int, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A low-frequency colour texture drifting 8 px per frame, with pixel noise."""
    w, h = SIZE
    small = rng.integers(0, 256, (h // 64 + 4, w // 64 + 4, 3), dtype=np.uint8)
    texture = cv2.resize(small, (w + 64 * 4, h + 64 * 4), interpolation=cv2.INTER_CUBIC)
    frames = []
    for i in range(n):
        dx = (8 * i + 40 * camera) % 256
        frame = texture[:h, dx : dx + w].astype(np.int16)
        frame += rng.integers(-6, 7, frame.shape, dtype=np.int16)
        frames.append(frame.clip(0, 255).astype(np.uint8))
    return frames


def write_session(root: Path) -> Path:
    """The benchmark session (videos, session.toml, labels.nc) under ``root``."""
    rng = np.random.default_rng(0)
    cameras = {}
    for j in range(N_CAMERAS):
        cameras[f"cam{j}"] = write_video(
            root / "media" / f"cam{j}.mp4", _frames(j, N_FRAMES, rng), 30.0
        )
    session = init_session(
        root / "session",
        cameras,
        KEYPOINTS,
        [("nose", "neck"), ("neck", "tail_base")],
        individuals=INDIVIDUALS,
        fps=30.0,
    )
    labels = new_labels(N_FRAMES, list(cameras), KEYPOINTS, INDIVIDUALS)
    t = np.arange(N_FRAMES)[:, None, None, None]
    k = np.arange(len(KEYPOINTS))[None, None, :, None]
    i = np.arange(len(INDIVIDUALS))[None, None, None, :]
    v = np.arange(N_CAMERAS)[None, :, None, None]
    x = 300 + 150 * k + 500 * i + 4 * t + 10 * v + 0.0 * t
    y = 300 + 80 * k + 200 * i + 0.0 * t + 10 * v
    labels[s.POSITION].values[:] = np.stack(np.broadcast_arrays(x, y), axis=2)
    source = np.where((k + t) % 3 == 0, PointSource.MANUAL, PointSource.TRACKED)
    labels[s.SOURCE].values[:] = np.broadcast_to(source, labels[s.SOURCE].shape)
    labels[s.REVIEW].values[:] = np.broadcast_to((k == 2) & (t % 5 == 0), labels[s.REVIEW].shape)
    save_labels(session.paths.labels, labels)
    return session.root


JUMP = 10  # frames of shift+right


def anchor(root: Path, frames: list[int], start: int | None = None) -> list[float]:
    """Seconds per decode of ``frames[i]`` (4 cameras, one after the other) + resize to the cell
    grid; with ``start``, each reader first reads that frame, untimed (a jump from it)."""
    from pose3d.io.session_toml import load_session

    session = load_session(root)
    readers = [VideoReader(session.video_path(n)) for n in session.camera_names]
    cells = (TERMINAL[0] // 2 - 2, 2 * ((TERMINAL[1] - 6) // 2 - 2))  # about one view's pixels
    times = []
    try:
        for f in frames:
            if start is not None:
                for reader in readers:
                    reader.read(start)
            t0 = time.perf_counter()
            for reader in readers:
                cv2.resize(reader.read(f), cells, interpolation=cv2.INTER_AREA)
            times.append(time.perf_counter() - t0)
    finally:
        for reader in readers:
            reader.close()
    return times


async def run_app(root: Path, warm: int, cold: int, profile: cProfile.Profile | None):
    """(warm step times, cold step times, Label screen step times) in seconds, and the
    playbacks' rates (frames shown per second)."""
    from rich.color import ColorSystem
    from textual._compositor import CompositorUpdate

    from pose3d.tui.app import Pose3dApp
    from pose3d.tui.screens.views import ViewsScreen

    app = Pose3dApp(root, recent_path=root.parent / "recent.json")
    shown: list[float] = []
    display = app._display
    watch: list = []  # during playback: a function noting what each screen update shows

    def display_and_encode(screen, renderable):  # type: ignore[no-untyped-def]
        display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)  # what a terminal would be sent
        shown.append(time.perf_counter())
        for note in watch:
            note()

    app._display = display_and_encode  # type: ignore[method-assign]

    async with app.run_test(size=TERMINAL) as pilot:
        app.console._color_system = ColorSystem.TRUECOLOR  # as in a terminal with COLORTERM
        while not isinstance(app.screen, ViewsScreen):
            await pilot.pause(0.05)
        screen = app.screen
        frames = app.workspace.frames  # type: ignore[union-attr]
        editor = app.workspace.editor  # type: ignore[union-attr]
        label_screen = False

        def current() -> int:
            return editor.cursor.frame if label_screen else screen.frame

        async def settle() -> None:
            """Until the decoders are idle and the screen shows the current frame."""
            for _ in range(1000):
                busy = any(not f.done() for f in list(frames._pending.values()))
                running = any(w.is_running for w in app.workers)
                views = [editor.cursor.view] if label_screen else frames.views
                if not (busy or running) and all(frames.cached(v, current())[0] for v in views):
                    await pilot.pause(0.02)
                    if not any(w.is_running for w in app.workers):
                        return
                await pilot.pause(0.01)

        async def step(key: str, target: int) -> float:
            await settle()
            shown.clear()
            t0 = time.perf_counter()
            if profile is not None:
                profile.enable()
            await pilot.press(key)
            await settle()
            if profile is not None:
                profile.disable()
            assert current() == target, (current(), target)
            if os.environ.get("DEBUG_SHOWN"):
                print([round(1000 * (x - t0)) for x in shown])
            return shown[-1] - t0

        await settle()
        warm_times = []
        for _ in range(warm):
            target = screen.frame + 1
            if target >= N_FRAMES:
                screen.go_to(0)
                target = 1
            warm_times.append(await step("right", target))
        cold_times = []
        profile = None
        for _ in range(cold):
            screen.go_to(0)
            await settle()
            frames._cache.clear()
            frames._bytes = 0
            shown.clear()
            t0 = time.perf_counter()
            await pilot.press("shift+right")
            await settle()
            assert screen.frame == JUMP, screen.frame
            cold_times.append(shown[-1] - t0)
        rates = []
        for _ in range(3):  # playback, from frame 0 to the last frame
            screen.go_to(0)
            await settle()
            frames._cache.clear()
            frames._bytes = 0
            await settle()  # frame 0 and its neighbours decoded again, as after a jump there
            seen: set[int] = set()

            def note(seen: set[int] = seen) -> None:
                if all(frames.cached(v, screen.frame)[0] for v in frames.views):
                    seen.add(screen.frame)

            watch.append(note)
            t0 = time.perf_counter()
            await pilot.press("space")
            while screen.player is not None:
                await pilot.pause(0.01)
            watch.clear()
            rates.append(len(seen - {0}) / (shown[-1] - t0))
        pictures = getattr(screen, "pictures", None)  # absent before the draw-ahead
        if pictures is not None:
            print(f"pictures drawn ahead: {pictures.hits} used, {pictures.misses} missed")

        screen.go_to(0)  # the Label screen (one view large): the same steps with "."
        await settle()
        await pilot.press("enter")
        while app.screen is screen:
            await pilot.pause(0.05)
        label, label_screen = app.screen, True
        label_times = []
        for _ in range(warm):
            target = editor.cursor.frame + 1
            if target >= N_FRAMES:
                editor.move_to(frame=0)
                label.refresh_view()  # type: ignore[attr-defined]
                target = 1
            label_times.append(await step("full_stop", target))
    return warm_times, cold_times, label_times, rates


def tmux_steps(root: Path, steps: int) -> list[float]:
    """Seconds from ``tmux send-keys Right`` to the pane showing the next frame."""
    import shlex
    import shutil
    import subprocess
    import sys

    if shutil.which("tmux") is None:
        raise SystemExit("--tmux needs tmux (apt-get install tmux)")
    socket = f"pose3d-bench-{os.getpid()}"

    def tmux(*args: str) -> str:
        out = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True)
        return out.stdout

    env = {
        "POSE3D_CONFIG_DIR": str(root.parent / "config"),
        "COLORTERM": "truecolor",
        "POSE3D_TUI_GRAPHICS": "halfcell",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    settings = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
    app = [shlex.quote(sys.executable), "-m", "pose3d", "tui", shlex.quote(str(root))]
    command = " ".join(["env -u COLUMNS -u LINES", *settings, *app])
    tmux(
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-c",  # not the checkout: python -m would import its pose3d before PYTHONPATH's
        str(root.parent),
        "-s",
        "tui",
        "-x",
        str(TERMINAL[0]),
        "-y",
        str(TERMINAL[1]),
        command,
    )
    tmux("set-option", "-g", "default-terminal", "tmux-256color")

    def wait_for(text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in tmux("capture-pane", "-p", "-t", "tui"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"tmux: {text!r} never shown")
            time.sleep(0.003)

    times = []
    try:
        wait_for(" frame 0 /")
        time.sleep(2.0)
        for n in range(steps):
            frame = n % (N_FRAMES - 1)
            if frame == 0 and n:
                tmux("send-keys", "-t", "tui", "Home")
                wait_for(" frame 0 /")
            time.sleep(0.5)  # the neighbours prefetched (and drawn ahead)
            t0 = time.perf_counter()
            tmux("send-keys", "-t", "tui", "Right")
            wait_for(f" frame {frame + 1} /")
            times.append(time.perf_counter() - t0)
    finally:
        tmux("kill-server")
    return times


def _summary(name: str, times: list[float]) -> str:
    ms = np.asarray(times) * 1000
    return (
        f"{name:<28} median {np.median(ms):6.1f} ms   p90 {np.percentile(ms, 90):6.1f} ms"
        f"   n={len(ms)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps only")
    parser.add_argument("--profile", action="store_true", help="cProfile the warm steps")
    parser.add_argument("--tmux", action="store_true", help="also time the real app in tmux")
    args = parser.parse_args()
    os.environ.setdefault("POSE3D_TUI_GRAPHICS", "halfcell")  # read when pose3d.tui is imported
    warm, cold = (10, 4) if args.quick else (30, 10)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        root = write_session(Path(tmp))
        print(
            f"session: {N_CAMERAS} cameras x {N_FRAMES} frames of {SIZE[0]}x{SIZE[1]}, "
            f"written in {time.perf_counter() - t0:.1f} s; terminal {TERMINAL[0]}x{TERMINAL[1]}"
        )
        print(f"pose3d from {Path(pose3d.__file__).parent}")
        base = anchor(root, [f % N_FRAMES for f in range(warm)])
        base_jump = anchor(root, [JUMP] * cold, start=0)
        profile = cProfile.Profile() if args.profile else None
        warm_times, cold_times, label_times, rates = asyncio.run(run_app(root, warm, cold, profile))
        terminal_times = tmux_steps(root, warm) if args.tmux else []
    print(_summary("anchor decode+resize x4", base))
    print(_summary("frame step, prefetched", warm_times))
    print(_summary("anchor seek+decode+resize x4", base_jump))
    print(_summary("jump, not prefetched", cold_times))
    print(_summary("label screen step", label_times))
    if terminal_times:
        print(_summary("tmux: frame step, key->pane", terminal_times))
    ratio = statistics.median(warm_times) / statistics.median(base)
    print(f"prefetched step / anchor: {ratio:.2f} (median over median); target 100 ms")
    jump_ratio = statistics.median(cold_times) / statistics.median(base_jump)
    print(f"jump / its anchor: {jump_ratio:.2f} (median over median)")
    jump_p90 = np.percentile(cold_times, 90) / np.percentile(base_jump, 90)
    print(f"jump / its anchor at p90: {jump_p90:.2f}; target 1.5")
    shown = ", ".join(f"{r:.1f}" for r in rates)
    print(f"playback of {N_CAMERAS} views: {shown} frames/s with every view decoded; target 30")
    if profile is not None:
        pstats.Stats(profile).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
            int(os.environ.get("TOP", "25"))
        )


if __name__ == "__main__":
    main()
