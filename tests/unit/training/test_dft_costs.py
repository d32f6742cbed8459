"""DFT cost of training sets: a cost given per level (per configuration, per atom, a cost model)
against brute-force sums over the training configurations, the source named in every row, the
rule between given and measured times, and the checks of the cost specification."""

import math

import numpy as np
import pytest

from pyiron_appmlip.datasets.store import LevelData
from pyiron_appmlip.dft.cost import COST_KINDS, CostModel, LevelCost, parse_level_costs
from pyiron_appmlip.training.costs import cost_is_unknown, dft_costs
from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, fit_table, run_sweep


def _data(m=24, p=4, seed=2, times=None, kpoints=None):
    """Synthetic blocks and labels at levels "imported:a" and "2" (1-4 atoms each)."""
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=p + 1)
    blocks, energies, forces = {}, {}, {}
    for k in range(m):
        n = int(rng.integers(1, 5))
        cid = f"c{k:03d}"
        b = rng.normal(size=(1 + 3 * n, p))
        blocks[cid] = b
        energies[cid] = beta[0] * n + b[0] @ beta[1:] + 0.01 * rng.normal()
        forces[cid] = (b[1:] @ beta[1:]).reshape(n, 3) + 0.01 * rng.normal(size=(n, 3))
    ids = sorted(blocks)
    labels = {
        lv: Labels.from_arrays(
            ids,
            [energies[i] + shift for i in ids],
            [forces[i] for i in ids],
            wall_times=None if times is None else [times(i) for i in ids],
            n_kpoints=kpoints,
        )
        for lv, shift in (("imported:a", 0.0), ("2", 0.01))
    }
    return blocks, labels, ids[:18], ids[18:]


def test_a_per_atom_cost_gives_the_sum_over_training_atoms():
    blocks, labels, train, test = _data()
    grid = SweepGrid(["imported:a", "2"], [5, 10], [150], samplers=["random", "all"])
    costs = {"imported:a": {"per_atom": 3.0}, "2": {"per_configuration": 120.0}}
    rows = run_sweep({2: InMemoryBlocks(blocks)}, labels, train, test, grid, "2", level_costs=costs)
    assert len(rows) == 2 * 3
    for r in rows:
        ids = list(r["training_ids"])
        atoms = sum(len(labels["imported:a"].forces[i]) for i in ids)
        if r["train_level"] == "imported:a":
            assert r["dft_seconds"] == pytest.approx(3.0 * atoms, rel=1e-12)
            assert r["dft_cost_source"] == "given: 3 s per atom"
        else:
            assert r["dft_seconds"] == pytest.approx(120.0 * len(ids), rel=1e-12)
            assert r["dft_cost_source"] == "given: 120 s per configuration"
        assert r["n_train_atoms"] == atoms


def test_a_cost_model_gives_its_prediction_per_configuration():
    kpoints = [1 + (k % 3) for k in range(24)]
    blocks, labels, train, test = _data(kpoints=kpoints)
    model = CostModel(
        prefactor=0.5, atom_exponent=2.0, kpoint_exponent=1.0, n_samples=5, rms_log_residual=0.1
    )
    (row,) = fit_table(
        blocks,
        labels,
        train,
        test,
        [150],
        train_levels=["imported:a"],
        level_costs={"imported:a": {"model": model.to_dict()}},
    )
    k_of = dict(zip(sorted(blocks), kpoints, strict=True))
    expected = sum(0.5 * len(labels["2"].forces[i]) ** 2 * k_of[i] for i in train)
    assert row["dft_seconds"] == pytest.approx(expected, rel=1e-12)
    assert row["dft_cost_source"] == "given: cost model 0.5 s x N^2 x K^1 (N atoms, K k-points)"
    # without recorded k-points the model that needs them is refused, naming the level
    blocks, labels, train, test = _data()
    with pytest.raises(ValueError, match=r"level_costs\['imported:a'\].*k-points.*per_atom"):
        fit_table(blocks, labels, train, test, [150], level_costs={"imported:a": {"model": model}})
    # a model without a k-point exponent needs none
    flat = {"model": {"prefactor": 2.0, "atom_exponent": 1.5, "kpoint_exponent": 0.0}}
    (row,) = fit_table(
        blocks, labels, train, test, [150], train_levels=["2"], level_costs={"2": flat}
    )
    expected = sum(2.0 * len(labels["2"].forces[i]) ** 1.5 for i in train)
    assert row["dft_seconds"] == pytest.approx(expected, rel=1e-12)


def test_measured_unknown_and_overridden_costs_are_named():
    # every configuration timed: the measured times, named with their clock
    blocks, labels, train, test = _data(times=lambda i: 10.0 + int(i[1:]))
    rows = fit_table(blocks, labels, train, test, [150])
    for r in rows:
        assert r["dft_cost_source"] == "measured wall time"
        assert r["dft_seconds"] == pytest.approx(sum(10.0 + int(i[1:]) for i in train))
    # a given cost wins over the measured times, and says how many it overrides
    (row,) = fit_table(
        blocks,
        labels,
        train,
        test,
        [150],
        train_levels=["2"],
        level_costs={2: {"per_configuration": 1.0}},
    )
    assert row["dft_seconds"] == pytest.approx(len(train))
    assert row["dft_cost_source"] == (
        f"given: 1 s per configuration; overrides the measured wall time of {len(train)} of "
        f"{len(train)} configurations"
    )
    # some times missing: they count as 0 s, and the source says how many
    timed = set(train[::2])
    blocks, labels, train, test = _data(times=lambda i: 7.0 if i in timed else np.nan)
    (row,) = fit_table(blocks, labels, train, test, [150], train_levels=["2"])
    assert row["dft_seconds"] == pytest.approx(7.0 * len(timed))
    assert row["dft_cost_source"].startswith(f"measured wall time of {len(timed)} of 18 ")
    assert "count as 0 s" in row["dft_cost_source"]
    # no times at all (imported labels): unknown, counted as 0 s, said so
    blocks, labels, train, test = _data()
    (row,) = fit_table(blocks, labels, train, test, [150], train_levels=["imported:a"])
    assert row["dft_seconds"] == 0.0
    assert cost_is_unknown(row["dft_cost_source"]) and "0 s" in row["dft_cost_source"]


