"""Label-free selectors of training configurations from their descriptors (no DFT needed).

Each selector returns an *order*: its first k entries are the training subset of size k, so the
subsets of one order are nested, as for the leverage samplers of :mod:`.sampling`.

Per-configuration feature rows: configuration m with N_m atoms and descriptor block ``X_m``
(1 + 3 N_m, p) is described by its per-atom energy row ``X_m[0] / N_m``, which is the mean of
the per-atom descriptor rows of its atoms (the energy row of the block is their sum). It is the
row the fit uses for the per-atom energy, one row per configuration, so a pool of M
configurations is an (M, p) matrix whatever the sizes of the cells (:func:`feature_rows`).

Selectors:

- ``"maxvol"`` (:func:`maxvol_order`): the MaxVol active set as pacemaker builds it (LU start,
  then row swaps until no coefficient of the expansion of a row in the chosen rows exceeds
  ``tol`` in magnitude), on the rows ``[1, X_m[0] / N_m]`` (the constant column is the fit's
  per-atom reference energy). The active set has as many configurations as the rank r of that
  matrix (at most p + 1); inside it the order is by greedy volume. Past r the order goes on
  greedily with the D-optimal gain ``log(1 + f M^-1 f^T)`` of the same rows.
- ``"d_optimal"`` (:func:`d_optimal_order`): greedy D-optimal design of whole configurations:
  each step adds the configuration whose weighted rows (energy row and 3 N force rows, as the
  fit weights them) most increase ``log det`` of the information matrix ``M``; the gain is
  ``log det(I + X_m M^-1 X_m^T)``. ``M`` starts at a small multiple of the diagonal of the
  pool's information matrix (``regularization``), so the log det is finite before p + 1
  independent rows are chosen. Streamed: only the p x p state is kept, and blocks are read
  again only when their (stale, upper-bound) gain could win (lazy greedy, exact because the
  gain never grows as ``M`` grows).
- ``"cur"`` (:func:`cur_order`): the sample CUR selection of scikit-matter: the configuration
  with the largest weight in the top left singular vector of the remaining feature matrix, then
  every row is orthogonalised against it.
- ``"fps"`` (:func:`fps_order`): farthest-point sampling in the Euclidean distance.
- ``"entropy"`` (:func:`entropy_order`): greedy maximisation of the dataset entropy of the
  chosen rows as QUESTS defines it (:func:`dataset_entropy`, a Gaussian kernel density).

``"cur"``, ``"fps"`` and ``"entropy"`` work on the feature rows centred and scaled to unit
variance per column (:func:`standardized`): descriptor components differ in scale by orders of
magnitude, and every component should count. MaxVol and D-optimal do not depend on the column
scaling.

Memory: the (M, p) feature rows (8 M p bytes); D-optimal keeps (p + 1)^2 numbers plus one gain
per configuration and never holds more than a few blocks.
"""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import scipy.linalg

from ._linalg import DEFAULT_RCOND, r_factor, triangular_update
from .validation import check_block, check_weights

__all__ = [
    "SELECTORS",
    "DETERMINISTIC_SELECTORS",
    "FIRST_POINT_SELECTORS",
    "feature_rows",
    "standardized",
    "maxvol_rows",
    "maxvol_order",
    "d_optimal_order",
    "cur_order",
    "fps_order",
    "dataset_entropy",
    "default_bandwidth",
    "entropy_order",
]

#: The selector names (sampler names of :func:`~pyiron_appmlip.core.sampling.sampling_order`).
SELECTORS = ("maxvol", "d_optimal", "cur", "fps", "entropy")
#: Selectors whose order depends on nothing but the descriptors: one order, whatever the seed.
DETERMINISTIC_SELECTORS = ("maxvol", "d_optimal", "cur")
#: Selectors that grow the subset from a first configuration; repetitions after the first start
#: from a configuration drawn at random.
FIRST_POINT_SELECTORS = ("fps", "entropy")

#: pacemaker's MaxVol settings for its active set (``compute_active_set``).
MAXVOL_TOL = 1.001
MAXVOL_MAX_ITERS = 300
#: Start of the D-optimal information matrix, relative to the pool's.
DEFAULT_REGULARIZATION = 1e-8
_LAZY_BATCH = 8


def _matrix(features, name: str = "features") -> np.ndarray:
    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must be a 2-D array with one row per configuration, got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    return x


