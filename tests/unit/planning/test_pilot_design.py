"""The pilot design: which calculations, in which order, and their cost before any DFT."""

import numpy as np
import pytest

from pyiron_appmlip.core import sampling_order
from pyiron_appmlip.dft.cost import CostModel
from pyiron_appmlip.planning import design_pilot

M = 40


def _candidates(seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"c{k:02d}" for k in range(M)]
    n_atoms = rng.integers(8, 33, size=M)
    leverage = rng.uniform(0.01, 1.0, size=M)
    return ids, n_atoms, leverage


COSTS = {1: {"per_configuration": 10.0}, 2: {"per_atom": 3.0}, 5: {"per_atom": 40.0}}


def test_pilot_order_cost_and_test_set():
    ids, n_atoms, lev = _candidates()
    design = design_pilot(ids, [2, 1], 5, COSTS, n_atoms, n_train=8, n_test=4, leverage=lev, seed=3)
    # the training configurations are the first 8 of the leverage order with that seed
    order = sampling_order("leverage", M, leverage=lev, seed=3)
    assert list(design.train_ids) == [ids[k] for k in order[:8]]
    assert design.levels == ("1", "2") and design.reference_level == "5"
    assert len(design.test_ids) == 4 and not set(design.test_ids) & set(design.train_ids)
    # every level labels the same training configurations; the test set only the reference
    assert design.ids_at(1) == design.ids_at(2) == list(design.train_ids)
    assert design.ids_at(5) == list(design.test_ids)
    # the cost is the sum of the calculations, computed here by hand
    atoms = dict(zip(ids, n_atoms, strict=True))
    expected = sum(10.0 + 3.0 * atoms[c] for c in design.train_ids)
    expected += sum(40.0 * atoms[c] for c in design.test_ids)
    assert design.total_seconds == pytest.approx(expected)
    assert design.core_hours(4) == pytest.approx(4 * expected / 3600)
    assert len(design.calculations) == 8 * 2 + 4
    assert "20 distinct calculations" in design.summary()


def test_a_training_configuration_at_the_reference_level_is_paid_once():
    ids, n_atoms, lev = _candidates(1)
    design = design_pilot(ids, [1, 5], 5, COSTS, n_atoms, n_train=6, n_test=3, leverage=lev)
    assert len(design.calculations) == 6 * 2 + 3
    assert len(set(design.calculations)) == len(design.calculations)
    atoms = dict(zip(ids, n_atoms, strict=True))
    expected = sum(10.0 + 40.0 * atoms[c] for c in design.train_ids)
    expected += sum(40.0 * atoms[c] for c in design.test_ids)
    assert design.total_seconds == pytest.approx(expected)


def test_cost_model_and_budget_share():
    ids, n_atoms, lev = _candidates(2)
    model = CostModel(
        prefactor=0.5, atom_exponent=2.0, kpoint_exponent=0.0, n_samples=5, rms_log_residual=0.1
    )
    costs = {1: {"model": model}, 5: {"per_configuration": 100.0}}
    design = design_pilot(ids, [1], 5, costs, n_atoms, n_train=5, n_test=2, leverage=lev)
    atoms = dict(zip(ids, n_atoms, strict=True))
    assert design.seconds[(design.train_ids[0], "1")] == pytest.approx(
        0.5 * atoms[design.train_ids[0]] ** 2
    )
    hours = design.core_hours()
    # within 10 % of a budget of 10x its cost: accepted; of a smaller budget: refused
    design_pilot(
        ids,
        [1],
        5,
        costs,
        n_atoms,
        n_train=5,
        n_test=2,
        leverage=lev,
        budget_core_hours=10.01 * hours,
    )
    with pytest.raises(ValueError, match=r"more than max_budget_fraction=0.1 .* lower n_train"):
        design_pilot(
            ids,
            [1],
            5,
            costs,
            n_atoms,
            n_train=5,
            n_test=2,
            leverage=lev,
            budget_core_hours=5 * hours,
        )


def test_bad_input_names_the_parameter():
    ids, n_atoms, lev = _candidates()
    with pytest.raises(ValueError, match=r"no cost for level\(s\) \['3'\]"):
        design_pilot(ids, [3], 5, COSTS, n_atoms, leverage=lev)
    with pytest.raises(ValueError, match=r"n_train must be an integer in \[1, 39\]"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, n_train=40, leverage=lev)
    with pytest.raises(ValueError, match=r"n_test must be an integer in \[1, 20\]"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, n_train=20, n_test=21, leverage=lev)
    with pytest.raises(ValueError, match="needs the regular leverage scores"):
        design_pilot(ids, [1], 5, COSTS, n_atoms)
    with pytest.raises(ValueError, match="n_atoms must hold one atom count"):
        design_pilot(ids, [1], 5, COSTS, n_atoms[:-1], leverage=lev)
    with pytest.raises(ValueError, match="budget_core_hours must be a number > 0"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, leverage=lev, budget_core_hours=0)
    with pytest.raises(ValueError, match="sampler must be one of"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, sampler="best")


