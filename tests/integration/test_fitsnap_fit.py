"""The package's weighted SNAP fit equals FitSNAP's own fit of the same FitSNAP JSON files.

Small Cu cells labelled with ASE's EMT are written as a FitSNAP JSON folder (two groups with
different weights, cells rotated away from LAMMPS' orientation), read with ``read_dataset`` and
fitted by both codes with the comparison of ``benchmarks/check_fitsnap_wbe.py`` (which runs it on
the W-Be data): ZBL reference subtracted, FitSNAP's group weights as the package's per-group
weight factors, ``bzeroflag 0`` so that FitSNAP's one-hot column is the package's constant
column. The two least-squares problems are then identical matrix for matrix (checked to
rounding), full rank and well conditioned, so both solvers must return the same solution up to
~ condition number x machine epsilon: with the scaled condition number asserted below 1e4
that is ~1e-12 relative; the tolerances (1e-9 on coefficients and predictions) leave three
orders of magnitude for BLAS differences and stay far below any modelling difference (a
wrong weight, row or reference shows up at 1e-3 or more).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from scipy.spatial.transform import Rotation

pytest.importorskip("fitsnap3lib")

from pyiron_appmlip.datasets.importers import read_dataset  # noqa: E402
from pyiron_appmlip.potential.reference import ReferencePotential  # noqa: E402

SCRIPT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "benchmarks",
    "check_fitsnap_wbe.py",
)
GROUP_WEIGHTS = {"bulk": (150.0, 12.0), "strained": (20.0, 3.0)}


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("check_fitsnap_wbe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def cu_cells():
    """16 small Cu cells: rattled fcc and sc supercells, strained and rotated ones."""
    rng = np.random.default_rng(7)
    cells = {"bulk": [], "strained": []}
    for k in range(8):
        atoms = bulk("Cu", "fcc", a=3.61 + 0.03 * (k % 3), cubic=k % 2 == 0)
        atoms = atoms.repeat((2, 1, 1) if k % 2 == 0 else (2, 2, 1))
        atoms.rattle(0.08, seed=k)
        cells["bulk"].append(atoms)
    for k in range(8):
        atoms = bulk("Cu", "fcc", a=3.61).repeat((2, 2, 1))
        strain = np.eye(3) + 0.04 * rng.standard_normal((3, 3))
        rot = Rotation.from_rotvec(rng.standard_normal(3)).as_matrix()  # proper rotation
        atoms.set_cell(atoms.cell @ strain @ rot.T, scale_atoms=True)
        atoms.rattle(0.1, seed=100 + k)
        cells["strained"].append(atoms)
    return cells


def write_fitsnap_json(root, cells) -> None:
    """One FitSNAP JSON file per cell, labelled with EMT (no stress recorded)."""
    for group, atoms_list in cells.items():
        os.makedirs(os.path.join(root, group))
        for k, atoms in enumerate(atoms_list):
            atoms.calc = EMT()
            config = {
                "NumAtoms": len(atoms),
                "Lattice": atoms.cell.array.tolist(),
                "Energy": float(atoms.get_potential_energy()),
                "Stress": np.zeros((3, 3)).tolist(),
                "AtomTypes": atoms.get_chemical_symbols(),
                "Positions": atoms.positions.tolist(),
                "Forces": atoms.get_forces().tolist(),
            }
            dataset = {
                "Dataset": {
                    "LatticeStyle": "angstrom",
                    "EnergyStyle": "electronvolt",
                    "StressStyle": "bar",
                    "AtomTypeStyle": "chemicalsymbol",
                    "PositionsStyle": "angstrom",
                    "ForcesStyle": "electronvoltperangstrom",
                    "Data": [config],
                }
            }
            with open(os.path.join(root, group, f"Cu_{k}.json"), "w") as handle:
                handle.write("# EMT Cu\n" + json.dumps(dataset))


@pytest.mark.parametrize("twojmax,quadratic", [(4, 0), (2, 1)])
def test_package_fit_equals_fitsnap_fit(tmp_path, check, twojmax, quadratic):
    root = str(tmp_path / "JSON")
    write_fitsnap_json(root, cu_cells())
    ds = read_dataset(root)
    assert len(ds.ids) == 16
    settings = check.snap_settings(twojmax, quadratic, 0, element="Cu")
    reference = ReferencePotential.zbl(("Cu",), inner=4.0, outer=4.8)
    pkg = check.run_package(ds, settings, reference, GROUP_WEIGHTS)
    fsr = check.run_fitsnap(root, settings, reference, GROUP_WEIGHTS)
    r = check.compare(pkg, fsr, same_problem=True)

    # the same problem: configurations, rows, columns, targets and matrix rows
    assert r["n_configs"] == 16
    assert r["rows"][0] == r["rows"][1]
    assert r["n_columns"][0] == r["n_columns"][1] == settings.n_columns() + 1
    assert r["label_energy"] < 1e-12 and r["label_forces"] < 1e-12
    assert r["target_energy"] < 1e-10 and r["target_forces"] < 1e-10
    assert r["descriptor_rows"] < 1e-12
    # full rank and well conditioned (the premise of the tolerances)
    assert r["package_rank"] == r["fitsnap_rank"] == r["n_columns"][0]
    assert r["cond_scaled"] < 1e4

    # the same solution
    assert r["coef_norm_rel"] < 1e-9
    assert r["coef_max_rel"] < 1e-9
    lp, lf = r["loss"]
    assert abs(lp - lf) <= 1e-12 * lf
    assert r["pred_energy_rel"] < 1e-9 and r["pred_forces_rel"] < 1e-9
    for (ep, fp), (ef, ff) in [(r["rmse_package"], r["rmse_fitsnap"])]:
        assert ep == pytest.approx(ef, rel=1e-9) and fp == pytest.approx(ff, rel=1e-9)
    # each side's own error report agrees with the predictions compared here
    assert np.allclose(r["rmse_package_errors"], r["rmse_package"], rtol=1e-12)
    assert np.allclose(r["rmse_fitsnap_own"], r["rmse_fitsnap"], rtol=1e-9)
    # the fit learned something: far better than predicting the mean
    energies = np.array(list(pkg.label_energy.values()))
    assert r["rmse_package"][0] < 0.5 * 1e3 * energies.std()


def test_weights_matter(tmp_path, check):
    """Swapping the group weights changes both fits the same way (the mapping is not moot)."""
    root = str(tmp_path / "JSON")
    write_fitsnap_json(root, cu_cells())
    ds = read_dataset(root)
    settings = check.snap_settings(4, 0, 0, element="Cu")
    reference = ReferencePotential.zbl(("Cu",), inner=4.0, outer=4.8)
    swapped = {"bulk": GROUP_WEIGHTS["strained"], "strained": GROUP_WEIGHTS["bulk"]}
    base = check.run_package(ds, settings, reference, GROUP_WEIGHTS)
    pkg = check.run_package(ds, settings, reference, swapped)
    fsr = check.run_fitsnap(root, settings, reference, swapped)
    change = np.linalg.norm(pkg.coefficients - base.coefficients)
    assert change > 1e-4 * np.linalg.norm(base.coefficients)
    assert np.linalg.norm(pkg.coefficients - fsr.coefficients) < 1e-6 * change
