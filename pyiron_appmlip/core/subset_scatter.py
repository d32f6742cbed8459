"""Statistics and fits of many independently drawn training subsets from one pass over the pool.

A design of many subsets drawn afresh from one pool (e.g. 12 sizes x 50 repetitions, each a
leverage-weighted draw) reads every configuration once per subset that contains it when each
subset is accumulated on its own. Here each configuration is read once per pass instead:

- its force rows ``Z = [X_F | Y_F]`` (descriptor columns, then one force-label column per level)
  give one Gram matrix ``Z^T Z`` (upper triangle), added into the accumulator of every subset
  that contains the configuration, times the number of times the subset drew it;
- its energy row (per atom, as in :mod:`.statistics`) is kept for the whole pool (n_pool rows).

Per subset, the force Gram becomes an R factor (``R^T R = Z^T Z``, by a Cholesky factorisation
of the column-scaled Gram) and the energy rows of its members one by a QR; both go into a
:class:`~.statistics.SufficientStatistics`, so every fit and error uses the package's usual
code (:func:`~.fit.statistics_fits`: column scaling, ``rcond``, constant column, energy rows per
atom times ``w_E``, force rows times ``w_F``).

Accuracy: a Gram matrix squares the condition number of the force columns. With ``kappa`` the
condition number of the column-scaled force Gram (estimated from its Cholesky factor), the
factor from the Gram carries a relative error of about ``1e-16 kappa``, against ``1e-16
sqrt(kappa)`` for a streamed QR. That error reaches the coefficients, but much less the fitted
values, and the design reports errors of fitted values: the training and test RMSEs. Subsets
whose estimate exceeds ``condition_limit`` (or whose scaled Gram is not numerically positive
definite) are accumulated again as streamed R factors
(:meth:`~.statistics.SufficientStatistics.add`) in one more pass over the configurations, so
their fits equal those of the per-subset route up to rounding.

The Grams of up to 256 configurations are buffered and added into the accumulators by one
matrix product with the (subsets x configurations) draw counts (BLAS ``dgemm``, in place).

Measured accuracy (column-scaled fits, ``rcond`` 1e-10, against the streamed route and dense
``scipy.linalg.lstsq`` on the stacked rows):

- random blocks: relative coefficient errors of about 1e-17 times the estimate (1e-8 at 1e9,
  6e-7 at 1e11, 7e-5 at 1e13), against 1e-11 .. 3e-9 for the streamed QR;
- qSNAP descriptors from LAMMPS at 2Jmax 8 (p = 1,595) of Be stand-in cells of 44-54 atoms,
  leverage-drawn subsets, levels 1 and 6, w_E/w_F 5 and 300, 100 test cells: estimates of
  8e10-5e11 for 20-300 cells, 4e12-2e13 for 12 cells and 5e13-6e14 for 11 cells. The
  largest relative difference of the training and test energy and force RMSEs between the
  Gram route and the streamed route (or dense ``lstsq``) was 4e-11 up to 1.4e11, 6e-10 at
  5e11, 1.2e-8 at 8e12, 6.5e-8 at 1.8e13, 5e-7 at 5e13 and 3e-6 at 6e14; that of the
  coefficients 5e-9, 3e-8, 3e-7, 1.7e-6, 2e-6 and 4e-6.

The default ``condition_limit`` of 1e13 therefore keeps the reported RMSEs to about 1e-7
(relative) and takes the Gram route for every subset of the paper's design at 2Jmax 8; the
coefficients of a subset near the limit may be off by a few 1e-6 (relative), in directions the
data hardly determine. Pass ``condition_limit=1e10`` where coefficients to about 1e-7 matter.

Memory: the accumulators hold ``n_subsets x m (m + 1) / 2`` float64 numbers, ``m = p +
n_levels``, and the buffer up to 256 such rows. Subsets are split into passes so that both stay
below ``memory_limit`` (each pass reads every configuration once more); on top come the pool's
energy rows (``n_pool x (p + 1 + n_levels)``), one configuration's block and the statistics of
the subset being fitted (two (p + 1 + n_levels)^2 triangles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.linalg import blas, lapack

from ._linalg import DEFAULT_RCOND, r_factor
from .fit import SubsetFit, statistics_fits
from .statistics import _UNIT_FACTORS, SufficientStatistics, _Group
from .validation import check_block, check_labels

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_CONDITION_LIMIT",
    "SubsetStatistics",
    "subset_memberships",
    "scatter_subset_statistics",
    "scatter_subset_fits",
]

DEFAULT_MEMORY_LIMIT = 3 << 30
"""Default limit of the subset accumulators, in bytes (3 GiB)."""

_BUFFER_CONFIGS = 256

DEFAULT_CONDITION_LIMIT = 1e13
"""Default largest estimated condition number of a subset's column-scaled force Gram that is
used as it is; above it the subset is accumulated again as streamed R factors. Up to this
estimate the training and test RMSEs from the Gram route stayed within 1e-7 (relative) of the
streamed route's on qSNAP descriptors at 2Jmax 8 (6.5e-8 at 1.8e13, but 5e-7 at 5e13); the
coefficients carry a larger relative error, up to about 1e-17 times the estimate (see the
module docstring). It was 1e10 before, which sent every subset of real 2Jmax 8 descriptors
(estimates 8e10-8e12) to the slower streamed route."""


@dataclass
class SubsetStatistics:
    """The statistics of one subset.

    Attributes:
        index: position of the subset in ``subsets``.
        statistics: the subset's statistics (partition ``"train"``), as if its configurations
            (with repeats) had been added one by one.
        route: ``"gram"`` (force factor from the scattered Gram) or ``"qr"`` (accumulated
            again as streamed R factors because the Gram was ill-conditioned).
        condition: estimated condition number of the column-scaled force Gram (inf where its
            Cholesky factorisation failed).
    """

    index: int
    statistics: SufficientStatistics
    route: str
    condition: float


def _configurations(source) -> Callable[[], Iterable]:
    if callable(source):
        return source
    if isinstance(source, Iterator):
        raise ValueError(
            "configurations must be a sequence or a function returning a fresh iterator "
            "(the pool may be read more than once), got a one-shot iterator"
        )
    return lambda: source


def subset_memberships(subsets: Sequence, n_pool: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per subset its distinct pool indices and how often each was drawn.

    Args:
        subsets: one sequence of pool indices (0 .. n_pool - 1) per subset; an index may occur
            more than once (a configuration drawn twice counts twice).
        n_pool: number of configurations in the pool.

    Returns:
        ``[(indices (k,), counts (k,)), ...]``, indices sorted.
    """
    n_pool = int(n_pool)
    if n_pool < 1:
        raise ValueError(f"n_pool must be a positive integer, got {n_pool!r}")
    if len(subsets) == 0:
        raise ValueError("subsets must contain at least one subset of pool indices")
    out = []
    for i, s in enumerate(subsets):
        idx = np.asarray(s)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"subsets[{i}] must be a non-empty 1-D sequence of pool indices")
        if not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"subsets[{i}] must hold integer pool indices, got {idx.dtype}")
        if idx.min() < 0 or idx.max() >= n_pool:
            raise ValueError(
                f"subsets[{i}] holds pool indices outside 0 .. {n_pool - 1} (n_pool={n_pool})"
            )
        u, c = np.unique(idx, return_counts=True)
        out.append((u.astype(np.int64), c.astype(float)))
    return out


