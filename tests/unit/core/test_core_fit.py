import os
import sys

import numpy as np
import pytest
import scipy.linalg

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import (  # noqa: E402
    assert_rel,
    level_lists,
    naive_fit,
    predictions,
    qsnap_like_dataset,
    random_dataset,
    weighted_system,
)

from pyiron_appmlip.core import (  # noqa: E402
    DEFAULT_RCOND,
    SufficientStatistics,
    direct_errors,
    fit_statistics,
    fit_statistics_levels,
    fit_weighted,
    statistics_errors,
)


@pytest.mark.parametrize("weights", [(1.0, 1.0), (12.25, 1.0), (300.0, 1.0), (0.1, 5.0)])
def test_fit_matches_lstsq_on_explicit_matrix(weights):
    blocks, labels = random_dataset(1, n_configs=30, p=12)
    e, f = level_lists(labels, 1)
    model = fit_weighted(blocks, e, f, *weights)
    ref, rank = naive_fit(blocks, e, f, *weights, rcond=DEFAULT_RCOND)
    assert model.rank == rank == 13
    assert_rel(model.coefficients, ref, 1e-10)
    assert_rel(predictions(model.coefficients, blocks), predictions(ref, blocks), 1e-10)


def test_fit_without_column_scaling_matches_plain_lstsq():
    blocks, labels = random_dataset(2, n_configs=20, p=8)
    stats = SufficientStatistics(8, levels=(1, 2))
    stats.add_many(blocks, labels)
    for level in (1, 2):
        e, f = level_lists(labels, level)
        a, y = weighted_system(blocks, e, f, 5.0, 1.0)
        ref = scipy.linalg.lstsq(a, y, cond=1e-12)[0]
        model = fit_statistics(stats, 5.0, 1.0, level, rcond=1e-12, scale_columns=False)
        assert_rel(model.coefficients, ref, 1e-10)


def test_fit_without_constant_column_is_the_authors_lstsq():
    """constant=False, rcond=1e-13, no column scaling: lstsq(A[:, 1:], y, cond=1e-13)."""
    blocks, labels = random_dataset(5, n_configs=25, p=9)
    stats = SufficientStatistics(9, levels=(1, 2))
    stats.add_many(blocks, labels)
    opts = {"rcond": 1e-13, "scale_columns": False, "constant": False}
    models = fit_statistics_levels(stats, 150.0, 1.0, (1, 2), **opts)
    for level in (1, 2):
        e, f = level_lists(labels, level)
        a, y = weighted_system(blocks, e, f, 150.0, 1.0)
        ref = scipy.linalg.lstsq(a[:, 1:], y, cond=1e-13)[0]
        assert models[level].coefficients[0] == 0.0
        assert_rel(models[level].coefficients[1:], ref, 1e-10)
        with_constant = fit_statistics(stats, 150.0, 1.0, level, rcond=1e-13, scale_columns=False)
        assert not np.allclose(with_constant.coefficients[1:], ref, rtol=1e-6)


@pytest.mark.parametrize("weights", [(1.0, 1.0), (150.0, 1.0)])
def test_qsnap_like_predictions_match_lstsq(weights):
    blocks, e, f = qsnap_like_dataset(3)
    model = fit_weighted(blocks, e, f, *weights)
    ref, rank = naive_fit(blocks, e, f, *weights, rcond=DEFAULT_RCOND)
    p = blocks[0].shape[1]
    assert model.rank == rank == p  # exactly one direction truncated
    assert_rel(predictions(model.coefficients, blocks), predictions(ref, blocks), 1e-8)
    test_blocks, _, _ = qsnap_like_dataset(4, n_configs=10)
    assert_rel(predictions(model.coefficients, test_blocks), predictions(ref, test_blocks), 1e-8)


def test_weighting_changes_the_fit():
    blocks, labels = random_dataset(5, n_configs=15, p=6)
    e, f = level_lists(labels, 1)
    a = fit_weighted(blocks, e, f, 1.0, 1.0).coefficients
    b = fit_weighted(blocks, e, f, 100.0, 1.0).coefficients
    c = fit_weighted(blocks, e, f, 300.0, 3.0).coefficients
    assert np.max(np.abs(a - b)) > 1e-3
    assert_rel(b, c, 1e-10)  # only the ratio matters without ridge


