"""One-line summaries of labels and poses datasets, for ``pose3d info`` and the TUI."""

from __future__ import annotations

import numpy as np
import xarray as xr

from pose3d import schema as s


def summarize_labels(ds: xr.Dataset) -> str:
    source = ds[s.SOURCE].values
    hidden = ds[s.HIDDEN].values if s.HIDDEN in ds.data_vars else np.zeros(source.shape, bool)
    counts = {p.name.lower(): int(np.sum((source == p) & ~hidden)) for p in s.PointSource if p}
    parts = [f"{n} {name}" for name, n in counts.items() if n]
    marks = ""
    if hidden.any():
        by_hand = int((hidden & (source == s.PointSource.MANUAL)).sum())
        marks = f"; {int(hidden.sum())} hidden marks ({by_hand} manual)"
    flagged = int(ds[s.REVIEW].values.sum())
    return (
        f"{ds.sizes[s.TIME]} frames x {ds.sizes[s.VIEW]} views x {ds.sizes[s.KEYPOINT]} keypoints"
        f" x {ds.sizes[s.INDIVIDUAL]} individuals; points: {', '.join(parts) or 'none'}{marks}"
        f"; {flagged} flagged for review"
    )


def summarize_poses(ds: xr.Dataset) -> str:
    position = ds[s.POSITION]
    unit = position.attrs.get(s.ATTR_SPACE_UNIT, "unknown unit")
    present = int(np.isfinite(position.values).all(axis=1).sum())
    total = ds.sizes[s.TIME] * ds.sizes[s.KEYPOINT] * ds.sizes[s.INDIVIDUAL]
    err = ds[s.REPROJECTION_ERROR].values
    median = f"{np.nanmedian(err):.2f} px" if np.isfinite(err).any() else "n/a"
    return (
        f"{ds.sizes[s.TIME]} frames, {ds.sizes[s.KEYPOINT]} keypoints, "
        f"{ds.sizes[s.INDIVIDUAL]} individuals, {present}/{total} points in {unit}; "
        f"median reprojection error {median}"
    )
