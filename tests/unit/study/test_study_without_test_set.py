"""Tables of fits made without a test set (test_fraction = 0): the studies that need test errors
say so clearly; training-error columns can be named instead."""

import numpy as np
import pytest
from test_recommend import synthetic_table

from pyiron_appmlip.core.pareto import pareto_front
from pyiron_appmlip.study import (
    plot_learning_curves,
    plot_pareto,
    plot_pareto_cost,
    plot_weight_sweep,
    recommend,
)

HELD_OUT = "no configuration was held out"


@pytest.fixture(scope="module")
def tables():
    with_test = synthetic_table(twojmax=(4, 6), sizes=(25, 50)).assign(n_test=40)
    test_columns = [c for c in with_test.columns if "_rmse_test" in c]
    without = with_test.assign(n_test=0, **{c: np.nan for c in test_columns})
    return with_test, without


def test_recommend_refuses_test_columns_without_a_test_set(tables):
    _, without = tables
    with pytest.raises(ValueError, match=HELD_OUT):
        recommend(without)
    with pytest.raises(ValueError, match=r"test_fraction > 0"):
        recommend(without, energy_column="energy_rmse_test", force_column="force_rmse_test")


def test_recommend_on_training_errors_when_named(tables):
    _, without = tables
    rec = recommend(without, energy_column="energy_rmse_train", force_column="force_rmse_train")
    # the same choice as on a table whose truth columns hold those training errors
    renamed = without.assign(
        energy_rmse_test_truth=without["energy_rmse_train"],
        force_rmse_test_truth=without["force_rmse_train"],
    )
    expected = recommend(renamed)
    assert rec.settings == expected.settings
    assert rec.expected_errors == pytest.approx(expected.expected_errors)


def test_a_table_with_some_test_sets_uses_those_rows(tables):
    with_test, without = tables
    mixed = with_test.copy()
    mixed.loc[mixed["twojmax"] == 6] = without.loc[without["twojmax"] == 6]
    rec = recommend(mixed)
    assert rec.settings["twojmax"] == 4
    assert any("ignored" in note for note in rec.notes)


def test_pareto_front_and_plots_name_the_missing_test_set(tables):
    with_test, without = tables
    objectives = ["energy_rmse_test_truth", "force_rmse_test_truth", "dft_seconds"]
    assert len(pareto_front(with_test, objectives)) > 0
    with pytest.raises(ValueError, match=r"no fit of this table has a test set"):
        pareto_front(without, objectives)
    assert len(pareto_front(without, ["energy_rmse_train", "force_rmse_train"])) > 0
    with pytest.raises(ValueError, match=HELD_OUT):
        plot_pareto(without)
    with pytest.raises(ValueError, match=HELD_OUT):
        plot_pareto_cost(without)
    with pytest.raises(ValueError, match=HELD_OUT):
        plot_weight_sweep(without, twojmax=4)
    with pytest.raises(ValueError, match=HELD_OUT):
        plot_learning_curves(without, 4, "3", 5.0)
