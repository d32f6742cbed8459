"""Subsets built from each other (``plan_subsets``): every fit equals dense ``lstsq`` on its own
subset, the plan reads exactly what it reports, every set starts from its largest subset, and
the accumulators alive at once stay within the bound."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import level_lists, naive_fit, random_dataset  # noqa: E402

from pyiron_appmlip.core import (  # noqa: E402
    SufficientStatistics,
    plan_statistics,
    plan_subsets,
    random_order,
    shared_subset_fits,
    subset_fits,
    weighted_order,
)

N_POOL = 40
SIZES = [4, 12, 25, 33]
WEIGHTS = [(10.0, 1.0), (150.0, 1.0)]


@pytest.fixture(scope="module")
def data():
    blocks, labels = random_dataset(7, n_configs=N_POOL + 12, p=8, levels=(1, 2))
    return blocks[:N_POOL], labels[:N_POOL], blocks[N_POOL:], labels[N_POOL:]


def correlated_orders(n_orders=4, seed=3):
    """Weighted orders drawn with the same random numbers from similar scores (as leverage at
    nearby weights): their prefixes share most configurations."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 1.0, N_POOL)
    return [
        weighted_order(base * rng.uniform(0.9, 1.1, N_POOL), seed=seed) for _ in range(n_orders)
    ]


class CountingRead:
    def __init__(self, blocks, labels):
        self.blocks, self.labels, self.n_read = blocks, labels, 0

    def __call__(self, indices):
        for i in indices:
            self.n_read += 1
            yield self.blocks[i], self.labels[i], int(i)


def test_correlated_orders_read_less_and_every_fit_equals_dense_lstsq(data):
    blocks, labels, test_blocks, test_labels = data
    orders = correlated_orders() + [random_order(N_POOL, seed=5), np.arange(N_POOL)]
    sizes = [SIZES] * 5 + [[N_POOL]]
    plan = plan_subsets(orders, sizes, N_POOL)
    assert plan.n_merges > 0
    assert plan.reads < 0.6 * plan.separate_reads
    read = CountingRead(blocks, labels)
    test_stats = SufficientStatistics(8, levels=(1, 2))
    test_stats.add_many(test_blocks, test_labels, partition="test")
    own = {0: [WEIGHTS[1]]}  # order 0 fits one weight only
    out = shared_subset_fits(
        orders, sizes, read, WEIGHTS, (1, 2), plan=plan, order_weights=own,
        test_statistics=test_stats,
    )  # fmt: skip
    assert read.n_read == plan.reads
    for k, (order, records) in enumerate(zip(orders, out, strict=True)):
        weights = own.get(k, WEIGHTS)
        assert [(r.subset_size, (r.energy_weight, r.force_weight), r.level) for r in records] == [
            (s, w, lv) for s in sizes[k] for w in weights for lv in (1, 2)
        ]
        for rec in records:
            idx = order[: rec.subset_size]
            e, f = level_lists([labels[i] for i in idx], rec.level)
            dense, _ = naive_fit(
                [blocks[i] for i in idx], e, f, rec.energy_weight, rec.force_weight, 1e-10
            )
            scale = np.max(np.abs(dense))
            assert np.max(np.abs(rec.model.coefficients - dense)) <= 1e-8 * scale
            assert rec.subset_size == len(idx)
            assert set(rec.test) == {1, 2}
    # the same records as one pass per order
    for k in (1, 4):
        stream = [(blocks[i], labels[i], int(i)) for i in orders[k]]
        single = subset_fits(stream, sizes[k], WEIGHTS, (1, 2), test_statistics=test_stats)
        for a, b in zip(out[k], single, strict=True):
            assert a.subset_size == b.subset_size and a.level == b.level
            np.testing.assert_allclose(a.train.force_rmse, b.train.force_rmse, rtol=1e-10)
            np.testing.assert_allclose(a.test[2].energy_rmse, b.test[2].energy_rmse, rtol=1e-10)


