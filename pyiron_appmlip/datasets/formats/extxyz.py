"""Format ``"extxyz"``: extended XYZ files.

Recognised by: a ``*.xyz`` or ``*.extxyz`` file, or a folder with such files below it (and no
``*.json`` files, which make it ``"fitsnap-json"``).

An extended XYZ file (or a folder of ``*.xyz``/``*.extxyz`` files), all frames
(``index=":"``), read with :func:`ase.io.read`. Labels come from the attached calculator (ASE
maps ``energy``, ``free_energy``, ``forces``, ``stress`` to it), else from the
``info``/``arrays`` keys ``energy``/``Energy``, ``forces``/``Forces``, ``stress``/``Stress``
or ``virial`` (eV, ``virial = -stress * volume``); ``keys=`` names other keys (e.g.
``{"energy": "REF_energy"}``). The group is ``info["config_type"]`` if present, else the file
name. Values are taken in ASE's units and sign; FitSNAP's own XYZ files carry FitSNAP's stress
(bar, pressure sign): read them with ``stress_unit="bar", stress_sign="pressure"``.

Options used: ``index``, ``keys``, ``stress_unit`` (default eV/Angstrom^3) and
``stress_sign`` (default ``"ase"``).
"""

from __future__ import annotations

from .ase_files import ase_kind, read_ase_files
from .common import Problems, ReadOptions, ReadResult, Source, existing_path

#: The format's name (``read_dataset(..., format=NAME)``).
NAME = "extxyz"
#: One line for error messages and listings.
DESCRIPTION = "*.xyz / *.extxyz files (extended XYZ, read by ASE)"


def recognise(source: Source) -> bool:
    """A ``.xyz``/``.extxyz`` file, or a folder holding such files."""
    if source.is_dir:
        return any(ase_kind(name) == NAME for name in source.names)
    return ase_kind(source.name) == NAME


def read(path, options: ReadOptions, problems: Problems) -> ReadResult:
    """Read extended XYZ files (see the module docstring)."""
    return read_ase_files(existing_path(path), NAME, options, problems)
