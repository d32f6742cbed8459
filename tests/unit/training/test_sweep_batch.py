"""Several grids in one run_sweep call (one batch of units per 2Jmax): the same rows as one call
per grid, each given the rows before it as ``done``; a row of an earlier grid is not computed
again; the units go to the executor together, largest first."""

import numpy as np
import pytest
from test_sweep_reuse import _data

from pyiron_appmlip.training import sweep as sweep_module
from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep
from pyiron_appmlip.training.table import row_key


def _grids(draws):
    kw = {"repetitions": 2, "draws": draws}
    return [
        SweepGrid(["1", "2"], [10, 16], [(30.0, 1.0)], samplers=["leverage"], **kw),
        # its leverage units are wholly inside the first grid's rows: only random runs
        SweepGrid(["2"], [10], [(30.0, 1.0)], samplers=["leverage", "random"], **kw),
        SweepGrid(["1", "2"], [], [(5.0, 1.0)], samplers=["all"], **kw),
    ]


@pytest.mark.parametrize("engine", ["units", "scatter"])
@pytest.mark.parametrize("draws", ["independent", "nested"])
def test_a_batch_of_grids_gives_the_rows_of_one_call_per_grid(engine, draws):
    blocks, labels = _data()
    ids = sorted(blocks)
    train, test = ids[:24], ids[24:]
    one_by_one, done = [], set()
    for grid in _grids(draws):
        rows = run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, grid, "2",
                         done=done, engine=engine)  # fmt: skip
        done |= {row_key(r) for r in rows}
        one_by_one += rows
    messages = []
    batch = run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, _grids(draws), "2",
                      engine=engine, progress=messages.append)  # fmt: skip
    keys = [row_key(r) for r in batch]
    assert len(keys) == len(set(keys))  # no row twice
    assert keys == [row_key(r) for r in one_by_one]  # grid by grid, in the order given
    for row, ref in zip(batch, one_by_one, strict=True):
        np.testing.assert_allclose(row["coefficients"], ref["coefficients"], rtol=1e-9)
        for col in ("energy_rmse_test", "force_rmse_test", "dft_seconds"):
            assert row[col] == pytest.approx(ref[col], rel=1e-9)
    # one hand-over of all units (grid 1: 2 units, grid 2: random only, grid 3: the pool)
    submitted = [m for m in messages if m.startswith("2Jmax 4: ") and " units (" in m]
    assert len(submitted) == 1 and submitted[0].startswith("2Jmax 4: 5 units (")
    assert not any("leverage repetition" in m and "sizes [10]" in m for m in messages)


def test_the_batch_goes_to_the_executor_largest_first(monkeypatch):
    blocks, labels = _data()
    ids = sorted(blocks)
    handed = []

    def record(executor, fn, tasks):
        handed.append(list(tasks))
        for key, args in tasks.items():
            yield key, fn(*args)

    monkeypatch.setattr(sweep_module, "run_tasks", record)
    run_sweep({4: InMemoryBlocks(blocks)}, labels, ids[:24], ids[24:], _grids("independent"),
              "2")  # fmt: skip
    assert len(handed) == 1
    keys = handed[0]
    assert [k[0] for k in keys] == [0, 0, 2, 1, 1]  # (grid, unit): two sizes x 2 levels first
    assert keys[2][1][1] == "all"


@pytest.mark.parametrize("bad", [[], ["not a grid"], "grid", None])
def test_grid_must_be_a_grid_or_grids(bad):
    blocks, labels = _data()
    ids = sorted(blocks)
    with pytest.raises(ValueError, match="grid must be a SweepGrid or a non-empty sequence"):
        run_sweep({4: InMemoryBlocks(blocks)}, labels, ids[:24], ids[24:], bad, "2")


def test_the_keys_planned_for_a_unit_are_the_keys_of_its_rows():
    """The keys a plan counts as done (unit_row_keys) and the keys of the rows the unit
    produces (row_key) come from one function: with weights that do not round evenly and
    numpy scalars in the rows they still agree, so a second call computes nothing."""
    blocks, labels = _data()
    ids = sorted(blocks)
    train, test = ids[:24], ids[24:]
    grid = SweepGrid(["1", "2"], [10, 16], [(1.0 / 3.0, 1.0), (np.float64(7.1), 0.7)],
                     samplers=["leverage", "random"], repetitions=2)  # fmt: skip
    rows = run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, grid, "2")
    planned = [
        key
        for unit in grid.units([4])
        for key in sweep_module.unit_row_keys(unit, grid, len(train))
    ]
    assert sorted(planned) == sorted(row_key(r) for r in rows)
    again = run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, grid, "2",
                      done=[row_key(r) for r in rows])  # fmt: skip
    assert again == []


def test_join_report_of_several_grids_has_every_grids_join():
    """Level 1 lacks labels of two pool configurations: the grid training on level 1 leaves
    them out, the grid training on level 2 only does not; the report says so per grid."""
    blocks, labels = _data()
    ids = sorted(blocks)
    train, test = ids[:24], ids[24:]
    lv1 = labels["1"]
    missing = train[:2]
    labels["1"] = Labels(
        {i: e for i, e in lv1.energies.items() if i not in missing},
        {i: f for i, f in lv1.forces.items() if i not in missing},
        {i: 1.0 for i in lv1.energies if i not in missing},
    )
    grids = [
        SweepGrid(["2"], [10], [(30.0, 1.0)], samplers=["leverage"]),
        SweepGrid(["1"], [10], [(30.0, 1.0)], samplers=["leverage"]),
    ]
    report, messages = {}, []
    run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, grids, "2",
              join_report=report, progress=messages.append)  # fmt: skip
    first, second = report[4]["per_grid"]
    assert report[4]["pool"] == first["pool"] == 24 and first["without_labels"] == []
    assert second["pool"] == 22 and sorted(second["without_labels"]) == sorted(missing)
    assert any(m.startswith("2Jmax 4 (grid 1): 2 configurations") for m in messages)
    single = {}
    run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, grids[1], "2", join_report=single)
    assert "per_grid" not in single[4] and single[4]["pool"] == 22
