"""Sweep work units: checked weight pairs, one picklable object per unit handed to the executor,
each unit's fits against a dense scipy lstsq on its own training ids, the positional call of
earlier versions, and the join stage against plain set logic (no engines)."""

import math
import pickle

import numpy as np
import pytest
import scipy.linalg

from pyiron_appmlip.core.validation import WeightPair, as_weight_pairs
from pyiron_appmlip.training import sweep as sweep_module
from pyiron_appmlip.training.labels import Labels, parse_weights
from pyiron_appmlip.training.sweep import (
    IndependentUnit,
    InMemoryBlocks,
    NestedUnit,
    SweepGrid,
    UnitKey,
    join_configurations,
    plan_units,
    run_sweep,
    unit_fits,
)


def _data(m=24, p=4, seed=1):
    rng = np.random.default_rng(seed)
    blocks, energies, forces = {}, {}, {}
    for k in range(m):
        n = int(rng.integers(1, 4))
        blocks[f"c{k:02d}"] = rng.normal(size=(1 + 3 * n, p))
        energies[f"c{k:02d}"] = rng.normal()
        forces[f"c{k:02d}"] = rng.normal(size=(n, 3))
    return blocks, Labels(energies, forces, {i: 1.0 for i in blocks})


def _lstsq(blocks, labels, ids, w_e, w_f):
    """The weighted problem (per-atom energy rows, force rows) written out, solved by scipy."""
    a, y = [], []
    for i in ids:
        b, n = blocks[i], len(labels.forces[i])
        a.append(np.r_[n, b[0]] * w_e / n)
        y.append(labels.energies[i] * w_e / n)
        for r, f in zip(b[1:], labels.forces[i].ravel(), strict=True):
            a.append(np.r_[0.0, r] * w_f)
            y.append(f * w_f)
    return scipy.linalg.lstsq(np.array(a), np.array(y))[0]


def _plan(draws):
    blocks, labels = _data()
    ids = sorted(blocks)
    train, test = ids[:18], ids[18:]
    grid = SweepGrid(
        train_levels=["1"],
        subset_sizes=[8, 12],
        weights=[150, (12, 2)],
        samplers=["random", "leverage"],
        repetitions=2,
        seed=5,
        draws=draws,
    )
    labels = {"1": labels}
    source = InMemoryBlocks(blocks)
    join = join_configurations(4, source, labels, train, test, grid, "1")
    state = sweep_module._Sweep(
        grid=grid,
        labels=labels,
        truth="1",
        all_levels=["1"],
        factors_of={},
        costs={},
        volumes={},
        aps={},
        ridge=0.0,
        done=set(),
    )
    return blocks, labels["1"], plan_units(4, source, join, state, lambda msg: None)


def test_weight_pair_is_checked_when_made_and_is_a_tuple():
    pair = WeightPair(150, 1)
    assert pair == (150.0, 1.0) and isinstance(pair, tuple)
    assert (pair.energy, pair.force) == (150.0, 1.0)
    assert all(type(x) is float for x in pair)
    back = pickle.loads(pickle.dumps(pair))
    assert type(back) is WeightPair and back == pair
    for bad, name in [((0, 1), "energy_weight"), ((1, -2), "force_weight"),
                      ((math.nan, 1), "energy_weight"), ((1, "x"), "force_weight"),
                      ((math.inf, 1), "energy_weight")]:  # fmt: skip
        with pytest.raises(ValueError, match=f"{name} must be a finite number > 0"):
            WeightPair(*bad)
    # a checked pair is taken as it is, a plain one is checked
    assert as_weight_pairs([pair])[0] is pair
    assert type(as_weight_pairs([(2, 1)])[0]) is WeightPair
    with pytest.raises(ValueError, match="force_weight"):
        as_weight_pairs([(2, 0)])
    with pytest.raises(ValueError):
        as_weight_pairs([(1, 2, 3)])
    assert all(type(w) is WeightPair for w in parse_weights([150, (12, 2)]))
    grid = SweepGrid(train_levels=[1], subset_sizes=[2], weights=[150, 150.0, (3, 1)])
    assert grid.weights == [(150.0, 1.0), (3.0, 1.0)]
    assert all(type(w) is WeightPair for w in [*grid.weights, grid.leverage_weights])


