"""Session fixtures for the tests that need real services: ``slurm_cluster`` (a single-node SLURM
with partition ``debug``) and ``postgres_server`` (PostgreSQL with user/database ``pyiron``).

Each fixture starts only what is not running yet (see ``tests/services.py``) and stops, by pid,
only what it started, at the end of the session. When a service cannot be started here (not
root, packages missing, a daemon that does not come up) the tests that need it are skipped with
the reason -- unless the environment variable ``CI`` is set: then a missing service is a failure,
so that CI never passes by skipping them.
"""

import os
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
