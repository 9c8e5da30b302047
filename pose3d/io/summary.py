"""One-line summaries of labels and poses datasets, for ``pose3d info`` and the TUI."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s


@dataclass
class LabelCounts:
    """What ``pose3d info`` says of labels, counted so that the counts of consecutive stretches
    of time add up to those of the whole (a long recording is read a part at a time)."""

    shape: tuple[int, int, int, int] = (0, 0, 0, 0)  # frames, views, keypoints, individuals
    points: dict[str, int] = field(default_factory=dict)  # by source, hidden marks left out
    hidden: int = 0
    hidden_by_hand: int = 0
    flagged: int = 0

    def add(self, ds: xr.Dataset) -> LabelCounts:
        """Count the labels ``ds`` (one stretch of time) in; returns self."""
        source = ds[s.SOURCE].values
        hidden = ds[s.HIDDEN].values if s.HIDDEN in ds.data_vars else np.zeros(source.shape, bool)
        for p in s.PointSource:
            if p:
                name = p.name.lower()
                self.points[name] = self.points.get(name, 0) + int(np.sum((source == p) & ~hidden))
        self.hidden += int(hidden.sum())
        self.hidden_by_hand += int((hidden & (source == s.PointSource.MANUAL)).sum())
        self.flagged += int(ds[s.REVIEW].values.sum())
        self.shape = (
            self.shape[0] + ds.sizes[s.TIME],
            ds.sizes[s.VIEW],
            ds.sizes[s.KEYPOINT],
            ds.sizes[s.INDIVIDUAL],
        )
        return self

    def describe(self) -> str:
        parts = [f"{n} {name}" for name, n in self.points.items() if n]
        marks = f"; {self.hidden} hidden marks ({self.hidden_by_hand} manual)" * bool(self.hidden)
        frames, views, keypoints, individuals = self.shape
        return (
            f"{frames} frames x {views} views x {keypoints} keypoints x {individuals} individuals"
            f"; points: {', '.join(parts) or 'none'}{marks}; {self.flagged} flagged for review"
        )


def summarize_labels(ds: xr.Dataset) -> str:
    return LabelCounts().add(ds).describe()


@dataclass
class PoseCounts:
    """What ``pose3d info`` says of 3D poses, gathered a stretch of time at a time (see
    :class:`LabelCounts`); the reprojection errors are kept for their median (one number a
    point, a quarter of the poses' own size)."""

    frames: int = 0
    keypoints: int = 0
    individuals: int = 0
    present: int = 0
    unit: str = "unknown unit"
    errors: list[NDArray[np.floating]] = field(default_factory=list)

    def add(self, ds: xr.Dataset) -> PoseCounts:
        position = ds[s.POSITION]
        self.unit = position.attrs.get(s.ATTR_SPACE_UNIT, "unknown unit")
        self.present += int(np.isfinite(position.values).all(axis=1).sum())
        self.frames += ds.sizes[s.TIME]
        self.keypoints, self.individuals = ds.sizes[s.KEYPOINT], ds.sizes[s.INDIVIDUAL]
        error = ds[s.REPROJECTION_ERROR].values
        self.errors.append(error[~np.isnan(error)])
        return self

    def describe(self) -> str:
        total = self.frames * self.keypoints * self.individuals
        known = np.concatenate(self.errors) if self.errors else np.empty(0)
        median = f"{np.median(known):.2f} px" if np.isfinite(known).any() else "n/a"
        return (
            f"{self.frames} frames, {self.keypoints} keypoints, {self.individuals} individuals, "
            f"{self.present}/{total} points in {self.unit}; median reprojection error {median}"
        )


def summarize_poses(ds: xr.Dataset) -> str:
    return PoseCounts().add(ds).describe()
