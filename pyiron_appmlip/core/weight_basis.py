"""One decomposition for all energy weights of a fixed training set (simultaneous
diagonalization of the energy part and the rest of the weighted problem).

For fixed data the weighted least-squares problem at energy weight ``w`` is

    min_beta  w^2 ||X_E beta - Y_E||^2 + ||X_R beta - Y_R||^2,

where ``X_E`` stacks the (unweighted, per-group-factor scaled) energy R factors and ``X_R`` the
rest with its weights fixed (force rows, stress rows, ridge rows). Only ``w`` changes between
the fits of a weight sweep (the force weight is folded into ``w = w_E / w_F`` when there are no
stress or ridge rows; otherwise every force weight gets its own decomposition).

Decomposition (once per training set and force weight), at a reference energy weight ``w0``
(the callers take the requested weight nearest the geometric mean of the smallest and largest,
so that its own fit comes out of the same SVD):

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
   whatever the conditioning of the data (no Gram matrix of the data is formed). One step of
   iterative refinement on the residuals of the factors (also O(n^2) per weight) removes the
   error the basis carries in its small directions.

Full rank (k = number of columns): the result is the exact least-squares solution for every
weight, i.e. ``scipy.linalg.lstsq`` of the dense weighted matrix, up to rounding.

Rank deficient (truncation at the reference weight): the result is the least-squares solution
restricted to the span of the k directions kept at ``w0`` (column scaling ``D0`` of ``w0``).
The present per-weight path instead truncates the SVD of the problem scaled at each weight.
Since ``diag(a, 1) M0`` changes every singular value by a factor between ``min(a, 1)`` and
``max(a, 1)``, the two differ only in directions whose singular values lie within that factor
of the cutoff; at the paper's weights (w_E/w_F 5 ... 300, reference ~39) that is a factor <= 7.7
around ``rcond * s_max`` (plus the change of the column scaling). Where few directions lie
there (LAMMPS qSNAP blocks truncated at rcond 1e-6) test errors agree within a few per cent,
as close as ``lstsq`` at rcond and at 3 rcond; where the spectrum is continuous through the
cutoff (the synthetic benchmark blocks) they can differ a lot, since each truncation is then a
different regularization. Underdetermined problems differ in the same way (minimum norm in a
different column scaling). :func:`~pyiron_appmlip.core.fit.fit_statistics_weights` therefore
uses the basis by default only where it proves full rank at the weight
(:meth:`EnergyWeightBasis.full_rank_bound`) and solves the other weights on their own.

Cost: the SVD and the eigendecomposition take ~30 n^3 flops, after which a weight costs
O(n^2). Stacking one weight's triangle and inverting it takes ~n^3, so for a few weights (the
paper's six) one triangle per weight is cheaper; ``fit_statistics_weights`` builds the basis by
default only for more than :data:`~pyiron_appmlip.core.fit.TRIANGLE_MAX_WEIGHTS` weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from ._linalg import _block_size, r_factor, scaled_svd, truncated_solve

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
        energy: pieces ``[X | Y]`` of the energy part, unweighted (per-group factors applied):
            ``X`` the first ``n_columns`` columns (descriptor columns, constant first), ``Y``
            the label columns (the same number in every piece).
        rest: pieces ``[X | Y]`` of the fixed part (force, stress and ridge rows with their
            weights applied).
        n_columns: number of coefficient columns n (p + 1) of every piece.
        reference: the reference energy weight ``w0`` of the truncation.
        rcond: relative singular-value cutoff at the reference weight.
        scale_columns: scale the columns of the reference problem to unit norm before the SVD.
        triangular: every piece is square upper triangular (the statistics' R factors with all
            their label columns).
        drop_constant: leave out column 0 (the constant); coefficients then have n - 1 rows.
        complete: ``True``: always build the basis for all weights (truncated at ``w0`` when
            rank deficient); ``"auto"``: only when the reference problem has full numerical
            rank (otherwise only :attr:`reference_coefficients` is available).

    Attributes:
        rank: number of kept directions k at the reference weight.
        singular_values: the k kept singular values of the column-scaled reference problem.
        reference: ``w0``.
        reference_coefficients: (n, L), the truncated-SVD solution at ``w0``: the same
            solve as :func:`~pyiron_appmlip.core.fit.fit_statistics_levels` at that weight.
        complete: whether :meth:`coefficients` and :meth:`projection` are available.
    """

    def __init__(
        self,
        energy: Sequence[np.ndarray],
        rest: Sequence[np.ndarray],
        n_columns: int,
        reference: float,
        *,
        rcond: float,
        scale_columns: bool = True,
        triangular: bool = False,
        drop_constant: bool = False,
        complete: bool | str = True,
    ):
        self.reference = w0 = float(reference)
        na = int(n_columns)
        self.scale_columns = bool(scale_columns)
        r0 = stacked_r([w0 * x for x in energy] + list(rest), triangular)
        first = 0
        if drop_constant:
            r0 = r_factor(r0[:, 1:])
            first = 1
            na -= 1
        self.n_columns = na
        n_labels = r0.shape[1] - na
        if complete == "auto":  # the reference solve first: enough when rank deficient
            beta, k, s = truncated_solve(r0[:na, :na], r0[:na, na:], rcond, scale_columns)
            self.rank, self.singular_values, self.reference_coefficients = k, s, beta
            if k < na:
                self.complete = False
                return
        c, u, s, vt = scaled_svd(r0[:na, :na], rcond, scale_columns)
        k = s.size
        self.rank = k
        self.singular_values = s
        if complete != "auto":
            z = r0[:na, na:]
            self.reference_coefficients = c[:, None] * (vt.T @ ((u.T @ z) / s[:, None]))
        # squared column norms of the energy and rest parts (column scaling at other weights)
        self._col_e = sum(np.einsum("ij,ij->j", x[:, first:], x[:, first:]) for x in energy)
        self._col_r = sum(np.einsum("ij,ij->j", x[:, first:], x[:, first:]) for x in rest)
        self._col_e = self._col_e[:na] if np.ndim(self._col_e) else np.zeros(na)
        self._col_r = self._col_r[:na] if np.ndim(self._col_r) else np.zeros(na)
        self.complete = complete is True or (complete == "auto" and k == na)
        if not self.complete:
            return
        if k == 0:
            self._t = np.zeros((na, 0))
            self._lam = np.zeros(0)
            self._u_e = self._u_r = np.zeros((0, n_labels))
            self._row_t = np.zeros(na)
            return
        b = c[:, None] * (vt.T / s)  # (n, k): beta = b @ g
        h = {}
        q = {}
        p_pieces = {}
        stop = first + na
        self._pieces = {}
        for name, pieces, w in (("e", energy, w0), ("r", rest, 1.0)):
            h[name] = np.zeros((k, k))
            q[name] = np.zeros((k, n_labels))
            p_pieces[name] = []
            self._pieces[name] = []
            for piece in pieces:
                rows = piece[:stop] if triangular else piece  # rows >= n of a triangle: 0
                x, y = rows[:, first:stop], rows[:, stop:]
                pk = (w * x) @ b
                h[name] += pk.T @ pk
                q[name] += pk.T @ (w * y)
                p_pieces[name].append(pk)
                self._pieces[name].append((x, y))
        lower = scipy.linalg.cholesky(h["e"] + h["r"], lower=True, check_finite=False)
        ce = scipy.linalg.solve_triangular(lower, h["e"], lower=True, check_finite=False)
        ce = scipy.linalg.solve_triangular(lower, ce.T, lower=True, check_finite=False)
        lam, z = scipy.linalg.eigh(0.5 * (ce + ce.T), check_finite=False)
        self._lam = np.clip(lam, 0.0, 1.0)
        linv_z = scipy.linalg.solve_triangular(lower.T, z, lower=False, check_finite=False)
        self._t = b @ linv_z
        self._u_e = linv_z.T @ q["e"]
        self._u_r = linv_z.T @ q["r"]
        # W = P L^-T Z per piece (u = W^T Y): for the refinement step of coefficients()
        self._w = {name: [pk @ linv_z for pk in p_pieces[name]] for name in p_pieces}
        self._row_t = np.einsum("ij,ij->i", self._t, self._t)

    def _denominator(self, energy_weight: float) -> np.ndarray:
        a2 = (float(energy_weight) / self.reference) ** 2
        return 1.0 + (a2 - 1.0) * self._lam, a2

    def _require_complete(self) -> None:
        if not self.complete:
            raise ValueError(
                "the basis was built with complete='auto' and the reference problem is rank "
                f"deficient (rank {self.rank} of {self.n_columns}); only the reference "
                "coefficients are available"
            )

    def coefficients(self, energy_weight: float, refine: int = 1) -> np.ndarray:
        """Coefficients (n, L) of every label column at ``energy_weight``; O(n^2 L).

        Args:
            energy_weight: the energy weight.
            refine: steps of iterative refinement: the residuals of the pieces are solved for
                a correction in the same basis (O(n^2 L) each). The basis carries errors
                ~ eps / s_i in its small directions; one step brings the result to the
                accuracy of a backward-stable solve of the weighted problem.
        """
        self._require_complete()
        d, a2 = self._denominator(energy_weight)
        beta = self._t @ ((a2 * self._u_e + self._u_r) / d[:, None])
        for _ in range(int(refine)):
            u_e = sum(
                wk.T @ (self.reference * (y - x @ beta))
                for wk, (x, y) in zip(self._w["e"], self._pieces["e"], strict=True)
            )
            u_r = sum(
                wk.T @ (y - x @ beta)
                for wk, (x, y) in zip(self._w["r"], self._pieces["r"], strict=True)
            )
            beta = beta + self._t @ ((a2 * u_e + u_r) / d[:, None])
        return beta

    def projection(self, energy_weight: float) -> np.ndarray:
        """(n, k) matrix ``Q`` with hat-matrix diagonal ``h_i = ||m_i @ Q||^2`` for a row
        ``m_i`` of the weighted matrix at ``energy_weight`` (energy rows times that weight,
        rest rows with their fixed weights)."""
        self._require_complete()
        d, _ = self._denominator(energy_weight)
        return self._t / np.sqrt(d)

    def full_rank_bound(self, energy_weight: float) -> float:
        """A lower bound, O(n), on ``s_min / s_max`` of the weighted matrix at
        ``energy_weight`` as the per-weight solve sees it (columns scaled to unit norm at that
        weight when ``scale_columns``); 0 when the basis is rank deficient.

        With ``beta = T h`` the weighted matrix maps ``h`` to orthogonal columns of norms
        ``sqrt(d_j)``, so ``s_min >= min_j sqrt(d_j) / ||D^-1 T||_F``; and ``s_max <=
        ||M D||_F``. When the bound exceeds ``rcond`` the per-weight truncated SVD keeps
        every direction, and :meth:`coefficients` is its solution (the exact least-squares
        solution) up to rounding.
        """
        self._require_complete()
        if self.rank < self.n_columns or self.rank == 0:
            return 0.0
        d, a2 = self._denominator(energy_weight)
        norms2 = a2 * self.reference**2 * self._col_e + self._col_r
        if self.scale_columns:
            s_max = np.sqrt(np.count_nonzero(norms2 > 0))
            t_frob = np.sqrt(np.sum(norms2 * self._row_t))
        else:
            s_max = np.sqrt(np.sum(norms2))
            t_frob = np.sqrt(np.sum(self._row_t))
        if not (s_max > 0 and t_frob > 0):
            return 0.0
        return float(np.sqrt(d.min()) / t_frob / s_max)
