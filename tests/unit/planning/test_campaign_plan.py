"""The campaign plan against a brute-force scan of every (setting, size) the budget allows."""

import math

import numpy as np
import pytest

from pyiron_appmlip.planning.plan import PlanSetting, plan_campaign


class FakeErrorModel:
    """A stand-in for a fitted ErrorModel with known curves err(N)^2 = floor^2 + A / N."""

    def __init__(self, curves):
        self.curves = curves  # {key: {quantity: (floor, amplitude)}}

    def predict(self, key, n, band=True):
        if key not in self.curves:
            raise ValueError(f"setting {key!r} has no pilot rows")
        n = np.asarray(n, dtype=float)
        out = {}
        for q, (floor, amp) in self.curves[key].items():
            med = np.sqrt(floor**2 + amp / n)
            out[q] = {"median": med, "low": 0.9 * med, "high": 1.1 * med}
        return out


CURVES = {  # cheap levels have high floors, expensive ones low floors
    "L1": {"energy": (8.0, 2.0e4), "force": (120.0, 2.0e6)},
    "L3": {"energy": (3.0, 2.0e4), "force": (60.0, 2.0e6)},
    "L5": {"energy": (0.5, 2.0e4), "force": (40.0, 2.0e6)},
}
SECONDS = {"L1": 20.0, "L3": 120.0, "L5": 900.0}
SETTINGS = [PlanSetting(k, SECONDS[k], description={"level": k}) for k in CURVES]
MODEL = FakeErrorModel(CURVES)
POOL = 5000


def _all_affordable(budget_hours, spent=0.0):
    out = []
    for s in SETTINGS:
        n_max = min(POOL, int((budget_hours - spent) * 3600 / s.per_configuration))
        for n in range(1, n_max + 1):
            p = MODEL.predict(s.key, [n], band=False)
            cost = s.per_configuration * n / 3600
            out.append((s.key, n, p["energy"]["median"][0], p["force"]["median"][0], cost))
    return out


@pytest.mark.parametrize("budget", [0.5, 3.0, 20.0, 200.0])
@pytest.mark.parametrize("preference", [0.0, 1.0])
def test_single_objective_plans_equal_brute_force(budget, preference):
    plan = plan_campaign(MODEL, SETTINGS, budget, max_size=POOL, preference=preference)
    rows = _all_affordable(budget)
    col = 2 if preference == 1.0 else 3
    best = min(rows, key=lambda r: (round(r[col], 12), r[4]))
    assert (plan.best["key"], int(plan.best["subset_size"])) == (best[0], best[1])
    assert plan.best["dft_core_hours"] <= budget + 1e-12


def test_targets_give_the_cheapest_setting_that_meets_them():
    targets = {"energy_target": 5.0, "force_target": 90.0}
    plan = plan_campaign(MODEL, SETTINGS, 50.0, max_size=POOL, **targets)
    rows = [r for r in _all_affordable(50.0) if r[2] <= 5.0 and r[3] <= 90.0]
    cheapest = min(rows, key=lambda r: r[4])
    assert plan.targets_met
    assert (plan.best["key"], int(plan.best["subset_size"])) == (cheapest[0], cheapest[1])
    # unreachable targets: the plan says so and falls back to the preference score
    plan = plan_campaign(MODEL, SETTINGS, 50.0, max_size=POOL, energy_target=0.1)
    assert not plan.targets_met and "no setting is predicted to meet" in plan.notes[0]


def test_a_plan_never_exceeds_its_budget_and_names_the_alternatives():
    rng = np.random.default_rng(0)
    for budget in rng.uniform(0.05, 500.0, size=30):
        spent = float(rng.uniform(0, 0.5 * budget))
        plan = plan_campaign(
            MODEL, SETTINGS, budget, max_size=POOL, preference=0.5, spent_core_hours=spent
        )
        assert (plan.candidates["dft_core_hours"] <= budget - spent + 1e-9).all()
        assert set(plan.alternatives) <= {2.0, 0.5}
    plan = plan_campaign(MODEL, SETTINGS, 20.0, max_size=POOL)
    assert plan.alternatives[2.0].best["dft_core_hours"] <= 40.0 + 1e-9
    assert "With 2x the budget" in plan.summary()


def test_configurations_to_label_skip_the_pilot():
    ids = [f"c{k:04d}" for k in range(POOL)]
    pilot = {"L5": ids[:10]}
    plan = plan_campaign(
        MODEL,
        SETTINGS,
        1.0,
        max_size=POOL,
        preference=1.0,
        candidate_ids=ids,
        labelled=pilot,
    )
    n = int(plan.best["subset_size"])
    if plan.best["key"] == "L5":
        assert plan.to_label == [(i, "L5") for i in ids[10:n]]
    else:
        assert plan.to_label == [(i, plan.best["key"]) for i in ids[:n]]
    assert math.isfinite(plan.best["energy_rmse"])


