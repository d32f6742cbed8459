"""Weighted linear fits (the paper's equations 1-3, with optional stress rows) from streamed
statistics.

The coefficient vector has length p + 1: ``coefficients[0]`` is the free per-atom reference
energy (the constant column, N_m on energy rows), ``coefficients[1:]`` multiply the descriptor
columns. This is the layout of a LAMMPS ``.snapcoeff`` element block.

Solve: the weighted factors ``[w_E f_E R_E; w_F f_F R_F; w_S f_S R_S]`` of every group (``f``:
the group's weight factors, 1 by default; stress factors only when ``w_S > 0``), plus
``sqrt(ridge) I`` rows for the descriptor coefficients when ``ridge > 0`` (the constant is never
penalised), are reduced by one small QR to ``R11 beta = z``. Columns are scaled to unit norm
(``scale_columns=True``), and the SVD of the scaled ``R11`` is truncated at
``s > rcond * s_max`` (:func:`fit_statistics_weights` solves by back substitution instead where
a bound proves that no singular value is cut, which gives the same solution). This equals
``scipy.linalg.lstsq(W A D, W y, cond=rcond)`` with ``D`` = 1 / column norms of ``W A``, undone
afterwards; with ``scale_columns=False`` it equals ``lstsq(W A, W y, cond=rcond)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._linalg import DEFAULT_RCOND, proven_full_rank_solve, r_factor, truncated_solve
from .errors import ErrorSummary, direct_errors, statistics_errors, statistics_errors_batch
from .statistics import SufficientStatistics, iter_checkpoints
from .validation import (
    as_weight_pairs,
    check_block,
    check_nonempty,
    check_rcond,
    check_ridge,
    check_stress_weight,
    check_volume,
    check_weights,
)
from .weight_basis import EnergyWeightBasis, stacked_r

__all__ = [
    "UnderdeterminedFitWarning",
    "LinearModel",
    "fit_weighted",
    "fit_statistics",
    "fit_statistics_levels",
    "fit_statistics_weights",
    "SubsetFit",
    "subset_fits",
    "statistics_fits",
    "DEFAULT_RCOND",
]

_LEVEL = "default"

TRIANGLE_MAX_WEIGHTS = 16
"""Up to this many energy weights per training set, ``factorization="auto"`` factorizes each
weight's problem on its own (a triangle-on-triangle QR and a triangular inverse, ~n^3 flops)
instead of building the shared :class:`~.weight_basis.EnergyWeightBasis` (an SVD and a
symmetric eigendecomposition, ~30 n^3 flops, then O(n^2) per weight); see
:func:`fit_statistics_weights`."""


class UnderdeterminedFitWarning(UserWarning):
    """A fit with fewer equations (rows) than coefficients: the solution is not determined by
    the data (the minimum-norm one of the truncated SVD is returned)."""


@dataclass
class LinearModel:
    """A fitted linear (q)SNAP model.

    Attributes:
        coefficients: (p + 1,), per-atom reference energy (eV) first, then one per descriptor
            column.
        rank: numerical rank of the truncated solve (-1 when not set).
        energy_weight: energy weight of the fit (NaN when not set).
        force_weight: force weight of the fit (NaN when not set).
        ridge: ridge penalty on the descriptor coefficients.
        rcond: relative singular-value cutoff of the solve.
        level: the label level the model was fitted to.
        singular_values: singular values kept in the solve (None where the solve proved full
            rank without an SVD, see :func:`fit_statistics_weights`).
        stress_weight: stress weight of the fit (0: no stress rows).
        truncation_weight: NaN when ``rank`` and ``singular_values`` belong to the fit's own
            weighted problem (one decomposition per weight pair); otherwise the energy weight
            of the shared decomposition they belong to (:func:`fit_statistics_weights`:
            ``w_E / w_F`` of the reference problem, or ``w_E`` at the fit's ``w_F`` with stress
            or ridge rows).
    """

    coefficients: np.ndarray
    rank: int = -1
    energy_weight: float = float("nan")
    force_weight: float = float("nan")
    ridge: float = 0.0
    rcond: float = DEFAULT_RCOND
    level: object = None
    singular_values: np.ndarray | None = field(default=None, repr=False)
    stress_weight: float = 0.0
    truncation_weight: float = float("nan")

    @property
    def n_descriptors(self) -> int:
        return self.coefficients.shape[0] - 1

    def predict(
        self, blocks: Sequence, *, virial: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Predicted energies and forces of configurations.

        Args:
            blocks: list of (1 + 3 N_m, p) descriptor blocks.
            virial: the blocks end with six virial rows (ignored here).

        Returns:
            Total energies (M,) in eV and forces, a list of (N_m, 3) arrays in eV/Angstrom.
        """
        check_nonempty(blocks, "blocks")
        c = self.coefficients
        energies = np.empty(len(blocks))
        forces = []
        for i, b in enumerate(blocks):
            x, n = check_block(b, self.n_descriptors, name=f"blocks[{i}]", virial=virial)
            energies[i] = n * c[0] + x[0] @ c[1:]
            forces.append((x[1 : 1 + 3 * n] @ c[1:]).reshape(n, 3))
        return energies, forces

    def predict_stress(self, blocks: Sequence, volumes: Sequence) -> np.ndarray:
        """Predicted stresses ``-virial rows @ beta / volume`` (ASE's sign, see
        :mod:`.statistics`).

        Args:
            blocks: list of (1 + 3 N_m + 6, p) descriptor blocks with virial rows.
            volumes: cell volumes in Angstrom^3.

        Returns:
            (M, 6) Voigt stresses (xx, yy, zz, yz, xz, xy) in eV/Angstrom^3, positive under
            tension.
        """
        check_nonempty(blocks, "blocks")
        if len(volumes) != len(blocks):
            raise ValueError(f"volumes has {len(volumes)} entries but blocks has {len(blocks)}")
        out = np.empty((len(blocks), 6))
        for i, (b, v) in enumerate(zip(blocks, volumes, strict=True)):
            x, _ = check_block(b, self.n_descriptors, name=f"blocks[{i}]", virial=True)
            out[i] = -(x[-6:] @ self.coefficients[1:]) / check_volume(v, f"volumes[{i}]")
        return out

    def errors(
        self,
        blocks: Sequence,
        energies: Sequence,
        forces: Sequence,
        stresses: Sequence | None = None,
        volumes: Sequence | None = None,
    ) -> ErrorSummary:
        """:class:`ErrorSummary` on in-memory data.

        Args:
            blocks: list of (1 + 3 N_m, p) descriptor blocks (with six virial rows when
                ``stresses`` is given).
            energies: total energies (eV).
            forces: list of (N_m, 3) (eV/Angstrom).
            stresses: optional stresses (eV/Angstrom^3, ASE's sign; None/NaN: not recorded).
            volumes: cell volumes (Angstrom^3), needed with ``stresses``.
        """
        return direct_errors(self.coefficients, blocks, energies, forces, stresses, volumes)

    def rmse(
        self, blocks: Sequence, energies: Sequence, forces: Sequence, shift: bool = False
    ) -> tuple[float, float]:
        """``(energy RMSE meV/atom, force-component RMSE meV/Angstrom)``.

        Args:
            blocks: list of (1 + 3 N_m, p) descriptor blocks.
            energies: total energies (eV).
            forces: list of (N_m, 3) (eV/Angstrom).
            shift: if True, subtract the mean per-atom energy error before the energy RMSE.
        """
        s = self.errors(blocks, energies, forces)
        return (s.energy_rmse_shifted if shift else s.energy_rmse), s.force_rmse

    def statistics_errors(self, stats: SufficientStatistics, level=None, partition="test"):
        """:class:`ErrorSummary` on a partition of streamed statistics.

        Args:
            stats: the streamed statistics.
            level: the label level; may be omitted when the statistics hold a single level.
            partition: the partition of ``stats`` to evaluate.
        """
        return statistics_errors(stats, self.coefficients, level, partition)


