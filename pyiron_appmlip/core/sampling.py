"""Sampling orders of a training pool (the paper's section 2.3).

A *sampling order* is a permutation of the pool whose first k entries are the subset of size k,
so all subset sizes of one repetition are nested and can be fitted from one pass
(:func:`pyiron_appmlip.core.fit.subset_fits`). Weighted sampling without replacement uses
the Efraimidis-Spirakis keys ``u^(1/w)`` (u uniform on (0, 1]) sorted in decreasing order:
every prefix is distributed as successive draws with probability proportional to ``w`` among
the items not yet drawn. Items with score 0 come last, in random order.

Samplers: ``"leverage"`` (regular leverage, energy row), ``"block_leverage"`` (sum over the
configuration's rows) and ``"random"`` (uniform), and the label-free selectors of
:mod:`.selectors`: ``"maxvol"``, ``"d_optimal"``, ``"cur"``, ``"fps"`` and ``"entropy"``. Seeds
are anything ``numpy.random.default_rng`` accepts, including a ``Generator``.

Repetitions: ``"maxvol"``, ``"d_optimal"`` and ``"cur"`` are deterministic (the seed is not
used; :func:`repeated_orders` warns when asked for more than one repetition of them and returns
copies of the one order). ``"fps"`` and ``"entropy"`` grow the subset from a first
configuration: repetition 0 starts from their deterministic first point, every further
repetition from a configuration drawn at random with its seed.
"""

from __future__ import annotations

import warnings

import numpy as np

from .selectors import (
    DETERMINISTIC_SELECTORS,
    FIRST_POINT_SELECTORS,
    SELECTORS,
    cur_order,
    d_optimal_order,
    entropy_order,
    fps_order,
    maxvol_order,
    standardized,
)
from .validation import check_subset_size, check_weights

__all__ = [
    "SAMPLERS",
    "weighted_order",
    "random_order",
    "sampling_order",
    "sample_subset",
    "repeated_orders",
]

SAMPLERS = ("leverage", "block_leverage", "random", *SELECTORS)


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


def _features(sampler: str, features, n_pool) -> np.ndarray:
    if features is None:
        raise ValueError(
            f"sampler={sampler!r} needs the per-configuration feature rows (features=, an (M, p) "
            "array such as core.selectors.feature_rows(blocks))"
        )
    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(
            f"features must be a 2-D array with one row per configuration, got shape {x.shape}"
        )
    if n_pool is not None and x.shape[0] != int(n_pool):
        raise ValueError(f"features has {x.shape[0]} rows but n_pool is {n_pool}")
    return x


def _selector_order(
    sampler, n_pool, features, blocks, weights, n_select, seed, random_start
) -> np.ndarray:
    if sampler == "d_optimal":
        if blocks is None:
            raise ValueError(
                'sampler="d_optimal" needs the descriptor blocks (blocks=, a sequence of '
                "(1 + 3 N, p) arrays or a callable read(indices) with n_pool)"
            )
        w_e, w_f = check_weights(*weights)
        return d_optimal_order(blocks, n_select, n_pool=n_pool, energy_weight=w_e, force_weight=w_f)
    x = _features(sampler, features, n_pool)
    if sampler == "maxvol":
        return maxvol_order(x, n_select)
    z = standardized(x)
    if sampler == "cur":
        return cur_order(z, n_select)
    first = int(np.random.default_rng(seed).integers(x.shape[0])) if random_start else None
    if sampler == "fps":
        return fps_order(z, n_select, first=first)
    return entropy_order(z, n_select, first=first)


