"""Plots of a sweep with level pairs: one series per energy subset size, values as in the table."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_recommend_level_pairs import table  # noqa: E402, F401  (the fixture)

from pyiron_appmlip.study.plots import (  # noqa: E402
    plot_learning_curves,
    plot_pareto,
    series_levels,
)


def test_series_levels_split_level_pairs_by_energy_subset(table):  # noqa: F811
    out = series_levels(table)
    labels = set(out["train_level"])
    assert {"1", "2"} <= labels
    assert "E2+F1 (energies on 5)" in labels and "E2+F1 (energies on 10)" in labels
    assert "1+delta(2) (energies on 5)" in labels
    assert set(table["train_level"]) == {"1", "2", "E2+F1", "1+delta(2)"}  # input unchanged


def test_learning_curve_of_a_level_pair_is_the_mean_of_its_rows(table):  # noqa: F811
    label = "E2+F1 (energies on 10)"
    fig = plot_learning_curves(table, 4, label, 50.0, "energy", samplers=["random"])
    (line,) = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 1]
    rows = table[
        (table["train_level"] == "E2+F1")
        & (table["n_energy"] == 10)
        & (table["weight_ratio"] == 50.0)
        & (table["sampler"] == "random")
    ]
    expected = rows.groupby("subset_size")["energy_rmse_test_truth"].mean()
    np.testing.assert_allclose(line.get_xdata(), expected.index.to_numpy())
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"available: .*E2\+F1 \(energies on 5\)"):
        plot_learning_curves(table, 4, "E2+F1", 50.0, "energy")


def test_pareto_plot_names_every_series(table):  # noqa: F811
    fig = plot_pareto(table)
    text = " ".join(t.get_text() for leg in fig.legends for t in leg.get_texts())
    assert "E2+F1 (energies on 5)" in text or "1+delta(2)" in text
