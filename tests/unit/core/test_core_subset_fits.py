import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import assert_rel, level_lists, random_dataset  # noqa: E402

from pyiron_appmlip.core import (  # noqa: E402
    SufficientStatistics,
    direct_errors,
    fit_weighted,
    iter_checkpoints,
    leverage_scores,
    sampling_order,
    subset_fits,
)


@pytest.fixture(scope="module")
def pool():
    blocks, labels = random_dataset(50, n_configs=60, p=8, levels=(1, 2, 3))
    return blocks[:45], labels[:45], blocks[45:], labels[45:]


def test_nested_subsets_from_one_pass_equal_separate_fits(pool):
    blocks, labels, test_blocks, test_labels = pool
    regular, _ = leverage_scores(blocks, 10.0, 1.0)
    order = sampling_order("leverage", leverage=regular, seed=1)
    test_stats = SufficientStatistics(8, levels=(1, 2, 3))
    test_stats.add_many(test_blocks, test_labels, partition="test")
    sizes = [5, 20, 45]
    weights = [(10.0, 1.0), (150.0, 1.0)]
    stream = [(blocks[i], labels[i], int(i)) for i in order]
    records = subset_fits(
        stream, sizes, weights, levels=(1, 2, 3), test_statistics=test_stats, test_levels=(3,)
    )
    assert len(records) == len(sizes) * len(weights) * 3
    for rec in records:
        idx = order[: rec.subset_size]
        sub = [blocks[i] for i in idx]
        e, f = level_lists([labels[i] for i in idx], rec.level)
        ref = fit_weighted(sub, e, f, rec.energy_weight, rec.force_weight)
        assert_rel(rec.model.coefficients, ref.coefficients, 1e-10)
        train = direct_errors(ref.coefficients, sub, e, f)
        assert np.isclose(rec.train.energy_rmse, train.energy_rmse, rtol=1e-8)
        assert np.isclose(rec.train.force_rmse, train.force_rmse, rtol=1e-8)
        te, tf = level_lists(test_labels, 3)
        test = direct_errors(ref.coefficients, test_blocks, te, tf)
        assert np.isclose(rec.test[3].energy_rmse, test.energy_rmse, rtol=1e-8)
        assert np.isclose(rec.test[3].energy_rmse_shifted, test.energy_rmse_shifted, rtol=1e-8)
        assert np.isclose(rec.test[3].force_rmse, test.force_rmse, rtol=1e-8)


def test_checkpoints_stop_at_the_largest_size_and_copies_are_frozen(pool):
    blocks, labels, _, _ = pool
    consumed = []

    def stream():
        for i, (b, lab) in enumerate(zip(blocks, labels, strict=True)):
            consumed.append(i)
            yield b, lab

    kept = {}
    for size, stats in iter_checkpoints(stream(), [10, 3, 10], levels=(1, 2, 3)):
        assert stats.n_configs("train") == size
        kept[size] = stats.copy()
    assert sorted(kept) == [3, 10] and len(consumed) == 10
    assert kept[3].n_configs() == 3


def test_subset_larger_than_pool(pool):
    blocks, labels, _, _ = pool
    stream = list(zip(blocks, labels, strict=True))
    with pytest.raises(ValueError, match="subset_size=46 is larger than the pool of 45"):
        subset_fits(stream, [10, 46], [(1.0, 1.0)], levels=(1,))
    with pytest.raises(ValueError, match="subset_size=46 is larger than the pool of 45"):
        list(iter_checkpoints(iter(stream), [46], levels=(1, 2, 3)))
    with pytest.raises(ValueError, match="energy_weight"):
        subset_fits(stream, [10], [(0.0, 1.0)], levels=(1,))
    only_two = subset_fits(stream, [45], [(1.0, 1.0)], levels=(2,))  # other levels ignored
    e, f = level_lists(labels, 2)
    assert_rel(
        only_two[0].model.coefficients, fit_weighted(blocks, e, f, 1.0, 1.0).coefficients, 1e-10
    )
    with pytest.raises(ValueError, match="checkpoints must contain"):
        list(iter_checkpoints(stream, [], levels=(1,)))
