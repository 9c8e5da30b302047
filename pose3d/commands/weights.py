"""``pose3d weights download | import | list | default``: the learned trackers' weights (never
bundled: CoTracker3's are CC BY-NC, BootsTAPIR's Apache 2.0 / CC BY 4.0) and which tracker is
the default."""

from __future__ import annotations

import argparse
from pathlib import Path

from pose3d.tracking.registry import DEFAULT_ORDER, LEARNED, TRACKERS

LICENCE_HELP = (
    "CoTracker3 weights (Meta, facebook/cotracker3) are licensed CC BY-NC 4.0: non-commercial "
    "use only. BootsTAPIR weights (Google DeepMind, tapnet) allow any use: Apache 2.0 / CC BY "
    "4.0. pose3d never bundles either: download or import them yourself, and their licence "
    "binds you. Without weights pose3d tracks with its classical tracker."
)


def cmd_download(args: argparse.Namespace) -> int:
    from pose3d.errors import Pose3dError
    from pose3d.progress import progress_bar
    from pose3d.tracking import weights_tapir
    from pose3d.tracking.weights import LICENCE, download

    if args.tracker == "tapir":
        raise Pose3dError(
            "pose3d does not download BootsTAPIR weights: their SHA-256 is not published, so a "
            f"download could not be verified. Download {weights_tapir.RELEASES['offline']} (or "
            f"{weights_tapir.RELEASES['online']}, online) from {weights_tapir.DOWNLOAD} (listed "
            f"in {weights_tapir.SOURCE}'s README) and run `pose3d weights import --tracker tapir "
            "FILE`: it loads the file strictly into the network and records its SHA-256"
        )
    with progress_bar() as progress:

        def bytes_done(done: int, total: int) -> None:
            progress(f"download {args.variant}", done, total)

        path = download(args.variant, url=args.url, timeout=args.timeout, progress=bytes_done)
    print(f"installed {path} (SHA-256 verified)")
    print(LICENCE)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pose3d.tracking.weights import import_weights, tracker_weights

    tracker = args.tracker or ("tapir" if "tapir" in args.file.name.lower() else "cotracker3")
    weights = import_weights(args.file, tracker=tracker, variant=args.variant, force=args.force)
    facts = tracker_weights(tracker)
    print(f"installed {weights.path} ({facts.title}, {weights.variant or '?'}): {weights.status}")
    print(facts.licence)
    print(f"source: {facts.source}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from pose3d.tracking.registry import select
    from pose3d.tracking.weights import installed, tracker_weights, weights_dir

    for tracker in LEARNED:
        facts = tracker_weights(tracker)
        folder = weights_dir(tracker)
        found = installed(tracker=tracker)
        print(f"{facts.title} ({tracker}): {facts.licence}")
        print(f"  folder {folder}")
        if not found:
            print(f"  no {facts.title} weights in {folder}; to install them, {facts.get}")
        for weights in found:
            print(
                f"  {weights.path.name:<32} {weights.size / 1e6:8.1f} MB  "
                f"{weights.variant or '?':<7}  {weights.status}"
            )
    chosen = select(None)
    print(f"pose3d track uses {chosen.name}: {chosen.why}")
    if chosen.notice:
        print(f"note: {chosen.notice}")
    return 0


def cmd_default(args: argparse.Namespace) -> int:
    from pose3d.tracking.registry import select, set_default

    if args.tracker is not None:
        setting = set_default(None if args.tracker == "auto" else args.tracker)
        said = "the default order again: no" if args.tracker == "auto" else "stored in"
        print(f"{said} {setting}")
    chosen = select(None)
    print(f"pose3d track uses {chosen.name}: {chosen.why}")
    if chosen.notice:
        print(f"note: {chosen.notice}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "weights",
        help="install / list the learned trackers' weights (not bundled); the default tracker",
        description=f"Install and list CoTracker3 and BootsTAPIR weights. {LICENCE_HELP}",
    )
    commands = p.add_subparsers(dest="weights_command", metavar="ACTION", required=True)
    d = commands.add_parser(
        "download",
        help="download CoTracker3's released weights (needs internet)",
        description="Download, verify (SHA-256) and install a released CoTracker3 checkpoint. "
        "BootsTAPIR's are not downloaded (no published hash): fetch them yourself and import "
        f"them. {LICENCE_HELP}",
    )
    d.add_argument("variant", nargs="?", choices=("offline", "online"), default="offline")
    d.add_argument("--tracker", choices=LEARNED, default="cotracker3", help="default cotracker3")
    d.add_argument("--url", help="download from this mirror instead (same file, same SHA-256)")
    d.add_argument("--timeout", type=float, default=30.0, metavar="S", help="network timeout")
    d.set_defaults(func=cmd_download)
    i = commands.add_parser(
        "import",
        help="install a weights file you already have",
        description="Install a weights file: a CoTracker3 file's SHA-256 must match a release "
        "(or --force, and it must load strictly); a BootsTAPIR file must load strictly into the "
        f"network, and its SHA-256 is recorded. {LICENCE_HELP}",
    )
    i.add_argument("file", type=Path)
    i.add_argument(
        "--tracker",
        choices=LEARNED,
        help="whose weights (default: tapir when the file name says tapir, else cotracker3)",
    )
    i.add_argument(
        "--variant",
        choices=("offline", "online"),
        help="tapir: the network (default: online when the file name says causal, else "
        "offline); cotracker3: checked against the file",
    )
    i.add_argument(
        "--force",
        action="store_true",
        help="cotracker3: install a file of unknown hash if it loads strictly",
    )
    i.set_defaults(func=cmd_import)
    lst = commands.add_parser(
        "list", help="installed weights, sizes, verified or not; the tracker pose3d track uses"
    )
    lst.set_defaults(func=cmd_list)
    default = commands.add_parser(
        "default",
        help="the tracker pose3d track uses when none is named (auto: the default order)",
        description="Store the tracker to try first when --tracker is not given (in the "
        "weights folder); $POSE3D_TRACKER overrides it. auto removes it: the default order "
        f"{', '.join(DEFAULT_ORDER)}. Without TRACKER, say which tracker is used and why.",
    )
    default.add_argument("tracker", nargs="?", choices=(*TRACKERS, "auto"))
    default.set_defaults(func=cmd_default)
