"""Statistics of many training subsets of one pool, each built from a smaller one.

A sweep needs the statistics of many subsets of one training pool: the prefixes of every
sampling order, or a fresh draw of every size. Statistics only grow: the R factors of a set S
are those of any subset T of S updated with the rows of S \\ T, at a cost proportional to
``|S \\ T|`` configurations plus a copy of the (p x p) factors. One pass per sampling order
(:func:`~.fit.subset_fits`) builds every prefix from the one before. Sets of *different*
orders share configurations too:

- orders drawn with the same random numbers from similar scores, e.g. leverage sampling at
  several energy/force weights with one seed per repetition, agree on most of every prefix;
- fresh draws of neighbouring sizes from one pool overlap by chance (two random draws of 800
  and 900 of 1,000 configurations share about 720);
- the whole pool contains every subset.

:func:`plan_subsets` adds the intersections of such orders as intermediate sets where they save
reads (agglomerating orders two by two, greedily, while a merge saves at least one configuration
per subset size), builds every set from its largest subset among all sets of the plan, and
bounds the number of accumulators alive at once. :func:`plan_statistics` carries a plan out
over a stream of configurations and yields every subset's statistics;
:func:`shared_subset_fits` gives the fits and errors of every order's subsets, as
:func:`~.fit.subset_fits` does for one order.

The statistics of a set do not depend on how it was built, up to rounding: fits from a plan
equal those from one pass per order (and dense ``lstsq`` on the subset) to rounding error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .fit import SubsetFit, _checked_fit_arguments, statistics_fits
from .statistics import (
    SufficientStatistics,
    _default_chunk_rows,
    _small_chunk_rows,
    add_configuration,
)
from .validation import as_weight_pairs

__all__ = [
    "PlanNode",
    "SubsetPlan",
    "plan_subsets",
    "plan_statistics",
    "shared_subset_fits",
    "statistics_budget",
]


def statistics_budget(
    n_descriptors: int,
    n_levels: int = 1,
    max_bytes: float = 2 * 2**30,
    cap: int = 64,
    *,
    stresses: bool = False,
) -> int:
    """How many accumulators (:class:`~.statistics.SufficientStatistics`) fit in ``max_bytes``:
    the ``max_statistics`` of :func:`plan_subsets` for ``n_descriptors`` columns and
    ``n_levels`` label levels (energy and force R factors with their row buffers, and with
    ``stresses`` a stress R factor with its buffer), at least 1 and at most ``cap``. With the
    default 2 GiB and no stresses: the cap at 2Jmax 6 (p = 495), 16 at 2Jmax 8 (p = 1595) and
    3 at 2Jmax 10 (p = 4277)."""
    n = int(n_descriptors) + 1 + int(n_levels)
    chunk = _default_chunk_rows(n)
    small = _small_chunk_rows(chunk, n)
    per = 8 * n * (2 * n + chunk + small)
    if stresses:
        per += 8 * n * (n + small)
    return int(max(1, min(cap, max_bytes // per)))


@dataclass(frozen=True)
class PlanNode:
    """One set of a :class:`SubsetPlan`.

    Attributes:
        members: sorted pool indices of the set.
        parent: index of the node whose statistics this one starts from (-1: empty).
        added: pool indices added to the parent's statistics (sorted).
        targets: ``(order, subset size)`` pairs this set is the subset of.
        steals_parent: True if this is the parent's last child, which takes over the parent's
            accumulator instead of copying it.
        n_children: number of nodes built from this one.
    """

    members: np.ndarray
    parent: int
    added: np.ndarray
    targets: tuple
    steals_parent: bool
    n_children: int


@dataclass(frozen=True)
class SubsetPlan:
    """How the statistics of every ``(order, size)`` subset are built (:func:`plan_subsets`).

    Attributes:
        nodes: the sets in execution order (depth first; parents before their children).
        n_pool: the pool size.
        reads: configurations read and added in total.
        separate_reads: configurations one pass per order would read (the largest size of
            every order, summed).
        peak_statistics: most accumulators alive at once.
        n_merges: orders merged into intersections (0: every set from its largest subset only).
    """

    nodes: tuple
    n_pool: int
    reads: int
    separate_reads: int
    peak_statistics: int
    n_merges: int

    @property
    def targets(self) -> list[tuple[int, int]]:
        """All ``(order, size)`` pairs of the plan."""
        return sorted(t for node in self.nodes for t in node.targets)


def _orders_and_sizes(orders, sizes, n_pool):
    orders = [np.asarray(o) for o in orders]
    if not orders:
        raise ValueError("orders must contain at least one sampling order")
    out_orders = []
    for k, o in enumerate(orders):
        if o.ndim != 1 or o.size == 0 or not np.issubdtype(o.dtype, np.integer):
            raise ValueError(
                f"orders[{k}] must be a non-empty 1-D array of pool indices, got shape "
                f"{o.shape} dtype {o.dtype}"
            )
        out_orders.append(o.astype(np.int64))
    if n_pool is None:
        n_pool = int(max(o.max() for o in out_orders)) + 1
    n_pool = int(n_pool)
    if len(sizes) and all(np.ndim(s) == 0 for s in sizes):
        per_order = [list(sizes)] * len(out_orders)
    else:
        per_order = list(sizes)
        if len(per_order) != len(out_orders):
            raise ValueError(
                f"sizes must be one list of subset sizes for all orders or one per order; got "
                f"{len(per_order)} lists for {len(out_orders)} orders"
            )
    out_sizes = []
    for k, (o, s) in enumerate(zip(out_orders, per_order, strict=True)):
        ss = sorted({int(x) for x in s})
        if not ss or any(int(x) != x for x in s):
            raise ValueError(f"sizes of order {k} must be positive integers, got {list(s)!r}")
        if ss[0] < 1 or ss[-1] > o.size:
            raise ValueError(
                f"subset_size {ss[0] if ss[0] < 1 else ss[-1]} of order {k} is outside "
                f"1..{o.size} (the order's length)"
            )
        head = o[: ss[-1]]
        if head.min() < 0 or head.max() >= n_pool:
            raise ValueError(f"orders[{k}] has pool indices outside 0..{n_pool - 1}")
        if np.unique(head).size != head.size:
            raise ValueError(f"orders[{k}] repeats a pool index within its first {ss[-1]} entries")
        out_sizes.append(ss)
    return out_orders, out_sizes, n_pool


def _membership(order, sizes, n_pool) -> np.ndarray:
    m = np.zeros((len(sizes), n_pool), dtype=bool)
    for j, s in enumerate(sizes):
        m[j, order[:s]] = True
    return m


def _merge_history(memberships, min_saving):
    """Greedy agglomeration of orders with the same number of sizes.

    Returns the merged families' memberships (L, n), in the order they were merged (a merge
    only uses families merged before it). Merging roots A and B into G (the elementwise
    intersection of their sets) saves ``sum_j relu(|G_j| - |A_{j-1}|) + relu(|G_j| -
    |B_{j-1}|) - |G_L|`` reads: A and B then start each size from the larger of their
    previous size and G's set of that size, and G costs its largest set.
    """
    history = []
    by_length: dict[int, list[int]] = {}
    for k, m in enumerate(memberships):
        by_length.setdefault(m.shape[0], []).append(k)
    for length, members in by_length.items():
        n_roots = len(members)
        if n_roots < 2:
            continue
        capacity = 2 * n_roots - 1
        n = memberships[members[0]].shape[1]
        roots = np.zeros((length, capacity, n), dtype=np.float32)  # [size, family, pool]
        for r, k in enumerate(members):
            roots[:, r] = memberships[k]
        inter = np.zeros((length, capacity, capacity), dtype=np.float32)
        for j in range(length):
            inter[j, :n_roots, :n_roots] = roots[j, :n_roots] @ roots[j, :n_roots].T
        alive = np.zeros(capacity, dtype=bool)
        alive[:n_roots] = True
        used = n_roots
        threshold = length if min_saving is None else float(min_saving)
        while alive.sum() > 1:
            counts = np.stack([inter[j].diagonal()[:used] for j in range(length)], axis=1)
            prev = np.concatenate([np.zeros((used, 1)), counts[:, :-1]], axis=1)  # (R, L)
            g = inter[:, :used, :used].transpose(1, 2, 0)  # (R, R, L)
            sav = (
                np.maximum(g - prev[:, None, :], 0).sum(axis=2)
                + np.maximum(g - prev[None, :, :], 0).sum(axis=2)
                - g[:, :, -1]
            )
            mask = alive[:used, None] & alive[None, :used]
            np.fill_diagonal(mask, False)
            sav = np.where(mask, sav, -np.inf)
            a, b = np.unravel_index(int(np.argmax(sav)), sav.shape)
            if not sav[a, b] >= threshold:
                break
            merged = roots[:, a] * roots[:, b]  # (L, n)
            alive[a] = alive[b] = False
            roots[:, used] = merged
            for j in range(length):
                row = roots[j, : used + 1] @ merged[j]
                inter[j, used, : used + 1] = row
                inter[j, : used + 1, used] = row
            alive[used] = True
            used += 1
            history.append(merged.astype(bool))
    return history


def _build(orders, sizes, n_pool, helpers, cross: bool) -> SubsetPlan:
    """The plan of the targets plus ``helpers`` (cross=True: every set from its largest subset
    among all sets; helpers nobody starts from are dropped), or of the targets alone with every
    set from its order's previous size (cross=False)."""
    key_of: dict = {}
    members: list[np.ndarray] = []
    targets: list[list] = []
    chain_parent: dict[int, int] = {}

    def node_of(sorted_members, key) -> int:
        i = key_of.get(key)
        if i is None:
            i = key_of[key] = len(members)
            members.append(sorted_members)
            targets.append([])
        return i

    for k, (o, ss) in enumerate(zip(orders, sizes, strict=True)):
        before = -1
        for s in ss:
            m = np.sort(o[:s])
            i = node_of(m, m.tobytes() if cross else (k, s))
            targets[i].append((k, s))
            chain_parent.setdefault(i, before)
            before = i
    if cross:
        for h in helpers:
            for row in h:
                idx = np.flatnonzero(row).astype(np.int64)
                if idx.size:
                    node_of(idx, idx.tobytes())
    n_nodes = len(members)
    size = np.array([m.size for m in members])
    keep = np.ones(n_nodes, dtype=bool)
    if cross:
        mat = np.zeros((n_nodes, n_pool), dtype=np.float32)
        for i, m in enumerate(members):
            mat[i, m] = 1.0
        inter = mat @ mat.T
        contained = (inter == size[:, None]) & (size[:, None] < size[None, :])  # [i, j]: i < j
        while True:
            score = np.where(contained & keep[:, None], size[:, None], -1)
            best = score.argmax(axis=0)
            parent = np.where(score[best, np.arange(n_nodes)] > 0, best, -1)
            has_child = np.zeros(n_nodes, dtype=bool)
            has_child[parent[keep & (parent >= 0)]] = True
            idle = keep & ~has_child & np.array([not t for t in targets])
            if not idle.any():
                break
            keep &= ~idle
    else:
        parent = np.array([chain_parent[i] for i in range(n_nodes)])
    children: list[list[int]] = [[] for _ in range(n_nodes)]
    for i in np.flatnonzero(keep):
        if parent[i] >= 0:
            children[parent[i]].append(int(i))
    # accumulators a subtree needs: children with the smallest need first; the last one takes
    # the parent's accumulator over
    peak = np.ones(n_nodes, dtype=np.int64)
    for i in np.argsort(-size, kind="stable"):
        kids = sorted(children[i], key=lambda c: (peak[c], c))
        children[i] = kids
        if kids:
            peak[i] = max([1 + peak[c] for c in kids[:-1]] + [peak[kids[-1]]])
    roots = [int(i) for i in np.flatnonzero(keep) if parent[i] < 0]
    index = {}
    sequence = []
    stack = list(reversed(roots))
    while stack:
        i = stack.pop()
        index[i] = len(sequence)
        sequence.append(i)
        stack.extend(reversed(children[i]))
    nodes = []
    reads = 0
    for i in sequence:
        p = int(parent[i])
        if p < 0:
            added = members[i]
        else:
            added = np.setdiff1d(members[i], members[p], assume_unique=True)
        reads += added.size
        nodes.append(
            PlanNode(
                members=members[i],
                parent=index[p] if p >= 0 else -1,
                added=added,
                targets=tuple(targets[i]),
                steals_parent=p >= 0 and children[p][-1] == i,
                n_children=len(children[i]),
            )
        )
    return SubsetPlan(
        nodes=tuple(nodes),
        n_pool=n_pool,
        reads=int(reads),
        separate_reads=int(sum(ss[-1] for ss in sizes)),
        peak_statistics=int(max(peak[r] for r in roots)),
        n_merges=len(helpers) if cross else 0,
    )


