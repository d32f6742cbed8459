"""A real single-node SLURM: executorlib's SlurmClusterExecutor runs functions as SLURM jobs, and
pyiron's queue adapter (pysqa) submits a pyiron job that SLURM runs to the end.

The cluster comes from the session fixture ``slurm_cluster`` (tests/integration/conftest.py).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slurm

QUEUE = "slurm_debug"
ACTIVE = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING")


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
        info = _final_job_info(j)
        assert info.get("JobState") == "COMPLETED", info
        assert info.get("Partition") == slurm_cluster.partition


def _scontrol_job(job_id) -> dict:
    out = subprocess.run(
        ["scontrol", "show", "job", "-o", str(job_id)], capture_output=True, text=True, timeout=20
    ).stdout
    return dict(re.findall(r"(\w+)=(\S*)", out))


def _final_job_info(job_id, timeout=30.0) -> dict:
    """``scontrol show job`` once the job has left the pending/running states (a result can come
    back a moment before its SLURM job has ended)."""
    end = time.monotonic() + timeout
    while True:
        info = _scontrol_job(job_id)
        if info.get("JobState") not in ACTIVE or time.monotonic() > end:
            return info
        time.sleep(0.3)


# ---- pyiron's queue adapter through pysqa --------------------------------------------------


def _job_environment() -> dict:
    """What the SLURM job needs to be the same pyiron as this test process: this virtualenv's
    python first in PATH, HOME and every PYIRON* setting (the test session's SQLite database and
    resource path), and the thread limits of tests/conftest.py."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PYIRON")}
    venv_bin = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/bin:/bin")])
    env["HOME"] = os.environ.get("HOME", str(Path.home()))
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def slurm_template(partition: str, env: dict) -> str:
    """A pysqa jinja2 template for SLURM. ``--export=NONE``: the job gets exactly the environment
    exported here, not whatever the submitting process happens to have."""
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
    return f"""#!/bin/bash
#SBATCH --output=time.out
#SBATCH --job-name={{{{job_name}}}}
#SBATCH --chdir={{{{working_directory}}}}
#SBATCH --partition={partition}
#SBATCH --export=NONE
#SBATCH --ntasks={{{{cores}}}}
{{%- if run_time_max %}}
#SBATCH --time={{{{ [1, run_time_max // 60]|max }}}}
{{%- endif %}}
{{%- if memory_max %}}
#SBATCH --mem={{{{memory_max}}}}G
{{%- endif %}}
{{% raw %}}
{exports}
{{% endraw %}}
echo "SLURM_JOB_ID=$SLURM_JOB_ID"

{{{{command}}}}
"""


@pytest.fixture
def pyiron_slurm_queue(slurm_cluster):
    """``<resource path>/queues/queue.yaml`` + template for the local SLURM (queue
    :data:`QUEUE`), removed again afterwards so that later tests see no queue adapter."""
    from pyiron_base import state

    resource = Path(os.environ["PYIRONRESOURCEPATHS"].split(os.pathsep)[0])
    queues = resource / "queues"
    if queues.exists():
        pytest.fail(f"{queues} exists already; refusing to overwrite someone else's queue config")
    queues.mkdir(parents=True)
    try:
        (queues / "queue.yaml").write_text(
            "queue_type: SLURM\n"
            f"queue_primary: {QUEUE}\n"
            "queues:\n"
            f"  {QUEUE}: {{cores_min: 1, cores_max: 1, run_time_max: 3600, script: slurm.sh}}\n"
        )
        (queues / "slurm.sh").write_text(
            slurm_template(slurm_cluster.partition, _job_environment())
        )
        state.update()
        assert state.queue_adapter is not None and QUEUE in state.queue_adapter.queue_list
        yield QUEUE
    finally:
        shutil.rmtree(queues, ignore_errors=True)
        state.update()


def _wait_finished(job, timeout=180.0):
    """Poll the pyiron status; fail early, with the job's SLURM output, if SLURM is done with the
    job but pyiron never heard of it finishing."""
    end = time.monotonic() + timeout
    gone_since = None
    while time.monotonic() < end:
        job.refresh_job_status()
        if job.status.finished:
            return
        if job.status.string == "aborted":
            break
        state = _scontrol_job(job.server.queue_id).get("JobState")
        if state not in (*ACTIVE, None):
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since > 15:
                break
        time.sleep(1)
    out = Path(job.working_directory) / "time.out"
    log = out.read_text()[-3000:] if out.exists() else "(no time.out)"
    pytest.fail(
        f"pyiron job {job.job_name} is {job.status.string}; SLURM job {job.server.queue_id}: "
        f"{_scontrol_job(job.server.queue_id)}\n{log}"
    )


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
    info = _scontrol_job(queue_id)
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
    _wait_finished(job)

    assert _final_job_info(queue_id)["JobState"] == "COMPLETED"
    out = (Path(job.working_directory) / "time.out").read_text()
    assert f"SLURM_JOB_ID={queue_id}" in out

    from pyiron_appmlip import Project

    reloaded = Project(project.path).load("c")
    assert reloaded.status.finished
    assert reloaded.server.queue == pyiron_slurm_queue
    assert reloaded.server.queue_id == queue_id
    assert len(reloaded.structures) == 2
