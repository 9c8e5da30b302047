"""Anipose's calibration.toml, read and written so Anipose and its family can use our results.

::

    [cam_0]
    name = "cam0"
    size = [640, 480]                       # width, height
    matrix = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2, k3]
    rotation = [rx, ry, rz]                 # Rodrigues, world -> camera
    translation = [tx, ty, tz]              # board units (mm when the board is in mm)

    [cam_1]                                 # a fisheye camera (OpenCV's cv2.fisheye model)
    ...
    distortions = [k1, k2, k3, k4]
    ...
    fisheye = true                          # last, as aniposelib's FisheyeCamera writes it

    [metadata]
    unit = "mm"                             # pose3d's addition; Anipose ignores it

Camera order is the numeric order of the ``cam_N`` keys (cam_2 before cam_10), whatever the
order of the tables in the file.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from pose3d.cameras import Camera, CameraGroup
from pose3d.errors import CalibrationError, Pose3dError
from pose3d.io.toml_file import read_toml, require, write_toml

_CAM_KEY = re.compile(r"^cam_(\d+)$")


def camera_from_dict(table: dict[str, Any], where: str) -> Camera:
    fisheye = table.get("fisheye", False)
    if not isinstance(fisheye, bool):
        raise CalibrationError(f"{where}: fisheye must be true or false, got {fisheye!r}")
    name = str(table.get("name", where))
    try:
        size = require(table, "size", list, where)
        if len(size) != 2:
            raise CalibrationError(f"{where}: size must be [width, height], got {size!r}")
        return Camera(
            name=name,
            size=(int(size[0]), int(size[1])),
            matrix=np.asarray(require(table, "matrix", list, where), dtype=float),
            dist=np.asarray(table.get("distortions", []), dtype=float),
            rvec=np.asarray(require(table, "rotation", list, where), dtype=float),
            tvec=np.asarray(require(table, "translation", list, where), dtype=float),
            model="fisheye" if fisheye else "pinhole",
        )
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{where}: not a number where one was expected ({exc})") from None
    except CalibrationError as exc:  # from Camera, which knows the camera but not the file
        message = str(exc)
        raise CalibrationError(
            message if message.startswith(where) else f"{where}: {message}"
        ) from None


def calibration_from_dict(data: dict[str, Any], where: str) -> CameraGroup:
    keyed = []
    for key, table in data.items():
        match = _CAM_KEY.match(key)
        if match is None:
            continue
        if not isinstance(table, dict):
            raise CalibrationError(f"{where}: [{key}] must be a table")
        keyed.append((int(match.group(1)), key, table))
    if not keyed:
        raise CalibrationError(
            f"{where} holds no [cam_N] tables; is it an Anipose calibration.toml?"
        )
    keyed.sort()
    try:
        cameras = tuple(camera_from_dict(t, f"{where} [{k}]") for _, k, t in keyed)
    except CalibrationError:
        raise
    except Pose3dError as exc:
        raise CalibrationError(str(exc)) from None
    metadata = dict(data.get("metadata", {}))
    unit = metadata.pop("unit", None)
    try:
        return CameraGroup(cameras, None if unit is None else str(unit), metadata)
    except CalibrationError as exc:
        raise CalibrationError(f"{where}: {exc}") from None


def calibration_to_dict(group: CameraGroup) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for i, cam in enumerate(group.cameras):
        table: dict[str, Any] = {
            "name": cam.name,
            "size": list(cam.size),
            "matrix": cam.matrix.tolist(),
            "distortions": cam.dist.tolist(),
            "rotation": cam.rvec.tolist(),
            "translation": cam.tvec.tolist(),
        }
        if cam.model == "fisheye":
            table["fisheye"] = True
        data[f"cam_{i}"] = table
    metadata = dict(group.metadata)
    if group.unit is not None:
        metadata["unit"] = group.unit
    data["metadata"] = metadata
    return data


def load_calibration(path: str | os.PathLike[str]) -> CameraGroup:
    """Read an Anipose calibration.toml; every problem is a CalibrationError naming the file."""
    try:
        data = read_toml(path, "calibration file")
    except CalibrationError:
        raise
    except Pose3dError as exc:
        raise CalibrationError(str(exc)) from None
    return calibration_from_dict(data, str(path))


def save_calibration(path: str | os.PathLike[str], group: CameraGroup) -> None:
    """Write ``group`` as an Anipose calibration.toml, atomically."""
    write_toml(path, calibration_to_dict(group))
