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
        # with other sizes its statistics may be built from a shared part: equal up to rounding
        np.testing.assert_allclose(r["coefficients"], twelve[key(r)]["coefficients"], rtol=1e-12)


def test_conventions_are_recorded_only_when_not_the_default():
    assert "draws" not in SweepGrid(["1"], [4], [150]).to_dict()
    d = SweepGrid(["1"], [4], [150], draws="independent", fit_convention="authors").to_dict()
    assert (d["draws"], d["fit_convention"]) == ("independent", "authors")
    with pytest.raises(ValueError, match=r"draws must be one of \('nested', 'independent'\)"):
        SweepGrid(["1"], [4], [150], draws="fresh")
    with pytest.raises(ValueError, match="fit_convention must be one of"):
        SweepGrid(["1"], [4], [150], fit_convention="fitsnap")


class CountingBlocks(InMemoryBlocks):
    """In-memory blocks that count how many blocks the sweep reads."""

    def __init__(self, blocks):
        super().__init__(blocks)
        self.reads = 0

    def iter_blocks(self, ids):
        for b in super().iter_blocks(ids):
            self.reads += 1
            yield b


def _reads(grid, n=40):
    ids, blocks, labels = _data(n)
    source = CountingBlocks(blocks)
    units = []
    rows = run_sweep(
        {4: source},
        {"1": labels},
        ids[:30],
        ids[30:],
        grid,
        "1",
        on_unit_done=lambda unit, unit_rows: units.append((unit, len(unit_rows))),
    )
    return rows, source.reads, units, blocks, labels


@pytest.mark.parametrize("draws", ["nested", "independent"])
def test_the_whole_pool_is_fitted_once_for_every_unit_and_equals_dense_lstsq(draws):
    kw = {"samplers": ["leverage", "random"], "repetitions": 3, "draws": draws}
    rows, reads, units, blocks, labels = _reads(SweepGrid(["1"], [8, 12, 30], [150.0, 5.0], **kw))
    _, reads_without, _, _, _ = _reads(SweepGrid(["1"], [8, 12], [150.0, 5.0], **kw))
    # 30 is the whole pool: one pass over it serves the six units (each unit would read it once)
    assert reads - reads_without == 30
    assert len(rows) == 6 * 3 * 2
    # every unit's rows reach on_unit_done: its own sizes, then its share of the pool fits
    per_unit = {}
    for unit, n_rows in units:
        per_unit[unit] = per_unit.get(unit, 0) + n_rows
    assert sorted(per_unit.values()) == [6] * 6
    whole = [r for r in rows if r["subset_size"] == 30]
    assert len(whole) == 12
    for r in whole:
        assert sorted(r["training_ids"]) == sorted(f"c{k:03d}" for k in range(30))
        same = next(x for x in whole if x["weight_ratio"] == r["weight_ratio"])
        np.testing.assert_array_equal(r["coefficients"], same["coefficients"])
    for r in rows:  # each row against its own training set, pool size included
        ref = _dense(r["training_ids"], blocks, labels, r["weight_ratio"], False)
        np.testing.assert_allclose(r["coefficients"], ref, rtol=1e-8, atol=1e-10)


def test_the_whole_pool_is_fitted_in_each_unit_where_that_reads_less():
    # nested orders that stop one configuration short of the pool: one more pass over the
    # whole pool would read more than the two units' last configurations
    kw = {"samplers": ["random"], "repetitions": 2}
    _, reads, _, _, _ = _reads(SweepGrid(["1"], [8, 29, 30], [150.0], **kw))
    _, reads_without, _, _, _ = _reads(SweepGrid(["1"], [8, 29], [150.0], **kw))
    assert reads - reads_without == 2


def test_the_all_sampler_unit_serves_the_pool_size_of_the_others_at_no_extra_read():
    kw = {"samplers": ["leverage", "all"], "repetitions": 2}
    rows, reads, _, _, _ = _reads(SweepGrid(["1"], [8, 30], [150.0], **kw))
    _, reads_without, _, _, _ = _reads(SweepGrid(["1"], [8], [150.0], **kw))
    assert reads == reads_without
    whole = [r for r in rows if r["subset_size"] == 30]
    assert sorted(r["sampler"] for r in whole) == ["all", "leverage", "leverage"]
    for r in whole:
        np.testing.assert_array_equal(r["coefficients"], whole[0]["coefficients"])


def test_independent_draws_of_nearby_sizes_are_built_from_each_other():
    # fresh draws of 12 ... 28 of 30 configurations share most of them: the unit reads far
    # fewer than one pass per size (85), and never fewer than the configurations it uses
    kw = {"samplers": ["random"], "repetitions": 1, "draws": "independent"}
    rows, reads, _, blocks, labels = _reads(SweepGrid(["1"], [12, 20, 25, 28], [150.0], **kw))
    used = set().union(*(r["training_ids"] for r in rows))
    n_test = 10
    assert len(used) <= reads - n_test <= 85 - 30
    for r in rows:
        ref = _dense(r["training_ids"], blocks, labels, r["weight_ratio"], False)
        np.testing.assert_allclose(r["coefficients"], ref, rtol=1e-8, atol=1e-10)
