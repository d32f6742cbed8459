"""Labelling jobs under hostile conditions, with real GPAW on one-atom Be cells at level 1.

Processes are really killed (``SIGKILL`` from inside a subprocess at a chosen moment) and run
concurrently (two subprocesses on one job); nothing is simulated by editing pyiron's files.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from ase import Atoms

import pyiron_appmlip.jobs.labelling as labelling
from pyiron_appmlip.structures.conversion import configuration_id


def be_cells():
    return [
        Atoms("Be", positions=[[0, 0, 0]], cell=[3.0, 3.15, 2.85], pbc=True),
        Atoms("Be", positions=[[0.2, 0, 0]], cell=[3.4, 3.3, 3.6], pbc=True),
    ]


def make_job(pr, name, structures=None, **options):
    job = pr.create.job.AppmlipLabelling(name)
    job.structures = be_cells() if structures is None else structures
    job.level = 1
    job.input.engine_options = options
    job.input.progress = False
    job.input.executor = "serial"  # these tests count and interrupt calculations here
    return job


def count_gpaw_calls(monkeypatch):
    calls = []
    original = labelling.run_gpaw

    def counting(atoms, *args, **kwargs):
        calls.append(configuration_id(atoms))
        return original(atoms, *args, **kwargs)

    monkeypatch.setattr(labelling, "run_gpaw", counting)
    return calls


# A labelling job run in a subprocess that SIGKILLs itself right after the first HDF5 dataset is
# created in the file named by argv[2]: the moment a ``kill -9`` hits a job's first save (pyiron's
# ``save`` writes the job's HDF5 file, opened for write, before the job gets a database row).
# Depending on what HDF5 had written when the process died, the file left behind is truncated
# ("truncated file: eof = 48") or complete but flagged as open ("file is already open for
# write/SWMR write"); with argv[3] == "flush" the second happens. With argv[4] == "after-dft" the
# kill waits for the first DFT calculation to end: it then hits the child storing its result.
_KILLED_IN_FIRST_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    import h5py
    import pyiron_appmlip.jobs.labelling as labelling

    path, target, flush = sys.argv[1], sys.argv[2], sys.argv[3] == "flush"
    armed = [sys.argv[4] != "after-dft"]
    _create = h5py.Group.create_dataset
    _run_gpaw = labelling.run_gpaw

    def create_then_die(self, *args, **kwargs):
        out = _create(self, *args, **kwargs)
        if armed[0] and os.path.basename(self.file.filename) == target:
            if flush:  # as when HDF5 had written its metadata before the kill
                self.file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    def run_gpaw_then_arm(*args, **kwargs):
        result = _run_gpaw(*args, **kwargs)
        armed[0] = True
        return result

    h5py.Group.create_dataset = create_then_die
    labelling.run_gpaw = run_gpaw_then_arm
    from ase import Atoms
    from pyiron_appmlip import Project

    job = Project(path).create.job.AppmlipLabelling("lab")
    job.structures = [Atoms("Be", positions=[[0, 0, 0]], cell=[3.0, 3.15, 2.85], pbc=True)]
    job.level = 1
    job.input.progress = False
    job.run()
    """
)


def run_killed(project, target, flush=True, after_dft=False):
    """Run the labelling job 'lab' of ``project`` in a subprocess killed in ``target``'s first save
    (or, with ``after_dft``, in the first write to ``target`` after the DFT calculation)."""
    args = [project.path, target, str(flush and "flush"), "after-dft" if after_dft else "-"]
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_IN_FIRST_SAVE, *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


def child_file(project, cid):
    return os.path.join(project.path, "lab_hdf5", labelling.CHILD_PREFIX + cid + ".h5")


# ------------------------------------------------------------------------------ case 1: kills
@pytest.mark.parametrize("flush", [True, False], ids=["flagged-open", "truncated"])
def test_child_killed_in_its_first_save_is_recreated_by_rerun_failed(project, flush):
    import h5py

    cid = configuration_id(be_cells()[0])
    run_killed(project, labelling.CHILD_PREFIX + cid + ".h5", flush=flush)
    leftover = child_file(project, cid)
    with pytest.raises(OSError, match="already open for write" if flush else "truncated file"):
        h5py.File(leftover, "r")  # the half-written file ...
    table = project.job_table()
    assert list(table.job) == ["lab"]  # ... and no database row for the child

    job = project.load("lab")
    with pytest.warns(UserWarning, match=labelling.CHILD_PREFIX + cid + ".h5"):
        job.rerun_failed()
    assert job.status.finished, job.failed
    assert job.get_labels()["ids"] == [cid]
    # and once more from a fresh start
    job.run(delete_existing_job=True)
    assert job.status.finished


