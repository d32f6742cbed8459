"""Labelling jobs with real GPAW on tiny Be cells (1-2 atoms, levels 1 and 2)."""

import numpy as np
import pytest
from ase import Atoms

import pyiron_appmlip.jobs.labelling as labelling
from pyiron_appmlip.dft.engines import MissingSetupError
from pyiron_appmlip.dft.levels import ConvergenceLevel
from pyiron_appmlip.structures.checks import DuplicateStructuresWarning
from pyiron_appmlip.structures.conversion import configuration_id


def tiny_be():
    """Two one-atom cells and a dimer; level 2 gives 8-18 k-points each (about 1 s)."""
    return [
        Atoms("Be", positions=[[0, 0, 0]], cell=[3.0, 3.15, 2.85], pbc=True),
        Atoms("Be", positions=[[0.2, 0, 0]], cell=[3.4, 3.3, 3.6], pbc=True),
        Atoms("Be2", positions=[[0, 0, 0], [1.0, 1.2, 1.1]], cell=[3.5, 3.6, 3.3], pbc=True),
    ]


def count_gpaw_calls(monkeypatch):
    calls = []
    original = labelling.run_gpaw

    def counting(atoms, *args, **kwargs):
        calls.append(configuration_id(atoms))
        return original(atoms, *args, **kwargs)

    monkeypatch.setattr(labelling, "run_gpaw", counting)
    return calls


def make_job(pr, name, structures, level, **options):
    job = pr.create.job.AppmlipLabelling(name)
    job.structures = structures
    job.level = level
    job.engine = "gpaw"
    job.input.engine_options = options
    job.input.executor = "serial"  # these tests count and interrupt calculations here
    return job


@pytest.mark.slow
def test_labelling_levels_1_and_2_reload_from_database(project):
    from pyiron_appmlip import Project

    structures = tiny_be()
    ids = [configuration_id(s) for s in structures]
    jobs = {}
    for level in (1, 2):
        job = make_job(project, f"be_level_{level}", structures, level)
        job.run()
        assert job.status.finished, job.failed
        jobs[level] = job

    table = project.job_table()
    children = table[table.job.str.startswith(labelling.CHILD_PREFIX)]
    assert len(children) == 6 and set(children.status) == {"finished"}
    assert set(children.masterid.astype(int)) == {jobs[1].job_id, jobs[2].job_id}
    assert {f"{labelling.CHILD_PREFIX}{cid}" for cid in ids} == set(children.job)

    fresh = Project(project.path)
    labels = {}
    for level in (1, 2):
        job = fresh.load(f"be_level_{level}")
        assert job.status.finished
        assert job.level_name == str(level)
        data = job.get_labels()
        assert data["ids"] == ids
        assert data["energies"].shape == (3,) and np.all(np.isfinite(data["energies"]))
        assert [f.shape for f in data["forces"]] == [(1, 3), (1, 3), (2, 3)]
        assert data["stress"].shape == (3, 6) and np.all(np.isfinite(data["stress"]))
        assert np.all(data["wall_times"] > 0)
        assert list(data["n_atoms"]) == [1, 1, 2]
        assert data["engine"] == "gpaw" and data["level"]["encut"] == 300.0
        assert job.output.n_finished == 3 and job.output.n_failed == 0
        assert job.output.dft_seconds == pytest.approx(data["wall_times"].sum())
        labels[level] = data
    assert list(labels[1]["n_kpoints"]) == [1, 1, 1]
    assert np.all(labels[2]["n_kpoints"] > 1)
    # the dimer's forces are opposite and not zero
    dimer_forces = labels[2]["forces"][2]
    assert np.allclose(dimer_forces.sum(axis=0), 0, atol=1e-3)
    assert np.abs(dimer_forces).max() > 0.01
    # the same record through the child job
    child = fresh.load(labels[2]["child_ids"][0])
    assert child.result.energy == pytest.approx(labels[2]["energies"][0], abs=1e-12)
    # paper Table 3 style comparison of level 1 against level 2
    comparison = jobs[1].compare_to(jobs[2], bulk_id=ids[0])
    assert comparison.n_configs == 3
    assert comparison.energy_unshifted > 0 and np.isfinite(comparison.energy_bulk_shifted)
    assert comparison.force > 0


