"""A damped Gauss-Newton (Levenberg-Marquardt) solver for bundle adjustment.

The board-only problems are small in parameters (15 per camera, 6 per board view) and large in
residuals, so the normal equations ``JᵀWJ`` are formed from a sparse Jacobian and solved
densely (Cholesky, on one BLAS thread: these systems are small, and OpenBLAS threads on a busy
machine cost 100x). Problems with many structure blocks (a 3D point per labelled keypoint and
frame) eliminate them first: each block couples with the cameras only, so its part of the
normal equations is block-diagonal and the camera step solves the small Schur complement.
A robust soft-L1 loss enters as iteratively reweighted least squares: each
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


def robust_weights(errors: FloatArray, scale: float | FloatArray) -> FloatArray:
    """Soft-L1 IRLS weights of per-observation errors [n]."""
    return 1.0 / np.sqrt(1.0 + (errors / scale) ** 2)


def robust_cost(errors: FloatArray, scale: float | FloatArray) -> float:
    """Soft-L1 cost ``sum 2 s² (sqrt(1 + (e/s)²) - 1)`` of per-observation errors [n]."""
    return float(np.sum(2.0 * scale**2 * (np.sqrt(1.0 + (errors / scale) ** 2) - 1.0)))


@dataclass(frozen=True)
class Blocks:
    """A run of structure parameters in the solver's vector: ``count`` blocks of ``size``
    parameters from column ``start`` on, each block coupled only with the camera parameters
    (the first columns) and with no other block: a board pose, a 3D point."""

    start: int
    size: int
    count: int

    @property
    def stop(self) -> int:
        return self.start + self.size * self.count


def levenberg_marquardt(
    residuals: Callable[[FloatArray], FloatArray],
    jacobian: Callable[[FloatArray, FloatArray], sparse.csr_matrix],
    x0: FloatArray,
    scale: float | FloatArray = 1.0,
    max_iterations: int = 100,
    tolerance: float = 1e-10,
    structure: tuple[int, list[Blocks]] | None = None,
    on_iteration: Callable[[int, int], None] | None = None,
) -> SolverResult:
    """Minimise the soft-L1 cost of 2D residuals: ``residuals(x)`` is [n_obs, 2] flattened
    to [2 n_obs]; ``jacobian(x, r)`` its sparse Jacobian at x given r = residuals(x); ``scale``
    the loss scale, one for all or one per observation [n_obs]. ``structure`` = (n_cameras,
    blocks): the first n_cameras parameters are dense, the blocks follow (they must cover the
    rest of x); each step then eliminates the blocks (Schur complement), so that thousands of
    3D points cost small dense solves. ``on_iteration(iteration, max_iterations)`` is called
    before each iteration (progress; it may raise to cancel)."""
    from threadpoolctl import threadpool_limits

    system: _System = _Dense() if structure is None else _Schur(*structure)
    with threadpool_limits(limits=1, user_api="blas"):
        result = _levenberg_marquardt(
            residuals, jacobian, x0, scale, max_iterations, tolerance, system, on_iteration
        )
    if on_iteration is not None:
        on_iteration(max_iterations, max_iterations)  # done, converged early or not
    return result


class _System:
    """The damped normal equations of one iteration: :meth:`prepare` at x, then :meth:`step`
    for each damping tried (raises LinAlgError when the system is not positive definite)."""

    def prepare(self, jac: sparse.csr_matrix, w: FloatArray, r: FloatArray) -> None:
        raise NotImplementedError

    def step(self, damping: float) -> FloatArray:
        raise NotImplementedError


class _Dense(_System):
    def prepare(self, jac: sparse.csr_matrix, w: FloatArray, r: FloatArray) -> None:
        jw = jac.multiply(w[:, None]).tocsr()
        self.normal = (jw.T @ jac).toarray()
        self.gradient = jw.T @ r
        self.diag = np.maximum(np.diag(self.normal), 1e-12)

    def step(self, damping: float) -> FloatArray:
        system = self.normal + damping * np.diag(self.diag)
        return -cho_solve(cho_factor(system), self.gradient)


class _Schur(_System):
    def __init__(self, n_cameras: int, blocks: list[Blocks]) -> None:
        self.n = n_cameras
        self.blocks = blocks

    def prepare(self, jac: sparse.csr_matrix, w: FloatArray, r: FloatArray) -> None:
        jw = jac.multiply(w[:, None]).tocsr()
        normal = (jw.T @ jac).tocsr()
        gradient = jw.T @ r
        n = self.n
        self.a = normal[:n, :n].toarray()
        self.a_diag = np.maximum(np.diag(self.a), 1e-12)
        self.g_cam = gradient[:n]
        self.parts = []
        for block in self.blocks:
            b = normal[:n, block.start : block.stop].toarray()
            d = block_diagonal(normal[block.start : block.stop, block.start : block.stop], block)
            d_diag = np.maximum(np.diagonal(d, axis1=1, axis2=2), 1e-12)
            g = gradient[block.start : block.stop].reshape(block.count, block.size)
            self.parts.append((block, b.reshape(n, block.count, block.size), d, d_diag, g))

    def step(self, damping: float) -> FloatArray:
        n = self.n
        reduced = self.a + damping * np.diag(self.a_diag)
        rhs = -self.g_cam.copy()
        inverses = []
        for _, b, d, d_diag, g in self.parts:
            damped = d + damping * d_diag[:, :, None] * np.eye(d.shape[1])
            inverse = np.linalg.inv(damped)
            inverses.append(inverse)
            bd = np.einsum("cfi,fij->cfj", b, inverse)
            reduced -= np.einsum("cfj,dfj->cd", bd, b)
            rhs += np.einsum("cfj,fj->c", bd, g)
        step_cam = cho_solve(cho_factor(reduced), rhs) if n else np.empty(0)
        out = np.empty(n + sum(block.size * block.count for block in self.blocks))
        out[:n] = step_cam
        for (block, b, _, _, g), inverse in zip(self.parts, inverses, strict=True):
            coupled = np.einsum("cfi,c->fi", b, step_cam)
            out[block.start : block.stop] = -np.einsum("fij,fj->fi", inverse, g + coupled).ravel()
        return out


def block_diagonal(matrix: sparse.spmatrix, block: Blocks) -> FloatArray:
    """The diagonal blocks [count, size, size] of a block-diagonal sparse ``matrix``."""
    coo = matrix.tocoo()
    out = np.zeros((block.count, block.size, block.size))
    same = coo.row // block.size == coo.col // block.size
    rows, cols = coo.row[same], coo.col[same]
    np.add.at(out, (rows // block.size, rows % block.size, cols % block.size), coo.data[same])
    return out


def _levenberg_marquardt(
    residuals: Callable[[FloatArray], FloatArray],
    jacobian: Callable[[FloatArray, FloatArray], sparse.csr_matrix],
    x0: FloatArray,
    scale: float | FloatArray,
    max_iterations: int,
    tolerance: float,
    system: _System,
    on_iteration: Callable[[int, int], None] | None = None,
) -> SolverResult:
    x = np.asarray(x0, dtype=np.float64).copy()
    r = residuals(x)
    cost = robust_cost(np.linalg.norm(r.reshape(-1, 2), axis=1), scale)
    damping = 1e-3
    for iteration in range(1, max_iterations + 1):
        if on_iteration is not None:
            on_iteration(iteration - 1, max_iterations)
        errors = np.linalg.norm(r.reshape(-1, 2), axis=1)
        w = np.repeat(robust_weights(errors, scale), 2)
        system.prepare(jacobian(x, r), w, r)
        improved = False
        while damping < 1e12:
            try:
                step = system.step(damping)
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
