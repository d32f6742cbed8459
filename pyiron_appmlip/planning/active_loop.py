"""The decisions of an active-learning loop, as plain functions of numbers.

One iteration of the loop (:class:`~pyiron_appmlip.jobs.active_loop.AppmlipActiveLoop`) fits a
model, runs the application with it while grading how far its configurations lie outside the
training data, collects the frames whose grade passes the ``"collect"`` threshold, chooses the
most informative of them, labels them with DFT and fits again. What is decided here:

- :func:`check_thresholds`: the grade thresholds ``collect < stop``;
- :func:`check_budget`: a budget that pays at least one calculation at the cheapest level;
- :func:`affordable`: how many calculations of a list, costed one by one, fit into a budget;
- :func:`plan_labels`: the level of this iteration's training labels (the plan's ranking of
  levels, the first whose calculations the remaining budget pays) and how the remaining budget is
  split between them and the reference-level test labels;
- :func:`stop_reason`: whether the loop stops, and why.

Costs are in core-hours (seconds x cores / 3600); errors in meV/atom (energy) and meV/Angstrom
(forces).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "THRESHOLD_NAMES",
    "STOP_REASONS",
    "check_thresholds",
    "check_budget",
    "affordable",
    "LabelPlan",
    "plan_labels",
    "stop_reason",
]

#: The two grade thresholds, lowest first: frames above ``"collect"`` are candidates to label;
#: the application stops at a frame above ``"stop"``.
THRESHOLD_NAMES = ("collect", "stop")

#: Why a loop stops (the values :func:`stop_reason` returns besides None).
STOP_REASONS = ("converged", "budget", "max_iterations", "nothing_to_label")


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return x


def check_thresholds(thresholds) -> dict[str, float]:
    """The grade thresholds as ``{"collect": c, "stop": s}``, checked: ``0 < c < s``.

    Args:
        thresholds: a mapping with the keys ``"collect"`` and ``"stop"`` (grades, no unit),
            or a pair ``(collect, stop)``.

    Raises:
        ValueError: naming ``thresholds``, for other keys, values that are not finite numbers
            > 0, or thresholds out of order (``collect`` must be below ``stop``).
    """
    if isinstance(thresholds, Mapping):
        keys = sorted(str(k) for k in thresholds)
        if keys != sorted(THRESHOLD_NAMES):
            raise ValueError(f"thresholds must have the keys {list(THRESHOLD_NAMES)}, got {keys}")
        values = {str(k): v for k, v in thresholds.items()}
    elif isinstance(thresholds, Sequence) and not isinstance(thresholds, str):
        if len(thresholds) != 2:
            raise ValueError(
                f"thresholds must be (collect, stop) or {{'collect': c, 'stop': s}}, got "
                f"{thresholds!r}"
            )
        values = dict(zip(THRESHOLD_NAMES, thresholds, strict=True))
    else:
        raise ValueError(
            f"thresholds must be (collect, stop) or {{'collect': c, 'stop': s}}, got {thresholds!r}"
        )
    out = {k: _number(values[k], f"thresholds[{k!r}]") for k in THRESHOLD_NAMES}
    for k, v in out.items():
        if v <= 0:
            raise ValueError(f"thresholds[{k!r}] must be > 0, got {v!r}")
    if not out["collect"] < out["stop"]:
        raise ValueError(
            f"thresholds are out of order: 'collect' ({out['collect']:g}) must be below "
            f"'stop' ({out['stop']:g})"
        )
    return out


def check_budget(budget_core_hours, cheapest_core_hours: float) -> float:
    """The DFT budget, checked against the cheapest single calculation.

    Args:
        budget_core_hours: the budget (core-hours).
        cheapest_core_hours: the predicted cost of the cheapest calculation the loop could run
            (one structure of the application at its cheapest level), core-hours.

    Returns:
        The budget as a float.

    Raises:
        ValueError: naming ``budget_core_hours``, if it is not a number > 0 or pays less than
            that one calculation.
    """
    budget = _number(budget_core_hours, "budget_core_hours")
    if budget <= 0:
        raise ValueError(f"budget_core_hours must be > 0 (core-hours), got {budget_core_hours!r}")
    if budget < cheapest_core_hours:
        raise ValueError(
            f"budget_core_hours={budget:.4g} pays not even one calculation at the cheapest "
            f"level ({cheapest_core_hours:.4g} core-hours); give a budget of at least that"
        )
    return budget


def affordable(core_hours: Sequence[float], available: float) -> int:
    """How many of the calculations, taken in order, fit into ``available`` core-hours.

    Each calculation is costed on its own; the count stops at the first one that would exceed
    the budget (the order is the order of preference).
    """
    total = 0.0
    for k, c in enumerate(core_hours):
        total += float(c)
        if total > available * (1 + 1e-12):
            return k
    return len(core_hours)


@dataclass(frozen=True)
class LabelPlan:
    """The labels of one iteration: ``n_train`` at ``level`` and ``n_test`` at the reference
    level, costing ``core_hours`` (predicted) in all."""

    level: str | None
    n_train: int
    n_test: int
    core_hours: float


def plan_labels(
    remaining_core_hours: float,
    ranked_levels: Sequence[str],
    train_core_hours: Mapping[str, Sequence[float]],
    test_core_hours: Sequence[float],
    *,
    test_share: float = 0.25,
) -> LabelPlan:
    """This iteration's labels within the remaining budget.

    The test labels (at the reference level) get at most ``test_share`` of the remaining
    budget; the training labels get the rest, at the first level of ``ranked_levels`` that pays
    all of them, else at the level that pays the most of them (the better ranked one on a tie).
    If no training label fits at any level, nothing is labelled (a test label alone does not
    improve the model).

    Args:
        remaining_core_hours: the budget left, core-hours.
        ranked_levels: candidate levels of the training labels, best first (e.g. the plan's
            ranking of its settings).
        train_core_hours: ``{level: per-frame costs}`` of the selected training frames, in the
            order of preference, core-hours.
        test_core_hours: per-frame costs of the test frames at the reference level, in order.
        test_share: the largest share of the remaining budget for test labels, in [0, 1).

    Returns:
        A :class:`LabelPlan` (level None and counts 0 when nothing is affordable).

    Raises:
        ValueError: naming the parameter, for an empty ranking, a level without costs, or a
            test share outside [0, 1).
    """
    if not ranked_levels:
        raise ValueError("ranked_levels must name at least one level")
    missing = [lv for lv in ranked_levels if lv not in train_core_hours]
    if missing:
        raise ValueError(f"train_core_hours has no costs for the level(s) {missing}")
    share = _number(test_share, "test_share")
    if not 0.0 <= share < 1.0:
        raise ValueError(f"test_share must be in [0, 1), got {test_share!r}")
    remaining = max(float(remaining_core_hours), 0.0)
    test = list(test_core_hours)
    n_test = affordable(test, share * remaining)
    left = remaining - float(sum(test[:n_test]))
    best, best_n = None, 0
    for lv in ranked_levels:
        costs = list(train_core_hours[lv])
        n = affordable(costs, left)
        if n == len(costs) and n > 0:
            best, best_n = lv, n
            break
        if n > best_n:
            best, best_n = lv, n
    if best_n == 0:
        return LabelPlan(None, 0, 0, 0.0)
    cost = float(sum(list(train_core_hours[best])[:best_n]) + sum(test[:n_test]))
    return LabelPlan(str(best), int(best_n), int(n_test), cost)


def stop_reason(
    *,
    max_grade: float,
    collect: float,
    energy_rmse: float,
    force_rmse: float,
    energy_target: float | None,
    force_target: float | None,
    remaining_core_hours: float,
    cheapest_core_hours: float,
    iteration: int,
    max_iterations: int,
    n_collected: int,
) -> str | None:
    """Why the loop stops after this iteration's application run, or None to go on.

    In this order:

    - ``"converged"``: the largest grade over the whole application run stayed below
      ``collect`` and the held-out errors meet the targets (a target of None is met);
    - ``"budget"``: the remaining budget does not pay the cheapest calculation;
    - ``"max_iterations"``: this was the last iteration allowed (``iteration`` counts from 0);
    - ``"nothing_to_label"``: no frame passed ``collect`` although the errors miss a target
      (the application does not reach where the model is wrong: change the application or
      the thresholds).

    Errors in meV/atom and meV/Angstrom, costs in core-hours.
    """
    calm = float(max_grade) < float(collect)
    met = (energy_target is None or float(energy_rmse) <= float(energy_target)) and (
        force_target is None or float(force_rmse) <= float(force_target)
    )
    if calm and met:
        return "converged"
    if float(remaining_core_hours) < float(cheapest_core_hours):
        return "budget"
    if int(iteration) + 1 >= int(max_iterations):
        return "max_iterations"
    if int(n_collected) == 0:
        return "nothing_to_label"
    return None