def test_bad_input_says_what_to_change():
    with pytest.raises(ValueError, match=r"preference must be a number in \[0, 1\]"):
        plan_campaign(MODEL, SETTINGS, 10.0, max_size=POOL, preference=1.5)
    with pytest.raises(ValueError, match="is not above what the pilot spent"):
        plan_campaign(MODEL, SETTINGS, 1.0, max_size=POOL, spent_core_hours=1.0)
    with pytest.raises(ValueError, match="less than the cheapest setting needs"):
        plan_campaign(MODEL, SETTINGS, 1e-4, max_size=POOL, min_size=10)
    with pytest.raises(ValueError, match="settings must name at least one"):
        plan_campaign(MODEL, [], 10.0, max_size=POOL)
    with pytest.raises(ValueError, match="has no pilot rows"):
        plan_campaign(MODEL, [PlanSetting("L9", 1.0)], 10.0, max_size=POOL)


def test_a_level_pair_costs_its_energy_subset_and_labels_it():
    """Energies at L5 on the first 20 configurations, forces at L1 on all: the fixed cost of the
    energies is paid whatever N, N starts at 20, and the calculations to label include both."""
    curves = dict(CURVES)
    curves["E5+F1"] = {"energy": (1.0, 2.0e4), "force": (120.0, 2.0e6)}
    pair = PlanSetting(
        "E5+F1",
        SECONDS["L1"],
        fixed=20 * SECONDS["L5"],
        description={"level": "L1", "energy_level": "L5"},
        min_size=20,
    )
    model = FakeErrorModel(curves)
    ids = [f"c{k:04d}" for k in range(POOL)]
    plan = plan_campaign(
        model, [pair], 10.0, max_size=POOL, candidate_ids=ids, labelled={"L5": ids[:5]}
    )
    n = int(plan.best["subset_size"])
    assert n == min(POOL, int((10.0 * 3600 - 20 * SECONDS["L5"]) / SECONDS["L1"]))
    assert plan.best["dft_core_hours"] == pytest.approx((20 * 900.0 + n * 20.0) / 3600)
    force_calcs = [i for i, lv in plan.to_label if lv == "L1"]
    energy_calcs = [i for i, lv in plan.to_label if lv == "L5"]
    assert len(force_calcs) == n
    assert energy_calcs == ids[5:20]  # the first 20 of the training set, minus the pilot's 5
    with pytest.raises(ValueError, match="less than the cheapest setting needs"):
        plan_campaign(model, [pair], 20 * 900.0 / 3600 * 0.99, max_size=POOL)


def test_configurations_labelled_already_cost_nothing_more():
    pilot = 30
    plain = PlanSetting("L5", SECONDS["L5"], description={"level": "L5"})
    reused = PlanSetting("L5", SECONDS["L5"], description={"level": "L5"}, labelled=pilot)
    budget = 2.0  # 8 configurations at 900 s
    a = plan_campaign(MODEL, [plain], budget, max_size=POOL, alternatives=())
    b = plan_campaign(MODEL, [reused], budget, max_size=POOL, alternatives=())
    assert int(a.best["subset_size"]) == 8
    assert int(b.best["subset_size"]) == 8 + pilot
    assert b.best["dft_core_hours"] == pytest.approx(8 * 900.0 / 3600)
    assert reused.seconds(10) == 0.0 and reused.seconds(31) == 900.0


def test_models_by_group_dispatch():
    from pyiron_appmlip.planning.plan import ModelsByGroup

    other = FakeErrorModel({"L1": {"energy": (1.0, 0.0), "force": (2.0, 0.0)}})
    grouped = ModelsByGroup({"a": MODEL, "b": other}, lambda key: "b" if key == "L1" else "a")
    assert grouped.predict("L1", [10])["energy"]["median"][0] == pytest.approx(1.0)
    assert grouped.predict("L3", [10])["energy"]["median"][0] == pytest.approx(
        MODEL.predict("L3", [10])["energy"]["median"][0]
    )
    with pytest.raises(ValueError, match="no error model for its group"):
        ModelsByGroup({"a": MODEL}, lambda key: "z").predict("L1", [1])


def test_a_pilot_without_repetitions_gives_medians_without_a_band():
    class SingleFitModel(FakeErrorModel):
        """A fake whose band is unknown (single fits), as ErrorModel says then."""

        def predict(self, key, n, band=True):
            if band:
                raise ValueError("repetitions: a band needs at least 2 repetitions")
            out = super().predict(key, n, band=False)
            return {q: {"median": d["median"]} for q, d in out.items()}

    plan = plan_campaign(SingleFitModel(CURVES), SETTINGS, 10.0, max_size=POOL, alternatives=())
    assert np.isnan(plan.best["energy_rmse_low"]) and np.isfinite(plan.best["energy_rmse"])
    assert "no 16-84 % band" in plan.notes[0]


@pytest.mark.parametrize("bad", ["lots", float("nan"), -1.0, 0])
def test_a_budget_that_is_not_a_positive_number_is_named(bad):
    with pytest.raises(ValueError, match=r"budget_core_hours must be a number > 0 \(core-hours\)"):
        plan_campaign(MODEL, SETTINGS, bad, max_size=POOL)
    with pytest.raises(ValueError, match=r"energy_target must be a number > 0 \(meV/atom\)"):
        plan_campaign(MODEL, SETTINGS, 10.0, max_size=POOL, energy_target=bad)
