"""A new user's first script, run as a new user runs it: a plain file without a main guard, in a
fresh HOME with no pyiron configuration and no ``PYIRON*`` variables.

The script imports a small FitSNAP JSON dataset (two groups, stresses), computes descriptors with
the FitSNAP linear SNAP preset on the default local pool, fits every configuration
(``test_fraction = 0``) with group weights, a stress weight and ZBL as reference potential,
prints the per-group error table, exports the potential and runs a short MD in pyiron's
``Lammps`` job.

The test then checks the chain independently of the package's own prediction code: the exported
potential files are run in LAMMPS (the ``lammps`` module, in this process) on every configuration
of the JSON files, and the energy, force and stress RMSEs computed here from those LAMMPS results
and the values in the files must equal the ``*ALL`` training rows of the printed table. A wrong
weight, reference, frame, unit or export would show up far above the tolerance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.units import GPa, bar

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import json
    import os

    from pyiron_appmlip import Project
    from pyiron_appmlip.potential.reference import ReferencePotential

    with open("runs.txt", "a") as marker:  # one line each time this file's body runs
        marker.write("ran\\n")

    pr = Project("first_hour")

    data = pr.create.job.AppmlipDataset("import")
    data.input.path = "cu_json"
    data.run()

    desc = pr.create.job.AppmlipDescriptors("descriptors")
    desc.structures = data.structures
    desc.use_preset("fitsnap_linear", twojmax=4)
    desc.run()

    fit = pr.create.job.AppmlipFit("fit")
    fit.set_descriptors(desc)
    fit.add_labels(data)
    fit.input.test_fraction = 0
    fit.weights = [(100.0, 1.0)]
    fit.input.stress_weight = 5.0
    fit.input.group_weights = {"bulk": [2.0, 1.0, 1.0], "rattled": [1.0, 3.0, 1.0]}
    fit.reference_potential = ReferencePotential.zbl("Cu", inner=3.0, outer=4.0)
    fit.run()

    table = fit.get_group_errors(0)
    print(table.to_string())

    model = fit.get_model(0)
    md = model.lammps_job(pr, "md")
    md.structure = pr.create.structure.bulk("Cu", cubic=True).repeat(2)
    md.structure.rattle(0.05, seed=3)
    md.calc_md(temperature=300, n_ionic_steps=20, n_print=10, time_step=1.0)
    md.run()

    with open("result.json", "w") as out:
        json.dump(
            {
                "fit_status": str(fit.status),
                "md_status": str(md.status),
                "md_steps": len(md.output.energy_pot),
                "md_energy": [float(e) for e in md.output.energy_pot],
                "table": table.to_dict(orient="records"),
                "fit_table": fit.get_table().drop(columns=["coefficients"], errors="ignore")
                .to_dict(orient="records"),
                "pair_config": list(md.potential["Config"].iloc[0]),
                "files": [os.path.abspath(f) for f in md.potential["Filename"].iloc[0]],
            },
            out,
            default=str,
        )
    """
)


def _cells():
    """Eight Cu cells in two groups: strained primitive cells and rattled cubic cells."""
    rng = np.random.default_rng(11)
    out = []
    for k, strain in enumerate([-0.03, -0.01, 0.0, 0.02, 0.04]):
        atoms = bulk("Cu", "fcc", a=3.6).repeat((2, 1, 1))
        cell = np.asarray(atoms.cell) @ (
            np.eye(3) * (1 + strain) + 0.01 * k * np.triu(np.ones(3), 1)
        )
        atoms.set_cell(cell, scale_atoms=True)
        atoms.positions += 0.04 * rng.standard_normal(atoms.positions.shape)
        out.append(("bulk", atoms))
    for k in range(7):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.set_cell(np.asarray(atoms.cell) * (0.97 + 0.01 * k), scale_atoms=True)
        atoms.positions += 0.08 * rng.standard_normal(atoms.positions.shape)
        out.append(("rattled", atoms))
    return out


def _write_dataset(root) -> list[dict]:
    """FitSNAP JSON files labelled with EMT; the values written, for the independent check."""
    values = []
    count = {}
    for group, atoms in _cells():
        k = count[group] = count.get(group, -1) + 1
        atoms.calc = EMT()
        energy = float(atoms.get_potential_energy())
        forces = atoms.get_forces()
        stress_bar = -atoms.get_stress(voigt=False) / bar  # FitSNAP: bar, pressure sign
        config = {
            "NumAtoms": len(atoms),
            "Lattice": np.asarray(atoms.cell).tolist(),
            "Positions": atoms.positions.tolist(),
            "AtomTypes": atoms.get_chemical_symbols(),
            "Energy": energy,
            "Forces": forces.tolist(),
            "Stress": stress_bar.tolist(),
        }
        dataset = {
            "Dataset": {
                "Data": [config],
                "LatticeStyle": "angstrom",
                "EnergyStyle": "electronvolt",
                "StressStyle": "bar",
                "PositionsStyle": "angstrom",
                "ForcesStyle": "electronvoltperangstrom",
                "AtomTypeStyle": "chemicalsymbol",
            }
        }
        os.makedirs(os.path.join(root, group), exist_ok=True)
        with open(os.path.join(root, group, f"{group}_{k}.json"), "w") as handle:
            handle.write("# EMT copper\n" + json.dumps(dataset))
        values.append(
            {
                "group": group,
                "atoms": Atoms(
                    atoms.get_chemical_symbols(),
                    positions=atoms.positions,
                    cell=atoms.cell,
                    pbc=True,
                ),
                "energy": energy,
                "forces": forces,
                "stress": atoms.get_stress(voigt=True),  # eV/Angstrom^3, ASE sign
            }
        )
    return values