def fit_statistics_levels(
    stats: SufficientStatistics,
    energy_weight: float,
    force_weight: float,
    levels: Iterable | None = None,
    *,
    stress_weight: float = 0.0,
    partition: str = "train",
    ridge: float = 0.0,
    rcond: float = DEFAULT_RCOND,
    scale_columns: bool = True,
    constant: bool = True,
) -> dict:
    """Fits for several label levels at one weight pair: ``{level: LinearModel}``.

    Levels whose labels cover the same configurations share one QR and one SVD.

    Args:
        stats: the streamed statistics.
        energy_weight: weight w_E of the energy rows.
        force_weight: weight w_F of the force rows.
        levels: the label levels to fit; defaults to all declared levels.
        stress_weight: weight w_S of the stress rows (eV/Angstrom^3 residuals; FitSNAP's
            ``vweight`` on bar is ``w_S / 1.6021765e6``); 0 (default) leaves them out.
        partition: the partition of ``stats`` to fit.
        ridge: adds ``ridge * ||beta[1:]||^2`` (the reference energy is not penalised).
        rcond: relative singular-value cutoff; singular values ``s > rcond * s_max`` are kept.
        scale_columns: scale the columns to unit norm before the truncated SVD.
        constant: fit the per-atom reference energy (coefficient 0). ``False`` fixes it at 0,
            as fits without an explicit constant column do (FitSNAP with ``bzeroflag 1``, the
            paper authors' scripts); with ``rcond=1e-13`` and ``scale_columns=False`` this is
            the authors' ``lstsq(A, y, cond=1e-13)``.
    """
    w_e, w_f = check_weights(energy_weight, force_weight)
    w_s = check_stress_weight(stress_weight)
    ridge = check_ridge(ridge)
    rcond = check_rcond(rcond)
    levels = list(stats.levels) if levels is None else [stats._resolve_level(lv) for lv in levels]
    if not levels:
        raise ValueError("levels must name at least one label level (the statistics have none)")
    p = stats.n_descriptors
    out = {}
    for groups, stress, lvs in _level_sets(stats, levels, partition, w_s):
        k = len(lvs)
        pieces = []
        all_columns = True
        for g, stress_parts in zip(groups, stress, strict=True):
            cols = np.r_[np.arange(p + 1), [g.label_columns[lv] for lv in lvs]]
            f_e, f_f, f_s = g.factors
            weighted = [(g.energy, w_e * f_e), (g.force, w_f * f_f)]
            weighted += [(sp, w_s * f_s) for sp in stress_parts]
            for part, w in weighted:
                r = part.used()
                if r.shape[0] and w > 0.0:
                    all_columns = all_columns and np.array_equal(cols, np.arange(r.shape[1]))
                    pieces.append(w * r[:, cols])
        n_equations = _warn_underdetermined(groups, stress, lvs, w_e, w_f, w_s, ridge, p, constant)
        if ridge > 0.0:
            reg = np.zeros((p + 1 + k, p + 1 + k))
            reg[1 + np.arange(p), 1 + np.arange(p)] = np.sqrt(ridge)
            pieces.append(reg)
        if pieces:  # square triangles (all label columns of every group): triangle updates
            rf = stacked_r(pieces, triangular=all_columns)
        else:
            rf = np.zeros((p + 1 + k, p + 1 + k))
        beta, rank, s = _solve_factor(
            rf, p, constant, rcond, scale_columns, n_equations=None if ridge > 0.0 else n_equations
        )
        out.update(_models(beta, lvs, w_e, w_f, rank, s, ridge=ridge, rcond=rcond, w_s=w_s))
    return out


