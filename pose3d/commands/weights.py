"""``pose3d weights download | import | list``: CoTracker3 weights (CC BY-NC, never bundled)."""

from __future__ import annotations

import argparse
from pathlib import Path

LICENCE_HELP = (
    "CoTracker3 weights (Meta, facebook/cotracker3) are licensed CC BY-NC 4.0: non-commercial "
    "use only. pose3d never bundles them: download or import them yourself, and the licence "
    "binds you. Without weights pose3d tracks with its classical tracker."
)


def cmd_download(args: argparse.Namespace) -> int:
    from pose3d.progress import progress_bar
    from pose3d.tracking.weights import LICENCE, download

    with progress_bar() as progress:

        def bytes_done(done: int, total: int) -> None:
            progress(f"download {args.variant}", done, total)

        path = download(args.variant, url=args.url, timeout=args.timeout, progress=bytes_done)
    print(f"installed {path} (SHA-256 verified)")
    print(LICENCE)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pose3d.tracking.weights import LICENCE, import_weights

    weights = import_weights(args.file, force=args.force)
    if weights.release is not None:
        print(f"installed {weights.path} ({weights.release.name}, SHA-256 verified)")
    else:
        print(
            f"installed {weights.path}: SHA-256 {weights.sha256} matches no release (--force); "
            "it loads strictly into the network"
        )
    print(LICENCE)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from pose3d.tracking.weights import installed, weights_dir

    folder = weights_dir()
    found = installed(folder)
    if not found:
        print(f"no CoTracker3 weights in {folder}; pose3d tracks with the classical tracker")
        print("get them with `pose3d weights download` or `pose3d weights import FILE`")
        return 0
    print(f"CoTracker3 weights in {folder}:")
    for weights in found:
        status = (
            f"verified ({weights.release.name}, {weights.release.variant})"
            if weights.release is not None
            else "NOT verified (matches no release)"
        )
        print(f"  {weights.path.name:<24} {weights.size / 1e6:8.1f} MB  {status}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "weights",
        help="install / list CoTracker3 weights (CC BY-NC, not bundled)",
        description=f"Install and list CoTracker3 weights. {LICENCE_HELP}",
    )
    commands = p.add_subparsers(dest="weights_command", metavar="ACTION", required=True)
    d = commands.add_parser(
        "download",
        help="download the released weights (needs internet)",
        description=f"Download, verify (SHA-256) and install a released checkpoint. {LICENCE_HELP}",
    )
    d.add_argument("variant", nargs="?", choices=("offline", "online"), default="offline")
    d.add_argument("--url", help="download from this mirror instead (same file, same SHA-256)")
    d.add_argument("--timeout", type=float, default=30.0, metavar="S", help="network timeout")
    d.set_defaults(func=cmd_download)
    i = commands.add_parser(
        "import",
        help="install a weights file you already have",
        description=f"Check a file's SHA-256 against the releases and install it. {LICENCE_HELP}",
    )
    i.add_argument("file", type=Path)
    i.add_argument(
        "--force", action="store_true", help="install a file of unknown hash if it loads strictly"
    )
    i.set_defaults(func=cmd_import)
    lst = commands.add_parser("list", help="installed weights, sizes, verified or not")
    lst.set_defaults(func=cmd_list)
