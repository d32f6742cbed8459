"""Configuration weights in the streamed statistics: weighted RMSEs against a plain loop over
configurations, weight 1 and equal weights against the unweighted errors, storage and merging,
a weighted fit against scipy's lstsq, and bad weights."""

import os
import sys

import numpy as np
import pytest
import scipy.linalg

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import random_dataset  # noqa: E402

from pyiron_appmlip.core import (  # noqa: E402
    SufficientStatistics,
    fit_statistics,
    statistics_errors,
)
from pyiron_appmlip.core.errors import statistics_errors_batch  # noqa: E402

P = 6


def _weighted_by_hand(c, blocks, labels, level, weights):
    """Weighted RMSEs (meV/atom, meV/Angstrom) and mean error by a loop over configurations."""
    de, sf, nf = [], [], []
    for b, lab in zip(blocks, labels, strict=True):
        e, f = lab[level]
        n = (b.shape[0] - 1) // 3
        de.append((n * c[0] + b[0] @ c[1:] - e) / n)
        r = b[1:] @ c[1:] - np.asarray(f).ravel()
        sf.append(r @ r)
        nf.append(r.size)
    de, sf, nf, w = map(np.asarray, (de, sf, nf, weights))
    mean = np.sum(w * de) / w.sum()
    return {
        "energy": 1000 * np.sqrt(np.sum(w * de**2) / w.sum()),
        "shifted": 1000 * np.sqrt(np.sum(w * (de - mean) ** 2) / w.sum()),
        "mean": 1000 * mean,
        "force": 1000 * np.sqrt(np.sum(w * sf) / np.sum(w * nf)),
    }


@pytest.fixture(scope="module")
def data():
    blocks, labels = random_dataset(7, n_configs=30, p=P, levels=(1, 2))
    rng = np.random.default_rng(1)
    weights = rng.lognormal(0.0, 1.5, size=len(blocks))  # heavy-tailed, as 1 / pi
    c = rng.standard_normal(P + 1)
    return blocks, labels, weights, c


def _stats(blocks, labels, weights=None, partition="test"):
    stats = SufficientStatistics(P, levels=(1, 2))
    for k, (b, lab) in enumerate(zip(blocks, labels, strict=True)):
        kw = {} if weights is None else {"weight": float(weights[k])}
        stats.add(b, lab, partition, f"c{k}", **kw)
    return stats


@pytest.mark.parametrize("level", [1, 2])
def test_weighted_errors_equal_a_loop_over_configurations(data, level):
    blocks, labels, weights, c = data
    stats = _stats(blocks, labels, weights)
    got = statistics_errors(stats, c, level)
    want = _weighted_by_hand(c, blocks, labels, level, weights)
    assert got.energy_rmse == pytest.approx(want["energy"], rel=1e-9)
    assert got.energy_rmse_shifted == pytest.approx(want["shifted"], rel=1e-7)
    assert got.energy_mean_error == pytest.approx(want["mean"], rel=1e-9)
    assert got.force_rmse == pytest.approx(want["force"], rel=1e-9)
    assert got.n_configs == len(blocks)  # the counts stay the configurations themselves
    # the weights matter: the unweighted loop differs by far more than the tolerance
    plain = _weighted_by_hand(c, blocks, labels, level, np.ones(len(blocks)))
    assert abs(plain["force"] / want["force"] - 1) > 1e-3
    # the batch of many coefficient vectors gives the same numbers
    batch = statistics_errors_batch(stats, np.column_stack([c, 2 * c]), [level])
    assert batch[0][level].energy_rmse == pytest.approx(got.energy_rmse, rel=1e-12)
    assert batch[0][level].force_rmse == pytest.approx(got.force_rmse, rel=1e-12)
    twice = _weighted_by_hand(2 * c, blocks, labels, level, weights)
    assert batch[1][level].force_rmse == pytest.approx(twice["force"], rel=1e-9)


def test_weight_one_is_bitwise_the_unweighted_statistics(data):
    blocks, labels, _, c = data
    plain = _stats(blocks, labels)
    ones = _stats(blocks, labels, np.ones(len(blocks)))
    a, b = plain.to_dict(), ones.to_dict()
    for key in a:
        if key != "meta_json":
            np.testing.assert_array_equal(a[key], b[key])
    assert statistics_errors(plain, c, 1) == statistics_errors(ones, c, 1)


def test_equal_weights_give_the_unweighted_errors(data):
    blocks, labels, _, c = data
    plain = statistics_errors(_stats(blocks, labels), c, 2)
    equal = statistics_errors(_stats(blocks, labels, np.full(len(blocks), 37.5)), c, 2)
    for name in ("energy_rmse", "energy_rmse_shifted", "energy_mean_error", "force_rmse"):
        assert getattr(equal, name) == pytest.approx(getattr(plain, name), rel=1e-9)


def test_weights_survive_storage_copy_and_merge(data):
    blocks, labels, weights, c = data
    whole = statistics_errors(_stats(blocks, labels, weights), c, 1)
    stored = SufficientStatistics.from_dict(_stats(blocks, labels, weights).to_dict())
    assert statistics_errors(stored, c, 1).force_rmse == pytest.approx(whole.force_rmse, 1e-12)
    half = len(blocks) // 2
    first = SufficientStatistics(P, levels=(1, 2))
    second = SufficientStatistics(P, levels=(1, 2))
    for k, (b, lab) in enumerate(zip(blocks, labels, strict=True)):
        (first if k < half else second).add(b, lab, "test", f"c{k}", weight=float(weights[k]))
    merged = first.merge(second).copy()
    got = statistics_errors(merged, c, 1)
    assert got.energy_rmse == pytest.approx(whole.energy_rmse, rel=1e-9)
    assert got.force_rmse == pytest.approx(whole.force_rmse, rel=1e-9)


def test_a_weighted_training_partition_is_a_weighted_fit(data):
    """A configuration of weight w counts w times in the fit as well: scipy's lstsq of the rows
    scaled by sqrt(w) (energy rows per atom, times w_E) gives the same coefficients."""
    blocks, labels, weights, _ = data
    stats = _stats(blocks, labels, weights, partition="train")
    w_e, w_f = 30.0, 1.0
    got = fit_statistics(stats, w_e, w_f, level=1).coefficients
    a, y = [], []
    for b, lab, w in zip(blocks, labels, weights, strict=True):
        e, f = lab[1]
        n = (b.shape[0] - 1) // 3
        s = np.sqrt(w)
        a.append(s * w_e * np.r_[1.0, b[0] / n])
        y.append(s * w_e * e / n)
        for r, fc in zip(b[1:], np.asarray(f).ravel(), strict=True):
            a.append(s * w_f * np.r_[0.0, r])
            y.append(s * w_f * fc)
    want = scipy.linalg.lstsq(np.array(a), np.array(y))[0]
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf"), True, "2"])
def test_bad_weight_is_refused_naming_it(data, bad):
    blocks, labels, _, _ = data
    stats = SufficientStatistics(P, levels=(1, 2))
    with pytest.raises(ValueError, match="weight must be a finite number > 0"):
        stats.add(blocks[0], labels[0], "test", weight=bad)
