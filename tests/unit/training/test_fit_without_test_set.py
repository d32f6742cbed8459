"""Training on every configuration (test_fraction = 0): the split, the rows of a fit and of a
sweep without a test set (training errors against an independent lstsq and numpy RMSEs, NaN test
columns), and the rule for small positive fractions."""

import warnings

import numpy as np
import pytest
import scipy.linalg

from pyiron_appmlip.training.labels import Labels, check_test_fraction, split_by_configuration
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, fit_table, run_sweep
from pyiron_appmlip.training.table import COLUMN_NAMES

TEST_COLUMNS = [c for c in COLUMN_NAMES if "_rmse_test" in c]


def _data(m=20, p=4, seed=0):
    rng = np.random.default_rng(seed)
    blocks, energies, forces = {}, {}, {}
    for k in range(m):
        n = int(rng.integers(1, 4))
        blocks[f"c{k:02d}"] = rng.normal(size=(1 + 3 * n, p))
        energies[f"c{k:02d}"] = rng.normal()
        forces[f"c{k:02d}"] = rng.normal(size=(n, 3))
    return blocks, Labels(energies, forces, {i: 1.0 for i in blocks})


def _lstsq(blocks, labels, ids, w_e, w_f):
    """The weighted problem of paper eq. 2-3 written out row by row, solved by scipy."""
    a, y = [], []
    for i in ids:
        b, n = blocks[i], len(labels.forces[i])
        a.append(np.r_[n, b[0]] * w_e / n)
        y.append(labels.energies[i] * w_e / n)
        for r, f in zip(b[1:], labels.forces[i].ravel(), strict=True):
            a.append(np.r_[0.0, r] * w_f)
            y.append(f * w_f)
    return scipy.linalg.lstsq(np.array(a), np.array(y))[0]


def _rmse(coefficients, blocks, labels, ids):
    """Energy (meV/atom) and force (meV/Angstrom) RMSE by a plain loop over configurations."""
    de, df = [], []
    for i in ids:
        b, n = blocks[i], len(labels.forces[i])
        de.append((coefficients[0] * n + b[0] @ coefficients[1:] - labels.energies[i]) / n)
        df.extend(b[1:] @ coefficients[1:] - labels.forces[i].ravel())
    return 1000 * np.sqrt(np.mean(np.square(de))), 1000 * np.sqrt(np.mean(np.square(df)))


def test_split_with_zero_fraction_trains_on_everything():
    ids = [f"id{i}" for i in range(7)] + ["id0"]
    train, test = split_by_configuration(ids, 0.0, seed=3)
    assert train == sorted(set(ids)) and test == []
    assert split_by_configuration(["only"], 0) == (["only"], [])
    with pytest.raises(ValueError, match="at least one configuration"):
        split_by_configuration([], 0.0)


def test_split_counts_follow_the_documented_rule():
    ids = [f"id{i}" for i in range(30)]
    for fraction in (0.1, 0.25, 0.5, 0.9):
        _, test = split_by_configuration(ids, fraction)
        assert len(test) == round(fraction * 30)
    _, test = split_by_configuration(ids[:10], 0.99)  # rounds to 10: at most n - 1
    assert len(test) == 9
    with pytest.warns(UserWarning, match=r"test_fraction=1e-09 of 30 configurations rounds to 0"):
        train, test = split_by_configuration(ids, 1e-9)
    assert len(test) == 1 and len(train) == 29
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split_by_configuration(ids, 0.02)  # round(0.6) = 1: no warning


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, "a", None, True, float("nan")])
def test_bad_test_fractions_are_named(bad):
    with pytest.raises(ValueError, match=r"test_fraction must be a number with 0 <= "):
        check_test_fraction(bad)
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_configuration(["a", "b"], bad)


def test_fit_without_test_set_reports_training_errors_only():
    blocks, labels = _data()
    ids = sorted(blocks)
    messages = []
    rows = run_sweep(
        {4: InMemoryBlocks(blocks)},
        {"1": labels},
        ids,
        [],
        SweepGrid(["1"], [], [150, 12], samplers=["all"]),
        "1",
        progress=messages.append,
    )
    assert len(rows) == 2
    assert any("no test set" in m for m in messages)
    for r in rows:
        assert r["n_test"] == 0 and r["subset_size"] == len(ids)
        assert all(np.isnan(r[c]) for c in TEST_COLUMNS)
        ref = _lstsq(blocks, labels, ids, r["energy_weight"], r["force_weight"])
        assert np.allclose(r["coefficients"], ref, rtol=1e-8, atol=1e-10)
        e, f = _rmse(ref, blocks, labels, ids)
        assert r["energy_rmse_train"] == pytest.approx(e, rel=1e-8)
        assert r["force_rmse_train"] == pytest.approx(f, rel=1e-8)
    # fit_table, the plain fit of the pool, takes an empty test list the same way
    table_rows = fit_table(blocks, {1: labels}, ids, [], [150])
    assert table_rows[0]["n_test"] == 0 and np.isnan(table_rows[0]["energy_rmse_test_truth"])


@pytest.mark.parametrize("draws", ["nested", "independent"])
def test_sweep_with_subsets_without_test_set(draws):
    blocks, labels = _data(m=24)
    ids = sorted(blocks)
    grid = SweepGrid(
        ["1"], [8, 16], [150], samplers=["leverage", "random"], repetitions=2, draws=draws
    )
    rows = run_sweep({4: InMemoryBlocks(blocks)}, {"1": labels}, ids, [], grid, "1")
    assert len(rows) == 2 * 2 * 2
    for r in rows:
        assert r["n_test"] == 0 and all(np.isnan(r[c]) for c in TEST_COLUMNS)
        subset = list(r["training_ids"])
        assert len(subset) == r["subset_size"]
        ref = _lstsq(blocks, labels, subset, 150.0, 1.0)
        e, f = _rmse(ref, blocks, labels, subset)
        assert r["energy_rmse_train"] == pytest.approx(e, rel=1e-6)
        assert r["force_rmse_train"] == pytest.approx(f, rel=1e-6)


def test_test_ids_without_truth_labels_are_still_an_error():
    blocks, labels = _data()
    ids = sorted(blocks)
    with pytest.raises(ValueError, match="none of the 2 test configurations"):
        run_sweep(
            {4: InMemoryBlocks(blocks)},
            {"1": labels},
            ids,
            ["x1", "x2"],  # held out, but neither descriptors nor labels
            SweepGrid(["1"], [], [150], samplers=["all"]),
            "1",
        )
