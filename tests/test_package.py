"""Package-level checks: public API, job registration, README/CI consistency, style."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set-up and the two commands", 1)[1].split("\n## ", 1)[0]
    return [c.strip() for c in re.findall(r"```bash\n\s*(.+?)\n\s*```", section)]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    cmds = _readme_commands()
    assert len(cmds) == 2, cmds
    main_cmd, test_cmd = cmds
    assert "pyiron_appmlip.quickstart" in main_cmd
    assert "pytest" in test_cmd
    ci_lines = [
        ln.strip()
        for ln in (ROOT / ".ci" / "run").read_text().splitlines()
        if ln.strip() and not ln.strip().startswith("#")
    ]
    assert test_cmd.strip() in ci_lines, (test_cmd, ci_lines)


README_MAX_CHARACTERS = 8000


def test_readme_is_at_most_8000_characters():
    """The README stays an entry page; the details live in docs/."""
    n = len((ROOT / "README.md").read_text(encoding="utf-8"))
    assert n <= README_MAX_CHARACTERS, f"README.md has {n} characters (at most 8000)"


def test_public_api_names():
    import pyiron_appmlip

    for name in pyiron_appmlip.__all__:
        assert getattr(pyiron_appmlip, name) is not None, name
    with pytest.raises(AttributeError):
        pyiron_appmlip.not_a_name  # noqa: B018


def test_job_classes_registered(project):
    import pyiron_appmlip

    for name in pyiron_appmlip.JOB_CLASSES:
        job = getattr(project.create.job, name)(f"probe_{name.lower()}")
        assert type(job).__name__ == name


_REGISTRATION_PROBE = """
import sys
{first}
assert ("pyiron_base" in sys.modules) == {pyiron_first}, "pyiron_base imported too early"
{second}
import pyiron_appmlip
from pyiron_base import JOB_CLASS_DICT
missing = [k for k, v in pyiron_appmlip.JOB_CLASSES.items() if JOB_CLASS_DICT.get(k) != v]
assert not missing, missing
"""


@pytest.mark.parametrize("pyiron_first", [False, True])
def test_the_core_imports_without_pyiron_and_job_classes_register_either_way(pyiron_first):
    core = "import pyiron_appmlip.core, pyiron_appmlip.training.sweep, pyiron_appmlip.executors"
    first, second = ("import pyiron_base", core) if pyiron_first else (core, "import pyiron_base")
    code = _REGISTRATION_PROBE.format(first=first, second=second, pyiron_first=pyiron_first)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_pyproject_and_conda_environments_agree():
    """Every pinned pyproject dependency appears in both conda environment files."""
    try:
        import tomllib
    except ImportError:  # pragma: no cover
        pytest.skip("tomllib needs Python 3.11")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [re.split(r"[<>=!~ ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps]
    for env in (ROOT / ".ci_support" / "environment.yml", ROOT / "binder" / "environment.yml"):
        text = env.read_text().lower().replace("_", "-")
        for n in names:
            conda_name = {"matplotlib": "matplotlib-base"}.get(n, n)
            assert re.search(rf"^\s*-\s*{re.escape(conda_name)}\b", text, re.M), (env.name, n)


def test_license_file_matches_pyproject_and_the_sdist_includes_it():
    """LICENSE holds the licence pyproject.toml declares, and the sdist include list finds it."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == {"text": "BSD-3-Clause"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License\n")
    assert "Copyright (c) 2026, the pyiron_appmlip developers" in text
    for clause in (
        "1. Redistributions of source code",
        "2. Redistributions in binary form",
        "3. Neither the name of the copyright holder",
    ):
        assert clause in text
    include = project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert "LICENSE" in include
    for entry in include:
        assert (ROOT / entry).exists(), entry


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff not installed",
)
def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    res = subprocess.run(
        [ruff, "check", "pyiron_appmlip", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr
