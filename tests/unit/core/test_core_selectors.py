"""Label-free selectors against independent references: brute-force determinants (numpy) for
MaxVol and the D-optimal order, a brute-force farthest-point loop and scikit-matter's FPS, and
scikit-matter's CUR, and QUESTS for the dataset entropy."""

import itertools
import warnings

import numpy as np
import pytest

from pyiron_appmlip.core import (
    SAMPLERS,
    SELECTORS,
    cur_order,
    d_optimal_order,
    dataset_entropy,
    entropy_order,
    feature_rows,
    fps_order,
    maxvol_order,
    maxvol_rows,
    repeated_orders,
    sample_subset,
    sampling_order,
    standardized,
)
from pyiron_appmlip.core.selectors import default_bandwidth

skmatter_selection = pytest.importorskip("skmatter.sample_selection")
quests_entropy = pytest.importorskip("quests.entropy")


def _features(m=40, p=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, p)) * rng.uniform(0.5, 3.0, p) + rng.normal(size=p)


def _blocks(m=25, p=7, max_atoms=3, seed=1):
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.1, 10.0, p)  # badly scaled columns, as real descriptors
    out = []
    for _ in range(m):
        n = int(rng.integers(1, max_atoms + 1))
        out.append(rng.normal(size=(1 + 3 * n, p)) * scales)
    return out


def _weighted_rows(block, w_e, w_f):
    n = (block.shape[0] - 1) // 3
    energy = w_e * np.r_[1.0, block[0] / n]
    forces = w_f * np.c_[np.zeros(3 * n), block[1:]]
    return np.vstack([energy, forces])


def _logdet(matrix):
    sign, value = np.linalg.slogdet(matrix)
    return value if sign > 0 else -np.inf


# -- FPS -----------------------------------------------------------------------------------------
def _brute_fps(x, k, first):
    m = len(x)
    dist = np.array([[np.sqrt(np.sum((x[i] - x[j]) ** 2)) for j in range(m)] for i in range(m)])
    chosen = [first]
    while len(chosen) < k:
        best, best_d = None, -1.0
        for c in range(m):
            if c in chosen:
                continue
            d = min(dist[c, s] for s in chosen)
            if d > best_d:
                best, best_d = c, d
        chosen.append(best)
    return chosen


@pytest.mark.parametrize("first", [0, 7, 23])
def test_fps_equals_brute_force_loop_and_skmatter(first):
    x = _features()
    order = fps_order(x, 20, first=first)
    assert order.tolist() == _brute_fps(x, 20, first)
    sk = skmatter_selection.FPS(n_to_select=20, initialize=first).fit(x).selected_idx_
    assert order.tolist() == sk.tolist()


def test_fps_default_first_point_is_farthest_from_the_mean_and_full_order_is_a_permutation():
    x = _features(m=30)
    far = max(range(30), key=lambda i: np.sum((x[i] - x.mean(axis=0)) ** 2))
    order = fps_order(x)
    assert order[0] == far
    assert sorted(order.tolist()) == list(range(30))
    assert order[:12].tolist() == _brute_fps(x, 12, far)


# -- CUR -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(40, 6), (12, 30)])
def test_cur_equals_skmatter_sample_cur(shape):
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape) * rng.uniform(0.5, 3.0, shape[1])
    k = min(shape) - 1
    ours = cur_order(x, k)
    sk = skmatter_selection.CUR(n_to_select=k).fit(x).selected_idx_
    assert ours.tolist() == sk.tolist()


def test_cur_past_the_rank_starts_a_new_round_on_the_remaining_rows():
    x = standardized(_features(m=20, p=4))  # rank 4 (centred columns of 20 rows)
    order = cur_order(x)
    assert sorted(order.tolist()) == list(range(20))
    first_round = order[:4].tolist()
    assert first_round == skmatter_selection.CUR(n_to_select=4).fit(x).selected_idx_.tolist()
    rest = [i for i in range(20) if i not in first_round]
    second = skmatter_selection.CUR(n_to_select=4).fit(x[rest]).selected_idx_
    assert order[4:8].tolist() == [rest[i] for i in second]


