"""``pose3d compare-truth SESSION``: a sample session's calibration, tracks and 3D poses against
its ground truth, as tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

    from pose3d.pipeline.compare_truth import TruthComparison
    from pose3d.synthetic.compare import ErrorSummary


def truth_tables(comparison: TruthComparison) -> list[Table]:
    """One table per stage present: calibration, 2D tracking, 3D poses."""
    from rich.table import Table

    from pose3d.pipeline.compare_truth import RADIUS_3D
    from pose3d.synthetic.compare import PCK_PX

    tables = []
    unit = comparison.unit
    if comparison.cameras:
        table = Table(
            title=f"calibration vs truth (both rigs seen from {comparison.reference})",
            title_justify="left",
        )
        for column in ("camera", "rotation °", f"centre {unit}", "focal %"):
            table.add_column(column, justify="left" if column == "camera" else "right")
        for error in comparison.cameras:
            table.add_row(
                error.name,
                f"{error.rotation_deg:.3f}",
                f"{error.center:.2f}",
                f"{error.focal_pct:.2f}",
            )
        tables.append(table)
    if comparison.tracking:
        tables.append(
            _errors_table(
                "2D tracking vs truth (tracked points the camera sees)",
                "view",
                "px",
                f"≤ {PCK_PX:g} px",
                comparison.tracking,
            )
        )
    if comparison.poses is not None:
        within = f"≤ {RADIUS_3D:g} {unit}".rstrip()
        tables.append(_errors_table("3D poses vs truth", "", unit, within, [comparison.poses]))
    return tables


def _errors_table(
    title: str, first: str, unit: str, within: str, rows: list[ErrorSummary]
) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in (first, "points", f"median {unit}".rstrip(), f"90th % {unit}".rstrip(), within):
        table.add_column(column, justify="left" if column == first else "right")
    for row in rows:
        table.add_row(
            row.name,
            str(row.points),
            f"{row.median:.2f}",
            f"{row.p90:.2f}",
            f"{100 * row.within:.1f} %",
        )
    return table


def cmd_compare_truth(args: argparse.Namespace) -> int:
    from rich.console import Console

    from pose3d.pipeline.compare_truth import compare_truth
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.synthetic.compare import truth_folder

    truth_folder(args.session)  # a folder sample-data did not write says so first
    console = Console()
    for table in truth_tables(compare_truth(SessionFolder(args.session, write=False))):
        console.print(table)
    root = args.session
    print("next:")
    print(f"  pose3d tui {root}                          label and review in the terminal")
    print(f"  pose3d view {root}/poses3d.nc --calibration {root}/calibration/calibration.toml")
    print(f"  pose3d track {root} --view all --frames 0:30   re-track after a correction")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser(
        "compare-truth",
        help="a sample session's calibration, tracks and 3D poses against its ground truth",
    )
    c.add_argument("session", type=Path, help="a folder written by pose3d sample-data")
    c.set_defaults(func=cmd_compare_truth)
