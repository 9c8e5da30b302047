"""pose3d's CameraGroup to and from aniposelib's, in memory (the optional ``anipose`` extra).

The fields map through :mod:`pose3d.io.calibration_toml`'s tables, which are also aniposelib's
``Camera.get_dict`` / ``CameraGroup.from_dicts`` form, so converting is the same as writing
calibration.toml and loading it with ``aniposelib.cameras.CameraGroup.load`` (or the other way
round), without the file::

    pose3d Camera                    aniposelib Camera / FisheyeCamera
    name                             name
    size (width, height)             size [width, height]
    matrix [3, 3]                    matrix
    dist: pinhole [5] k1 k2 p1 p2 k3 dist (Camera)
          fisheye [4] k1 k2 k3 k4    dist (FisheyeCamera: model == "fisheye")
    rvec [3] (Rodrigues, world->cam) rvec
    tvec [3] (the group's unit)      tvec
    CameraGroup.unit, .metadata      CameraGroup.metadata (unit under "unit", as in the file)

Both libraries put the centre of the top-left pixel at (0, 0) (OpenCV's convention), so pixels
need no shift. Every array is copied: the converted group shares nothing with the original.
aniposelib is imported when a function is called, never when pose3d is.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from pose3d.cameras import CameraGroup
from pose3d.errors import CalibrationError, Pose3dError
from pose3d.io.calibration_toml import calibration_to_dict, camera_from_dict

INSTALL_HINT = 'pip install "pose3d-suite[anipose]"'


def _aniposelib_cameras() -> ModuleType:
    """``aniposelib.cameras``, or a Pose3dError saying how to install it."""
    try:
        from aniposelib import cameras
    except ImportError as exc:
        raise Pose3dError(
            f"converting cameras to or from aniposelib needs aniposelib, which is not installed "
            f"({exc}); install it with `{INSTALL_HINT}` (or `pip install aniposelib`)"
        ) from None
    return cameras


def to_aniposelib(group: CameraGroup) -> Any:
    """``group`` as an ``aniposelib.cameras.CameraGroup``: a ``FisheyeCamera`` for each fisheye
    camera, a ``Camera`` for each pinhole one, in the same order; ``metadata`` is the group's
    metadata plus ``unit`` (when known), as pose3d writes it to calibration.toml."""
    anipose = _aniposelib_cameras()
    data = calibration_to_dict(group)  # the tables of calibration.toml, built from copies
    metadata = data.pop("metadata")
    theirs = anipose.CameraGroup.from_dicts([data[f"cam_{i}"] for i in range(len(group))])
    theirs.metadata = metadata  # a new dict: aniposelib's default one is shared by all groups
    return theirs


def from_aniposelib(anipose_group: Any, unit: str | None = None) -> CameraGroup:
    """An ``aniposelib.cameras.CameraGroup`` as pose3d's :class:`~pose3d.cameras.CameraGroup`.

    ``unit`` is the unit of the translations (e.g. "mm": the unit the board was given in when
    aniposelib calibrated). Without it, the group's ``metadata["unit"]`` is used (pose3d puts it
    there), else the unit is unknown (None). The rest of ``metadata`` is kept.
    """
    anipose = _aniposelib_cameras()
    if not isinstance(anipose_group, anipose.CameraGroup):
        raise CalibrationError(
            "from_aniposelib expects an aniposelib.cameras.CameraGroup, got "
            f"{type(anipose_group).__name__}"
        )
    cameras = []
    for i, cam in enumerate(anipose_group.cameras):
        where = f"aniposelib camera {i}"
        if not isinstance(cam, anipose.Camera):
            raise CalibrationError(
                f"{where}: expected an aniposelib Camera or FisheyeCamera, got {type(cam).__name__}"
            )
        if cam.get_size() is None:
            raise CalibrationError(
                f"{where} ({cam.get_name()!r}) has no image size; set it with "
                "cam.set_size((width, height)) or the group's set_camera_sizes_videos(videos)"
            )
        # get_dict is the camera's calibration.toml table (fisheye = true for a FisheyeCamera)
        cameras.append(camera_from_dict(cam.get_dict(), where))
    metadata = dict(anipose_group.metadata or {})
    their_unit = metadata.pop("unit", None)
    if unit is not None and their_unit is not None and str(their_unit) != unit:
        raise CalibrationError(
            f"unit={unit!r} was given but the aniposelib group's metadata says its translations "
            f"are in {their_unit!r}; leave unit out, or convert the translations first"
        )
    if unit is None and their_unit is not None:
        unit = str(their_unit)
    return CameraGroup(tuple(cameras), unit, metadata)