def _models(beta, lvs, w_e, w_f, rank, s, *, ridge, rcond, w_s, truncation=float("nan")):
    """``{level: LinearModel}`` from the coefficient columns ``beta`` (one per level)."""
    return {
        lv: LinearModel(
            coefficients=beta[:, j].copy(),
            rank=rank,
            energy_weight=w_e,
            force_weight=w_f,
            ridge=ridge,
            rcond=rcond,
            level=lv,
            singular_values=s,
            stress_weight=w_s,
            truncation_weight=truncation,
        )
        for j, lv in enumerate(lvs)
    }


def _solve_factor(
    rf, p: int, constant: bool, rcond: float, scale_columns: bool, prove=False, n_equations=None
):
    """``(beta (p + 1, k), rank, singular values)`` from the R factor ``rf`` of ``[A | Y]``
    (p + 1 coefficient columns, k label columns), truncated SVD as in
    :func:`fit_statistics_levels`. ``prove``: back substitution where
    :func:`~._linalg.proven_full_rank_solve` proves full rank (the same solution; singular
    values then ``None``). ``n_equations``: the number of equations behind ``rf``, see
    :func:`~._linalg.truncated_solve`."""
    k = rf.shape[1] - (p + 1)
    if constant:
        r11, z = rf[: p + 1, : p + 1], rf[: p + 1, p + 1 :]
    else:  # drop the constant column: re-triangularise the (p + 1 + k) x (p + k) rest
        rd = r_factor(rf[:, 1:]) if np.any(rf) else np.zeros((p + k, p + k))
        r11, z = rd[:p, :p], rd[:p, p:]
    proven = proven_full_rank_solve(r11, z, rcond, scale_columns) if prove else None
    if proven is not None:
        beta, rank, s = proven[0], r11.shape[1], None
    else:
        beta, rank, s = truncated_solve(r11, z, rcond, scale_columns, n_equations)
    if not constant:
        beta = np.vstack([np.zeros((1, k)), beta])
    return beta, rank, s


