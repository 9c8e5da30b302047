"""The refinement's objective: its cost, and its Gauss-Newton linearisation.

Unknowns: the points ``x`` [3 T J] (time-major, see :mod:`pose3d.triangulation.banded`) and the
bone lengths ``L`` [E]. The linearisation is the bordered system ``[[A, B], [Bᵀ, C]]`` with
``A`` banded (points), ``B`` [3 T J, E] (points x lengths) and ``C`` diagonal (lengths),
written into a reused :class:`~pose3d.triangulation.banded.BorderedSystem`, and the gradient
of both blocks. Terms (see :mod:`pose3d.triangulation.refine`): robust
reprojection per x / y residual, smoothness over time, bone lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.triangulation import banded
from pose3d.triangulation.blocks import blocks
from pose3d.triangulation.loss import Loss
from pose3d.triangulation.projection import Lens, project_with_jacobian

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Problem:
    """The fixed data of one refinement."""

    lenses: tuple[Lens, ...]
    pixels: FloatArray  # [V, P, 2], zeros where not seen; P = T * J points, time-major
    weights: FloatArray  # [V, P], 0 where not seen
    shape: tuple[int, int]  # (T, J)
    edges: tuple[tuple[int, int], ...]  # (low, high) keypoint indices
    edge_frames: FloatArray  # [E, T] 1.0 where the bone term applies
    smooth_scale: float
    smooth_diagonals: tuple[FloatArray, ...]  # of (D^T D), k = 0..order; () = no smoothness
    loss: Loss
    loss_scale: float
    scale_length: float


@dataclass(frozen=True, eq=False)
class Linearization:
    cost: float
    gradient: FloatArray  # [3 T J]
    length_gradient: FloatArray  # [E]
    system: banded.BorderedSystem  # the Gauss-Newton matrix, filled in place


def new_system(problem: Problem) -> banded.BorderedSystem:
    """The (empty) Gauss-Newton system of ``problem``, to be filled by :func:`linearize`."""
    n_frames, n_keypoints = problem.shape
    width = banded.bandwidth(n_keypoints, problem.edges, len(problem.smooth_diagonals) - 1)
    return banded.BorderedSystem.zeros(3 * n_frames * n_keypoints, width, len(problem.edges))


def cost(problem: Problem, x: FloatArray, lengths: FloatArray) -> float:
    """The objective (inf if a seen point is behind its camera)."""
    points = x.reshape(*problem.shape, 3)
    total, _, _ = _reprojection(problem, points.reshape(-1, 3), linearize=False)
    if not np.isfinite(total):
        return np.inf
    if problem.smooth_diagonals:
        total += problem.smooth_scale**2 * float(np.sum(points * _smooth_product(problem, points)))
    for e in range(len(problem.edges)):
        residual, _, _, _ = _bone(problem, points, lengths, e)
        total += float(np.sum(residual * residual))
    return total


def linearize(
    problem: Problem, x: FloatArray, lengths: FloatArray, system: banded.BorderedSystem
) -> Linearization | None:
    """Cost, gradient and (into ``system``) the Gauss-Newton matrix at ``x``, ``lengths``;
    None if the cost is not finite."""
    n_frames, n_keypoints = problem.shape
    points = x.reshape(n_frames, n_keypoints, 3)
    total, blocks6, gradient = _reprojection(problem, points.reshape(-1, 3), linearize=True)
    if not np.isfinite(total):
        return None
    system.clear()
    band = system.band
    banded.add_point_blocks(band, blocks6.reshape(n_frames, n_keypoints, 6))
    gradient = gradient.reshape(n_frames, n_keypoints, 3)
    if problem.smooth_diagonals:
        s2 = problem.smooth_scale**2
        product = _smooth_product(problem, points)
        total += s2 * float(np.sum(points * product))
        gradient += s2 * product
        banded.add_time_band(band, problem.shape, [s2 * d for d in problem.smooth_diagonals])
    n_edges = len(problem.edges)
    border = system.border.reshape(n_frames, n_keypoints, 3, n_edges)
    corner, length_gradient = system.corner, np.zeros(n_edges)
    for e, (low, high) in enumerate(problem.edges):
        residual, gain, unit, d_length = _bone(problem, points, lengths, e)
        total += float(np.sum(residual * residual))
        active = problem.edge_frames[e]
        grad = (gain * residual)[:, None] * unit  # dr/dX_high = gain u, dr/dX_low = -gain u
        gradient[:, high] += grad
        gradient[:, low] -= grad
        outer = (active * gain * gain)[:, None, None] * unit[:, :, None] * unit[:, None, :]
        six = outer.reshape(-1, 9)[:, [0, 1, 2, 4, 5, 8]]
        banded.add_keypoint_blocks(band, problem.shape, low, six)
        banded.add_keypoint_blocks(band, problem.shape, high, six)
        banded.add_pair_blocks(band, problem.shape, low, high, -outer)
        coupling = (gain * d_length)[:, None] * unit
        border[:, high, :, e] = coupling
        border[:, low, :, e] = -coupling
        corner[e] = float(np.sum(d_length * d_length))
        length_gradient[e] = float(np.sum(d_length * residual))
    return Linearization(total, gradient.reshape(-1), length_gradient, system)


def _bone(
    problem: Problem, points: FloatArray, lengths: FloatArray, e: int
) -> tuple[FloatArray, float, FloatArray, FloatArray]:
    """Edge ``e``'s residuals [T], ``dr / d|X_high - X_low|`` (a number), the unit vectors
    [T, 3] from low to high and ``dr / dL`` [T]; zero in frames where the term is off."""
    low, high = problem.edges[e]
    delta = points[:, high] - points[:, low]
    length = np.linalg.norm(delta, axis=1)
    target = float(lengths[e])
    active = problem.edge_frames[e]
    gain = problem.scale_length * 100.0 / target
    residual = active * gain * (length - target)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.nan_to_num(delta / length[:, None])
    d_length = -active * gain * length / target  # d/dL of gain * (length - L)
    return residual, gain, unit, d_length


def _smooth_product(problem: Problem, points: FloatArray) -> FloatArray:
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


def _reprojection(
    problem: Problem, points: FloatArray, linearize: bool
) -> tuple[float, FloatArray, FloatArray]:
    """Robust reprojection cost, its 3 x 3 blocks [P, 6] and gradient [P, 3] for points [P, 3].

    The loss acts on each residual (x, y) separately, as scipy's least_squares and Anipose do.
    """
    f2 = problem.loss_scale**2
    n_points = points.shape[0]
    blocks6 = np.zeros((n_points, 6))
    gradient = np.zeros((n_points, 3))
    total = 0.0
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
                su, sv = ww * eu * eu / f2, ww * ev * ev / f2
                if np.isnan(su[seen]).any() or np.isnan(sv[seen]).any():
                    return np.inf, blocks6, gradient
                rho_u, drho_u = problem.loss(np.where(seen, su, 0.0))
                rho_v, drho_v = problem.loss(np.where(seen, sv, 0.0))
                total += f2 * float(np.sum(rho_u[seen]) + np.sum(rho_v[seen]))
                if linearize:
                    scale_u = np.where(seen, drho_u * ww, 0.0)
                    scale_v = np.where(seen, drho_v * ww, 0.0)
                    _add_normal(blocks6[block], gradient[block], scale_u, scale_v, eu, ev, jac)
    return total, blocks6, gradient


def _add_normal(
    blocks6: FloatArray,
    gradient: FloatArray,
    scale_u: FloatArray,
    scale_v: FloatArray,
    eu: FloatArray,
    ev: FloatArray,
    jac: list[FloatArray],
) -> None:
    """Add ``J^T S J`` ([n, 6]) and ``J^T S e`` ([n, 3]) for the 2 x 3 Jacobians ``J`` of the
    rows u, v, each weighted by its own ``S = scale_u, scale_v`` [n]."""
    ux, uy, uz, vx, vy, vz = (np.nan_to_num(j) for j in jac)
    eu, ev = np.nan_to_num(eu), np.nan_to_num(ev)
    su, sv = scale_u * eu, scale_v * ev
    gradient[:, 0] += ux * su + vx * sv
    gradient[:, 1] += uy * su + vy * sv
    gradient[:, 2] += uz * su + vz * sv
    sux, suy, suz = scale_u * ux, scale_u * uy, scale_u * uz
    svx, svy, svz = scale_v * vx, scale_v * vy, scale_v * vz
    blocks6[:, 0] += sux * ux + svx * vx
    blocks6[:, 1] += sux * uy + svx * vy
    blocks6[:, 2] += sux * uz + svx * vz
    blocks6[:, 3] += suy * uy + svy * vy
    blocks6[:, 4] += suy * uz + svy * vz
    blocks6[:, 5] += suz * uz + svz * vz
