import itertools

import numpy as np
import pytest

from pyiron_appmlip.core import (
    SAMPLERS,
    random_order,
    repeated_orders,
    sample_subset,
    sampling_order,
    weighted_order,
)


def test_seeded_orders_are_reproducible_and_are_permutations():
    scores = np.random.default_rng(0).random(50)
    for sampler in SAMPLERS[:3]:  # the score-based samplers; selectors: test_core_selectors
        a = sampling_order(sampler, 50, leverage=scores, block_leverage=scores, seed=7)
        b = sampling_order(sampler, 50, leverage=scores, block_leverage=scores, seed=7)
        c = sampling_order(sampler, 50, leverage=scores, block_leverage=scores, seed=8)
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert np.array_equal(np.sort(a), np.arange(50))
    reps = repeated_orders("leverage", 4, leverage=scores, seed=3)
    assert reps.shape == (4, 50)
    assert np.array_equal(reps[:2], repeated_orders("leverage", 2, leverage=scores, seed=3))
    assert len({tuple(r) for r in reps}) == 4
    assert np.array_equal(random_order(10, seed=1), random_order(10, seed=1))


def test_subsets_are_prefixes_of_the_order():
    scores = np.linspace(0.1, 1, 30)
    order = sampling_order("block_leverage", block_leverage=scores, seed=5)
    for k in (1, 10, 30):
        subset = sample_subset("block_leverage", k, block_leverage=scores, seed=5)
        assert np.array_equal(subset, order[:k])


def test_weighted_sampling_frequencies_follow_the_scores():
    w = np.array([1.0, 2.0, 3.0, 4.0, 0.0])
    rng = np.random.default_rng(12345)
    n = 20000
    orders = np.array([weighted_order(w, rng) for _ in range(n)])
    assert np.all(orders[:, -1] == 4)  # zero score is drawn last
    p_first = w[:4] / w.sum()
    counts = np.bincount(orders[:, 0], minlength=5)[:4]
    sigma = np.sqrt(n * p_first * (1 - p_first))
    assert np.all(np.abs(counts - n * p_first) < 5 * sigma)
    # pair inclusion for subsets of size 2 (successive sampling without replacement)
    for i, j in itertools.combinations(range(4), 2):
        p = w[i] / w.sum() * w[j] / (w.sum() - w[i]) + w[j] / w.sum() * w[i] / (w.sum() - w[j])
        hits = np.sum(np.all(np.isin(orders[:, :2], [i, j]), axis=1))
        assert abs(hits - n * p) < 5 * np.sqrt(n * p * (1 - p))


def test_random_sampling_is_uniform():
    rng = np.random.default_rng(99)
    firsts = np.array([random_order(5, rng)[0] for _ in range(10000)])
    counts = np.bincount(firsts, minlength=5)
    assert np.all(np.abs(counts - 2000) < 5 * np.sqrt(10000 * 0.2 * 0.8))


def test_sampling_errors():
    scores = np.ones(10)
    with pytest.raises(ValueError, match="subset_size=11 is larger than the pool of 10"):
        sample_subset("leverage", 11, leverage=scores)
    with pytest.raises(ValueError, match="subset_size=11 is larger than the pool of 10"):
        sample_subset("random", 11, n_pool=10)
    with pytest.raises(ValueError, match="subset_size must be a positive integer"):
        sample_subset("random", 0, n_pool=10)
    with pytest.raises(ValueError, match="sampler must be one of"):
        sample_subset("maxvolume", 2, n_pool=10)
    with pytest.raises(ValueError, match="sampler must be one of"):
        repeated_orders("kmeans", 2, n_pool=10)
    with pytest.raises(ValueError, match="needs the regular leverage"):
        sampling_order("leverage", 10)
    with pytest.raises(ValueError, match="needs the block leverage"):
        sampling_order("block_leverage", 10, leverage=scores)
    with pytest.raises(ValueError, match="needs n_pool"):
        sampling_order("random")
    with pytest.raises(ValueError, match="finite and >= 0"):
        weighted_order([1.0, -1.0])
    with pytest.raises(ValueError, match="finite and >= 0"):
        weighted_order([1.0, np.nan])
    with pytest.raises(ValueError, match="non-empty"):
        weighted_order([])
    with pytest.raises(ValueError, match="n_repetitions"):
        repeated_orders("random", 0, n_pool=3)