def _level_sets(stats: SufficientStatistics, levels, partition: str, w_s: float) -> list:
    """``[groups, stress parts per group, levels]`` for the levels that share their factors
    (the same configurations and stress rows), so one decomposition serves them all."""
    shared: dict[tuple, list] = {}
    for lv in levels:
        groups = stats._groups_for(partition, lv, require_level=True)
        stress = [g.stress_parts(lv) if w_s > 0.0 and g.factors[2] > 0.0 else [] for g in groups]
        key = (tuple(id(g) for g in groups), tuple(id(sp) for parts in stress for sp in parts))
        shared.setdefault(key, [groups, stress, []])[2].append(lv)
    return list(shared.values())


def _warn_underdetermined(groups, stress, lvs, w_e, w_f, w_s, ridge, p, constant) -> int:
    """Warn where the fit has fewer equations than coefficients; the number of equations."""
    n_equations = 0
    for g, stress_parts in zip(groups, stress, strict=True):
        f_e, f_f, f_s = g.factors
        weighted = [(g.energy, w_e * f_e), (g.force, w_f * f_f)]
        weighted += [(sp, w_s * f_s) for sp in stress_parts]
        n_equations += sum(int(part.rows_seen) for part, w in weighted if w > 0.0)
    n_coefficients = p + 1 if constant else p
    if ridge == 0.0 and n_equations < n_coefficients:
        warnings.warn(
            UnderdeterminedFitWarning(
                f"underdetermined fit: {n_equations} equations (energy, force and stress "
                f"rows) for {n_coefficients} coefficients (levels {list(lvs)}); the minimum-norm "
                "solution is returned, its rank is in the result"
            ),
            stacklevel=3,
        )
    return n_equations


