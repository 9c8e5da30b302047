"""``pose3d compare-truth`` as rich tables: every stage a sample session holds, against its
ground truth (pose3d.synthetic.compare)."""

from __future__ import annotations

import os
from pathlib import Path

from rich.table import Table

from pose3d.io.calibration_toml import load_calibration
from pose3d.io.netcdf import load_labels, load_poses
from pose3d.synthetic.compare import (
    PCK_PX,
    ErrorSummary,
    camera_errors,
    pose_errors,
    tracking_errors,
    truth_folder,
)

RADIUS_3D = 5.0  # world units (mm in the sample sessions)


def truth_report(root: str | os.PathLike[str]) -> list[Table]:
    """One table per stage present: calibration, 2D tracking, 3D poses."""
    folder = Path(root)
    truth = truth_folder(folder)
    truth_cameras = load_calibration(truth / "calibration.toml")
    tables = []
    calibration = folder / "calibration" / "calibration.toml"
    cameras = load_calibration(calibration) if calibration.is_file() else None
    if cameras is not None:
        unit = cameras.unit or ""
        table = Table(
            title=f"calibration vs truth (both rigs seen from {cameras.names[0]})",
            title_justify="left",
        )
        for column in ("camera", "rotation °", f"centre {unit}", "focal %"):
            table.add_column(column, justify="left" if column == "camera" else "right")
        for error in camera_errors(cameras, truth_cameras):
            table.add_row(
                error.name,
                f"{error.rotation_deg:.3f}",
                f"{error.center:.2f}",
                f"{error.focal_pct:.2f}",
            )
        tables.append(table)
    labels = folder / "labels.nc"
    if labels.is_file():
        rows = tracking_errors(load_labels(labels), load_labels(truth / "labels.nc"))
        if rows:
            tables.append(
                _errors_table(
                    "2D tracking vs truth (tracked points the camera sees)",
                    "view",
                    "px",
                    f"≤ {PCK_PX:g} px",
                    rows,
                )
            )
    poses = folder / "poses3d.nc"
    if poses.is_file() and cameras is not None:
        summary = pose_errors(
            load_poses(poses), load_poses(truth / "poses3d.nc"), cameras, truth_cameras, RADIUS_3D
        )
        unit = cameras.unit or ""
        tables.append(
            _errors_table(
                "3D poses vs truth", "", unit, f"≤ {RADIUS_3D:g} {unit}".rstrip(), [summary]
            )
        )
    return tables


def _errors_table(
    title: str, first: str, unit: str, within: str, rows: list[ErrorSummary]
) -> Table:
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
