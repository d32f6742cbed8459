"""Multi-fidelity training sets: energy rows from one DFT level, force rows from another, and
Delta models (a cheap level's model plus a correction fitted to the difference of two levels).

A *multi-fidelity training set* is a list of DFT calculations ``(configuration, level)``. Its
energy rows are the energies of the configurations of an energy subset at ``energy_level``, its
force (and stress) rows the forces of a force subset at ``force_level``. The subsets may differ
in size: many cheap force labels and a few expensive energies is the usual case. The energy
subset may lie inside the force subset (``nested``: a configuration then costs a calculation at
each of the two levels) or not.

Both fits come from the streamed statistics (:class:`~.statistics.SufficientStatistics`) without
another pass over the descriptors: the statistics keep, per partition, the R factors of
``[A | y_1 | ... | y_L]`` separately for energy rows and force rows, so the stack
``[w_E R_E[:, (A, y_a)]; w_F R_F[:, (A, y_b)]]`` is the weighted problem with energy labels of
level a and force labels of level b (the norm of ``[A, y] v`` equals that of ``R v`` for every
``v``). The energy factors may come from other statistics than the force factors (another
subset of the same configurations, :class:`EnergyFactors`), so every (energy size, force size,
level pair, weight) is one small p x p solve.

A *Delta model* ``beta_low + beta_delta`` has a base fitted to ``low_level`` and a correction
fitted to ``y_high - y_low`` on the configurations labelled at both (usually far fewer). The
correction may use only some of the descriptor columns (those of a smaller 2Jmax: the
bispectrum components of a smaller 2Jmax are a subset of a larger one's, see
:meth:`pyiron_appmlip.descriptors.settings.QSnapSettings.column_subset`); its R factor is that
of ``[A[:, S] | y_low | y_high] T`` with ``T`` mapping the two label columns onto their
difference, again from the stored factors. The two parts add up to one linear model in the
base's columns, exported as one potential.

DFT cost: :func:`training_calculations` lists the calculations a training set needs, each
``(configuration, level)`` once (energies and forces of one calculation cost one calculation);
:func:`training_cost` sums their costs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._linalg import DEFAULT_RCOND
from .fit import LinearModel, UnderdeterminedFitWarning, _solve_factor
from .statistics import SufficientStatistics
from .validation import check_nonempty, check_rcond, check_ridge, check_stress_weight, check_weights
from .weight_basis import stacked_r

__all__ = [
    "EnergyFactors",
    "DeltaModel",
    "fit_level_pair",
    "fit_delta",
    "training_calculations",
    "training_cost",
    "check_energy_subset",
]


@dataclass(frozen=True)
class EnergyFactors:
    """The energy-row R factors of one partition of statistics, kept apart from the rest.

    A snapshot taken from growing statistics (e.g. at an energy subset size of a sampling order)
    stays valid while the statistics grow on: the energy rows of a multi-fidelity fit can then
    come from a smaller subset than its force rows. Memory: one (n, n) triangle per group.

    Attributes:
        n_descriptors: p.
        parts: per group ``(label_columns, energy factor f_E, R (n, n), rows)``.
        n_configs: configurations whose energy rows are in the factors.
    """

    n_descriptors: int
    parts: tuple
    n_configs: int

    @classmethod
    def of(cls, stats: SufficientStatistics, partition: str = "train") -> EnergyFactors:
        """Copy the energy factors of ``partition`` of ``stats``."""
        groups = stats._groups_for(partition)
        parts = tuple(
            (dict(g.label_columns), float(g.factors[0]), g.energy.used().copy(), int(g.counts[0]))
            for g in groups
        )
        return cls(stats.n_descriptors, parts, stats.n_configs(partition))

    def levels(self) -> set:
        """The levels with an energy label in at least one group."""
        return {lv for columns, *_ in self.parts for lv in columns}

    def for_level(self, level) -> list:
        """``[(R[:, (A, y_level)], f_E, rows)]`` of the groups labelled at ``level``."""
        p = self.n_descriptors
        out = []
        for columns, f_e, r, rows in self.parts:
            if level in columns and rows:
                out.append((r[:, np.r_[np.arange(p + 1), columns[level]]], f_e, rows))
        return out


def _force_pieces(stats: SufficientStatistics, level, partition, w_f, w_s, stress_level):
    """Weighted force (and stress) pieces ``R[:, (A, y_level)]`` and their row count."""
    p = stats.n_descriptors
    pieces = []
    rows = 0
    for g in stats._groups_for(partition, level, require_level=True):
        cols = np.r_[np.arange(p + 1), g.label_columns[level]]
        r = g.force.used()
        if g.force.rows_seen and w_f * g.factors[1] > 0.0:
            pieces.append(w_f * g.factors[1] * r[:, cols])
            rows += int(g.force.rows_seen)
    if w_s > 0.0:
        for g in stats._groups_for(partition, stress_level, require_level=True):
            if g.factors[2] <= 0.0:
                continue
            cols = np.r_[np.arange(p + 1), g.label_columns[stress_level]]
            for part in g.stress_parts(stress_level):
                if part.rows_seen:
                    pieces.append(w_s * g.factors[2] * part.used()[:, cols])
                    rows += int(part.rows_seen)
    return pieces, rows


def _energy_source(energy, stats, partition) -> EnergyFactors:
    if energy is None:
        return EnergyFactors.of(stats, partition)
    if isinstance(energy, EnergyFactors):
        return energy
    if isinstance(energy, SufficientStatistics):
        return EnergyFactors.of(energy, partition)
    raise ValueError(
        f"energy_statistics must be SufficientStatistics, EnergyFactors or None, got "
        f"{type(energy).__name__}"
    )


def _solve(pieces, n_rows, p, *, ridge, rcond, scale_columns, constant, what):
    n_coefficients = p + 1 if constant else p
    if ridge > 0.0:
        reg = np.zeros((p, p + 2))
        reg[np.arange(p), 1 + np.arange(p)] = np.sqrt(ridge)
        pieces = [*pieces, reg]
    elif n_rows < n_coefficients:
        warnings.warn(
            UnderdeterminedFitWarning(
                f"underdetermined {what}: {n_rows} equations for {n_coefficients} coefficients; "
                "the minimum-norm solution is returned, its rank is in the result"
            ),
            stacklevel=3,
        )
    rf = stacked_r(pieces, triangular=False) if pieces else np.zeros((p + 2, p + 2))
    beta, rank, s = _solve_factor(
        rf,
        p,
        constant,
        rcond,
        scale_columns,
        prove=True,
        n_equations=None if ridge > 0.0 else n_rows,
    )
    return beta[:, 0], rank, s


def fit_level_pair(
    stats: SufficientStatistics,
    energy_level,
    force_level,
    energy_weight: float,
    force_weight: float,
    *,
    energy_statistics: SufficientStatistics | EnergyFactors | None = None,
    stress_weight: float = 0.0,
    stress_level=None,
    partition: str = "train",
    ridge: float = 0.0,
    rcond: float = DEFAULT_RCOND,
    scale_columns: bool = True,
    constant: bool = True,
) -> LinearModel:
    """A fit with the energy rows of one level and the force rows of another.

    Solves ``min w_E^2 ||A_E beta - y_E(energy_level)||^2 + w_F^2 ||A_F beta -
    y_F(force_level)||^2 (+ w_S^2 ||A_S beta - y_S(stress_level)||^2)`` with the conventions of
    :func:`~.fit.fit_statistics_levels` (column scaling, truncated SVD, ``constant``); with
    ``energy_level == force_level`` and the same statistics it is that function's fit.

    Args:
        stats: statistics of the force subset (their force and stress rows are used).
        energy_level: the level of the energy labels.
        force_level: the level of the force labels.
        energy_weight: w_E.
        force_weight: w_F.
        energy_statistics: where the energy rows come from: statistics (their ``partition``)
            or an :class:`EnergyFactors` snapshot of an energy subset; default ``stats``.
        stress_weight: w_S (0: no stress rows).
        stress_level: the level of the stress labels (default ``force_level``).
        partition: the partition of ``stats`` (and of ``energy_statistics``) to fit.
        ridge: adds ``ridge * ||beta[1:]||^2``.
        rcond: relative singular-value cutoff.
        scale_columns: scale the columns to unit norm before the solve.
        constant: fit the per-atom reference energy (coefficient 0).

    Returns:
        The model; its ``level`` is the pair ``(energy_level, force_level)``.

    Raises:
        ValueError: if a level has no labels in the statistics it is taken from (the message
            names the levels present).
    """
    w_e, w_f = check_weights(energy_weight, force_weight)
    w_s = check_stress_weight(stress_weight)
    ridge = check_ridge(ridge)
    rcond = check_rcond(rcond)
    p = stats.n_descriptors
    energy = _energy_source(energy_statistics, stats, partition)
    if energy.n_descriptors != p:
        raise ValueError(
            f"energy_statistics has {energy.n_descriptors} descriptor columns, stats has {p}"
        )
    for name, lv, present in (
        ("energy_level", energy_level, energy.levels()),
        ("force_level", force_level, set(stats.levels)),
    ):
        if lv not in present:
            raise ValueError(
                f"{name} {lv!r} has no labels in its statistics; levels present: "
                f"{sorted(present, key=str)}"
            )
    stress_level = force_level if stress_level is None else stress_level
    pieces, n_rows = _force_pieces(stats, force_level, partition, w_f, w_s, stress_level)
    for r, f_e, rows in energy.for_level(energy_level):
        if w_e * f_e > 0.0:
            pieces.append(w_e * f_e * r)
            n_rows += rows
    beta, rank, s = _solve(
        pieces,
        n_rows,
        p,
        ridge=ridge,
        rcond=rcond,
        scale_columns=scale_columns,
        constant=constant,
        what=f"fit (energies at {energy_level!r}, forces at {force_level!r})",
    )
    return LinearModel(
        coefficients=beta,
        rank=rank,
        energy_weight=w_e,
        force_weight=w_f,
        ridge=ridge,
        rcond=rcond,
        level=(energy_level, force_level),
        singular_values=s,
        stress_weight=w_s,
    )


@dataclass
class DeltaModel:
    """A base model plus a correction on a subset of its descriptor columns.

    Attributes:
        base: the model of the lower level (p + 1 coefficients).
        correction: the model of ``y_high - y_low`` (len(columns) + 1 coefficients, its own
            per-atom reference energy first).
        columns: (k,) indices into the base's p descriptor columns that the correction uses.
        low_level: the level of the base.
        high_level: the level the sum models.
    """

    base: LinearModel
    correction: LinearModel
    columns: np.ndarray
    low_level: object
    high_level: object

    @property
    def coefficients(self) -> np.ndarray:
        """(p + 1,) coefficients of the sum, in the base's columns (one potential)."""
        c = self.base.coefficients.copy()
        c[0] += self.correction.coefficients[0]
        c[1 + self.columns] += self.correction.coefficients[1:]
        return c

    def as_linear_model(self) -> LinearModel:
        """The sum as one :class:`~.fit.LinearModel` at ``high_level`` (for errors, export)."""
        return LinearModel(
            coefficients=self.coefficients,
            rank=self.base.rank,
            energy_weight=self.base.energy_weight,
            force_weight=self.base.force_weight,
            ridge=self.base.ridge,
            rcond=self.base.rcond,
            level=self.high_level,
            stress_weight=self.base.stress_weight,
        )

    def predict(self, blocks: Sequence, *, virial: bool = False):
        """Energies (M,) and forces of the sum, as :meth:`~.fit.LinearModel.predict`."""
        return self.as_linear_model().predict(blocks, virial=virial)