def _n_select(n_select, n_pool: int, name: str = "n_select") -> int:
    if n_select is None:
        return n_pool
    if isinstance(n_select, bool) or not isinstance(n_select, int | np.integer):
        raise ValueError(f"{name} must be an integer in [1, {n_pool}] or None, got {n_select!r}")
    k = int(n_select)
    if not 1 <= k <= n_pool:
        raise ValueError(
            f"{name}={k} cannot be delivered: the pool has {n_pool} configurations "
            f"(allowed: 1..{n_pool})"
        )
    return k


def _first(first, n_pool: int) -> int | None:
    if first is None:
        return None
    if isinstance(first, bool) or not isinstance(first, int | np.integer):
        raise ValueError(f"first must be a configuration index in [0, {n_pool}), got {first!r}")
    if not 0 <= int(first) < n_pool:
        raise ValueError(f"first must be a configuration index in [0, {n_pool}), got {first!r}")
    return int(first)


def feature_rows(blocks: Iterable) -> np.ndarray:
    """Per-atom energy rows ``X_m[0] / N_m`` of descriptor blocks, one row per configuration.

    Args:
        blocks: iterable of (1 + 3 N_m, p) descriptor blocks (without virial rows); read once.

    Returns:
        (M, p): the mean of the per-atom descriptor rows of each configuration.
    """
    rows = []
    p = None
    for i, b in enumerate(blocks):
        x, n = check_block(b, p, name=f"blocks[{i}]")
        p = x.shape[1]
        rows.append(x[0] / n)
    if not rows:
        raise ValueError("blocks must contain at least one configuration, got none")
    return np.array(rows)


def standardized(features) -> np.ndarray:
    """The feature rows centred and scaled to unit variance per column.

    Columns that do not vary over the pool (relative spread below 1e-12) are dropped.

    Args:
        features: (M, p) feature rows.

    Returns:
        (M, p') with p' <= p.
    """
    x = _matrix(features)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    scale = np.maximum(np.abs(x).max(axis=0), np.finfo(float).tiny)
    keep = std > 1e-12 * scale
    return (x[:, keep] - mean[keep]) / std[keep]


# -- MaxVol ------------------------------------------------------------------------------------
def maxvol_rows(a, *, tol: float = MAXVOL_TOL, max_iters: int = MAXVOL_MAX_ITERS) -> np.ndarray:
    """Rows of a dominant square submatrix of ``a`` (MaxVol, as in pacemaker's active set).

    Starts from the rows LU with partial pivoting picks, then swaps in the row ``i`` and out the
    chosen row ``j`` with the largest ``|C_ij|``, ``C = a a_S^-1`` (the coefficients of every
    row in the chosen rows), while it exceeds ``tol``; each swap multiplies ``|det a_S|`` by
    ``|C_ij|``.

    Args:
        a: (n, r) of full column rank, n >= r.
        tol: stop when no ``|C_ij|`` exceeds it (>= 1).
        max_iters: at most this many swaps; a warning is issued if the set is not yet
            dominant then.

    Returns:
        (r,) row indices, in the position order of the submatrix.
    """
    a = _matrix(a, "a")
    n, r = a.shape
    if n < r:
        raise ValueError(f"a must have at least as many rows as columns, got shape {a.shape}")
    if not tol >= 1:
        raise ValueError(f"tol must be >= 1, got {tol!r}")
    if n == r:
        return np.arange(n)
    _, piv = scipy.linalg.lu_factor(a, check_finite=False)
    index = np.arange(n)
    for i in range(r):
        index[i], index[piv[i]] = index[piv[i]], index[i]
    chosen = index[:r].copy()
    coefficients = scipy.linalg.solve(a[chosen].T, a.T, check_finite=False)  # (r, n)
    for _ in range(int(max_iters)):
        i, j = divmod(int(np.abs(coefficients).argmax()), n)
        if abs(coefficients[i, j]) <= tol:
            return chosen
        chosen[i] = j
        row = coefficients[i].copy()
        column = coefficients[:, j].copy()
        column[i] -= 1.0
        coefficients -= np.outer(column, row) / coefficients[i, j]
    largest = float(np.abs(coefficients).max())
    if largest > tol:
        warnings.warn(
            f"MaxVol stopped after max_iters={max_iters} swaps with a coefficient of "
            f"{largest:.4g} > tol={tol}: the active set is not dominant",
            RuntimeWarning,
            stacklevel=2,
        )
    return chosen