def test_fresh_start_after_a_child_was_killed_in_its_first_save(project):
    cid = configuration_id(be_cells()[0])
    run_killed(project, labelling.CHILD_PREFIX + cid + ".h5")
    job = make_job(project, "lab", be_cells()[:1])
    with pytest.warns(UserWarning, match=labelling.CHILD_PREFIX + cid + ".h5"):
        job.run(delete_existing_job=True)
    assert job.status.finished, job.failed


@pytest.mark.parametrize("flush", [True, False], ids=["flagged-open", "truncated"])
def test_master_killed_in_its_first_save_can_be_created_again(project, flush):
    run_killed(project, "lab.h5", flush=flush)
    assert os.path.isfile(os.path.join(project.path, "lab.h5"))
    assert len(project.job_table()) == 0

    job = make_job(project, "lab", be_cells()[:1])
    with pytest.warns(UserWarning, match="lab.h5"):
        job.run()
    assert job.status.finished, job.output.get("run_error")


def test_child_with_database_row_but_no_file_is_recomputed(project, monkeypatch):
    job = make_job(project, "lab")
    job.run()
    assert job.status.finished
    ids = job.configuration_ids
    os.remove(child_file(project, ids[1]))
    calls = count_gpaw_calls(monkeypatch)
    with pytest.warns(UserWarning, match=labelling.CHILD_PREFIX + ids[1]):
        job.rerun_failed()
    assert calls == [ids[1]]
    assert job.status.finished and job.get_labels()["ids"] == ids


@pytest.mark.parametrize("flush", [True, False], ids=["flagged-open", "truncated"])
def test_child_killed_while_storing_its_result_is_recomputed(project, flush):
    import h5py

    cid = configuration_id(be_cells()[0])
    # the result is written into a copy of the child's file, which then replaces it: kill there
    copy = labelling.CHILD_PREFIX + cid + "__writing.h5"
    run_killed(project, copy, flush=flush, after_dft=True)
    table = project.job_table().set_index("job")
    # a database row (the calculation was handed to the executor) and an intact child file
    assert table.loc[labelling.CHILD_PREFIX + cid, "status"] == "submitted"
    with h5py.File(child_file(project, cid), "r"):
        pass
    assert os.path.exists(os.path.join(project.path, "lab_hdf5", copy))  # the stray copy
    job = project.load("lab")
    job.rerun_failed()
    assert job.status.finished and job.get_labels()["ids"] == [cid]
    assert job.output.n_computed == 1


def test_run_of_a_job_whose_process_was_killed_says_how_to_continue(project):
    cid = configuration_id(be_cells()[0])
    run_killed(project, labelling.CHILD_PREFIX + cid + ".h5")
    job = project.load("lab")
    assert job.status.running  # left by the killed process
    with pytest.raises(RuntimeError, match=r"process .* gone.*'aborted'.*rerun_failed\(\)"):
        job.run()
    assert job.status.aborted  # now the status says what happened
    assert project.job_table().set_index("job").loc["lab", "status"] == "aborted"
    with pytest.warns(UserWarning):
        job.rerun_failed()
    assert job.status.finished