# -- MaxVol --------------------------------------------------------------------------------------
def test_maxvol_active_set_is_dominant_by_brute_force_determinants():
    x = _features(m=30, p=5)
    f = np.hstack([np.ones((30, 1)), x])
    active = maxvol_rows(f)
    assert len(set(active.tolist())) == 6
    base = abs(np.linalg.det(f[active]))
    ratios = []
    for j, i in itertools.product(range(6), range(30)):
        if i in active:
            continue
        swapped = active.copy()
        swapped[j] = i
        ratios.append(abs(np.linalg.det(f[swapped])) / base)
    assert max(ratios) <= 1.001 + 1e-9  # no single swap grows the volume by more than tol
    # the LU start alone is not dominant here: the swaps did work
    with pytest.warns(RuntimeWarning, match="not dominant"):
        start = maxvol_rows(f, max_iters=0)
    assert abs(np.linalg.det(f[start])) < base


def test_maxvol_order_active_set_then_greedy_log_det_by_brute_force():
    m, p = 30, 5
    x = _features(m=m, p=p, seed=3)
    f = np.hstack([np.ones((m, 1)), x])
    order = maxvol_order(x, 18)
    assert len(set(order.tolist())) == 18
    active = order[: p + 1]
    base = abs(np.linalg.det(f[active]))
    for j, i in itertools.product(range(p + 1), range(m)):  # dominant in the raw rows too
        if i not in active:
            swapped = active.copy()
            swapped[j] = i
            assert abs(np.linalg.det(f[swapped])) <= (1.001 + 1e-9) * base
    # inside the active set: greedy volume of the column-scaled rows
    g = f / np.linalg.norm(f, axis=0)
    for t in range(1, p + 1):
        chosen = list(active[:t])
        vols = {c: _logdet(g[chosen + [c]] @ g[chosen + [c]].T) for c in active[t:]}
        assert active[t] == max(vols, key=vols.get)
    # past the number of columns: each step is the argmax of the brute-force log det
    for t in range(p + 1, 18):
        chosen = list(order[:t])
        gains = {
            c: _logdet(f[chosen].T @ f[chosen] + np.outer(f[c], f[c]))
            for c in range(m)
            if c not in chosen
        }
        assert order[t] == max(gains, key=gains.get)


def test_maxvol_on_rank_deficient_rows_chooses_rank_many_then_continues():
    x = _features(m=25, p=4, seed=4)
    x = np.hstack([x, 2.0 * x[:, :1] - x[:, 1:2]])  # a dependent column: rank 5 with constant
    f = np.hstack([np.ones((25, 1)), x])
    assert np.linalg.matrix_rank(f) == 5
    order = maxvol_order(x)
    assert sorted(order.tolist()) == list(range(25))
    assert np.linalg.matrix_rank(f[order[:5]]) == 5
    basis = f[:, :5]  # independent columns spanning the same row space
    for t in range(5, 10):
        chosen = list(order[:t])
        gains = {
            c: _logdet(basis[chosen].T @ basis[chosen] + np.outer(basis[c], basis[c]))
            for c in range(25)
            if c not in chosen
        }
        assert order[t] == max(gains, key=gains.get)


# -- D-optimal -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "p, max_atoms, w_e, w_f",
    [(7, 3, 5.0, 1.0), (20, 1, 150.0, 1.0)],  # second: p + 1 > rows of several blocks
)
def test_d_optimal_each_step_is_the_brute_force_log_det_argmax(p, max_atoms, w_e, w_f):
    blocks = _blocks(m=20, p=p, max_atoms=max_atoms)
    rows = [_weighted_rows(b, w_e, w_f) for b in blocks]
    delta = 1e-8
    info = delta * np.diag(sum((r**2).sum(axis=0) for r in rows))
    order = d_optimal_order(blocks, 14, energy_weight=w_e, force_weight=w_f, regularization=delta)
    assert len(set(order.tolist())) == 14
    for t, c in enumerate(order):
        values = {j: _logdet(info + rows[j].T @ rows[j]) for j in range(20) if j not in order[:t]}
        assert c == max(values, key=values.get)
        info = info + rows[c].T @ rows[c]