def test_every_set_starts_from_its_largest_subset_and_adds_the_rest():
    orders = correlated_orders(5) + [random_order(N_POOL, seed=s) for s in (1, 2)]
    plan = plan_subsets(orders, SIZES, N_POOL)
    sets = [set(node.members.tolist()) for node in plan.nodes]
    for k, order in enumerate(orders):  # every target is a node with exactly its members
        for s in SIZES:
            hits = [i for i, node in enumerate(plan.nodes) if (k, s) in node.targets]
            assert len(hits) == 1 and sets[hits[0]] == set(order[:s].tolist())
    assert len({frozenset(s) for s in sets}) == len(sets)  # no set twice
    for i, node in enumerate(plan.nodes):
        below = [len(sets[j]) for j in range(len(sets)) if j != i and sets[j] < sets[i]]
        if node.parent < 0:
            assert not below
            assert set(node.added.tolist()) == sets[i]
            continue
        assert node.parent < i  # parents are built first
        assert sets[node.parent] < sets[i]
        assert len(sets[node.parent]) == max(below)
        assert set(node.added.tolist()) == sets[i] - sets[node.parent]
        assert node.targets or node.n_children  # no set is built for nothing
    assert plan.reads == sum(node.added.size for node in plan.nodes)
    assert plan.separate_reads == len(orders) * max(SIZES)


def _simulated_peak(plan):
    """Accumulators alive at once, counted by running the plan's steps."""
    alive, peak, remaining = set(), 0, [node.n_children for node in plan.nodes]
    for i, node in enumerate(plan.nodes):
        if node.parent >= 0 and node.steals_parent:
            alive.discard(node.parent)
        alive.add(i)
        peak = max(peak, len(alive))
        if node.parent >= 0:
            remaining[node.parent] -= 1
            assert node.steals_parent == (remaining[node.parent] == 0)
        if not node.n_children:
            alive.discard(i)
    return peak


@pytest.mark.parametrize("max_statistics", [1, 2, 3, 8])
def test_accumulators_alive_at_once_stay_within_the_bound(max_statistics):
    orders = correlated_orders(6)
    plan = plan_subsets(orders, SIZES, N_POOL, max_statistics=max_statistics)
    assert _simulated_peak(plan) == plan.peak_statistics <= max_statistics
    if max_statistics == 1:  # every order on its own: one pass each
        assert plan.reads == plan.separate_reads and plan.n_merges == 0
        for node in plan.nodes:
            (k, s), *rest = node.targets
            assert not rest
            before = [x for x in SIZES if x < s]
            if before:
                assert plan.nodes[node.parent].targets == ((k, before[-1]),)
            else:
                assert node.parent == -1


def test_plan_statistics_equal_statistics_of_each_subset(data):
    blocks, labels, _, _ = data
    draws = [random_order(N_POOL, seed=s)[:n] for s, n in ((1, 30), (2, 34), (3, 38))]
    plan = plan_subsets(draws, [[len(d)] for d in draws], N_POOL)  # fresh draws per size
    assert plan.reads < plan.separate_reads
    seen = {}
    for targets, stats in plan_statistics(plan, CountingRead(blocks, labels), (1, 2)):
        for k, _ in targets:
            seen[k] = sorted(stats.config_ids("train")), stats.n_force_components()
    for k, d in enumerate(draws):
        assert seen[k][0] == sorted(int(i) for i in d)
        assert seen[k][1] == sum(labels[i][1][1].size for i in d)


def test_independent_orders_never_read_more_than_one_pass_each():
    orders = [random_order(N_POOL, seed=s) for s in range(6)]
    plan = plan_subsets(orders, SIZES, N_POOL)
    assert plan.reads <= plan.separate_reads


def test_a_short_read_is_an_error(data):
    blocks, labels, _, _ = data
    plan = plan_subsets([np.arange(N_POOL)], [5], N_POOL)

    def short(indices):
        return [(blocks[i], labels[i]) for i in indices[:-1]]

    with pytest.raises(ValueError, match="read returned 4 configurations for 5"):
        list(plan_statistics(plan, short, (1, 2)))


