"""Label-free leverage scores (the paper's section 2.3 and equation 4), streamed.

For the weighted training matrix as the fit uses it, ``X_w = W [c | X]`` (constant column
included, energy rows scaled by w_E / N_m, force rows by w_F), the leverage of row i is the
hat-matrix diagonal ``h_i = (U U^T)_ii = ||U_i||^2`` with U from the thin SVD of ``X_w D``,
truncated at ``s > rcond * s_max`` (D = 1 / column norms when ``scale_columns``; for a
full-rank matrix the hat matrix does not depend on D).

Pass 1 accumulates the R factors (label-free :class:`SufficientStatistics`); the SVD of the
small weighted R, ``R D = U' S V^T``, gives ``U = X_w D V S^-1``. Pass 2 evaluates
``h_i = ||x_{w,i}^T D V S^-1||^2`` row by row. Regular leverage of a configuration is the
value of its energy row, block leverage the sum over all of its rows.

Several weights from one decomposition (:class:`SharedLeverageProjector`): the pool's energy
and force factors are decomposed once (:class:`~.weight_basis.EnergyWeightBasis` at a reference
ratio, the requested one nearest the geometric mean of the smallest and largest ``w_E / w_F``);
for weight w the hat-matrix diagonal is ``h_i = w_i^2 sum_j (x_i T)_j^2 / d_j(w)``, so one pass
that forms the squared projections ``(x_i T)^2`` (summed over the rows of a configuration for
block leverage) gives every weight by one (configurations, k) x (k, weights) product. Full rank:
equal to the per-weight SVD leverage. Rank deficient: with ``factorization="auto"`` such a
weight gets its own projection (still scored in the same pass), with ``"shared"`` the
truncation is that of the reference ratio for every weight, see :mod:`.weight_basis`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ._linalg import (
    DEFAULT_RCOND,
    proven_full_rank_inverse,
    r_factor,
    scaled_svd,
    triangular_projection_rows,
)
from .statistics import SufficientStatistics
from .validation import (
    as_weight_pairs,
    check_block,
    check_nonempty,
    check_rcond,
    check_weights,
)
from .weight_basis import EnergyWeightBasis

__all__ = [
    "LeverageProjector",
    "SharedLeverageProjector",
    "leverage_scores",
    "leverage_scores_weights",
    "leverage_scores_streamed",
]

_BATCH_ROWS = 8192


def _stream_scores(blocks, p, energy, forces) -> tuple[list, list]:
    """Leverage pieces of a stream of blocks, force rows batched into ~``_BATCH_ROWS`` rows.

    Returns ``(energies, force_sums)``: ``energy(x, n)`` of every checked block ``x`` of ``n``
    atoms, and per block the sum over its force rows of ``forces(rows)`` (evaluated on the force
    rows of many blocks stacked at once).
    """
    energies: list = []
    force_sums: list = []
    pending: list[np.ndarray] = []
    n_pending = 0

    def flush():
        nonlocal pending, n_pending
        if not pending:
            return
        sizes = [x.shape[0] - 1 for x in pending]
        values = forces(np.concatenate([x[1:] for x in pending]))
        starts = np.cumsum([0] + sizes[:-1])
        force_sums.extend(np.add.reduceat(values, starts, axis=0) if values.size else [])
        pending, n_pending = [], 0

    for i, b in enumerate(blocks):
        x, n = check_block(b, p, name=f"blocks[{i}]")
        energies.append(energy(x, n))
        pending.append(x)
        n_pending += x.shape[0]
        if n_pending >= _BATCH_ROWS:
            flush()
    flush()
    return energies, force_sums


def _force_projection(projection: np.ndarray, triangular: bool):
    """``rows -> [0, rows] @ projection`` for force rows (their constant column is zero); for
    the inverse R factor (upper triangular) one triangular product (``dtrmm``), half the flops
    of the dense one."""
    if not triangular:
        proj_x = projection[1:]
        return lambda rows: rows @ proj_x
    upper = np.asfortranarray(projection)

    def project(rows):
        augmented = np.zeros((rows.shape[0], upper.shape[0]), order="F")
        augmented[:, 1:] = rows
        return triangular_projection_rows(augmented, upper)

    return project


class LeverageProjector:
    """Hat-matrix diagonal of new rows for the weighted training matrix held in ``stats``.

    All configurations of ``partition`` count, whatever labels they carry.

    Args:
        stats: streamed statistics of the weighted training matrix.
        energy_weight: weight w_E of the energy rows.
        force_weight: weight w_F of the force rows.
        partition: the partition of ``stats`` that forms the training matrix.
        rcond: relative singular-value cutoff; singular values ``s > rcond * s_max`` are kept.
        scale_columns: scale the columns to unit norm before the SVD.

    Where a bound proves full numerical rank (:func:`~._linalg.proven_full_rank_inverse`: the
    truncated SVD would keep every direction), the projection is the inverse of the weighted R
    factor, which needs no SVD and halves the flops of the scoring pass (a triangular product);
    otherwise it comes from the truncated SVD. Both give the same hat-matrix diagonal.

    Attributes:
        rank: the number of directions kept (p + 1 where full rank is proven).
        singular_values: singular values of the column-scaled weighted matrix, or ``None``
            where full rank was proven without an SVD.
        projection: (p + 1, rank) with ``h_i = ||x_{w,i} @ projection||^2`` (upper triangular
            where full rank was proven).
        triangular: whether ``projection`` is the inverse R factor.
    """

    def __init__(
        self,
        stats: SufficientStatistics,
        energy_weight: float,
        force_weight: float,
        *,
        partition: str = "train",
        rcond: float = DEFAULT_RCOND,
        scale_columns: bool = True,
    ):
        self.energy_weight, self.force_weight = check_weights(energy_weight, force_weight)
        rcond = check_rcond(rcond)
        p = stats.n_descriptors
        pieces = []
        for g in stats._groups_for(partition):
            for part, w in ((g.energy, self.energy_weight), (g.force, self.force_weight)):
                r = part.used()
                if r.shape[0]:
                    pieces.append(w * r[:, : p + 1])
        r = r_factor(np.vstack(pieces))
        self.n_descriptors = p
        proven = proven_full_rank_inverse(r, rcond, scale_columns)
        self.triangular = proven is not None
        if proven is not None:
            self.projection = proven[0]
            self.rank = p + 1
            self.singular_values = None
            return
        c, _, s, vt = scaled_svd(r, rcond, scale_columns)
        self.rank = s.size
        self.singular_values = s
        self.projection = c[:, None] * (vt.T / s)

    def scores(self, blocks: Iterable) -> tuple[np.ndarray, np.ndarray]:
        """Leverage of each configuration in ``blocks``.

        Args:
            blocks: iterable of (1 + 3 N_m, p) descriptor blocks.

        Returns:
            ``(regular (M,), block (M,))``.
        """
        proj_x = self.projection[1:]
        force_projection = _force_projection(self.projection, self.triangular)

        def energy(x, n):
            e = self.energy_weight * (self.projection[0] + (x[0] / n) @ proj_x)
            return float(e @ e)

        def forces(rows):
            f = force_projection(rows)
            return np.einsum("ij,ij->i", f, f) * self.force_weight**2

        regular, block_sum = _stream_scores(blocks, self.n_descriptors, energy, forces)
        regular_arr = np.asarray(regular)
        return regular_arr, regular_arr + np.asarray(block_sum)


def leverage_scores(
    blocks: Sequence,
    energy_weight: float,
    force_weight: float,
    *,
    rcond: float = DEFAULT_RCOND,
) -> tuple[np.ndarray, np.ndarray]:
    """Regular and block leverage of every configuration of an in-memory pool.

    Args:
        blocks: list of (1 + 3 N_m, p).
        energy_weight: weight w_E of the energy rows.
        force_weight: weight w_F of the force rows.
        rcond: relative singular-value cutoff.

    Returns:
        ``(regular (M,), block (M,))``: the hat-matrix diagonal of each configuration's energy
        row, and its sum over the configuration's rows, for the weighted matrix the fit with
        these weights uses (constant column included).
    """
    check_weights(energy_weight, force_weight)
    check_nonempty(blocks, "blocks")
    first, _ = check_block(blocks[0], name="blocks[0]")
    stats = SufficientStatistics(first.shape[1])
    for i, b in enumerate(blocks):
        try:
            stats.add(b)
        except ValueError as err:
            raise ValueError(f"blocks[{i}]: {err}") from None
    return LeverageProjector(stats, energy_weight, force_weight, rcond=rcond).scores(blocks)


def leverage_scores_streamed(
    make_blocks: Callable[[], Iterable],
    energy_weight: float,
    force_weight: float,
    *,
    rcond: float = DEFAULT_RCOND,
    chunk_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`leverage_scores` for pools that do not fit in memory.

    Args:
        make_blocks: ``make_blocks()`` must return a fresh iterable over the same blocks each
            time; it is called twice (factor pass, then scoring pass).
        energy_weight: weight w_E of the energy rows.
        force_weight: weight w_F of the force rows.
        rcond: relative singular-value cutoff.
        chunk_rows: row buffer size of the statistics (see :class:`SufficientStatistics`).

    Returns:
        ``(regular (M,), block (M,))``, as :func:`leverage_scores`.
    """
    check_weights(energy_weight, force_weight)
    stats = None
    for b in make_blocks():
        if stats is None:
            stats = SufficientStatistics(np.shape(b)[-1], chunk_rows=chunk_rows)
        stats.add(b)
    if stats is None:
        raise ValueError("make_blocks() must yield at least one configuration, got none")
    return LeverageProjector(stats, energy_weight, force_weight, rcond=rcond).scores(make_blocks())