def _delta_pieces(stats, low, high, columns, partition, w_e, w_f):
    """Pieces ``R[:, (S, y_low, y_high)] T`` of the groups labelled at both levels, T mapping
    the two label columns onto ``y_high - y_low``."""
    coeff = np.r_[0, 1 + columns]
    pieces = []
    n_rows = n_configs = 0
    for g in stats._groups_for(partition):
        if low not in g.label_columns or high not in g.label_columns:
            continue
        n_configs += int(g.counts[0])
        for part, w in ((g.energy, w_e * g.factors[0]), (g.force, w_f * g.factors[1])):
            if not part.rows_seen or w <= 0.0:
                continue
            r = part.used()
            diff = r[:, g.label_columns[high]] - r[:, g.label_columns[low]]
            pieces.append(w * np.column_stack([r[:, coeff], diff]))
            n_rows += int(part.rows_seen)
    return pieces, n_rows, n_configs


def fit_delta(
    stats: SufficientStatistics,
    low_level,
    high_level,
    energy_weight: float,
    force_weight: float,
    *,
    delta_statistics: SufficientStatistics | None = None,
    columns: Sequence[int] | None = None,
    correction_weights: tuple[float, float] | None = None,
    correction_ridge: float = 0.0,
    partition: str = "train",
    ridge: float = 0.0,
    rcond: float = DEFAULT_RCOND,
    scale_columns: bool = True,
    constant: bool = True,
) -> DeltaModel:
    """A Delta model: a fit to ``low_level`` on ``stats`` plus a correction fitted to
    ``high_level - low_level`` on the configurations of ``delta_statistics`` labelled at both.

    Args:
        stats: statistics of the base's training set (labelled at ``low_level``).
        low_level: the cheap level of the base.
        high_level: the level the sum models.
        energy_weight: w_E of the base.
        force_weight: w_F of the base.
        delta_statistics: statistics of the correction's training set (default ``stats``):
            only its configurations labelled at both levels are used.
        columns: indices into the p descriptor columns that the correction uses (default: all),
            e.g. the columns of a smaller 2Jmax (``QSnapSettings.column_subset``).
        correction_weights: ``(w_E, w_F)`` of the correction (default: the base's).
        correction_ridge: ridge of the correction (it has few configurations; a small ridge
            keeps it from fitting noise).
        partition: the partition of both statistics to fit.
        ridge: ridge of the base.
        rcond: relative singular-value cutoff of both fits.
        scale_columns: scale the columns to unit norm before the solves.
        constant: both parts fit a per-atom reference energy.

    Raises:
        ValueError: on a level without labels, columns out of range or repeated, or no
            configuration labelled at both levels.
    """
    base = fit_level_pair(
        stats,
        low_level,
        low_level,
        energy_weight,
        force_weight,
        partition=partition,
        ridge=ridge,
        rcond=rcond,
        scale_columns=scale_columns,
        constant=constant,
    )
    base.level = low_level
    delta_stats = stats if delta_statistics is None else delta_statistics
    p = stats.n_descriptors
    if delta_stats.n_descriptors != p:
        raise ValueError(
            f"delta_statistics has {delta_stats.n_descriptors} descriptor columns, stats has {p}"
        )
    if high_level not in delta_stats.levels:
        raise ValueError(
            f"high_level {high_level!r} has no labels in the correction's statistics; levels "
            f"present: {list(delta_stats.levels)}"
        )
    cols = check_columns(columns, p)
    w_e, w_f = (energy_weight, force_weight) if correction_weights is None else correction_weights
    w_e, w_f = check_weights(w_e, w_f)
    correction_ridge = check_ridge(correction_ridge)
    pieces, n_rows, n_configs = _delta_pieces(
        delta_stats, low_level, high_level, cols, partition, w_e, w_f
    )
    if not n_configs:
        raise ValueError(
            f"no configuration of partition {partition!r} is labelled at both {low_level!r} "
            f"and {high_level!r}: the correction has nothing to fit"
        )
    beta, rank, s = _solve(
        pieces,
        n_rows,
        len(cols),
        ridge=correction_ridge,
        rcond=rcond,
        scale_columns=scale_columns,
        constant=constant,
        what=f"correction ({high_level!r} - {low_level!r})",
    )
    correction = LinearModel(
        coefficients=beta,
        rank=rank,
        energy_weight=w_e,
        force_weight=w_f,
        ridge=correction_ridge,
        rcond=rcond,
        level=(low_level, high_level),
        singular_values=s,
    )
    return DeltaModel(base, correction, cols, low_level, high_level)


