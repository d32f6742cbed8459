import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import level_lists, random_dataset  # noqa: E402

from pyiron_appmlip.core import (  # noqa: E402
    SufficientStatistics,
    compare_levels,
    comparison_table,
    direct_errors,
    fit_statistics,
    rmse_from_statistics,
    statistics_errors,
)


def _by_hand(coefficients, blocks, energies, forces):
    d, fd = [], []
    for b, e, f in zip(blocks, energies, forces, strict=True):
        n = (b.shape[0] - 1) // 3
        d.append((n * coefficients[0] + b[0] @ coefficients[1:] - e) / n)
        fd.append(b[1:] @ coefficients[1:] - f.ravel())
    d, fd = np.array(d), np.concatenate(fd)
    return (
        1000 * np.sqrt(np.mean(d**2)),
        1000 * np.sqrt(np.mean((d - d.mean()) ** 2)),
        1000 * np.sqrt(np.mean(fd**2)),
    )


@pytest.fixture(scope="module")
def split_data():
    blocks, labels = random_dataset(30, n_configs=50, p=9, levels=(1, 2, 6))
    # level 1 energies biased, as low-convergence DFT (paper Fig. 3)
    for lab in labels:
        e, f = lab[1]
        lab[1] = (e + 0.4 * (len(f)), f)
    stats = SufficientStatistics(9, levels=(1, 2, 6))
    for i, (b, lab) in enumerate(zip(blocks, labels, strict=True)):
        stats.add(b, lab, "train" if i < 30 else "test")
    return blocks, labels, stats


@pytest.mark.parametrize("train_level", [1, 2, 6])
def test_streamed_errors_equal_direct_computation(split_data, train_level):
    blocks, labels, stats = split_data
    model = fit_statistics(stats, 12.25, 1.0, train_level)
    for part, sl in (("train", slice(0, 30)), ("test", slice(30, 50))):
        for level in (1, 2, 6):
            e, f = level_lists(labels[sl], level)
            got = statistics_errors(stats, model.coefficients, level, part)
            hand = _by_hand(model.coefficients, blocks[sl], e, f)
            direct = direct_errors(model.coefficients, blocks[sl], e, f)
            for a, b, c in zip(
                (got.energy_rmse, got.energy_rmse_shifted, got.force_rmse),
                hand,
                (direct.energy_rmse, direct.energy_rmse_shifted, direct.force_rmse),
                strict=True,
            ):
                assert abs(a - b) <= 1e-8 * b
                assert abs(c - b) <= 1e-12 * b
            assert got.n_configs == len(e)
            assert got.n_force_components == sum(x.size for x in f)
    biased = statistics_errors(stats, model.coefficients, 1, "test")
    if train_level != 1:
        assert biased.energy_rmse > 300 and biased.energy_rmse_shifted < 200
        assert -600 < biased.energy_mean_error < -200


def test_rmse_from_statistics_and_errors(split_data):
    _, _, stats = split_data
    model = fit_statistics(stats, 5.0, 1.0, 6)
    s = statistics_errors(stats, model.coefficients, 6, "test")
    assert rmse_from_statistics(stats, model.coefficients, 6, "test") == (
        s.energy_rmse,
        s.force_rmse,
    )
    assert rmse_from_statistics(stats, model.coefficients, 6, "test", shift=True)[0] == (
        s.energy_rmse_shifted
    )
    # the free reference energy makes the mean per-atom training error vanish
    assert abs(statistics_errors(stats, model.coefficients, 6, "train").energy_mean_error) < 1e-9
    with pytest.raises(ValueError, match="coefficients must have shape"):
        statistics_errors(stats, model.coefficients[:-1], 6, "test")
    with pytest.raises(ValueError, match="partition 'valid' has no configurations"):
        statistics_errors(stats, model.coefficients, 6, "valid")


def test_errors_with_level_missing_on_some_configurations():
    blocks, labels = random_dataset(31, n_configs=20, p=5, levels=("low", "truth"))
    labels = [lab if i % 2 else {"low": lab["low"]} for i, lab in enumerate(labels)]
    stats = SufficientStatistics(5, levels=("low", "truth"))
    stats.add_many(blocks, labels, partition="test")
    coefficients = np.linspace(-1, 1, 6)
    idx = list(range(1, 20, 2))
    e, f = level_lists([labels[i] for i in idx], "truth")
    got = statistics_errors(stats, coefficients, "truth", "test")
    hand = _by_hand(coefficients, [blocks[i] for i in idx], e, f)
    assert np.allclose((got.energy_rmse, got.energy_rmse_shifted, got.force_rmse), hand, rtol=1e-8)


def test_comparison_against_hand_computation():
    # two configurations: 2 atoms and 1 atom
    e_ref = [-6.0, -2.5]
    f_ref = [np.zeros((2, 3)), np.zeros((1, 3))]
    e_low = [-5.8, -2.2]  # per-atom differences 0.1 and 0.3 eV
    f_low = [np.full((2, 3), 0.01), np.full((1, 3), -0.04)]
    c = compare_levels(e_low, f_low, e_ref, f_ref, bulk_index=0)
    assert np.isclose(c.energy_unshifted, 1000 * np.sqrt((0.1**2 + 0.3**2) / 2))
    assert np.isclose(c.energy_bulk_shifted, 1000 * np.sqrt((0.0**2 + 0.2**2) / 2))
    assert np.isclose(c.energy_mean_shifted, 100.0)
    assert np.isclose(c.force, 1000 * np.sqrt((6 * 0.01**2 + 3 * 0.04**2) / 9))
    assert np.isclose(c.energy_mean_difference, 200.0)
    by_id = compare_levels(e_low, f_low, e_ref, f_ref, bulk_id="hcp", config_ids=["x", "hcp"])
    assert np.isclose(by_id.energy_bulk_shifted, 1000 * np.sqrt(0.2**2 / 2))
    assert np.isnan(compare_levels(e_low, f_low, e_ref, f_ref).energy_bulk_shifted)
    table = comparison_table(
        {1: (e_low, f_low), 6: (e_ref, f_ref)}, reference_level=6, bulk_index=0
    )
    assert list(table) == [1] and table[1] == c


def test_comparison_validation():
    e, f = [-1.0], [np.zeros((1, 3))]
    with pytest.raises(ValueError, match="energies must contain at least one"):
        compare_levels([], [], [], [])
    with pytest.raises(ValueError, match="reference_forces has 0 entries"):
        compare_levels(e, f, e, [])
    with pytest.raises(ValueError, match=r"forces must have shape \(N, 3\)"):
        compare_levels(e, f, e, [np.zeros((2, 3))])
    with pytest.raises(ValueError, match="bulk_index must be an integer"):
        compare_levels(e, f, e, f, bulk_index=3)
    with pytest.raises(ValueError, match="bulk_id 'a' is not in config_ids"):
        compare_levels(e, f, e, f, bulk_id="a", config_ids=["b"])
    with pytest.raises(ValueError, match="energy is NaN"):
        compare_levels([np.nan], f, e, f)
    with pytest.raises(ValueError, match="reference_level 7"):
        comparison_table({1: (e, f)}, reference_level=7)
