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
order of the tables in the file. Files from Pose2Sim, which names the tables after the cameras
(``[int_cam01_img]``) and writes sizes as floats (``[1088.0, 1920.0]``), read as aniposelib
reads them: every table but ``[metadata]`` that holds a camera's keys is a camera, in the
file's order. pose3d matches cameras by ``name`` everywhere, so the order never matters.

Values must have their kind exactly: ``true`` inside a number array, a string where a number
goes, ``size = [640.5, 480]`` or ``metadata = "mm"`` are refused with the file, the table and
the key named.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from pose3d.cameras import INTRINSICS_ONLY, Camera, CameraGroup
from pose3d.errors import CalibrationError, Pose3dError
from pose3d.io.toml_file import (
    is_number,
    number_array,
    read_toml,
    require,
    short,
    whole_number,
    write_toml,
)

_CAM_KEY = re.compile(r"^cam_(\d+)$")
METADATA = "metadata"
# a table holding any of these is a camera, whatever its name (Pose2Sim's [int_cam01_img])
CAMERA_KEYS = frozenset({"size", "matrix", "distortions", "rotation", "translation"})
MAX_IMAGE_SIDE = 1_000_000  # px: a size beyond this is a damaged file, not a camera


def camera_from_dict(table: dict[str, Any], where: str, default_name: str | None = None) -> Camera:
    """A camera from its calibration.toml table (or aniposelib's ``Camera.get_dict()``);
    ``default_name`` names a table that has no ``name`` (the table's key)."""
    fisheye = table.get("fisheye", False)
    if not isinstance(fisheye, bool | np.bool_):
        raise CalibrationError(f"{where}: fisheye must be true or false, got {short(fisheye)}")
    try:
        name = table.get("name")
        if name is None and default_name is not None:
            name = default_name
        if not isinstance(name, str):
            raise CalibrationError(
                f"{where}: name must be the camera's name in quotes, got {short(name)}"
            )
        size = require(table, "size", list, where)
        if len(size) != 2:
            raise CalibrationError(f"{where}: size must be [width, height], got {short(size)}")
        if not all(is_number(v) for v in size):
            raise CalibrationError(
                f"{where}: not a number where one was expected in size = {short(size)}; size is "
                "[width, height] in pixels"
            )
        width, height = (
            whole_number(v, f"size {k}", where, 1, MAX_IMAGE_SIDE)
            for k, v in zip(("width", "height"), size, strict=True)
        )
        return Camera(
            name=name,
            size=(width, height),
            matrix=number_array(require(table, "matrix", list, where), "matrix", where),
            dist=number_array(table.get("distortions", []), "distortions", where),
            rvec=number_array(require(table, "rotation", list, where), "rotation", where),
            tvec=number_array(require(table, "translation", list, where), "translation", where),
            model="fisheye" if fisheye else "pinhole",
        )
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{where}: not a number where one was expected ({exc})") from None
    except Pose3dError as exc:  # from Camera, which knows the camera but not the file
        message = str(exc)
        raise CalibrationError(
            message if message.startswith(where) else f"{where}: {message}"
        ) from None


def camera_tables(data: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    """The camera tables of a calibration file, in camera order, as (key, table).

    As aniposelib reads the file, every top-level table but ``[metadata]`` may be a camera:
    ``[cam_N]`` always is, and so is any other table that holds a camera's keys (Pose2Sim names
    its tables after the cameras, ``[int_cam01_img]``). When every key is ``cam_N`` the order is
    N's numeric order (cam_2 before cam_10, wherever they stand in the file); otherwise it is
    the file's order. Cameras are matched by ``name`` everywhere, never by this order.
    """
    tables = []
    for key, table in data.items():
        if key == METADATA:
            continue
        numbered = _CAM_KEY.match(key) is not None
        if numbered and not isinstance(table, dict):
            raise CalibrationError(f"{where}: [{key}] must be a table, got {short(table)}")
        if isinstance(table, dict) and (numbered or CAMERA_KEYS & table.keys()):
            tables.append((key, table))
    if not tables:
        raise CalibrationError(
            f"{where} holds no camera tables ([cam_N], or any table with name, size, matrix, "
            "distortions, rotation, translation); is it an Anipose calibration.toml?"
        )
    if all(_CAM_KEY.match(key) for key, _ in tables):
        tables.sort(key=lambda item: (int(item[0][4:]), item[0]))
    return tables


def calibration_from_dict(data: dict[str, Any], where: str) -> CameraGroup:
    cameras = tuple(
        camera_from_dict(table, f"{where} [{key}]", default_name=key)
        for key, table in camera_tables(data, where)
    )
    metadata = data.get(METADATA, {})
    if not isinstance(metadata, dict):
        raise CalibrationError(
            f'{where}: [metadata] must be a table, e.g. [metadata] unit = "mm"; got '
            f"metadata = {short(metadata)}"
        )
    metadata = dict(metadata)
    unit = metadata.pop("unit", None)
    if unit is not None and not (isinstance(unit, str) and unit.isprintable() and unit.strip()):
        raise CalibrationError(
            f'{where}: [metadata] unit must be a unit in quotes, e.g. "mm"; got {short(unit)}'
        )
    try:
        return CameraGroup(cameras, unit, metadata)
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
    """Read an Anipose calibration.toml; every problem is a CalibrationError naming the file.
    A file of intrinsics only (``pose3d calibrate --intrinsics-only``) is refused: its cameras
    have no positions to triangulate with."""
    group = load_intrinsics(path)
    if group.metadata.get(INTRINSICS_ONLY) is True:
        raise CalibrationError(
            f"{path} holds each camera's intrinsics only (pose3d calibrate --intrinsics-only), "
            "not where the cameras are; calibrate the rig with them: pose3d calibrate SESSION "
            "(it uses calibration/intrinsics.toml), or --intrinsics FILE with standalone media"
        )
    return group


def load_intrinsics(path: str | os.PathLike[str]) -> CameraGroup:
    """Read a calibration.toml for its cameras' intrinsics (a rig's or one written by
    ``pose3d calibrate --intrinsics-only``); every problem is a CalibrationError naming the
    file."""
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
