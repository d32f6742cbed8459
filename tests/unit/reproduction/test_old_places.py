"""The paper's reproduction moved to ``pyiron_appmlip.reproduction``: the old module paths give the
same objects with a DeprecationWarning naming the new place, and the old commands still run."""

import hashlib
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pyiron_appmlip

MOVED = {
    "pyiron_appmlip.study.findings": ("pyiron_appmlip.reproduction.findings", "read_report_table3"),
    "pyiron_appmlip.study.findings_measure": (
        "pyiron_appmlip.reproduction.findings_measure",
        "measure_findings",
    ),
    "pyiron_appmlip.study.findings_render": (
        "pyiron_appmlip.reproduction.findings_render",
        "render_report",
    ),
    "pyiron_appmlip.study.paper_values": ("pyiron_appmlip.reproduction.paper_values", "TABLE_3"),
    "pyiron_appmlip.study.like_for_like": (
        "pyiron_appmlip.reproduction.like_for_like",
        "StudyConventions",
    ),
    "pyiron_appmlip.datasets.be": ("pyiron_appmlip.reproduction.be_dataset", "load_be_dataset"),
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_gives_the_same_object_and_names_the_new_place(old):
    new, name = MOVED[old]
    with pytest.warns(DeprecationWarning, match=f"moved to {new}.{name}"):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError):
        importlib.import_module(old).no_such_name  # noqa: B018


def test_private_names_of_the_split_study_are_still_found_at_the_old_path():
    from pyiron_appmlip.reproduction.like_for_like import cache, cli, measuring

    old = importlib.import_module("pyiron_appmlip.study.like_for_like")
    with pytest.warns(DeprecationWarning):
        assert old._cached is cache._cached
        assert old.parse_repetitions_at is cli.parse_repetitions_at
        assert old.energy_error_concentration is measuring.energy_error_concentration


def _run(*args):
    env = {**os.environ, "PYTHONPATH": str(Path(pyiron_appmlip.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize(
    "old, new",
    [
        ("pyiron_appmlip.study.findings", "pyiron_appmlip.reproduction.findings"),
        ("pyiron_appmlip.study.like_for_like", "pyiron_appmlip.reproduction.like_for_like"),
        ("pyiron_appmlip.datasets.be", "pyiron_appmlip.reproduction.be_dataset"),
    ],
)
def test_the_old_commands_run_the_new_ones(old, new):
    fresh = _run("-m", new, "--help")
    assert fresh.returncode == 0, fresh.stderr
    assert f"usage: python -m {new}" in fresh.stdout
    moved = _run("-W", "always::DeprecationWarning", "-m", old, "--help")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout == fresh.stdout
    assert f"python -m {old} has moved to python -m {new}" in moved.stderr


def test_an_old_command_keeps_its_exit_status_on_bad_input():
    result = _run("-m", "pyiron_appmlip.study.like_for_like", "--repetitions-at", "8=x")
    assert result.returncode != 0
    assert "--repetitions-at takes 2JMAX=N pairs" in result.stderr


def test_the_cache_key_digest_covers_every_module_of_the_package_but_the_rendering_ones():
    from pyiron_appmlip.reproduction.like_for_like import RENDERING_MODULES, code_digest

    root = Path(pyiron_appmlip.__file__).parent
    h = hashlib.sha256()
    paths = sorted(str(p) for p in root.rglob("*.py"))
    for path in paths:
        if os.path.relpath(path, root) in RENDERING_MODULES:
            continue  # only render results: they cannot change a cached one
        h.update(os.path.relpath(path, root).encode())
        h.update(hashlib.sha256(Path(path).read_bytes()).digest())
    assert code_digest() == h.hexdigest()
    names = {os.path.relpath(p, root) for p in paths}
    assert {"study/recommend.py", "reproduction/like_for_like/cache.py", "__init__.py"} <= names
