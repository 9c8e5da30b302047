"""movement (neuroinformatics-unit): the session's netCDF files, which are already movement's
poses layout (docs/formats.md), validated and written to another folder (export only).

``pose3d export SESSION --format movement OUT`` writes ``OUT/labels.nc`` (2D, with the ``view``
dim: movement's 2D functions want one view, ``ds.sel(view="cam0")``) and ``OUT/poses3d.nc``
(3D), whichever of the two the session has. Both open with ``xarray.open_dataset`` in movement.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pose3d.errors import Pose3dError
from pose3d.io.label_formats import LabelFormat, refuse_existing
from pose3d.session import LABELS_FILE, POSES3D_FILE, Session


def export_movement(session: Session, out: Path, options: Mapping[str, str]) -> list[Path]:
    """Write the session's labels.nc and poses3d.nc (those that exist) into ``out``."""
    from pose3d.io.netcdf import load_labels, load_poses, save_labels, save_poses

    copies = [
        (session.labels_path, out / LABELS_FILE, load_labels, save_labels),
        (session.poses_path, out / POSES3D_FILE, load_poses, save_poses),
    ]
    copies = [c for c in copies if c[0].exists()]
    if not copies:
        raise Pose3dError(
            f"the session {session.root} has neither {LABELS_FILE} nor {POSES3D_FILE}; label "
            "frames (or import labels) and triangulate first"
        )
    refuse_existing(target for _, target, _, _ in copies)
    out.mkdir(parents=True, exist_ok=True)
    for source, target, load, save in copies:
        save(target, load(source))
    return [target for _, target, _, _ in copies]


FORMATS = (
    LabelFormat(
        name="movement",
        description="movement netCDF: the session's labels.nc and poses3d.nc (export only)",
        export=export_movement,
    ),
)
