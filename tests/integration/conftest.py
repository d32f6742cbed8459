"""Session fixtures for the tests that need real services: ``slurm_cluster`` (a single-node SLURM
with partition ``debug``) and ``postgres_server`` (PostgreSQL with user/database ``pyiron``).

Each fixture starts only what is not running yet (see ``tests/services.py``) and stops, by pid,
only what it started, at the end of the session. When a service cannot be started here (not
root, packages missing, a daemon that does not come up) the tests that need it are skipped with
the reason -- unless the environment variable ``CI`` is set: then a missing service is a failure,
so that CI never passes by skipping them.

``pyiron_slurm_queue`` (per test) adds pyiron's queue adapter for that SLURM: a pysqa
``queue.yaml`` and submission template in the session's pyiron resource path.
"""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import services  # noqa: E402  (tests/services.py)


def on_ci() -> bool:
    """``CI`` is set to anything but an explicit no (``""``, ``0``, ``false``, ``no``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str):
    """Skip with ``reason``, or fail with it when running on CI."""
    if on_ci():
        pytest.fail(
            f"{reason}\n(CI is set: a required service that cannot start fails)", pytrace=False
        )
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running single-node SLURM (:class:`services.SlurmCluster`) whose node is idle."""
    reason = None
    try:
        cluster = services.start_slurm()
    except services.ServiceUnavailable as err:
        reason = f"SLURM cannot be started here: {err}"
    if reason is not None:
        unavailable(reason)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A running PostgreSQL (:class:`services.PostgresServer`) with user and database pyiron."""
    reason = None
    try:
        server = services.start_postgres()
    except services.ServiceUnavailable as err:
        reason = f"PostgreSQL cannot be started here: {err}"
    if reason is not None:
        unavailable(reason)
    try:
        yield server
    finally:
        server.stop()


#: the pysqa queue of :func:`pyiron_slurm_queue`
SLURM_QUEUE = "slurm_debug"


@pytest.fixture
def pyiron_slurm_queue(slurm_cluster):
    """pyiron's queue adapter set up for the local SLURM: ``<resource path>/queues/queue.yaml``
    with one queue (returned, :data:`SLURM_QUEUE`) and its template (the session's pyiron
    environment exported into the job), removed again afterwards so that later tests see no
    queue adapter."""
    from pathlib import Path

    from pyiron_base import state

    resource = Path(os.environ["PYIRONRESOURCEPATHS"].split(os.pathsep)[0])
    queues = resource / "queues"
    if queues.exists():
        pytest.fail(f"{queues} exists already; refusing to overwrite someone else's queue config")
    queues.mkdir(parents=True)
    try:
        (queues / "queue.yaml").write_text(services.pysqa_queue_yaml(SLURM_QUEUE, "slurm.sh"))
        (queues / "slurm.sh").write_text(
            services.pysqa_slurm_template(
                slurm_cluster.partition, services.pyiron_job_environment()
            )
        )
        state.update()
        assert state.queue_adapter is not None and SLURM_QUEUE in state.queue_adapter.queue_list
        yield SLURM_QUEUE
    finally:
        shutil.rmtree(queues, ignore_errors=True)
        state.update()