def _row_space(a: np.ndarray, rcond: float) -> np.ndarray:
    """``a`` (column-scaled to unit norm) in coordinates of its numerical row space (n, r)."""
    norms = np.linalg.norm(a, axis=0)
    c = np.ones(a.shape[1])
    np.divide(1.0, norms, out=c, where=norms > 0)
    u, s, _ = scipy.linalg.svd(a * c, full_matrices=False, check_finite=False)
    r = int(np.count_nonzero(s > rcond * s[0])) if s.size and s[0] > 0 else 0
    return u[:, :r] * s[:r]


def _greedy_volume(rows: np.ndarray) -> np.ndarray:
    """Order of ``rows`` in which each prefix has the largest volume given the one before."""
    _, _, perm = scipy.linalg.qr(rows.T, pivoting=True, mode="economic", check_finite=False)
    return perm


def _d_optimal_rank_one(g: np.ndarray, chosen: list[int], n_select: int) -> list[int]:
    """Extend ``chosen`` (spanning the rows of ``g``) greedily by ``log(1 + g_c A^-1 g_c^T)``."""
    a = g[chosen].T @ g[chosen]
    a_inv = scipy.linalg.inv(a, check_finite=False)
    a_inv = 0.5 * (a_inv + a_inv.T)
    lev = np.einsum("ij,jk,ik->i", g, a_inv, g)
    taken = np.zeros(g.shape[0], dtype=bool)
    taken[chosen] = True
    out = list(chosen)
    while len(out) < n_select:
        gains = np.where(taken, -np.inf, lev)
        s = int(np.argmax(gains))
        out.append(s)
        taken[s] = True
        w = a_inv @ g[s]
        u = g @ w
        denom = 1.0 + lev[s]
        lev = lev - u**2 / denom
        a_inv = a_inv - np.outer(w, w) / denom
    return out


def maxvol_order(
    features,
    n_select: int | None = None,
    *,
    tol: float = MAXVOL_TOL,
    max_iters: int = MAXVOL_MAX_ITERS,
    rcond: float = DEFAULT_RCOND,
) -> np.ndarray:
    """MaxVol active set of the rows ``[1, features]``, then greedy D-optimal continuation.

    The rows are scaled to unit column norm and written in their numerical row space (rank r,
    singular values above ``rcond`` times the largest; r = p + 1 for a full-rank matrix, where
    this does not change the active set). MaxVol (:func:`maxvol_rows`) chooses r
    configurations; they come first, ordered by greedy volume (each prefix spans the largest
    volume any one more of them adds). MaxVol cannot choose more rows than the rank: past r the
    order continues with the configuration that most increases ``log det`` of ``F_S^T F_S``
    (gain ``log(1 + f M^-1 f^T)``).

    Args:
        features: (M, p) per-atom energy rows (:func:`feature_rows`).
        n_select: length of the order (default: M).
        tol: MaxVol tolerance (pacemaker's 1.001).
        max_iters: MaxVol swap limit.
        rcond: relative singular-value cutoff of the rank.

    Returns:
        (n_select,) configuration indices.
    """
    x = _matrix(features)
    m = x.shape[0]
    k = _n_select(n_select, m)
    g = _row_space(np.hstack([np.ones((m, 1)), x]), rcond)
    if g.shape[1] == 0:
        return np.arange(k)
    active = maxvol_rows(g, tol=tol, max_iters=max_iters)
    active = active[_greedy_volume(g[active])]
    if k <= active.size:
        return active[:k].copy()
    return np.asarray(_d_optimal_rank_one(g, list(active), k))


# -- D-optimal over whole configurations ---------------------------------------------------------
def _weighted_rows(block, p, w_e, w_f, name) -> np.ndarray:
    x, n = check_block(block, p, name=name)
    out = np.empty((x.shape[0], x.shape[1] + 1))
    out[0, 0] = w_e
    out[0, 1:] = w_e * x[0] / n
    out[1:, 0] = 0.0
    out[1:, 1:] = w_f * x[1:]
    return out


def _gain(r: np.ndarray, rows: np.ndarray) -> float:
    """``log det(I + rows M^-1 rows^T)`` with ``M = r^T r`` (r upper triangular)."""
    if rows.shape[0] > rows.shape[1]:
        rows = r_factor(rows)
    y = scipy.linalg.solve_triangular(r, rows.T, trans="T", check_finite=False)
    inner = np.eye(y.shape[1]) + y.T @ y
    c = scipy.linalg.cholesky(inner, lower=True, check_finite=False)
    return float(2.0 * np.log(np.diag(c)).sum())


