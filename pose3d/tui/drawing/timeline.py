"""Per-frame status of the labels for the timelines: what labels a frame holds (empty, hidden,
tracked, imported, manual) and, apart, whether one of its points is flagged for review; of every
keypoint of the views (Views) or of one keypoint in one view (Label).

A status is a FrameStatus, plus ``FLAGGED`` (a bit) where a point is flagged: the timeline draws
the flag under the kind instead of over it, so that a propagation that flags a point on most
frames still shows what those frames hold."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s


class FrameStatus(IntEnum):
    """What a frame holds, in increasing order of what the timeline shows first."""

    EMPTY = 0  # no label
    HIDDEN = 1  # only hidden marks (the keypoints are not visible there)
    TRACKED = 2  # points from a tool (tracked, reprojected), no imported or manual label
    IMPORTED = 3  # points from a file (DeepLabCut, SLEAP, ...), no manual label
    MANUAL = 4  # at least one manual label (a point or a hidden mark)


FLAGGED = 8  # added to a frame's status where one of its points is flagged for review
KIND = 7  # status & KIND: the FrameStatus


def frame_status(labels: xr.Dataset, views: Sequence[str] | None = None) -> NDArray[np.int8]:
    """FrameStatus per labels frame [time] over ``views`` (default: all), as int8."""
    part = labels if views is None else labels.sel({s.VIEW: list(views)})
    return _status(part, tuple(range(1, part[s.SOURCE].ndim)))


def keypoint_status(
    labels: xr.Dataset, view: str, keypoint: str, individual: str
) -> NDArray[np.int8]:
    """FrameStatus per labels frame [time] of one keypoint of one individual in one view."""
    part = labels.sel({s.VIEW: [view], s.KEYPOINT: [keypoint], s.INDIVIDUAL: [individual]})
    return _status(part, (1, 2, 3))


def _status(part: xr.Dataset, axes: tuple[int, ...]) -> NDArray[np.int8]:
    source = part[s.SOURCE].values  # (T, V, K, I)
    labelled = source != s.PointSource.NONE
    hidden = part[s.HIDDEN].values if s.HIDDEN in part.data_vars else np.zeros_like(labelled)
    status = np.zeros(source.shape[0], np.int8)
    status[labelled.any(axis=axes)] = FrameStatus.HIDDEN
    status[(labelled & ~hidden).any(axis=axes)] = FrameStatus.TRACKED
    status[(source == s.PointSource.IMPORTED).any(axis=axes)] = FrameStatus.IMPORTED
    status[(source == s.PointSource.MANUAL).any(axis=axes)] = FrameStatus.MANUAL
    status[part[s.REVIEW].values.any(axis=axes)] |= FLAGGED
    return status


def binned(status: NDArray[np.int8], width: int) -> NDArray[np.int8]:
    """``status`` [T] shrunk (or stretched) to ``width`` bins; a bin shows the highest kind of
    its frames, flagged when one of them is."""
    n = len(status)
    if width < 1 or n == 0:
        return np.zeros(max(width, 0), np.int8)
    edges = np.linspace(0, n, width + 1)
    starts = np.minimum(np.floor(edges[:-1]).astype(int), n - 1)
    stops = np.maximum(np.ceil(edges[1:]).astype(int), starts + 1)
    kind, flagged = status & KIND, (status & FLAGGED) > 0
    return np.array(
        [
            kind[a:b].max() | (FLAGGED if flagged[a:b].any() else 0)
            for a, b in zip(starts, stops, strict=True)
        ],
        np.int8,
    )


def frame_at(column: int, width: int, n_frames: int) -> int:
    """The frame a click on timeline column ``column`` (of ``width``) goes to."""
    if width <= 1 or n_frames <= 1:
        return 0
    return round(min(max(column, 0), width - 1) * (n_frames - 1) / (width - 1))


def column_of(frame: int, width: int, n_frames: int) -> int:
    """The timeline column that shows ``frame``."""
    if width <= 1 or n_frames <= 1:
        return 0
    return round(min(max(frame, 0), n_frames - 1) * (width - 1) / (n_frames - 1))