def plan_subsets(
    orders: Sequence,
    sizes: Sequence,
    n_pool: int | None = None,
    *,
    max_statistics: int = 8,
    min_saving: float | None = None,
) -> SubsetPlan:
    """Plan the statistics of the subsets ``order[:size]`` of every order and size.

    Args:
        orders: sampling orders (1-D arrays of pool indices; only the first ``max(sizes)``
            entries of each are used and must be distinct).
        sizes: subset sizes, one list for all orders or one list per order (e.g. a single size
            per order for fresh draws of every size).
        n_pool: the pool size (default: the largest index + 1).
        max_statistics: most accumulators alive at once (each holds O(p^2) floats; >= 1). The
            plan drops its last merges until it fits, and with 1 builds every order on its own.
        min_saving: merge two orders only if that saves at least this many configuration reads
            (default: one per subset size of the orders).

    Returns:
        The :class:`SubsetPlan`; ``plan.reads`` against ``plan.separate_reads`` is what it
        saves.
    """
    if isinstance(max_statistics, bool) or int(max_statistics) != max_statistics:
        raise ValueError(f"max_statistics must be an integer >= 1, got {max_statistics!r}")
    if max_statistics < 1:
        raise ValueError(f"max_statistics must be an integer >= 1, got {max_statistics!r}")
    orders, sizes, n_pool = _orders_and_sizes(orders, sizes, n_pool)
    if max_statistics == 1:
        return _build(orders, sizes, n_pool, [], cross=False)
    memberships = [_membership(o, ss, n_pool) for o, ss in zip(orders, sizes, strict=True)]
    history = _merge_history(memberships, min_saving)
    for m in range(len(history), -1, -1):
        plan = _build(orders, sizes, n_pool, history[:m], cross=True)
        if plan.peak_statistics <= max_statistics:
            return plan
    return _build(orders, sizes, n_pool, [], cross=False)


