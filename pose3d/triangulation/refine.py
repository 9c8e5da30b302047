"""Refinement: robust non-linear least squares over all frames of one individual at once.

Minimises, over every 3D point of every frame (Anipose's ``triangulate_optim`` objective):

- reprojection: ``loss_scale² rho(|w (project(X) - x)|² / loss_scale²)`` per observation, in px,
  ``w`` the label's confidence, ``rho`` a robust loss (soft_l1 by default);
- smoothness: ``|s D X|²`` with ``D`` the ``smooth_order``-th difference over time and
  ``s = scale_smooth / mean |first difference|`` of the median-filtered initial points, so the
  weight does not depend on units or speed (Anipose's ``scale_smooth``);
- bone length: ``(scale_length * 100 (|X_a - X_b| - L) / L)²`` per edge and frame, ``L`` the
  median length of the edge over the initial points (Anipose's ``scale_length``: 1 % of length
  weighs as much as ``scale_length`` px).

Levenberg-Marquardt with iteratively reweighted robust losses; each step solves the banded
normal equations of :mod:`pose3d.triangulation.banded` exactly (no finite differences, no
iterative linear solver). Points without observations are filled by the smoothness term; the
caller decides whether to keep them (interpolate) or set them back to NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError
from pose3d.triangulation import banded
from pose3d.triangulation.blocks import blocks
from pose3d.triangulation.gaps import fill_for_start, median_filter_time
from pose3d.triangulation.loss import Loss, get_loss
from pose3d.triangulation.progress import Progress
from pose3d.triangulation.projection import Lens, project_with_jacobian

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class RefineOptions:
    """Weights and stopping rules of the refinement (defaults: Anipose's)."""

    scale_smooth: float = 2.0
    scale_length: float = 2.0
    smooth_order: int = 1  # 1: velocity, 2: acceleration, 3: jerk
    loss: str = "soft_l1"
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


@dataclass(frozen=True, eq=False)
class _Problem:
    lenses: tuple[Lens, ...]
    pixels: FloatArray  # [V, P, 2], zeros where not seen; P = T * J points, time-major
    weights: FloatArray  # [V, P], 0 where not seen
    shape: tuple[int, int]  # (T, J)
    edges: tuple[tuple[int, int], ...]  # (low, high) keypoint indices
    lengths: FloatArray  # [E] target bone lengths
    edge_frames: FloatArray  # [E, T] 1.0 where the bone term applies
    smooth_scale: float
    smooth_diagonals: tuple[FloatArray, ...]  # of (D^T D), k = 0..order
    loss: Loss
    loss_scale: float
    scale_length: float


def refine(
    lenses: tuple[Lens, ...],
    pixels: FloatArray,
    weights: FloatArray,
    initial: FloatArray,
    edges: Sequence[tuple[int, int]] = (),
    options: RefineOptions = RefineOptions(),
    progress: Progress | None = None,
) -> FloatArray:
    """Refined points [T, J, 3] of one individual.

    ``pixels`` [V, T, J, 2] distorted px, ``weights`` [V, T, J] (0 = not seen; clean as from
    :func:`pose3d.triangulation.dlt.clean_observations`), ``initial`` [T, J, 3] (NaN where not
    triangulated), ``edges`` keypoint index pairs whose length should stay constant.
    """
    n_frames, n_keypoints = initial.shape[:2]
    anchored: BoolArray = np.asarray(np.isfinite(initial).all(axis=-1))
    if not anchored.any():
        return initial.copy()
    start = fill_for_start(initial)
    problem = _setup(lenses, pixels, weights, initial, start, anchored, edges, options)
    x = start.reshape(-1)
    cost, band, gradient = _linearize(problem, x)
    damping = 1e-4
    for iteration in range(options.max_iterations):
        if progress is not None:
            progress("refining", iteration, options.max_iterations)
        step = banded.solve_damped(band, -gradient, damping)
        new_cost = np.inf if step is None else _cost(problem, x + step)
        if new_cost < cost:
            x = x + step  # type: ignore[operator]
            converged = cost - new_cost <= options.tolerance * cost
            cost, band, gradient = _linearize(problem, x)
            damping = max(damping / 3.0, 1e-9)
            if converged:
                break
        else:
            damping *= 8.0
            if damping > 1e8:
                break
    if progress is not None:
        progress("refining", options.max_iterations, options.max_iterations)
    return x.reshape(n_frames, n_keypoints, 3)


def _setup(
    lenses: tuple[Lens, ...],
    pixels: FloatArray,
    weights: FloatArray,
    initial: FloatArray,
    start: FloatArray,
    anchored: BoolArray,
    edges: Sequence[tuple[int, int]],
    options: RefineOptions,
) -> _Problem:
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
    return _Problem(
        lenses=lenses,
        pixels=np.nan_to_num(pixels.reshape(n_views, -1, 2)),
        weights=weights.reshape(n_views, -1),
        shape=(n_frames, n_keypoints),
        edges=tuple(kept),
        lengths=np.array(lengths),
        edge_frames=np.array(edge_frames).reshape(len(kept), n_frames),
        smooth_scale=smooth_scale,
        smooth_diagonals=diagonals,
        loss=get_loss(options.loss),
        loss_scale=options.loss_scale,
        scale_length=options.scale_length,
    )


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


def _smooth_product(problem: _Problem, points: FloatArray) -> FloatArray:
    """``(D^T D) X`` along time for points [T, J, 3]."""
    out = np.zeros_like(points)
    for k, diagonal in enumerate(problem.smooth_diagonals):
        d = diagonal[:, None, None]
        if k == 0:
            out += d * points
        else:
            out[k:] += d * points[:-k]
            out[:-k] += d * points[k:]
    return out


def _cost(problem: _Problem, x: FloatArray) -> float:
    """The objective at unknowns ``x`` [3 T J] (inf if a seen point is behind its camera)."""
    return _evaluate(problem, x, linearize=False)[0]


def _linearize(problem: _Problem, x: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    cost, band, gradient = _evaluate(problem, x, linearize=True)
    assert band is not None and gradient is not None
    return cost, band, gradient


def _evaluate(
    problem: _Problem, x: FloatArray, linearize: bool
) -> tuple[float, FloatArray | None, FloatArray | None]:
    """Cost, and with ``linearize`` the Gauss-Newton matrix (banded) and gradient [3 T J]."""
    n_frames, n_keypoints = problem.shape
    points = x.reshape(n_frames, n_keypoints, 3)
    cost, blocks6, gradient = _reprojection(problem, points.reshape(-1, 3), linearize)
    if not np.isfinite(cost):
        return np.inf, None, None
    band = None
    if linearize:
        width = banded.bandwidth(n_keypoints, problem.edges, len(problem.smooth_diagonals) - 1)
        band = np.zeros((width + 1, x.size))
        banded.add_point_blocks(band, blocks6.reshape(n_frames, n_keypoints, 6))
        gradient = gradient.reshape(n_frames, n_keypoints, 3)
    if problem.smooth_diagonals:
        s2 = problem.smooth_scale**2
        product = _smooth_product(problem, points)
        cost += s2 * float(np.sum(points * product))
        if band is not None:
            gradient += s2 * product
            banded.add_time_band(band, problem.shape, [s2 * d for d in problem.smooth_diagonals])
    cost += _bones(problem, points, band, gradient if linearize else None)
    if not linearize:
        return cost, None, None
    return cost, band, gradient.reshape(-1)


def _reprojection(
    problem: _Problem, points: FloatArray, linearize: bool
) -> tuple[float, FloatArray, FloatArray]:
    """Robust reprojection cost, its 3 x 3 blocks [P, 6] and gradient [P, 3] for points [P, 3]."""
    f2 = problem.loss_scale**2
    n_points = points.shape[0]
    blocks6 = np.zeros((n_points, 6))
    gradient = np.zeros((n_points, 3))
    cost = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        for view, lens in enumerate(problem.lenses):
            for block in blocks(n_points):
                w = problem.weights[view, block]
                seen = w > 0
                if not seen.any():
                    continue
                p = points[block]
                u, v, *jac = project_with_jacobian(lens, p[:, 0], p[:, 1], p[:, 2])
                eu = u - problem.pixels[view, block, 0]
                ev = v - problem.pixels[view, block, 1]
                ww = w * w
                s = ww * (eu * eu + ev * ev) / f2
                if np.isnan(s[seen]).any():
                    return np.inf, blocks6, gradient
                rho, drho = problem.loss(np.where(seen, s, 0.0))
                cost += f2 * float(np.sum(rho[seen]))
                if linearize:
                    scale = np.where(seen, drho * ww, 0.0)
                    _add_normal(blocks6[block], gradient[block], scale, eu, ev, jac)
    return cost, blocks6, gradient


def _add_normal(
    blocks6: FloatArray,
    gradient: FloatArray,
    scale: FloatArray,
    eu: FloatArray,
    ev: FloatArray,
    jac: list[FloatArray],
) -> None:
    """Add ``scale J^T J`` ([n, 6]) and ``scale J^T e`` ([n, 3]) for the 2 x 3 Jacobians."""
    ux, uy, uz, vx, vy, vz = (np.nan_to_num(j) for j in jac)
    eu, ev = np.nan_to_num(eu), np.nan_to_num(ev)
    su, sv = scale * eu, scale * ev
    gradient[:, 0] += ux * su + vx * sv
    gradient[:, 1] += uy * su + vy * sv
    gradient[:, 2] += uz * su + vz * sv
    sux, suy, suz = scale * ux, scale * uy, scale * uz
    svx, svy, svz = scale * vx, scale * vy, scale * vz
    blocks6[:, 0] += sux * ux + svx * vx
    blocks6[:, 1] += sux * uy + svx * vy
    blocks6[:, 2] += sux * uz + svx * vz
    blocks6[:, 3] += suy * uy + svy * vy
    blocks6[:, 4] += suy * uz + svy * vz
    blocks6[:, 5] += suz * uz + svz * vz


def _bones(
    problem: _Problem,
    points: FloatArray,
    band: FloatArray | None,
    gradient: FloatArray | None,
) -> float:
    """Bone-length cost; with ``band``/``gradient`` ([T, J, 3]) adds its Gauss-Newton terms."""
    cost = 0.0
    for e, (low, high) in enumerate(problem.edges):
        delta = points[:, high] - points[:, low]  # [T, 3]
        length = np.linalg.norm(delta, axis=1)
        gain = problem.scale_length * 100.0 / problem.lengths[e]
        active = problem.edge_frames[e]
        residual = active * gain * (length - problem.lengths[e])
        cost += float(np.sum(residual * residual))
        if band is None or gradient is None:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = np.nan_to_num(delta / length[:, None])
        grad = (gain * residual)[:, None] * unit
        gradient[:, high] += grad
        gradient[:, low] -= grad
        outer = (active * gain * gain)[:, None, None] * unit[:, :, None] * unit[:, None, :]
        six = outer.reshape(-1, 9)[:, [0, 1, 2, 4, 5, 8]]
        banded.add_keypoint_blocks(band, problem.shape, low, six)
        banded.add_keypoint_blocks(band, problem.shape, high, six)
        banded.add_pair_blocks(band, problem.shape, low, high, -outer)
    return cost
