"""Every job class of the package, killed (``SIGKILL``) in its first save, can be created and run
again under the same name.

pyiron's ``save`` writes a job's HDF5 file before the job gets its database row; a kill in
between leaves a file that no database row owns, often still flagged as open for write, so that
every later save of a job of that name fails in h5py. The labelling jobs' own cases (master and
child, flagged and truncated) are in ``test_labelling_robustness.py``; here the same kill hits
each of the other job classes, in a real subprocess.
"""

import os
import signal
import subprocess
import sys
import textwrap

import h5py
import pytest

pytestmark = pytest.mark.slow

# argv: project path, job kind; the job "target" is created, configured and run, and the process
# kills itself right after the first HDF5 dataset of target.h5 is created (metadata flushed, so
# the file is left flagged as open for write)
_KILLED = textwrap.dedent(
    """
    import os, signal, sys
    import h5py

    path, kind = sys.argv[1], sys.argv[2]
    _create = h5py.Group.create_dataset

    def create_then_die(self, *args, **kwargs):
        out = _create(self, *args, **kwargs)
        if os.path.basename(self.file.filename) == "target.h5":
            self.file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    h5py.Group.create_dataset = create_then_die
    from pyiron_appmlip import Project
    sys.path.insert(0, sys.argv[3])
    from test_killed_first_save import make_job

    make_job(Project(path), kind).run()
    """
)

KINDS = ["candidates", "descriptors", "sweep", "evaluation_cost"]


def make_job(pr, kind):
    """The job ``target`` of ``kind``, configured to run in seconds."""
    if kind == "candidates":
        job = pr.create.job.AppmlipCandidates("target")
        job.input.generator = "rattled_strained"
        job.input.n_structures = 4
    elif kind == "descriptors":
        job = pr.create.job.AppmlipDescriptors("target")
        job.structures = pr.load("cells").structures
        job.input.twojmax = 2
        job.input.executor = "serial"
        job.input.progress = False
    elif kind == "sweep":
        job = pr.create.job.AppmlipSweep("target")
        job.add_descriptors(pr.load("desc"))
        job.add_labels(pr.load("lab"))
        job.input.samplers = ["random"]
        job.input.subset_sizes = [3]
        job.input.weights = [[150.0, 1.0]]
        job.input.repetitions = 1
        job.input.executor = "serial"
    else:
        job = pr.create.job.AppmlipEvaluationCost("target")
        job.input.twojmax = [2]
        job.input.repeat = [1, 1, 1]
        job.input.n_steps = 5
    return job


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A project with candidate cells, their level-1 GPAW labels and 2Jmax 2 descriptors."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project

    pr = Project(str(tmp_path_factory.mktemp("killed_save") / "pr"))
    cells = pr.create.job.AppmlipCandidates("cells")
    cells.input.generator = "rattled_strained"
    cells.input.n_structures = 6
    cells.input.options = {"max_atoms": 2}
    cells.input.seed = 3
    cells.run()
    lab = pr.create.job.AppmlipLabelling("lab")
    lab.structures = cells.structures
    lab.input.level = 1
    lab.input.progress = False
    lab.input.executor = "serial"
    lab.run()
    desc = pr.create.job.AppmlipDescriptors("desc")
    desc.structures = cells.structures
    desc.input.twojmax = 2
    desc.input.executor = "serial"
    desc.input.progress = False
    desc.run()
    return pr


@pytest.mark.parametrize("kind", KINDS)
def test_job_killed_in_its_first_save_can_be_created_and_run_again(inputs, kind):
    from pyiron_appmlip.jobs._common import LeftoverWarning

    pr = inputs
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED, pr.path, kind, here],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    leftover = os.path.join(pr.path, "target.h5")
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(leftover, "r")  # the file left behind ...
    assert pr.get_job_id("target") is None  # ... which no database row owns

    job = make_job(pr, kind)
    with pytest.warns(LeftoverWarning, match="target.h5"):
        job.run()
    assert job.status.finished
    assert pr.load("target").status.finished
    pr.remove_job("target")