def check_columns(columns, p: int) -> np.ndarray:
    """``columns`` as a sorted-as-given int array of distinct indices in ``[0, p)``."""
    if columns is None:
        return np.arange(p)
    cols = np.asarray(columns)
    if cols.ndim != 1 or cols.size == 0 or not np.issubdtype(cols.dtype, np.integer):
        raise ValueError(f"columns must be a non-empty 1-D list of ints, got {columns!r}")
    if cols.min() < 0 or cols.max() >= p:
        raise ValueError(f"columns must lie in 0..{p - 1} (the descriptor columns)")
    if np.unique(cols).size != cols.size:
        raise ValueError("columns must not repeat an index")
    return cols.astype(np.intp)


def check_energy_subset(energy_ids: Sequence, force_ids: Sequence, nested: bool) -> None:
    """Refuse an energy subset that is not inside the force subset when ``nested``.

    Raises:
        ValueError: naming how many energy configurations lie outside the force subset.
    """
    check_nonempty(force_ids, "force_ids")
    check_nonempty(energy_ids, "energy_ids")
    if nested:
        outside = set(energy_ids) - set(force_ids)
        if outside:
            raise ValueError(
                f"nested=True but {len(outside)} of {len(set(energy_ids))} energy "
                f"configurations are not in the force subset (energy subset larger than its "
                f"force subset, or drawn apart): e.g. {sorted(outside, key=str)[:3]}"
            )


def training_calculations(parts: Iterable[tuple[Iterable[Hashable], object]]) -> set:
    """The DFT calculations ``{(configuration, level)}`` a training set needs, each once.

    Args:
        parts: ``(configuration ids, level)`` pairs, e.g. ``[(energy_ids, 6), (force_ids, 2)]``
            for a multi-fidelity set, or ``[(base_ids, 2), (delta_ids, 2), (delta_ids, 6)]`` for
            a Delta model.
    """
    out = set()
    for ids, level in parts:
        out.update((i, level) for i in ids)
    return out


def training_cost(
    parts: Iterable[tuple[Iterable[Hashable], object]],
    cost: Callable[[Hashable, object], float] | Mapping,
) -> float:
    """Total DFT cost of the calculations :func:`training_calculations` lists.

    Args:
        parts: as in :func:`training_calculations`.
        cost: ``cost(configuration, level)`` in seconds (or any unit), or a mapping
            ``{(configuration, level): cost}``.
    """
    calcs = training_calculations(parts)
    if isinstance(cost, Mapping):
        return float(sum(cost[c] for c in calcs))
    return float(sum(cost(*c) for c in calcs))
