"""What a labelling edit costs on a long video: the editor's place + autosave, per click.

    .venv/bin/python benchmarks/autosave.py                  # 54,000 frames (30 min at 30 fps)
    .venv/bin/python benchmarks/autosave.py --frames 1000 216000

Labels of 4 views × 12 keypoints × 1 individual with the tracker's variables (what a session
holds after propagation), saved as labels.nc; then ``LabelEditor`` wired to the TUI's
``BackgroundSaver`` (pose3d.tui.state.autosave, as pose3d.tui.state.workspace wires them) places 40
points, one every 50 ms (a fast labeller), and each edit's time on the calling thread (the UI
thread in the app) is taken: the point changed in place and its state appended to the
journal, fsynced.

Anchors, same process, same labels: (1) the work the autosave did per edit before the
journal, on the UI thread: ``set_point`` returning a copy plus the copy handed to the writer;
(2) one complete write of labels.nc (``save_labels``), which the writer now does once the user
pauses, and which before bounded how fast edits could follow each other.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from pose3d.io.netcdf import save_labels
from pose3d.labels import new_labels, set_point
from pose3d.tracking.review import with_track_variables
from pose3d.tui.state.autosave import BackgroundSaver
from pose3d.tui.state.editor import LabelEditor

VIEWS = [f"cam{j}" for j in range(4)]
KEYPOINTS = [f"kp{k}" for k in range(12)]
EDITS, PACE_S = 40, 0.05


def labels_of(n_frames: int):  # type: ignore[no-untyped-def]
    labels = with_track_variables(new_labels(n_frames, VIEWS, KEYPOINTS, ["mouse"]))
    rng = np.random.default_rng(0)
    labels["position"].values[:] = rng.uniform(0, 1000, labels["position"].shape)
    return labels


def run(n_frames: int) -> None:
    labels = labels_of(n_frames)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.nc"
        t0 = time.perf_counter()
        save_labels(path, labels)
        full_write = time.perf_counter() - t0
        old = []
        for j in range(5):
            t0 = time.perf_counter()
            copied = set_point(labels, j, "cam0", "kp0", "mouse", (1.0, 2.0))
            copied.copy(deep=True)
            old.append(time.perf_counter() - t0)

        saver = BackgroundSaver(path)
        editor = LabelEditor(labels, save=saver.record, lock=saver.lock)
        times = []
        try:
            for j in range(EDITS):
                editor.move_to(frame=j % n_frames, view=VIEWS[j % 4])
                t0 = time.perf_counter()
                editor.place_current((10.0 + j, 20.0))
                times.append(time.perf_counter() - t0)
                time.sleep(PACE_S)
            t0 = time.perf_counter()
            saver.wait()
            flush = time.perf_counter() - t0
        finally:
            saver.close()
    ms = 1000 * np.asarray(times)
    print(
        f"{n_frames:>8} frames, labels {labels.nbytes / 1e6:6.1f} MB: edit median "
        f"{np.median(ms):5.2f} ms, max {ms.max():5.1f} ms | anchors: the copies of an edit "
        f"before {1000 * statistics.median(old):6.1f} ms, a full write {1000 * full_write:6.1f} "
        f"ms | flush {1000 * flush:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[54_000])
    args = parser.parse_args()
    for n in args.frames:
        run(n)


if __name__ == "__main__":
    main()