def test_cpu_times_of_a_dataset_level_are_named():
    n = 3
    level = LevelData(
        name="1",
        level={"kspacing": 0.3, "encut": 300.0},
        engine="gpaw",
        engine_version="x",
        ids=["a", "b", "c"],
        energy=np.zeros(n),
        energy_zero=np.zeros(n),
        forces=[np.zeros((1, 3))] * n,
        stress=np.full((n, 6), np.nan),
        wall_time=np.array([5.0, 6.0, 7.0]),
        cpu_time=np.array([4.0, 5.0, 6.0]),
        n_kpoints=np.array([8, 8, -1]),
        n_scf_iterations=np.zeros(n),
        kmesh=np.ones((n, 3)),
        job_id=np.zeros(n),
        child_id=np.zeros(n),
    )
    labels = level.labels()
    assert labels.cost_clock == "cpu" and labels.n_kpoints == {"a": 8, "b": 8}
    cost = dft_costs({"1": labels}, ["a", "b", "c"])["1"]
    assert cost.source == "measured CPU time" and cost.total(["a", "c"]) == 10.0
    assert dft_costs({"1": level.labels(clock="wall")}, ["a"])["1"].source == "measured wall time"


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"3": {"per_atom": -1.0}}, r"level_costs\['3'\]\['per_atom'\] must be a finite number"),
        ({"3": {"per_atom": math.nan}}, r"level_costs\['3'\]\['per_atom'\] must be a finite"),
        ({"3": {"per_configuration": 0.0}}, r"\['per_configuration'\] must be a finite number"),
        ({"3": {"per_atom": True}}, r"\['per_atom'\] must be a number of seconds > 0"),
        ({"3": {"per_atom": "3"}}, r"\['per_atom'\] must be a number of seconds > 0"),
        ({"3": {"per_hour": 3.0}}, r"unknown kind 'per_hour'; allowed kinds: \['per_config"),
        ({"3": {"per_atom": 1.0, "per_configuration": 2.0}}, r"level_costs\['3'\] must be one"),
        ({"3": "model"}, r"level_costs\['3'\] must be one of \{'per_configuration'"),
        ({"3": {"model": {"prefactor": 1.0}}}, r"\['model'\] must have the keys.*missing"),
        (
            {"3": {"model": {"prefactor": 1.0, "atom_exponent": 1, "kpoint_exponent": math.inf}}},
            r"\['model'\]\['kpoint_exponent'\] must be a finite number",
        ),
        (
            {"3": {"model": {"prefactor": -1.0, "atom_exponent": 1, "kpoint_exponent": 0}}},
            r"\['model'\]\['prefactor'\] must be a finite number of seconds > 0",
        ),
        ({7: {"per_atom": 1.0}}, r"level_costs names the level 7, which is not a level"),
        ({"4": {"per_atom": 1.0}}, r"names the level\(s\) \['4'\], which have no labels here; "),
        ({3: {"per_atom": 1.0}, "3": {"per_atom": 2.0}}, r"names level '3' twice"),
        ([("3", {"per_atom": 1.0})], r"level_costs must map levels to costs"),
    ],
)
def test_bad_cost_specs_name_the_parameter_and_what_is_allowed(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_level_costs(spec, levels=["3", "imported:a"])


def test_bad_costs_reach_the_sweep_as_errors():
    blocks, labels, train, test = _data()
    with pytest.raises(ValueError, match=r"level_costs names the level\(s\) \['3'\].*no labels"):
        fit_table(blocks, labels, train, test, [150], level_costs={3: {"per_atom": 1.0}})
    with pytest.raises(ValueError, match=r"level_costs\['2'\]\['per_atom'\] must be a finite"):
        fit_table(blocks, labels, train, test, [150], level_costs={"2": {"per_atom": -3.0}})


def test_level_cost_round_trip_and_description():
    assert COST_KINDS == ("per_configuration", "per_atom", "model")
    for spec in ({"per_atom": 3.0}, {"per_configuration": 120.0}):
        cost = LevelCost.from_spec(spec)
        assert cost.to_spec() == spec and LevelCost.from_spec(cost.to_spec()) == cost
    model = CostModel(1.5, 2.5, 1.0, 4, 0.2, fixed=())
    cost = LevelCost.from_spec(model)
    assert LevelCost.from_spec(cost.to_spec()).model == model
    assert cost.predict([2, 3], [4, 1]) == pytest.approx([1.5 * 2**2.5 * 4, 1.5 * 3**2.5])
    assert LevelCost.from_spec({"per_atom": 3.0}).describe() == "given: 3 s per atom"
    with pytest.raises(ValueError, match="k-points"):
        cost.predict([2])
