"""What the Label screen asks of the tracker: which frames and cameras to propagate over and
what that replaces. Pure; the work is pose3d.tracking.propagate (the review tour, which flagged
run comes next, is pose3d.tracking.tour)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError


class Direction(Enum):
    FORWARD = "forward"  # from the current frame to the end
    BACKWARD = "backward"  # from the start to the current frame
    BOTH = "both"  # every frame


@dataclass(frozen=True)
class PropagateRequest:
    """A propagate run: views, session frames [start, stop), and optionally only the queries of
    ``from_frames`` (re-tracking after a correction)."""

    views: tuple[str, ...]
    frames: tuple[int, int]
    from_frames: tuple[int, ...] | None = None
    second: str | None = None  # a second tracker's opinion (pose3d track --second-opinion)

    def describe(self) -> str:
        what = "re-track from frame " + ", ".join(map(str, self.from_frames or ()))
        if self.from_frames is None:
            what = "propagate"
        opinion = "" if self.second is None else f", second opinion: {self.second}"
        frames = f"frames {self.frames[0]}-{self.frames[1] - 1}"
        return f"{what} in {', '.join(self.views)}, {frames}{opinion}"


def propagation_frames(
    direction: Direction, frame: int, first: int, n_frames: int
) -> tuple[int, int]:
    """Session frames [start, stop) of a propagation from ``frame`` in ``direction`` over
    labels that cover ``first`` .. ``first + n_frames - 1``."""
    end = first + n_frames
    if not first <= frame < end:
        raise Pose3dError(f"frame {frame} is outside the labels' frames {first}-{end - 1}")
    if direction is Direction.FORWARD:
        return frame, end
    if direction is Direction.BACKWARD:
        return first, frame + 1
    return first, end


def manual_views(labels: xr.Dataset, frames: tuple[int, int]) -> tuple[str, ...]:
    """The views holding a manual label (point or hidden mark) in session frames [start, stop):
    those a propagation of every camera tracks (the others have nothing to track from)."""
    part = labels[s.SOURCE].sel({s.TIME: slice(frames[0], frames[1] - 1)})
    manual = (part == s.PointSource.MANUAL).any([s.TIME, s.KEYPOINT, s.INDIVIDUAL]).values
    return tuple(str(v) for v, has in zip(labels[s.VIEW].values, manual, strict=True) if has)


def what_it_replaces(labels: xr.Dataset, views: Sequence[str], frames: tuple[int, int]) -> str:
    """What a propagation of ``views`` over session frames [start, stop) may change, said before
    it runs: the tool's points and hidden marks there (tracked, reprojected) are replaced; the
    manual and imported ones are kept (pose3d.labels' merge policy)."""
    if not views:
        sources = labels[s.SOURCE].sel({s.TIME: slice(frames[0], frames[1] - 1)}).values
        imported = int((sources == s.PointSource.IMPORTED).sum())
        said = "no camera has a manual point in these frames: nothing to propagate from"
        if imported:
            said += (
                f" (the {imported:,} imported points are not tracked from: y makes one a manual "
                "anchor, or import the file again with --as labels)"
            )
        return said
    part = labels[s.SOURCE].sel({s.TIME: slice(frames[0], frames[1] - 1), s.VIEW: list(views)})
    values = part.values
    tools = int(np.isin(values, (s.PointSource.TRACKED, s.PointSource.REPROJECTED)).sum())
    manual = int((values == s.PointSource.MANUAL).sum())
    imported = int((values == s.PointSource.IMPORTED).sum())
    where = f"{', '.join(views)}, frames {frames[0]}-{frames[1] - 1}"
    kept = f"keeps {manual:,} manual and {imported:,} imported labels"
    if tools:
        return f"replaces the {tools:,} tracked points and marks of {where}; {kept}"
    return f"fills {where} (no tracked point there yet); {kept}"


def check_frames(start: int, stop: int, first: int, n_frames: int) -> tuple[int, int]:
    """Validate a typed range [start, stop) against the labels' frames."""
    end = first + n_frames
    if not first <= start < stop <= end:
        raise Pose3dError(
            f"frames {start}-{stop - 1} are outside the labels: expected {first} <= first frame "
            f"<= last frame <= {end - 1}"
        )
    return start, stop
