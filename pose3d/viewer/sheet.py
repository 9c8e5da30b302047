"""A contact sheet: every camera's image at one frame with its 2D labels and the 3D points
projected into it, tiled in one picture (``pose3d view --sheet``), to see at a glance whether
the reconstruction agrees with the videos.

In each tile: the labels of labels.nc as discs in the keypoint colours (filled: manual;
rings: tracked, imported or reprojected), the 3D points of poses3d.nc projected through the
calibration (lens distortion included) as white crosses with a dark outline, and a line from each
label to its projection: the reprojection error, drawn. The caption names the camera, its frame
and the median distance between labels and projections. Each tile shows the part of the image
around the subject (its labels and projections, with room around them; at least a third of the
image), so that a few pixels of error can be seen; ``whole=True`` shows whole images.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.poses import frame_numbers
from pose3d.session import ViewVideo
from pose3d.viewer.colors import keypoint_colors

Image = NDArray[np.uint8]
CAPTION_PX = 28  # the caption band above each tile


def contact_sheet(
    poses: xr.Dataset,
    index: int,
    labels: xr.Dataset | None,
    cameras: CameraGroup,
    videos: Mapping[str, ViewVideo],
    width: int = 1600,
    whole: bool = False,
) -> Image:
    """The sheet (H, W, 3) RGB of poses frame ``index`` (its session frame:
    pose3d.poses.frame_numbers) for every calibrated camera that has a video, ``width`` px
    wide."""
    from pose3d.io.video_reading import VideoReader

    views = [name for name in cameras.names if name in videos]
    if not views:
        raise Pose3dError(
            f"no camera of the calibration ({', '.join(cameras.names)}) has a video in the "
            "session: the sheet needs both"
        )
    frame = int(frame_numbers(poses)[index])
    keypoints = [str(k) for k in poses[s.KEYPOINT].values]
    colors = [tuple(round(255 * c) for c in rgb) for rgb in keypoint_colors(len(keypoints))]
    points = poses[s.POSITION].isel({s.TIME: index}).transpose(s.INDIVIDUAL, s.KEYPOINT, s.SPACE)
    tiles = []
    for name in views:
        video = videos[name]
        camera_frame = frame - video.offset
        with VideoReader(video.path) as reader:
            if 0 <= camera_frame < reader.n_frames:
                image = np.ascontiguousarray(reader.read(camera_frame))
                note = f"{name}  camera frame {camera_frame}"
            else:
                w, h = reader.size
                image = np.full((h, w, 3), 60, np.uint8)
                note = f"{name}  did not film session frame {frame}"
        projected = cameras[name].project(points.values)  # (I, K, 2)
        marked = _labels_at(labels, frame, name, keypoints, points.sizes[s.INDIVIDUAL])
        errors = _draw(image, projected, marked, colors)
        if errors.size:
            note += f"  median error {np.median(errors):.1f} px"
        if not whole:
            image = _around(
                image, np.concatenate([projected.reshape(-1, 2), marked[0].reshape(-1, 2)])
            )
        tiles.append((image, note))
    return _tile(tiles, width)


def _labels_at(
    labels: xr.Dataset | None, frame: int, view: str, keypoints: list[str], n_individuals: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The labels (I, K, 2) px and whether each is manual (I, K) of ``view`` at session
    ``frame`` (NaN where none, or where labels.nc lacks the frame, view or keypoint)."""
    xy = np.full((n_individuals, len(keypoints), 2), np.nan)
    manual = np.zeros((n_individuals, len(keypoints)), bool)
    if labels is None or view not in labels[s.VIEW].values or frame not in labels[s.TIME].values:
        return xy, manual
    here = labels.sel({s.TIME: frame, s.VIEW: view})
    known = [str(k) for k in here[s.KEYPOINT].values]
    for k, name in enumerate(keypoints):
        if name not in known:
            continue
        cell = here.sel({s.KEYPOINT: name})
        n = min(n_individuals, cell.sizes[s.INDIVIDUAL])
        xy[:n, k] = cell[s.POSITION].transpose(s.INDIVIDUAL, s.SPACE).values[:n]
        manual[:n, k] = cell[s.SOURCE].values[:n] == s.PointSource.MANUAL
    return xy, manual


