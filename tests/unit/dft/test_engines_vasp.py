"""VASP engine: input written for a level, and parsing of real VASP output files shipped with ASE.

VASP itself does not run here. pyiron needs POTCARs to write input, so a fixture installs fake
POTCAR files (a few header lines, enough for pyiron) and a fake VASP executable that copies a real
vasprun.xml from ASE's test data into the working directory.
"""

import os
import shutil
import stat

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

from pyiron_appmlip.dft.engines.vasp import (
    configure_vasp_job,
    parse_vasp_output,
    run_vasp,
    vasp_incar,
    vasp_kpoints,
    write_vasp_input,
)
from pyiron_appmlip.dft.levels import kmesh

ASE_VASP_DATA = os.path.join(
    os.path.dirname(__import__("ase.test", fromlist=["x"]).__file__), "testdata", "vasp"
)
VASPRUN = os.path.join(ASE_VASP_DATA, "vasprun_pstress.xml")  # C diamond, 2 atoms, static
OUTCAR = os.path.join(ASE_VASP_DATA, "OUTCAR_example_1")  # Ni, 18 atoms, Gamma only, static


def be_cell():
    return Atoms(
        "Be2",
        positions=[[0.0, 0.0, 0.0], [1.1, 0.7, 1.8]],
        cell=[[2.3, 0.0, 0.0], [-1.1, 2.0, 0.0], [0.2, 0.1, 3.6]],
        pbc=True,
    )


def read_incar(path):
    tags = {}
    with open(path) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            if "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                tags[key.upper()] = value
    return tags


def read_kpoints(path):
    with open(path) as handle:
        lines = [line.strip() for line in handle]
    return lines[2], tuple(int(v) for v in lines[3].split()), lines[4]


@pytest.fixture
def vasp_resources(project):
    """Fake POTCARs for Be and C and a fake VASP executable in the session's pyiron resources."""
    from pyiron_base import state

    root = os.path.join(str(state.settings.resource_paths[0]), "vasp")
    potentials = os.path.join(root, "potentials")
    for element, valence, enmax in (("Be", 2, 247.543), ("C", 4, 400.0)):
        folder = os.path.join(potentials, "paw-gga-pbe", element)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "POTCAR"), "w") as handle:
            handle.write(
                f"  PAW_PBE {element} fake\n {valence}.000\n"
                f"   ENMAX  =  {enmax}; ENMIN  =  100.000 eV\n"
                f"   ZVAL   =    {valence}.000    mass and valenz\n"
            )
    with open(os.path.join(potentials, "potentials_vasp.csv"), "w") as handle:
        handle.write(",Config,Filename,Model,Name,Species\n")
        handle.write("0,['2s2\\n'],['paw-gga-pbe/Be/POTCAR'],gga-pbe,Be-gga-pbe,['Be']\n")
        handle.write("1,['2s2 2p2\\n'],['paw-gga-pbe/C/POTCAR'],gga-pbe,C-gga-pbe,['C']\n")
    with open(os.path.join(potentials, "potentials_vasp_pbe_default.csv"), "w") as handle:
        handle.write(",Name\nBe,Be-gga-pbe\nC,C-gga-pbe\n")
    bin_dir = os.path.join(root, "bin")
    os.makedirs(bin_dir, exist_ok=True)
    scripts = {
        "run_vasp_6.3.0.sh": f"#!/bin/bash\ncp {VASPRUN} vasprun.xml\n",
        "run_vasp_0.0.1.sh": "#!/bin/bash\necho 'VASP crashed' >&2\nexit 1\n",
    }
    for name, text in scripts.items():
        path = os.path.join(bin_dir, name)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    yield project
    shutil.rmtree(root, ignore_errors=True)


def test_incar_and_kpoints_of_a_level():
    tags = vasp_incar(3)
    assert tags["ENCUT"] == 400.0
    assert tags["ISMEAR"] == 1 and tags["SIGMA"] == 0.2
    assert tags["IBRION"] == -1 and tags["NSW"] == 0 and tags["ISYM"] == 0
    assert tags["PREC"] == "Accurate"
    assert tags["LWAVE"] is False and tags["LCHARG"] is False
    assert "KSPACING" not in tags
    assert vasp_incar(1, maxiter=7)["NELM"] == 7
    text = vasp_kpoints(be_cell().cell, 1).splitlines()
    assert text[2] == "Gamma" and text[3] == "1 1 1"
    assert vasp_kpoints(be_cell().cell, 2).splitlines()[3] == "{} {} {}".format(
        *kmesh(be_cell().cell, 1.0)
    )


