"""Test configuration: every test session gets its own pyiron database and resource folder, so
that the tests never read or write a user's ~/.pyiron, ~/pyiron.db or project folders."""

import atexit
import os
import shutil
import tempfile

import pytest

_SESSION_DIR = tempfile.mkdtemp(prefix="appmlip-tests-")
# removed when the test process ends (it holds only this session's database and projects)
atexit.register(shutil.rmtree, _SESSION_DIR, ignore_errors=True)
# Any PYIRON* variable makes pyiron ignore ~/.pyiron entirely; set them before pyiron is imported.
os.environ["PYIRONSQLFILE"] = os.path.join(_SESSION_DIR, "pyiron.db")
os.environ["PYIRONRESOURCEPATHS"] = os.path.join(_SESSION_DIR, "resources")
os.environ["PYIRONPROJECTPATHS"] = _SESSION_DIR
os.environ["PYIRONPROJECTCHECKENABLED"] = "False"
os.makedirs(os.environ["PYIRONRESOURCEPATHS"], exist_ok=True)
# Tiny DFT/LAMMPS cases are fastest without thread oversubscription on 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture
def project(tmp_path_factory):
    """A fresh pyiron Project (with this package's job classes registered) in its own folder."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project

    path = tmp_path_factory.mktemp("project", numbered=True)
    pr = Project(str(path / "pr"))
    yield pr


def pytest_collection_modifyitems(config, items):
    """Every test under tests/integration runs a real engine: mark it so ``-m "not integration"``
    selects the fast unit tests."""
    integration = os.path.join(os.path.dirname(__file__), "integration") + os.sep
    for item in items:
        if str(item.fspath).startswith(integration):
            item.add_marker(pytest.mark.integration)
