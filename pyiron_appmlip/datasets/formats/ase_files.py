"""Format ``"ase"``: files ASE reads with a calculator attached, and ASE databases.

Recognised by: a file named ``OUTCAR*``, ``vasprun*.xml``, ``*.traj`` or ``*.db``, a ``.json``
file that is not FitSNAP's (an ASE JSON database), or a folder with such files below it (and no
``*.json``, ``*.xyz`` or ``*.extxyz`` files, which make it ``"fitsnap-json"`` or ``"extxyz"``).

A VASP ``OUTCAR`` or ``vasprun.xml``, an ASE trajectory (every frame), or an ASE database
(``.db``, ``.json``; every row, group ``config_type`` of the row's key-value pairs, else the
file name); also a folder of such files. ASE's readers already converted the stress to
eV/Angstrom^3 with ASE's sign. Labels come from the attached calculator (ASE maps ``energy``,
``free_energy``, ``forces``, ``stress`` to it), else from the ``info``/``arrays`` keys
``energy``/``Energy``, ``forces``/``Forces``, ``stress``/``Stress`` or ``virial`` (eV,
``virial = -stress * volume``); ``keys=`` names other keys (e.g. ``{"energy":
"REF_energy"}``). ``energy`` is the free (force-consistent) energy where the source tells it
apart (ASE's ``free_energy`` result, e.g. VASP's TOTEN), with ``energy_zero`` the sigma -> 0
value; where it does not, ``energy`` is the total energy and ``energy_zero`` is NaN. The engine
is ``"vasp"`` when every file is VASP output.

Options used: ``index`` (frames of each file; all by default), ``keys``, ``stress_unit``
(default eV/Angstrom^3) and ``stress_sign`` (default ``"ase"``).

:func:`read_ase_files` is shared with the ``"extxyz"`` format.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .common import (
    BadField,
    Entry,
    Problems,
    ReadOptions,
    ReadResult,
    Source,
    as_array,
    as_number,
    check_sign,
    existing_path,
    file_sha256,
    make_atoms,
    natural_key,
    stress_factor,
    voigt,
)

#: The format's name (``read_dataset(..., format=NAME)``).
NAME = "ase"
#: One line for error messages and listings.
DESCRIPTION = "OUTCAR, vasprun.xml, .traj or an ASE .db / .json database (read by ASE)"

_XYZ_SUFFIXES = (".xyz", ".extxyz")
_DB_SUFFIXES = (".db", ".json")


def recognise(source: Source) -> bool:
    """An OUTCAR, vasprun.xml, trajectory or database file, or a folder holding such files."""
    if source.is_dir:
        return any(ase_kind(name) == NAME for name in source.names)
    return source.name.endswith(".json") or ase_kind(source.name) == NAME


def read(path, options: ReadOptions, problems: Problems) -> ReadResult:
    """Read ASE-readable files or databases (see the module docstring)."""
    return read_ase_files(existing_path(path), NAME, options, problems)


def ase_kind(name: str) -> str | None:
    """``"extxyz"`` or ``"ase"`` for a file name one of these formats reads, else None."""
    lower = name.lower()
    if lower.endswith(_XYZ_SUFFIXES):
        return "extxyz"
    if (
        name.startswith("OUTCAR")
        or (lower.startswith("vasprun") and ".xml" in lower)
        or lower.endswith((".traj", ".db"))
    ):
        return "ase"
    return None


def read_ase_files(root: str, fmt: str, options: ReadOptions, problems: Problems) -> ReadResult:
    """Read the file ``root``, or every file below the folder ``root`` whose
    :func:`ase_kind` is ``fmt`` (``"extxyz"`` or ``"ase"``), with ASE."""
    return _read_ase(
        root, fmt, options.index, options.keys, options.stress_unit, options.stress_sign, problems
    )


def _ase_files(root: str, fmt: str) -> tuple[str, list[str]]:
    if os.path.isfile(root):
        return os.path.dirname(os.path.abspath(root)), [os.path.basename(root)]
    base, files = os.path.abspath(root), []
    for folder, dirs, names in os.walk(base):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if ase_kind(name) == fmt:
                files.append(os.path.relpath(os.path.join(folder, name), base).replace(os.sep, "/"))
    if not files:
        patterns = "*.xyz, *.extxyz" if fmt == "extxyz" else "OUTCAR*, vasprun*.xml, *.traj, *.db"
        raise ValueError(f"no {patterns} files below {root!r} for format {fmt!r}")
    return base, sorted(files, key=natural_key)


def _is_vasp(name: str) -> bool:
    return name.startswith("OUTCAR") or name.lower().startswith("vasprun")


def _read_ase(root: str, fmt: str, index, keys, stress_unit, stress_sign, problems) -> ReadResult:
    import ase.io

    keys = dict(keys or {})
    unknown = sorted(set(keys) - {"energy", "forces", "stress", "virial", "group"})
    if unknown:
        raise ValueError(
            f"keys may name 'energy', 'forces', 'stress', 'virial' and 'group', got {unknown}"
        )
    factor = 1.0 if stress_unit is None else stress_factor(stress_unit)
    sign = check_sign("ase" if stress_sign is None else stress_sign)
    base, files = _ase_files(root, fmt)
    entries, hashes, vasp = [], {}, []
    for rel in files:
        full = os.path.join(base, rel)
        hashes[rel] = file_sha256(full)
        vasp.append(_is_vasp(os.path.basename(rel)))
        try:
            if fmt == "ase" and rel.lower().endswith(_DB_SUFFIXES):
                frames = _db_frames(full, rel)
            else:
                read = ase.io.read(full, index=index, format="extxyz" if fmt == "extxyz" else None)
                read = read if isinstance(read, list) else [read]
                many = len(read) > 1 or index not in (None, -1)
                frames = [(f"{rel}@{k}" if many else rel, a, {}) for k, a in enumerate(read)]
        except Exception as exc:  # noqa: BLE001 - any reader failure is reported with the file
            problems.add(full, f"ASE cannot read it ({type(exc).__name__}: {exc})")
            continue
        if not frames:
            problems.add(full, "holds no configurations")
        for origin, atoms, row_pairs in frames:
            try:
                entries.append(_ase_entry(atoms, origin, rel, row_pairs, keys, factor, sign))
            except BadField as exc:
                where = os.path.join(base, origin)
                problems.add(where, str(exc))
    source = {
        "declared_units": "ASE units: eV, eV/Angstrom, Angstrom, stress eV/Angstrom^3 (ASE sign)",
        "stress_unit": "eV/Angstrom^3" if stress_unit is None else str(stress_unit),
        "stress_unit_overrides_declared": stress_unit is not None,
        "stress_sign": "ase" if stress_sign is None else stress_sign,
        "conversion": (
            "energy, forces, positions as read by ASE; stress (Voigt xx yy zz yz xz xy) times the "
            "factor of stress_unit to eV/Angstrom^3, times -1 for the pressure sign; a virial "
            "(eV) becomes -virial / volume; a missing stress is NaN"
        ),
        "index": str(index),
        "keys": keys,
    }
    engine = "vasp" if vasp and all(vasp) else "unknown"
    return ReadResult(entries, hashes, source, engine)


def _db_frames(full: str, rel: str):
    import ase.db

    out = []
    with ase.db.connect(full) as db:
        for row in db.select():
            out.append((f"{rel}@id={row.id}", row.toatoms(), dict(row.key_value_pairs)))
    return out


def _pick(atoms, key, where):
    for store in (atoms.info, atoms.arrays):
        if key in store:
            return store[key]
    raise BadField(f"field {key!r} missing (not in info or arrays{where})")


def _ase_entry(atoms, origin, rel, row_pairs, keys, factor, sign) -> Entry:
    n = len(atoms)
    if n == 0:
        raise BadField("holds a structure without atoms")
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    info = {**atoms.info, **row_pairs}
    energy_zero = math.nan
    if "energy" in keys:
        energy = as_number(_pick(atoms, keys["energy"], ""), keys["energy"])
    elif results.get("free_energy") is not None:
        energy = as_number(results["free_energy"], "free_energy")
        if results.get("energy") is not None:
            energy_zero = as_number(results["energy"], "energy")
    elif results.get("energy") is not None:
        energy = as_number(results["energy"], "energy")
    else:
        name = next((k for k in ("energy", "Energy", "free_energy") if k in info), None)
        if name is None:
            raise BadField("field 'energy' missing (no calculator result, info or keys= entry)")
        energy = as_number(info[name], name)
    if "forces" in keys:
        raw_forces, name = _pick(atoms, keys["forces"], ""), keys["forces"]
    elif results.get("forces") is not None:
        raw_forces, name = results["forces"], "forces"
    else:
        name = next((k for k in ("forces", "Forces") if k in atoms.arrays), None)
        if name is None:
            raise BadField("field 'forces' missing (no calculator result, arrays or keys= entry)")
        raw_forces = atoms.arrays[name]
    forces = as_array(raw_forces, name, (n, 3), "(number of atoms, 3)")
    stress = _ase_stress(atoms, results, info, keys) * factor * sign
    if "group" in keys:
        group = str(_pick(atoms, keys["group"], ""))
    else:
        group = str(info.get("config_type", os.path.basename(rel)))
    plain = make_atoms(
        atoms.get_chemical_symbols(), atoms.get_positions(), np.asarray(atoms.cell), atoms.pbc
    )
    return Entry(origin, group, plain, energy, energy_zero, forces, stress)


def _ase_stress(atoms, results, info, keys) -> np.ndarray:
    if "virial" in keys:
        return _from_virial(atoms, _pick(atoms, keys["virial"], ""), keys["virial"])
    if "stress" in keys:
        value, name = _pick(atoms, keys["stress"], ""), keys["stress"]
    elif results.get("stress") is not None:
        value, name = results["stress"], "stress"
    else:
        name = next((k for k in ("stress", "Stress") if k in info), None)
        if name is None:
            name = next((k for k in ("virial", "Virial") if k in info), None)
            if name is None:
                return np.full(6, np.nan)
            return _from_virial(atoms, info[name], name)
        value = info[name]
    arr = np.asarray(value, dtype=float)
    if arr.size == 9:
        arr = voigt(arr.reshape(3, 3))
    return as_array(arr, name, (6,), "(6,) Voigt or (3, 3)")


def _from_virial(atoms, value, name) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    tensor = arr.reshape(3, 3) if arr.size == 9 else None
    if tensor is None:
        six = as_array(arr, name, (6,), "(6,) Voigt or (3, 3)")
    else:
        six = voigt(as_array(tensor, name, (3, 3), "(3, 3)"))
    if not atoms.pbc.all():
        raise BadField(f"field {name!r}: a virial needs a periodic cell to become a stress")
    return -six / atoms.get_volume()
