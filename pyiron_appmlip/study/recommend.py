"""Recommendation of MLIP settings from a sweep table, and the plan of which configurations to
label next.

:func:`recommend` turns the sweep table (one row per fit, see
:meth:`pyiron_appmlip.jobs.sweep.AppmlipSweep.get_table`) into one choice of convergence level,
2Jmax, energy/force weights, sampler and subset size for an application described by its
constraints: the most expensive model it can afford to evaluate (``max_twojmax`` or
``min_atom_steps_per_second``), the DFT budget for the training set
(``dft_budget_core_hours``), the largest errors it accepts (``max_energy_rmse``,
``max_force_rmse``: hard limits), the accuracy it aims at (``energy_target``,
``force_target``: soft) and whether energies or forces matter more (``preference``). Errors
are test errors against the truth level (``energy_rmse_test_truth`` in meV/atom,
``force_rmse_test_truth`` in meV/Angstrom) unless other columns are named.

:func:`budget_scan` repeats the recommendation for a range of DFT budgets (the paper's finding
that the optimal convergence level grows with the budget), and :func:`acquisition_plan` lists
the candidate configurations to label, in leverage-sampling order, at a chosen level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.pareto import (
    objective_values,
    pareto_mask,
    preference_reference,
    preference_scores,
)
from ..core.sampling import SAMPLERS, sampling_order
from ..core.validation import check_optional_positive
from ..dft.levels import level_label
from ..training.costs import cost_is_unknown
from ..training.table import SETTING_COLUMNS, check_table

__all__ = [
    "Recommendation",
    "recommend",
    "budget_scan",
    "acquisition_plan",
    "SETTING_COLUMNS",
    "AGGREGATES",
]

_OPTIONAL_SETTING_COLUMNS = (
    "truth_level",
    "n_descriptors",
    "weight_ratio",
    "dft_cost_source",
    # multi-fidelity training sets (tables written before them lack these columns)
    "model_kind",
    "energy_level",
    "force_level",
    "n_energy",
)
#: Ways of combining the repetitions of one setting: ``"mean"`` (expected errors and cost over
#: repetitions) or ``None`` (every row on its own).
AGGREGATES = ("mean", None)
_COST = "dft_seconds"
_COST_SOURCE = "dft_cost_source"
_THROUGHPUT = "atom_steps_per_second"
_SECONDS_PER_HOUR = 3600.0


def _fmt_level(level) -> str:
    return str(level)


def _kind_note(settings: dict) -> str:
    """What a multi-fidelity training set is made of ("" for one level)."""
    kind = settings.get("model_kind", "single")
    if kind == "level_pair":
        return (
            f" (energies at level {settings['energy_level']} on the first "
            f"{settings['n_energy']} configurations, forces at level {settings['force_level']} "
            "on all)"
        )
    if kind == "delta":
        return (
            f" (a model of level {settings['force_level']} on all configurations plus a "
            f"correction to level {settings['energy_level']} fitted on the first "
            f"{settings['n_energy']})"
        )
    return ""


@dataclass
class Recommendation:
    """The recommended settings, their expected errors and costs, and how they were chosen.

    Errors are in meV/atom (energy) and meV/Angstrom (forces), measured on the test set against
    the truth level; with ``aggregate="mean"`` they are means over the repetitions of the
    settings (``n_repetitions``). DFT cost is the sum of the recorded times of the training
    subset (``dft_seconds``: wall times, or CPU times where the dataset records them for every
    calculation of the level, or the cost given per level with the sweep's ``level_costs``) and
    core-hours = ``dft_seconds / 3600 * cores_per_calculation``; ``cost_sources`` says which,
    per level, and the summary repeats it.

    Attributes:
        best: the chosen row (aggregated over repetitions for ``aggregate="mean"``).
        model_index: index in the input table of one fitted model with the chosen settings:
            the repetition with the best preference score (e.g. for
            ``AppmlipSweep.get_coefficients``).
        candidates: the Pareto set (energy, force, DFT cost) under the constraints, with
            ``score`` (lower is better for the given preference) and ``meets_targets``, sorted
            by score.
        constraints: the constraints of :func:`recommend` (None where not given).
        preference: in [0, 1]; 0 optimises forces only, 1 energies only.
        targets_met: False if no model met ``energy_target``/``force_target`` and the closest
            was chosen.
        notes: remarks on the choice (e.g. ignored rows, missed targets).
        energy_column: the energy error column that was optimised.
        force_column: the force error column that was optimised.
        cores_per_calculation: cores each DFT calculation ran on (for the core-hours).
        cost_sources: ``{training level: where its dft_seconds come from}`` (the table's
            ``dft_cost_source``, e.g. ``"measured wall time"``, ``"given: 3 s per atom"``);
            empty for a table without that column.
    """

    best: pd.Series
    model_index: object
    candidates: pd.DataFrame
    constraints: dict
    preference: float
    targets_met: bool
    notes: list[str] = field(default_factory=list)
    energy_column: str = "energy_rmse_test_truth"
    force_column: str = "force_rmse_test_truth"
    cores_per_calculation: int = 1
    cost_sources: dict = field(default_factory=dict)

    @property
    def settings(self) -> dict:
        """Level, 2Jmax, weights, sampler and subset size of the chosen model; for a
        multi-fidelity training set also ``model_kind``, ``energy_level``, ``force_level`` and
        ``n_energy`` (see :class:`~pyiron_appmlip.training.sweep.SweepGrid`)."""
        b = self.best
        out = {
            "train_level": b["train_level"],
            "twojmax": int(b["twojmax"]),
            "energy_weight": float(b["energy_weight"]),
            "force_weight": float(b["force_weight"]),
            "weight_ratio": float(b["energy_weight"]) / float(b["force_weight"]),
            "sampler": b["sampler"],
            "subset_size": int(b["subset_size"]),
        }
        if "truth_level" in b.index:
            out["truth_level"] = b["truth_level"]
        if "model_kind" in b.index:
            out["model_kind"] = str(b["model_kind"])
            out["energy_level"] = str(b["energy_level"])
            out["force_level"] = str(b["force_level"])
            out["n_energy"] = int(b["n_energy"])
        return out

    @property
    def expected_errors(self) -> dict:
        """``{"energy_rmse": meV/atom, "force_rmse": meV/Angstrom}`` (test vs truth)."""
        return {
            "energy_rmse": float(self.best[self.energy_column]),
            "force_rmse": float(self.best[self.force_column]),
        }

    @property
    def costs(self) -> dict:
        """DFT cost of the training set and MLIP evaluation cost of the chosen model."""
        seconds = float(self.best[_COST])
        out = {
            "dft_seconds": seconds,
            "dft_core_hours": seconds / _SECONDS_PER_HOUR * self.cores_per_calculation,
        }
        if _THROUGHPUT in self.best.index:
            out["atom_steps_per_second"] = float(self.best[_THROUGHPUT])
        if "n_train_atoms" in self.best.index:
            out["n_train_atoms"] = float(self.best["n_train_atoms"])
        if _COST_SOURCE in self.best.index:
            out[_COST_SOURCE] = str(self.best[_COST_SOURCE])
        return out

    def summary(self) -> str:
        """A readable account of the choice."""
        s, e, c = self.settings, self.expected_errors, self.costs
        n_rep = int(self.best.get("n_repetitions", 1))
        rep = f" (mean over {n_rep} repetitions)" if n_rep > 1 else ""
        truth = f" level {s['truth_level']}" if "truth_level" in s else " level"
        lines = [
            "Recommended MLIP settings",
            f"  training level      {_fmt_level(s['train_level'])}{_kind_note(s)}",
            f"  2Jmax               {s['twojmax']}",
            f"  weights w_E, w_F    {s['energy_weight']:g}, {s['force_weight']:g}"
            f" (w_E/w_F = {s['weight_ratio']:g})",
            f"  sampler             {s['sampler']}",
            f"  subset size         {s['subset_size']} configurations",
            f"Expected test errors vs the truth{truth}{rep}",
            f"  energy RMSE         {e['energy_rmse']:.3g} meV/atom",
            f"  force RMSE          {e['force_rmse']:.3g} meV/Angstrom",
            "Costs",
            f"  DFT training set    {c['dft_seconds']:.4g} s = {c['dft_core_hours']:.4g} "
            f"core-hours at {self.cores_per_calculation} core(s) per calculation",
            f"  DFT cost source     {c.get(_COST_SOURCE, 'not recorded in the table')}",
        ]
        aps = c.get("atom_steps_per_second", float("nan"))
        if math.isfinite(aps):
            lines.append(f"  MLIP evaluation     {aps:.3g} atom-steps/s")
        active = {k: v for k, v in self.constraints.items() if v is not None}
        lines.append(
            "Constraints: "
            + (", ".join(f"{k}={v:g}" for k, v in active.items()) if active else "none")
        )
        lines.append(
            f"Preference: {self.preference:g} (0 = forces only, 1 = energies only); "
            f"{len(self.candidates)} Pareto-optimal candidate(s)"
        )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _aggregate(table: pd.DataFrame, aggregate, numeric: Sequence[str]) -> pd.DataFrame:
    """One row per setting; ``rows`` holds the original indices."""
    if aggregate is None:
        out = table.copy()
        out["rows"] = [(i,) for i in table.index]
        out["n_repetitions"] = 1
        return out.reset_index(drop=True)
    keys = [c for c in (*SETTING_COLUMNS, *_OPTIONAL_SETTING_COLUMNS) if c in table.columns]
    numeric = [c for c in dict.fromkeys(numeric) if c in table.columns and c not in keys]
    grouped = table.groupby(keys, dropna=False, sort=False)
    out = grouped[numeric].mean()
    out["n_repetitions"] = grouped.size()
    out["rows"] = grouped.apply(lambda g: tuple(g.index), include_groups=False)
    return out.reset_index()


def _scores(energy, force, preference, e_ref, f_ref) -> np.ndarray:
    """Preference-weighted relative excess over the best error of each kind
    (:func:`~pyiron_appmlip.core.pareto.preference_scores`)."""
    return preference_scores(energy, force, preference, e_ref, f_ref)


_reference = preference_reference


def recommend(
    table: pd.DataFrame,
    max_twojmax: int | None = None,
    min_atom_steps_per_second: float | None = None,
    dft_budget_core_hours: float | None = None,
    energy_target: float | None = None,
    force_target: float | None = None,
    preference: float = 0.5,
    *,
    max_energy_rmse: float | None = None,
    max_force_rmse: float | None = None,
    cores_per_calculation: int = 1,
    aggregate: str | None = "mean",
    truth_level=None,
    energy_column: str = "energy_rmse_test_truth",
    force_column: str = "force_rmse_test_truth",
) -> Recommendation:
    """Recommend MLIP settings from a sweep table.

    Steps:

    1. A ``dft_seconds`` that is negative or NaN is refused (it would pass any budget); rows
       with a NaN error are dropped; with ``aggregate="mean"`` the repetitions of each setting
       (level, 2Jmax, weights, sampler, subset size) are averaged.
    2. Constraints, in this order: ``max_twojmax`` (2Jmax <= value), ``min_atom_steps_per_second``
       (measured MLIP MD throughput >= value; rows without a measurement are excluded),
       ``dft_budget_core_hours`` (``dft_seconds / 3600 * cores_per_calculation`` <= value),
       ``max_energy_rmse`` (energy RMSE <= value, meV/atom) and ``max_force_rmse`` (force RMSE
       <= value, meV/Angstrom). With ``aggregate="mean"`` they apply to the means over
       repetitions. A constraint that leaves no row raises a ValueError naming it and the best
       value left.
    3. Targets: rows with energy RMSE <= ``energy_target`` (meV/atom) and force RMSE <=
       ``force_target`` (meV/Angstrom) are kept. If none meets them, the choice falls on the
       Pareto set instead and the closest model (smallest summed relative shortfall) is chosen;
       ``targets_met`` is then False and the summary says so. (``max_energy_rmse`` and
       ``max_force_rmse`` never fall back: use them for errors the application cannot accept.)
    4. Among the Pareto front of (energy RMSE, force RMSE, DFT cost) the model with the lowest
       score ``preference * (E / E_min - 1) + (1 - preference) * (F / F_min - 1)`` is chosen,
       where ``E_min`` and ``F_min`` are the smallest errors on the front; ties go to the
       cheapest training set.

    What ``preference`` means: the score weighs *relative* excesses over the best error, so
    it trades them at a fixed rate: one percent more force error costs as much as
    ``(1 - preference) / preference`` percent more energy error. A model whose force error is
    40 % above the best is therefore chosen over the model with the best forces whenever that
    one's energy error is more than ``0.4 * (1 - preference) / preference`` times above the
    best energy error: at ``preference=0.1`` ("mostly forces") when it saves 360 % of energy
    error, at ``preference=0.5`` when it saves 40 %. Only ``preference=0`` ignores energies (and
    ``1`` forces) altogether. To bound an error, give ``max_force_rmse`` or
    ``max_energy_rmse``.

    Args:
        table: the sweep table (one row per fit).
        max_twojmax: largest 2Jmax the application can afford to evaluate.
        min_atom_steps_per_second: smallest acceptable MLIP throughput (column
            ``atom_steps_per_second``).
        dft_budget_core_hours: DFT budget for the training set in core-hours.
        energy_target: energy RMSE target in meV/atom.
        force_target: force RMSE target in meV/Angstrom.
        preference: in [0, 1]; 0 optimises forces only, 1 energies only (see above for what
            the values in between accept).
        max_energy_rmse: largest acceptable energy RMSE in meV/atom; models above it are
            excluded.
        max_force_rmse: largest acceptable force RMSE in meV/Angstrom; models above it are
            excluded.
        cores_per_calculation: cores each DFT calculation ran on. ``dft_seconds`` are the recorded
            seconds of each run (wall, or the CPU time of its process), so a calculation is
            assumed to have occupied this many cores for all of them.
        aggregate: ``"mean"`` (default; expected errors over repetitions) or None (single rows).
        truth_level: the truth level to use if the table holds several.
        energy_column: energy error column to optimise (default: test vs truth).
        force_column: force error column to optimise (default: test vs truth).

    Returns:
        :class:`Recommendation`.

    Raises:
        ValueError: empty table, missing columns, a text column as an error or cost, a
            negative or NaN ``dft_seconds`` (naming the rows), invalid arguments, or no row
            satisfying a constraint (the message names the constraint).
    """
    if isinstance(preference, bool):
        raise ValueError(f"preference must be a number in [0, 1], got {preference!r}")
    try:
        preference = float(preference)
    except (TypeError, ValueError):
        raise ValueError(f"preference must be a number in [0, 1], got {preference!r}") from None
    if not 0.0 <= preference <= 1.0:
        raise ValueError(
            f"preference must be a number in [0, 1] (0 = forces only, 1 = energies only), "
            f"got {preference!r}"
        )
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {list(AGGREGATES)}, got {aggregate!r}")
    if (
        isinstance(cores_per_calculation, bool)
        or not isinstance(cores_per_calculation, int | np.integer)
        or cores_per_calculation < 1
    ):
        raise ValueError(
            f"cores_per_calculation must be a positive integer, got {cores_per_calculation!r}"
        )
    cores = int(cores_per_calculation)
    max_twojmax = check_optional_positive(max_twojmax, "max_twojmax", "2Jmax")
    min_aps = check_optional_positive(
        min_atom_steps_per_second, "min_atom_steps_per_second", "atom-steps per second"
    )
    budget = check_optional_positive(dft_budget_core_hours, "dft_budget_core_hours", "core-hours")
    energy_target = check_optional_positive(energy_target, "energy_target", "meV/atom")
    force_target = check_optional_positive(force_target, "force_target", "meV/Angstrom")
    max_energy = check_optional_positive(max_energy_rmse, "max_energy_rmse", "meV/atom")
    max_force = check_optional_positive(max_force_rmse, "max_force_rmse", "meV/Angstrom")

    required = [*SETTING_COLUMNS, energy_column, force_column, _COST]
    if min_aps is not None:
        required.append(_THROUGHPUT)
    check_table(table, required, "recommend")

    notes: list[str] = []
    t = table
    if "truth_level" in t.columns:
        truths = list(pd.unique(t["truth_level"]))
        if truth_level is not None:
            t = t[t["truth_level"].astype(str) == str(truth_level)]
            if len(t) == 0:
                raise ValueError(
                    f"truth_level={truth_level!r} is not in the table; available: {truths}"
                )
        elif len(truths) > 1:
            raise ValueError(
                f"the table holds errors against several truth levels {truths}; "
                f"choose one with truth_level="
            )
    elif truth_level is not None:
        raise ValueError("truth_level was given but the table has no 'truth_level' column")

    objectives = [energy_column, force_column, _COST]
    values = pd.DataFrame(
        objective_values(t, objectives, "recommend"), index=t.index, columns=objectives
    )
    infinite = np.isinf(values.to_numpy(dtype=float)).any(axis=1)
    if infinite.any():
        raise ValueError(
            f"the table holds +-inf in {objectives} at rows {list(t.index[infinite][:10])}: an "
            "error or cost cannot be infinite (a failed fit?); drop or fix those rows"
        )
    cost = values[_COST].to_numpy(dtype=float)
    bad_cost = np.isnan(cost) | (cost < 0)
    if bad_cost.any():
        rows = list(t.index[bad_cost])
        raise ValueError(
            f"dft_seconds must be a number of seconds >= 0 in every row; {len(rows)} row(s) "
            f"hold a negative or missing value, rows {rows[:10]}"
            f"{' ...' if len(rows) > 10 else ''} (values {cost[bad_cost][:5].tolist()}): such a "
            "cost would pass any dft_budget_core_hours and win every cost comparison; drop "
            "or fix those rows"
        )
    valid = values.notna().all(axis=1).to_numpy()
    if not valid.any():
        raise ValueError(f"no row has finite values of {objectives}; the table holds no usable fit")
    if not valid.all():
        notes.append(f"{int((~valid).sum())} row(s) without {objectives} values were ignored")
    t = t[valid]
    cost_sources = _cost_sources(t, notes)
    numeric = [energy_column, force_column, _COST, _THROUGHPUT, "n_train_atoms"]
    numeric += [c for c in t.columns if c.startswith(("energy_rmse", "force_rmse"))]
    agg = _aggregate(t, aggregate, numeric)

    constraints = {
        "max_twojmax": max_twojmax,
        "min_atom_steps_per_second": min_aps,
        "dft_budget_core_hours": budget,
        "max_energy_rmse": max_energy,
        "max_force_rmse": max_force,
        "energy_target": energy_target,
        "force_target": force_target,
    }
    if max_twojmax is not None:
        keep = agg["twojmax"].astype(float) <= max_twojmax
        if not keep.any():
            raise ValueError(
                f"no model satisfies max_twojmax={max_twojmax:g}: the smallest 2Jmax in the "
                f"table is {int(agg['twojmax'].min())}"
            )
        agg = agg[keep]
    if min_aps is not None:
        aps = pd.to_numeric(agg[_THROUGHPUT], errors="coerce")
        if aps.isna().all():
            raise ValueError(
                "min_atom_steps_per_second cannot be applied: atom_steps_per_second is not "
                "measured (NaN) for any remaining row; measure it (AppmlipEvaluationCost) or "
                "use max_twojmax"
            )
        keep = aps >= min_aps
        if not keep.any():
            raise ValueError(
                f"no model satisfies min_atom_steps_per_second={min_aps:g}: the fastest "
                f"remaining model reaches {aps.max():.4g} atom-steps/s"
            )
        if aps.isna().any():
            notes.append(
                f"{int(aps.isna().sum())} setting(s) without a throughput measurement were "
                "excluded by min_atom_steps_per_second"
            )
        agg = agg[keep]
    core_hours = agg[_COST].astype(float) / _SECONDS_PER_HOUR * cores
    if budget is not None:
        keep = core_hours <= budget
        if not keep.any():
            raise ValueError(
                f"no model satisfies dft_budget_core_hours={budget:g}: the cheapest remaining "
                f"training set needs {core_hours.min():.4g} core-hours "
                f"(dft_seconds / 3600 * cores_per_calculation={cores})"
            )
        agg = agg[keep]
    for name, limit, column, unit in (
        ("max_energy_rmse", max_energy, energy_column, "meV/atom"),
        ("max_force_rmse", max_force, force_column, "meV/Angstrom"),
    ):
        if limit is None:
            continue
        errors = agg[column].to_numpy(dtype=float)
        keep = errors <= limit
        if not keep.any():
            before = list(constraints)[: list(constraints).index(name)]  # applied already
            earlier = [f"{k}={constraints[k]:g}" for k in before if constraints[k] is not None]
            under = f" under {', '.join(earlier)}" if earlier else ""
            mean = " (mean over repetitions)" if aggregate == "mean" else ""
            raise ValueError(
                f"no model satisfies {name}={limit:g} {unit}: the smallest {column}{mean} "
                f"among the remaining models{under} is {errors.min():.4g} {unit}"
            )
        agg = agg[keep]

    energy = agg[energy_column].to_numpy(dtype=float)
    force = agg[force_column].to_numpy(dtype=float)
    meets = np.ones(len(agg), dtype=bool)
    if energy_target is not None:
        meets &= energy <= energy_target
    if force_target is not None:
        meets &= force <= force_target
    agg = agg.assign(meets_targets=meets)
    targets_given = energy_target is not None or force_target is not None
    targets_met = bool(meets.any())
    pool = agg[meets] if targets_met else agg
    front = pool[pareto_mask(pool[objectives].to_numpy(dtype=float))].copy()
    e_ref = _reference(front[energy_column].to_numpy(dtype=float))
    f_ref = _reference(front[force_column].to_numpy(dtype=float))
    front["score"] = _scores(
        front[energy_column].to_numpy(dtype=float),
        front[force_column].to_numpy(dtype=float),
        preference,
        e_ref,
        f_ref,
    )
    front["dft_core_hours"] = front[_COST].astype(float) / _SECONDS_PER_HOUR * cores
    if targets_given and not targets_met:
        shortfall = np.zeros(len(front))
        for target, col in ((energy_target, energy_column), (force_target, force_column)):
            if target is not None:
                shortfall += np.maximum(front[col].to_numpy(dtype=float) / target - 1.0, 0.0)
        front["target_shortfall"] = shortfall
        best_e = float(agg[energy_column].min())
        best_f = float(agg[force_column].min())
        notes.append(
            "no model meets the targets "
            + ", ".join(
                f"{name} <= {v:g} {u}"
                for name, v, u in (
                    ("energy RMSE", energy_target, "meV/atom"),
                    ("force RMSE", force_target, "meV/Angstrom"),
                )
                if v is not None
            )
            + f" (best available under the constraints: {best_e:.3g} meV/atom, "
            f"{best_f:.3g} meV/Angstrom); the closest Pareto-optimal model is recommended"
        )
    # Ties (equal score within rounding) go to the cheaper training set.
    keyed = front.assign(_s=np.round(front["score"].to_numpy(dtype=float), 12))
    if "target_shortfall" in keyed.columns:
        keyed["_t"] = np.round(keyed["target_shortfall"].to_numpy(dtype=float), 12)
        sort_by = ["_t", "_s", _COST]
    else:
        sort_by = ["_s", _COST]
    keyed = keyed.sort_values(sort_by, kind="stable")
    candidates = front.loc[keyed.index]
    best = candidates.iloc[0].copy()

    rows = list(best["rows"])
    sub = table.loc[rows]
    rep_scores = _scores(
        sub[energy_column].to_numpy(dtype=float),
        sub[force_column].to_numpy(dtype=float),
        preference,
        e_ref,
        f_ref,
    )
    model_index = rows[int(np.nanargmin(rep_scores))]
    return Recommendation(
        best=best,
        model_index=model_index,
        candidates=candidates.reset_index(drop=True),
        constraints=constraints,
        preference=preference,
        targets_met=targets_met or not targets_given,
        notes=notes,
        energy_column=energy_column,
        force_column=force_column,
        cores_per_calculation=cores,
        cost_sources=cost_sources,
    )


def _cost_sources(table: pd.DataFrame, notes: list) -> dict:
    """``{training level: dft_cost_source}`` of the table's rows; notes where a level's cost is
    unknown (counted as 0 s) and where the levels' costs come from different kinds of source."""
    if _COST_SOURCE not in table.columns:
        return {}
    sources: dict = {}
    for level, source in zip(table["train_level"], table[_COST_SOURCE], strict=True):
        sources.setdefault(str(level), set()).add(str(source))
    out = {lv: "; ".join(sorted(s)) for lv, s in sources.items()}
    unknown = [lv for lv, s in sources.items() if any(cost_is_unknown(x) for x in s)]
    if unknown:
        notes.append(
            f"the DFT cost of level(s) {unknown} is unknown (no recorded time; counted as 0 s), "
            "so dft_seconds, the DFT budget and the Pareto front's cost axis do not see it; give "
            "the sweep's input.level_costs (seconds per configuration or per atom, or a cost "
            "model) and resume it"
        )
    kinds = {
        "measured" if x.startswith("measured") else "given" if x.startswith("given") else x
        for s in sources.values()
        for x in s
        if not cost_is_unknown(x)
    }
    if len(kinds) > 1:
        notes.append(
            "the levels' DFT costs come from different sources ("
            + "; ".join(f"level {lv}: {src}" for lv, src in out.items())
            + "): costs compare across levels only as far as the given costs match measured ones"
        )
    return out


def budget_scan(table: pd.DataFrame, budgets_core_hours: Sequence[float], **kwargs) -> pd.DataFrame:
    """The recommendation for each DFT budget (core-hours).

    Shows which level, 2Jmax, weights and subset size are optimal as the budget grows.

    Args:
        table: the sweep table (one row per fit).
        budgets_core_hours: the DFT budgets in core-hours (numbers > 0).
        **kwargs: go to :func:`recommend` (constraints other than the budget, ``preference``,
            ``cores_per_calculation``, ...).

    Returns:
        DataFrame with one row per budget. Budgets below the cheapest training set give a row
        with ``train_level`` None. Errors in meV/atom and meV/Angstrom.
    """
    if "dft_budget_core_hours" in kwargs:
        raise ValueError("pass the budgets as budgets_core_hours, not dft_budget_core_hours")
    budgets = np.atleast_1d(np.asarray(budgets_core_hours, dtype=float))
    if budgets.size == 0 or not np.all(np.isfinite(budgets)) or np.any(budgets <= 0):
        raise ValueError(
            f"budgets_core_hours must be a non-empty sequence of numbers > 0, "
            f"got {budgets_core_hours!r}"
        )
    rows = []
    for b in budgets:
        try:
            r = recommend(table, dft_budget_core_hours=float(b), **kwargs)
        except ValueError as err:
            if "dft_budget_core_hours" not in str(err):
                raise
            rows.append({"budget_core_hours": float(b), "train_level": None})
            continue
        rows.append(
            {
                "budget_core_hours": float(b),
                **r.settings,
                "energy_rmse": r.expected_errors["energy_rmse"],
                "force_rmse": r.expected_errors["force_rmse"],
                **r.costs,
                "targets_met": r.targets_met,
            }
        )
    return pd.DataFrame(rows)


def acquisition_plan(
    configuration_ids: Sequence,
    leverage,
    n: int,
    level,
    seed=0,
    sampler: str = "leverage",
    block_leverage=None,
    dft_seconds=None,
) -> pd.DataFrame:
    """Which candidate configurations to label next, in sampling order, at which level.

    The order is a weighted sample without replacement with probabilities proportional to the
    (regular or block) leverage scores (:func:`pyiron_appmlip.core.sampling_order`), so the
    first k rows are the subset of size k; the same ``seed`` gives the same plan. Leverage scores
    need descriptors only, so the plan is made before any DFT calculation.

    Args:
        configuration_ids: ids of the M candidate configurations.
        leverage: (M,) regular leverage scores (may be None for ``sampler="random"``).
        n: number of configurations to label (1..M).
        level: convergence level to label them at (number, name or ConvergenceLevel).
        seed: seed of the sampling order.
        sampler: one of ``"leverage"``, ``"block_leverage"``, ``"random"``.
        block_leverage: (M,) block leverage scores (needed for ``sampler="block_leverage"``).
        dft_seconds: optional (M,) estimated DFT wall seconds per configuration at ``level``
            (e.g. from :mod:`pyiron_appmlip.dft.cost`); adds ``estimated_dft_seconds`` and its
            running sum ``cumulative_dft_seconds``.

    Returns:
        DataFrame with ``order`` (0..n-1), ``configuration_id``, ``pool_index`` (position in
        ``configuration_ids``), ``leverage``, ``block_leverage`` (if given), ``level`` and
        ``sampler``, plus the cost columns if ``dft_seconds`` is given.
    """
    ids = list(configuration_ids)
    m = len(ids)
    if m == 0:
        raise ValueError("configuration_ids must name at least one candidate configuration")
    if len(set(map(str, ids))) != m:
        raise ValueError("configuration_ids must be unique")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
    arrays = {}
    for name, value in (("leverage", leverage), ("block_leverage", block_leverage)):
        if value is None:
            continue
        a = np.asarray(value, dtype=float)
        if a.shape != (m,):
            raise ValueError(
                f"{name} must have one score per configuration ({m},), got shape {a.shape}"
            )
        arrays[name] = a
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= int(n) <= m:
        raise ValueError(f"n must be an integer in [1, {m}] (the number of candidates), got {n!r}")
    label = level_label(level)
    order = sampling_order(
        sampler,
        m,
        leverage=arrays.get("leverage"),
        block_leverage=arrays.get("block_leverage"),
        seed=seed,
    )[: int(n)]
    plan = pd.DataFrame(
        {
            "order": np.arange(int(n)),
            "configuration_id": [ids[i] for i in order],
            "pool_index": order,
        }
    )
    for name, a in arrays.items():
        plan[name] = a[order]
    plan["level"] = label
    plan["sampler"] = sampler
    if dft_seconds is not None:
        cost = np.asarray(dft_seconds, dtype=float)
        if cost.shape != (m,):
            raise ValueError(
                f"dft_seconds must have one estimate per configuration ({m},), "
                f"got shape {cost.shape}"
            )
        if not np.all(np.isfinite(cost)) or np.any(cost < 0):
            raise ValueError("dft_seconds must be finite and >= 0 (wall seconds)")
        plan["estimated_dft_seconds"] = cost[order]
        plan["cumulative_dft_seconds"] = np.cumsum(cost[order])
    return plan