def _passes(n_subsets: int, per_subset_bytes: int, available: float, memory_limit) -> list:
    per_pass = int(available // per_subset_bytes)
    if per_pass < 1:
        raise ValueError(
            f"memory_limit={memory_limit!r} bytes is smaller than one subset's accumulator and "
            f"one configuration's Gram ({per_subset_bytes} bytes each); allowed: at least "
            f"{2 * per_subset_bytes}"
        )
    return [range(a, min(a + per_pass, n_subsets)) for a in range(0, n_subsets, per_pass)]


def _read(item, p: int, levels: Sequence, n_pool: int):
    """``(index, force rows [X_F | Y_F] (3N, p + L), energy row (p + 1 + L,), N)``."""
    if len(item) != 3:
        raise ValueError(
            "each configuration must be (pool index, block, labels {level: (energy, forces)})"
        )
    index, block, labels = item
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise ValueError(f"a configuration's pool index must be an int, got {index!r}")
    index = int(index)
    if not 0 <= index < n_pool:
        raise ValueError(f"pool index {index} is outside 0 .. {n_pool - 1} (n_pool={n_pool})")
    x, n = check_block(block, p, name=f"block of configuration {index}")
    missing = [lv for lv in levels if lv not in labels]
    if missing:
        raise ValueError(
            f"configuration {index} has no labels at level(s) {missing!r}; every configuration "
            f"needs labels at all of levels={list(levels)!r}"
        )
    z = np.empty((3 * n, p + len(levels)))
    e_row = np.empty(p + 1 + len(levels))
    e_row[0] = 1.0
    e_row[1 : p + 1] = x[0] / n
    z[:, :p] = x[1 : 1 + 3 * n]
    for j, lv in enumerate(levels):
        e, f = check_labels(labels[lv][0], labels[lv][1], n, name=f"labels[{lv!r}] of {index}")
        z[:, p + j] = f.reshape(-1)
        e_row[p + 1 + j] = e / n
    return index, z, e_row, n


def _force_factor(packed: np.ndarray, m: int, condition_limit: float):
    """``(R (m + 1, m + 1) with a zero constant row/column first, condition estimate)`` from a
    packed upper-triangular Gram, or ``(None, condition)`` where it is too ill-conditioned."""
    g = np.zeros((m, m))
    g[np.triu_indices(m)] = packed
    d = np.sqrt(np.diag(g).copy())
    live = d > 0
    r = np.zeros((m + 1, m + 1))
    if not live.any():
        return r, 1.0
    sub = np.ix_(live, live)
    inv = 1.0 / d[live]
    s = np.triu(g[sub]) * inv[:, None] * inv[None, :]
    c, info = lapack.dpotrf(np.asfortranarray(s), lower=0, clean=1, overwrite_a=1)
    if info != 0:
        return None, float("inf")
    rcond, info = lapack.dtrcon(c, norm="1", uplo="U", diag="N")
    cond = float("inf") if info != 0 or rcond <= 0 else 1.0 / float(rcond) ** 2
    if not cond <= condition_limit:
        return None, cond
    cols = 1 + np.flatnonzero(live)
    r[np.ix_(cols, cols)] = c * d[live][None, :]
    return r, cond


def _statistics(p, levels, n_configs, n_atoms, energy_rows, force_r, force_rows):
    stats = SufficientStatistics(p, levels)
    mask = tuple(True for _ in levels)
    g = _Group(p, levels, mask, stats.chunk_rows, _UNIT_FACTORS)
    g.energy.r[...] = r_factor(energy_rows)
    g.energy.rows_seen = int(energy_rows.shape[0])
    g.force.r[...] = force_r
    g.force.rows_seen = int(force_rows)
    g.energy_sum[:] = energy_rows.sum(axis=0)
    g.counts[:] = (n_configs, n_atoms, 3 * n_atoms)
    stats._groups[("train", mask, _UNIT_FACTORS)] = g
    return stats


def scatter_subset_statistics(
    configurations,
    subsets: Sequence,
    levels: Sequence,
    *,
    n_descriptors: int,
    n_pool: int,
    memory_limit: float = DEFAULT_MEMORY_LIMIT,
    condition_limit: float = DEFAULT_CONDITION_LIMIT,
) -> Iterator[SubsetStatistics]:
    """The :class:`~.statistics.SufficientStatistics` of every subset, from passes over the
    pool that read each configuration once per pass (see the module docstring).

    Args:
        configurations: a sequence of ``(pool index, block, labels)`` or a function returning
            a fresh iterator of them (read once per pass, plus once more if some subset needs
            the streamed-QR route); ``block`` is a (1 + 3 N, p) descriptor block, ``labels``
            ``{level: (energy eV, forces (N, 3) eV/Angstrom)}`` with every level of
            ``levels``. Configurations in no subset may be left out.
        subsets: one sequence of pool indices per subset (an index may occur more than once).
        levels: the label levels to accumulate.
        n_descriptors: p, the number of descriptor columns.
        n_pool: number of configurations in the pool (pool indices run 0 .. n_pool - 1).
        memory_limit: bytes allowed for the subset accumulators (default 3 GiB); subsets are
            split into that many passes.
        condition_limit: largest estimated condition number of a subset's column-scaled force
            Gram used as it is (default :data:`DEFAULT_CONDITION_LIMIT`, 1e13: training and
            test RMSEs to about 1e-7, coefficients to about 1e-17 times the estimate,
            relative); above it (or where the Gram is not numerically positive definite) the
            subset is accumulated as streamed R factors instead.

    Yields:
        One :class:`SubsetStatistics` per subset (``index`` says which), in the order of
        ``subsets`` within each pass, except that the subsets accumulated again as streamed R
        factors come at the end of their pass. Only the statistics of the subset being yielded
        are held besides the accumulators.
    """
    p = int(n_descriptors)
    if p < 1:
        raise ValueError(f"n_descriptors must be a positive integer, got {n_descriptors!r}")
    levels = list(levels)
    if not levels or len(set(levels)) != len(levels):
        raise ValueError(f"levels must name at least one label level, each once, got {levels!r}")
    if not (isinstance(memory_limit, int | float) and memory_limit > 0):
        raise ValueError(f"memory_limit must be a positive number of bytes, got {memory_limit!r}")
    if not (isinstance(condition_limit, int | float) and condition_limit >= 1):
        raise ValueError(f"condition_limit must be a number >= 1, got {condition_limit!r}")
    source = _configurations(configurations)
    members = subset_memberships(subsets, n_pool)
    m = p + len(levels)
    row_bytes = 8 * (m * (m + 1) // 2)
    n_buffer = int(max(1, min(_BUFFER_CONFIGS, memory_limit // 4 // row_bytes)))
    passes = _passes(len(members), row_bytes, memory_limit - n_buffer * row_bytes, memory_limit)
    for batch in passes:
        yield from _one_pass(
            source, members, batch, levels, p, int(n_pool), condition_limit, n_buffer, memory_limit
        )


def _one_pass(source, members, batch, levels, p, n_pool, condition_limit, n_buffer, memory_limit):
    m = p + len(levels)
    iu = np.triu_indices(m)
    # counts (subsets of this pass x pool): how often each subset drew each configuration
    owner = np.concatenate([np.full(members[s][0].size, k) for k, s in enumerate(batch)])
    pool_index = np.concatenate([members[s][0] for s in batch])
    counts = np.concatenate([members[s][1] for s in batch])
    membership = scipy.sparse.csc_matrix((counts, (owner, pool_index)), shape=(len(batch), n_pool))
    drawn = np.diff(membership.indptr) > 0
    acc = np.zeros((len(batch), len(iu[0])))
    grams = np.empty((min(n_buffer, int(drawn.sum())), len(iu[0])))
    held: list[int] = []
    energy = np.full((n_pool, p + 1 + len(levels)), np.nan)
    atoms = np.zeros(n_pool, dtype=np.int64)
    seen = np.zeros(n_pool, dtype=bool)

    def scatter(acc, grams, held):
        # acc += counts[:, held] @ grams, in place (acc.T is Fortran-ordered)
        k = len(held)
        weights = np.ascontiguousarray(membership[:, held].toarray())
        blas.dgemm(1.0, grams[:k].T, weights.T, beta=1.0, c=acc.T, overwrite_c=1)
        held.clear()

    for item in source():
        i, z, e_row, n = _read(item, p, levels, n_pool)
        if seen[i]:
            raise ValueError(f"configuration {i} occurs twice in configurations")
        seen[i] = True
        energy[i], atoms[i] = e_row, n
        if not drawn[i]:
            continue
        grams[len(held)] = blas.dsyrk(1.0, z, trans=1, lower=0)[iu]
        held.append(i)
        if len(held) == grams.shape[0]:
            scatter(acc, grams, held)
    if held:
        scatter(acc, grams, held)
    del grams
    if not seen[drawn].all():
        missing = np.flatnonzero(drawn & ~seen)[:5].tolist()
        raise ValueError(
            f"configurations in subsets were not provided, e.g. pool indices {missing}"
        )
    redo = {}
    for local, s in enumerate(batch):
        idx, cnt = members[s]
        force_r, cond = _force_factor(acc[local], m, condition_limit)
        if force_r is None:
            redo[s] = cond
            continue
        rows = np.repeat(idx, cnt.astype(np.int64))
        n_atoms = int(atoms[rows].sum())
        stats = _statistics(p, levels, rows.size, n_atoms, energy[rows], force_r, 3 * n_atoms)
        yield SubsetStatistics(s, stats, "gram", cond)
    del acc
    n = m + 1
    per_stats = 8 * n * (2 * n + max(1024, 4 * n))  # two triangles and the row buffer
    group = max(1, int(memory_limit // per_stats))
    pending = list(redo)
    for start in range(0, len(pending), group):
        chosen = pending[start : start + group]
        redo_stats = {s: SufficientStatistics(p, levels) for s in chosen}
        counts = {}
        for s in chosen:
            for i, c in zip(*members[s], strict=True):
                counts.setdefault(int(i), []).append((s, int(c)))
        for index, block, labels in source():
            for s, c in counts.get(int(index), ()):
                for _ in range(c):
                    redo_stats[s].add(block, {lv: labels[lv] for lv in levels})
        for s in chosen:
            stats = redo_stats.pop(s)
            stats.release_buffers()
            yield SubsetStatistics(s, stats, "qr", redo[s])


def scatter_subset_fits(
    configurations,
    subsets: Sequence,
    weights: Sequence[tuple[float, float]],
    levels: Sequence,
    *,
    n_descriptors: int,
    n_pool: int,
    test_statistics: SufficientStatistics | None = None,
    test_levels: Sequence | None = None,
    test_partition: str = "test",
    rcond: float = DEFAULT_RCOND,
    scale_columns: bool = True,
    constant: bool = True,
    memory_limit: float = DEFAULT_MEMORY_LIMIT,
    condition_limit: float = DEFAULT_CONDITION_LIMIT,
) -> Iterator[tuple[SubsetStatistics, list[SubsetFit]]]:
    """Every subset's fits at every weight pair and level, with test errors, from passes over
    the pool (:func:`scatter_subset_statistics`) and :func:`~.fit.statistics_fits` per subset.

    Args:
        configurations: as in :func:`scatter_subset_statistics`.
        subsets: one sequence of pool indices per subset.
        weights: ``(energy_weight, force_weight)`` pairs.
        levels: training levels (all accumulated, each fitted).
        n_descriptors: p.
        n_pool: number of configurations in the pool.
        test_statistics: statistics of the test configurations (one pass, built once); when
            given, every fit's test errors (meV/atom, meV/Angstrom) are evaluated on them.
        test_levels: levels of the test errors (default: those of ``test_statistics``).
        test_partition: the partition of ``test_statistics`` to evaluate.
        rcond: as in :func:`~.fit.fit_statistics_levels`.
        scale_columns: as in :func:`~.fit.fit_statistics_levels`.
        constant: as in :func:`~.fit.fit_statistics_levels`.
        memory_limit: as in :func:`scatter_subset_statistics`.
        condition_limit: as in :func:`scatter_subset_statistics`.

    Yields:
        ``(SubsetStatistics, [SubsetFit, ...])`` per subset, in the order of
        :func:`scatter_subset_statistics`; the fits in the order of :func:`~.fit.statistics_fits` (weight pairs, then levels).
    """
    levels = list(levels)
    for item in scatter_subset_statistics(
        configurations,
        subsets,
        levels,
        n_descriptors=n_descriptors,
        n_pool=n_pool,
        memory_limit=memory_limit,
        condition_limit=condition_limit,
    ):
        fits = statistics_fits(
            item.statistics,
            weights,
            levels,
            test_statistics=test_statistics,
            test_levels=test_levels,
            test_partition=test_partition,
            rcond=rcond,
            scale_columns=scale_columns,
            constant=constant,
        )
        yield item, fits