@pytest.mark.parametrize(
    "orders, sizes, kwargs, message",
    [
        ([[0, 1, 1, 2]], [3], {}, "repeats a pool index"),
        ([[0, 1, 2]], [4], {}, "outside 1..3"),
        ([[0, 1, 2]], [0], {}, "outside 1..3"),
        ([[0, 1, 5]], [3], {"n_pool": 4}, r"outside 0..3"),
        ([[0.0, 1.0]], [1], {}, "1-D array of pool indices"),
        ([[0, 1], [1, 0]], [[1], [1], [2]], {}, "one per order"),
        ([[0, 1]], [1], {"max_statistics": 0}, "max_statistics must be an integer >= 1"),
        ([], [1], {}, "at least one sampling order"),
    ],
)
def test_bad_input_names_the_parameter(orders, sizes, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan_subsets(orders, sizes, **kwargs)


def test_released_buffers_change_nothing_but_memory(data):
    blocks, labels, _, _ = data
    a = SufficientStatistics(8, levels=(1, 2), chunk_rows=16)
    b = SufficientStatistics(8, levels=(1, 2), chunk_rows=16)
    for i in range(10):
        a.add(blocks[i], labels[i])
        b.add(blocks[i], labels[i])
    b.release_buffers()
    assert all(g.force._buf is None and g.energy._buf is None for g in b._groups.values())
    for i in range(10, 20):
        a.add(blocks[i], labels[i])
        b.add(blocks[i], labels[i])
    da, db = a.to_dict(), b.to_dict()
    assert sorted(da) == sorted(db)
    for key, value in da.items():
        if key.endswith("_r"):  # R factors: the same up to rounding and row signs
            np.testing.assert_allclose(value.T @ value, db[key].T @ db[key], rtol=1e-12, atol=1e-9)
        else:
            np.testing.assert_allclose(value, db[key], rtol=1e-13, err_msg=key)


def test_statistics_budget_counts_factors_and_buffers():
    from pyiron_appmlip.core import statistics_budget

    p, levels = 300, 6
    stats = SufficientStatistics(p, levels=range(levels))
    stats.add(np.ones((4, p)), {lv: (1.0, np.zeros((1, 3))) for lv in range(levels)})
    (g,) = stats._groups.values()  # allocated: both R factors and both row buffers
    per = sum(x.nbytes for x in (g.energy.r, g.force.r, g.energy._buf, g.force._buf))
    assert statistics_budget(p, levels, max_bytes=10 * per, cap=100) == 10
    assert statistics_budget(p, levels, max_bytes=10 * per - 1, cap=100) == 9
    assert statistics_budget(p, levels, max_bytes=1) == 1
    assert statistics_budget(4277, 6) == 3  # 2Jmax 10 in 2 GiB
    # with stresses: one more R factor and its row buffer
    block = np.ones((4 + 6, p))
    stats = SufficientStatistics(p, levels=range(levels))
    label = (1.0, np.zeros((1, 3)), np.ones(6))
    stats.add(block, {lv: label for lv in range(levels)}, virial=True, volume=10.0)
    (g,) = stats._groups.values()
    (s,) = g.stress.values()
    per_s = per + s.r.nbytes + s._buf.nbytes
    assert per_s > per
    assert statistics_budget(p, levels, max_bytes=10 * per_s, cap=100, stresses=True) == 10
    assert statistics_budget(p, levels, max_bytes=10 * per_s - 1, cap=100, stresses=True) == 9
    assert statistics_budget(p, levels, max_bytes=10 * per_s, cap=100) > 10  # no stresses


def test_a_plan_of_other_orders_is_refused(data):
    blocks, labels, _, _ = data
    orders = correlated_orders(3)
    plan = plan_subsets(orders, SIZES, N_POOL)
    read = CountingRead(blocks, labels)
    with pytest.raises(ValueError, match="plan does not match orders and sizes: it has 12"):
        shared_subset_fits(orders, SIZES[:2], read, WEIGHTS, (1, 2), plan=plan)
    other = [orders[1], orders[0], orders[2]]
    with pytest.raises(ValueError, match="holds other configurations"):
        shared_subset_fits(other, SIZES, read, WEIGHTS, (1, 2), plan=plan)
    assert read.n_read == 0
