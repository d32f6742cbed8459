"""Linear SNAP (``quadraticflag=0``): blocks hold the K linear columns per element (the linear
part of the quadratic blocks), a fit on them exports with ``quadraticflag 0`` and LAMMPS
``pair_style snap`` reproduces its energies, forces and stresses on fresh structures, for one and
two elements. Uses the round-trip helpers of ``test_export``."""

import os
import sys

import numpy as np
import pytest

from pyiron_appmlip.core import fit_weighted
from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks
from pyiron_appmlip.potential import write_snap_potential
from pyiron_appmlip.potential.model import SnapModel

sys.path.insert(0, os.path.dirname(__file__))
from test_export import (  # noqa: E402
    evaluation_structures,
    fit,
    labels,
    lammps_predictions,
    predict,
    training_structures,
)


def _file_lines(path):
    return [ln.strip() for ln in open(path) if ln.strip() and not ln.startswith("#")]


@pytest.mark.parametrize("twojmax", [4, 6])
def test_linear_round_trip_one_element(twojmax, tmp_path):
    train = training_structures()
    s = QSnapSettings(twojmax, quadraticflag=0)
    blocks = compute_qsnap_blocks(train, s)
    k = s.n_linear
    assert s.n_per_element == k and blocks[0].shape[1] == k
    quadratic = compute_qsnap_blocks(train[:2], twojmax)
    for lin, quad in zip(blocks[:2], quadratic, strict=True):
        np.testing.assert_allclose(lin, quad[:, :k], rtol=0, atol=1e-12)

    coef = fit(blocks, *labels(train))
    assert coef.shape == (k + 1,)
    coeff_file, param_file = write_snap_potential(coef, ["Be"], tmp_path, settings=s)
    assert "quadraticflag 0" in _file_lines(param_file)
    assert f"twojmax {twojmax}" in _file_lines(param_file)
    assert _file_lines(coeff_file)[:2] == [f"1 {k + 1}", "Be 0.5 1.0"]
    assert len(_file_lines(coeff_file)) == 2 + k + 1

    tests = evaluation_structures()
    for block, (e_lmp, f_lmp) in zip(
        compute_qsnap_blocks(tests, s),
        lammps_predictions(tests, coeff_file, param_file, ["Be"]),
        strict=True,
    ):
        e, f = predict(coef, block)
        assert abs(e_lmp - e) < 1e-6
        np.testing.assert_allclose(f_lmp, f, rtol=0, atol=1e-6)


def test_linear_round_trip_two_elements_with_stress(tmp_path):
    from ase.calculators.lammpslib import LAMMPSlib

    train = training_structures(symbols=13)  # Be with some Al
    s = QSnapSettings(
        4, quadraticflag=0, elements=("Be", "Al"), radelem={"Be": 0.5, "Al": 0.55}, wj=[1.0, 0.9]
    )
    blocks = compute_qsnap_blocks(train, s)
    assert blocks[0].shape[1] == 2 * s.n_linear + 1  # K per element, then the Al count column
    energies, forces = labels(train)
    energies = [
        e - 3.0 * (a.numbers == 4).sum() - 1.0 * (a.numbers == 13).sum()
        for e, a in zip(energies, train, strict=True)
    ]
    fit = fit_weighted(blocks, energies, forces, 1.0, 1.0)
    model = SnapModel(fit.coefficients, s, 1.0, 1.0, "lj")
    back = SnapModel.from_dict(model.to_dict())
    assert back.settings.quadraticflag == 0 and back.settings == s
    coeff_file, param_file = back.write_lammps(tmp_path, name="beal_linear")
    assert "quadraticflag 0" in _file_lines(param_file)
    assert _file_lines(coeff_file)[0] == f"2 {s.n_linear + 1}"

    tests = evaluation_structures(symbols=13)
    blocks_test = compute_qsnap_blocks(tests, s, virial=True)
    pred_e, pred_f = model.linear_model.predict(blocks_test, virial=True)
    pred_s = model.linear_model.predict_stress(blocks_test, [a.get_volume() for a in tests])
    calc = LAMMPSlib(
        lmpcmds=[
            "pair_style snap",
            f"pair_coeff * * {coeff_file} {param_file} Be Al",
        ],
        atom_types={"Be": 1, "Al": 2},
        keep_alive=True,
        lammps_header=["units metal", "atom_style atomic", "atom_modify map array sort 0 0"],
    )
    for a, e, f, st in zip(tests, pred_e, pred_f, pred_s, strict=True):
        a = a.copy()
        a.calc = calc
        assert abs(a.get_potential_energy() - e) < 1e-6
        np.testing.assert_allclose(a.get_forces(), f, rtol=0, atol=1e-6)
        # ASE converts LAMMPS' bar with its own constants: ~1e-7 relative
        np.testing.assert_allclose(a.get_stress(), st, rtol=1e-6, atol=1e-9)
    # the model's own prediction (no reference attached) is the same as from the blocks
    e_struct, _ = model.predict_structures(tests)
    np.testing.assert_allclose(e_struct, pred_e, rtol=0, atol=1e-10)
