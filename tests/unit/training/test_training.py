import numpy as np
import pytest

from pyiron_appmlip.training.labels import Labels, parse_weights, split_by_configuration
from pyiron_appmlip.training.sweep import fit_table
from pyiron_appmlip.training.table import COLUMN_NAMES


def test_parse_weights():
    assert parse_weights(150) == [(150.0, 1.0)]
    assert parse_weights([150, 12]) == [(150.0, 1.0), (12.0, 1.0)]
    assert parse_weights((150, 12)) == [(150.0, 12.0)]
    assert parse_weights([(1, 2), 5]) == [(1.0, 2.0), (5.0, 1.0)]
    for bad in (0, -1, [0.0], [(1, -1)], [], None, [np.nan], ["a"]):
        with pytest.raises(ValueError, match="weights"):
            parse_weights(bad)


def test_split_is_seeded_stable_and_disjoint():
    ids = [f"id{i}" for i in range(40)]
    train, test = split_by_configuration(ids, 0.25, seed=1)
    assert len(test) == 10 and not set(train) & set(test) and set(train) | set(test) == set(ids)
    assert split_by_configuration(ids, 0.25, seed=1) == (train, test)
    assert split_by_configuration(ids, 0.25, seed=2) != (train, test)
    # adding configurations never moves existing ones to the other side
    train2, test2 = split_by_configuration(ids + [f"new{i}" for i in range(10)], 0.25, seed=1)
    assert set(test) <= set(test2) or set(train) <= set(train2)
    assert not (set(train) & set(test2)) and not (set(test) & set(train2))
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_configuration(ids, 1.5)
    with pytest.raises(ValueError, match="at least 2"):
        split_by_configuration(["a"])


def test_fit_table_rows_and_independent_lstsq():
    import scipy.linalg

    rng = np.random.default_rng(0)
    p = 4
    blocks, e1, f1 = {}, {}, {}
    for k in range(20):
        n = int(rng.integers(1, 4))
        blocks[f"c{k}"] = rng.normal(size=(1 + 3 * n, p))
        e1[f"c{k}"] = rng.normal()
        f1[f"c{k}"] = rng.normal(size=(n, 3))
    lab = Labels(e1, f1)
    ids = sorted(blocks)
    train, test = ids[:15], ids[15:]
    rows = fit_table(blocks, {1: lab}, train, test, [150, 12])
    coefs = [r["coefficients"] for r in rows]
    assert sorted(r["weight_ratio"] for r in rows) == [12.0, 150.0]
    assert all(list(r)[: len(COLUMN_NAMES)] == list(COLUMN_NAMES) for r in rows)
    assert all(r["subset_size"] == 15 and r["sampler"] == "all" for r in rows)
    assert all(set(r["training_ids"]) == set(train) for r in rows)
    rows = sorted(rows, key=lambda r: -r["weight_ratio"])
    coefs = [r["coefficients"] for r in rows]
    # independent weighted lstsq on the explicit matrix (eq. 2-3)
    w_e, w_f = 12.0, 1.0
    a, y = [], []
    for i in train:
        b, n = blocks[i], len(f1[i])
        a.append(np.r_[n, b[0]] * w_e / n)
        y.append(e1[i] * w_e / n)
        for r, f in zip(b[1:], f1[i].ravel(), strict=True):
            a.append(np.r_[0.0, r] * w_f)
            y.append(f * w_f)
    ref = scipy.linalg.lstsq(np.array(a), np.array(y))[0]
    assert np.allclose(coefs[1], ref, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="truth_level"):
        fit_table(blocks, {1: lab}, train, test, [150], truth_level=6)