def d_optimal_order(
    blocks: Sequence | Callable[[Sequence[int]], Iterable],
    n_select: int | None = None,
    *,
    n_pool: int | None = None,
    energy_weight: float = 1.0,
    force_weight: float = 1.0,
    regularization: float = DEFAULT_REGULARIZATION,
    prior: Sequence | None = None,
) -> np.ndarray:
    """Greedy D-optimal order of configurations from their weighted descriptor rows.

    The rows of configuration m are those of the weighted fit (constant column first): the
    energy row ``w_E [1, X_m[0] / N_m]`` and the force rows ``w_F [0, X_m[1:]]``. Each step
    adds the configuration with the largest ``log det(M + X_m^T X_m) - log det(M)``, ``M`` the
    information matrix of the configurations chosen so far plus ``regularization`` times the
    diagonal of the whole pool's information matrix (so the gains do not depend on the scale of
    the columns, and are finite while fewer than p + 1 directions are spanned: then a
    configuration gains about ``log(1 / regularization)`` per new direction).

    Cost: two passes over the blocks (the pool's diagonal, the first gains), then each step
    re-reads only the blocks whose previous gain, an upper bound of the current one, is
    largest; O(k (p + 1)^2) per evaluated configuration of k rows and per chosen one (a QR
    update of the factor of ``M``). Memory: O((p + 1)^2 + M).

    Args:
        blocks: a sequence of (1 + 3 N_m, p) blocks (without virial rows), or a callable
            ``read(indices)`` returning an iterable over the blocks of those pool indices in
            that order (then ``n_pool`` is needed).
        n_select: length of the order (default: the pool size).
        n_pool: the pool size when ``blocks`` is a callable.
        energy_weight: w_E of the energy rows.
        force_weight: w_F of the force rows.
        regularization: the start of ``M`` relative to the pool's diagonal (> 0).
        prior: blocks of configurations already chosen (e.g. the current training set): their
            weighted rows are in ``M`` from the start, so the order picks what adds most to
            them. Their diagonal counts in the column scaling. None: start from nothing.

    Returns:
        (n_select,) configuration indices.
    """
    w_e, w_f = check_weights(energy_weight, force_weight)
    if not (isinstance(regularization, int | float) and np.isfinite(regularization)) or not (
        regularization > 0
    ):
        raise ValueError(f"regularization must be a finite number > 0, got {regularization!r}")
    if callable(blocks):
        if n_pool is None:
            raise ValueError("n_pool (the number of configurations) is needed with read(indices)")
        read = blocks
        m = int(n_pool)
    else:
        seq = list(blocks)
        read = lambda indices: (seq[i] for i in indices)  # noqa: E731
        m = len(seq)
    if m < 1:
        raise ValueError("blocks must contain at least one configuration, got none")
    k = _n_select(n_select, m)
    p = None
    diag = None
    for i, b in enumerate(read(range(m))):
        rows = _weighted_rows(b, p, w_e, w_f, f"blocks[{i}]")
        p = rows.shape[1] - 1
        diag = (rows**2).sum(axis=0) if diag is None else diag + (rows**2).sum(axis=0)
    prior_rows = [_weighted_rows(b, p, w_e, w_f, f"prior[{i}]") for i, b in enumerate(prior or ())]
    for rows in prior_rows:
        diag = diag + (rows**2).sum(axis=0)
    scale = np.ones(p + 1)
    np.divide(1.0, np.sqrt(diag), out=scale, where=diag > 0)
    r = np.asfortranarray(np.eye(p + 1) * np.sqrt(regularization))  # M = r^T r
    for rows in prior_rows:
        triangular_update(r, np.array(rows * scale, order="F"))

    def evaluate(indices):
        out = {}
        for i, b in zip(indices, read(list(indices)), strict=True):
            rows = _weighted_rows(b, p, w_e, w_f, f"blocks[{i}]") * scale
            if rows.shape[0] > rows.shape[1]:
                rows = r_factor(rows)
            out[i] = (_gain(r, rows), rows)
        return out

    step = 0
    heap = [(-g, i, step) for i, (g, _) in evaluate(range(m)).items()]
    heapq.heapify(heap)
    order: list[int] = []
    cache: dict = {}
    while len(order) < k:
        gain, i, stamp = heap[0]
        if stamp == step:
            heapq.heappop(heap)
            rows = cache[i] if i in cache else evaluate([i])[i][1]
            order.append(i)
            triangular_update(r, np.array(rows, order="F"))  # M += rows^T rows
            step += 1
            cache = {}
            continue
        stale = []
        while heap and heap[0][2] != step and len(stale) < _LAZY_BATCH:
            stale.append(heapq.heappop(heap)[1])
        fresh = evaluate(stale)
        for j, (g, rows) in fresh.items():
            cache[j] = rows
            heapq.heappush(heap, (-g, j, step))
    return np.asarray(order, dtype=np.int64)


