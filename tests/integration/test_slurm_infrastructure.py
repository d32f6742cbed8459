"""A real single-node SLURM: executorlib's SlurmClusterExecutor runs functions as SLURM jobs, and
pyiron's queue adapter (pysqa) submits a pyiron job that SLURM runs to the end.

The cluster comes from the session fixture ``slurm_cluster``, the queue configuration from
``pyiron_slurm_queue`` (both in tests/integration/conftest.py).
"""

from pathlib import Path

import pytest
import services  # tests/services.py (on sys.path through tests/integration/conftest.py)

pytestmark = pytest.mark.slurm


# executorlib 1.9.2 passes "partition" through to pysqa but warns that it cannot validate it
@pytest.mark.filterwarnings("ignore:The following keys are not recognized:UserWarning")
def test_executorlib_runs_each_function_as_its_own_slurm_job(slurm_cluster, tmp_path):
    from executorlib import SlurmClusterExecutor

    def square_and_where(x):
        # defined here so that cloudpickle sends it by value: the SLURM job need not import
        # this test module
        import os
        import socket

        return x * x, os.environ.get("SLURM_JOB_ID"), socket.gethostname().split(".")[0]

    cache = tmp_path / "executorlib_cache"  # one node: every local path is visible to it
    with SlurmClusterExecutor(
        cache_directory=str(cache),
        resource_dict={"cores": 1, "partition": slurm_cluster.partition},
    ) as exe:
        futures = [exe.submit(square_and_where, i) for i in (2, 3, 4)]
        results = [f.result(timeout=120) for f in futures]
    assert [r[0] for r in results] == [4, 9, 16]
    job_ids = [r[1] for r in results]
    assert all(j is not None and j.isdigit() for j in job_ids), job_ids
    assert len(set(job_ids)) == 3, job_ids  # three functions, three SLURM jobs
    assert {r[2] for r in results} == {slurm_cluster.hostname}
    for j in job_ids:  # and slurmctld knows them as batch jobs that completed
        info = services.final_job_info(j)
        assert info.get("JobState") == "COMPLETED", info
        assert info.get("Partition") == slurm_cluster.partition


def test_pyiron_job_submitted_through_pysqa_runs_on_slurm(project, pyiron_slurm_queue):
    job = project.create.job.AppmlipCandidates("c")
    job.input.n_structures = 2
    job.input.options = {"max_atoms": 4}
    job.server.queue = pyiron_slurm_queue
    job.server.cores = 1
    job.run()

    queue_id = job.server.queue_id
    assert isinstance(queue_id, int) and queue_id > 0
    assert job.status.string in ("submitted", "running", "finished")
    # the SLURM job carries pyiron's name for it (pi_<job id>) and is in the debug partition
    info = services.scontrol_job(queue_id)
    assert info["JobName"] == f"pi_{job.job_id}"
    assert info["Partition"] == "debug"
    # pysqa's view (squeue): pending or running, or already gone from the queue
    from pyiron_base import state

    assert state.queue_adapter.get_status_of_job(process_id=queue_id) in (
        "pending",
        "running",
        "completing",
        None,
    )
    services.wait_for_queue_job(job)

    assert services.final_job_info(queue_id)["JobState"] == "COMPLETED"
    out = (Path(job.working_directory) / "time.out").read_text()
    assert f"SLURM_JOB_ID={queue_id}" in out

    from pyiron_appmlip import Project

    reloaded = Project(project.path).load("c")
    assert reloaded.status.finished
    assert reloaded.server.queue == pyiron_slurm_queue
    assert reloaded.server.queue_id == queue_id
    assert len(reloaded.structures) == 2
