"""The label-free selectors in the sweep, on real qSNAP blocks from LAMMPS (with virial rows):
each row's training set is the selector's order computed directly from the blocks, and its
errors are those of an independent fit of that training set."""

import numpy as np
import pytest

from pyiron_appmlip.core import (
    cur_order,
    d_optimal_order,
    entropy_order,
    fit_weighted,
    fps_order,
    maxvol_order,
    standardized,
)
from pyiron_appmlip.descriptors import compute_qsnap_blocks
from pyiron_appmlip.structures.candidates import rattled_strained_cells
from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_pool():
    structures = rattled_strained_cells(30, seed=21, max_atoms=4)
    blocks = compute_qsnap_blocks(structures, 2, virial=True)
    rng = np.random.default_rng(2)
    true = np.r_[-3.7, 1e-2 * rng.standard_normal(blocks[0].shape[1])]
    ids = [f"c{k:02d}" for k in range(len(structures))]
    energies, forces = [], []
    for s, b in zip(structures, blocks, strict=True):
        n = len(s)
        energies.append(true[0] * n + b[0] @ true[1:] + 0.01 * rng.normal())
        forces.append((b[1 : 1 + 3 * n] @ true[1:]).reshape(n, 3) + 0.05 * rng.normal(size=(n, 3)))
    labels = {"1": Labels.from_arrays(ids, energies, forces, [10.0 * len(s) for s in structures])}
    plain = {cid: b[: 1 + 3 * len(s)] for cid, b, s in zip(ids, blocks, structures, strict=True)}
    return dict(zip(ids, blocks, strict=True)), plain, labels, ids[:24], ids[24:]


def test_sweep_with_selectors_on_real_descriptors(real_pool):
    blocks, plain, labels, train, test = real_pool
    assert next(iter(blocks.values())).shape[0] == next(iter(plain.values())).shape[0] + 6
    grid = SweepGrid(
        ["1"],
        [6, 12, 18],
        [(10.0, 1.0)],
        samplers=["maxvol", "d_optimal", "cur", "fps", "entropy"],
        repetitions=2,
        seed=3,
    )
    rows = run_sweep({2: InMemoryBlocks(blocks)}, labels, train, test, grid, "1")
    units = {(r["sampler"], r["repetition"]) for r in rows}
    assert units == {
        ("maxvol", 0),
        ("d_optimal", 0),
        ("cur", 0),
        ("fps", 0),
        ("fps", 1),
        ("entropy", 0),
        ("entropy", 1),
    }
    # the orders, computed here from the blocks without virial rows
    pool_blocks = [plain[i] for i in train]
    features = np.array([b[0] / ((b.shape[0] - 1) // 3) for b in pool_blocks])
    z = standardized(features)
    first = int(np.random.default_rng(np.random.SeedSequence(3).spawn(2)[1]).integers(24))
    want = {
        ("maxvol", 0): maxvol_order(features, 18),
        ("d_optimal", 0): d_optimal_order(pool_blocks, 18, energy_weight=10.0),
        ("cur", 0): cur_order(z, 18),
        ("fps", 0): fps_order(z, 18),
        ("fps", 1): fps_order(z, 18, first=first),
        ("entropy", 0): entropy_order(z, 18),
        ("entropy", 1): entropy_order(z, 18, first=first),
    }
    assert len({tuple(o) for o in want.values()}) == len(want)  # the selectors differ
    test_blocks = [plain[i] for i in test]
    lab = labels["1"]
    for r in rows:
        order = want[(r["sampler"], r["repetition"])]
        chosen = [train[k] for k in order[: r["subset_size"]]]
        assert list(r["training_ids"]) == chosen
        model = fit_weighted(
            [plain[i] for i in chosen],
            [lab.energies[i] for i in chosen],
            [lab.forces[i] for i in chosen],
            10.0,
            1.0,
        )
        e, f = model.rmse(
            test_blocks, [lab.energies[i] for i in test], [lab.forces[i] for i in test]
        )
        assert r["energy_rmse_test"] == pytest.approx(e, rel=1e-7)
        assert r["force_rmse_test"] == pytest.approx(f, rel=1e-7)
        assert r["dft_seconds"] == pytest.approx(sum(lab.wall_times[i] for i in chosen))


def test_independent_draws_of_a_deterministic_selector_are_its_prefixes(real_pool):
    blocks, plain, labels, train, test = real_pool
    grid = SweepGrid(["1"], [5, 10], [12.0], samplers=["cur"], draws="independent")
    rows = run_sweep({2: InMemoryBlocks(blocks)}, labels, train, test, grid, "1")
    z = standardized(np.array([plain[i][0] / ((plain[i].shape[0] - 1) // 3) for i in train]))
    order = cur_order(z, 10)
    assert sorted(len(r["training_ids"]) for r in rows) == [5, 10]
    for r in rows:
        assert list(r["training_ids"]) == [train[k] for k in order[: r["subset_size"]]]