def fit_statistics_weights(
    stats: SufficientStatistics,
    weights: Sequence[tuple[float, float]],
    levels: Iterable | None = None,
    *,
    stress_weight: float = 0.0,
    partition: str = "train",
    ridge: float = 0.0,
    rcond: float = DEFAULT_RCOND,
    scale_columns: bool = True,
    constant: bool = True,
    factorization: str = "auto",
) -> dict:
    """Fits for several weight pairs and label levels from one decomposition:
    ``{(w_E, w_F): {level: LinearModel}}``.

    Without stress rows and ridge the fit depends on ``w_E / w_F`` only, so all pairs share one
    :class:`~pyiron_appmlip.core.weight_basis.EnergyWeightBasis` of the energy and force
    factors (per label-level set); with stress rows or ridge the pairs that share ``w_F``
    share one. The decomposition is an SVD at a reference weight (the requested ratio nearest
    to the geometric mean of the smallest and largest one) and a simultaneous
    diagonalization; each further pair and level then costs one (p, rank) x (rank, levels)
    product instead of a QR and an SVD of the p-wide problem.

    ``factorization`` chooses what happens where the problem is numerically rank deficient
    (the shared and the per-weight truncation then differ, see :mod:`.weight_basis`):

    - ``"auto"`` (default): results as :func:`fit_statistics_levels` for every pair. With up
      to :data:`TRIANGLE_MAX_WEIGHTS` ratios per training set, each ratio's R factor is
      stacked from the fixed energy and force triangles (one triangle-on-triangle QR) and
      solved by back substitution where its explicit triangular inverse proves (a lower
      bound on ``s_min / s_max`` above ``10 rcond``, :func:`~._linalg.proven_full_rank_solve`)
      that the truncated SVD keeps every direction; otherwise that ratio gets the truncated
      SVD of the same factor. For the paper's six ratios this costs about a quarter of the
      shared basis below (``benchmarks/README.md``). With more ratios a pair comes from the
      shared basis when the basis proves the same bound
      (:meth:`~.weight_basis.EnergyWeightBasis.full_rank_bound`), and otherwise from its own
      QR + SVD; the reference pair's fit is taken from the reference SVD. Either way each
      result is the exact least-squares solution (dense ``scipy.linalg.lstsq``) up to
      rounding where the problem has full numerical rank, and the per-weight truncated SVD
      where it does not.
    - ``"shared"``: every pair from the shared basis; where it is rank deficient the truncation
      is the reference weight's (the least-squares solution within the directions kept
      there). Much faster at large p on rank-deficient data, but not equal to per-weight
      truncation there.

    ``rank`` and ``singular_values`` of a model from the shared basis are those of the
    reference problem, and ``truncation_weight`` is its energy weight; models with their own
    solve have ``truncation_weight`` NaN, and those solved by back substitution have full rank
    and ``singular_values`` None (no SVD was computed). A single pair (one triangle with
    ``"auto"``, else :func:`fit_statistics_levels`) gives the same results as
    :func:`fit_statistics_levels`. Underdetermined fits (fewer equations than coefficients) use
    :func:`fit_statistics_levels` with ``"auto"``: their minimum-norm solution depends on the
    per-weight column scaling (with ``"shared"`` it is the minimum-norm one in the reference
    weight's column scaling).

    Args:
        stats: the streamed statistics.
        weights: ``(energy_weight, force_weight)`` pairs.
        levels: the label levels to fit; defaults to all declared levels.
        stress_weight: as in :func:`fit_statistics_levels`.
        partition: the partition of ``stats`` to fit.
        ridge: as in :func:`fit_statistics_levels`.
        rcond: relative singular-value cutoff.
        scale_columns: scale the columns to unit norm before the SVD.
        constant: as in :func:`fit_statistics_levels`.
        factorization: ``"auto"`` or ``"shared"`` (above).
    """
    if factorization not in ("auto", "shared"):
        raise ValueError(f"factorization must be 'auto' or 'shared', got {factorization!r}")
    weights = as_weight_pairs(weights)
    if not weights:
        raise ValueError("weights must contain at least one (energy_weight, force_weight) pair")
    w_s = check_stress_weight(stress_weight)
    ridge = check_ridge(ridge)
    rcond = check_rcond(rcond)
    levels = list(stats.levels) if levels is None else [stats._resolve_level(lv) for lv in levels]
    if not levels:
        raise ValueError("levels must name at least one label level (the statistics have none)")
    options = dict(
        stress_weight=w_s,
        partition=partition,
        ridge=ridge,
        rcond=rcond,
        scale_columns=scale_columns,
        constant=constant,
    )
    p = stats.n_descriptors
    n_coefficients = p + 1 if constant else p
    out: dict = {w: {} for w in weights}
    model_options = dict(ridge=ridge, rcond=rcond, w_s=w_s)

    def own_solve(pairs, lvs):
        for w_e, w_f in pairs:
            out[(w_e, w_f)].update(fit_statistics_levels(stats, w_e, w_f, lvs, **options))

    for groups, stress, lvs in _level_sets(stats, levels, partition, w_s):
        has_stress = any(stress)
        # family: None -> only w_E / w_F matters; else the force weight
        families: dict = {}
        for w_e, w_f in weights:
            key = w_f if (has_stress or ridge > 0.0) else None
            families.setdefault(key, {}).setdefault(w_e / w_f if key is None else w_e, [])
            families[key][w_e / w_f if key is None else w_e].append((w_e, w_f))
        for key, by_energy in families.items():
            rest_weight = 1.0 if key is None else key
            energy, rest = [], []
            triangular = True
            n_rows = 0
            for g, stress_parts in zip(groups, stress, strict=True):
                cols = np.r_[np.arange(p + 1), [g.label_columns[lv] for lv in lvs]]
                f_e, f_f, f_s = g.factors
                weighted = [(g.energy, f_e, energy), (g.force, rest_weight * f_f, rest)]
                weighted += [(sp, w_s * f_s, rest) for sp in stress_parts]
                for part, w, target in weighted:
                    r = part.used()
                    if part.rows_seen and w > 0.0:
                        triangular = triangular and np.array_equal(cols, np.arange(r.shape[1]))
                        target.append(w * r[:, cols])
                        n_rows += int(part.rows_seen)
            if ridge > 0.0:
                reg = np.zeros((p + 1 + len(lvs), p + 1 + len(lvs)))
                reg[1 + np.arange(p), 1 + np.arange(p)] = np.sqrt(ridge)
                rest.append(reg)
                n_rows += p
            underdetermined = n_rows < n_coefficients and factorization == "auto"
            triangles = factorization == "auto" and len(by_energy) <= TRIANGLE_MAX_WEIGHTS
            single = len(by_energy) == 1 and not triangles  # nothing to share
            if single or not energy or not rest or underdetermined:
                for pairs in by_energy.values():
                    own_solve(pairs, lvs)
                continue
            w_e, w_f = next(iter(by_energy.values()))[0]
            _warn_underdetermined(groups, stress, lvs, w_e, w_f, w_s, ridge, p, constant)
            if triangles:
                for ratio, pairs in by_energy.items():
                    rf = stacked_r([ratio * x for x in energy] + rest, triangular)
                    beta, rank, s = _solve_factor(rf, p, constant, rcond, scale_columns, prove=True)
                    for w_e, w_f in pairs:
                        out[(w_e, w_f)].update(
                            _models(beta, lvs, w_e, w_f, rank, s, **model_options)
                        )
                continue
            ratios = np.array(sorted(by_energy))
            middle = np.sqrt(ratios[0] * ratios[-1])
            reference = float(ratios[np.argmin(np.abs(np.log(ratios / middle)))])
            basis = EnergyWeightBasis(
                energy,
                rest,
                p + 1,
                reference,
                rcond=rcond,
                scale_columns=scale_columns,
                triangular=triangular,
                drop_constant=not constant,
                complete=True if factorization == "shared" else "auto",
            )
            for ratio, pairs in by_energy.items():
                if ratio == reference:
                    beta, truncation = basis.reference_coefficients, float("nan")
                elif basis.complete and (
                    factorization == "shared" or basis.full_rank_bound(ratio) > 10.0 * rcond
                ):
                    beta, truncation = basis.coefficients(ratio), reference
                else:
                    own_solve(pairs, lvs)
                    continue
                if not constant:
                    beta = np.vstack([np.zeros((1, beta.shape[1])), beta])
                for w_e, w_f in pairs:
                    out[(w_e, w_f)].update(
                        _models(
                            beta,
                            lvs,
                            w_e,
                            w_f,
                            basis.rank,
                            basis.singular_values,
                            truncation=truncation,
                            **model_options,
                        )
                    )
    return out


