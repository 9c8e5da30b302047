"""``pose3d board render BOARD.toml --out board.pdf``: a calibration board to print."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_board_render(args: argparse.Namespace) -> int:
    from pose3d.calibration.board_print import render_board
    from pose3d.io.board_toml import load_board

    printed = render_board(load_board(args.spec), args.out, dpi=args.dpi, margin_mm=args.margin)
    for line in printed.summary():
        print(line)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("board", help="calibration boards: render a spec to print")
    actions = p.add_subparsers(dest="board_command", metavar="ACTION", required=True)
    render = actions.add_parser(
        "render",
        help="write a board spec as a true-scale PNG or PDF",
        description=(
            "Write BOARD.toml (see calibration/boards/ for ready specs) as a PNG that carries its "
            "resolution or a one-page PDF of the board's size plus margins. Print at 100 %, "
            "then measure a printed square and put that length in the spec."
        ),
    )
    render.add_argument("spec", type=Path, metavar="BOARD.toml", help="board spec")
    render.add_argument("--out", type=Path, required=True, help="board.png or board.pdf")
    render.add_argument("--dpi", type=float, default=300.0, help="resolution (default 300)")
    render.add_argument(
        "--margin", type=float, default=10.0, help="white margin around the board, mm (default 10)"
    )
    render.set_defaults(func=cmd_board_render)