# -- test set drawn by leverage ------------------------------------------------------------------
def test_random_test_selection_is_the_uniform_draw_of_before():
    ids, n_atoms, lev = _candidates(4)
    design = design_pilot(ids, [1], 5, COSTS, n_atoms, n_train=8, n_test=5, leverage=lev, seed=2)
    order = sampling_order("leverage", M, leverage=lev, seed=2)
    rest = np.setdiff1d(np.arange(M), order[:8])
    rng = np.random.default_rng(np.random.SeedSequence([2, 1]))
    want = np.sort(rng.choice(rest, size=5, replace=False))
    assert list(design.test_ids) == [ids[k] for k in want]
    assert design.test_selection == "random" and design.test_weights is None


def test_leverage_test_selection_weights_are_those_of_the_draw():
    ids, n_atoms, lev = _candidates(5)
    blev = np.random.default_rng(9).uniform(0.0, 1.0, size=M) ** 4  # a few far higher
    design = design_pilot(
        ids,
        [1, 2],
        5,
        COSTS,
        n_atoms,
        n_train=8,
        n_test=12,
        leverage=lev,
        block_leverage=blev,
        seed=6,
        test_selection="leverage",
        test_mixture=0.3,
    )
    train = {ids.index(c) for c in design.train_ids}
    rest = [k for k in range(M) if k not in train]
    # the draw redone by hand: 12 draws with replacement from pi
    g = blev[rest]
    pi = 0.3 / len(rest) + 0.7 * g / g.sum()
    order = sampling_order("leverage", M, leverage=lev, seed=6)
    assert [ids.index(c) for c in design.train_ids] == list(order[:8])
    rng = np.random.default_rng(np.random.SeedSequence([6, 1]))
    draws = rng.choice(len(rest), size=12, replace=True, p=pi / pi.sum())
    counts = {rest[k]: int(np.sum(draws == k)) for k in set(draws.tolist())}
    assert sorted(counts) == sorted(ids.index(c) for c in design.test_ids)
    for cid, w in zip(design.test_ids, design.test_weights, strict=True):
        k = ids.index(cid)
        assert w == pytest.approx(counts[k] / (12 * pi[rest.index(k)]))
    assert not set(design.test_ids) & set(design.train_ids)
    # a configuration drawn twice is labelled once: the cost is the sum of the calculations
    atoms = dict(zip(ids, n_atoms, strict=True))
    expected = sum(10.0 + 3.0 * atoms[c] for c in design.train_ids)
    expected += sum(40.0 * atoms[c] for c in design.test_ids)
    assert design.total_seconds == pytest.approx(expected)
    assert len(design.calculations) == 2 * 8 + len(design.test_ids)
    assert "drawn by leverage" in design.summary()


def test_leverage_weighted_estimate_spreads_less_on_a_heavy_tailed_pool():
    """A pool whose squared errors are heavy-tailed and follow the leverage (a few atypical
    configurations carry most of the MSE): over 300 seeds, the weighted RMSE of a 20-draw test
    set by leverage scatters around the pool's RMSE less than that of a uniform draw of 20."""
    m = 2000
    rng = np.random.default_rng(0)
    lev = rng.pareto(1.5, size=m) + 0.05
    squared = lev * rng.lognormal(0.0, 0.5, size=m)  # the pool's squared errors
    ids = [f"c{k:04d}" for k in range(m)]
    n_atoms = np.full(m, 8)
    truth = np.sqrt(squared.mean())
    index = {c: k for k, c in enumerate(ids)}
    estimates = {"random": [], "leverage": []}
    for seed in range(300):
        for how in estimates:
            d = design_pilot(
                ids,
                [1],
                5,
                COSTS,
                n_atoms,
                n_train=1,
                n_test=20,
                block_leverage=lev,
                sampler="random",
                seed=seed,
                test_selection=how,
            )
            k = [index[c] for c in d.test_ids]
            w = np.ones(len(k)) if d.test_weights is None else np.asarray(d.test_weights)
            estimates[how].append(np.sqrt(np.sum(w * squared[k]) / w.sum()))
    spread = {how: np.sqrt(np.mean((np.array(e) / truth - 1) ** 2)) for how, e in estimates.items()}
    # measured: about 0.17 (leverage) against 0.40 (random); the margin keeps the test stable
    assert spread["leverage"] < 0.7 * spread["random"]
    assert abs(np.median(estimates["leverage"]) / truth - 1) < 0.1


def test_bad_test_selection_input_names_the_parameter():
    ids, n_atoms, lev = _candidates(6)
    kw = {"n_train": 5, "n_test": 3, "leverage": lev}
    with pytest.raises(ValueError, match=r"test_selection must be one of \['random', 'leverage'\]"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, test_selection="lev", **kw)
    with pytest.raises(ValueError, match="test_selection='leverage' needs the candidates' block"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, test_selection="leverage", **kw)
    lev_kw = {**kw, "block_leverage": lev, "test_selection": "leverage"}
    with pytest.raises(ValueError, match=r"test_mixture must lie in \(0, 1\]"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, test_mixture=0, **lev_kw)
    bad = np.where(np.arange(M) % 2 == 0, np.nan, lev)
    with pytest.raises(ValueError, match=r"test scores \(leverage\) must be finite numbers >= 0"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, **{**lev_kw, "block_leverage": bad})
    with pytest.raises(ValueError, match="block_leverage must have one score per candidate"):
        design_pilot(ids, [1], 5, COSTS, n_atoms, **{**lev_kw, "block_leverage": lev[:-1]})