def test_d_optimal_with_a_prior_training_set_is_the_brute_force_argmax_against_it():
    blocks = _blocks(m=16, p=6, max_atoms=2, seed=3)
    prior = _blocks(m=9, p=6, max_atoms=2, seed=11)
    w_e, w_f, delta = 12.0, 1.0, 1e-8
    rows = [_weighted_rows(b, w_e, w_f) for b in blocks]
    known = [_weighted_rows(b, w_e, w_f) for b in prior]
    diag = sum((r**2).sum(axis=0) for r in rows + known)
    info = delta * np.diag(diag) + sum(r.T @ r for r in known)
    order = d_optimal_order(
        blocks, 6, energy_weight=w_e, force_weight=w_f, regularization=delta, prior=prior
    )
    for t, c in enumerate(order):
        values = {j: _logdet(info + rows[j].T @ rows[j]) for j in range(16) if j not in order[:t]}
        assert c == max(values, key=values.get)
        info = info + rows[c].T @ rows[c]
    # the prior changes the choice: a copy of a prior configuration in the pool adds little
    pool = [prior[0], *blocks[:5]]
    against = d_optimal_order(pool, 6, energy_weight=w_e, regularization=delta, prior=prior)
    assert against[-1] == 0  # the duplicate of a training configuration comes last


def test_d_optimal_streamed_reader_reads_lazily_and_gives_the_same_order():
    blocks = _blocks(m=30, p=6, max_atoms=2, seed=8)
    reads = []

    def read(indices):
        for i in indices:
            reads.append(i)
            yield blocks[i]

    order = d_optimal_order(read, 10, n_pool=30, energy_weight=12.0, force_weight=1.0)
    assert np.array_equal(order, d_optimal_order(blocks, 10, energy_weight=12.0))
    # two passes over the pool, then far fewer reads than a pass per chosen configuration
    assert len(reads) < 2 * 30 + 9 * 30
    assert reads[:60] == list(range(30)) * 2


# -- entropy (QUESTS) ----------------------------------------------------------------------------
@pytest.mark.parametrize("h", [0.3, 1.0, 4.0])
def test_dataset_entropy_equals_quests(h):
    x = standardized(_features(m=50, p=5, seed=2))
    assert dataset_entropy(x, h) == pytest.approx(quests_entropy.entropy(x, h=h), rel=1e-9)


@pytest.mark.parametrize("width", [1.0, 2.0])
def test_entropy_order_each_step_maximises_quests_entropy(width):
    x = standardized(_features(m=30, p=4, seed=1))
    h = default_bandwidth(x)
    nearest = [min(np.linalg.norm(x[i] - x[j]) for j in range(30) if j != i) for i in range(30)]
    assert h == pytest.approx(np.median(nearest), rel=1e-9)
    h *= width
    order = entropy_order(x, 20, bandwidth=h)
    density = [sum(np.exp(-np.sum((x[i] - x[j]) ** 2) / (2 * h * h)) for j in range(30)) for i in
               range(30)]  # fmt: skip
    assert order[0] == int(np.argmax(density))
    for t in range(1, 20):
        chosen = list(order[:t])
        values = {
            c: quests_entropy.entropy(x[chosen + [c]], h=h) for c in range(30) if c not in chosen
        }
        assert order[t] == max(values, key=values.get)
    assert entropy_order(x, 5, first=9)[0] == 9


