"""Labeling effort: how many hand actions a simulated person needs to get every keypoint of a
recording right with pose3d, against labelling every frame by hand (issue 18).

    .venv/bin/python benchmarks/labeling_effort.py                       # every built-in dataset
    .venv/bin/python benchmarks/labeling_effort.py --dataset synthetic60 --json out.json
    .venv/bin/python benchmarks/labeling_effort.py --dataset real --mode queue
    .venv/bin/python benchmarks/labeling_effort.py --session S --truth TRUTH.nc \\
        [--frames A:B] [--views cam0 cam1] --json OUT

The protocol (tests/support/labeling_effort.py has it in full, and the code):

- **Seed**: on the range's first frame, in every view, click every keypoint the truth says is
  visible (one action per point).
- **Propagate** with the tracker (default: classical) in every view, review flags included
  (multi-view where the session has calibration/calibration.toml).
- **Queue** (``--mode queue``): walk the review queue in the project's order (worst run not
  visited yet, as the TUI's ``f`` key); at each run's image fix every point: place it at the
  truth where the truth is visible and the point is missing or > 5 px off (one action per
  point, source manual), mark the keypoint hidden where the truth is not visible and a point
  is there (one action each; ``--delete``: delete the point instead, the protocol before
  hidden marks); when something was placed or marked, re-track that view from that frame as
  the TUI's ``r`` does
  (``from_frames=(frame,)``). Stop when every run was visited (a run is visited once; a run on
  an image seen before and unchanged since is skipped); at most 10 visits per image (``capped``
  says when the cap stopped it). ``--follow-runs``: where a run's first image needs nothing,
  the person steps through the run's frames to the first image that does (each a visit).
- **Scan** (``--mode scan``, ``--every K``, default 10): look at every K-th frame after the
  seed frame in every view, fix and re-track as above.

Reported per dataset and mode: hand actions (seed + placed + hidden marks + deleted; placed
split into moved and missing), re-deletions, the frame-by-frame baseline (truly visible points:
one click each), the ratio baseline / actions, the share of truly visible points within 3 and 5
px at the end, points left where the truth is not visible, wrong points (> 5 px) at the end and
how many of them are not flagged, the flags after the first propagation (tracked points > 5 px
off, tracked points where the truth is hidden, and the tracker's hidden marks where the truth is
visible: how many flagged), images visited and visited
with nothing to fix (also per reason of the run visited), re-tracks and the cells they made
right and wrong (a point within 5 px, or none where the truth is hidden), wall and CPU time
(CPU: this process, all threads).

Datasets:

- ``synthetic60``, ``synthetic300``: pose3d.synthetic.write_sample_session, 4 cameras at
  640 x 480, 60 / 300 frames, the true calibration copied to calibration/ (so the multi-view
  flag runs); truth/labels.nc says where each point is and whether the camera sees it
  (``visible``). Written into a temporary folder (``--workdir`` keeps and reuses them).
- ``real``: sleap-anipose's minimal session in ../shared/data (4 cameras, 1280 x 1024, a mouse,
  120 frames) with its shipped calibration.toml (whose ``side`` camera is a copy of ``top``:
  the multi-view check only advises there, see docs/tracking.md). The truth is the proofread
  labels (``*/minimal_*_proofread.analysis.h5``). They have no hidden state: NaN means hidden
  or unlabelled, and both count as "not visible" (the person deletes a point there and places
  none; the baseline counts only the labelled points). Skipped with a message when
  ../shared/data (or $POSE3D_SHARED/data) is absent.
- any session: ``--session S --truth TRUTH.nc``, the truth in labels.nc layout on the session's
  frames (e.g. ``pose3d import`` of proofread labels into another session folder); a
  ``visible`` variable is used where present, else visible = labelled. The session's own
  labels.nc is neither read nor written.

``--second-opinion TRACKER`` (issue 21, item 4): instead of the modes, the seed is propagated
once with ``--tracker`` alone and once with TRACKER's opinion beside it; printed per dataset:
tracked points, wrong ones (> 5 px off where the truth is visible), wrong ones no flag
catches, right ones flagged, alone and with the second opinion. With the released CoTracker3
and BootsTAPIR weights installed: ``--tracker cotracker3 --second-opinion tapir``.

A benchmark, not a test: nothing is asserted (tests/tracking/test_labeling_effort.py checks the
bookkeeping on a tiny clip). Results and commands: docs/tracking.md, "Labeling effort".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSE3D_SHARED", REPO.parent / "shared"))
REAL = SHARED / "data" / "sleap_anipose_minimal_session" / "minimal_session"
REAL_VIEWS = ("back", "mid", "side", "top")
DATASETS = ("synthetic60", "synthetic300", "real")
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # tests.support, when pose3d is not installed editable

from tests.support.labeling_effort import Effort, Truth, run_annotator  # noqa: E402


@dataclass(frozen=True)
class Dataset:
    """A session folder and its truth, ready for the annotator."""

    name: str
    root: Path
    truth: Truth
    note: str


def synthetic(name: str, n_frames: int, workdir: Path) -> Dataset:
    """A synthetic session of ``n_frames`` (reused when ``workdir`` already holds it)."""
    from pose3d.io.netcdf import load_labels
    from pose3d.synthetic import write_sample_session
    from tests.support.labeling_effort import truth_from_labels

    root = workdir / name
    if not (root / "truth" / "labels.nc").is_file():
        if root.exists():
            shutil.rmtree(root)
        print(f"{name}: writing the synthetic session ({n_frames} frames) to {root}", flush=True)
        write_sample_session(root, n_frames=n_frames, n_board_frames=1, image_folders=False)
        shutil.copy(root / "truth" / "calibration.toml", root / "calibration" / "calibration.toml")
    truth = truth_from_labels(load_labels(root / "truth" / "labels.nc"))
    note = f"synthetic rodent, {n_frames} frames x 4 views, true calibration"
    return Dataset(name, root, truth, note)


def real(workdir: Path, calibration: str = "shipped") -> Dataset | None:
    """sleap-anipose's minimal session with its proofread labels as the truth; None (and a
    message) when the shared data is absent. ``calibration``: ``shipped``, the session's
    calibration.toml (whose ``side`` camera is a copy of ``top``: the data's README), or
    ``pose3d``, pose3d's calibration of the rig from the session's ChArUco images (what a
    pose3d user of this rig would have)."""
    import h5py

    from pose3d.io.session_toml import save_session
    from pose3d.session import CameraSpec, Session
    from pose3d.skeleton import Skeleton

    if not REAL.is_dir():
        print(f"real: {REAL} is absent (set POSE3D_SHARED to the folder holding data/), skipped")
        return None
    points, names = [], []
    for view in REAL_VIEWS:
        (path,) = (REAL / view).glob("*_proofread.analysis.h5")
        with h5py.File(path, "r") as f:
            points.append(np.asarray(f["tracks"][0], np.float64).transpose(2, 0, 1))  # (T, 2, K)
            names = [n.decode() for n in f["node_names"][:]]
    n_frames = min(len(p) for p in points)
    position = np.stack([p[:n_frames] for p in points], axis=1)[..., None]  # (T, V, 2, K, 1)
    truth = Truth(
        position,
        np.asarray(np.isfinite(position).all(axis=2)),
        np.arange(n_frames, dtype=np.int64),
        REAL_VIEWS,
        tuple(names),
        ("mouse",),
    )
    root = workdir / "real"
    root.mkdir(parents=True, exist_ok=True)
    cams = tuple(CameraSpec(v, str(REAL / v / f"minimal_{v}.mp4")) for v in REAL_VIEWS)
    save_session(Session(root, "minimal", cams, Skeleton.from_lists(names, []), ("mouse",)))
    (root / "calibration").mkdir(exist_ok=True)
    target = root / "calibration" / "calibration.toml"
    if calibration == "pose3d":
        calibrate_rig(target)
    else:
        shutil.copy(REAL / "calibration.toml", target)
    note = f"real 4-view mouse, {n_frames} frames, {calibration} calibration, proofread truth"
    return Dataset("real", root, truth, note)


def calibrate_rig(out: Path) -> None:
    """pose3d's calibration of the minimal session's rig from its 21 ChArUco images per camera
    (``pose3d calibrate --board board.toml --out OUT back=back/calibration_images ...``)."""
    from pose3d.io.board_toml import load_board
    from pose3d.pipeline.calibrate import calibrate_media

    media = {view: REAL / view / "calibration_images" for view in REAL_VIEWS}
    result = calibrate_media(media, load_board(REAL / "board.toml"), out)
    trust = (
        "trusted" if result.report.trusted else "NOT trusted: " + "; ".join(result.report.warnings)
    )
    print(f"real: calibrated the rig with pose3d ({trust})", flush=True)


def custom(session: Path, truth_path: Path) -> Dataset:
    from pose3d.io.netcdf import load_labels
    from tests.support.labeling_effort import truth_from_labels

    truth = truth_from_labels(load_labels(truth_path))
    return Dataset(session.name, session, truth, f"{session} against {truth_path}")


def measure(
    data: Dataset,
    mode: str,
    args: argparse.Namespace,
    frames: tuple[int, int] | None,
    views: Sequence[str] | None,
) -> Effort:
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.tracking.registry import make_tracker

    choice = make_tracker(args.tracker)
    if choice.notice:
        print(choice.notice)
    with SessionFolder(data.root, write=False) as folder:
        return run_annotator(
            data.truth,
            folder.videos(),
            folder.cameras_or_none(),
            choice.tracker,
            views=views,
            frames=frames,
            scan_every=args.every if mode == "scan" else None,
            follow_runs=args.follow_runs,
            hide=not args.delete,
        )


def second_opinion(data: Dataset, args: argparse.Namespace) -> dict[str, int]:
    """tests/support/labeling_effort.second_opinion_gain with the trackers named."""
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.tracking.registry import make_tracker
    from tests.support.labeling_effort import second_opinion_gain

    first = make_tracker(args.tracker).tracker
    other = make_tracker(args.second_opinion).tracker
    with SessionFolder(data.root, write=False) as folder:
        return second_opinion_gain(
            data.truth,
            folder.videos(),
            folder.cameras_or_none(),
            first,
            other,
            views=args.views,
            frames=args.frames,
        )


def show(name: str, effort: Effort) -> None:
    e = effort
    print(f"{name}, {e.mode}, frames {e.frames[0]}:{e.frames[1]}, views {', '.join(e.views)}")
    rows = [
        ("frame-by-frame points (baseline)", f"{e.baseline:,}"),
        (
            "hand actions (seed + placed + hidden + deleted)",
            f"{e.actions:,} ({e.seed} + {e.placed} + {e.hidden} + {e.deleted})",
        ),
        ("  placed: moved / missing", f"{e.placed_moved} / {e.placed_missing}"),
        ("  re-deletions / re-marks", f"{e.redeleted}"),
        ("ratio", f"{e.ratio:.1f}x"),
        ("visible points within 3 / 5 px at the end", f"{e.within_3px:.1%} / {e.within_5px:.1%}"),
        (
            "points left where the truth is hidden",
            f"{e.left_hidden} ({e.left_hidden_share:.1%} of the points)",
        ),
        ("visible points missing at the end", f"{e.missing_visible}"),
        (
            "wrong (> 5 px) at the end / of them unflagged",
            f"{e.wrong_at_end} / {e.wrong_at_end_unflagged}",
        ),
        (
            "first propagation: > 5 px off flagged",
            f"{e.initial_wrong_flagged} of {e.initial_wrong}",
        ),
        (
            "first propagation: tracked where hidden flagged",
            f"{e.initial_hidden_flagged} of {e.initial_hidden_tracked}",
        ),
        (
            "first propagation: hidden by it where visible, flagged",
            f"{e.initial_missing_flagged} of {e.initial_missing}",
        ),
        (
            "images visited / with nothing to fix",
            f"{e.visits} / {e.visits_nothing_to_fix} (of {e.images} images; "
            f"{e.skipped_unchanged} runs on unchanged images skipped)",
        ),
        ("re-tracks (failed)", f"{e.retracks} ({e.retracks_failed})"),
        ("  cells they made right / made wrong", f"{e.retrack_fixed} / {e.retrack_broke}"),
        (
            "visits / nothing to fix, by the run's reason",
            ", ".join(f"{k} {n} / {z}" for k, (n, z) in e.visits_by_reason.items()) or "-",
        ),
        ("visit cap hit", "yes" if e.capped else "no"),
        ("wall / CPU s", f"{e.wall_s:.0f} / {e.cpu_s:.0f}"),
    ]
    for label, value in rows:
        print(f"  {label:<48}{value}")


def parse_frames(text: str) -> tuple[int, int]:
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start), int(stop)
    except ValueError:
        raise argparse.ArgumentTypeError(f"frames must be A:B (B excluded), got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, action="append", help="default: all")
    parser.add_argument("--session", type=Path, help="a session folder (with --truth)")
    parser.add_argument("--truth", type=Path, help="its truth in labels.nc layout")
    parser.add_argument("--frames", type=parse_frames, help="session frames A:B (B excluded)")
    parser.add_argument("--views", nargs="+", help="views to work on (default: all)")
    parser.add_argument(
        "--mode",
        choices=("queue", "scan"),
        action="append",
        help="queue (the review queue), scan (every K-th frame); default both",
    )
    parser.add_argument(
        "--follow-runs",
        action="store_true",
        help="queue: step through a run whose first image needs nothing to the first that does",
    )
    parser.add_argument(
        "--delete",
        action="store_true",
        help="the person deletes points where the keypoint is hidden (no hidden marks)",
    )
    parser.add_argument("--every", type=int, default=10, help="K of the scan (default 10)")
    parser.add_argument(
        "--tracker", default="classical", help="classical (default), cotracker3, tapir"
    )
    parser.add_argument(
        "--second-opinion",
        metavar="TRACKER",
        help="instead of the modes: what this tracker's opinion adds to the flags of the first "
        "propagation (wrong points missed, right points flagged, alone and with it)",
    )
    parser.add_argument(
        "--real-calibration",
        choices=("shipped", "pose3d"),
        default="shipped",
        help="real: the session's calibration.toml (its side camera is a copy of top), or "
        "pose3d's calibration of the rig from the session's ChArUco images",
    )
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the sessions written here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if (args.session is None) != (args.truth is None):
        parser.error("--session and --truth go together")
    modes = args.mode or ["queue", "scan"]
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="labeling_effort_") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for data in datasets(args, workdir):
            print(data.note, flush=True)
            if args.second_opinion is not None:
                gain = second_opinion(data, args)
                print(f"{data.name}: " + ", ".join(f"{k} {v}" for k, v in gain.items()))
                results.append({"dataset": data.name, "note": data.note, **gain})
                continue
            for mode in modes:
                effort = measure(data, mode, args, args.frames, args.views)
                show(data.name, effort)
                results.append({"dataset": data.name, "note": data.note, **effort.summary()})
    if args.json is not None:
        command = " ".join(["python", "benchmarks/labeling_effort.py", *(argv or sys.argv[1:])])
        stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        document = {"command": command, "when": stamp, "results": results}
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    return 0


def datasets(args: argparse.Namespace, workdir: Path) -> Iterator[Dataset]:
    """The datasets asked for, each made when its turn comes."""
    if args.session is not None:
        yield custom(args.session, args.truth)
        return
    for name in args.dataset or DATASETS:
        if name == "real":
            found = real(workdir, args.real_calibration)
            if found is not None:
                yield found
        else:
            yield synthetic(name, int(name.removeprefix("synthetic")), workdir)


if __name__ == "__main__":
    sys.exit(main())
