"""One decomposition for all energy weights of a fixed training set (simultaneous
diagonalization of the energy part and the rest of the weighted problem).

For fixed data the weighted least-squares problem at energy weight ``w`` is

    min_beta  w^2 ||X_E beta - Y_E||^2 + ||X_R beta - Y_R||^2,

where ``X_E`` stacks the (unweighted, per-group-factor scaled) energy R factors and ``X_R`` the
rest with its weights fixed (force rows, stress rows, ridge rows). Only ``w`` changes between
the fits of a weight sweep (the force weight is folded into ``w = w_E / w_F`` when there are no
stress or ridge rows; otherwise every force weight gets its own decomposition).

Decomposition (once per training set and force weight), at a reference energy weight ``w0``
(the geometric mean of the smallest and largest energy weight asked for):

1. ``M0 = [w0 X_E; X_R]``; its R factor (triangle-on-triangle Householder updates) and the SVD
   of the column-scaled R, ``R0 D0 = U S V^T``, truncated at ``s > rcond * s_max`` (k kept).
   The solution is sought in the span of the kept directions, ``beta = B g`` with
   ``B = D0 V_k S_k^-1``; then ``M0 B = P`` has orthonormal columns.
2. ``H_E = P_E^T P_E`` and ``H_R = P_R^T P_R`` (k x k, ``H_E + H_R = I`` up to rounding) are
   diagonalized simultaneously: Cholesky ``H_E + H_R = L L^T`` and ``L^-1 H_E L^-T = Z diag(l)
   Z^T`` with ``0 <= l_i <= 1``.
3. For energy weight ``w`` (``a = w / w0``) the normal equations in ``g`` are diagonal in that
   basis: ``beta = T [(a^2 u_E + u_R) / (1 + (a^2 - 1) l)]`` with ``T = B L^-T Z`` and
   ``u = Z^T L^-1 P^T Y``. Every weight and every label level costs one (n, k) x (k, levels)
   product; the denominators are >= min(a^2, 1), so the small system is well conditioned
   whatever the conditioning of the data (no Gram matrix of the data is formed).

Full rank (k = number of columns): the result is the exact least-squares solution for every
weight, i.e. ``scipy.linalg.lstsq`` of the dense weighted matrix, up to rounding.

Rank deficient (truncation at the reference weight): the result is the least-squares solution
restricted to the span of the k directions kept at ``w0`` (column scaling ``D0`` of ``w0``).
The present per-weight path instead truncates the SVD of the problem scaled at each weight.
Since ``diag(a, 1) M0`` changes every singular value by a factor between ``min(a, 1)`` and
``max(a, 1)``, the two differ only in directions whose singular values lie within that factor
of the cutoff; at the paper's weights (w_E/w_F 5 ... 300, reference ~39) that is a factor <= 7.7
around ``rcond * s_max``. Those directions carry almost no signal, so predictions and test
errors agree closely (tested on qSNAP-like and real qSNAP blocks); the coefficients themselves
can differ in those ill-determined directions, as between any two truncation choices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from ._linalg import _block_size, r_factor, scaled_svd

__all__ = ["EnergyWeightBasis", "stacked_r"]


def stacked_r(pieces: Sequence[np.ndarray], triangular: bool) -> np.ndarray:
    """Square R factor of ``vstack(pieces)``.

    Args:
        pieces: (r_i, n) matrices.
        triangular: every piece is (n, n) upper triangular; then the factor is built by
            triangle-on-triangle Householder updates (LAPACK ``dtpqrt`` with ``l = n``), about
            a seventh of the cost of a QR of the stack.

    Returns:
        (n, n) upper triangular.
    """
    pieces = [p for p in pieces if p.shape[0]]
    if not pieces:
        raise ValueError("stacked_r needs at least one non-empty piece")
    n = pieces[0].shape[1]
    if not triangular:
        return r_factor(np.vstack(pieces))
    r = np.array(pieces[0], dtype=float, order="F")
    for piece in pieces[1:]:
        b = np.array(piece, dtype=float, order="F")
        out, _, _, info = lapack.dtpqrt(n, _block_size(n), r, b, overwrite_a=1, overwrite_b=1)
        if info != 0:  # pragma: no cover - only on invalid arguments
            raise np.linalg.LinAlgError(f"dtpqrt failed with info={info}")
        r = out
    return np.triu(r)


class EnergyWeightBasis:
    """Shared decomposition of one training set for every energy weight (module docstring).

    Args:
        energy: ``(X, Y)`` pieces of the energy part, unweighted (per-group factors applied):
            ``X`` (r, n) descriptor columns (constant first), ``Y`` (r, L) label columns.
        rest: ``(X, Y)`` pieces of the fixed part (force, stress and ridge rows with their
            weights applied).
        reference: the reference energy weight ``w0`` of the truncation.
        rcond: relative singular-value cutoff at the reference weight.
        scale_columns: scale the columns of the reference problem to unit norm before the SVD.
        triangular: every ``X`` is (n, n) upper triangular (the statistics' R factors).
        drop_constant: leave out column 0 (the constant); coefficients then have n - 1 rows.

    Attributes:
        rank: number of kept directions k.
        singular_values: the k kept singular values of the column-scaled reference problem.
        reference: ``w0``.
    """

    def __init__(
        self,
        energy: Sequence[tuple[np.ndarray, np.ndarray]],
        rest: Sequence[tuple[np.ndarray, np.ndarray]],
        reference: float,
        *,
        rcond: float,
        scale_columns: bool = True,
        triangular: bool = False,
        drop_constant: bool = False,
    ):
        self.reference = w0 = float(reference)
        xs = [w0 * x for x, _ in energy] + [x for x, _ in rest]
        r0 = stacked_r(xs, triangular)
        if drop_constant:
            r0 = r_factor(r0[:, 1:])
            energy = [(x[:, 1:], y) for x, y in energy]
            rest = [(x[:, 1:], y) for x, y in rest]
        n_labels = (energy or rest)[0][1].shape[1]
        c, _, s, vt = scaled_svd(r0, rcond, scale_columns)
        k = s.size
        self.rank = k
        self.singular_values = s
        self.n_columns = r0.shape[1]
        if k == 0:
            self._t = np.zeros((self.n_columns, 0))
            self._lam = np.zeros(0)
            self._u_e = self._u_r = np.zeros((0, n_labels))
            return
        b = c[:, None] * (vt.T / s)  # (n, k): beta = b @ g
        h = {}
        q = {}
        for name, pieces, w in (("e", energy, w0), ("r", rest, 1.0)):
            h[name] = np.zeros((k, k))
            q[name] = np.zeros((k, n_labels))
            for x, y in pieces:
                if not x.shape[0]:
                    continue
                pk = (w * x) @ b
                h[name] += pk.T @ pk
                q[name] += pk.T @ (w * y)
        lower = scipy.linalg.cholesky(h["e"] + h["r"], lower=True, check_finite=False)
        ce = scipy.linalg.solve_triangular(lower, h["e"], lower=True, check_finite=False)
        ce = scipy.linalg.solve_triangular(lower, ce.T, lower=True, check_finite=False)
        lam, z = scipy.linalg.eigh(0.5 * (ce + ce.T), check_finite=False)
        self._lam = np.clip(lam, 0.0, 1.0)
        linv_z = scipy.linalg.solve_triangular(lower.T, z, lower=False, check_finite=False)
        self._t = b @ linv_z
        self._u_e = linv_z.T @ q["e"]
        self._u_r = linv_z.T @ q["r"]

    def _denominator(self, energy_weight: float) -> np.ndarray:
        a2 = (float(energy_weight) / self.reference) ** 2
        return 1.0 + (a2 - 1.0) * self._lam, a2

    def coefficients(self, energy_weight: float) -> np.ndarray:
        """Coefficients (n, L) of every label column at ``energy_weight``; O(n k L)."""
        d, a2 = self._denominator(energy_weight)
        return self._t @ ((a2 * self._u_e + self._u_r) / d[:, None])

    def projection(self, energy_weight: float) -> np.ndarray:
        """(n, k) matrix ``Q`` with hat-matrix diagonal ``h_i = ||m_i @ Q||^2`` for a row
        ``m_i`` of the weighted matrix at ``energy_weight`` (energy rows times that weight,
        rest rows with their fixed weights)."""
        d, _ = self._denominator(energy_weight)
        return self._t / np.sqrt(d)
