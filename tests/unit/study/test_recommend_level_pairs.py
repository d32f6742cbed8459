"""The recommendation over single-level and multi-fidelity rows of one sweep: the choice equals a
brute-force scan of the settings' mean errors within the budget."""

import os
import sys

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "training"))
from test_sweep_multi_fidelity import _data  # noqa: E402

from pyiron_appmlip.study.recommend import budget_scan, recommend  # noqa: E402
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep  # noqa: E402


@pytest.fixture(scope="module")
def table():
    ids, blocks, labels = _data(60)
    grid = SweepGrid(
        ["1", "2"],
        [10, 30, 45],
        [50.0, 2.0],
        samplers=["leverage", "random"],
        repetitions=3,
        level_pairs=[("2", "1")],
        delta_pairs=[("1", "2")],
        energy_sizes=[5, 10],
    )
    rows = run_sweep({4: InMemoryBlocks(blocks)}, labels, ids[:45], ids[45:], grid, "2")
    return pd.DataFrame([{k: v for k, v in r.items() if k != "training_ids"} for r in rows])


def _brute_force(table, budget_hours, column):
    keys = [
        "twojmax",
        "train_level",
        "energy_weight",
        "force_weight",
        "sampler",
        "subset_size",
        "n_energy",
    ]
    means = table.groupby(keys)[[column, "dft_seconds"]].mean().reset_index()
    within = means[means["dft_seconds"] / 3600 <= budget_hours]
    best = within[column].min()
    tied = within[np.isclose(within[column], best, rtol=1e-12)]
    return tied.sort_values("dft_seconds").iloc[0]


@pytest.mark.parametrize("budget_seconds", [200.0, 500.0, 2000.0])
@pytest.mark.parametrize("preference", [0.0, 1.0])
def test_choice_equals_brute_force_over_all_model_kinds(table, budget_seconds, preference):
    column = "energy_rmse_test_truth" if preference == 1.0 else "force_rmse_test_truth"
    rec = recommend(table, dft_budget_core_hours=budget_seconds / 3600, preference=preference)
    expected = _brute_force(table, budget_seconds / 3600, column)
    s = rec.settings
    assert (s["train_level"], s["sampler"], s["subset_size"], s["n_energy"]) == (
        expected["train_level"],
        expected["sampler"],
        expected["subset_size"],
        expected["n_energy"],
    )
    assert rec.expected_errors[column.split("_test")[0]] == pytest.approx(expected[column])


def test_multi_fidelity_choice_is_described(table):
    # a budget where a level pair wins on energies: enough for few level-2 energies only
    pairs = table[table["model_kind"] == "level_pair"]
    row = pairs.sort_values("energy_rmse_test_truth").iloc[0]
    sub = table[
        (table["train_level"] == row["train_level"]) & (table["n_energy"] == row["n_energy"])
    ]
    rec = recommend(sub, preference=1.0)
    assert rec.settings["model_kind"] == "level_pair"
    text = rec.summary()
    assert "energies at level 2 on the first" in text and "forces at level 1" in text
    scan = budget_scan(table, [0.05, 1.0], preference=1.0)
    assert {"model_kind", "n_energy", "energy_level", "force_level"} <= set(scan.columns)
