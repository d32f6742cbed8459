"""Per-atom rows from LAMMPS ``compute sna/atom`` against the blocks of ``compute snap``: the
rows of a structure's atoms sum to ``[N, energy row]`` (one and two elements, linear and
quadratic, both bzeroflag values, several 2Jmax), and grades built from real descriptors
equal dense numpy computations."""

import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.core.extrapolation import leverage_grade_from_statistics, maxvol_grade
from pyiron_appmlip.core.statistics import SufficientStatistics
from pyiron_appmlip.descriptors.lammps_snap import compute_qsnap_blocks
from pyiron_appmlip.descriptors.per_atom import (
    model_columns_from_bispectrum,
    per_atom_bispectrum,
    per_atom_rows,
    sna_atom_command,
)
from pyiron_appmlip.descriptors.settings import QSnapSettings


def _be_cells(n, seed, repeat=(2, 1, 1), rattle=0.08):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = rng.uniform(0.97, 1.03)
        atoms = bulk("Be", "hcp", a=2.29 * a, c=3.58 * rng.uniform(0.97, 1.03)).repeat(repeat)
        atoms.rattle(rattle, seed=int(rng.integers(1 << 30)))
        out.append(atoms)
    return out


@pytest.mark.parametrize(
    "twojmax,quadraticflag,bzeroflag",
    [(2, 1, 1), (4, 1, 0), (4, 1, 1), (6, 0, 1), (6, 1, 0), (8, 0, 0)],
)
def test_per_atom_rows_sum_to_energy_row(twojmax, quadraticflag, bzeroflag):
    settings = QSnapSettings(
        twojmax, quadraticflag=quadraticflag, bzeroflag=bzeroflag, elements=("Be",)
    )
    structures = _be_cells(2, seed=twojmax)
    structures[1].rotate(33, "x", rotate_cell=True)  # not LAMMPS-aligned, atom order kept
    blocks = compute_qsnap_blocks(structures, settings)
    rows = per_atom_rows(structures, settings)
    for r, b, s in zip(rows, blocks, structures, strict=True):
        assert r.shape == (len(s), 1 + settings.n_columns())
        np.testing.assert_array_equal(r[:, 0], 1.0)
        np.testing.assert_allclose(r[:, 1:].sum(axis=0), b[0], rtol=1e-10, atol=1e-10)
    # atoms that differ give rows that differ (a sum check alone would pass a shuffle)
    assert np.abs(rows[0][0] - rows[0][1]).max() > 1e-6


def test_per_atom_rows_two_elements_follow_block_layout():
    settings = QSnapSettings(4, elements=("Be", "Mg"))
    structure = _be_cells(1, seed=5, repeat=(2, 2, 1))[0]
    symbols = structure.get_chemical_symbols()
    symbols[1] = symbols[6] = "Mg"
    structure.set_chemical_symbols(symbols)
    block = compute_qsnap_blocks([structure], settings)[0]
    rows = per_atom_rows([structure], settings)[0]
    np.testing.assert_allclose(rows[:, 1:].sum(axis=0), block[0], rtol=1e-10, atol=1e-10)
    n_per = settings.n_per_element
    mg = np.array([s == "Mg" for s in symbols])
    assert np.all(rows[mg, 1 : 1 + n_per] == 0) and np.all(
        rows[~mg, 1 + n_per : 1 + 2 * n_per] == 0
    )
    np.testing.assert_array_equal(rows[:, -1], mg.astype(float))  # count column of Mg
    # the same rows from the linear components and the element symbols or LAMMPS types
    b = per_atom_bispectrum([structure], settings)[0]
    types = [1 + int(m) for m in mg]
    np.testing.assert_array_equal(model_columns_from_bispectrum(b, settings, types), rows)
    np.testing.assert_array_equal(model_columns_from_bispectrum(b, settings, symbols), rows)
    with pytest.raises(ValueError, match="types must be given"):
        model_columns_from_bispectrum(b, settings)
    with pytest.raises(ValueError, match=r"types\[0\]"):
        model_columns_from_bispectrum(b, settings, [3] * len(b))
    with pytest.raises(ValueError, match=r"b_linear must have shape \(n_atoms, 14\)"):
        model_columns_from_bispectrum(b[:, :5], settings, types)


def test_sna_atom_command_carries_the_settings():
    settings = QSnapSettings(
        6,
        rcutfac=4.5,
        rfac0=0.98,
        rmin0=0.1,
        bzeroflag=0,
        switchflag=0,
        elements=("Be", "Mg"),
        radelem={"Be": 0.5, "Mg": 0.6},
        wj={"Be": 1.0, "Mg": 0.8},
    )
    line = sna_atom_command(settings, "g", group="mobile")
    assert line == (
        "compute g mobile sna/atom 4.5 0.98 6 0.5 0.6 1.0 0.8 rmin0 0.1 bzeroflag 0 "
        "quadraticflag 0 switchflag 0"
    )
    with pytest.raises(ValueError, match="compute_id"):
        sna_atom_command(settings, "my sna")
    with pytest.raises(ValueError, match="settings.elements is not set"):
        sna_atom_command(QSnapSettings(6))


def test_grades_from_real_descriptors_equal_dense_computation():
    settings = QSnapSettings(4, quadraticflag=0, elements=("Be",))
    train = _be_cells(12, seed=1)
    blocks = compute_qsnap_blocks(train, settings)
    stats = SufficientStatistics(settings.n_columns())
    for b in blocks:
        stats.add(b)
    w_e, w_f = 50.0, 1.0
    dense = []
    for b in blocks:
        n = (b.shape[0] - 1) // 3
        dense.append(w_e * np.r_[1.0, b[0] / n])
        dense += [w_f * np.r_[0.0, r] for r in b[1:]]
    dense = np.array(dense)
    probe = np.vstack(per_atom_rows(_be_cells(3, seed=2), settings))
    grade = leverage_grade_from_statistics(stats, w_e, w_f, thresholds=(1, 2, 3))
    gram = dense.T @ dense
    assert np.linalg.matrix_rank(gram) == gram.shape[0]
    expected = np.einsum("ij,jk,ik->i", probe, np.linalg.pinv(gram), probe)
    np.testing.assert_allclose(grade.per_atom(probe), expected, rtol=1e-6)

    rows = per_atom_rows(train, settings)
    mv = maxvol_grade(rows)
    active = np.vstack(rows)[mv.active_set]
    brute = np.abs(np.linalg.solve(active.T, probe.T)).max(axis=0)
    np.testing.assert_allclose(mv.per_atom(probe), brute, rtol=1e-6)
    assert mv.per_atom(np.vstack(rows)).max() <= 1.001 + 1e-9
