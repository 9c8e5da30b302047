"""Views that repair each other: a tracked point the calibrated views' consensus rejects is
replaced by the reprojection of that consensus, instead of waiting in the review queue.

After a propagation has been flagged (pose3d.tracking.review), :func:`repair_views` looks at
every keypoint of every frame of the range:

- *Evidence* are the points nobody doubts: a person's or a file's, and tracked points that are
  not flagged. Reprojected points are never evidence (they are the evidence's echo).
- The evidence's *consensus* is the 3D point most of it agrees with (MSAC with the multi-view
  threshold, pose3d.triangulation.ransac). It is *strong* when at least ``STRONG_VIEWS`` views
  agree on it, or two where one of them is a person's or a file's point: two tracked views
  alone cannot see an error along their epipolar line.
- A flagged tracked point more than the threshold from the strong consensus' reprojection is
  moved there: source REPROJECTED, its own confidence and visibility kept, the flag cleared.
  Even where its track was lost: a tracker loses a turning paw it could still see, and where
  the keypoint is hidden in this view the track sticks to what hides it, which projects near
  the consensus (on the synthetic rodent, all 86 points repaired after the first propagation
  were visible, and their reprojections within 5 px of the truth).
- A reprojected point is judged again on every run: moved to the current consensus'
  reprojection, or flagged MULTI_VIEW (score 1) for a person where the consensus is no longer
  strong. So a person's correction in one view re-checks the other views' points of that
  keypoint and frame.

A propagation governs its reprojected points like its tracked ones: in the cells it re-tracks
the new track replaces them, and this step decides again (pose3d.tracking.propagate). Nothing
is repaired while the multi-view check only advises (the views disagree with the calibration).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.tracking.review import ReviewThresholds, assign_cells

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

STRONG_VIEWS = 3  # tracked views that must agree for a repair (2 with a person's or a file's)


def repair_views(
    labels: xr.Dataset,
    frames: tuple[int, int],
    cameras: CameraGroup,
    thresholds: ReviewThresholds | None = None,
) -> tuple[xr.Dataset, int]:
    """Repair the flagged tracked points of session frames ``[start, stop)`` from the other
    views (module docstring); returns a new dataset and how many tracked points were moved to
    the consensus (reprojected points judged again are not counted)."""
    limits = thresholds or ReviewThresholds()
    out = labels.copy(deep=True)
    views = [str(v) for v in out[s.VIEW].values]
    calibrated = [j for j, name in enumerate(views) if name in cameras.names]
    time = out[s.TIME].values
    rows = np.flatnonzero((time >= frames[0]) & (time < frames[1]))
    if len(calibrated) < 2 or rows.size == 0:
        return out, 0
    rows_slice = slice(int(rows[0]), int(rows[-1]) + 1)
    source = out[s.SOURCE].values[rows_slice][:, calibrated]  # (R, V', K, I)
    position = out[s.POSITION].values[rows_slice][:, calibrated]  # (R, V', 2, K, I)
    has = np.isfinite(position).all(axis=2)
    tracked = has & (source == s.PointSource.TRACKED)
    reprojected = has & (source == s.PointSource.REPROJECTED)
    flagged = tracked & out[s.REVIEW].values[rows_slice][:, calibrated]
    person = has & np.isin(source, [s.PointSource.MANUAL, s.PointSource.IMPORTED])
    evidence = person | (tracked & ~flagged)
    asked = (flagged | reprojected).any(axis=1)  # (R, K, I) cells with something to decide
    if not asked.any():
        return out, 0
    group = cameras.subset([views[j] for j in calibrated])
    consensus, strong = _consensus(position, evidence, person, asked, group, limits)
    projected = _project(consensus, group)  # (R, V', 2, K, I)
    off = np.linalg.norm(projected - position, axis=2) > limits.multiview_px
    repair = (flagged & off) | reprojected
    usable = np.isfinite(projected).all(axis=2) & strong[:, None]
    moved = repair & usable
    lost = reprojected & ~usable
    _write(out, rows_slice, calibrated, projected, moved, lost)
    return out, int((moved & flagged).sum())


def _consensus(
    position: FloatArray,
    evidence: BoolArray,
    person: BoolArray,
    asked: BoolArray,
    group: CameraGroup,
    limits: ReviewThresholds,
) -> tuple[FloatArray, BoolArray]:
    """The evidence's consensus point of the ``asked`` cells, (R, K, I, 3) (NaN elsewhere),
    and whether it is strong (module docstring), (R, K, I)."""
    from pose3d.triangulation import RansacOptions, triangulate_points

    n_rows, n_views, _, n_kp, n_ind = position.shape
    pixels = np.moveaxis(position, 2, -1).transpose(1, 0, 2, 3, 4).reshape(n_views, -1, 2)
    use = evidence.transpose(1, 0, 2, 3).reshape(n_views, -1)
    made = person.transpose(1, 0, 2, 3).reshape(n_views, -1)
    cells = asked.reshape(-1) & (use.sum(axis=0) >= 2)
    points = np.full((cells.size, 3), np.nan)
    strong = np.zeros(cells.size, bool)
    if cells.any():
        chosen = np.where(use[:, cells, None], pixels[:, cells], np.nan)
        found, used = triangulate_points(
            chosen, group, method="ransac",
            ransac_options=RansacOptions(threshold=limits.multiview_px),
        )  # fmt: skip
        support = used.sum(axis=0)
        points[cells] = found
        strong[cells] = (support >= STRONG_VIEWS) | (
            (support >= 2) & (used & made[:, cells]).any(0)
        )
        strong &= np.isfinite(points).all(axis=1)
    return points.reshape(n_rows, n_kp, n_ind, 3), strong.reshape(n_rows, n_kp, n_ind)


def _project(points: FloatArray, group: CameraGroup) -> FloatArray:
    """(R, K, I, 3) world points -> (R, V', 2, K, I) pixels, NaN outside each image."""
    pixels = group.project(points)  # (V', R, K, I, 2)
    sizes = np.array([camera.size for camera in group.cameras], np.float64)
    for j, size in enumerate(sizes):
        xy = pixels[j]
        outside = (xy < -0.5).any(axis=-1) | (xy > size - 0.5).any(axis=-1)
        xy[outside] = np.nan
    return pixels.transpose(1, 0, 4, 2, 3)


def _write(
    out: xr.Dataset,
    rows: slice,
    calibrated: list[int],
    projected: FloatArray,
    moved: BoolArray,
    lost: BoolArray,
) -> None:
    """Moved cells: the reprojection, source REPROJECTED, flag cleared; lost cells (reprojected
    points without a strong consensus now): flagged MULTI_VIEW with score 1."""
    position = out[s.POSITION].values
    block = position[rows]  # (R, V, 2, K, I), a view
    block[:, calibrated] = np.where(moved[:, :, None], projected, block[:, calibrated])
    n_views = block.shape[1]
    moved = _every_view(moved, n_views, calibrated)
    lost = _every_view(lost, n_views, calibrated)
    assign_cells(out, s.SOURCE, rows, moved, int(s.PointSource.REPROJECTED))
    assign_cells(out, s.REVIEW, rows, moved, False)
    assign_cells(out, s.REVIEW_SCORE, rows, moved, np.nan)
    assign_cells(out, s.REVIEW_REASON, rows, moved, int(s.ReviewReason.NONE))
    assign_cells(out, s.REVIEW, rows, lost, True)
    assign_cells(out, s.REVIEW_SCORE, rows, lost, 1.0)
    assign_cells(out, s.REVIEW_REASON, rows, lost, int(s.ReviewReason.MULTI_VIEW))


def _every_view(cells: BoolArray, n_views: int, calibrated: list[int]) -> BoolArray:
    """(R, V', K, I) cells of the calibrated views -> (R, V, K, I), False in the others."""
    out = np.zeros((cells.shape[0], n_views, *cells.shape[2:]), bool)
    out[:, calibrated] = cells
    return out
