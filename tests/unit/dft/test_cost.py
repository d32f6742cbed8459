import numpy as np
import pytest
from ase import Atoms

from pyiron_appmlip.dft.cost import (
    CostModel,
    cost_summary,
    fit_cost_model,
    fit_cost_models,
    predict_labelling_cost,
    records_from_jobs,
)
from pyiron_appmlip.dft.levels import kmesh


def synthetic(seed=0, noise=0.0, m=60):
    rng = np.random.default_rng(seed)
    n_atoms = rng.integers(1, 120, size=m)
    n_kpoints = rng.integers(1, 200, size=m)
    times = 0.03 * n_atoms**2.2 * n_kpoints**0.9 * np.exp(noise * rng.standard_normal(m))
    return times, n_atoms, n_kpoints


def test_fit_recovers_known_exponents():
    times, n_atoms, n_kpoints = synthetic()
    model = fit_cost_model(times, n_atoms, n_kpoints, level=3)
    assert model.prefactor == pytest.approx(0.03, rel=1e-10)
    assert model.atom_exponent == pytest.approx(2.2, abs=1e-10)
    assert model.kpoint_exponent == pytest.approx(0.9, abs=1e-10)
    assert model.rms_log_residual < 1e-10 and model.fixed == ()
    assert model.level["encut"] == 400.0
    assert model.predict(10, 8) == pytest.approx(0.03 * 10**2.2 * 8**0.9)
    assert CostModel.from_dict(model.to_dict()) == model


def test_fit_with_noise_and_failed_entries():
    times, n_atoms, n_kpoints = synthetic(seed=1, noise=0.05, m=400)
    times[::10] = np.nan  # failed calculations have no time
    model = fit_cost_model(times, n_atoms, n_kpoints)
    assert model.n_samples == 360
    assert model.atom_exponent == pytest.approx(2.2, abs=0.02)
    assert model.kpoint_exponent == pytest.approx(0.9, abs=0.02)
    assert model.rms_log_residual == pytest.approx(0.05, abs=0.01)


def test_gamma_only_level_fixes_the_kpoint_exponent():
    n_atoms = np.array([2, 4, 8, 16])
    model = fit_cost_model(0.5 * n_atoms**1.5, n_atoms, 1)
    assert model.fixed == ("kpoint_exponent",)
    assert model.kpoint_exponent == 0.0
    assert model.atom_exponent == pytest.approx(1.5)
    single = fit_cost_model([2.0], [3], [1])  # one sample: only the prefactor
    assert single.fixed == ("atom_exponent", "kpoint_exponent") and single.prefactor == 2.0
    with pytest.raises(ValueError, match="at least 3"):
        fit_cost_model([1.0, 2.0], [1, 2], [1, 4])
    with pytest.raises(ValueError, match="positive"):
        fit_cost_model([1.0, -1.0], [1, 2], [1, 1])
    with pytest.raises(ValueError, match="same length"):
        fit_cost_model([1.0, 2.0], [1, 2, 3], [1, 1])


def test_summary_from_arrays():
    frame = cost_summary(
        wall_times=[1.0, 3.0, np.nan, 10.0, 30.0],
        n_atoms=[1, 3, 2, 5, 10],
        levels=[1, 1, 1, 2, 2],
    )
    assert list(frame.index) == ["1", "2"]
    assert frame.loc["1", "n_configurations"] == 2
    assert frame.loc["1", "mean_seconds"] == 2.0
    assert frame.loc["1", "median_seconds_per_atom"] == 1.0
    assert frame.loc["2", "total_seconds"] == 40.0
    assert frame.loc["2", "mean_seconds_per_atom"] == 2.5
    assert frame.loc["2", "paper_seconds"] == 10.02
    with pytest.raises(ValueError, match="give jobs"):
        cost_summary(wall_times=[1.0])


def test_prediction_uses_the_level_kmesh():
    model = CostModel(
        prefactor=0.1, atom_exponent=2.0, kpoint_exponent=1.0, n_samples=3, rms_log_residual=0
    )
    cells = [Atoms("Be2", positions=[[0, 0, 0], [1, 1, 1]], cell=[3, 3, 4], pbc=True)]
    prediction = predict_labelling_cost(cells, 2, model)
    k = int(np.prod(kmesh(cells[0].cell, 1.0)))
    assert list(prediction["n_kpoints"]) == [k]
    assert prediction["total_seconds"] == pytest.approx(0.1 * 4 * k)
    fitted = fit_cost_model([1, 2, 4], [1, 2, 4], 1, level=1)
    with pytest.raises(ValueError, match="fitted for level"):
        predict_labelling_cost(cells, 2, fitted)


def test_smoke_on_recorded_gpaw_times(project):
    structures = [
        Atoms("Be", positions=[[0, 0, 0]], cell=[2.9, 3.0, 3.1], pbc=True),
        Atoms("Be2", positions=[[0, 0, 0], [1.2, 1.1, 1.3]], cell=[3.4, 3.4, 3.0], pbc=True),
        Atoms(
            "Be3",
            positions=[[0, 0, 0], [1.7, 0.1, 1.1], [0.2, 1.8, 2.1]],
            cell=[3.6, 3.7, 3.8],
            pbc=True,
        ),
    ]
    job = project.create.job.AppmlipLabelling("cost_level_1")
    job.structures = structures
    job.level = 1
    job.run()
    assert job.status.finished
    records = records_from_jobs(job)
    assert list(records["n_atoms"]) == [1, 2, 3] and list(records["n_kpoints"]) == [1, 1, 1]
    assert np.all(records["wall_times"] > 0)
    frame = cost_summary(jobs=[job])
    assert frame.loc["1", "n_configurations"] == 3
    assert frame.loc["1", "paper_seconds"] == 8.33
    model = fit_cost_models(job)["1"]
    assert model.fixed == ("kpoint_exponent",)
    assert np.isfinite(model.atom_exponent) and model.prefactor > 0
    prediction = predict_labelling_cost(structures, 1, model)
    assert prediction["total_seconds"] > 0
    # a fitted power law reproduces its own data within an order of magnitude
    ratio = prediction["seconds"] / records["wall_times"]
    assert np.all((ratio > 0.1) & (ratio < 10))