def fit_statistics(
    stats: SufficientStatistics,
    energy_weight: float,
    force_weight: float,
    level=None,
    *,
    stress_weight: float = 0.0,
    partition: str = "train",
    ridge: float = 0.0,
    rcond: float = DEFAULT_RCOND,
    scale_columns: bool = True,
) -> LinearModel:
    """One weighted fit against ``level``'s labels.

    Args:
        stats: the streamed statistics.
        energy_weight: weight w_E of the energy rows.
        force_weight: weight w_F of the force rows.
        level: the label level; omit it if only one is declared.
        stress_weight: weight w_S of the stress rows, as in :func:`fit_statistics_levels`.
        partition: the partition of ``stats`` to fit.
        ridge: as in :func:`fit_statistics_levels`.
        rcond: as in :func:`fit_statistics_levels`.
        scale_columns: as in :func:`fit_statistics_levels`.
    """
    level = stats._resolve_level(level)
    return fit_statistics_levels(
        stats,
        energy_weight,
        force_weight,
        [level],
        stress_weight=stress_weight,
        partition=partition,
        ridge=ridge,
        rcond=rcond,
        scale_columns=scale_columns,
    )[level]


def fit_weighted(
    blocks: Sequence,
    energies: Sequence,
    forces: Sequence,
    energy_weight: float,
    force_weight: float,
    ridge: float = 0.0,
    *,
    rcond: float = DEFAULT_RCOND,
    stress_weight: float = 0.0,
    stresses: Sequence | None = None,
    volumes: Sequence | None = None,
    factors: Sequence | None = None,
) -> LinearModel:
    """Weighted least-squares fit of eq. 1 (with optional stress rows) on in-memory data.

    Args:
        blocks: list of (1 + 3 N_m, p) descriptor blocks; with ``stresses`` every block must
            end with its six virial rows, (1 + 3 N_m + 6, p).
        energies: total energies (eV).
        forces: list of (N_m, 3) (eV/Angstrom).
        energy_weight: weight w_E of the energy rows.
        force_weight: weight w_F of the force rows.
        ridge: adds ``ridge * ||beta[1:]||^2`` (the reference energy is not penalised).
        rcond: relative singular-value cutoff.
        stress_weight: weight w_S of the stress rows (see :func:`fit_statistics_levels`).
        stresses: per-configuration stresses (Voigt xx yy zz yz xz xy or 3x3, eV/Angstrom^3,
            ASE's sign; None or NaN where not recorded).
        volumes: cell volumes in Angstrom^3 (needed with ``stresses``).
        factors: per-configuration weight factors ``(f_E, f_F, f_S)`` (default all 1).

    Returns:
        A :class:`LinearModel` with ``coefficients`` (p + 1,).
    """
    check_weights(energy_weight, force_weight)
    check_stress_weight(stress_weight)
    check_ridge(ridge)
    check_nonempty(blocks, "blocks")
    if len(energies) != len(blocks) or len(forces) != len(blocks):
        raise ValueError(
            f"blocks, energies and forces must have the same length, got {len(blocks)}, "
            f"{len(energies)} and {len(forces)}"
        )
    virial = stresses is not None
    for name, seq in (("stresses", stresses), ("volumes", volumes), ("factors", factors)):
        if seq is not None and len(seq) != len(blocks):
            raise ValueError(f"{name} has {len(seq)} entries but blocks has {len(blocks)}")
    first, _ = check_block(blocks[0], name="blocks[0]", virial=virial)
    stats = SufficientStatistics(first.shape[1], levels=(_LEVEL,))
    for i, (b, e, f) in enumerate(zip(blocks, energies, forces, strict=True)):
        try:
            if not virial and factors is None:
                stats.add(b, {_LEVEL: (e, f)})
            else:
                stats.add(
                    b,
                    {_LEVEL: (e, f, stresses[i]) if virial else (e, f)},
                    virial=virial,
                    volume=None if volumes is None else volumes[i],
                    factors=None if factors is None else factors[i],
                )
        except ValueError as err:
            raise ValueError(f"configuration {i}: {err}") from None
    return fit_statistics(
        stats,
        energy_weight,
        force_weight,
        _LEVEL,
        stress_weight=stress_weight,
        ridge=ridge,
        rcond=rcond,
    )


