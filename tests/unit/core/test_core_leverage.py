import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import qsnap_like_dataset, random_dataset, weighted_system  # noqa: E402

from pyiron_appmlip.core import (  # noqa: E402
    DEFAULT_RCOND,
    LeverageProjector,
    SufficientStatistics,
    leverage_scores,
    leverage_scores_streamed,
)


def _svd_leverage(blocks, w_e, w_f, scale=False, rcond=None):
    none = [None] * len(blocks)
    a, _ = weighted_system(blocks, none, none, w_e, w_f)
    if scale:
        a = a / np.linalg.norm(a, axis=0)
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    if rcond is not None:
        u = u[:, s > rcond * s[0]]
    h = np.sum(u**2, axis=1)
    starts = np.cumsum([0] + [b.shape[0] for b in blocks[:-1]])
    return h[starts], np.add.reduceat(h, starts)


@pytest.mark.parametrize("weights", [(1.0, 1.0), (12.25, 1.0), (300.0, 1.0), (1.0, 20.0)])
def test_leverage_matches_full_svd(weights):
    blocks, _ = random_dataset(40, n_configs=30, p=10, atoms=(1, 6))
    regular, block = leverage_scores(blocks, *weights)
    ref_regular, ref_block = _svd_leverage(blocks, *weights)
    np.testing.assert_allclose(regular, ref_regular, rtol=0, atol=1e-8)
    np.testing.assert_allclose(block, ref_block, rtol=0, atol=1e-8)
    np.testing.assert_allclose(regular, ref_regular, rtol=1e-8)
    np.testing.assert_allclose(block, ref_block, rtol=1e-8)
    assert np.isclose(block.sum(), 11.0)  # trace of the hat matrix = rank (p + 1)
    assert np.all(block >= regular)


def test_leverage_depends_on_weights():
    blocks, _ = random_dataset(41, n_configs=20, p=6)
    a = leverage_scores(blocks, 1.0, 1.0)[0]
    b = leverage_scores(blocks, 100.0, 1.0)[0]
    assert np.max(np.abs(a - b)) > 1e-2


def test_leverage_rank_deficient_uses_the_same_cutoff_as_the_fit():
    blocks, _, _ = qsnap_like_dataset(42)
    p = blocks[0].shape[1]
    regular, block = leverage_scores(blocks, 10.0, 1.0)
    ref_regular, ref_block = _svd_leverage(blocks, 10.0, 1.0, scale=True, rcond=DEFAULT_RCOND)
    np.testing.assert_allclose(regular, ref_regular, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(block, ref_block, rtol=1e-8, atol=1e-10)
    assert np.isclose(block.sum(), p)  # one of p + 1 directions below rcond


def test_streamed_leverage_and_projector_on_other_rows():
    blocks, _ = random_dataset(43, n_configs=25, p=7)
    in_memory = leverage_scores(blocks, 3.0, 1.0)
    streamed = leverage_scores_streamed(lambda: iter(blocks), 3.0, 1.0, chunk_rows=7)
    np.testing.assert_allclose(streamed[0], in_memory[0], rtol=1e-10)
    np.testing.assert_allclose(streamed[1], in_memory[1], rtol=1e-10)
    # projector built from a training pool scores configurations outside it
    stats = SufficientStatistics(7)
    stats.add_many(blocks[:20])
    proj = LeverageProjector(stats, 3.0, 1.0)
    outside = proj.scores(blocks[20:])
    a_train, _ = weighted_system(blocks[:20], [None] * 20, [None] * 20, 3.0, 1.0)
    a_new, _ = weighted_system(blocks[20:], [None] * 5, [None] * 5, 3.0, 1.0)
    h = np.einsum("ij,ji->i", a_new, np.linalg.pinv(a_train.T @ a_train) @ a_new.T)
    starts = np.cumsum([0] + [b.shape[0] for b in blocks[20:-1]])
    np.testing.assert_allclose(outside[0], h[starts], rtol=1e-8)
    np.testing.assert_allclose(outside[1], np.add.reduceat(h, starts), rtol=1e-8)


def test_leverage_validation():
    blocks, _ = random_dataset(44, n_configs=4, p=3)
    with pytest.raises(ValueError, match="energy_weight"):
        leverage_scores(blocks, 0.0, 1.0)
    with pytest.raises(ValueError, match="force_weight"):
        leverage_scores(blocks, 1.0, -2.0)
    with pytest.raises(ValueError, match="blocks must contain at least one"):
        leverage_scores([], 1.0, 1.0)
    with pytest.raises(ValueError, match="descriptor columns"):
        leverage_scores(blocks + [np.ones((4, 2))], 1.0, 1.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        leverage_scores(blocks + [np.full((4, 3), np.inf)], 1.0, 1.0)
    with pytest.raises(ValueError, match="partition 'train' has no configurations"):
        LeverageProjector(SufficientStatistics(3), 1.0, 1.0)
    with pytest.raises(ValueError, match="at least one configuration"):
        leverage_scores_streamed(lambda: iter([]), 1.0, 1.0)


def _stats(blocks):
    stats = SufficientStatistics(blocks[0].shape[1])
    stats.add_many(blocks)
    return stats


def test_proven_full_rank_leverage_uses_the_inverse_r_factor_and_equals_the_full_svd():
    from pyiron_appmlip.core import SharedLeverageProjector

    blocks, _ = random_dataset(45, n_configs=30, p=10, atoms=(1, 6))
    proj = LeverageProjector(_stats(blocks), 12.25, 1.0)
    assert proj.triangular and proj.singular_values is None and proj.rank == 11
    assert np.allclose(proj.projection, np.triu(proj.projection))
    ref = _svd_leverage(blocks, 12.25, 1.0)
    for got, want in zip(proj.scores(blocks), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-8)
    # one ratio in the shared projector: the same inverse R factor, no shared decomposition
    shared = SharedLeverageProjector(_stats(blocks), [(12.25, 1.0)])
    assert shared.triangular and shared.rank == 11 and shared.shared == {(12.25, 1.0): False}
    for got, want in zip(shared.scores(blocks)[(12.25, 1.0)], ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-8)
    # two ratios keep the shared decomposition (one scoring product for both)
    two = SharedLeverageProjector(_stats(blocks), [(12.25, 1.0), (300.0, 1.0)])
    assert not two.triangular and all(two.shared.values())
    scores = two.scores(blocks)
    for w in [(12.25, 1.0), (300.0, 1.0)]:
        for got, want in zip(scores[w], _svd_leverage(blocks, *w), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-8)


def test_rank_deficient_leverage_keeps_the_truncated_svd():
    from pyiron_appmlip.core import SharedLeverageProjector

    blocks, _, _ = qsnap_like_dataset(42)
    proj = LeverageProjector(_stats(blocks), 10.0, 1.0)
    assert not proj.triangular and proj.rank == blocks[0].shape[1]  # p of p + 1 kept
    shared = SharedLeverageProjector(_stats(blocks), [(10.0, 1.0)])
    assert not shared.triangular
    ref = _svd_leverage(blocks, 10.0, 1.0, scale=True, rcond=DEFAULT_RCOND)
    for got, want in zip(shared.scores(blocks)[(10.0, 1.0)], ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
