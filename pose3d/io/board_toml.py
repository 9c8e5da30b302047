"""Board specs in TOML: pose3d's keys, and the anipose / sleap-anipose keys.

pose3d's form (``calibration/board.toml``)::

    type = "charuco"          # or "checkerboard"
    squares_x = 8             # squares, not inner corners
    squares_y = 11
    square_length = 24.0
    marker_length = 18.75     # charuco only
    dictionary = "DICT_4X4_1000"
    legacy = false            # the pre-OpenCV-4.6 pattern
    unit = "mm"

Anipose's ``config.toml [calibration]`` / sleap-anipose's ``board.toml`` form is accepted too:
``board_type``, ``board_size = [x, y]`` or ``board_x``/``board_y``, ``square_length``,
``marker_length``, ``marker_bits``, ``dict_size``. As in aniposelib, these sizes count squares
for a ChArUco board but *inner corners* for a checkerboard (aniposelib hands them to OpenCV's
chessboard finder), so a checkerboard given in Anipose's keys gets one square more each way.
"""

from __future__ import annotations

import os
from typing import Any

from pose3d.board import ARUCO_DICTIONARIES, Board, BoardError, CharucoBoard, Checkerboard
from pose3d.errors import Pose3dError
from pose3d.io.toml_file import read_toml, require, short, write_toml

MAX_SQUARES = 1000  # squares along one side of a board


def board_from_dict(table: dict[str, Any], where: str = "board spec") -> Board:
    """Build a board from a TOML table in pose3d's or anipose's keys."""
    if not isinstance(table, dict):
        raise BoardError(f"{where}: a board spec is a table of keys, got {short(table)}")
    try:
        return _board_from_dict(table, where)
    except BoardError as exc:
        raise BoardError(f"{where}: {exc}") from None


def _board_from_dict(table: dict[str, Any], where: str) -> Board:
    kind = str(table.get("type", table.get("board_type", ""))).lower()
    if "board_size" in table:
        size = table["board_size"]
        if not isinstance(size, list) or len(size) != 2:
            raise Pose3dError(f"{where}: board_size must be [squares_x, squares_y], got {size!r}")
        squares_x, squares_y = size
    else:
        squares_x = table.get("squares_x", table.get("board_x"))
        squares_y = table.get("squares_y", table.get("board_y"))
    for key, value in (("squares_x", squares_x), ("squares_y", squares_y)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise Pose3dError(f"{where}: {key} must be a whole number of squares, got {value!r}")
        if value > MAX_SQUARES:  # the corners of a board are held in memory, x times y
            raise Pose3dError(
                f"{where}: {key} = {short(value)} squares is beyond any printed board "
                f"(at most {MAX_SQUARES}); count squares along one side"
            )
    square = _length(table, "square_length", where)
    unit = table.get("unit", "mm")
    if not isinstance(unit, str):
        raise Pose3dError(f'{where}: unit must be a unit in quotes, e.g. "mm"; got {short(unit)}')
    if not kind:
        kind = "charuco" if "marker_length" in table else "checkerboard"
    if kind in ("checkerboard", "chessboard"):
        if "squares_x" not in table and "squares_y" not in table:  # Anipose's inner corners
            squares_x, squares_y = squares_x + 1, squares_y + 1
        return Checkerboard(squares_x, squares_y, square, unit=unit)
    if kind not in ("charuco", "aruco_charuco"):
        raise Pose3dError(f"{where}: type must be 'charuco' or 'checkerboard', got {kind!r}")
    marker = _length(table, "marker_length", where)
    dictionary = table.get("dictionary")
    if dictionary is None:
        bits = table.get("marker_bits", 4)
        size = table.get("dict_size", 50)
        for key, value in (("marker_bits", bits), ("dict_size", size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise Pose3dError(f"{where}: {key} must be a whole number, got {value!r}")
        dictionary = f"DICT_{bits}X{bits}_{size}"
        if dictionary not in ARUCO_DICTIONARIES:
            raise Pose3dError(
                f"{where}: marker_bits = {bits} with dict_size = {size} is not an OpenCV "
                f"dictionary; expected bits 4-7 and size 50, 100, 250 or 1000"
            )
    legacy = table.get("legacy", False)
    if not isinstance(legacy, bool):
        raise Pose3dError(f"{where}: legacy must be true or false, got {legacy!r}")
    return CharucoBoard(squares_x, squares_y, square, marker, str(dictionary), legacy, unit)


def _length(table: dict[str, Any], key: str, where: str) -> float:
    value = require(table, key, (int, float), where)
    try:
        return float(value)
    except OverflowError:  # an int beyond a float's range: TOML allows it, floats do not
        raise Pose3dError(f"{where}: {key} {short(value)} is too large") from None


def board_to_dict(board: Board) -> dict[str, Any]:
    """pose3d's TOML table of ``board``."""
    if isinstance(board, Checkerboard):
        return {
            "type": "checkerboard",
            "squares_x": board.squares_x,
            "squares_y": board.squares_y,
            "square_length": board.square_length,
            "unit": board.unit,
        }
    return {
        "type": "charuco",
        "squares_x": board.squares_x,
        "squares_y": board.squares_y,
        "square_length": board.square_length,
        "marker_length": board.marker_length,
        "dictionary": board.dictionary,
        "legacy": board.legacy,
        "unit": board.unit,
    }


def load_board(path: str | os.PathLike[str]) -> Board:
    return board_from_dict(read_toml(path, "board spec"), where=f"board spec {path}")


def save_board(path: str | os.PathLike[str], board: Board) -> None:
    write_toml(path, board_to_dict(board), header="pose3d board spec (sizes in squares)")