# -- CUR ---------------------------------------------------------------------------------------
def _top_left_singular_weights(residual: np.ndarray, gram: np.ndarray, by_rows: bool):
    """Squares of the top left singular vector of ``residual`` from its (small) Gram matrix."""
    n = gram.shape[0]
    _, vec = scipy.linalg.eigh(gram, subset_by_index=[n - 1, n - 1], check_finite=False)
    v = vec[:, 0]
    if by_rows:  # gram = residual residual^T: v is the left singular vector
        return v**2
    u = residual @ v
    norm = np.linalg.norm(u)
    return (u / norm) ** 2 if norm > 0 else np.zeros(residual.shape[0])


def cur_order(features, n_select: int | None = None, *, tolerance: float = 1e-10) -> np.ndarray:
    """Sample CUR order as scikit-matter's ``sample_selection.CUR`` (k = 1) selects.

    Each step takes the configuration with the largest squared entry of the top left singular
    vector of the residual matrix, then projects every residual row on the orthogonal
    complement of the chosen one. After rank-many steps the residual is exhausted (no
    remaining row longer than ``tolerance`` times the longest feature row); the selection then
    starts a new round on the original rows of the configurations not yet chosen.

    Args:
        features: (M, p) feature rows (e.g. :func:`standardized` per-atom energy rows).
        n_select: length of the order (default: M).
        tolerance: relative length below which a residual row counts as zero.

    Returns:
        (n_select,) configuration indices.
    """
    x = _matrix(features)
    m, p = x.shape
    k = _n_select(n_select, m)
    longest = float(np.linalg.norm(x, axis=1).max()) if p else 0.0
    by_rows = m <= p
    taken = np.zeros(m, dtype=bool)
    order: list[int] = []
    residual = None
    while len(order) < k:
        if residual is not None:
            lengths = np.linalg.norm(residual[~taken], axis=1)
        if residual is None or not lengths.size or lengths.max() <= tolerance * longest:
            residual = np.where(taken[:, None], 0.0, x)  # a new round
            gram = residual @ residual.T if by_rows else residual.T @ residual
            if not np.any(residual) or longest == 0:
                order.extend(np.flatnonzero(~taken)[: k - len(order)].tolist())
                break
        weights = _top_left_singular_weights(residual, gram, by_rows)
        weights[taken] = -np.inf
        i = int(np.argmax(weights))
        order.append(i)
        taken[i] = True
        v = residual[i] / np.linalg.norm(residual[i])
        w = residual @ v
        residual -= np.outer(w, v)
        if by_rows:
            gram = residual @ residual.T
        else:
            gv = gram @ v
            gram = gram - np.outer(gv, v) - np.outer(v, gv) + (v @ gv) * np.outer(v, v)
    return np.asarray(order[:k], dtype=np.int64)


# -- FPS ---------------------------------------------------------------------------------------
def fps_order(features, n_select: int | None = None, *, first: int | None = None) -> np.ndarray:
    """Farthest-point sampling order (Euclidean distance between feature rows).

    Each step takes the configuration farthest from its nearest chosen one (ties: the lowest
    index).

    Args:
        features: (M, p) feature rows (e.g. :func:`standardized` per-atom energy rows).
        n_select: length of the order (default: M).
        first: index of the first configuration (default: the one farthest from the mean row).

    Returns:
        (n_select,) configuration indices.
    """
    x = _matrix(features)
    m = x.shape[0]
    k = _n_select(n_select, m)
    start = _first(first, m)
    if start is None:
        start = int(np.argmax(((x - x.mean(axis=0)) ** 2).sum(axis=1)))
    order = [start]
    nearest = ((x - x[start]) ** 2).sum(axis=1)
    nearest[start] = -np.inf
    for _ in range(k - 1):
        i = int(np.argmax(nearest))
        order.append(i)
        np.minimum(nearest, ((x - x[i]) ** 2).sum(axis=1), out=nearest)
        nearest[order] = -np.inf
    return np.asarray(order, dtype=np.int64)