def sampling_order(
    sampler: str,
    n_pool: int | None = None,
    *,
    leverage=None,
    block_leverage=None,
    seed=None,
    features=None,
    blocks=None,
    weights=(1.0, 1.0),
    n_select: int | None = None,
    random_start: bool = False,
) -> np.ndarray:
    """Sampling order (permutation of the pool, or its first ``n_select`` entries) for
    ``sampler`` in :data:`SAMPLERS`.

    Args:
        sampler: ``"leverage"``, ``"block_leverage"``, ``"random"``, or a selector of
            :mod:`.selectors`: ``"maxvol"``, ``"d_optimal"``, ``"cur"``, ``"fps"``,
            ``"entropy"``.
        n_pool: the pool size; ``"random"`` needs it (or either score array, for its length),
            ``"d_optimal"`` with a callable ``blocks``.
        leverage: (M,) regular leverage scores; ``"leverage"`` needs them.
        block_leverage: (M,) block leverage scores; ``"block_leverage"`` needs them.
        seed: anything ``numpy.random.default_rng`` accepts.
        features: (M, p) per-atom energy rows (:func:`.selectors.feature_rows`); ``"maxvol"``,
            ``"cur"``, ``"fps"`` and ``"entropy"`` need them (the last three standardise them,
            :func:`.selectors.standardized`).
        blocks: the descriptor blocks (without virial rows) for ``"d_optimal"``: a sequence,
            or a callable ``read(indices)`` yielding the blocks of those pool indices.
        weights: ``(w_E, w_F)`` of the rows ``"d_optimal"`` weighs (as the fit does).
        n_select: return only the first ``n_select`` entries (default: all M); the greedy
            selectors then stop there.
        random_start: ``"fps"`` and ``"entropy"`` start from a configuration drawn with
            ``seed`` instead of their deterministic first point.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS!r}, got {sampler!r}")
    if sampler in SELECTORS:
        return _selector_order(
            sampler, n_pool, features, blocks, weights, n_select, seed, random_start
        )
    if sampler == "leverage":
        if leverage is None:
            raise ValueError('sampler="leverage" needs the regular leverage scores (leverage=)')
        order = weighted_order(_scores(leverage, "leverage"), seed)
    elif sampler == "block_leverage":
        if block_leverage is None:
            raise ValueError(
                'sampler="block_leverage" needs the block leverage scores (block_leverage=)'
            )
        order = weighted_order(_scores(block_leverage, "block_leverage"), seed)
    else:
        if n_pool is None:
            for s in (leverage, block_leverage, features):
                if s is not None:
                    n_pool = len(s)
                    break
        if n_pool is None:
            raise ValueError('sampler="random" needs n_pool (the number of configurations)')
        order = random_order(n_pool, seed)
    if n_select is not None:
        order = order[: check_subset_size(n_select, order.size)]
    return order


def _pool_size(n_pool, leverage, block_leverage, features=None, blocks=None) -> int:
    for s in (leverage, block_leverage, features):
        if s is not None:
            return len(s)
    if blocks is not None and not callable(blocks):
        return len(blocks)
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
    features=None,
    blocks=None,
    weights=(1.0, 1.0),
) -> np.ndarray:
    """Indices (subset_size,) of one subset: the first ``subset_size`` of a sampling order
    (arguments as for :func:`sampling_order`)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS!r}, got {sampler!r}")
    k = check_subset_size(
        subset_size, _pool_size(n_pool, leverage, block_leverage, features, blocks)
    )
    order = sampling_order(
        sampler,
        n_pool,
        leverage=leverage,
        block_leverage=block_leverage,
        seed=seed,
        features=features,
        blocks=blocks,
        weights=weights,
        n_select=k if sampler in SELECTORS else None,
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
    features=None,
    blocks=None,
    weights=(1.0, 1.0),
    n_select: int | None = None,
) -> np.ndarray:
    """``(n_repetitions, M)`` independent sampling orders (``M`` = ``n_select`` when given).

    Repetition r uses the r-th child of ``numpy.random.SeedSequence(seed)``, so results do not
    depend on how many repetitions are requested. ``"fps"`` and ``"entropy"`` start repetition
    0 from their deterministic first point and repetition r > 0 from a configuration drawn with
    that child seed; ``"maxvol"``, ``"d_optimal"`` and ``"cur"`` have one order, repeated (with
    a warning when ``n_repetitions > 1``).

    Args:
        sampler: one of :data:`SAMPLERS`.
        n_repetitions: number of orders (>= 1).
        n_pool: as in :func:`sampling_order`.
        leverage: as in :func:`sampling_order`.
        block_leverage: as in :func:`sampling_order`.
        seed: an int or a SeedSequence.
        features: as in :func:`sampling_order`.
        blocks: as in :func:`sampling_order`.
        weights: as in :func:`sampling_order`.
        n_select: as in :func:`sampling_order`.
    """
    reps = int(n_repetitions)
    if reps < 1:
        raise ValueError(f"n_repetitions must be >= 1, got {n_repetitions!r}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS!r}, got {sampler!r}")
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    options = dict(
        leverage=leverage,
        block_leverage=block_leverage,
        features=features,
        blocks=blocks,
        weights=weights,
        n_select=n_select,
    )
    if sampler in DETERMINISTIC_SELECTORS:
        if reps > 1:
            warnings.warn(
                f"sampler {sampler!r} is deterministic: its {reps} repetitions are one order",
                UserWarning,
                stacklevel=2,
            )
        order = sampling_order(sampler, n_pool, **options)
        return np.tile(order, (reps, 1))
    return np.stack(
        [
            sampling_order(
                sampler,
                n_pool,
                seed=child,
                random_start=sampler in FIRST_POINT_SELECTORS and r > 0,
                **options,
            )
            for r, child in enumerate(seq.spawn(reps))
        ]
    )
