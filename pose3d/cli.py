"""The ``pose3d`` command: parse, call ONE library function, print a summary.

Each command family lives in ``pose3d/commands/`` and registers its parsers. Heavy libraries
(torch, pyvista, textual, even xarray) are imported inside the commands, so ``pose3d --help``
starts fast. A Pose3dError is printed as one message with exit code 2; so is an OSError that no
command expected (a full disk, a read-only file system, an I/O error: the file it names, what
its errno means and what to do). A traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pose3d import __version__
from pose3d.commands import all_registers
from pose3d.errors import Pose3dError, os_error_message

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pose3d",
        description="From multi-camera videos to validated 3D skeletons.",
    )
    parser.add_argument("--version", action="version", version=f"pose3d {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in all_registers():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except Pose3dError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # ENOSPC, EROFS, EACCES, EDQUOT, EIO ... met outside pose3d's checks
        if args.debug:
            raise
        print(f"error: {os_error_message(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