@dataclass
class SubsetFit:
    """One fit of a subset sweep with its errors.

    Attributes:
        subset_size: number of training configurations.
        energy_weight: energy weight of the fit.
        force_weight: force weight of the fit.
        level: the training level.
        model: the fitted model.
        train: training errors (same level).
        test: {test level: ErrorSummary} on the test statistics.
        stress_weight: stress weight of the fit.
        energy_size: configurations whose energies were fitted (None: ``subset_size``), e.g.
            the energy subset of a multi-fidelity fit.
        energy_level: the level of the energy labels (None: ``level``).
        force_level: the level of the force labels (None: ``level``).
        kind: "single", "level_pair" or "delta" (see :mod:`.multi_fidelity`).
    """

    subset_size: int
    energy_weight: float
    force_weight: float
    level: object
    model: LinearModel
    train: ErrorSummary
    test: dict = field(default_factory=dict)
    stress_weight: float = 0.0
    energy_size: int | None = None
    energy_level: object = None
    force_level: object = None
    kind: str = "single"


def _checked_fit_arguments(weights, stress_weight, factorization, test_statistics, test_levels):
    """``(weights, stress_weight, test_levels)`` of :func:`subset_fits` and
    :func:`statistics_fits`, checked, with the test statistics' levels as the default."""
    if factorization not in ("auto", "shared", "per_weight"):
        raise ValueError(
            f"factorization must be 'auto', 'shared' or 'per_weight', got {factorization!r}"
        )
    weights = as_weight_pairs(weights)
    stress_weight = check_stress_weight(stress_weight)
    if not weights:
        raise ValueError("weights must contain at least one (energy_weight, force_weight) pair")
    if test_statistics is not None:
        test_levels = list(test_statistics.levels if test_levels is None else test_levels)
    return weights, stress_weight, test_levels


