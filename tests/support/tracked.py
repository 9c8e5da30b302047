"""Labels made of the synthetic truth, as a tracker that got everything right would write them."""

from __future__ import annotations

import xarray as xr

from pose3d import schema as s
from pose3d.tracking.review import with_track_variables


def tracked_truth(truth: xr.Dataset, frames: int = 10) -> xr.Dataset:
    """The true 2D of every view as tracked points: visible, confident, consistent."""
    labels = with_track_variables(truth.isel({s.TIME: slice(0, frames)}).drop_vars("visible"))
    labels[s.SOURCE].values[:] = s.PointSource.TRACKED
    labels[s.CONFIDENCE].values[:] = 1.0
    labels[s.VISIBILITY].values[:] = 1.0
    return labels