class SharedLeverageProjector:
    """Hat-matrix diagonals for several weight pairs from one decomposition of the pool and
    one scoring pass.

    All configurations of ``partition`` count, whatever labels they carry; as
    :class:`LeverageProjector`, the rows are weighted by ``w_E`` and ``w_F`` only (per-group
    weight factors are not applied).

    Args:
        stats: streamed statistics of the pool.
        weights: ``(energy_weight, force_weight)`` pairs.
        partition: the partition of ``stats`` that forms the pool.
        rcond: relative singular-value cutoff.
        scale_columns: scale the columns to unit norm before the SVD.
        factorization: ``"auto"`` (default): every weight's leverage equals
            :class:`LeverageProjector`'s; a weight uses the shared decomposition where it
            proves full numerical rank (see
            :meth:`~.weight_basis.EnergyWeightBasis.full_rank_bound`), otherwise its own SVD
            of the small weighted R (still scored in the same pass). ``"shared"``: every
            weight from the shared decomposition, truncated at the reference ratio where rank
            deficient.

    A single ratio with ``factorization="auto"`` needs no shared decomposition: its weighted R
    factor is inverted where a bound proves full rank (as in :class:`LeverageProjector`).

    Attributes:
        weights: the weight pairs.
        rank: number of kept directions of the shared decomposition (p + 1 for a single ratio
            proven full rank).
        reference: the reference ratio ``w_E / w_F`` of the shared decomposition.
        shared: ``{(w_E, w_F): True if from the shared decomposition}``.
        triangular: whether the single ratio's inverse R factor is the projection.
    """

    def __init__(
        self,
        stats: SufficientStatistics,
        weights,
        *,
        partition: str = "train",
        rcond: float = DEFAULT_RCOND,
        scale_columns: bool = True,
        factorization: str = "auto",
    ):
        if factorization not in ("auto", "shared"):
            raise ValueError(f"factorization must be 'auto' or 'shared', got {factorization!r}")
        self.weights = as_weight_pairs(weights)
        if not self.weights:
            raise ValueError("weights must contain at least one (energy_weight, force_weight) pair")
        rcond = check_rcond(rcond)
        p = stats.n_descriptors
        energy, force = [], []
        for g in stats._groups_for(partition):
            for part, target in ((g.energy, energy), (g.force, force)):
                r = part.used()
                if part.rows_seen:
                    target.append(r[: p + 1, : p + 1])
        self.n_descriptors = p
        ratios = np.array([we / wf for we, wf in self.weights])
        unique = np.unique(ratios)
        middle = np.sqrt(unique[0] * unique[-1])
        self.reference = float(unique[np.argmin(np.abs(np.log(unique / middle)))])
        self._segments: list[np.ndarray] = []
        self._columns: dict = {}  # weight -> (segment, column weights, energy-row factor)
        self.shared = {}
        self.triangular = False
        own_r = {}  # ratio -> its weighted R factor, where already computed
        if factorization == "auto" and unique.size == 1 and energy and force:
            # one ratio: its own R factor, inverted where full rank is proven (no SVD)
            ratio = float(unique[0])
            r = own_r[ratio] = r_factor(np.vstack([ratio * x for x in energy] + list(force)))
            proven = proven_full_rank_inverse(r, rcond, scale_columns)
            if proven is not None:
                self.triangular = True
                self.rank = p + 1
                self._segments.append(proven[0])
                for w in self.weights:
                    self._columns[w] = (0, np.ones(p + 1), ratio)
                    self.shared[w] = False
                return
        basis = None
        if energy and force:
            basis = EnergyWeightBasis(
                energy,
                force,
                p + 1,
                self.reference,
                rcond=rcond,
                scale_columns=scale_columns,
                triangular=True,
                complete=True if factorization == "shared" else "auto",
            )
        self.rank = basis.rank if basis is not None else -1
        if basis is not None and basis.complete:
            self._segments.append(basis._t)
        for w, ratio in zip(self.weights, ratios, strict=True):
            use_shared = (
                basis is not None
                and basis.complete
                and (factorization == "shared" or basis.full_rank_bound(ratio) > 10.0 * rcond)
            )
            self.shared[w] = bool(use_shared)
            if use_shared:
                d, _ = basis._denominator(ratio)
                self._columns[w] = (0, 1.0 / d, ratio)
                continue
            r = own_r.get(float(ratio))
            if r is None:
                r = r_factor(np.vstack([ratio * x for x in energy] + list(force)))
            c, _, s, vt = scaled_svd(r, rcond, scale_columns)
            self._segments.append(c[:, None] * (vt.T / s))
            self._columns[w] = (len(self._segments) - 1, np.ones(s.size), ratio)

    def scores(self, blocks: Iterable) -> dict:
        """Leverage of each configuration in ``blocks`` for every weight pair, in one pass.

        Args:
            blocks: iterable of (1 + 3 N_m, p) descriptor blocks.

        Returns:
            ``{(w_E, w_F): (regular (M,), block (M,))}``.
        """
        t = np.hstack(self._segments)
        t_x = t[1:]
        bounds = np.cumsum([0] + [seg.shape[1] for seg in self._segments])

        def energy(x, n):
            e = t[0] + (x[0] / n) @ t_x
            return e * e

        project = _force_projection(t, self.triangular)

        def forces(rows):
            proj = project(rows)
            proj *= proj
            return proj

        energy_sq, force_sq = _stream_scores(blocks, self.n_descriptors, energy, forces)
        width = t.shape[1]
        es = np.asarray(energy_sq).reshape(-1, width)
        fs = np.asarray(force_sq).reshape(-1, width) if force_sq else np.zeros_like(es)
        out = {}
        for w in self.weights:
            seg, col_w, ratio = self._columns[w]
            sl = slice(bounds[seg], bounds[seg + 1])
            regular = ratio**2 * (es[:, sl] @ col_w)
            out[w] = (regular, regular + fs[:, sl] @ col_w)
        return out


def leverage_scores_weights(
    blocks: Sequence,
    weights,
    *,
    rcond: float = DEFAULT_RCOND,
    factorization: str = "auto",
) -> dict:
    """Regular and block leverage of an in-memory pool for several weight pairs from one
    decomposition and one scoring pass (:class:`SharedLeverageProjector`).

    Args:
        blocks: list of (1 + 3 N_m, p).
        weights: ``(energy_weight, force_weight)`` pairs.
        rcond: relative singular-value cutoff.
        factorization: ``"auto"`` or ``"shared"``, see :class:`SharedLeverageProjector`.

    Returns:
        ``{(w_E, w_F): (regular (M,), block (M,))}``, as :func:`leverage_scores` per pair
        (with ``"auto"``).
    """
    check_nonempty(blocks, "blocks")
    first, _ = check_block(blocks[0], name="blocks[0]")
    stats = SufficientStatistics(first.shape[1])
    for i, b in enumerate(blocks):
        try:
            stats.add(b)
        except ValueError as err:
            raise ValueError(f"blocks[{i}]: {err}") from None
    return SharedLeverageProjector(stats, weights, rcond=rcond, factorization=factorization).scores(
        blocks
    )
