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
