"""The FitSNAP backend gives the same blocks as the LAMMPS backend."""

import numpy as np
import pytest
from ase.build import bulk
from scipy.spatial.transform import Rotation

pytest.importorskip("fitsnap3lib")

from pyiron_appmlip.descriptors import (  # noqa: E402
    QSnapSettings,
    compute_qsnap_blocks,
    compute_qsnap_blocks_fitsnap,
)

A, C = 2.2858, 3.5843


def structures():
    cubic = bulk("Be", "bcc", a=2.55, cubic=True).repeat((2, 1, 1))
    cubic.rattle(0.08, seed=1)
    hcp = bulk("Be", "hcp", a=A, c=C).repeat((2, 2, 1))
    hcp.rattle(0.1, seed=2)
    tri = bulk("Be", "hcp", a=A, c=C).repeat((2, 1, 1))
    tri.rattle(0.1, seed=3)
    shear = np.array([[1.0, 0.2, 0.1], [0.0, 1.0, 0.3], [0.0, 0.0, 1.1]])
    rot = Rotation.from_euler("xyz", [20, 40, 70], degrees=True).as_matrix()
    tri.set_cell(tri.cell @ shear @ rot.T, scale_atoms=True)
    return [cubic, hcp, tri]


@pytest.mark.parametrize("twojmax,virial", [(4, False), (6, True)])
def test_same_blocks_as_lammps_backend(twojmax, virial):
    structs = structures()
    ref = compute_qsnap_blocks(structs, twojmax, virial=virial)
    got = compute_qsnap_blocks_fitsnap(structs, twojmax, virial=virial)
    for r, g in zip(ref, got, strict=True):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-10 * np.abs(r).max())


def test_same_blocks_binary():
    atoms = bulk("Be", "hcp", a=A, c=C).repeat((2, 2, 1))
    atoms.rattle(0.08, seed=5)
    atoms.numbers[[0, 5]] = 13  # Al
    s = QSnapSettings(4, elements=("Be", "Al"), radelem=[0.5, 0.55], wj=[1.0, 0.9])
    (ref,) = compute_qsnap_blocks([atoms], s)
    (got,) = compute_qsnap_blocks_fitsnap([atoms], s)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    assert got[0, -1] == 2


def test_fitsnap_backend_validates_like_lammps():
    atoms = structures()[1]
    atoms.positions[1] = atoms.positions[0] + [0.2, 0, 0]
    with pytest.raises(ValueError, match="overlapping atoms"):
        compute_qsnap_blocks_fitsnap([atoms], 4)


def test_bzeroflag_0_one_element_and_the_refusal_for_several():
    """FitSNAP adds a column per element with bzeroflag 0 (left out here); it computes that for
    one element only, so several elements are refused with the way out."""
    structs = structures()
    s = QSnapSettings(4, bzeroflag=0, elements=("Be",))
    for ref, got in zip(
        compute_qsnap_blocks(structs, s, virial=True),
        compute_qsnap_blocks_fitsnap(structs, s, virial=True),
        strict=True,
    ):
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    atoms = structs[1].copy()
    atoms.numbers[[0, 5]] = 13  # Al
    binary = QSnapSettings(4, bzeroflag=0, elements=("Be", "Al"))
    assert compute_qsnap_blocks([atoms], binary)[0].shape[1] == binary.n_columns()
    with pytest.raises(ValueError, match="bzeroflag 0 for one element only.*backend 'lammps'"):
        compute_qsnap_blocks_fitsnap([atoms], binary)