def test_failed_calculation_recorded_excluded_and_retried(project, monkeypatch):
    structures = tiny_be()[:2] + [
        Atoms("Be", positions=[[0, 0, 0]], cell=[3.2, 3.2, 3.0], pbc=True)
    ]
    ids = [configuration_id(s) for s in structures]
    job = make_job(project, "retry", structures, 1)
    job.input.engine_options_by_id = {ids[1]: {"maxiter": 2}}  # forced SCF failure
    calls = count_gpaw_calls(monkeypatch)
    job.run()
    assert calls == ids
    assert job.status.string == "not_converged"
    assert list(job.failed) == [ids[1]] and "maxiter=2" in job.failed[ids[1]]
    table = project.job_table()
    status = dict(zip(table.job, table.status, strict=True))
    assert status[labelling.CHILD_PREFIX + ids[1]] == "aborted"
    assert status[labelling.CHILD_PREFIX + ids[0]] == "finished"
    labels = job.get_labels()
    assert labels["ids"] == [ids[0], ids[2]]
    everything = job.get_labels(only_finished=False)
    assert everything["status"] == ["finished", "failed", "finished"]
    assert np.isnan(everything["energies"][1])
    before = job.get_labels(only_finished=False)

    # retry: only the failed configuration runs again
    job.input.engine_options_by_id = {}
    calls.clear()
    job.rerun_failed()
    assert calls == [ids[1]]
    assert job.status.finished
    after = job.get_labels()
    assert after["ids"] == ids
    for m in (0, 2):
        assert after["child_ids"][m] == before["child_ids"][m]
        assert after["wall_times"][m] == before["wall_times"][m]
        assert after["energies"][m] == before["energies"][m]
    assert after["child_ids"][1] != before["child_ids"][1]
    # nothing left to do: a second retry computes nothing
    calls.clear()
    job.rerun_failed()
    assert calls == [] and job.status.finished


def test_interrupted_run_resumes_without_recomputing(project, monkeypatch):
    structures = tiny_be()
    ids = [configuration_id(s) for s in structures]
    original = labelling.run_gpaw
    calls = []

    def interrupted(atoms, *args, **kwargs):
        calls.append(configuration_id(atoms))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies in the middle of the second calculation
        return original(atoms, *args, **kwargs)

    monkeypatch.setattr(labelling, "run_gpaw", interrupted)
    job = make_job(project, "interrupted", structures, 1)
    with pytest.raises(KeyboardInterrupt):
        job.run()
    assert not job.status.finished
    first = calls[0]  # the calculations run dearest first, not in input order
    first_child = project.job_table().query(f"job == '{labelling.CHILD_PREFIX}{first}'")
    assert list(first_child.status) == ["finished"]

    # a new session: load the master by name and resume
    from pyiron_appmlip import Project

    monkeypatch.setattr(labelling, "run_gpaw", original)
    calls = count_gpaw_calls(monkeypatch)
    resumed = Project(project.path).load("interrupted")
    resumed.rerun_failed()
    assert sorted(calls) == sorted(set(ids) - {first})
    assert resumed.status.finished
    assert resumed.get_labels()["child_ids"][ids.index(first)] == int(first_child.id.iloc[0])
    # removing the master removes its children (a fresh start)
    resumed.remove()
    assert len(project.job_table()) == 0


def test_single_point_job(project):
    atoms = tiny_be()[0]
    job = project.create.job.AppmlipSinglePoint("single")
    job.structure = atoms
    job.level = 1
    job.run()
    assert job.status.finished
    result = job.result
    assert result.status == "finished" and result.forces.shape == (1, 3)
    assert result.engine == "gpaw" and result.wall_time > 0
    assert job.configuration_id == configuration_id(atoms)
    assert "gpaw.txt" in job.files.list()

    failing = project.create.job.AppmlipSinglePoint("single_failing")
    failing.structure = atoms
    failing.level = ConvergenceLevel(kspacing=None, encut=250.0)
    failing.input.engine_options = {"maxiter": 2}
    failing.run()
    assert failing.status.aborted
    assert failing.output.status == "failed" and "maxiter=2" in failing.output.error
    assert failing.result.energy is None
    table = project.job_table()
    assert dict(zip(table.job, table.status, strict=True))["single_failing"] == "aborted"