def test_ridge_matches_augmented_lstsq_and_leaves_constant_free():
    blocks, labels = random_dataset(6, n_configs=20, p=9)
    e, f = level_lists(labels, 1)
    ridge = 0.7
    model = fit_weighted(blocks, e, f, 10.0, 1.0, ridge=ridge)
    a, y = weighted_system(blocks, e, f, 10.0, 1.0)
    reg = np.zeros((9, 10))
    reg[np.arange(9), 1 + np.arange(9)] = np.sqrt(ridge)
    ref = scipy.linalg.lstsq(np.vstack([a, reg]), np.r_[y, np.zeros(9)])[0]
    assert_rel(model.coefficients, ref, 1e-10)
    # a constant shift of every energy by N * 1 eV moves only the reference energy
    shifted = fit_weighted(
        blocks,
        [ei + (b.shape[0] - 1) // 3 for ei, b in zip(e, blocks, strict=True)],
        f,
        10.0,
        1.0,
        ridge=ridge,
    )
    assert np.isclose(shifted.coefficients[0] - model.coefficients[0], 1.0)
    assert_rel(shifted.coefficients[1:], model.coefficients[1:], 1e-10)


def test_all_levels_in_one_solve_equal_single_level_fits():
    blocks, labels = random_dataset(7, n_configs=20, p=7, levels=(1, 2, 3))
    stats = SufficientStatistics(7, levels=(1, 2, 3))
    stats.add_many(blocks, labels)
    models = fit_statistics_levels(stats, 12.25, 1.0)
    for level in (1, 2, 3):
        e, f = level_lists(labels, level)
        single = fit_weighted(blocks, e, f, 12.25, 1.0)
        assert_rel(models[level].coefficients, single.coefficients, 1e-10)
        assert models[level].level == level


def test_missing_labels_fit_uses_configurations_with_that_level():
    blocks, labels = random_dataset(8, n_configs=30, p=6, levels=("low", "truth"))
    partial = [dict(lab) if i % 3 == 0 else {"low": lab["low"]} for i, lab in enumerate(labels)]
    stats = SufficientStatistics(6, levels=("low", "truth"))
    stats.add_many(blocks, partial)
    assert stats.n_configs("train", "truth") == 10
    assert stats.n_configs("train", "low") == 30
    for level, idx in (("low", range(30)), ("truth", range(0, 30, 3))):
        model = fit_statistics(stats, 4.0, 1.0, level)
        sub = [blocks[i] for i in idx]
        e, f = level_lists([labels[i] for i in idx], level)
        assert_rel(model.coefficients, fit_weighted(sub, e, f, 4.0, 1.0).coefficients, 1e-10)


def test_predict_and_rmse():
    blocks, labels = random_dataset(9, n_configs=10, p=5)
    e, f = level_lists(labels, 1)
    model = fit_weighted(blocks, e, f, 1.0, 1.0)
    energies, forces = model.predict(blocks)
    assert energies.shape == (10,)
    assert [x.shape for x in forces] == [x.shape for x in f]
    n = np.array([(b.shape[0] - 1) // 3 for b in blocks])
    d = (energies - np.asarray(e)) / n
    fd = np.concatenate([(a - b).ravel() for a, b in zip(forces, f, strict=True)])
    rmse_e, rmse_f = model.rmse(blocks, e, f)
    assert np.isclose(rmse_e, 1000 * np.sqrt(np.mean(d**2)))
    assert np.isclose(rmse_f, 1000 * np.sqrt(np.mean(fd**2)))
    off = [ei + 0.5 * ni for ei, ni in zip(e, n, strict=True)]
    assert np.isclose(model.rmse(blocks, off, f, shift=True)[0], 1000 * np.std(d))
    assert model.rmse(blocks, off, f)[0] > 400


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"energy_weight": 0.0}, "energy_weight"),
        ({"energy_weight": -1.0}, "energy_weight"),
        ({"force_weight": np.nan}, "force_weight"),
        ({"force_weight": np.inf}, "force_weight"),
        ({"ridge": -1.0}, "ridge"),
    ],
)
def test_fit_rejects_bad_parameters(kwargs, message):
    blocks, labels = random_dataset(10, n_configs=5, p=4)
    e, f = level_lists(labels, 1)
    args = {"energy_weight": 1.0, "force_weight": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit_weighted(blocks, e, f, **args)


def test_fit_rejects_bad_data():
    blocks, labels = random_dataset(11, n_configs=5, p=4, atoms=(2, 3))
    e, f = level_lists(labels, 1)
    with pytest.raises(ValueError, match="blocks must contain at least one"):
        fit_weighted([], [], [], 1.0, 1.0)
    with pytest.raises(ValueError, match="same length"):
        fit_weighted(blocks, e[:-1], f, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"1 \+ 3 N rows"):
        fit_weighted([blocks[0][:-1]] + blocks[1:], e, f, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"forces must have shape \(N, 3\)"):
        fit_weighted(blocks, e, [f[0][:1]] + f[1:], 1.0, 1.0)
    with pytest.raises(ValueError, match="descriptor columns"):
        fit_weighted(blocks[:1] + [blocks[1][:, :3]] + blocks[2:], e, f, 1.0, 1.0)
    bad = [b.copy() for b in blocks]
    bad[2][1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        fit_weighted(bad, e, f, 1.0, 1.0)
    with pytest.raises(ValueError, match="energy is NaN"):
        fit_weighted(blocks, [np.nan] + e[1:], f, 1.0, 1.0)
    bad_f = [x.copy() for x in f]
    bad_f[0][0, 0] = np.inf
    with pytest.raises(ValueError, match="forces contain NaN"):
        fit_weighted(blocks, e, bad_f, 1.0, 1.0)


def test_fit_on_empty_partition_or_unknown_level_is_an_error():
    blocks, labels = random_dataset(12, n_configs=5, p=4)
    stats = SufficientStatistics(4, levels=(1, 2))
    stats.add_many(blocks, labels, partition="train")
    with pytest.raises(ValueError, match="partition 'test' has no configurations"):
        fit_statistics(stats, 1.0, 1.0, 1, partition="test")
    with pytest.raises(ValueError, match="level 7 is not one of"):
        fit_statistics(stats, 1.0, 1.0, 7)
    with pytest.raises(ValueError, match="level must be given"):
        fit_statistics(stats, 1.0, 1.0)


@pytest.mark.parametrize("n_configs", [1, 3])
def test_fewer_rows_than_columns(n_configs):
    # force rows are zero in the constant column; with fewer rows than columns the R factor's
    # non-zero rows are not the leading ones
    blocks, labels = random_dataset(13, n_configs=n_configs, p=30, atoms=(2, 4))
    e, f = level_lists(labels, 1)
    stats = SufficientStatistics(30, levels=(1,))
    stats.add_many(blocks, [{1: lab[1]} for lab in labels])
    model = fit_statistics(stats, 12.25, 1.0)
    ref, rank = naive_fit(blocks, e, f, 12.25, 1.0, rcond=DEFAULT_RCOND)
    assert model.rank == rank < 31
    assert_rel(model.coefficients, ref, 1e-10)
    other = np.linspace(-0.3, 0.2, 31)
    got = statistics_errors(stats, other, 1, "train")
    want = direct_errors(other, blocks, e, f)
    assert np.isclose(got.energy_rmse, want.energy_rmse, rtol=1e-10)
    assert np.isclose(got.force_rmse, want.force_rmse, rtol=1e-10)


def test_an_underdetermined_fit_warns_with_the_counts():
    from pyiron_appmlip.core.fit import UnderdeterminedFitWarning

    rng = np.random.default_rng(3)
    p = 20
    blocks = [rng.normal(size=(1 + 3 * 1, p)) for _ in range(2)]  # 2 x (1 energy + 3 force rows)
    energies = rng.normal(size=2)
    forces = [rng.normal(size=(1, 3)) for _ in range(2)]
    with pytest.warns(UnderdeterminedFitWarning, match=r"8 equations .* for 21 coefficients"):
        model = fit_weighted(blocks, energies, forces, 1.0, 1.0)
    assert model.rank <= 8
    more = [rng.normal(size=(1 + 3 * 4, p)) for _ in range(3)]  # 39 rows >= 21
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UnderdeterminedFitWarning)
        fit_weighted(more, rng.normal(size=3), [rng.normal(size=(4, 3)) for _ in range(3)], 1, 1)
        fit_weighted(blocks, energies, forces, 1.0, 1.0, ridge=1e-3)  # a ridge fit is determined


def test_an_underdetermined_solve_sees_only_the_nonzero_rows_and_equals_dense_lstsq(monkeypatch):
    import warnings

    from pyiron_appmlip.core import _linalg
    from pyiron_appmlip.core.fit import UnderdeterminedFitWarning

    rng = np.random.default_rng(5)
    p = 40
    blocks = [rng.normal(size=(1 + 3 * 2, p)) * np.geomspace(1, 50, p) for _ in range(3)]
    energies = rng.normal(size=3)
    forces = [rng.normal(size=(2, 3)) for _ in range(3)]
    stats = SufficientStatistics(p, [1])
    for b, e, f in zip(blocks, energies, forces, strict=True):
        stats.add(b, {1: (e, f)})
    shapes = []
    real = _linalg.scipy.linalg.lstsq

    def recording(a, *args, **kwargs):
        shapes.append(a.shape)
        return real(a, *args, **kwargs)

    monkeypatch.setattr(_linalg.scipy.linalg, "lstsq", recording)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnderdeterminedFitWarning)
        model = fit_statistics_levels(stats, 2.0, 1.0, [1])[1]
    monkeypatch.setattr(_linalg.scipy.linalg, "lstsq", real)
    # 3 energy + 18 force rows for 41 coefficients: the solve gets the 21 nonzero rows
    assert shapes == [(21, p + 1)] and model.rank == 21
    a, y = weighted_system(blocks, energies, forces, 2.0, 1.0)
    c = 1.0 / np.linalg.norm(a, axis=0)
    ref = c * scipy.linalg.lstsq(a * c, y, cond=DEFAULT_RCOND)[0]  # minimum norm, scaled
    assert_rel(model.coefficients, ref, 1e-8)