def _lammps_evaluate(atoms: Atoms, pair_config: list[str], folder: str):
    """Energy (eV), forces (eV/Angstrom) and stress (ASE Voigt order and sign, eV/Angstrom^3) of
    ``atoms`` with the exported pair style, run in LAMMPS directly (no package code)."""
    from lammps import lammps

    lmp = lammps(cmdargs=["-screen", "none", "-log", "none"])
    try:
        cell = np.asarray(atoms.cell)
        # LAMMPS' lower-triangular frame: cell.T = Q R, L = R.T
        q, r = np.linalg.qr(cell.T)
        signs = np.sign(np.diag(r))
        q, r = q * signs, (r.T * signs).T
        lower = [[float(x) for x in row] for row in r.T]
        pos = (atoms.positions @ q).tolist()
        lmp.command("units metal")
        lmp.command("atom_style atomic")
        lmp.command("boundary p p p")
        lmp.command("atom_modify map array sort 0 0")
        lmp.command(
            f"region box prism 0 {lower[0][0]!r} 0 {lower[1][1]!r} 0 {lower[2][2]!r} "
            f"{lower[1][0]!r} {lower[2][0]!r} {lower[2][1]!r} units box"
        )
        lmp.command("create_box 1 box")
        lmp.command("mass 1 63.546")
        for p in pos:
            lmp.command(f"create_atoms 1 single {p[0]!r} {p[1]!r} {p[2]!r} units box remap yes")
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            for line in pair_config:
                line = line.strip()
                if line and not line.startswith("#"):
                    lmp.command(line)
            lmp.command("thermo_style custom pe pxx pyy pzz pyz pxz pxy")
            lmp.command("run 0")
        finally:
            os.chdir(cwd)
        energy = lmp.get_thermo("pe")
        pressure_bar = np.array(
            [lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")]
        )
        forces_l = np.array(lmp.numpy.extract_atom("f")[: len(atoms)], dtype=float)
    finally:
        lmp.close()
    forces = forces_l @ q.T
    # pressure tensor (bar, compressive positive) in the LAMMPS frame -> ASE stress
    p = pressure_bar
    tensor_l = np.array([[p[0], p[5], p[4]], [p[5], p[1], p[3]], [p[4], p[3], p[2]]])
    sigma = -(q @ tensor_l @ q.T) * bar
    stress = np.array(
        [sigma[0, 0], sigma[1, 1], sigma[2, 2], sigma[1, 2], sigma[0, 2], sigma[0, 1]]
    )
    return energy, forces, stress


def test_first_hour_script(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    values = _write_dataset(str(work / "cu_json"))
    (work / "first_hour.py").write_text(SCRIPT)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYIRON") and k not in ("CONDA_PREFIX",)
    }
    env["HOME"] = str(home)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([repo, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, "first_hour.py"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert (work / "runs.txt").read_text().count("ran") == 1, "the script body ran again"
    result = json.loads((work / "result.json").read_text())
    assert result["fit_status"] == "finished"
    assert result["md_status"] == "finished"
    assert result["md_steps"] == 3 and np.all(np.isfinite(result["md_energy"]))

    # every configuration trained, none held out: the fit table names training errors only
    (row,) = result["fit_table"]
    assert int(row["subset_size"]) == len(values)
    table = result["table"]
    assert {r["partition"] for r in table} == {"train"}
    groups = {r["group"] for r in table}
    assert groups == {"bulk", "rattled", "*ALL"}
    # the printed table is on stdout, with both groups
    assert "rattled" in proc.stdout and "*ALL" in proc.stdout

    # independent check: LAMMPS with the exported files against the values in the JSON files
    folder = os.path.dirname(result["files"][0])
    errors = {"energy": [], "force": [], "stress": []}
    per_group = {g: {"energy": [], "force": []} for g in ("bulk", "rattled")}
    for v in values:
        energy, forces, stress = _lammps_evaluate(v["atoms"], result["pair_config"], folder)
        n = len(v["atoms"])
        de = (energy - v["energy"]) / n * 1e3  # meV/atom
        df = ((forces - v["forces"]) * 1e3).ravel()  # meV/Angstrom
        ds = (stress - v["stress"]) / GPa  # GPa
        errors["energy"].append(de)
        errors["force"].extend(df)
        errors["stress"].extend(ds)
        per_group[v["group"]]["energy"].append(de)
        per_group[v["group"]]["force"].extend(df)

    def rmse(x):
        return float(np.sqrt(np.mean(np.square(x))))

    def row_of(group, quantity):
        (r,) = [r for r in table if r["group"] == group and r["quantity"] == quantity]
        return r

    for quantity in ("energy", "force", "stress"):
        r = row_of("*ALL", quantity)
        expected = rmse(errors[quantity])
        assert expected > 1e-3  # a real fit error, not zero by construction
        assert r["rmse"] == pytest.approx(expected, rel=1e-6), quantity
        assert r["mae"] == pytest.approx(float(np.mean(np.abs(errors[quantity]))), rel=1e-6)
    assert row_of("*ALL", "energy")["n_config"] == len(values)
    for group, errs in per_group.items():
        assert row_of(group, "energy")["rmse"] == pytest.approx(rmse(errs["energy"]), rel=1e-6)
        assert row_of(group, "force")["rmse"] == pytest.approx(rmse(errs["force"]), rel=1e-6)
        assert row_of(group, "energy")["n_config"] == len(errs["energy"])
