"""``pose3d board list | show NAME | render BOARD --out board.pdf``: calibration boards to print."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_board_list(args: argparse.Namespace) -> int:
    from pose3d.calibration.ready_boards import ready_specs

    specs = ready_specs()
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        paper = f"; {spec.paper}" if spec.paper else ""
        print(f"{spec.name:<{width}}  {spec.description}{paper}")
    print("print one: pose3d board render NAME --out board.pdf")
    print(
        "use one in a session: pose3d board show NAME > SESSION/calibration/board.toml, then "
        "put the measured square length in it"
    )
    return 0


def cmd_board_show(args: argparse.Namespace) -> int:
    from pose3d.calibration.ready_boards import ready_spec

    print(ready_spec(args.name).text, end="")
    return 0


def cmd_board_render(args: argparse.Namespace) -> int:
    from pose3d.calibration.board_print import render_board
    from pose3d.calibration.ready_boards import load_board_spec

    board = load_board_spec(args.spec)
    printed = render_board(board, args.out, dpi=args.dpi, margin_mm=args.margin)
    for line in printed.summary():
        print(line)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("board", help="calibration boards: the ready specs, render one to print")
    actions = p.add_subparsers(dest="board_command", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help="the ready board specs shipped with pose3d",
        description="List the ready board specs shipped with pose3d: name, board, paper.",
    )
    listing.set_defaults(func=cmd_board_list)
    show = actions.add_parser(
        "show",
        help="print a ready board spec (TOML)",
        description=(
            "Print the ready board spec NAME (pose3d board list), e.g. to save it as "
            "SESSION/calibration/board.toml."
        ),
    )
    show.add_argument("name", metavar="NAME", help="a ready spec's name (pose3d board list)")
    show.set_defaults(func=cmd_board_show)
    render = actions.add_parser(
        "render",
        help="write a board spec as a true-scale PNG or PDF",
        description=(
            "Write BOARD (a BOARD.toml file, or the name of a ready spec: pose3d board list) as "
            "a PNG that carries its resolution or a one-page PDF of the board's size plus "
            "margins. Print at 100 %, then measure a printed square and put that length in the "
            "spec."
        ),
    )
    render.add_argument(
        "spec", metavar="BOARD", help="board spec: BOARD.toml, or a ready spec's name"
    )
    render.add_argument("--out", type=Path, required=True, help="board.png or board.pdf")
    render.add_argument("--dpi", type=float, default=300.0, help="resolution (default 300)")
    render.add_argument(
        "--margin", type=float, default=10.0, help="white margin around the board, mm (default 10)"
    )
    render.set_defaults(func=cmd_board_render)
