"""The active-learning loop with real parts: a GPAW pilot and its plan, LAMMPS MD with the fitted
potential, GPAW labels of the frames it chooses; compared with independent computations (scipy
least squares, numpy errors, recorded DFT times); resumed after a real ``SIGKILL``."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.linalg
from ase.build import bulk

pytestmark = pytest.mark.slow


def _application_cell():
    cell = bulk("Be", "hcp", a=2.29, c=3.58).repeat((2, 1, 1))
    del cell[0]
    return cell


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A pilot (GPAW levels 1 and 2 on 1-2 atom Be cells, 2Jmax 2 linear) and its plan."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project
    from pyiron_appmlip.jobs.pilot import (
        design_pilot_from_descriptors,
        pilot_sweep,
        run_pilot_labelling,
    )
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    pr = Project(str(tmp_path_factory.mktemp("loop") / "pr"))
    desc = pr.create.job.AppmlipDescriptors("candidates")
    desc.structures = list(rattled_strained_cells(14, element="Be", seed=4, max_atoms=2))
    desc.input.twojmax = 2
    desc.input.hyperparameters = {"quadraticflag": 0}
    desc.input.executor = "serial"
    desc.input.progress = False
    desc.run()
    costs = {1: {"per_atom": 1.0}, 2: {"per_atom": 4.0}}
    design = design_pilot_from_descriptors(desc, [1, 2], 2, costs, n_train=8, n_test=3, seed=0)
    jobs = run_pilot_labelling(pr, design, desc, executor="serial")
    sweep = pilot_sweep(pr, design, jobs, desc, subset_sizes=[4, 8], repetitions=2)
    sweep.input.executor = "serial"
    sweep.run()
    plan = pr.create.job.AppmlipPlan("plan")
    plan.set_pilot(sweep)
    plan.input.budget_core_hours = 1.0
    plan.run()
    return pr, plan


def _loop(pr, plan, name, **settings):
    loop = pr.create.job.AppmlipActiveLoop(name)
    loop.set_plan(plan)
    loop.set_application(_application_cell(), temperature=900, n_steps=60, grade_every=10)
    loop.input.budget_core_hours = settings.pop("budget", 0.05)
    loop.input.thresholds = {"collect": 2.0, "stop": 1e3}
    loop.input.max_iterations = 3
    loop.input.n_select = 2
    loop.input.n_test = 1
    loop.input.executor = "serial"
    for key, value in settings.items():
        loop.input[key] = value
    return loop


def _labels(job):
    lab = job.get_labels()
    return dict(zip(lab["ids"], zip(lab["energies"], lab["forces"], strict=True), strict=True))


def test_loop_against_independent_fits_errors_and_recorded_costs(planned):
    pr, plan = planned
    loop = _loop(pr, plan, "loop")
    loop.run()
    loop = pr.load("loop")
    table = loop.get_table()
    assert loop.status.finished and len(table) >= 2
    children = loop.child_project
    names = set(children.list_nodes())
    for k in table["iteration"]:
        assert {f"it{k}_md", f"it{k}_frames"} <= names
    # DFT core-hours: the recorded times of the loop's labelling jobs, never above the budget
    spent, added = {}, {}
    for name in names:
        if "_train_L" in name or "_test_L" in name:
            job = children.load(name)
            k = int(name[2 : name.index("_")])
            spent[k] = spent.get(k, 0.0) + float(np.nansum(job.get_labels()["wall_times"])) / 3600
            added[name] = len(job.get_labels()["ids"])
    assert spent, "the loop labelled nothing"
    for _, row in table.iterrows():
        assert row["dft_core_hours"] == pytest.approx(spent.get(row["iteration"], 0.0))
    assert table["dft_core_hours_total"].iloc[-1] == pytest.approx(sum(spent.values()))
    assert loop.output.dft_core_hours <= 0.05
    for _, row in table.iterrows():
        if row["n_train_added"]:
            name = f"it{row['iteration']}_train_L{row['train_level']}"
            assert added[name] == row["n_train_added"]
    # the training set grows by what was added
    grow = table["n_train"].diff().iloc[1:].to_numpy()
    assert np.array_equal(grow, table["n_train_added"].iloc[:-1].to_numpy())

    # the last model: an independent weighted least-squares fit (scipy) of its training labels
    desc = pr.load("candidates")
    train = {}
    level = str(loop.output.train_level)
    for job in [pr.load(f"pilot_L{level}")]:
        train.update(_labels(job))
    test_ids = set(loop.output.test_ids)
    train = {k: v for k, v in train.items() if k not in test_ids}
    blocks = dict(zip(desc.configuration_ids, desc.get_blocks(virial=False), strict=True))
    for name in names:
        if "_frames" in name:
            frames = children.load(name)
            blocks.update(
                zip(frames.configuration_ids, frames.get_blocks(virial=False), strict=True)
            )
    for name in names:
        if "_train_L" in name and int(name[2 : name.index("_")]) < table["iteration"].iloc[-1]:
            train.update(_labels(children.load(name)))
    assert sorted(train) == sorted(loop.output.train_ids)
    w_e, w_f = loop.output.weights
    rows, target = [], []
    for cid, (e, f) in train.items():
        b = blocks[cid]
        n = (b.shape[0] - 1) // 3
        rows.append(w_e * np.r_[1.0, b[0] / n])
        target.append(w_e * e / n)
        rows.extend(w_f * np.c_[np.zeros(3 * n), b[1 : 1 + 3 * n]])
        target.extend(w_f * np.asarray(f).ravel())
    beta = scipy.linalg.lstsq(np.array(rows), np.array(target))[0]
    model = loop.get_model()
    a = np.array(rows)
    np.testing.assert_allclose(a @ model.coefficients, a @ beta, rtol=1e-6, atol=1e-8)

    # held-out errors of the last model, recomputed with numpy on the final test set
    test = {}
    for job in [pr.load("pilot_L2")] + [children.load(n) for n in names if "_test_L" in n]:
        test.update({k: v for k, v in _labels(job).items() if k in test_ids})
    assert sorted(test) == sorted(test_ids)
    de, df = [], []
    for cid, (e, f) in test.items():
        b = blocks[cid]
        n = (b.shape[0] - 1) // 3
        de.append((n * model.coefficients[0] + b[0] @ model.coefficients[1:] - e) / n)
        df.extend(b[1 : 1 + 3 * n] @ model.coefficients[1:] - np.asarray(f).ravel())
    last = table.iloc[-1]
    assert last["energy_rmse_final_test"] == pytest.approx(1e3 * np.sqrt(np.mean(np.square(de))))
    assert last["force_rmse_final_test"] == pytest.approx(1e3 * np.sqrt(np.mean(np.square(df))))


def test_bad_input_names_the_parameter(planned):
    pr, plan = planned
    loop = _loop(pr, plan, "loop_poor", budget=1e-9)
    with pytest.raises(Exception, match="budget_core_hours=1e-09 pays not even one calculation"):
        loop.run()
    loop = _loop(pr, plan, "loop_thresholds")
    loop.input.thresholds = {"collect": 5.0, "stop": 2.0}
    with pytest.raises(ValueError, match="thresholds are out of order"):
        loop.validate_ready_to_run()
    with pytest.raises(ValueError, match="the application has no steps"):
        loop.set_application(_application_cell(), n_steps=0)


_SCRIPT = textwrap.dedent(
    """
    import sys
    from pyiron_base import state
    state.update()
    from pyiron_appmlip import Project
    pr = Project(sys.argv[1])
    loop = pr.load(sys.argv[2])
    loop.run()
    """
)


def _mtimes(job) -> dict:
    out = {}
    for root, _, files in os.walk(job.working_directory):
        for name in files:
            path = os.path.join(root, name)
            out[path] = os.stat(path).st_mtime_ns
    h5 = job.project_hdf5.file_name
    out[h5] = os.stat(h5).st_mtime_ns
    return out


def test_loop_killed_after_its_first_labelling_job_resumes_without_recomputing(planned):
    pr, plan = planned
    loop = _loop(pr, plan, "loop_killed")
    loop.save()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, pr.path, "loop_killed"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    children = loop.child_project
    deadline = time.time() + 600
    first = None
    try:
        while time.time() < deadline and proc.poll() is None:
            table = children.job_table(recursive=False)
            if len(table) == 0:
                time.sleep(0.2)
                continue
            done = table[
                table["job"].str.startswith("it0_train_L") & (table["status"] == "finished")
            ]
            if len(done):
                first = str(done["job"].iloc[0])
                break
            time.sleep(0.2)
        assert first is not None, proc.stderr.read().decode()[-3000:] if proc.poll() else "slow"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not pr.load("loop_killed").status.finished  # the kill interrupted the loop
    before = {}
    for name in ("it0_md", "it0_frames", first):
        job = children.load(name)
        before[name] = (job.job_id, _mtimes(job))
    sp = children.open(first + "_hdf5")
    sp_before = {n: (sp.get_job_id(n), _mtimes(sp.load(n))) for n in sp.list_nodes()}
    assert sp_before

    loop = pr.load("loop_killed")
    loop.resume()
    loop = pr.load("loop_killed")
    assert loop.status.finished
    for name, (job_id, mtimes) in before.items():
        job = children.load(name)
        assert job.job_id == job_id, name
        assert _mtimes(job) == mtimes, name
    for name, (job_id, mtimes) in sp_before.items():
        assert sp.get_job_id(name) == job_id
        assert _mtimes(sp.load(name)) == mtimes
    # the same decisions as a loop that was never interrupted
    if pr.get_job_id("loop") is None:
        _loop(pr, plan, "loop").run()
    whole = pr.load("loop").get_table()
    again = loop.get_table()
    assert list(again["n_train"]) == list(whole["n_train"])
    assert list(again["max_grade"].round(6)) == pytest.approx(list(whole["max_grade"].round(6)))
