"""The subcommands of ``pose3d``: one module per command family, each with ``register(sub)``.

A module adds its parsers to the subparsers action and sets ``func`` on each; the function
parses nothing more, calls ONE library function and prints a summary. Heavy imports stay inside
the functions so that ``pose3d --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def all_registers() -> list[Register]:
    """Every command family, in the order ``pose3d --help`` lists them."""
    from pose3d.commands import (
        batch,
        board,
        calibrate,
        compare_truth,
        labels_io,
        review,
        sample_data,
        session,
        track,
        triangulation,
        tui,
        view,
        weights,
    )

    return [
        session.register,
        board.register,
        calibrate.register,
        labels_io.register,
        track.register,
        review.register,
        triangulation.register,
        view.register,
        batch.register,
        tui.register,
        weights.register,
        sample_data.register,
        compare_truth.register,
    ]