def _draw(
    image: Image,
    projected: NDArray[np.float64],
    marked: tuple[NDArray[np.float64], NDArray[np.bool_]],
    colors: list[tuple[int, ...]],
) -> NDArray[np.float64]:
    """Draw labels, projections and the lines between them on ``image`` (in place); return the
    distances (px) where both exist."""
    labels, manual = marked
    size = max(3, round(max(image.shape[:2]) / 250))
    errors = []
    for i in range(projected.shape[0]):
        for k in range(projected.shape[1]):
            label, point = labels[i, k], projected[i, k]
            color = colors[k]
            has_label, has_point = np.isfinite(label).all(), np.isfinite(point).all()
            if has_label and has_point:
                errors.append(float(np.linalg.norm(label - point)))
                cv2.line(image, _px(label), _px(point), color, max(1, size // 3), cv2.LINE_AA)
            if has_label:
                fill = -1 if manual[i, k] else max(1, size // 3)
                cv2.circle(image, _px(label), size, color, fill, cv2.LINE_AA)
            if has_point:
                for ink, thick in (
                    ((30, 30, 30), size // 2 + 2),
                    ((255, 255, 255), max(1, size // 3)),
                ):
                    cv2.drawMarker(image, _px(point), ink, cv2.MARKER_CROSS, 3 * size, thick)
    return np.asarray(errors)


def _around(image: Image, points: NDArray[np.float64]) -> Image:
    """The part of ``image`` around the finite ``points``: their box grown 2.5 times, at least a
    third of the image, in the image's proportions (the whole image when none is finite)."""
    points = points[np.isfinite(points).all(axis=1)]
    h, w = image.shape[:2]
    inside = points[
        (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    ]
    if not len(inside):
        return image
    lo, hi = inside.min(axis=0), inside.max(axis=0)
    centre = (lo + hi) / 2
    half_w = max(1.25 * (hi[0] - lo[0]), 1.25 * (hi[1] - lo[1]) * w / h, w / 6)
    half_w = min(half_w, w / 2)
    half_h = half_w * h / w
    x0 = int(np.clip(round(centre[0] - half_w), 0, w - 2 * half_w))
    y0 = int(np.clip(round(centre[1] - half_h), 0, h - 2 * half_h))
    return image[y0 : y0 + round(2 * half_h), x0 : x0 + round(2 * half_w)]


def _px(xy: NDArray[np.float64]) -> tuple[int, int]:
    return round(float(xy[0])), round(float(xy[1]))


def _tile(tiles: list[tuple[Image, str]], width: int) -> Image:
    """The tiles in a grid of about square shape, ``width`` px wide, each under its caption."""
    columns = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    cell_w = max(64, width // columns)
    aspect = max(img.shape[0] / img.shape[1] for img, _ in tiles)
    cell_h = round(cell_w * aspect) + CAPTION_PX
    sheet = np.full((rows * cell_h, columns * cell_w, 3), 255, np.uint8)
    for n, (img, note) in enumerate(tiles):
        r, c = divmod(n, columns)
        scale = min(cell_w / img.shape[1], (cell_h - CAPTION_PX) / img.shape[0])
        shown = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)  # fmt: skip
        y0, x0 = r * cell_h + CAPTION_PX, c * cell_w
        sheet[y0 : y0 + shown.shape[0], x0 : x0 + shown.shape[1]] = shown
        cv2.putText(sheet, note, (x0 + 6, y0 - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 1,
                    cv2.LINE_AA)  # fmt: skip
    return sheet


def save_sheet(path: str | os.PathLike[str], sheet: Image) -> Path:
    """Write the sheet to the PNG ``path`` (atomically)."""
    from pose3d.io.video_writing import write_png

    return write_png(path, sheet, "contact sheet")
