"""The label-free selectors as sweep samplers: units per repetition, names in the table and
in the job input, refused names."""

import numpy as np
import pytest

from pyiron_appmlip.core import d_optimal_order
from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import SWEEP_SAMPLERS, InMemoryBlocks, SweepGrid, run_sweep

SELECTORS = ["maxvol", "d_optimal", "cur", "fps", "entropy"]


def test_deterministic_selectors_have_one_unit_first_point_selectors_one_per_repetition():
    grid = SweepGrid(["1"], [5], [12], samplers=[*SELECTORS, "random"], repetitions=3)
    units = grid.units([4])
    reps = {s: sorted(u.repetition for u in units if u.sampler == s) for s in grid.samplers}
    assert reps == {
        "maxvol": [0],
        "d_optimal": [0],
        "cur": [0],
        "fps": [0, 1, 2],
        "entropy": [0, 1, 2],
        "random": [0, 1, 2],
    }


def test_unknown_sampler_names_the_selectors():
    assert set(SELECTORS) <= set(SWEEP_SAMPLERS)
    with pytest.raises(ValueError, match=r"sampler must be one of .*'maxvol'.*'entropy'.*'all'"):
        SweepGrid(["1"], [5], [12], samplers=["kmeans"])


def test_job_input_takes_the_selector_names(project):
    job = project.create.job.AppmlipSweep("sweep")
    job.input.samplers = ["fps", "d_optimal"]
    assert job.input.samplers == ["fps", "d_optimal"]
    with pytest.raises(ValueError, match=r"samplers must name one or more of .*'cur'"):
        job.input.samplers = ["kmeans"]


def test_sweep_rows_name_the_selector_and_follow_its_order():
    rng = np.random.default_rng(0)
    blocks, energies, forces = {}, {}, {}
    for k in range(20):
        n = int(rng.integers(1, 3))
        cid = f"c{k:02d}"
        blocks[cid] = rng.normal(size=(1 + 3 * n, 4))
        energies[cid] = float(rng.normal())
        forces[cid] = rng.normal(size=(n, 3))
    ids = sorted(blocks)
    labels = {"1": Labels.from_arrays(ids, [energies[i] for i in ids], [forces[i] for i in ids])}
    grid = SweepGrid(["1"], [4, 8], [(20.0, 2.0)], samplers=["d_optimal"], repetitions=2)
    rows = run_sweep({4: InMemoryBlocks(blocks)}, labels, ids[:15], ids[15:], grid, "1")
    assert {(r["sampler"], r["repetition"]) for r in rows} == {("d_optimal", 0)}
    order = d_optimal_order([blocks[i] for i in ids[:15]], 8, energy_weight=20.0, force_weight=2)
    for r in rows:
        assert list(r["training_ids"]) == [ids[k] for k in order[: r["subset_size"]]]