def subset_fits(
    configurations: Iterable,
    checkpoints: Sequence[int],
    weights: Sequence[tuple[float, float]],
    levels: Sequence,
    *,
    test_statistics: SufficientStatistics | None = None,
    test_levels: Sequence | None = None,
    test_partition: str = "test",
    ridge: float = 0.0,
    rcond: float = DEFAULT_RCOND,
    scale_columns: bool = True,
    n_descriptors: int | None = None,
    stress_weight: float = 0.0,
    constant: bool = True,
    factorization: str = "auto",
) -> list[SubsetFit]:
    """Fits for growing prefixes of one ordered stream, from a single pass.

    At every subset size all weight pairs and levels come from the subset's streamed R factors
    (:func:`fit_statistics_weights`: one triangle per weight for a few weights, one shared
    decomposition for many); the training and test errors of all of them from one matrix
    product per factor (:func:`~pyiron_appmlip.core.errors.statistics_errors_batch`).

    Memory: one accumulator, O(p^2 x levels).

    Args:
        configurations: iterable of ``(block, labels)``, ``(block, labels, config_id)`` or
            ``(block, labels, config_id, options)`` in sampling order, labels ``{level:
            (energy, forces)}`` or ``{level: (energy, forces, stress)}``, options further
            keywords of :meth:`SufficientStatistics.add` (``n_atoms``, ``virial``, ``volume``,
            ``factors``), see :func:`~pyiron_appmlip.core.statistics.iter_checkpoints`.
        checkpoints: subset sizes.
        weights: ``(energy_weight, force_weight)`` pairs.
        levels: training levels to fit (all of them are accumulated).
        test_statistics: statistics of the test configurations; when given, test errors are
            evaluated.
        test_levels: levels of the test errors (default: the test statistics' levels).
        test_partition: the partition of ``test_statistics`` to evaluate.
        ridge: as in :func:`fit_statistics_levels`.
        rcond: as in :func:`fit_statistics_levels`.
        scale_columns: as in :func:`fit_statistics_levels`.
        n_descriptors: p (default: taken from the first block).
        stress_weight: weight w_S of the stress rows of every fit (0: none).
        constant: as in :func:`fit_statistics_levels`.
        factorization: ``"auto"`` (default) or ``"shared"``, see
            :func:`fit_statistics_weights` (``"auto"`` gives the results of one solve per
            pair, ``"shared"`` one decomposition per subset for all pairs, which truncates
            rank-deficient problems at one reference weight); ``"per_weight"``: one QR + SVD
            per (subset, weight pair), :func:`fit_statistics_levels`.

    Returns:
        For every checkpoint, weight pair and level one :class:`SubsetFit` with training errors
        (same level) and, if ``test_statistics`` is given, test errors against each of
        ``test_levels``.
    """
    levels = list(levels)
    weights, stress_weight, test_levels = _checked_fit_arguments(
        weights, stress_weight, factorization, test_statistics, test_levels
    )
    records = []
    for _, stats in iter_checkpoints(
        configurations, checkpoints, levels, n_descriptors=n_descriptors
    ):
        records += statistics_fits(
            stats,
            weights,
            levels,
            test_statistics=test_statistics,
            test_levels=test_levels,
            test_partition=test_partition,
            ridge=ridge,
            rcond=rcond,
            scale_columns=scale_columns,
            stress_weight=stress_weight,
            constant=constant,
            factorization=factorization,
        )
    return records


def statistics_fits(
    stats: SufficientStatistics,
    weights: Sequence[tuple[float, float]],
    levels: Sequence,
    *,
    test_statistics: SufficientStatistics | None = None,
    test_levels: Sequence | None = None,
    test_partition: str = "test",
    ridge: float = 0.0,
    rcond: float = DEFAULT_RCOND,
    scale_columns: bool = True,
    stress_weight: float = 0.0,
    constant: bool = True,
    factorization: str = "auto",
) -> list[SubsetFit]:
    """The :class:`SubsetFit` records of one training set's statistics (the ``"train"``
    partition of ``stats``): every weight pair and level, with training and test errors.

    This is one checkpoint of :func:`subset_fits`; it serves a training set whose statistics
    are at hand already, e.g. the whole pool, whose fits are the same for every sampling order.
    The arguments are those of :func:`subset_fits`; ``subset_size`` is the number of training
    configurations in ``stats``.
    """
    levels = list(levels)
    weights, stress_weight, test_levels = _checked_fit_arguments(
        weights, stress_weight, factorization, test_statistics, test_levels
    )
    options = dict(
        stress_weight=stress_weight,
        ridge=ridge,
        rcond=rcond,
        scale_columns=scale_columns,
        constant=constant,
    )
    if factorization != "per_weight":
        by_weight = fit_statistics_weights(
            stats, weights, levels, factorization=factorization, **options
        )
    else:
        by_weight = {w: fit_statistics_levels(stats, *w, levels, **options) for w in weights}
    keys = [(w, lv) for w in weights for lv in levels]
    coefficients = np.column_stack([by_weight[w][lv].coefficients for w, lv in keys])
    train = statistics_errors_batch(stats, coefficients, levels, "train")
    if test_statistics is not None:
        test = statistics_errors_batch(test_statistics, coefficients, test_levels, test_partition)
    size = stats.n_configs("train")
    return [
        SubsetFit(
            subset_size=size,
            energy_weight=w_e,
            force_weight=w_f,
            level=lv,
            model=by_weight[(w_e, w_f)][lv],
            train=train[i][lv],
            test=test[i] if test_statistics is not None else {},
            stress_weight=stress_weight,
        )
        for i, ((w_e, w_f), lv) in enumerate(keys)
    ]
