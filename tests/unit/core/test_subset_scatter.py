"""Subset fits from one pass over the pool (core.subset_scatter) against dense least squares on
each subset's stacked weighted rows."""

import numpy as np
import pytest
import scipy.linalg

from pyiron_appmlip.core import SufficientStatistics
from pyiron_appmlip.core.subset_scatter import (
    DEFAULT_CONDITION_LIMIT,
    scatter_subset_fits,
    scatter_subset_statistics,
    subset_memberships,
)

P = 10
LEVELS = (1, 2, 3)
RCOND = 1e-10


def make_pool(n_pool, seed, column_scales=None, collinear=0.0):
    """Random blocks of 2-5 atoms and labels of a linear model plus level-dependent noise."""
    rng = np.random.default_rng(seed)
    scales = np.ones(P) if column_scales is None else np.asarray(column_scales)
    beta = rng.normal(size=P)
    items = []
    for i in range(n_pool):
        n = int(rng.integers(2, 6))
        block = rng.normal(size=(1 + 3 * n, P))
        if collinear:
            block[:, 1] = block[:, 0] + collinear * block[:, 1]
        block *= scales
        labels = {}
        for lv in LEVELS:
            noise = 0.05 / lv
            e = block[0] @ beta + n * 0.3 + noise * rng.normal()
            f = (block[1:] @ beta + noise * rng.normal(size=3 * n)).reshape(n, 3)
            labels[lv] = (e, f)
        items.append((i, block, labels))
    return items


def dense_fit(items, subset, w_e, w_f, level):
    """Column-scaled truncated lstsq of the stacked weighted rows (repeats stacked again)."""
    rows, rhs = [], []
    for i in subset:
        _, block, labels = items[i]
        n = (block.shape[0] - 1) // 3
        e, f = labels[level]
        rows.append(w_e * np.r_[1.0, block[0] / n][None, :])
        rhs.append([w_e * e / n])
        rows.append(w_f * np.c_[np.zeros(3 * n), block[1:]])
        rhs.append(w_f * f.reshape(-1))
    a = np.vstack(rows)
    y = np.concatenate([np.ravel(r) for r in rhs])
    d = 1.0 / np.linalg.norm(a, axis=0)
    x = scipy.linalg.lstsq(a * d, y, cond=RCOND)[0]
    return d * x


def direct_rmse(items, beta, level):
    """(energy RMSE meV/atom, force RMSE meV/Angstrom) by a loop over configurations."""
    de, df = [], []
    for _, block, labels in items:
        n = (block.shape[0] - 1) // 3
        e, f = labels[level]
        de.append((n * beta[0] + block[0] @ beta[1:] - e) / n)
        df.append(block[1:] @ beta[1:] - f.reshape(-1))
    de, df = np.array(de), np.concatenate(df)
    return 1000 * np.sqrt(np.mean(de**2)), 1000 * np.sqrt(np.mean(df**2))


@pytest.fixture(scope="module")
def data():
    items = make_pool(40, seed=3)
    tests = make_pool(15, seed=4)
    test_stats = SufficientStatistics(P, LEVELS)
    for _, block, labels in tests:
        test_stats.add(block, labels, partition="test")
    subsets = [
        np.arange(0, 12),
        np.arange(6, 30),  # overlaps the first
        np.array([3, 5, 5, 8, 11, 20, 21, 22, 30, 31, 32, 33]),  # configuration 5 drawn twice
        np.random.default_rng(0).choice(40, size=25, replace=False),
        np.arange(40),
    ]
    return items, tests, test_stats, subsets


WEIGHTS = [(1.0, 1.0), (12.25, 1.0), (150.0, 2.0)]


def run(items, subsets, test_stats, n_pool=None, **options):
    return list(
        scatter_subset_fits(
            items,
            subsets,
            WEIGHTS,
            LEVELS,
            n_descriptors=P,
            n_pool=len(items) if n_pool is None else n_pool,
            test_statistics=test_stats,
            **options,
        )
    )