# -- dataset entropy (QUESTS) ------------------------------------------------------------------
def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def _check_bandwidth(bandwidth) -> float:
    if (
        isinstance(bandwidth, bool)
        or not isinstance(bandwidth, int | float | np.floating)
        or not np.isfinite(bandwidth)
        or bandwidth <= 0
    ):
        raise ValueError(f"bandwidth must be a finite number > 0, got {bandwidth!r}")
    return float(bandwidth)


def dataset_entropy(features, bandwidth: float) -> float:
    """Information entropy of a set of rows as QUESTS defines it (nats).

    ``H = -1/n sum_i log(1/n sum_j exp(-|x_i - x_j|^2 / (2 h^2)))``: the mean negative log of a
    Gaussian kernel density estimate at each row. It is ``log n`` for rows far apart and 0 for
    identical ones.

    Args:
        features: (n, p) rows.
        bandwidth: kernel width h, in the units of the rows.
    """
    x = _matrix(features)
    h = _check_bandwidth(bandwidth)
    n = x.shape[0]
    total = np.zeros(n)
    for start in range(0, n, 2048):
        d = _squared_distances(x[start : start + 2048], x)
        total[start : start + 2048] = np.exp(-0.5 * d / h**2).sum(axis=1)
    return float(-np.mean(np.log(total / n)))


def default_bandwidth(features) -> float:
    """Median distance of a row to its nearest other row.

    The kernel width at which a typical row sees its nearest neighbour with weight
    ``exp(-1/2)``. Where more than half of the rows coincide, the median over the positive
    distances; 1.0 where all rows coincide.
    """
    x = _matrix(features)
    n = x.shape[0]
    if n < 2:
        return 1.0
    nearest = np.empty(n)
    for start in range(0, n, 2048):
        d = _squared_distances(x[start : start + 2048], x)
        rows = np.arange(start, min(start + 2048, n))
        d[rows - start, rows] = np.inf
        nearest[rows] = d.min(axis=1)
    nearest = np.sqrt(nearest)
    h = float(np.median(nearest))
    if h > 0:
        return h
    positive = nearest[nearest > 0]
    return float(np.median(positive)) if positive.size else 1.0


def entropy_order(
    features,
    n_select: int | None = None,
    *,
    bandwidth: float | None = None,
    first: int | None = None,
) -> np.ndarray:
    """Greedy order that maximises the dataset entropy (:func:`dataset_entropy`) of each prefix.

    Each step adds the configuration whose row gives the chosen set the largest entropy (ties:
    the lowest index). Cost O(M p) per step for the kernel row of the chosen configuration plus
    O(k M) for the candidates' entropies at subset size k, and O(M^2 p) once for the defaults;
    memory O(n_select M).

    Args:
        features: (M, p) feature rows (e.g. :func:`standardized` per-atom energy rows).
        n_select: length of the order (default: M).
        bandwidth: kernel width h (default: :func:`default_bandwidth` of ``features``).
        first: index of the first configuration (default: the one of largest kernel density
            in the pool, the most typical).

    Returns:
        (n_select,) configuration indices.
    """
    x = _matrix(features)
    m = x.shape[0]
    k = _n_select(n_select, m)
    h = default_bandwidth(x) if bandwidth is None else _check_bandwidth(bandwidth)
    start = _first(first, m)
    if start is None:
        density = np.zeros(m)
        for s in range(0, m, 2048):
            density[s : s + 2048] = np.exp(
                -0.5 * _squared_distances(x[s : s + 2048], x) / h**2
            ).sum(axis=1)
        start = int(np.argmax(density))
    kernel = np.empty((k, m))  # kernel[t] = K(x_order[t], every row)
    order = [start]
    taken = np.zeros(m, dtype=bool)
    taken[start] = True
    kernel[0] = np.exp(-0.5 * ((x - x[start]) ** 2).sum(axis=1) / h**2)
    own = np.array([1.0])  # sum over the chosen set of K(chosen t, chosen)
    for t in range(1, k):
        chosen_rows = kernel[:t]
        to_chosen = chosen_rows.sum(axis=0)  # sum over chosen of K(candidate, chosen)
        score = np.log(own[:, None] + chosen_rows).sum(axis=0) + np.log(1.0 + to_chosen)
        score[taken] = np.inf
        i = int(np.argmin(score))
        order.append(i)
        taken[i] = True
        kernel[t] = np.exp(-0.5 * ((x - x[i]) ** 2).sum(axis=1) / h**2)
        own = np.append(own + chosen_rows[:, i], 1.0 + to_chosen[i])
    return np.asarray(order, dtype=np.int64)
