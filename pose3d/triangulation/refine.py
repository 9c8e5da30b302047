"""Refinement: robust non-linear least squares over all frames of one individual at once.

Minimises, over every 3D point of every frame (Anipose's ``triangulate_optim`` objective):

- reprojection: ``loss_scale² rho((w r)² / loss_scale²)`` for the x and the y residual ``r``
  (px) of each observation, ``w`` the label's confidence, ``rho`` a robust loss (by default
  Anipose's own, see :mod:`pose3d.triangulation.loss`);
- smoothness: ``|s D X|²`` with ``D`` the ``smooth_order``-th difference over time and
  ``s = scale_smooth / mean |first difference|`` of the median-filtered initial points, so the
  weight does not depend on units or speed (Anipose's ``scale_smooth``);
- bone length: ``(scale_length * 100 (|X_a - X_b| - L) / L)²`` per edge and frame (Anipose's
  ``scale_length``: 1 % of length weighs as much as ``scale_length`` px); the lengths ``L`` are
  unknowns too (as in Anipose), started at each edge's median length over the initial points.

Levenberg-Marquardt with iteratively reweighted robust losses and analytic derivatives; each
step solves the normal equations exactly: banded Cholesky for the points, a Schur complement
for the few bone lengths (see :mod:`pose3d.triangulation.banded`). Points without
observations are filled by the smoothness term; the caller decides whether to keep them
(interpolate) or set them back to NaN.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError
from pose3d.progress import ProgressCallback
from pose3d.triangulation import objective
from pose3d.triangulation.blocks import finite_rows
from pose3d.triangulation.gaps import fill_for_start, median_filter_time
from pose3d.triangulation.loss import get_loss
from pose3d.triangulation.objective import Problem
from pose3d.triangulation.projection import Lens, to_camera

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class RefineOptions:
    """Weights and stopping rules of the refinement (defaults: Anipose's)."""

    scale_smooth: float = 2.0
    scale_length: float = 2.0
    smooth_order: int = 1  # 1: velocity, 2: acceleration, 3: jerk
    loss: str = "anipose"
    loss_scale: float = 5.0  # px: residuals beyond this count less (Anipose's threshold)
    max_iterations: int = 30
    tolerance: float = 1e-6  # stop when the cost falls by less than this fraction

    def __post_init__(self) -> None:
        get_loss(self.loss)
        if self.scale_smooth < 0 or self.scale_length < 0:
            raise Pose3dError(
                f"scale_smooth and scale_length must be >= 0, got {self.scale_smooth} and "
                f"{self.scale_length}"
            )
        if self.smooth_order not in (1, 2, 3):
            raise Pose3dError(f"smooth_order must be 1, 2 or 3, got {self.smooth_order}")
        if not self.loss_scale > 0:
            raise Pose3dError(f"loss_scale must be > 0 px, got {self.loss_scale}")
        if self.max_iterations < 1:
            raise Pose3dError(f"max_iterations must be >= 1, got {self.max_iterations}")


def refine(
    lenses: tuple[Lens, ...],
    pixels: FloatArray,
    weights: FloatArray,
    initial: FloatArray,
    edges: Sequence[tuple[int, int]] = (),
    options: RefineOptions = RefineOptions(),
    progress: ProgressCallback | None = None,
) -> FloatArray:
    """Refined points [T, J, 3] of one individual.

    ``pixels`` [V, T, J, 2] distorted px, ``weights`` [V, T, J] (0 = not seen; clean as from
    :func:`pose3d.triangulation.dlt.clean_observations`), ``initial`` [T, J, 3] (NaN where not
    triangulated), ``edges`` keypoint index pairs whose length should stay constant.
    """
    n_frames, n_keypoints = initial.shape[:2]
    anchored: BoolArray = finite_rows(initial)
    if not anchored.any():
        return initial.copy()
    start = fill_for_start(initial)
    problem, lengths = _setup(lenses, pixels, weights, initial, start, anchored, edges, options)
    x = start.reshape(-1)
    with _one_blas_thread():
        x = _minimise(problem, x, lengths, options, progress)
    if progress is not None:
        progress("refining", options.max_iterations, options.max_iterations)
    return x.reshape(n_frames, n_keypoints, 3)


# Long recordings are refined in windows of this many frames, each with OVERLAP_FRAMES more on
# either side whose points it does not keep: memory stays bounded as the recording grows
WINDOW_FRAMES = 4096
OVERLAP_FRAMES = 128


def refine_windows(
    lenses: tuple[Lens, ...],
    pixels: FloatArray,
    weights: FloatArray,
    initial: FloatArray,
    edges: Sequence[tuple[int, int]] = (),
    options: RefineOptions = RefineOptions(),
    progress: ProgressCallback | None = None,
) -> FloatArray:
    """:func:`refine` of a recording of any length, in overlapping windows of time.

    A recording of at most ``WINDOW_FRAMES + 2 OVERLAP_FRAMES`` frames is one problem. A longer
    one is cut into windows of ``WINDOW_FRAMES`` frames; each is refined with ``OVERLAP_FRAMES``
    more frames on either side (the smoothness term couples a frame to its neighbours, so the
    points at a window's edge are solved with their context) and keeps its own frames. Each
    window estimates its bone lengths and its smoothness scale from its own frames, where the
    one-shot problem shares them across the recording: the results differ from it by little
    (docs/triangulation.md gives the figures), and memory stays that of one window.
    """
    n_frames = initial.shape[0]
    if n_frames <= WINDOW_FRAMES + 2 * OVERLAP_FRAMES:
        return refine(lenses, pixels, weights, initial, edges, options, progress)
    out = np.empty_like(initial)
    starts = range(0, n_frames, WINDOW_FRAMES)
    for done, start in enumerate(starts):
        if progress is not None:
            progress("refining (windows)", done, len(starts))
        stop = min(start + WINDOW_FRAMES, n_frames)
        low, high = max(0, start - OVERLAP_FRAMES), min(n_frames, stop + OVERLAP_FRAMES)
        part = refine(
            lenses, pixels[:, low:high], weights[:, low:high], initial[low:high], edges, options
        )
        out[start:stop] = part[start - low : stop - low]
    if progress is not None:
        progress("refining (windows)", len(starts), len(starts))
    return out


def _minimise(
    problem: Problem,
    x: FloatArray,
    lengths: FloatArray,
    options: RefineOptions,
    progress: ProgressCallback | None,
) -> FloatArray:
    """Levenberg-Marquardt from ``x``, ``lengths``; returns the points [3 T J]."""
    system = objective.new_system(problem)
    state = objective.linearize(problem, x, lengths, system)
    damping = 1e-4
    for iteration in range(options.max_iterations):
        if state is None:
            break
        if progress is not None:
            progress("refining", iteration, options.max_iterations)
        trial = _step(problem, state, x, lengths, damping)
        if trial is not None and trial[2] < state.cost:
            x, lengths, new_cost = trial
            converged = state.cost - new_cost <= options.tolerance * state.cost
            state = objective.linearize(problem, x, lengths, system)
            damping = max(damping / 3.0, 1e-9)
            if converged:
                break
        else:
            damping *= 8.0
            if damping > 1e8:
                break
    return x


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Run BLAS / LAPACK on one thread: the banded factorisations are made of small blocks,
    and threads that wait for each other make them several times slower (much more so on a
    busy machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency; without it, run as configured
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _step(
    problem: Problem,
    state: objective.Linearization,
    x: FloatArray,
    lengths: FloatArray,
    damping: float,
) -> tuple[FloatArray, FloatArray, float] | None:
    """The damped Gauss-Newton step from ``x``, ``lengths`` and the cost there, or None."""
    solved = state.system.solve(-state.gradient, -state.length_gradient, damping)
    if solved is None:
        return None
    dx, dl = solved
    new_lengths = lengths + dl
    if (new_lengths <= 0).any():
        return None
    new_x = x + dx
    return new_x, new_lengths, objective.cost(problem, new_x, new_lengths)


def _setup(
    lenses: tuple[Lens, ...],
    pixels: FloatArray,
    weights: FloatArray,
    initial: FloatArray,
    start: FloatArray,
    anchored: BoolArray,
    edges: Sequence[tuple[int, int]],
    options: RefineOptions,
) -> tuple[Problem, FloatArray]:
    """The problem's fixed data and the bones' starting lengths (medians over the frames
    where both ends were triangulated)."""
    n_views, n_frames, n_keypoints = weights.shape
    ordered = tuple((min(a, b), max(a, b)) for a, b in edges if a != b)
    lengths, edge_frames, kept = [], [], []
    for low, high in ordered if options.scale_length > 0 else ():
        both = anchored[:, low] & anchored[:, high]
        if not both.any():
            continue
        length = float(np.median(np.linalg.norm(initial[both, low] - initial[both, high], axis=1)))
        if length > 0:
            kept.append((low, high))
            lengths.append(length)
            edge_frames.append(both.astype(np.float64))
    smooth_scale = 0.0
    diagonals: tuple[FloatArray, ...] = ()
    if options.scale_smooth > 0 and n_frames > options.smooth_order:
        smooth_scale = options.scale_smooth / _typical_step(start, initial)
        diagonals = _difference_gram(n_frames, options.smooth_order)
    problem = Problem(
        lenses=lenses,
        pixels=np.nan_to_num(pixels.reshape(n_views, -1, 2)),
        weights=_in_front(lenses, start.reshape(-1, 3), weights.reshape(n_views, -1)),
        shape=(n_frames, n_keypoints),
        edges=tuple(kept),
        edge_frames=np.array(edge_frames).reshape(len(kept), n_frames),
        smooth_scale=smooth_scale,
        smooth_diagonals=diagonals,
        loss=get_loss(options.loss),
        loss_scale=options.loss_scale,
        scale_length=options.scale_length,
    )
    return problem, np.array(lengths)


def _in_front(lenses: tuple[Lens, ...], points: FloatArray, weights: FloatArray) -> FloatArray:
    """``weights`` [V, P] with 0 for the views that see a point [P, 3] from behind.

    A start dragged by a wrong label can lie behind a camera; that view's residual has no
    derivative there, so it is left out (the other views and the priors move the point).
    """
    out = weights.copy()
    for view, lens in enumerate(lenses):
        _, _, depth = to_camera(lens, points[:, 0], points[:, 1], points[:, 2])
        out[view, ~(depth > 0)] = 0.0
    return out


def _typical_step(start: FloatArray, initial: FloatArray) -> float:
    """Mean absolute frame-to-frame change of the median-filtered points (Anipose's scale)."""
    smoothed = median_filter_time(start, size=7)
    steps = np.abs(np.diff(smoothed, axis=0))
    mean = float(np.nanmean(steps)) if np.isfinite(steps).any() else 0.0
    extent = float(np.nanmax(initial) - np.nanmin(initial))
    return max(mean, 1e-6 * extent, 1e-12)


def _difference_gram(n_frames: int, order: int) -> tuple[FloatArray, ...]:
    """The diagonals k = 0..order of ``D^T D``, D the [T - order, T] ``order``-th difference."""
    stencil = np.array([1.0])
    for _ in range(order):
        stencil = np.convolve(stencil, [-1.0, 1.0])
    rows = n_frames - order
    diagonals = []
    for k in range(order + 1):
        diagonal = np.zeros(n_frames - k)
        for i in range(order + 1 - k):  # (D^T D)[t + k, t] = sum_r D[r, t + k] D[r, t]
            diagonal[i : i + rows] += stencil[i + k] * stencil[i]
        diagonals.append(diagonal)
    return tuple(diagonals)
