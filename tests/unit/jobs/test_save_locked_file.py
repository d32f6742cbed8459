"""A save that HDF5 cannot lock the file for, because a process forked at the wrong moment
still holds a copy of the file's descriptor, is tried again until the database row exists."""

import os
import time

import h5py
import pytest

from pyiron_appmlip.jobs._common import save_new_job


def _fork_holding(path, seconds):
    """Open ``path`` for writing, fork a process that keeps the descriptor ``seconds`` long,
    close it here: the child holds HDF5's lock of the file, as a process forked by an executor
    thread does until it executes its program."""
    handle = h5py.File(path, "a")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only sleeps
        time.sleep(seconds)
        os._exit(0)
    handle.close()
    return pid


# the file opened before the save has no database row: the save replaces it, with a warning
@pytest.mark.filterwarnings("ignore::pyiron_appmlip.jobs._common.LeftoverWarning")
def test_a_new_job_is_saved_once_the_forked_process_lets_go_of_its_file(project):
    job = project.create.job.AppmlipCandidates("locked")
    job.input.n_structures = 2
    path = job.project_hdf5.file_name
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pid = _fork_holding(path, 0.5)
    try:
        with pytest.raises(BlockingIOError, match="unable to lock file"):
            h5py.File(path, "a").close()  # the situation a plain save() meets
        save_new_job(job, attempts=6, delay=0.1)  # 0.1 + 0.2 + 0.3 s > 0.5 s
    finally:
        os.waitpid(pid, 0)
    assert job.job_id is not None
    assert project.load("locked").input.n_structures == 2


class FakeJobFailingAfterItsRow:
    """A fake job whose save fails with the lock error after its database row is written."""

    def __init__(self):
        self.job_id = None
        self.calls = 0

    def save(self):
        self.calls += 1
        self.job_id = 7
        raise BlockingIOError(11, "unable to lock file")


def test_a_lock_error_after_the_database_row_is_raised_not_repeated():
    job = FakeJobFailingAfterItsRow()
    with pytest.raises(BlockingIOError):
        save_new_job(job, attempts=6, delay=0.0)
    assert job.calls == 1