def plan_statistics(
    plan: SubsetPlan,
    read: Callable[[np.ndarray], Iterable],
    levels: Iterable = (),
    *,
    n_descriptors: int | None = None,
    chunk_rows: int | None = None,
) -> Iterator[tuple[tuple, SufficientStatistics]]:
    """Carry out ``plan``: yield ``(targets, statistics)`` for every set that is a subset.

    Args:
        plan: from :func:`plan_subsets`.
        read: called with an array of pool indices; returns their configurations in that
            order, as items of :func:`~.statistics.iter_checkpoints` (``(block, labels)``,
            ``(block, labels, config_id)`` or ``(block, labels, config_id, options)``).
        levels: the label levels to accumulate.
        n_descriptors: p (default: from the first block).
        chunk_rows: row buffer size (see :class:`~.statistics.SufficientStatistics`).

    Yields:
        ``(targets, statistics)``: the ``(order, size)`` pairs the set is the subset of, and its
        statistics ("train" partition). The statistics may be the starting point of later sets:
        read them (fit, errors, copy), do not add to them.

    Raises:
        ValueError: if ``read`` returns a different number of configurations than asked for.
    """
    levels = list(levels)
    live: dict[int, SufficientStatistics] = {}
    for i, node in enumerate(plan.nodes):
        if node.parent < 0:
            stats = None
        elif node.steals_parent:
            stats = live.pop(node.parent)
        else:
            stats = live[node.parent].copy()
        count = 0
        for item in read(node.added):
            if stats is None:
                p = n_descriptors if n_descriptors is not None else np.shape(item[0])[-1]
                stats = SufficientStatistics(p, levels, chunk_rows)
            add_configuration(stats, item)
            count += 1
        if count != node.added.size:
            raise ValueError(
                f"read returned {count} configurations for {node.added.size} pool indices"
            )
        if node.n_children:
            stats.release_buffers()  # kept for the children: its R factors only
            live[i] = stats
        else:
            stats.flush()
        if node.targets:
            yield node.targets, stats