def test_write_vasp_input_with_ase(tmp_path):
    atoms = be_cell()
    paths = write_vasp_input(atoms, 4, tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["INCAR", "KPOINTS", "POSCAR"]
    back = read(paths["POSCAR"], format="vasp")
    assert np.allclose(back.get_positions(), atoms.get_positions())
    assert np.allclose(back.get_cell(), atoms.get_cell())
    incar = read_incar(paths["INCAR"])
    assert float(incar["ENCUT"]) == 500.0 and incar["ISMEAR"] == "1"
    assert incar["ISYM"] == "0" and incar["LWAVE"] == ".FALSE."
    style, mesh, shift = read_kpoints(paths["KPOINTS"])
    assert style == "Gamma" and mesh == kmesh(atoms.cell, 0.5) and shift == "0 0 0"


def test_configure_pyiron_vasp_job_writes_level_input(vasp_resources):
    pr = vasp_resources
    atoms = be_cell()
    job = configure_vasp_job(pr.create.job.Vasp("be_level_2"), atoms, 2, maxiter=50)
    os.makedirs(job.working_directory, exist_ok=True)
    job.write_input()
    folder = job.working_directory
    assert {"INCAR", "KPOINTS", "POSCAR", "POTCAR"} <= set(os.listdir(folder))
    incar = read_incar(os.path.join(folder, "INCAR"))
    assert float(incar["ENCUT"]) == 300.0
    assert incar["ISMEAR"] == "1" and float(incar["SIGMA"]) == 0.2
    assert incar["IBRION"] == "-1" and incar["NSW"] == "0" and incar["ISYM"] == "0"
    assert incar["PREC"] == "Accurate" and incar["NELM"] == "50"
    assert incar["LWAVE"] == ".FALSE." and incar["LCHARG"] == ".FALSE."
    assert "KSPACING" not in incar
    style, mesh, _ = read_kpoints(os.path.join(folder, "KPOINTS"))
    assert style.lower().startswith("gamma") and mesh == kmesh(atoms.cell, 1.0) == (4, 4, 2)
    poscar = read(os.path.join(folder, "POSCAR"), format="vasp")
    assert np.allclose(poscar.get_cell(), atoms.get_cell())
    assert np.allclose(poscar.get_positions(), atoms.get_positions())
    # Gamma only at level 1
    job1 = configure_vasp_job(pr.create.job.Vasp("be_level_1"), atoms, 1)
    os.makedirs(job1.working_directory, exist_ok=True)
    job1.write_input()
    assert read_kpoints(os.path.join(job1.working_directory, "KPOINTS"))[1] == (1, 1, 1)


def test_parse_vasprun_xml():
    result = parse_vasp_output(VASPRUN, level=2)
    assert result.status == "finished", result.error
    assert result.engine == "vasp" and result.engine_version == "6.3.0"
    assert result.n_atoms == 2 and result.forces.shape == (2, 3)
    assert result.energy == pytest.approx(-20.24695937, abs=1e-7)  # e_fr_energy, free energy
    assert result.energy_zero == pytest.approx(-20.24720095, abs=1e-7)  # e_0_energy
    # VASP prints the pressure in kBar with the opposite sign; ASE convention in eV/A^3
    assert result.stress.shape == (6,) and result.stress[0] == pytest.approx(0.10360632)
    assert result.kmesh == (4, 4, 4) and result.n_kpoints == 10
    assert result.n_scf_iterations == 9
    assert result.wall_time == pytest.approx(0.12)
    assert result.pseudopotentials == "PAW C 22Mar2012"
    assert result.level["encut"] == 300.0


def test_parse_outcar_and_directory(tmp_path):
    result = parse_vasp_output(OUTCAR)
    assert result.status == "finished", result.error
    assert result.n_atoms == 18 and result.forces.shape == (18, 3)
    assert result.energy == pytest.approx(-68.22868532)
    assert result.energy_zero == pytest.approx(-68.23102426)
    assert result.n_scf_iterations == 63 and result.n_kpoints == 1 and result.kmesh == (1, 1, 1)
    assert result.wall_time == pytest.approx(124.967)
    assert result.engine_version == "5.3.3"
    # a directory: vasprun.xml is preferred, OUTCAR supplies the elapsed time
    shutil.copy(VASPRUN, tmp_path / "vasprun.xml")
    assert parse_vasp_output(tmp_path).energy == pytest.approx(-20.24695937, abs=1e-7)


def test_parse_unconverged_and_missing(tmp_path):
    with open(OUTCAR) as handle:
        text = handle.read()
    # the run used 63 electronic steps; with NELM = 63 it hit the limit: not converged
    assert "NELM   =    120" in text
    (tmp_path / "OUTCAR").write_text(text.replace("NELM   =    120", "NELM   =     63"))
    result = parse_vasp_output(tmp_path / "OUTCAR")
    assert result.status == "failed" and "not converged" in result.error
    assert result.energy is None and result.forces is None
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = parse_vasp_output(empty)
    assert missing.status == "failed" and "no vasprun.xml or OUTCAR" in missing.error


def test_run_vasp_through_pyiron_with_a_fake_executable(vasp_resources):
    pr = vasp_resources
    atoms = read(VASPRUN, index=0)
    result = run_vasp(atoms, 2, pr, "c_fake", executable_version="6.3.0")
    assert result.status == "finished", result.error
    assert result.energy == pytest.approx(-20.24695937, abs=1e-7)
    assert pr.load("c_fake").status.finished
    crashed = run_vasp(atoms, 2, pr, "c_crash", executable_version="0.0.1")
    assert crashed.status == "failed" and "c_crash" in crashed.error


def test_labelling_job_with_the_vasp_engine(vasp_resources):
    pr = vasp_resources
    atoms = read(VASPRUN, index=0)
    job = pr.create.job.AppmlipLabelling("c_labels")
    job.structures = [atoms]
    job.level = 2
    job.engine = "vasp"
    job.input.engine_options = {"executable_version": "6.3.0"}
    job.run()
    assert job.status.finished, job.failed
    labels = job.get_labels()
    assert labels["engine"] == "vasp"
    assert labels["energies"][0] == pytest.approx(-20.24695937, abs=1e-7)
    assert labels["forces"][0].shape == (2, 3)
    table = pr.job_table()
    vasp_job = table[table.hamilton == "Vasp"]
    assert len(vasp_job) == 1 and vasp_job.status.iloc[0] == "finished"
    # the Vasp job belongs to the single point, which belongs to the labelling job
    single = table[table.hamilton == "AppmlipSinglePoint"]
    assert int(vasp_job.masterid.iloc[0]) == int(single.id.iloc[0])
    assert int(single.masterid.iloc[0]) == job.job_id