def test_every_subset_fit_equals_dense_lstsq_on_its_rows(data):
    items, tests, test_stats, subsets = data
    results = run(items, subsets, test_stats)
    assert [r.index for r, _ in results] == list(range(len(subsets)))
    for (info, fits), subset in zip(results, subsets, strict=True):
        assert info.route == "gram"
        assert len(fits) == len(WEIGHTS) * len(LEVELS)
        assert fits[0].subset_size == len(subset)  # repeats count
        for fit in fits:
            ref = dense_fit(items, subset, fit.energy_weight, fit.force_weight, fit.level)
            np.testing.assert_allclose(fit.model.coefficients, ref, rtol=1e-7, atol=1e-9)
            train = direct_rmse([items[i] for i in subset], ref, fit.level)
            assert fit.train.energy_rmse == pytest.approx(train[0], rel=1e-6)
            assert fit.train.force_rmse == pytest.approx(train[1], rel=1e-6)
            for lv in LEVELS:
                test = direct_rmse(tests, ref, lv)
                assert fit.test[lv].energy_rmse == pytest.approx(test[0], rel=1e-6)
                assert fit.test[lv].force_rmse == pytest.approx(test[1], rel=1e-6)


def test_duplicate_draw_counts_twice(data):
    items, _, _, subsets = data
    once = np.unique(subsets[2])
    twice, single = (
        next(iter(scatter_subset_statistics(items, [s], LEVELS, n_descriptors=P, n_pool=40)))
        for s in (subsets[2], once)
    )
    assert twice.statistics.n_configs("train") == once.size + 1
    fit_twice = dense_fit(items, subsets[2], 10.0, 1.0, 2)
    fit_once = dense_fit(items, once, 10.0, 1.0, 2)
    assert not np.allclose(fit_twice, fit_once, rtol=1e-6)  # the repeat changes the fit
    got = run(items, [subsets[2]], None)[0][1]
    ref = dense_fit(items, subsets[2], 12.25, 1.0, 2)
    np.testing.assert_allclose(got[4].model.coefficients, ref, rtol=1e-7, atol=1e-9)
    assert single.statistics.n_configs("train") == once.size


def test_passes_under_a_memory_limit_give_the_results_of_one_pass(data):
    items, _, test_stats, subsets = data
    m = P + len(LEVELS)
    per_subset = 8 * m * (m + 1) // 2
    reads = []

    def source():
        reads.append(1)
        return iter(items)

    one = run(source, subsets, test_stats, n_pool=40)
    assert len(reads) == 1
    reads.clear()
    split = run(source, subsets, test_stats, n_pool=40, memory_limit=3 * per_subset)
    assert len(reads) == 3  # 5 subsets, 2 per pass (and one configuration's Gram)
    for (_, a), (_, b) in zip(one, split, strict=True):
        for fa, fb in zip(a, b, strict=True):
            np.testing.assert_allclose(fa.model.coefficients, fb.model.coefficients, rtol=1e-12)
            assert fa.test[3].force_rmse == pytest.approx(fb.test[3].force_rmse, rel=1e-12)


def test_ill_conditioned_subsets_take_the_streamed_qr_route():
    scales = np.logspace(0, -5, P)
    items = make_pool(30, seed=7, column_scales=scales, collinear=1e-6)
    subsets = [np.arange(20), np.arange(5, 30)]
    results = run(items, subsets, None, condition_limit=1e10)
    for (info, fits), subset in zip(results, subsets, strict=True):
        assert info.route == "qr"
        assert 1e10 < info.condition < np.inf  # estimated, not a failed factorisation
        for fit in fits:
            ref = dense_fit(items, subset, fit.energy_weight, fit.force_weight, fit.level)
            np.testing.assert_allclose(fit.model.coefficients, ref, rtol=1e-6, atol=1e-9)
    forced = run(items, subsets, None, condition_limit=1e30)
    assert [info.route for info, _ in forced] == ["gram", "gram"]


