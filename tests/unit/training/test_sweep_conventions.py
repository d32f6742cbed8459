"""The paper authors' conventions as sweep options: independent draws per subset size and their
fit (no constant column, ``lstsq(cond=1e-13)``), each checked against a dense
``scipy.linalg.lstsq`` on the rows' own training configurations (no engines)."""

import os
import sys

import numpy as np
import pytest
import scipy.linalg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "core"))
from test_core_synthetic import naive_fit, weighted_system  # noqa: E402

from pyiron_appmlip.training.labels import Labels  # noqa: E402
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep  # noqa: E402


def _data(n=40, p=5, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"c{k:03d}" for k in range(n)]
    blocks, energies, forces = {}, {}, {}
    beta = rng.normal(size=p)
    for i in ids:
        n_atoms = int(rng.integers(1, 4))
        b = rng.normal(size=(1 + 3 * n_atoms, p)) * np.geomspace(1, 30, p)
        blocks[i] = b
        energies[i] = float(b[0] @ beta + 0.3 * n_atoms + rng.normal(scale=0.05))
        forces[i] = (b[1:] @ beta + rng.normal(scale=0.05, size=3 * n_atoms)).reshape(-1, 3)
    return ids, blocks, Labels(energies, forces)


def _sweep(grid, n=40):
    ids, blocks, labels = _data(n)
    rows = run_sweep({4: InMemoryBlocks(blocks)}, {"1": labels}, ids[:30], ids[30:], grid, "1")
    return rows, blocks, labels


def _dense(rows_ids, blocks, labels, w, authors):
    bl = [blocks[i] for i in rows_ids]
    e = [labels.energies[i] for i in rows_ids]
    f = [labels.forces[i] for i in rows_ids]
    if authors:
        a, y = weighted_system(bl, e, f, w, 1.0)
        return np.r_[0.0, scipy.linalg.lstsq(a[:, 1:], y, cond=1e-13)[0]]
    return naive_fit(bl, e, f, w, 1.0, rcond=1e-10)[0]


@pytest.mark.parametrize("draws", ["nested", "independent"])
@pytest.mark.parametrize("convention", ["package", "authors"])
def test_every_row_equals_dense_lstsq_on_its_training_ids(draws, convention):
    grid = SweepGrid(
        ["1"],
        [8, 12, 20],
        [150.0, 5.0],
        samplers=["leverage", "random", "all"],
        repetitions=3,
        draws=draws,
        fit_convention=convention,
    )
    rows, blocks, labels = _sweep(grid)
    assert len(rows) == (2 * 3 * 3 + 1) * 2
    for row in rows:
        ref = _dense(
            row["training_ids"], blocks, labels, row["weight_ratio"], convention == "authors"
        )
        np.testing.assert_allclose(row["coefficients"], ref, rtol=1e-8, atol=1e-10)
    by = {(r["sampler"], r["repetition"], r["subset_size"]): r["training_ids"] for r in rows}
    prefixes = [
        by[(s, k, 8)] == by[(s, k, 12)][:8] for s in ("leverage", "random") for k in range(3)
    ]
    if draws == "nested":
        assert all(prefixes)
    else:
        assert not any(prefixes)  # six fresh draws, none a prefix of the larger one


def test_independent_draws_do_not_depend_on_the_other_sizes():
    kw = {"samplers": ["leverage", "random"], "repetitions": 2, "draws": "independent"}
    a, _, _ = _sweep(SweepGrid(["1"], [8, 12, 20], [150.0], **kw))
    b, _, _ = _sweep(SweepGrid(["1"], [12], [150.0], **kw))
    key = lambda r: (r["sampler"], r["repetition"], r["subset_size"])  # noqa: E731
    twelve = {key(r): r for r in a if r["subset_size"] == 12}
    assert len(b) == len(twelve) == 4
    for r in b:
        assert r["training_ids"] == twelve[key(r)]["training_ids"]
        np.testing.assert_array_equal(r["coefficients"], twelve[key(r)]["coefficients"])


def test_conventions_are_recorded_only_when_not_the_default():
    assert "draws" not in SweepGrid(["1"], [4], [150]).to_dict()
    d = SweepGrid(["1"], [4], [150], draws="independent", fit_convention="authors").to_dict()
    assert (d["draws"], d["fit_convention"]) == ("independent", "authors")
    with pytest.raises(ValueError, match=r"draws must be one of \('nested', 'independent'\)"):
        SweepGrid(["1"], [4], [150], draws="fresh")
    with pytest.raises(ValueError, match="fit_convention must be one of"):
        SweepGrid(["1"], [4], [150], fit_convention="fitsnap")