def _check_plan(plan: SubsetPlan, orders, sizes) -> None:
    """Raise unless ``plan`` holds exactly the subsets ``order[:size]`` of these orders."""
    wanted = sorted((k, s) for k, ss in enumerate(sizes) for s in ss)
    if plan.targets != wanted:
        raise ValueError(
            f"plan does not match orders and sizes: it has {len(plan.targets)} subsets, the "
            f"orders and sizes ask for {len(wanted)} (make it with plan_subsets(orders, sizes))"
        )
    for node in plan.nodes:
        for k, s in node.targets:
            if not np.array_equal(node.members, np.sort(orders[k][:s])):
                raise ValueError(
                    f"plan does not match orders and sizes: its subset ({k}, {s}) holds other "
                    "configurations than order k's first s (make it with plan_subsets(orders, "
                    "sizes))"
                )


def shared_subset_fits(
    orders: Sequence,
    sizes: Sequence,
    read: Callable[[np.ndarray], Iterable],
    weights: Sequence[tuple[float, float]],
    levels: Sequence,
    *,
    order_weights: Mapping[int, Sequence[tuple[float, float]]] | None = None,
    plan: SubsetPlan | None = None,
    n_pool: int | None = None,
    max_statistics: int = 8,
    test_statistics: SufficientStatistics | None = None,
    test_levels: Sequence | None = None,
    test_partition: str = "test",
    n_descriptors: int | None = None,
    **fit_options,
) -> list[list[SubsetFit]]:
    """:func:`~.fit.subset_fits` for many orders at once, with their statistics shared by a
    :func:`plan_subsets` plan.

    Args:
        orders: sampling orders (pool indices).
        sizes: subset sizes, one list for all orders or one per order.
        read: pool indices -> their configurations, as in :func:`plan_statistics`.
        weights: ``(energy_weight, force_weight)`` pairs of every order.
        levels: training levels.
        order_weights: ``{order: pairs}`` replacing ``weights`` for those orders (e.g. the fit
            weight an order's leverage was computed at).
        plan: a plan of these orders and sizes (default: ``plan_subsets(orders, sizes, n_pool,
            max_statistics=max_statistics)``).
        n_pool: as in :func:`plan_subsets`.
        max_statistics: as in :func:`plan_subsets`.
        test_statistics: as in :func:`~.fit.subset_fits`.
        test_levels: as in :func:`~.fit.subset_fits`.
        test_partition: as in :func:`~.fit.subset_fits`.
        n_descriptors: p (default: from the first block).
        **fit_options: further keywords of :func:`~.fit.statistics_fits` (``ridge``,
            ``rcond``, ``scale_columns``, ``stress_weight``, ``constant``, ``factorization``).

    Returns:
        One list per order: its :class:`~.fit.SubsetFit` records, by size, then weight pair and
        level as :func:`~.fit.subset_fits` gives them.
    """
    levels = list(levels)
    weights = as_weight_pairs(weights)
    own = {int(k): as_weight_pairs(v) for k, v in (order_weights or {}).items()}
    if plan is None:
        plan = plan_subsets(orders, sizes, n_pool, max_statistics=max_statistics)
    else:
        _check_plan(plan, *_orders_and_sizes(orders, sizes, n_pool)[:2])
    n_orders = len(orders)
    bad = [k for k in own if not 0 <= k < n_orders]
    if bad:
        raise ValueError(f"order_weights names orders {bad}; allowed: 0..{n_orders - 1}")
    _checked_fit_arguments(
        weights,
        fit_options.get("stress_weight", 0.0),
        fit_options.get("factorization", "auto"),
        test_statistics,
        test_levels,
    )
    out: list[dict[int, list[SubsetFit]]] = [{} for _ in range(n_orders)]
    for targets, stats in plan_statistics(plan, read, levels, n_descriptors=n_descriptors):
        wanted = list(dict.fromkeys(w for k, _ in targets for w in own.get(k, weights)))
        records = statistics_fits(
            stats,
            wanted,
            levels,
            test_statistics=test_statistics,
            test_levels=test_levels,
            test_partition=test_partition,
            **fit_options,
        )
        by_key = {((r.energy_weight, r.force_weight), r.level): r for r in records}
        for k, s in targets:
            out[k][s] = [by_key[(w, lv)] for w in own.get(k, weights) for lv in levels]
    return [[r for s in sorted(by_size) for r in by_size[s]] for by_size in out]