def test_run_of_a_killed_single_point_says_how_to_continue(project):
    script = textwrap.dedent(
        """
        import os, signal, sys
        import pyiron_appmlip.jobs.labelling as labelling
        from ase import Atoms
        from pyiron_appmlip import Project

        labelling.run_gpaw = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        job = Project(sys.argv[1]).create.job.AppmlipSinglePoint("single")
        job.structure = Atoms("Be", positions=[[0, 0, 0]], cell=[3.0, 3.15, 2.85], pbc=True)
        job.run()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, project.path], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    job = project.load("single")
    assert job.status.running
    with pytest.raises(RuntimeError, match=r"gone.*delete_existing_job=True"):
        job.run()
    job.run(delete_existing_job=True)
    assert job.status.finished


# ------------------------------------------------------------------ case 2: concurrent reruns
# ``rerun_failed()`` of the labelling job 'lab' in a subprocess. Every DFT calculation is logged
# to argv[2] with the process id; with argv[3] = a gate file, each calculation waits for it.
_RERUN = textwrap.dedent(
    """
    import os, sys, time
    import pyiron_appmlip.jobs.labelling as labelling
    from pyiron_appmlip import Project

    path, log, gate = sys.argv[1], sys.argv[2], sys.argv[3]
    original = labelling.run_gpaw

    def logged(atoms, *args, **kwargs):
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()}\\n")
        deadline = time.monotonic() + 120
        while gate != "-" and not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.05)
        return original(atoms, *args, **kwargs)

    labelling.run_gpaw = logged
    job = Project(path).load("lab")
    job.input.engine_options_by_id = {}
    try:
        job.rerun_failed()
    except RuntimeError as exc:
        print("REFUSED", exc)
    else:
        print("DONE", job.status)
    """
)


def start_rerun(project, log, gate):
    return subprocess.Popen(
        [sys.executable, "-c", _RERUN, project.path, str(log), str(gate)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lines(path, n, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and len(open(path).read().split()) >= n:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not get {n} lines")


def test_second_concurrent_rerun_is_refused(project, tmp_path):
    job = make_job(project, "lab")
    job.input.engine_options_by_id = {cid: {"maxiter": 2} for cid in job.configuration_ids}
    job.run()  # both calculations fail: something for rerun_failed to do
    assert job.status.not_converged
    log, gate = tmp_path / "calls.txt", tmp_path / "gate"

    first = start_rerun(project, log, gate)
    wait_for_lines(log, 1)  # the first process is inside its first calculation
    second = start_rerun(project, log, "-")
    out_second, err_second = second.communicate(timeout=300)
    status_meanwhile = project.job_table().set_index("job").loc["lab", "status"]
    project.load("lab").run()  # a live run is not taken for a dead one: pyiron's message only
    status_after_run = project.job_table().set_index("job").loc["lab", "status"]
    gate.write_text("go")
    out_first, err_first = first.communicate(timeout=300)

    assert out_first.splitlines()[-1] == "DONE finished", err_first[-2000:]
    assert out_second.splitlines()[-1].startswith("REFUSED"), (out_second, err_second[-2000:])
    assert f"process {first.pid}" in out_second and "lab" in out_second
    assert status_meanwhile == status_after_run == "running"  # the refused call changed nothing
    assert log.read_text().split() == [str(first.pid)] * 2  # every calculation ran once
    job = project.load("lab")
    assert job.status.finished and job.get_labels()["ids"] == job.configuration_ids


def test_stale_run_lock_of_a_dead_process_is_taken_over(project):
    import json
    import socket

    job = make_job(project, "lab", be_cells()[:1])
    job.run()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], stdout=-1)
    lock = os.path.join(job.working_directory, labelling.RUN_LOCK_NAME)
    with open(lock, "w") as handle:  # what a killed run leaves behind
        json.dump({"pid": int(dead.stdout), "host": socket.gethostname(), "job": "lab"}, handle)
    with pytest.warns(UserWarning, match=f"left by process {int(dead.stdout)} .* taken over"):
        job.rerun_failed()
    assert job.status.finished and not os.path.exists(lock)


def test_rerun_failed_in_a_background_process(project):
    job = make_job(project, "lab", be_cells()[:1], maxiter=2)
    job.run()
    assert job.status.not_converged
    job.input.engine_options = {}
    job.rerun_failed(run_mode="non_modal")  # the background process takes over the run lock
    project.wait_for_job(job, interval_in_s=0.5, max_iterations=240)
    loaded = project.load("lab")
    assert loaded.status.finished, loaded.output.get("run_error")


# ---------------------------------------------------------- case 3: physical checks before DFT
def close_pair(distance=0.1):
    return Atoms("Be2", positions=[[0, 0, 0], [distance, 0, 0]], cell=[3.0, 3.1, 3.2], pbc=True)


def test_overlapping_atoms_are_refused_before_any_calculation(project, monkeypatch):
    structures = be_cells()[:1] + [close_pair(0.1)]
    cid = configuration_id(structures[1])
    job = make_job(project, "close", structures)
    assert job.input.min_distance == 0.5  # the descriptors' rule and default
    calls = count_gpaw_calls(monkeypatch)
    with pytest.raises(
        ValueError,
        match=rf"configuration 1 \(id {cid}\).*atoms 0 and 1 are 0\.1000 Angstrom apart, below "
        r"min_distance=0\.5",
    ):
        job.run()
    assert calls == [] and len(project.job_table()) == 0

    # an atom close to a periodic image of another one counts too
    job = make_job(project, "image", [close_pair(2.95)])
    with pytest.raises(ValueError, match=r"configuration 0 .* 0\.0500 Angstrom apart"):
        job.run()

    job = make_job(project, "negative", be_cells()[:1])
    job.input.min_distance = -1.0
    with pytest.raises(ValueError, match=r"min_distance must be a positive number .* got -1\.0"):
        job.run()

    # None switches the check off (the calculation then runs as asked)
    job = make_job(project, "unchecked", [close_pair(0.1)])
    job.input.min_distance = None
    job.run()
    assert calls == [cid]


def test_cells_the_engines_cannot_handle_are_refused(project, monkeypatch):
    calls = count_gpaw_calls(monkeypatch)
    no_cell = Atoms("Be", positions=[[0, 0, 0]], pbc=True)
    flat = Atoms("Be", positions=[[0, 0, 0]], cell=[[3, 0, 0], [0, 3, 0], [3, 3, 0]], pbc=True)
    cluster = Atoms("Be", positions=[[1.5, 1.5, 1.5]], cell=[3, 3, 3], pbc=False)
    slab = Atoms("Be", positions=[[1.5, 1.5, 1.5]], cell=[3, 3, 8], pbc=[True, True, False])
    for index, (atoms, message) in enumerate(
        [
            (no_cell, "cell has zero volume"),
            (flat, "cell has zero volume"),
            (cluster, r"not periodic in all directions \(pbc=\[False, False, False\]\)"),
            (slab, r"not periodic in all directions \(pbc=\[True, True, False\]\)"),
        ]
    ):
        job = make_job(project, f"bad_{index}", be_cells()[:1] + [atoms])
        cid = configuration_id(atoms)
        with pytest.raises(ValueError, match=rf"configuration 1 \(id {cid}\).*{message}"):
            job.run()
    assert calls == [] and len(project.job_table()) == 0

    single = project.create.job.AppmlipSinglePoint("single")
    single.structure = cluster
    with pytest.raises(ValueError, match="not periodic in all directions"):
        single.run()


# ------------------------------------------------------- case 4: engine options checked first
def test_unknown_engine_options_are_refused_before_any_calculation(project, monkeypatch):
    calls = count_gpaw_calls(monkeypatch)
    job = make_job(project, "typo", maxiterr=100)
    with pytest.raises(
        ValueError, match=r"engine_options: unknown gpaw option 'maxiterr'.*'maxiter'"
    ):
        job.run()
    cid = job.configuration_ids[1]
    job = make_job(project, "typo_by_id")
    job.input.engine_options_by_id = {cid: {"mixerr": {}}}
    with pytest.raises(ValueError, match=rf"engine_options_by_id\['{cid}'\]: unknown gpaw option"):
        job.run()
    single = project.create.job.AppmlipSinglePoint("single")
    single.structure = be_cells()[0]
    single.input.engine_options = {"maxiterr": 100}
    with pytest.raises(ValueError, match="unknown gpaw option 'maxiterr'"):
        single.run()
    assert calls == [] and len(project.job_table()) == 0

    # a retry with a misspelt option changes nothing
    job = make_job(project, "retry")
    job.run()
    calls.clear()
    job.input.engine_options_by_id = {cid: {"maxiterr": 300}}
    with pytest.raises(ValueError, match="unknown gpaw option 'maxiterr'"):
        job.rerun_failed()
    assert calls == [] and project.load("retry").status.finished
