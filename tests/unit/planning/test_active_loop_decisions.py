"""The decisions of the active-learning loop: thresholds, budget, level choice, stop rule, against
hand-computed cases and brute-force loops."""

import numpy as np
import pytest

from pyiron_appmlip.planning.active_loop import (
    LabelPlan,
    affordable,
    check_budget,
    check_thresholds,
    plan_labels,
    stop_reason,
)


# -- thresholds ----------------------------------------------------------------------------------
def test_thresholds_as_mapping_or_pair():
    assert check_thresholds({"collect": 2, "stop": 10.0}) == {"collect": 2.0, "stop": 10.0}
    assert check_thresholds((1.5, 3)) == {"collect": 1.5, "stop": 3.0}


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"collect": 5.0, "stop": 2.0}, "out of order: 'collect' \\(5\\) must be below 'stop'"),
        ({"collect": 3.0, "stop": 3.0}, "out of order"),
        ({"collect": 0.0, "stop": 3.0}, "thresholds\\['collect'\\] must be > 0"),
        ({"collect": 1.0}, "must have the keys \\['collect', 'stop'\\]"),
        ({"collect": 1.0, "halt": 2.0}, "must have the keys"),
        ((1.0, float("nan")), "thresholds\\['stop'\\] must be a finite number"),
        ((1.0, 2.0, 3.0), "must be \\(collect, stop\\)"),
        ("high", "must be \\(collect, stop\\)"),
    ],
)
def test_bad_thresholds_name_the_parameter(bad, match):
    with pytest.raises(ValueError, match=match):
        check_thresholds(bad)


# -- budget --------------------------------------------------------------------------------------
def test_budget_below_one_calculation_is_refused():
    assert check_budget(2.0, 0.5) == 2.0
    with pytest.raises(ValueError, match="budget_core_hours=0.1 pays not even one calculation"):
        check_budget(0.1, 0.5)
    with pytest.raises(ValueError, match="budget_core_hours must be > 0"):
        check_budget(-1.0, 0.5)
    with pytest.raises(ValueError, match="budget_core_hours must be a number"):
        check_budget("lots", 0.5)


def test_affordable_counts_the_prefix_that_fits():
    costs = [0.3, 0.2, 0.4, 0.1]
    for available in np.linspace(0.0, 1.2, 25):
        expected = 0
        while expected < len(costs) and sum(costs[: expected + 1]) <= available + 1e-12:
            expected += 1
        assert affordable(costs, available) == expected
    assert affordable([], 1.0) == 0


# -- level and budget split ----------------------------------------------------------------------
def test_plan_labels_takes_the_best_ranked_level_that_pays_all():
    train = {"3": [1.0] * 4, "2": [0.4] * 4, "1": [0.1] * 4}
    test = [0.5, 0.5, 0.5]
    # plenty: the plan's level, tests within a quarter of the budget
    plan = plan_labels(20.0, ["3", "2", "1"], train, test)
    assert plan == LabelPlan("3", 4, 3, 4.0 + 1.5)
    # 4 core-hours: a quarter pays 2 tests (1.0), 3.0 left: level 3 pays 3 of 4, level 2 all
    plan = plan_labels(4.0, ["3", "2", "1"], train, test)
    assert plan == LabelPlan("2", 4, 2, pytest.approx(1.6 + 1.0))
    # 1 core-hour: no test (0.25 < 0.5); level 1 pays all 4 (0.4)
    plan = plan_labels(1.0, ["3", "2", "1"], train, test)
    assert plan == LabelPlan("1", 4, 0, pytest.approx(0.4))
    # no level pays everything: the one paying most
    plan = plan_labels(0.25, ["3", "2", "1"], train, [])
    assert plan == LabelPlan("1", 2, 0, pytest.approx(0.2))
    # nothing fits
    assert plan_labels(0.05, ["3", "1"], train, test) == LabelPlan(None, 0, 0, 0.0)


def test_plan_labels_never_exceeds_the_budget():
    rng = np.random.default_rng(0)
    for _ in range(200):
        train = {lv: rng.uniform(0.01, 1.0, 5) * f for lv, f in (("a", 3.0), ("b", 1.0))}
        test = rng.uniform(0.1, 2.0, 3)
        remaining = float(rng.uniform(0.0, 8.0))
        plan = plan_labels(remaining, ["a", "b"], train, test, test_share=0.3)
        assert plan.core_hours <= remaining * (1 + 1e-12)
        if plan.level is not None:
            spent = train[plan.level][: plan.n_train].sum() + test[: plan.n_test].sum()
            assert plan.core_hours == pytest.approx(spent)
            assert test[: plan.n_test].sum() <= 0.3 * remaining + 1e-12


def test_plan_labels_bad_input():
    with pytest.raises(ValueError, match="ranked_levels must name"):
        plan_labels(1.0, [], {}, [])
    with pytest.raises(ValueError, match="train_core_hours has no costs for the level"):
        plan_labels(1.0, ["2"], {"1": [0.1]}, [])
    with pytest.raises(ValueError, match="test_share must be in \\[0, 1\\)"):
        plan_labels(1.0, ["1"], {"1": [0.1]}, [], test_share=1.0)


# -- stop rule -----------------------------------------------------------------------------------
def _stop(**kw):
    args = dict(
        max_grade=0.5,
        collect=1.0,
        energy_rmse=5.0,
        force_rmse=100.0,
        energy_target=10.0,
        force_target=200.0,
        remaining_core_hours=10.0,
        cheapest_core_hours=1.0,
        iteration=0,
        max_iterations=5,
        n_collected=0,
    )
    args.update(kw)
    return stop_reason(**args)


def test_stop_rule():
    assert _stop() == "converged"
    assert _stop(energy_target=None, force_target=None) == "converged"
    # a calm run whose error misses the target goes on only if something can be labelled
    assert _stop(energy_rmse=20.0) == "nothing_to_label"
    assert _stop(energy_rmse=20.0, n_collected=3) is None
    # a grade above collect: not converged even with met targets
    assert _stop(max_grade=1.5, n_collected=2) is None
    assert _stop(max_grade=1.0, n_collected=2) is None  # "below collect" is strict
    assert _stop(max_grade=1.5, n_collected=2, remaining_core_hours=0.5) == "budget"
    assert _stop(max_grade=1.5, n_collected=2, iteration=4) == "max_iterations"
    # converged wins over budget and iterations
    assert _stop(remaining_core_hours=0.0, iteration=4) == "converged"
