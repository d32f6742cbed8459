"""The plan of a DFT campaign from error models fitted to a pilot: for a budget and the
application's needs, the setting and training-set size predicted best, with predicted errors
and bands, which configurations to label next, and what twice or half the budget would change.

Each candidate setting (a convergence level, or a level pair, with a weight ratio, a 2Jmax and a
sampler) has a learning curve (:class:`~pyiron_appmlip.core.error_model.ErrorModel`) and a DFT
cost ``fixed + N x per_configuration`` seconds for a training set of ``N`` configurations
(:class:`PlanSetting`). Errors fall with ``N``, so within a budget each setting is best at the
largest ``N`` it can afford (at most the candidate pool); the plan compares the settings there:

- with error targets, the settings whose predicted median errors meet them, each at the
  smallest ``N`` that does; the cheapest wins (ties by the preference score);
- without targets (or when none can meet them), the Pareto set of (energy error, force error,
  cost) at the affordable sizes, ranked by the preference score of
  :func:`~pyiron_appmlip.core.pareto.preference_scores` (as
  :func:`~pyiron_appmlip.study.recommend.recommend` ranks measured fits).

Costs are in seconds of one core-count (``cores_per_calculation`` turns them into
core-hours); a plan never spends more than the budget minus what was spent already (the pilot).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.pareto import pareto_mask, preference_scores
from ..core.validation import check_optional_positive

__all__ = ["PlanSetting", "CampaignPlan", "plan_campaign", "ModelsByGroup"]

_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class PlanSetting:
    """One candidate setting of the campaign.

    Attributes:
        key: the setting's key in the error model (e.g. ``("3", 150.0)``).
        per_configuration: DFT seconds of one more training configuration (> 0).
        fixed: DFT seconds the setting costs whatever ``N`` (e.g. the energy subset of a level
            pair), >= 0.
        description: what the setting is, for the plan's table (e.g. ``{"level": "3",
            "weight_ratio": 150.0, "twojmax": 6, "sampler": "leverage"}``); a ``"level"`` entry
            is the level the next configurations are labelled at.
        min_size: the smallest training set of the setting (e.g. a level pair's energy subset
            size: its energies are the first ``n_energy`` configurations).
        labelled: configurations of the training set labelled already at the setting's level
            (the pilot's, which are the first of the same order): they cost nothing more.
    """

    key: Hashable
    per_configuration: float
    fixed: float = 0.0
    description: Mapping = field(default_factory=dict)
    min_size: int = 1
    labelled: int = 0

    def seconds(self, n) -> np.ndarray:
        """DFT seconds still to spend for a training set of ``n`` configurations (those
        labelled already are free)."""
        n = np.asarray(n, dtype=float)
        return self.fixed + np.maximum(n - self.labelled, 0.0) * self.per_configuration

    def affordable(self, seconds: float) -> int:
        """The largest training set ``seconds`` pay for."""
        room = (seconds - self.fixed) / self.per_configuration
        if room < 0:
            return -1
        return int(math.floor(room + 1e-9)) + int(self.labelled)


@dataclass
class CampaignPlan:
    """A plan: the chosen setting and size, and the candidates it was chosen from.

    Attributes:
        best: the chosen row of ``candidates`` (a pandas Series).
        candidates: one row per setting at its planned size: ``key``, the description's
            entries, ``subset_size``, ``dft_core_hours``, predicted ``energy_rmse``,
            ``force_rmse`` (medians) and their ``*_low``/``*_high`` band (16-84 %), ``pareto``,
            ``meets_targets`` and ``score``; sorted best first.
        budget_core_hours: the budget planned for.
        available_core_hours: the budget minus what was spent already.
        preference: in [0, 1] (0 forces only, 1 energies only).
        targets: ``{"energy": meV/atom or None, "force": meV/Angstrom or None}``.
        targets_met: whether the chosen setting is predicted to meet the targets.
        to_label: ``[(configuration id, level)]`` to label next, in order (empty without
            candidate ids).
        alternatives: ``{factor: CampaignPlan}`` for twice and half the budget.
        notes: remarks.
    """

    best: pd.Series
    candidates: pd.DataFrame
    budget_core_hours: float
    available_core_hours: float
    preference: float
    targets: dict
    targets_met: bool
    to_label: list = field(default_factory=list)
    alternatives: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def summary(self) -> str:
        """A readable account of the plan."""
        b = self.best
        described = ", ".join(
            f"{k} {b[k]}"
            for k in self.candidates.attrs.get("description_columns", [])
            if k in b.index and b[k] is not None and b[k] == b[k]  # not None or NaN
        )
        lines = [
            f"Plan for {self.budget_core_hours:.4g} core-hours "
            f"({self.available_core_hours:.4g} left after the pilot)",
            f"  setting             {described or b['key']}",
            f"  training set        {int(b['subset_size'])} configurations, "
            f"{b['dft_core_hours']:.4g} core-hours",
            f"  predicted energy    {b['energy_rmse']:.3g} meV/atom "
            f"(16-84 %: {b['energy_rmse_low']:.3g}-{b['energy_rmse_high']:.3g})",
            f"  predicted force     {b['force_rmse']:.3g} meV/Angstrom "
            f"(16-84 %: {b['force_rmse_low']:.3g}-{b['force_rmse_high']:.3g})",
        ]
        if any(v is not None for v in self.targets.values()):
            lines.append(f"  targets met         {'yes' if self.targets_met else 'no'}")
        for factor, alt in sorted(self.alternatives.items()):
            a = alt.best
            lines.append(
                f"With {factor:g}x the budget: {a['key']} at {int(a['subset_size'])} "
                f"configurations, {a['energy_rmse']:.3g} meV/atom, {a['force_rmse']:.3g} "
                "meV/Angstrom"
            )
        if self.to_label:
            lines.append(
                f"Next to label: {len(self.to_label)} calculations, first {self.to_label[:3]}"
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


class ModelsByGroup:
    """Error models fitted group by group (e.g. one per 2Jmax, whose learning curves need not
    share exponents), used as one: ``predict(key, n)`` asks the model of ``group_of(key)``.

    Args:
        models: ``{group: model}``.
        group_of: ``key -> group``.
    """

    def __init__(self, models: Mapping, group_of):
        self.models = dict(models)
        self.group_of = group_of

    def predict(self, key, n, band: bool = True) -> dict:
        group = self.group_of(key)
        if group not in self.models:
            raise ValueError(f"setting {key!r}: no error model for its group {group!r}")
        return self.models[group].predict(key, n, band=band)


def _smallest_meeting(model, setting: PlanSetting, n_max: int, n_min: int, targets) -> int | None:
    """The smallest N in [n_min, n_max] whose predicted medians meet the targets (the medians
    fall with N), or None."""

    def meets(n):
        pred = model.predict(setting.key, np.array([n]), band=False)
        return all(t is None or float(pred[q]["median"][0]) <= t for q, t in targets.items())

    if not meets(n_max):
        return None
    lo, hi = n_min, n_max
    while lo < hi:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _to_label(setting: PlanSetting, n: int, candidate_ids, labelled: Mapping) -> list:
    """``[(configuration id, level)]`` the planned training set still needs: its first ``n``
    candidates (those labelled at the level already first, then the rest in order) at the
    setting's ``"level"``, and, for a level pair, the first ``min_size`` of them at its
    ``"energy_level"``."""
    level = setting.description.get("level")
    if level is None:
        return []
    done = {str(i) for i in labelled.get(level, ())}
    ids = [str(i) for i in candidate_ids]
    order = [i for i in ids if i in done] + [i for i in ids if i not in done]
    training = order[:n]
    out = [(i, level) for i in training if i not in done]
    energy_level = setting.description.get("energy_level")
    if energy_level is not None and energy_level != level:
        done_e = {str(i) for i in labelled.get(energy_level, ())}
        out += [(i, energy_level) for i in training[: setting.min_size] if i not in done_e]
    return out


def plan_campaign(
    model,
    settings: Sequence[PlanSetting],
    budget_core_hours: float,
    *,
    max_size: int,
    preference: float = 0.5,
    energy_target: float | None = None,
    force_target: float | None = None,
    spent_core_hours: float = 0.0,
    min_size: int = 1,
    cores_per_calculation: int = 1,
    candidate_ids: Sequence | None = None,
    labelled: Mapping | None = None,
    alternatives: Sequence[float] = (2.0, 0.5),
) -> CampaignPlan:
    """Plan the campaign (see the module docstring).

    Args:
        model: an :class:`~pyiron_appmlip.core.error_model.ErrorModel` (anything with
            ``predict(key, n) -> {"energy": {"median", "low", "high"}, "force": ...}``).
        settings: the candidate :class:`PlanSetting` s.
        budget_core_hours: the campaign's DFT budget (> 0).
        max_size: the number of candidate configurations (the largest training set).
        preference: in [0, 1]; 0 optimises forces only, 1 energies only.
        energy_target: predicted median energy RMSE to reach (meV/atom), or None.
        force_target: predicted median force RMSE to reach (meV/Angstrom), or None.
        spent_core_hours: already spent (the pilot), >= 0; the plan spends at most the rest.
        min_size: the smallest training set considered.
        cores_per_calculation: cores per DFT calculation (seconds -> core-hours).
        candidate_ids: the candidates in the order they should be labelled (e.g. a leverage
            order, :func:`~pyiron_appmlip.core.sampling_order`); gives ``to_label``.
        labelled: ``{level: ids already labelled there}`` (the pilot's), left out of
            ``to_label``.
        alternatives: budget factors to plan for as well (e.g. twice and half).

    Returns:
        The :class:`CampaignPlan`.

    Raises:
        ValueError: naming the parameter: no settings, a budget not above what was spent (or
            too small for ``min_size`` configurations of any setting), a preference outside
            [0, 1], a setting the model has no learning curve for.
    """
    if isinstance(preference, bool) or not 0.0 <= float(preference) <= 1.0:
        raise ValueError(
            f"preference must be a number in [0, 1] (0 = forces only, 1 = energies only), "
            f"got {preference!r}"
        )
    preference = float(preference)
    budget = check_optional_positive(budget_core_hours, "budget_core_hours", "core-hours")
    if budget is None:
        raise ValueError("budget_core_hours must be a number > 0 (core-hours)")
    spent = float(spent_core_hours)
    if not math.isfinite(spent) or spent < 0:
        raise ValueError(f"spent_core_hours must be >= 0, got {spent_core_hours!r}")
    if spent >= budget:
        raise ValueError(
            f"budget_core_hours={budget:g} is not above what the pilot spent ({spent:.4g} "
            "core-hours); give a larger budget"
        )
    targets = {
        "energy": check_optional_positive(energy_target, "energy_target", "meV/atom"),
        "force": check_optional_positive(force_target, "force_target", "meV/Angstrom"),
    }
    settings = list(settings)
    if not settings:
        raise ValueError("settings must name at least one candidate setting")
    max_size, min_size = int(max_size), int(min_size)
    if not 1 <= min_size <= max_size:
        raise ValueError(f"min_size must lie in [1, max_size={max_size}], got {min_size}")
    cores = int(cores_per_calculation)
    available = budget - spent
    seconds = available * _SECONDS_PER_HOUR / cores
    rows = []
    without_band: list = []
    for s in settings:
        if not s.per_configuration > 0 or s.fixed < 0:
            raise ValueError(
                f"setting {s.key!r}: per_configuration must be > 0 and fixed >= 0 seconds"
            )
        n_max = min(max_size, s.affordable(seconds))
        n_min = max(min_size, int(s.min_size))
        if n_max < n_min:
            continue
        n = n_max
        meets = False
        if targets["energy"] is not None or targets["force"] is not None:
            smallest = _smallest_meeting(model, s, n_max, n_min, targets)
            if smallest is not None:
                n, meets = smallest, True
        try:
            pred = model.predict(s.key, np.array([n]), band=True)
        except ValueError as err:  # a pilot with single fits: medians without a band
            if "repetitions" not in str(err):
                raise
            pred = model.predict(s.key, np.array([n]), band=False)
            without_band.append(s.key)
        row = {"key": s.key, **dict(s.description), "subset_size": n}
        row["dft_core_hours"] = float(s.seconds(n)) / _SECONDS_PER_HOUR * cores
        for q in ("energy", "force"):
            row[f"{q}_rmse"] = float(pred[q]["median"][0])
            row[f"{q}_rmse_low"] = float(pred[q].get("low", [np.nan])[0])
            row[f"{q}_rmse_high"] = float(pred[q].get("high", [np.nan])[0])
        row["meets_targets"] = meets
        rows.append(row)
    if not rows:

        def smallest(s):
            return max(min_size, int(s.min_size))

        cheapest = min(settings, key=lambda s: float(s.seconds(smallest(s))))
        need = float(cheapest.seconds(smallest(cheapest))) / _SECONDS_PER_HOUR * cores
        raise ValueError(
            f"budget_core_hours={budget:g} leaves {available:.4g} core-hours after the pilot, "
            f"less than the cheapest setting needs for {smallest(cheapest)} configuration(s) "
            f"({need:.4g} core-hours, {cheapest.key!r}); give a larger budget"
        )
    table = pd.DataFrame(rows)
    table.attrs["description_columns"] = list(
        dict.fromkeys(k for s in settings for k in s.description)
    )
    notes = []
    if without_band:
        notes.append(
            f"{len(without_band)} setting(s) have no 16-84 % band: their pilot rows have a "
            "single repetition per size (run the pilot sweep with repetitions >= 2)"
        )
    met = table["meets_targets"].to_numpy(dtype=bool)
    targets_given = any(v is not None for v in targets.values())
    if targets_given and not met.any():
        notes.append(
            "no setting is predicted to meet the targets within the budget; the best one by "
            "the preference score at its largest affordable training set is planned"
        )
    objectives = table[["energy_rmse", "force_rmse", "dft_core_hours"]].to_numpy(dtype=float)
    table["pareto"] = pareto_mask(objectives)
    pool = table[met] if met.any() else table[table["pareto"]]
    scores = preference_scores(pool["energy_rmse"], pool["force_rmse"], preference)
    table["score"] = np.nan
    table.loc[pool.index, "score"] = scores
    if met.any():  # cheapest setting that meets the targets, ties by score
        order = pool.assign(_s=np.round(scores, 12)).sort_values(
            ["dft_core_hours", "_s"], kind="stable"
        )
    else:
        order = pool.assign(_s=np.round(scores, 12)).sort_values(
            ["_s", "dft_core_hours"], kind="stable"
        )
    ranked = list(order.index) + [i for i in table.index if i not in set(order.index)]
    table = table.loc[ranked].reset_index(drop=True)
    best = table.iloc[0].copy()
    to_label = []
    if candidate_ids is not None:
        chosen = next(s for s in settings if s.key == best["key"])
        to_label = _to_label(chosen, int(best["subset_size"]), candidate_ids, labelled or {})
    plan = CampaignPlan(
        best=best,
        candidates=table,
        budget_core_hours=budget,
        available_core_hours=available,
        preference=preference,
        targets=targets,
        targets_met=bool(best["meets_targets"]),
        to_label=to_label,
        notes=notes,
    )
    for factor in alternatives:
        try:
            plan.alternatives[float(factor)] = plan_campaign(
                model,
                settings,
                budget * float(factor),
                max_size=max_size,
                preference=preference,
                energy_target=energy_target,
                force_target=force_target,
                spent_core_hours=spent,
                min_size=min_size,
                cores_per_calculation=cores,
                alternatives=(),
            )
        except ValueError as err:
            plan.notes.append(f"{float(factor):g}x the budget: {err}")
    return plan
