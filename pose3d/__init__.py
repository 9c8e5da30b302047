"""pose3d: from multi-camera videos to validated 3D skeletons.

The names people script with, imported on first use (so ``import pose3d`` and ``pose3d --help``
stay fast); docs/scripting.md has a runnable example::

    import pose3d

    with pose3d.SessionFolder("my_session") as folder:        # session.toml, the lock
        pose3d.calibrate_session(folder)                        # -> calibration/calibration.toml
        pose3d.propagate(folder, "all", None, pose3d.make_tracker().tracker)
        poses = pose3d.triangulate_session(folder)              # -> poses3d.nc
    labels = pose3d.load_labels("my_session/labels.nc")         # an xarray Dataset
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY = {
    # the session folder and its verbs (pose3d.pipeline)
    "SessionFolder": "pose3d.pipeline.folder",
    "init_session": "pose3d.pipeline.session",
    "session_info": "pose3d.pipeline.session",
    "calibrate_session": "pose3d.pipeline.calibrate",
    "calibrate_media": "pose3d.pipeline.calibrate",
    "propagate": "pose3d.pipeline.track",
    "triangulate_session": "pose3d.pipeline.triangulate",
    "triangulate_files": "pose3d.pipeline.triangulate",
    "sync_session": "pose3d.pipeline.triangulate",
    "import_labels": "pose3d.pipeline.labels_io",
    "export_session": "pose3d.pipeline.labels_io",
    # files
    "load_session": "pose3d.io.session_toml",
    "load_labels": "pose3d.io.netcdf",
    "save_labels": "pose3d.io.netcdf",
    "load_poses": "pose3d.io.netcdf",
    "save_poses": "pose3d.io.netcdf",
    "load_calibration": "pose3d.io.calibration_toml",
    "save_calibration": "pose3d.io.calibration_toml",
    # data and the algorithms on it
    "Camera": "pose3d.cameras",
    "CameraGroup": "pose3d.cameras",
    "new_labels": "pose3d.labels",
    "set_point": "pose3d.labels",
    "set_hidden": "pose3d.labels",
    "merge_points": "pose3d.labels",
    "propagate_labels": "pose3d.tracking.propagate",
    "make_tracker": "pose3d.tracking.registry",
    "triangulate": "pose3d.triangulation.api",
    "triangulate_labels": "pose3d.triangulation.api",
    "TriangulationSettings": "pose3d.triangulation.api",
}

__all__ = [  # a literal list, so that linters and IDEs see it; equal to _LAZY (tested)
    "Camera",
    "CameraGroup",
    "SessionFolder",
    "TriangulationSettings",
    "__version__",
    "calibrate_media",
    "calibrate_session",
    "export_session",
    "import_labels",
    "init_session",
    "load_calibration",
    "load_labels",
    "load_poses",
    "load_session",
    "make_tracker",
    "merge_points",
    "new_labels",
    "propagate",
    "propagate_labels",
    "save_calibration",
    "save_labels",
    "save_poses",
    "session_info",
    "set_hidden",
    "set_point",
    "sync_session",
    "triangulate",
    "triangulate_files",
    "triangulate_labels",
    "triangulate_session",
]

if TYPE_CHECKING:
    from pose3d.cameras import Camera, CameraGroup
    from pose3d.io.calibration_toml import load_calibration, save_calibration
    from pose3d.io.netcdf import load_labels, load_poses, save_labels, save_poses
    from pose3d.io.session_toml import load_session
    from pose3d.labels import merge_points, new_labels, set_hidden, set_point
    from pose3d.pipeline.calibrate import calibrate_media, calibrate_session
    from pose3d.pipeline.folder import SessionFolder
    from pose3d.pipeline.labels_io import export_session, import_labels
    from pose3d.pipeline.session import init_session, session_info
    from pose3d.pipeline.track import propagate
    from pose3d.pipeline.triangulate import sync_session, triangulate_files, triangulate_session
    from pose3d.tracking.propagate import propagate_labels
    from pose3d.tracking.registry import make_tracker
    from pose3d.triangulation.api import TriangulationSettings, triangulate, triangulate_labels


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pose3d' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