@pytest.mark.parametrize("draws", ["nested", "independent"])
def test_every_unit_pickles_and_its_fits_equal_dense_lstsq(draws):
    blocks, labels, plan = _plan(draws)
    kind = NestedUnit if draws == "nested" else IndependentUnit
    assert plan.units and all(type(u) is kind for u in plan.units.values())
    assert all(isinstance(key, UnitKey) for key in plan.units)
    n_checked = 0
    for unit in plan.units.values():
        copy = pickle.loads(pickle.dumps(unit))
        assert copy.ordered_ids == unit.ordered_ids
        records = unit_fits(copy)
        sizes = unit.sizes if draws == "nested" else tuple(unit.orders)
        assert sorted({r.subset_size for r in records}) == sorted(sizes)
        assert len(records) == len(sizes) * 2  # two weight pairs, one level
        for rec in records:
            if draws == "nested":
                ids = unit.ordered_ids[: rec.subset_size]
            else:
                ids = unit.orders[rec.subset_size]
            assert len(set(ids)) == rec.subset_size
            ref = _lstsq(blocks, labels, ids, rec.energy_weight, rec.force_weight)
            np.testing.assert_allclose(
                rec.model.coefficients, ref, rtol=0, atol=1e-8 * np.abs(ref).max()
            )
            n_checked += 1
    assert n_checked >= 8


def test_the_positional_call_of_earlier_versions_runs_the_same_unit():
    _, _, plan = _plan("nested")
    unit = next(iter(plan.units.values()))
    s = unit.settings
    old = unit_fits(
        unit.source,
        list(unit.ordered_ids),
        unit.labels,
        list(unit.sizes),
        [tuple(w) for w in s.weights],
        list(s.train_levels),
        s.test_statistics,
        list(s.test_levels),
        s.ridge,
        s.n_descriptors,
        s.stress_weight,
        dict(unit.options),
        dict(s.fit_options),
    )
    new = unit_fits(unit)
    assert [(r.subset_size, r.energy_weight, r.level) for r in old] == [
        (r.subset_size, r.energy_weight, r.level) for r in new
    ]
    for a, b in zip(old, new, strict=True):
        np.testing.assert_allclose(a.model.coefficients, b.model.coefficients, rtol=1e-12)
    with pytest.raises(ValueError, match="energy_weight"):
        unit_fits(unit.source, list(unit.ordered_ids), unit.labels, [4], [(0, 1)], ["1"],
                  s.test_statistics, ["1"], 0.0, s.n_descriptors)  # fmt: skip


def test_run_sweep_hands_each_unit_to_the_executor_as_its_one_argument(monkeypatch):
    blocks, labels = _data()
    ids = sorted(blocks)
    received = []
    real = sweep_module.unit_fits

    def fake_recording_unit_fits(*args):
        received.append(args)
        return real(*args)

    monkeypatch.setattr(sweep_module, "unit_fits", fake_recording_unit_fits)
    grid = SweepGrid(train_levels=[1], subset_sizes=[6], weights=[150], samplers=["random"],
                     repetitions=3)  # fmt: skip
    rows = run_sweep({2: InMemoryBlocks(blocks)}, {1: labels}, ids[:18], ids[18:], grid, 1)
    assert len(received) == 3 and all(len(a) == 1 for a in received)
    assert all(type(a[0]) is NestedUnit for a in received)
    assert all(type(w) is WeightPair for a in received for w in a[0].settings.weights)
    assert sorted((r["repetition"], r["subset_size"]) for r in rows) == [(0, 6), (1, 6), (2, 6)]


def test_join_against_set_logic_and_its_errors():
    blocks, lab = _data()
    ids = sorted(blocks)
    described = {i: blocks[i] for i in ids if i not in ("c03", "c20")}
    level_2 = Labels({i: lab.energies[i] for i in ids if i != "c05"},
                     {i: lab.forces[i] for i in ids if i != "c05"}, {})  # fmt: skip
    labels = {"1": lab, "2": level_2}
    train, test = ids[:18], ids[18:]
    grid = SweepGrid(train_levels=[1, 2], subset_sizes=[2], weights=[1])
    join = join_configurations(6, InMemoryBlocks(described), labels, train, test, grid, "2")
    have = set(described)
    assert list(join.pool) == [i for i in train if i in have and i != "c05"]
    assert list(join.test) == [i for i in test if i in have]
    assert list(join.without_labels) == ["c05"]
    assert list(join.without_descriptors) == ["c03", "c20"]
    assert join.report() == {
        "descriptors": len(have),
        "pool": len(join.pool),
        "test": len(join.test),
        "without_labels": ["c05"],
        "without_descriptors": ["c03", "c20"],
    }
    other = InMemoryBlocks({"x": blocks["c00"]})
    with pytest.raises(ValueError, match="2Jmax 6: the descriptors .* share no configuration"):
        join_configurations(6, other, labels, train, test, grid, "2")
    big = SweepGrid(train_levels=[1, 2], subset_sizes=[40], weights=[1])
    with pytest.raises(ValueError, match=r"subset_size \[40\] larger than the training pool"):
        join.check(big, "2")
