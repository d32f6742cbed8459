"""Dense kernels: streamed R factors and the rank-truncated least-squares solve."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import blas, lapack

DEFAULT_RCOND = 1e-10
"""Relative singular-value cutoff: singular values <= rcond * s_max are treated as zero."""


def _block_size(n: int) -> int:
    """LAPACK tpqrt block size; measured best on OpenBLAS for these column counts."""
    return max(1, min(n, 32 if n < 1000 else 64 if n < 3000 else 128))


def triangular_update(r: np.ndarray, rows: np.ndarray) -> None:
    """Replace ``r`` by the R factor of ``[r; rows]``, in place.

    Uses LAPACK ``dtpqrt`` (Householder QR of a triangle stacked on a rectangle), which costs
    2 m n^2 flops and is backward stable column by column, so it needs no column scaling.

    Args:
        r: (n, n) upper triangular, float64, Fortran order.
        rows: (m, n); it is used as scratch space when it is already a Fortran-ordered float64
            array.
    """
    if rows.shape[0] == 0:
        return
    n = r.shape[1]
    b = np.asfortranarray(rows, dtype=float)
    out, _, _, info = lapack.dtpqrt(0, _block_size(n), r, b, overwrite_a=1, overwrite_b=1)
    if info != 0:  # pragma: no cover - only on invalid arguments
        raise np.linalg.LinAlgError(f"dtpqrt failed with info={info}")
    if out is not r:  # pragma: no cover - f2py copied despite overwrite_a
        r[...] = out


def r_factor(matrix: np.ndarray) -> np.ndarray:
    """Square (n, n) R factor of an (m, n) matrix (zero rows appended when m < n)."""
    m, n = matrix.shape
    if m == 0:
        return np.zeros((n, n))
    r = scipy.linalg.qr(matrix, mode="r", check_finite=False)[0]
    if r.shape[0] < n:
        r = np.vstack([r, np.zeros((n - r.shape[0], n))])
    return r[:n]


def scaled_svd(r11: np.ndarray, rcond: float, scale_columns: bool = True):
    """Truncated SVD of ``r11 @ diag(c)``.

    Args:
        r11: the matrix, n columns.
        rcond: relative singular-value cutoff.
        scale_columns: if True, ``c`` is 1 / column norm (1 for zero columns), else 1.

    Returns:
        ``(c (n,), u (n, k), s (k,), vt (k, n))`` keeping the ``k`` singular values
        ``s > rcond * s_max`` (the convention of LAPACK ``gelsd`` / ``scipy.linalg.lstsq(cond=)``).
    """
    n = r11.shape[1]
    if scale_columns:
        norms = np.linalg.norm(r11, axis=0)
        c = np.ones(n)
        np.divide(1.0, norms, out=c, where=norms > 0)
    else:
        c = np.ones(n)
    a = r11 * c
    try:
        u, s, vt = scipy.linalg.svd(a, full_matrices=False, check_finite=False)
    except np.linalg.LinAlgError:  # pragma: no cover - gesdd convergence failure
        u, s, vt = scipy.linalg.svd(
            a, full_matrices=False, check_finite=False, lapack_driver="gesvd"
        )
    k = int(np.count_nonzero(s > rcond * s[0])) if s.size and s[0] > 0 else 0
    return c, u[:, :k], s[:k], vt[:k]


def truncated_solve(
    r11: np.ndarray,
    z: np.ndarray,
    rcond: float,
    scale_columns: bool = True,
    n_equations: int | None = None,
):
    """Minimum-norm (in scaled coordinates) solution of ``min ||r11 b - z||``.

    With ``scale_columns=False`` this is ``scipy.linalg.lstsq(r11, z, cond=rcond)``; with
    ``True`` it is ``c * lstsq(r11 * c, z, cond=rcond)`` for c = 1 / column norms. Solved by
    LAPACK ``gelsd`` (SVD by divide and conquer, the singular vectors applied implicitly: about
    half the cost of an explicit SVD).

    An R factor of m < n equations has at most m non-zero rows in exact arithmetic; the
    streamed updates leave rounding noise in the others. Given ``n_equations = m < n``, only
    the m rows of largest (column-scaled) norm are solved: O(m^2 n) instead of O(n^3), with the
    same solution up to that noise.

    Args:
        r11: (n, n).
        z: (n, k).
        rcond: relative singular-value cutoff.
        scale_columns: scale the columns of ``r11`` to unit norm before the SVD.
        n_equations: number of equations behind ``r11`` (None: unknown).

    Returns:
        ``(b (n, k), rank, singular values kept)``.
    """
    n = r11.shape[1]
    c = np.ones(n)
    if scale_columns:
        norms = np.linalg.norm(r11, axis=0)
        np.divide(1.0, norms, out=c, where=norms > 0)
    if n_equations is not None and 0 < n_equations < r11.shape[0]:
        keep = np.sort(np.argsort(np.linalg.norm(r11 * c, axis=1))[-int(n_equations) :])
        r11, z = r11[keep], z[keep]
    if n == 0 or not np.any(r11):
        return np.zeros((n, z.shape[1])), 0, np.zeros(0)
    if z.shape[1] == 0:  # no right-hand side: the rank and singular values only
        s = scipy.linalg.svd(r11 * c, compute_uv=False, check_finite=False)
        keep = s[s > rcond * s[0]] if s[0] > 0 else s[:0]
        return np.zeros((n, 0)), keep.size, keep
    try:
        x, _, rank, s = scipy.linalg.lstsq(
            r11 * c, z, cond=rcond, check_finite=False, lapack_driver="gelsd"
        )
    except np.linalg.LinAlgError:  # pragma: no cover - gelsd convergence failure
        u_, s_, vt_ = scaled_svd(r11, rcond, scale_columns)[1:]
        return c[:, None] * (vt_.T @ ((u_.T @ z) / s_[:, None])), s_.size, s_
    return c[:, None] * x, int(rank), s[: int(rank)]


def proven_full_rank_inverse(r11: np.ndarray, rcond: float, scale_columns: bool = True):
    """``r11^-1`` where a bound proves that the truncated SVD of the (column-scaled) triangle
    would keep every direction; ``None`` where it does not.

    With ``A = r11 @ diag(c)`` (``c`` as in :func:`truncated_solve`) and its explicit inverse
    (LAPACK ``dtrtri``, n^3 / 3 flops, against ~10 n^3 for an SVD),
    ``s_max(A) <= min(||A||_F, sqrt(||A||_1 ||A||_inf))`` and the same for ``1 / s_min(A) =
    ||A^-1||_2``. When the resulting lower bound on ``s_min / s_max`` exceeds ``10 rcond``, no
    singular value falls below ``rcond * s_max``: the matrix has full numerical rank, and
    ``r11^-1 = diag(c) A^-1`` (upper triangular).

    Args:
        r11: (n, n) upper triangular.
        rcond: relative singular-value cutoff.
        scale_columns: scale the columns of ``r11`` to unit norm.

    Returns:
        ``(r11^-1 (n, n), bound)`` or ``None``.
    """
    n = r11.shape[1]
    if n == 0:
        return None
    norms = np.linalg.norm(r11, axis=0)
    if not np.all(norms > 0):
        return None
    c = 1.0 / norms if scale_columns else np.ones(n)
    a = np.asfortranarray(np.triu(r11) * c)
    inv, info = lapack.dtrtri(a, lower=0, unitdiag=0, overwrite_c=0)
    if info != 0:  # an exact zero on the diagonal
        return None

    def norm2_bound(m):
        return min(np.linalg.norm(m), np.sqrt(np.linalg.norm(m, 1) * np.linalg.norm(m, np.inf)))

    inv = np.triu(inv)
    bound = 1.0 / (norm2_bound(a) * norm2_bound(inv))
    if not bound > 10.0 * rcond:  # also NaN / inf from overflow
        return None
    return c[:, None] * inv, float(bound)


def proven_full_rank_solve(
    r11: np.ndarray, z: np.ndarray, rcond: float, scale_columns: bool = True
):
    """``truncated_solve(r11, z, rcond, scale_columns)`` by back substitution, where
    :func:`proven_full_rank_inverse` proves that the truncated SVD would keep every direction
    (then the truncated, minimum-norm solution is the unique least-squares solution
    ``r11^-1 z``); ``None`` where it does not.

    Args:
        r11: (n, n) upper triangular.
        z: (n, k).
        rcond: relative singular-value cutoff.
        scale_columns: scale the columns of ``r11`` to unit norm.

    Returns:
        ``(b (n, k), bound)`` or ``None``.
    """
    proven = proven_full_rank_inverse(r11, rcond, scale_columns)
    if proven is None:
        return None
    inverse, bound = proven
    return inverse @ z, bound


def triangular_projection_rows(rows: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``rows @ upper`` for an upper triangular ``upper`` (BLAS ``dtrmm``: half the flops of a
    dense product); ``rows`` is overwritten when it is a Fortran-ordered float64 array."""
    return blas.dtrmm(1.0, upper, rows, side=1, lower=0, overwrite_b=1)