# -- features and the sampler names --------------------------------------------------------------
def test_feature_rows_are_per_atom_energy_rows():
    blocks = _blocks(m=6, p=4)
    want = np.array([b[0] / ((b.shape[0] - 1) // 3) for b in blocks])
    np.testing.assert_allclose(feature_rows(iter(blocks)), want, rtol=1e-15)
    z = standardized(np.hstack([want, np.full((6, 1), 3.0)]))  # the constant column is dropped
    assert z.shape == (6, 4)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-12)


def test_sampling_order_names_every_selector():
    blocks = _blocks(m=24, p=5)
    x = feature_rows(blocks)
    z = standardized(x)
    assert set(SELECTORS) <= set(SAMPLERS)
    want = {
        "maxvol": maxvol_order(x, 10),
        "d_optimal": d_optimal_order(blocks, 10, energy_weight=5.0, force_weight=2.0),
        "cur": cur_order(z, 10),
        "fps": fps_order(z, 10),
        "entropy": entropy_order(z, 10),
    }
    for name, order in want.items():
        got = sampling_order(name, features=x, blocks=blocks, weights=(5.0, 2.0), n_select=10)
        assert got.tolist() == order.tolist(), name
        subset = sample_subset(name, 6, features=x, blocks=blocks, weights=(5.0, 2.0))
        assert subset.tolist() == order[:6].tolist(), name


def test_repetitions_of_deterministic_and_first_point_selectors():
    x = feature_rows(_blocks(m=24, p=5))
    z = standardized(x)
    with pytest.warns(UserWarning, match="deterministic"):
        reps = repeated_orders("cur", 3, features=x, seed=4)
    assert reps.shape == (3, 24) and np.array_equal(reps[0], reps[2])
    assert reps[0].tolist() == cur_order(z).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = repeated_orders("maxvol", 1, features=x, n_select=5)
    assert one.shape == (1, 5)
    for name, fn in (("fps", fps_order), ("entropy", entropy_order)):
        reps = repeated_orders(name, 3, features=x, seed=4, n_select=8)
        assert reps[0].tolist() == fn(z, 8).tolist()  # repetition 0: the deterministic start
        children = np.random.SeedSequence(4).spawn(3)
        for r in (1, 2):
            first = int(np.random.default_rng(children[r]).integers(24))
            assert reps[r].tolist() == fn(z, 8, first=first).tolist()
        assert np.array_equal(repeated_orders(name, 2, features=x, seed=4, n_select=8), reps[:2])


def test_selector_bad_input_is_named():
    x = _features(m=10, p=3)
    blocks = _blocks(m=10, p=3)
    with pytest.raises(ValueError, match=r"sampler must be one of .*'maxvol'.*'entropy'"):
        sampling_order("kmeans", features=x)
    with pytest.raises(ValueError, match=r"n_select=11 cannot be delivered.*allowed: 1\.\.10"):
        fps_order(x, 11)
    for name in ("maxvol", "cur", "entropy"):
        with pytest.raises(ValueError, match="n_select=11 cannot be delivered"):
            sampling_order(name, features=x, n_select=11)
    with pytest.raises(ValueError, match="n_select=11 cannot be delivered"):
        d_optimal_order(blocks, 11)
    with pytest.raises(ValueError, match="subset_size=11 is larger than the pool of 10"):
        sample_subset("fps", 11, features=x)
    with pytest.raises(ValueError, match=r"sampler='fps' needs the per-configuration feature"):
        sampling_order("fps", 10)
    with pytest.raises(ValueError, match='"d_optimal" needs the descriptor blocks'):
        sampling_order("d_optimal", features=x)
    with pytest.raises(ValueError, match="n_pool .* is needed"):
        d_optimal_order(lambda idx: (blocks[i] for i in idx), 3)
    with pytest.raises(ValueError, match="regularization must be a finite number > 0"):
        d_optimal_order(blocks, 3, regularization=0.0)
    with pytest.raises(ValueError, match="energy_weight"):
        d_optimal_order(blocks, 3, energy_weight=-1.0)
    with pytest.raises(ValueError, match="bandwidth must be a finite number > 0"):
        entropy_order(x, 3, bandwidth=-0.1)
    with pytest.raises(ValueError, match=r"first must be a configuration index in \[0, 10\)"):
        fps_order(x, 3, first=10)
    with pytest.raises(ValueError, match="features has 10 rows but n_pool is 12"):
        sampling_order("cur", 12, features=x)
    with pytest.raises(ValueError, match="features must be a 2-D array"):
        sampling_order("fps", features=np.ones(5))
    with pytest.raises(ValueError, match="at least as many rows as columns"):
        maxvol_rows(np.ones((2, 3)))
    with pytest.raises(ValueError, match="blocks\\[1\\] must have 1 \\+ 3 N rows"):
        feature_rows([blocks[0], np.ones((3, 3))])


def test_identical_feature_rows_still_give_an_order():
    x = np.ones((5, 3))
    for name in ("maxvol", "cur", "fps", "entropy"):
        order = sampling_order(name, features=x)
        assert sorted(order.tolist()) == list(range(5)), name
