"""Test statistics and leverage scores kept between run_sweep calls (``reuse``): the rows equal
those of calls without it, later calls read fewer blocks, and a call that differs in what they
depend on computes its own."""

import numpy as np
import pytest

from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep


class CountingBlocks(InMemoryBlocks):
    """In-memory blocks that count how often each configuration is read."""

    def __init__(self, blocks):
        super().__init__(blocks)
        self.reads: dict = {}

    def iter_blocks(self, ids):
        for i in ids:
            self.reads[i] = self.reads.get(i, 0) + 1
        yield from super().iter_blocks(ids)


def _data(m=36, p=4, seed=0):
    rng = np.random.default_rng(seed)
    blocks, labels = {}, {lv: ({}, {}) for lv in ("1", "2")}
    beta = rng.normal(size=p)
    for k in range(m):
        n = int(rng.integers(1, 4))
        b = rng.normal(size=(1 + 3 * n, p))
        b[0] *= n
        cid = f"c{k:02d}"
        blocks[cid] = b
        for j, lv in enumerate(("1", "2")):
            labels[lv][0][cid] = b[0] @ beta + (0.2 + j) * rng.normal() * n
            labels[lv][1][cid] = (b[1:] @ beta).reshape(n, 3) + 0.3 * rng.normal(size=(n, 3))
    return blocks, {lv: Labels(e, f, {i: 1.0 for i in e}) for lv, (e, f) in labels.items()}


def _grids():
    kw = {"repetitions": 2, "draws": "independent"}
    return [
        SweepGrid(["1", "2"], [10, 16], [(30.0, 1.0)], samplers=["leverage"], **kw),
        SweepGrid(["1", "2"], [12], [(5.0, 1.0), (150.0, 1.0)], samplers=["leverage"], **kw),
    ]


def _key(row):
    return (row["sampler"], row["repetition"], row["subset_size"], row["energy_weight"])


@pytest.mark.parametrize("engine", ["units", "scatter"])
def test_rows_with_reuse_equal_rows_without_and_later_grids_read_less(engine):
    blocks, labels = _data()
    ids = sorted(blocks)
    train, test = ids[:24], ids[24:]
    reuse: dict = {}
    shared = CountingBlocks(blocks)
    with_reuse, plain, reads = [], [], []
    for grid in _grids():
        before = dict(shared.reads)
        with_reuse += run_sweep({4: shared}, labels, train, test, grid, "2", engine=engine,
                                reuse=reuse)  # fmt: skip
        reads.append({i: shared.reads.get(i, 0) - before.get(i, 0) for i in ids})
        plain += run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, grid, "2",
                           engine=engine)  # fmt: skip
    assert len(with_reuse) == len(plain) > 0
    by_key = {(_key(r), r["train_level"]): r for r in plain}
    for row in with_reuse:
        ref = by_key[(_key(row), row["train_level"])]
        np.testing.assert_allclose(row["coefficients"], ref["coefficients"], rtol=1e-10)
        for col in ("energy_rmse_test", "force_rmse_test"):
            assert row[col] == pytest.approx(ref[col], rel=1e-10)
    # the first grid read every test configuration once for its statistics, the second none
    assert all(reads[0][i] == 1 for i in test)
    assert all(reads[1][i] == 0 for i in test)


def test_a_call_with_another_test_set_or_other_labels_computes_its_own():
    blocks, labels = _data()
    ids = sorted(blocks)
    train = ids[:24]
    grid = _grids()[0]
    src = CountingBlocks(blocks)
    reuse: dict = {}
    first = run_sweep({4: src}, labels, train, ids[24:], grid, "2", reuse=reuse)
    other_test = run_sweep({4: src}, labels, train, ids[28:], grid, "2", reuse=reuse)
    plain = run_sweep({4: InMemoryBlocks(blocks)}, labels, train, ids[28:], grid, "2")
    assert [r["force_rmse_test"] for r in other_test] == pytest.approx(
        [r["force_rmse_test"] for r in plain], rel=1e-10
    )
    assert [r["force_rmse_test"] for r in other_test] != pytest.approx(
        [r["force_rmse_test"] for r in first], rel=1e-6
    )
    # labels changed at the truth level (a new Labels object): the test errors follow it
    e2, f2 = dict(labels["2"].energies), {k: v + 0.5 for k, v in labels["2"].forces.items()}
    changed = {"1": labels["1"], "2": Labels(e2, f2, {i: 1.0 for i in e2})}
    again = run_sweep({4: src}, changed, train, ids[24:], grid, "2", reuse=reuse)
    fresh = run_sweep({4: InMemoryBlocks(blocks)}, changed, train, ids[24:], grid, "2")
    assert [r["force_rmse_test"] for r in again] == pytest.approx(
        [r["force_rmse_test"] for r in fresh], rel=1e-10
    )
