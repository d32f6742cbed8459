"""Sampling orders of a training pool (paper sec. 2.3).

A *sampling order* is a permutation of the pool whose first k entries are the subset of size k,
so all subset sizes of one repetition are nested and can be fitted from one pass
(:func:`pyiron_appmlip.core.fit.subset_fits`). Weighted sampling without replacement uses
the Efraimidis-Spirakis keys ``u^(1/w)`` (u uniform on (0, 1]) sorted in decreasing order:
every prefix is distributed as successive draws with probability proportional to ``w`` among
the items not yet drawn. Items with score 0 come last, in random order.

Samplers: ``"leverage"`` (regular leverage, energy row), ``"block_leverage"`` (sum over the
configuration's rows) and ``"random"`` (uniform). Seeds are anything
``numpy.random.default_rng`` accepts, including a ``Generator``.
"""

from __future__ import annotations

import numpy as np

from .validation import check_subset_size

__all__ = [
    "SAMPLERS",
    "weighted_order",
    "random_order",
    "sampling_order",
    "sample_subset",
    "repeated_orders",
]

SAMPLERS = ("leverage", "block_leverage", "random")


def _scores(scores, name: str = "scores") -> np.ndarray:
    w = np.asarray(scores, dtype=float)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{name} must be finite and >= 0")
    return w


def weighted_order(scores, seed=None) -> np.ndarray:
    """Permutation (M,) such that every prefix is a weighted sample without replacement.

    Args:
        scores: (M,) non-negative selection weights (e.g. leverage scores).
        seed: anything ``numpy.random.default_rng`` accepts.
    """
    w = _scores(scores)
    rng = np.random.default_rng(seed)
    u = 1.0 - rng.random(w.size)  # (0, 1]
    keys = np.full(w.size, -np.inf)
    pos = w > 0
    keys[pos] = np.log(u[pos]) / w[pos]  # log of u^(1/w): same order, no underflow
    tie = rng.random(w.size)
    return np.lexsort((tie, -keys))


def random_order(n_pool: int, seed=None) -> np.ndarray:
    """Uniform random permutation of ``range(n_pool)``."""
    n = int(n_pool)
    if n < 1:
        raise ValueError(f"n_pool must be >= 1, got {n_pool!r}")
    return np.random.default_rng(seed).permutation(n)


def sampling_order(
    sampler: str,
    n_pool: int | None = None,
    *,
    leverage=None,
    block_leverage=None,
    seed=None,
) -> np.ndarray:
    """Sampling order (permutation of the pool) for ``sampler`` in :data:`SAMPLERS`.

    Args:
        sampler: ``"leverage"``, ``"block_leverage"`` or ``"random"``.
        n_pool: the pool size; ``"random"`` needs it (or either score array, for its length).
        leverage: (M,) regular leverage scores; ``"leverage"`` needs them.
        block_leverage: (M,) block leverage scores; ``"block_leverage"`` needs them.
        seed: anything ``numpy.random.default_rng`` accepts.
    """
    if sampler == "leverage":
        if leverage is None:
            raise ValueError('sampler="leverage" needs the regular leverage scores (leverage=)')
        return weighted_order(_scores(leverage, "leverage"), seed)
    if sampler == "block_leverage":
        if block_leverage is None:
            raise ValueError(
                'sampler="block_leverage" needs the block leverage scores (block_leverage=)'
            )
        return weighted_order(_scores(block_leverage, "block_leverage"), seed)
    if sampler == "random":
        if n_pool is None:
            for s in (leverage, block_leverage):
                if s is not None:
                    n_pool = len(s)
                    break
        if n_pool is None:
            raise ValueError('sampler="random" needs n_pool (the number of configurations)')
        return random_order(n_pool, seed)
    raise ValueError(f"sampler must be one of {SAMPLERS!r}, got {sampler!r}")


def _pool_size(n_pool, leverage, block_leverage) -> int:
    for s in (leverage, block_leverage):
        if s is not None:
            return len(s)
    if n_pool is None:
        raise ValueError("n_pool (or leverage / block_leverage scores) must be given")
    return int(n_pool)


def sample_subset(
    sampler: str,
    subset_size: int,
    n_pool: int | None = None,
    *,
    leverage=None,
    block_leverage=None,
    seed=None,
) -> np.ndarray:
    """Indices (subset_size,) of one subset: the first ``subset_size`` of a sampling order."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS!r}, got {sampler!r}")
    k = check_subset_size(subset_size, _pool_size(n_pool, leverage, block_leverage))
    order = sampling_order(
        sampler, n_pool, leverage=leverage, block_leverage=block_leverage, seed=seed
    )
    return order[:k]


def repeated_orders(
    sampler: str,
    n_repetitions: int,
    n_pool: int | None = None,
    *,
    leverage=None,
    block_leverage=None,
    seed=0,
) -> np.ndarray:
    """``(n_repetitions, M)`` independent sampling orders.

    Repetition r uses the r-th child of ``numpy.random.SeedSequence(seed)``, so results do not
    depend on how many repetitions are requested.

    Args:
        sampler: one of :data:`SAMPLERS`.
        n_repetitions: number of orders (>= 1).
        n_pool: as in :func:`sampling_order`.
        leverage: as in :func:`sampling_order`.
        block_leverage: as in :func:`sampling_order`.
        seed: an int or a SeedSequence.
    """
    reps = int(n_repetitions)
    if reps < 1:
        raise ValueError(f"n_repetitions must be >= 1, got {n_repetitions!r}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS!r}, got {sampler!r}")
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.stack(
        [
            sampling_order(
                sampler, n_pool, leverage=leverage, block_leverage=block_leverage, seed=child
            )
            for child in seq.spawn(reps)
        ]
    )
