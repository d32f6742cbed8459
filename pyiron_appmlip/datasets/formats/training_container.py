"""Format ``"training-container"``: a pyiron_potentialfit ``TrainingContainer``.

Recognised by: an object with a ``to_pandas`` method (a ``TrainingContainer`` job). The path
of a container's HDF5 file is read with ``format="training-container"`` given explicitly.

Needs pyiron_potentialfit. Energies are eV and forces eV/Angstrom by that container's
convention, but it stores stresses as given, without a unit: if it holds any, pass
``stress_unit`` and ``stress_sign`` (or ``stress_unit="ignore"`` to leave them out). Every
configuration's group is the container's name, which also names the default level.

Options used: ``stress_unit`` (also ``"ignore"``) and ``stress_sign``.
"""

from __future__ import annotations

import importlib.util
import math
import os

import numpy as np

from .common import (
    UNITS,
    BadField,
    Entry,
    Problems,
    ReadOptions,
    ReadResult,
    Source,
    as_array,
    as_number,
    check_sign,
    file_sha256,
    stress_factor,
    voigt,
)
from .common import check_options as _check_common_options

#: The format's name (``read_dataset(..., format=NAME)``).
NAME = "training-container"
#: One line for error messages and listings.
DESCRIPTION = "a pyiron_potentialfit TrainingContainer job (or its HDF5 file)"


def recognise(source: Source) -> bool:
    """An object with ``to_pandas`` (a TrainingContainer job)."""
    return hasattr(source.given, "to_pandas")


def check_options(options: ReadOptions) -> None:
    """As for every format, and ``stress_unit="ignore"`` is allowed."""
    if options.stress_unit == "ignore":
        options = ReadOptions(stress_sign=options.stress_sign)
    _check_common_options(options)


def read(path, options: ReadOptions, problems: Problems) -> ReadResult:
    """Read a TrainingContainer job or the HDF5 file of one (see the module docstring)."""
    return _read_training_container(path, options.stress_unit, options.stress_sign, problems)


def _potentialfit_available() -> bool:
    return importlib.util.find_spec("pyiron_potentialfit") is not None


def _load_container(path):
    if hasattr(path, "to_pandas"):
        return path
    if not isinstance(path, str | os.PathLike) or not os.path.isfile(path):
        raise FileNotFoundError(
            f"format 'training-container' needs a TrainingContainer job or the path of its HDF5 "
            f"file, got {path!r}"
        )
    from pyiron_base import Project

    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    job = Project(folder).load(os.path.splitext(name)[0])
    if job is None or not hasattr(job, "to_pandas"):
        raise ValueError(f"{path!r} holds no TrainingContainer job named {name!r}")
    return job


def _read_training_container(path, stress_unit, stress_sign, problems) -> ReadResult:
    from ...structures.conversion import to_ase

    if not _potentialfit_available():
        raise ImportError(
            "format 'training-container' needs pyiron_potentialfit, which is not installed "
            "(pip install pyiron_potentialfit)"
        )
    container = _load_container(path)
    name = str(getattr(container, "job_name", getattr(container, "name", "TrainingContainer")))
    table = container.to_pandas()
    hdf = getattr(getattr(container, "project_hdf5", None), "file_name", None)
    files = {}
    if isinstance(hdf, str) and os.path.isfile(hdf):
        files[os.path.basename(hdf)] = file_sha256(hdf)
    has_stress = "stress" in table.columns and any(
        s is not None and np.any(np.isfinite(np.asarray(s, dtype=float))) for s in table["stress"]
    )
    use_stress = has_stress and stress_unit != "ignore"
    if use_stress and (stress_unit is None or stress_sign is None):
        raise ValueError(
            f"TrainingContainer {name!r} holds stresses but records no unit or sign (pyiron "
            "stores them as given): pass stress_unit= (one of "
            f"{sorted(UNITS['stress'])}) and stress_sign= ('ase' or 'pressure'), or "
            "stress_unit='ignore' to leave them out"
        )
    factor = stress_factor(stress_unit) if use_stress else 1.0
    sign = check_sign(stress_sign) if use_stress else 1.0
    entries = []
    for k, row in enumerate(table.itertuples(index=False)):
        origin = f"{name}:{getattr(row, 'name', '')}@{k}"
        try:
            atoms = to_ase(row.atoms)
            n = len(atoms)
            energy = as_number(row.energy, "energy")
            if "forces" not in table.columns:
                raise BadField("field 'forces' missing")
            forces = as_array(row.forces, "forces", (n, 3), "(number of atoms, 3)")
            stress = np.full(6, np.nan)
            if use_stress and row.stress is not None:
                value = np.asarray(row.stress, dtype=float)
                value = voigt(value.reshape(3, 3)) if value.size == 9 else value
                if np.all(np.isfinite(value)):
                    stress = as_array(value, "stress", (6,), "(6,) Voigt") * factor * sign
        except BadField as exc:
            problems.add(origin, str(exc))
            continue
        entries.append(Entry(origin, name, atoms, energy, math.nan, forces, stress))
    source = {
        "declared_units": "TrainingContainer convention: eV, eV/Angstrom; stress as given",
        "stress_unit": "not imported" if not use_stress else str(stress_unit),
        "stress_unit_overrides_declared": bool(use_stress),
        "stress_sign": stress_sign if use_stress else None,
        "conversion": "energy, forces as stored; stress times the factor of stress_unit and sign",
        "container": name,
    }
    return ReadResult(entries, files, source, name=name)
