"""A damped Gauss-Newton (Levenberg-Marquardt) solver for bundle adjustment.

The problems are small in parameters (15 per camera, 6 per board view) and large in residuals,
so the normal equations ``JᵀWJ`` are formed from a sparse Jacobian and solved densely
(Cholesky, on one BLAS thread: these systems are small, and OpenBLAS threads on a busy machine
cost 100x). A robust soft-L1 loss enters as iteratively reweighted least squares: each
observation's weight is ``1 / sqrt(1 + (e / scale)²)`` for its reprojection error ``e``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SolverResult:
    x: FloatArray
    cost: float  # robust cost at x
    iterations: int
    converged: bool


def robust_weights(errors: FloatArray, scale: float) -> FloatArray:
    """Soft-L1 IRLS weights of per-observation errors [n]."""
    return 1.0 / np.sqrt(1.0 + (errors / scale) ** 2)


def robust_cost(errors: FloatArray, scale: float) -> float:
    """Soft-L1 cost ``sum 2 s² (sqrt(1 + (e/s)²) - 1)`` of per-observation errors [n]."""
    return float(np.sum(2.0 * scale**2 * (np.sqrt(1.0 + (errors / scale) ** 2) - 1.0)))


def levenberg_marquardt(
    residuals: Callable[[FloatArray], FloatArray],
    jacobian: Callable[[FloatArray, FloatArray], sparse.csr_matrix],
    x0: FloatArray,
    scale: float = 1.0,
    max_iterations: int = 100,
    tolerance: float = 1e-10,
) -> SolverResult:
    """Minimise the soft-L1 cost of 2D residuals: ``residuals(x)`` is [n_obs, 2] flattened
    to [2 n_obs]; ``jacobian(x, r)`` its sparse Jacobian at x given r = residuals(x)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _levenberg_marquardt(residuals, jacobian, x0, scale, max_iterations, tolerance)


def _levenberg_marquardt(
    residuals: Callable[[FloatArray], FloatArray],
    jacobian: Callable[[FloatArray, FloatArray], sparse.csr_matrix],
    x0: FloatArray,
    scale: float,
    max_iterations: int,
    tolerance: float,
) -> SolverResult:
    x = np.asarray(x0, dtype=np.float64).copy()
    r = residuals(x)
    cost = robust_cost(np.linalg.norm(r.reshape(-1, 2), axis=1), scale)
    damping = 1e-3
    for iteration in range(1, max_iterations + 1):
        errors = np.linalg.norm(r.reshape(-1, 2), axis=1)
        w = np.repeat(robust_weights(errors, scale), 2)
        jac = jacobian(x, r)
        jw = jac.multiply(w[:, None]).tocsr()
        normal = (jw.T @ jac).toarray()
        gradient = jw.T @ r
        diag = np.maximum(np.diag(normal), 1e-12)
        improved = False
        while damping < 1e12:
            system = normal + damping * np.diag(diag)
            try:
                step = -cho_solve(cho_factor(system), gradient)
            except np.linalg.LinAlgError:
                damping *= 10.0
                continue
            x_new = x + step
            r_new = residuals(x_new)
            cost_new = robust_cost(np.linalg.norm(r_new.reshape(-1, 2), axis=1), scale)
            if np.isfinite(cost_new) and cost_new < cost:
                improved = True
                break
            damping *= 10.0
        if not improved:
            return SolverResult(x, cost, iteration, True)
        relative = (cost - cost_new) / max(cost, 1e-300)
        x, r, cost = x_new, r_new, cost_new
        damping = max(damping / 10.0, 1e-9)
        if relative < tolerance or np.linalg.norm(step) < tolerance * (
            np.linalg.norm(x) + tolerance
        ):
            return SolverResult(x, cost, iteration, True)
    return SolverResult(x, cost, max_iterations, False)
