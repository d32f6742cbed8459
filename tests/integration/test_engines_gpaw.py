import numpy as np
import pytest
from ase import Atoms

from pyiron_appmlip.dft.engines import MissingSetupError, SinglePointResult, check_setups, run_gpaw
from pyiron_appmlip.dft.engines.gpaw import gpaw_calculator_parameters
from pyiron_appmlip.dft.levels import ConvergenceLevel


def be_atom(a=3.2):
    return Atoms("Be", positions=[[0.1, 0.0, 0.0]], cell=[a, a * 1.05, a * 0.95], pbc=True)


def be_dimer():
    return Atoms(
        "Be2", positions=[[0.0, 0.0, 0.0], [1.0, 1.2, 1.1]], cell=[3.5, 3.6, 3.3], pbc=True
    )


def test_calculator_parameters_follow_the_level():
    atoms = be_atom()
    params = gpaw_calculator_parameters(atoms, 2)
    assert params["mode"].todict() == {"name": "pw", "ecut": 300.0}
    assert params["kpts"] == {"size": (2, 2, 3), "gamma": True}
    assert params["occupations"] == {"name": "methfessel-paxton", "width": 0.2, "order": 1}
    assert params["symmetry"] == "off"
    assert params["xc"] == "PBE"
    assert gpaw_calculator_parameters(atoms, 1)["kpts"]["size"] == (1, 1, 1)
    assert gpaw_calculator_parameters(atoms, 1, maxiter=7)["maxiter"] == 7


def test_energy_reproducible_forces_and_stress():
    atoms = be_atom()
    first = run_gpaw(atoms, 1)
    second = run_gpaw(atoms, 1)
    assert first.status == "finished", first.error
    assert first.converged
    assert abs(first.energy - second.energy) < 1e-6
    assert first.forces.shape == (1, 3)
    assert np.all(np.isfinite(first.forces))
    assert first.stress.shape == (6,)
    assert np.all(np.isfinite(first.stress))
    assert first.engine == "gpaw" and first.engine_version
    assert first.pseudopotentials.startswith("gpaw-data")
    assert first.kmesh == (1, 1, 1) and first.n_kpoints == 1
    assert first.wall_time > 0 and first.n_scf_iterations > 0
    # the calculation's own CPU time: positive, and (one thread) not above its wall time
    assert 0 < first.cpu_time <= first.wall_time * 1.05 + 0.05
    assert type(first).from_dict(first.to_dict()).cpu_time == first.cpu_time
    assert first.level["encut"] == 300.0 and first.level["kspacing"] is None
    # the input is not modified (no calculator attached to the caller's atoms)
    assert atoms.calc is None


def test_kpoints_level_2_and_forces_of_a_dimer():
    result = run_gpaw(be_dimer(), 2)
    assert result.status == "finished", result.error
    assert result.kmesh == (2, 2, 2)
    assert result.n_kpoints == 8  # no symmetry reduction
    assert result.forces.shape == (2, 3)
    # momentum conservation: the two forces are opposite
    assert np.allclose(result.forces.sum(axis=0), 0.0, atol=1e-3)
    # free energy and sigma->0 energy differ by smearing only
    assert abs(result.energy - result.energy_zero) < 0.1


def test_unconverged_scf_is_failed_without_data():
    result = run_gpaw(be_atom(), 1, maxiter=2)
    assert result.status == "failed"
    assert not result.ok
    assert "maxiter=2" in result.error
    assert result.energy is None and result.forces is None and result.stress is None
    record = result.to_dict()
    assert np.isnan(record["energy"]) and record["forces"].shape == (1, 3)
    assert SinglePointResult.from_dict(record).energy is None


def test_crash_is_failed_not_raised():
    # an invalid mode makes GPAW raise inside the calculation
    result = run_gpaw(be_atom(), ConvergenceLevel(kspacing=None, encut=300), mode="nonsense")
    assert result.status == "failed"
    assert result.error


def test_missing_setup_raises_before_running():
    with pytest.raises(MissingSetupError, match=r"element\(s\) \['U'\].*xc='PBE'"):
        run_gpaw(Atoms("U", cell=[3, 3, 3], pbc=True), 1)
    check_setups(["Be", "Be"], "PBE")
    with pytest.raises(ValueError, match="level must be one of"):
        run_gpaw(be_atom(), 9)


def test_result_record_round_trip_and_guard():
    good = run_gpaw(be_atom(), 1)
    again = SinglePointResult.from_dict(good.to_dict())
    assert again.energy == good.energy
    assert np.array_equal(again.forces, good.forces)
    assert again.kmesh == good.kmesh
    # a "finished" record without forces is turned into a failed one
    bad = SinglePointResult(status="finished", engine="gpaw", n_atoms=1, energy=1.0)
    assert bad.status == "failed" and "forces" in bad.error
    with pytest.raises(ValueError, match="status must be one of"):
        SinglePointResult(status="done", engine="gpaw")
