"""Labelling jobs under hostile conditions, with real GPAW on one-atom Be cells at level 1.

Processes are really killed (``SIGKILL`` from inside a subprocess at a chosen moment) and run
concurrently (two subprocesses on one job); nothing is simulated by editing pyiron's files.
"""

import os
import signal
import subprocess
import sys
import textwrap

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
# write/SWMR write"); with argv[3] == "flush" the second happens.
_KILLED_IN_FIRST_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    import h5py

    path, target, flush = sys.argv[1], sys.argv[2], sys.argv[3] == "flush"
    _create = h5py.Group.create_dataset

    def create_then_die(self, *args, **kwargs):
        out = _create(self, *args, **kwargs)
        if os.path.basename(self.file.filename) == target:
            if flush:  # as when HDF5 had written its metadata before the kill
                self.file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    h5py.Group.create_dataset = create_then_die
    from ase import Atoms
    from pyiron_appmlip import Project

    job = Project(path).create.job.AppmlipLabelling("lab")
    job.structures = [Atoms("Be", positions=[[0, 0, 0]], cell=[3.0, 3.15, 2.85], pbc=True)]
    job.level = 1
    job.input.progress = False
    job.run()
    """
)


def run_killed(project, target, flush=True):
    """Run the labelling job 'lab' of ``project`` in a subprocess killed in ``target``'s first save."""
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_IN_FIRST_SAVE, project.path, target, str(flush and "flush")],
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
