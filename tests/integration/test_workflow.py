import os

import numpy as np
import pytest

from pyiron_appmlip.dft.engines.base import SinglePointResult
from pyiron_appmlip.workflow import (
    PIPELINE_OUTPUTS,
    appmlip_pipeline,
    errors,
    fit,
    generate_candidates,
    leverage,
    qsnap_descriptors,
    run_pipeline,
    train_from_structures,
    train_test_split,
)


def fake_result(n_atoms, energy=-3.0, ok=True):
    if not ok:
        return SinglePointResult(status="failed", engine="gpaw", n_atoms=n_atoms, error="boom")
    return SinglePointResult(
        status="finished",
        engine="gpaw",
        n_atoms=n_atoms,
        energy=energy,
        forces=np.zeros((n_atoms, 3)),
        converged=True,
        wall_time=1.0,
    )


def test_recipes_chain_the_steps():
    recipe = train_from_structures.flowrep_recipe
    assert tuple(recipe.outputs) == PIPELINE_OUTPUTS
    steps = {n.split("_")[0] for n in recipe.nodes}
    for step in ("dft", "qsnap", "leverage", "train", "fit", "errors", "export"):
        assert step in steps, (step, sorted(recipe.nodes))
    pipeline = appmlip_pipeline.flowrep_recipe
    assert tuple(pipeline.outputs) == PIPELINE_OUTPUTS
    assert any(n.startswith("generate_candidates") for n in pipeline.nodes)
    assert any(n.startswith("train_from_structures") for n in pipeline.nodes)


def test_pipeline_end_to_end_with_gpaw_level_1(tmp_path):
    folder = tmp_path / "potential"
    out = run_pipeline(
        n_structures=4, max_atoms=2, level=1, twojmax=4, n_train=3, seed=0, folder=str(folder)
    )
    assert set(out) == set(PIPELINE_OUTPUTS)
    results = out["results"]
    assert [r.status for r in results] == ["finished"] * 4, [r.error for r in results]
    assert all(r.wall_time > 0 and r.level["encut"] == 300.0 for r in results)
    train, test = out["train"], out["test"]
    assert len(train) == 3 and len(test) == 1 and sorted(train + test) == [0, 1, 2, 3]

    # the same steps called as plain functions give the same split and the same model
    structures = generate_candidates(4, max_atoms=2, seed=0)
    assert [len(s) for s in structures] == [r.n_atoms for r in results]
    blocks, settings = qsnap_descriptors(structures, twojmax=4)
    scores, _ = leverage(blocks)
    assert train_test_split(results, scores, 3, seed=0) == (train, test)
    model = out["model"]
    assert np.allclose(fit(blocks, results, train).coefficients, model.coefficients)

    # the fit reproduces its training labels (3 configurations, 120 coefficients)
    energies, forces = model.predict([blocks[i] for i in train])
    n_atoms = np.array([results[i].n_atoms for i in train])
    dft = np.array([results[i].energy for i in train])
    assert np.abs((energies - dft) / n_atoms).max() < 1e-3  # eV/atom
    for f, i in zip(forces, train, strict=True):
        assert np.abs(f - results[i].forces).max() < 0.01  # eV/Angstrom
    assert out["train_errors"]["energy_rmse"] < 1.0  # meV/atom
    assert out["train_errors"]["force_rmse"] < 10.0  # meV/Angstrom
    assert out["train_errors"]["n_configs"] == 3
    assert out["test_errors"]["n_configs"] == 1
    assert np.isfinite(out["test_errors"]["energy_rmse"])

    # export: pair_style snap files holding the fitted coefficients
    assert out["coeff_file"] == str(folder / "appmlip.snapcoeff")
    assert os.path.getsize(out["coeff_file"]) > 1000
    param = open(out["param_file"]).read()
    assert "twojmax 4" in param and "quadraticflag 1" in param
    lines = open(out["coeff_file"]).read().split("\n")
    header = lines.index(f"1 {settings.n_per_element + 1}")
    values = np.array([float(v) for v in lines[header + 2 : header + 2 + model.coefficients.size]])
    assert np.allclose(values, model.coefficients, rtol=1e-15, atol=0.0)


def test_split_skips_failed_calculations_and_validates():
    results = [fake_result(1), fake_result(2, ok=False), fake_result(1), fake_result(2)]
    scores = np.array([1.0, 100.0, 1.0, 1.0])
    train, test = train_test_split(results, scores, 2, seed=3)
    assert 1 not in train + test and sorted(train + test) == [0, 2, 3]
    again = train_test_split(results, scores, 2, seed=3)
    assert again == (train, test)
    random_train, _ = train_test_split(results, None, 3, sampler="random")
    assert sorted(random_train) == [0, 2, 3]
    with pytest.raises(ValueError, match=r"n_train must be an integer in \[1, 3\]"):
        train_test_split(results, scores, 4)
    with pytest.raises(ValueError, match="no DFT calculation finished"):
        train_test_split([fake_result(1, ok=False)], [1.0], 1)
    with pytest.raises(ValueError, match="sampler must be one of"):
        train_test_split(results, scores, 1, sampler="best")
    _, test = train_test_split(results, scores, 1, test_fraction=0.34)
    assert len(test) == 1


def test_fit_and_errors_refuse_failed_labels():
    results = [fake_result(1), fake_result(1, ok=False)]
    blocks = [np.ones((4, 3)), np.ones((4, 3))]
    with pytest.raises(ValueError, match=r"configurations \[1\] have no DFT labels"):
        fit(blocks, results, [0, 1])
    with pytest.raises(ValueError, match="at least one configuration"):
        fit(blocks, results, [])
    model = fit(blocks, results, [0])
    empty = errors(model, blocks, results, [])
    assert empty["n_configs"] == 0 and np.isnan(empty["energy_rmse"])