def test_clear_errors(project):
    job = project.create.job.AppmlipLabelling("errors")
    with pytest.raises(ValueError, match=r"engine must be one of \['gpaw', 'vasp'\], got 'abinit'"):
        job.engine = "abinit"
    with pytest.raises(
        ValueError, match=r"level must be one of the paper levels \[1, 2, 3, 4, 5, 6\]"
    ):
        job.level = 7
    with pytest.raises(ValueError, match="structures must be a non-empty list"):
        job.structures = []
    with pytest.raises(ValueError, match="structures is empty"):
        job.run()
    # a configuration given twice is kept once, with a warning naming it and its positions
    a, b = tiny_be()[:2]
    with pytest.warns(
        DuplicateStructuresWarning, match=rf"id {configuration_id(a)} at position 0, position 2"
    ):
        job.structures = [a, b, a.copy()]
    assert job.configuration_ids == [configuration_id(a), configuration_id(b)]
    # one structure is a list of one; a list of atoms is not a structure
    job.structures = a
    assert job.configuration_ids == [configuration_id(a)]
    with pytest.raises(
        TypeError, match=r"job.structures\[0\] is a single atom \(ase.Atom\).*list of"
    ):
        job.structures = list(a)

    job = project.create.job.AppmlipLabelling("unknown_engine")
    job.structures = tiny_be()[:1]
    job.input.engine = "abinit"  # bypassing the setter is caught before running
    with pytest.raises(ValueError, match=r"engine must be one of \['gpaw', 'vasp'\]"):
        job.run()

    job = project.create.job.AppmlipLabelling("no_setup")
    job.structures = [Atoms("U", cell=[3, 3, 3], pbc=True), tiny_be()[0]]
    with pytest.raises(MissingSetupError, match=r"\['U'\]"):
        job.run()

    job = project.create.job.AppmlipLabelling("bad_override")
    job.structures = tiny_be()[:1]
    job.input.engine_options_by_id = {"0123456789abcdef": {"maxiter": 3}}
    with pytest.raises(ValueError, match="engine_options_by_id"):
        job.run()
    with pytest.raises(ValueError, match="no labels yet"):
        job.get_labels()


def test_non_modal_master(project):
    job = make_job(project, "background", tiny_be()[:1], 1)
    job.server.run_mode.non_modal = True
    job.run()
    project.wait_for_job(job, interval_in_s=0.5, max_iterations=240)
    loaded = project.load("background")
    assert loaded.status.finished, loaded.output.run_error
    assert len(loaded.get_labels()["ids"]) == 1
    table = project.job_table()
    assert (table.masterid == loaded.job_id).sum() == 1


def test_two_local_workers_give_the_serial_labels_and_children(project):
    structures = tiny_be()
    results = {}
    for executor in ("serial", 2):
        job = make_job(project, f"workers_{executor}", structures, 1)
        job.input.executor = executor
        job.run()
        assert job.status.finished
        results[executor] = job.get_labels(only_finished=False)
        assert job.output.workers == (
            "1 worker (serial, in this process)" if executor == "serial" else "2 local workers"
        )
        table = project.job_table()
        children = table[table.job.str.startswith(labelling.CHILD_PREFIX)]
        own = children[children.masterid == job.job_id]
        assert len(own) == len(structures) and set(own.status) == {"finished"}
        for cid in job.configuration_ids:  # every child holds its own result
            child = job.child_project.load(job.child_name(cid))
            k = job.configuration_ids.index(cid)
            assert child.result.energy == results[executor]["energies"][k]
    a, b = results["serial"], results[2]
    assert a["ids"] == b["ids"] and a["status"] == b["status"]
    # The same function with the same arguments; GPAW in this test process (which has loaded
    # LAMMPS and other BLAS users before) and in a fresh worker may differ in the last digits.
    np.testing.assert_allclose(a["energies"], b["energies"], rtol=0, atol=1e-10)
    for fa, fb in zip(a["forces"], b["forces"], strict=True):
        np.testing.assert_allclose(fa, fb, rtol=0, atol=1e-10)


def test_finished_calculations_are_reused_only_with_the_same_result_options(project, monkeypatch):
    structures = tiny_be()[:2]
    job = make_job(project, "options", structures, 1)
    calls = count_gpaw_calls(monkeypatch)
    job.run()
    assert len(calls) == 2 and job.output.n_computed == 2
    # an SCF iteration limit does not change a converged result: everything is reused
    job.input.engine_options = {"maxiter": 300}
    calls.clear()
    job.rerun_failed()
    assert calls == [] and job.output.n_reused == 2
    # a convergence criterion does: both are computed again with it
    job.input.engine_options = {"convergence": {"energy": 1e-7, "density": 1e-5}}
    calls.clear()
    job.rerun_failed()
    assert sorted(calls) == sorted(job.configuration_ids)
    assert job.output.n_reused == 0 and job.status.finished
