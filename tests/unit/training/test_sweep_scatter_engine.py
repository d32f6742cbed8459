"""The sweep's scatter engine (all independent draws from passes over the pool) against the
units engine (each unit on its own) on synthetic blocks: the same rows up to rounding, and the
units it cannot take (ridge, weight factors) left to the units engine."""

import numpy as np
import pytest

from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep

KEY = ("sampler", "repetition", "subset_size", "energy_weight", "train_level")
ERRORS = ("energy_rmse_train", "force_rmse_train", "energy_rmse_test", "force_rmse_test")


def _data(m=40, p=5, seed=4):
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=p + 1)
    blocks, energies, forces = {}, {}, {}
    for k in range(m):
        n = int(rng.integers(1, 5))
        cid = f"c{k:03d}"
        b = rng.normal(size=(1 + 3 * n, p))
        blocks[cid] = b
        energies[cid] = beta[0] * n + b[0] @ beta[1:] + 0.05 * rng.normal()
        forces[cid] = (b[1:] @ beta[1:]).reshape(n, 3) + 0.05 * rng.normal(size=(n, 3))
    ids = sorted(blocks)
    labels = {
        lv: Labels.from_arrays(
            ids, [energies[i] + s * rng.normal() for i in ids], [forces[i] for i in ids]
        )
        for lv, s in (("1", 0.02), ("2", 0.0))
    }
    return blocks, labels, ids[:30], ids[30:]


def _rows(engine, ridge=0.0, **grid_options):
    blocks, labels, train, test = _data()
    grid = SweepGrid(
        ["1", "2"],
        [6, 12, 20],
        [5.0, 150.0],
        samplers=["leverage", "random"],
        draws="independent",
        repetitions=3,
        **grid_options,
    )
    rows = run_sweep(
        {2: InMemoryBlocks(blocks)}, labels, train, test, grid, "2", engine=engine, ridge=ridge
    )
    return {tuple(r[k] for k in KEY): r for r in rows}


@pytest.mark.parametrize("ridge", [0.0, 1e-3])
def test_scatter_engine_rows_equal_the_units_rows(ridge, monkeypatch):
    from pyiron_appmlip.training import sweep

    served = []
    original = sweep.scatter_unit_fits

    def counting(units, **kwargs):
        served.extend(units)
        yield from original(units, **kwargs)

    monkeypatch.setattr(sweep, "scatter_unit_fits", counting)
    units = _rows("units", ridge)
    assert not served
    scatter = _rows("scatter", ridge)
    # with ridge the units engine runs them (the scatter engine takes no ridge)
    assert len(served) == (0 if ridge else 2 * 3)
    assert set(units) == set(scatter) and len(units) == 2 * 3 * 3 * 2 * 2
    for key, a in units.items():
        b = scatter[key]
        assert list(a["training_ids"]) == list(b["training_ids"])
        for col in ERRORS:
            assert b[col] == pytest.approx(a[col], rel=1e-8), (key, col)
        np.testing.assert_allclose(b["coefficients"], a["coefficients"], rtol=1e-7, atol=1e-10)


def test_a_bad_engine_names_the_allowed_ones():
    blocks, labels, train, test = _data()
    grid = SweepGrid(["1"], [6], [5.0], samplers=["random"], draws="independent")
    with pytest.raises(ValueError, match=r"engine must be one of \('units', 'scatter'\)"):
        run_sweep({2: InMemoryBlocks(blocks)}, labels, train, test, grid, "2", engine="fast")