def test_default_limit_sends_estimates_above_it_to_the_streamed_qr_route():
    scales = np.logspace(0, -5, P)
    items = make_pool(30, seed=7, column_scales=scales, collinear=1e-7)
    subsets = [np.arange(20), np.arange(5, 30)]
    results = list(scatter_subset_statistics(items, subsets, LEVELS, n_descriptors=P, n_pool=30))
    for info in results:
        assert info.route == "qr"
        assert DEFAULT_CONDITION_LIMIT < info.condition < np.inf
    below = scatter_subset_statistics(
        make_pool(30, seed=7, column_scales=scales, collinear=3e-6), subsets, LEVELS,
        n_descriptors=P, n_pool=30,
    )  # fmt: skip
    assert [(info.route, 1e10 < info.condition) for info in below] == [("gram", True)] * 2


def test_qr_route_for_every_subset_gives_the_same_fits(data):
    items, _, test_stats, subsets = data
    gram = run(items, subsets[:2], test_stats)
    qr = run(items, subsets[:2], test_stats, condition_limit=1.0)
    assert [info.route for info, _ in qr] == ["qr", "qr"]
    for (_, a), (_, b) in zip(gram, qr, strict=True):
        for fa, fb in zip(a, b, strict=True):
            np.testing.assert_allclose(fa.model.coefficients, fb.model.coefficients, rtol=1e-8)


def test_memberships_count_repeats():
    (idx, cnt), (idx2, cnt2) = subset_memberships([[4, 1, 4, 4], [0]], 5)
    assert idx.tolist() == [1, 4] and cnt.tolist() == [1.0, 3.0]
    assert idx2.tolist() == [0] and cnt2.tolist() == [1.0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(subsets=[]), "subsets must contain"),
        (dict(subsets=[[0, 40]]), "subsets\\[0\\] holds pool indices outside"),
        (dict(subsets=[[]]), "subsets\\[0\\] must be a non-empty"),
        (dict(subsets=[[0.5]]), "subsets\\[0\\] must hold integer"),
        (dict(levels=[]), "levels must name"),
        (dict(levels=[1, 7]), "no labels at level"),
        (dict(memory_limit=100), "memory_limit=100 bytes is smaller"),
        (dict(memory_limit=1.5 * 8 * 91), "allowed: at least 1456"),
        (dict(memory_limit=-1), "memory_limit must be a positive"),
        (dict(condition_limit=0.5), "condition_limit must be"),
        (dict(n_descriptors=0), "n_descriptors must be"),
        (dict(n_descriptors=P + 1), "block of configuration 0"),
        (dict(n_pool=0), "n_pool must be"),
        (dict(n_pool=10), "pool index 10 is outside"),
    ],
)
def test_bad_input_names_the_parameter(data, kwargs, message):
    items = data[0]
    args = dict(subsets=[[0, 1, 2]], levels=LEVELS, n_descriptors=P, n_pool=40)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        list(scatter_subset_statistics(items, **args))


def test_configurations_must_be_readable_again_and_complete(data):
    items = data[0]
    args = dict(levels=LEVELS, n_descriptors=P, n_pool=40)
    with pytest.raises(ValueError, match="one-shot iterator"):
        list(scatter_subset_statistics(iter(items), [[0]], **args))
    with pytest.raises(ValueError, match="were not provided"):
        list(scatter_subset_statistics(items[:5], [[0, 9]], **args))
    with pytest.raises(ValueError, match="occurs twice"):
        list(scatter_subset_statistics(items + items[:1], [[0]], **args))


def test_streamed_qr_subsets_are_grouped_under_the_memory_limit(data):
    items, _, test_stats, subsets = data
    reads = []

    def source():
        reads.append(1)
        return iter(items)

    # one statistics object (two 14 x 14 triangles and a 1024-row buffer) fits in 120 kB
    qr = run(source, subsets[:3], test_stats, n_pool=40, condition_limit=1.0, memory_limit=120e3)
    assert len(reads) == 1 + 3
    assert sorted(info.index for info, _ in qr) == [0, 1, 2]
    for info, fits in qr:
        assert info.route == "qr"
        for fit in fits[:3]:
            ref = dense_fit(
                items, subsets[info.index], fit.energy_weight, fit.force_weight, fit.level
            )
            np.testing.assert_allclose(fit.model.coefficients, ref, rtol=1e-7, atol=1e-9)
