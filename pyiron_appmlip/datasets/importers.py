"""Import labelled data written by other codes as one :class:`~.store.LabelledDataset`.

:func:`read_dataset` reads a FitSNAP JSON folder, extended XYZ files, anything ASE reads with a
calculator attached (VASP OUTCAR or vasprun.xml, an ASE database) or a pyiron_potentialfit
``TrainingContainer``, converts the labels to this package's units (eV, eV/Angstrom,
eV/Angstrom^3 with ASE's sign, Voigt order xx yy zz yz xz xy) and stores all of them under one
level whose name says where they came from (default ``"imported:<folder or file name>"``)::

    from pyiron_appmlip.datasets.importers import read_dataset
    from pyiron_appmlip.datasets.store import write_dataset

    ds = read_dataset("WBe_PRB2019/JSON", duplicates="drop")
    write_dataset("wbe.h5", ds)

Formats (``format=None`` guesses from the path, see :func:`guess_format`):

- ``"fitsnap-json"``: a folder with one sub-folder per group (FitSNAP's ``[GROUPS]``), one
  configuration per ``*.json`` file. A file's first line is a ``#`` comment (or the JSON
  starts at once); the JSON is ``{"Dataset": {"Data": [{"NumAtoms", "Lattice" (3x3, rows are
  cell vectors), "Positions", "AtomTypes" (symbols), "Energy" (total), "Forces", "Stress"
  (3x3)}], "LatticeStyle", "EnergyStyle", ...}}``. The ``*Style`` keys name the units;
  missing ones are FitSNAP's ``metal`` defaults (Angstrom, eV, eV/Angstrom, bar). A stress
  that is all zeros (or missing) means "not recorded" and is stored as NaN. The group is the
  sub-folder (its path below the root, for nested folders). A single ``.json`` file may be
  given too (its group is its folder's name).
- ``"extxyz"``: an extended XYZ file (or a folder of ``*.xyz``/``*.extxyz`` files), all frames
  (``index=":"``), read with :func:`ase.io.read`. Labels come from the attached calculator
  (ASE maps ``energy``, ``free_energy``, ``forces``, ``stress`` to it), else from the
  ``info``/``arrays`` keys ``energy``/``Energy``, ``forces``/``Forces``, ``stress``/``Stress``
  or ``virial`` (eV, ``virial = -stress * volume``); ``keys=`` names other keys (e.g.
  ``{"energy": "REF_energy"}``). The group is ``info["config_type"]`` if present, else the
  file name. Values are taken in ASE's units and sign; FitSNAP's own XYZ files carry FitSNAP's
  stress (bar, pressure sign): read them with ``stress_unit="bar", stress_sign="pressure"``.
- ``"ase"``: a file :func:`ase.io.read` reads with a calculator attached (VASP ``OUTCAR``,
  ``vasprun.xml``, an ASE trajectory; every frame), or an ASE database (``.db``, ``.json``;
  every row, group ``config_type`` of the row's key-value pairs, else the file name); also a
  folder of such files. ASE's readers already converted the stress to eV/Angstrom^3 with ASE's
  sign.
- ``"training-container"``: a pyiron_potentialfit ``TrainingContainer`` job (the object, or
  the path of its HDF5 file), needs pyiron_potentialfit. Energies are eV and forces
  eV/Angstrom by that container's convention, but it stores stresses as given, without a
  unit: if it holds any, pass ``stress_unit`` and ``stress_sign`` (or
  ``stress_unit="ignore"``).

Energies: ``energy`` is the free (force-consistent) energy where the source tells it apart
(ASE's ``free_energy`` result, e.g. VASP's TOTEN), with ``energy_zero`` the sigma -> 0 value;
where it does not (FitSNAP's ``Energy``, an ASE ``energy`` alone), ``energy`` is the source's
total energy and ``energy_zero`` is NaN. Wall times, k-points and SCF iterations are unknown
(NaN, -1); ``job_id`` and ``child_id`` are -1. Every configuration is ``"train"`` (none of these
formats marks a test set; the package splits by configuration id later), and its
``generator`` is its group (the kind of structure, for per-kind error tables).

Stress conventions, side by side::

                     ASE / this package              FitSNAP JSON (and LAMMPS)
    tensor           sigma = (1/V) dE/d(strain)      P = (1/V) sum_i r_i (x) f_i (virial part
                                                     of the pressure tensor)
    sign             positive under tension          positive under compression (pressure)
    a compressed     negative (EMT Cu at a=3.5 A:    positive (EOS_BCC_1 of the W-Be set,
    cell             -0.0746 eV/A^3)                 a=2.27 A: +462 in its "bar")
    unit             eV/Angstrom^3                   bar (``StressStyle``; FitSNAP's
                                                     ``metal`` stress is bar)
    layout           Voigt xx yy zz yz xz xy         3x3; fitted as S[[0,1,2,1,0,0],
                                                     [0,1,2,2,2,1]] = xx yy zz yz xz xy

    sigma_ASE [eV/A^3] = -S_FitSNAP [bar] * 1e5 Pa/bar / (e J/eV * 1e30 A^3/m^3)
                       = -S_FitSNAP [bar] / 1.6021766208e6      (e of CODATA 2014, as ASE)

Where FitSNAP (fitsnap3 3.1.0.4) says so: ``scrapers/json_scraper.py:54-59`` reads
``StressStyle`` and builds the factor to ``metal`` (``io/sections/scraper.py:20``,
``"Stress": ["pressure", "Metal", "Metal"]``; ``units/pressure.py``: ``metal = bar = 1``,
``kB = 1000``); ``scrapers/scrape.py:266`` multiplies the stress by it and rotates it into
LAMMPS' frame, with no sign change; ``calculators/lammps_snap.py:367`` turns LAMMPS' descriptor virials into
``1.6021765e6 * virial / volume`` (eV/A^3 -> bar, no sign change) and ``:379-380`` fits
``Stress[[0,1,2,1,0,0],[0,1,2,2,2,1]] - reference`` where the reference is the last column of
LAMMPS' ``compute snap``, the reference potential's virial pressure in bar (checked: ZBL Be
compressed to a=2.3 A gives +1.66e6 there, equal to LAMMPS' ``pxx``). So the JSON ``Stress``
must be LAMMPS' pressure tensor: positive under compression, the opposite of ASE's sign.
FitSNAP's VASP scraper (``scrapers/vasp_scraper.py:299,519-528``) copies OUTCAR's ``in kB``
line unchanged with ``StressStyle = "kB"``, and ASE reads the same line with a minus sign
(``ase/io/vasp_parsers/vasp_outcar_parsers.py:89``, ``convert_vasp_outcar_stress``): the same
convention. (FitSNAP's ASE scraper, ``scrapers/ase_funcs.py:91``, copies ASE's stress in
eV/A^3 and ASE's sign, i.e. *not* this convention; it is not used here.)

Units are converted with this module's own table (CODATA 2014 via ASE), not FitSNAP's; a unit
name it does not know is an error. ``stress_unit=`` overrides the declared stress unit of every
file (e.g. files that say ``bar`` but hold kbar) and ``stress_sign=`` the sign convention
(``"pressure"``: positive under compression; ``"ase"``: positive under tension); both are
recorded. FitSNAP's W-Be example set (``examples/WBe_PRB2019/JSON``) declares ``bar``, but its
equation-of-state stresses match -dE/dV of its energies only when read as kbar (the ratio is
~1e-3 as bar, ~1 as kbar; ``benchmarks/check_import_wbe.py`` prints it): the default follows
the declaration, as FitSNAP does; ``stress_unit="kbar"`` reads them as kbar.

Duplicates: configurations are keyed by :func:`~pyiron_appmlip.structures.conversion.
configuration_id` (symbols, positions, cell, pbc). Copies of one structure whose labels agree
within ``label_tolerance`` (default: 1e-4 eV/atom, 1e-3 eV/Angstrom, 1e-3 eV/Angstrom^3) are
merged: the first (in natural order of file and frame) is kept, the others are counted and
listed. Copies whose labels differ are refused (``duplicates="error"``, default), or the first
is kept (``"first"``) or all of them are left out (``"drop"``); every case is listed.

Provenance: ``dataset.metadata["import"]`` holds the format, the root, the level, the number
of files and ``files_sha256``, the SHA-256 of the manifest ``"<sha256>  <path>\\n"`` of every
file read, sorted by path (for a FitSNAP folder: ``cd <root>; find . -name '*.json' | sed
's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum``), and counts.
``dataset.levels[level].source`` holds the source's declared units, the units and signs used,
the conversion, the SHA-256 of every file by path relative to the root, each configuration's
origin (``path``, ``path@frame`` or ``path@id=<row>``) and the duplicate
list. Nothing is returned half-way: every file is checked first, and any problem raises one
``ValueError`` naming the files and fields (the first 20, and how many more).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..core.units import EV_PER_A3_TO_BAR
from .store import LabelledDataset, LevelData

__all__ = ["FORMATS", "UNITS", "read_dataset", "guess_format", "group_summary", "manifest_sha256"]

#: Formats :func:`read_dataset` reads.
FORMATS = ("fitsnap-json", "extxyz", "ase", "training-container")

_VOIGT = ([0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1])  # xx yy zz yz xz xy from a 3x3 tensor
_MAX_PROBLEMS = 20
_DEFAULT_TOLERANCE = {"energy_per_atom": 1e-4, "forces": 1e-3, "stress": 1e-3}
_XYZ_SUFFIXES = (".xyz", ".extxyz")
_DB_SUFFIXES = (".db", ".json")
_SIGNS = {"ase": 1.0, "pressure": -1.0}


def _unit_key(name: str) -> str:
    text = str(name).strip().lower().replace("/", "per")
    return re.sub(r"[\s_\-\^*]", "", text)


def _table(entries: Mapping[str, float]) -> dict[str, float]:
    return {_unit_key(k): float(v) for k, v in entries.items()}


_HARTREE = 27.211386024367243  # eV (CODATA 2014, as ase.units)
_BOHR = 0.5291772105638411  # Angstrom
_BAR = 1.0 / EV_PER_A3_TO_BAR  # eV/Angstrom^3
#: Unit names (case, spaces, "_", "-", "^" ignored; "/" read as "per") -> factor to eV,
#: Angstrom, eV/Angstrom or eV/Angstrom^3.
UNITS = {
    "energy": _table(
        {
            "eV": 1.0,
            "electronvolt": 1.0,
            "electron_volt": 1.0,
            "metal": 1.0,
            "Hartree": _HARTREE,
            "Ha": _HARTREE,
            "Rydberg": _HARTREE / 2.0,
            "Ry": _HARTREE / 2.0,
            "kcal/mol": 0.04336410390059322,
        }
    ),
    "length": _table(
        {"angstrom": 1.0, "angstroms": 1.0, "ang": 1.0, "metal": 1.0, "bohr": _BOHR, "nm": 10.0}
    ),
    "forces": _table(
        {
            "electronvoltperangstrom": 1.0,
            "eV/Angstrom": 1.0,
            "eV/ang": 1.0,
            "eV/A": 1.0,
            "metal": 1.0,
            "Hartree/Bohr": _HARTREE / _BOHR,
            "Ha/Bohr": _HARTREE / _BOHR,
        }
    ),
    "stress": _table(
        {
            "bar": _BAR,
            "bars": _BAR,
            "metal": _BAR,
            "kbar": 1e3 * _BAR,
            "kB": 1e3 * _BAR,
            "GPa": 1e4 * _BAR,
            "MPa": 10.0 * _BAR,
            "kPa": 1e-2 * _BAR,
            "Pa": 1e-5 * _BAR,
            "atm": 1.01325 * _BAR,
            "eV/Angstrom^3": 1.0,
            "eV/A^3": 1.0,
            "eV/ang^3": 1.0,
        }
    ),
}

_FITSNAP_STYLES = {  # key -> (quantity, FitSNAP's default when the key is missing)
    "EnergyStyle": ("energy", "metal"),
    "ForcesStyle": ("forces", "metal"),
    "LatticeStyle": ("length", "metal"),
    "PositionsStyle": ("length", "metal"),
    "StressStyle": ("stress", "metal"),
}


class _Problems(list):
    """Problems found while reading, raised together at the end."""

    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")

    def raise_if_any(self, what: str) -> None:
        if not self:
            return
        shown = "\n  ".join(self[:_MAX_PROBLEMS])
        more = f"\n  ... and {len(self) - _MAX_PROBLEMS} more" if len(self) > _MAX_PROBLEMS else ""
        raise ValueError(
            f"{len(self)} problem(s) in {what}; nothing was imported:\n  {shown}{more}"
        )


class _Bad(Exception):
    """One field of one entry is unusable (message names the field)."""


@dataclass
class _Entry:
    origin: str  # path relative to the root, with @frame or @id=<row> for multi-entry files
    group: str
    atoms: object  # ase.Atoms without calculator
    energy: float
    energy_zero: float
    forces: np.ndarray
    stress: np.ndarray  # (6,) eV/Angstrom^3, ASE sign; NaN if not recorded
    cid: str = ""


@dataclass
class _Read:
    entries: list
    files: dict  # relative path -> sha256
    source: dict  # format-specific description (units, conversion, ...)
    engine: str = "unknown"


def _natural(text: str):
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_sha256(files: Mapping[str, str]) -> str:
    """SHA-256 of the ``sha256sum``-style manifest of ``files`` (path -> hash), sorted by path."""
    text = "".join(f"{files[p]}  {p}\n" for p in sorted(files))
    return _sha256(text.encode())


def _factor(quantity: str, unit, where: str, problems: _Problems, field: str):
    key = _unit_key(unit) if isinstance(unit, str) else None
    if key not in UNITS[quantity]:
        problems.add(
            where,
            f"field {field!r} names the unit {unit!r}, which this importer does not know "
            f"(known {quantity} units: {sorted(UNITS[quantity])})",
        )
        return None
    return UNITS[quantity][key]


def _check_sign(stress_sign):
    if stress_sign not in _SIGNS:
        raise ValueError(
            f"stress_sign must be 'ase' (positive under tension) or 'pressure' (positive under "
            f"compression), got {stress_sign!r}"
        )
    return _SIGNS[stress_sign]


def _stress_factor(stress_unit):
    if stress_unit is None:
        return None
    key = _unit_key(stress_unit) if isinstance(stress_unit, str) else None
    if key not in UNITS["stress"]:
        raise ValueError(
            f"stress_unit must be one of {sorted(UNITS['stress'])} (or 'ignore'), "
            f"got {stress_unit!r}"
        )
    return UNITS["stress"][key]


def _array(value, field: str, shape: tuple, expected: str) -> np.ndarray:
    """A finite float array of ``shape`` from JSON/ASE data, or _Bad naming the field."""
    if isinstance(value, bool) or value is None:
        raise _Bad(f"field {field!r} is {value!r}, expected numbers of shape {expected}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise _Bad(f"field {field!r} is not an array of numbers of shape {expected}") from None
    if arr.shape != shape:
        raise _Bad(f"field {field!r} has shape {arr.shape}, expected {expected} = {shape}")
    if not np.all(np.isfinite(arr)):
        raise _Bad(f"field {field!r} has non-finite values")
    return arr


def _number(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise _Bad(f"field {field!r} is {value!r}, expected a number")
    if not math.isfinite(float(value)):
        raise _Bad(f"field {field!r} is {value!r}, expected a finite number")
    return float(value)


def _voigt(tensor: np.ndarray) -> np.ndarray:
    return np.asarray(tensor, dtype=float)[_VOIGT]


def _make_atoms(symbols, positions, cell, pbc):
    from ase import Atoms

    return Atoms(symbols=symbols, positions=positions, cell=cell, pbc=pbc)


# --------------------------------------------------------------------------------------------
# FitSNAP JSON


def _reject_constant(name):
    raise ValueError(f"non-finite number {name} in the JSON")


def _read_fitsnap_json(root: str, stress_unit, stress_sign, problems: _Problems) -> _Read:
    from ase.data import atomic_numbers

    stress_override = _stress_factor(stress_unit)
    sign = _check_sign("pressure" if stress_sign is None else stress_sign)
    skipped = []
    if os.path.isfile(root):
        base, files = os.path.dirname(os.path.abspath(root)), [os.path.basename(root)]
        root_group = os.path.basename(base)
    else:
        base, files = os.path.abspath(root), []
        for folder, dirs, names in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                rel = os.path.relpath(os.path.join(folder, name), base).replace(os.sep, "/")
                if name.endswith(".json"):
                    files.append(rel)
                elif not name.startswith("."):
                    skipped.append(rel)
        root_group = os.path.basename(base)
        if not files:
            raise ValueError(f"no *.json files below {root!r}: not a FitSNAP JSON folder")
    files.sort(key=_natural)
    entries, hashes = [], {}
    declared = {key: set() for key in _FITSNAP_STYLES}
    not_recorded = 0
    for rel in files:
        full = os.path.join(base, rel)
        with open(full, "rb") as handle:
            raw = handle.read()
        hashes[rel] = _sha256(raw)
        try:
            entry, styles, recorded = _fitsnap_entry(
                raw, rel, root_group, atomic_numbers, stress_override, sign, full, problems
            )
        except _Bad as exc:
            problems.add(full, str(exc))
            continue
        if entry is None:
            continue
        for key, value in styles.items():
            declared[key].add(value)
        not_recorded += not recorded
        entries.append(entry)
    source = {
        "declared_units": {
            key: sorted(values) if values else [f"(missing: FitSNAP's default {default!r})"]
            for key, (_, default) in _FITSNAP_STYLES.items()
            for values in [declared[key]]
        },
        "stress_unit": "declared StressStyle" if stress_unit is None else str(stress_unit),
        "stress_unit_overrides_declared": stress_unit is not None,
        "stress_sign": "pressure" if stress_sign is None else stress_sign,
        "conversion": (
            "energy, forces, lattice, positions: times the factor of the declared *Style to eV, "
            "eV/Angstrom, Angstrom; stress: Voigt (xx yy zz yz xz xy) of the 3x3 'Stress', times "
            "the factor of its unit to eV/Angstrom^3 (bar: 1/1.6021766208e6), times -1 for the "
            "pressure sign; an all-zero or missing 'Stress' is NaN (not recorded)"
        ),
        "stress_not_recorded": not_recorded,
    }
    if skipped:
        source["skipped_files"] = sorted(skipped, key=_natural)
    return _Read(entries, hashes, source)


def _fitsnap_entry(raw, rel, root_group, atomic_numbers, stress_override, sign, full, problems):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"is not UTF-8 text ({exc})") from None
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        first, _, rest = text.partition("\n")
        if not first.lstrip().startswith("#"):
            raise _Bad("the first line is neither a '#' comment nor the start of the JSON")
        text = rest
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise _Bad(f"is not valid JSON after the comment line ({exc})") from None
    if not isinstance(data, dict) or set(data) != {"Dataset"}:
        raise _Bad("field 'Dataset' missing: the JSON must be one object {'Dataset': {...}}")
    dataset = data["Dataset"]
    if not isinstance(dataset, dict) or not isinstance(dataset.get("Data"), list):
        raise _Bad("field 'Data' missing or not a list in 'Dataset'")
    if len(dataset["Data"]) != 1:
        raise _Bad(
            f"field 'Data' has {len(dataset['Data'])} configurations, FitSNAP reads exactly "
            "one per file"
        )
    config = dataset["Data"][0]
    if not isinstance(config, dict):
        raise _Bad("field 'Data' holds a non-object")
    styles, factors = {}, {}
    for key, (quantity, default) in _FITSNAP_STYLES.items():
        value = dataset.get(key, config.get(key, default))
        if key in dataset or key in config:
            styles[key] = value
        factors[key] = _factor(quantity, value, full, problems, key)
    atom_style = dataset.get("AtomTypeStyle", "chemicalsymbol")
    if atom_style != "chemicalsymbol":
        raise _Bad(f"field 'AtomTypeStyle' is {atom_style!r}, only 'chemicalsymbol' is read")
    if any(f is None for f in factors.values()):
        return None, styles, True  # the unit problem is recorded already
    for key in ("NumAtoms", "Lattice", "Positions", "AtomTypes", "Energy", "Forces"):
        if key not in config:
            raise _Bad(f"field {key!r} missing")
    n = config["NumAtoms"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise _Bad(f"field 'NumAtoms' is {n!r}, expected a positive integer")
    cell = _array(config["Lattice"], "Lattice", (3, 3), "(3, 3)")
    if abs(np.linalg.det(cell)) < 1e-12:
        raise _Bad("field 'Lattice' has zero volume")
    positions = _array(config["Positions"], "Positions", (n, 3), "(NumAtoms, 3)")
    types = config["AtomTypes"]
    if not isinstance(types, list) or len(types) != n:
        count = len(types) if isinstance(types, list) else type(types).__name__
        raise _Bad(f"field 'AtomTypes' has {count} entries, expected NumAtoms = {n}")
    unknown = sorted({str(t) for t in types if not isinstance(t, str) or t not in atomic_numbers})
    if unknown:
        raise _Bad(f"field 'AtomTypes' has unknown chemical symbols {unknown[:5]}")
    energy = _number(config["Energy"], "Energy")
    forces = _array(config["Forces"], "Forces", (n, 3), "(NumAtoms, 3)")
    stress = np.full(6, np.nan)
    recorded = False
    if config.get("Stress") is not None:
        tensor = _array(config["Stress"], "Stress", (3, 3), "(3, 3)")
        if np.any(tensor != 0.0):
            unit = factors["StressStyle"] if stress_override is None else stress_override
            stress = sign * unit * _voigt(tensor)
            recorded = True
    length = factors["LatticeStyle"]
    atoms = _make_atoms(types, positions * factors["PositionsStyle"], cell * length, True)
    folder = os.path.dirname(rel)
    entry = _Entry(
        origin=rel,
        group=folder if folder else root_group,
        atoms=atoms,
        energy=energy * factors["EnergyStyle"],
        energy_zero=math.nan,
        forces=forces * factors["ForcesStyle"],
        stress=stress,
    )
    return entry, styles, recorded


# --------------------------------------------------------------------------------------------
# ASE: extended XYZ, OUTCAR, vasprun.xml, trajectories, databases


def _ase_files(root: str, fmt: str) -> tuple[str, list[str]]:
    if os.path.isfile(root):
        return os.path.dirname(os.path.abspath(root)), [os.path.basename(root)]
    base, files = os.path.abspath(root), []
    for folder, dirs, names in os.walk(base):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if _ase_kind(name) == fmt:
                files.append(os.path.relpath(os.path.join(folder, name), base).replace(os.sep, "/"))
    if not files:
        patterns = "*.xyz, *.extxyz" if fmt == "extxyz" else "OUTCAR*, vasprun*.xml, *.traj, *.db"
        raise ValueError(f"no {patterns} files below {root!r} for format {fmt!r}")
    return base, sorted(files, key=_natural)


def _ase_kind(name: str) -> str | None:
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


def _is_vasp(name: str) -> bool:
    return name.startswith("OUTCAR") or name.lower().startswith("vasprun")


def _read_ase(root: str, fmt: str, index, keys, stress_unit, stress_sign, problems) -> _Read:
    import ase.io

    keys = dict(keys or {})
    unknown = sorted(set(keys) - {"energy", "forces", "stress", "virial", "group"})
    if unknown:
        raise ValueError(
            f"keys may name 'energy', 'forces', 'stress', 'virial' and 'group', got {unknown}"
        )
    factor = 1.0 if stress_unit is None else _stress_factor(stress_unit)
    sign = _check_sign("ase" if stress_sign is None else stress_sign)
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
            except _Bad as exc:
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
    return _Read(entries, hashes, source, engine)


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
    raise _Bad(f"field {key!r} missing (not in info or arrays{where})")


def _ase_entry(atoms, origin, rel, row_pairs, keys, factor, sign) -> _Entry:
    n = len(atoms)
    if n == 0:
        raise _Bad("holds a structure without atoms")
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    info = {**atoms.info, **row_pairs}
    energy_zero = math.nan
    if "energy" in keys:
        energy = _number(_pick(atoms, keys["energy"], ""), keys["energy"])
    elif results.get("free_energy") is not None:
        energy = _number(results["free_energy"], "free_energy")
        if results.get("energy") is not None:
            energy_zero = _number(results["energy"], "energy")
    elif results.get("energy") is not None:
        energy = _number(results["energy"], "energy")
    else:
        name = next((k for k in ("energy", "Energy", "free_energy") if k in info), None)
        if name is None:
            raise _Bad("field 'energy' missing (no calculator result, info or keys= entry)")
        energy = _number(info[name], name)
    if "forces" in keys:
        raw_forces, name = _pick(atoms, keys["forces"], ""), keys["forces"]
    elif results.get("forces") is not None:
        raw_forces, name = results["forces"], "forces"
    else:
        name = next((k for k in ("forces", "Forces") if k in atoms.arrays), None)
        if name is None:
            raise _Bad("field 'forces' missing (no calculator result, arrays or keys= entry)")
        raw_forces = atoms.arrays[name]
    forces = _array(raw_forces, name, (n, 3), "(number of atoms, 3)")
    stress = _ase_stress(atoms, results, info, keys) * factor * sign
    if "group" in keys:
        group = str(_pick(atoms, keys["group"], ""))
    else:
        group = str(info.get("config_type", os.path.basename(rel)))
    plain = _make_atoms(
        atoms.get_chemical_symbols(), atoms.get_positions(), np.asarray(atoms.cell), atoms.pbc
    )
    return _Entry(origin, group, plain, energy, energy_zero, forces, stress)


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
        arr = _voigt(arr.reshape(3, 3))
    return _array(arr, name, (6,), "(6,) Voigt or (3, 3)")


def _from_virial(atoms, value, name) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    tensor = arr.reshape(3, 3) if arr.size == 9 else None
    if tensor is None:
        voigt = _array(arr, name, (6,), "(6,) Voigt or (3, 3)")
    else:
        voigt = _voigt(_array(tensor, name, (3, 3), "(3, 3)"))
    if not atoms.pbc.all():
        raise _Bad(f"field {name!r}: a virial needs a periodic cell to become a stress")
    return -voigt / atoms.get_volume()


# --------------------------------------------------------------------------------------------
# pyiron_potentialfit TrainingContainer


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


def _read_training_container(path, stress_unit, stress_sign, problems) -> _Read:
    from ..structures.conversion import to_ase

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
    factor = _stress_factor(stress_unit) if use_stress else 1.0
    sign = _check_sign(stress_sign) if use_stress else 1.0
    entries = []
    for k, row in enumerate(table.itertuples(index=False)):
        origin = f"{name}:{getattr(row, 'name', '')}@{k}"
        try:
            atoms = to_ase(row.atoms)
            n = len(atoms)
            energy = _number(row.energy, "energy")
            if "forces" not in table.columns:
                raise _Bad("field 'forces' missing")
            forces = _array(row.forces, "forces", (n, 3), "(number of atoms, 3)")
            stress = np.full(6, np.nan)
            if use_stress and row.stress is not None:
                value = np.asarray(row.stress, dtype=float)
                value = _voigt(value.reshape(3, 3)) if value.size == 9 else value
                if np.all(np.isfinite(value)):
                    stress = _array(value, "stress", (6,), "(6,) Voigt") * factor * sign
        except _Bad as exc:
            problems.add(origin, str(exc))
            continue
        entries.append(_Entry(origin, name, atoms, energy, math.nan, forces, stress))
    source = {
        "declared_units": "TrainingContainer convention: eV, eV/Angstrom; stress as given",
        "stress_unit": "not imported" if not use_stress else str(stress_unit),
        "stress_unit_overrides_declared": bool(use_stress),
        "stress_sign": stress_sign if use_stress else None,
        "conversion": "energy, forces as stored; stress times the factor of stress_unit and sign",
        "container": name,
    }
    return _Read(entries, files, source)


# --------------------------------------------------------------------------------------------
# assembly


def _difference(a: _Entry, b: _Entry) -> dict:
    n = len(a.atoms)
    both = np.isfinite(a.stress) & np.isfinite(b.stress)
    return {
        "energy_per_atom": abs(a.energy - b.energy) / n,
        "forces": float(np.max(np.abs(a.forces - b.forces))),
        "stress": float(np.max(np.abs(a.stress[both] - b.stress[both]))) if both.any() else None,
    }


def _within(diff: dict, tolerance: Mapping) -> bool:
    return all(diff[k] is None or diff[k] <= tolerance[k] for k in tolerance)


def _check_tolerance(label_tolerance):
    tolerance = dict(_DEFAULT_TOLERANCE)
    if label_tolerance is not None:
        unknown = sorted(set(label_tolerance) - set(tolerance))
        if unknown:
            raise ValueError(
                f"label_tolerance may set {sorted(tolerance)} (eV/atom, eV/Angstrom, "
                f"eV/Angstrom^3), got {unknown}"
            )
        tolerance.update({k: float(v) for k, v in label_tolerance.items()})
    return tolerance


def _assemble(read: _Read, fmt, root, level, duplicates, tolerance, metadata, problems):
    from ..structures.conversion import configuration_id

    by_id: dict[str, list[_Entry]] = {}
    for entry in read.entries:
        entry.cid = configuration_id(entry.atoms)
        by_id.setdefault(entry.cid, []).append(entry)
    kept, report = [], []
    n_merged = n_conflicts = n_left_out = 0
    for cid, copies in by_id.items():
        first = copies[0]
        if len(copies) == 1:
            kept.append(first)
            continue
        diffs = [_difference(first, other) for other in copies[1:]]
        worst = {k: max((d[k] for d in diffs if d[k] is not None), default=None) for k in tolerance}
        agree = all(_within(d, tolerance) for d in diffs)
        record = {
            "id": cid,
            "copies": [c.origin for c in copies],
            "labels": "agree" if agree else "differ",
            "max_difference": worst,
        }
        if agree:
            kept.append(first)
            record["kept"] = first.origin
            n_merged += len(copies) - 1
        else:
            n_conflicts += 1
            if duplicates == "error":
                problems.add(
                    os.path.join(root, first.origin),
                    f"the same structure (configuration id {cid}) as "
                    f"{', '.join(c.origin for c in copies[1:])} with different labels "
                    f"(largest differences {worst}); pass duplicates='first' or 'drop'",
                )
            elif duplicates == "first":
                kept.append(first)
                record["kept"] = first.origin
                n_left_out += len(copies) - 1
            else:
                record["kept"] = None
                n_left_out += len(copies)
        report.append(record)
    problems.raise_if_any(f"{fmt} data at {root}")
    if not kept:
        raise ValueError(f"no labelled configurations found in {fmt} data at {root}")
    k = len(kept)
    source = {
        "format": fmt,
        "root": root,
        **read.source,
        "files": read.files,
        "files_sha256": manifest_sha256(read.files),
        "origin": {e.cid: e.origin for e in kept},
        "duplicates": report,
        "duplicate_policy": duplicates,
        "label_tolerance": tolerance,
    }
    data = LevelData(
        name=level,
        level={"name": level},
        engine=read.engine,
        engine_version="",
        ids=[e.cid for e in kept],
        energy=np.array([e.energy for e in kept], dtype=float),
        energy_zero=np.array([e.energy_zero for e in kept], dtype=float),
        forces=[np.asarray(e.forces, dtype=float).reshape(-1, 3) for e in kept],
        stress=np.array([e.stress for e in kept], dtype=float).reshape(k, 6),
        wall_time=np.full(k, np.nan),
        n_kpoints=np.full(k, -1, dtype=np.int64),
        n_scf_iterations=np.full(k, -1, dtype=np.int64),
        kmesh=np.full((k, 3), -1, dtype=np.int64),
        job_id=np.full(k, -1, dtype=np.int64),
        child_id=np.full(k, -1, dtype=np.int64),
        source=source,
    )
    summary = {
        "format": fmt,
        "root": root,
        "level": level,
        "n_files": len(read.files),
        "files_sha256": source["files_sha256"],
        "n_read": len(read.entries),
        "n_configurations": k,
        "n_duplicates_merged": n_merged,
        "n_conflicting_structures": n_conflicts,
        "n_left_out": n_left_out,
        "n_stress_recorded": int(np.sum(np.all(np.isfinite(data.stress), axis=1))),
    }
    return LabelledDataset(
        ids=list(data.ids),
        structures=[e.atoms for e in kept],
        subset=["train"] * k,
        generator=[e.group for e in kept],
        levels={level: data},
        metadata={**dict(metadata or {}), "import": summary},
        group=[e.group for e in kept],
    )


# --------------------------------------------------------------------------------------------
# public


def guess_format(path) -> str:
    """The format :func:`read_dataset` would read ``path`` as.

    A folder with ``*.json`` files below it is ``"fitsnap-json"``, one with ``*.xyz`` or
    ``*.extxyz`` files ``"extxyz"``, one with OUTCAR/vasprun.xml/.traj/.db files ``"ase"``; a
    ``.xyz``/``.extxyz`` file is ``"extxyz"``, a ``.db`` file, ``OUTCAR*``, ``vasprun*.xml`` or
    ``.traj`` ``"ase"``, a ``.json`` file ``"fitsnap-json"`` if it holds a FitSNAP
    ``"Dataset"``, else ``"ase"`` (an ASE JSON database); an object with ``to_pandas`` (a
    TrainingContainer) is ``"training-container"``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the format cannot be told, listing the formats.
    """
    if hasattr(path, "to_pandas"):
        return "training-container"
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no file or folder at {path!r}")
    kinds = set()
    if os.path.isdir(path):
        for _, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                if name.endswith(".json"):
                    return "fitsnap-json"
                kinds.add(_ase_kind(name))
        for kind in ("extxyz", "ase"):
            if kind in kinds:
                return kind
    else:
        name = os.path.basename(path)
        if name.endswith(".json"):
            with open(path, "rb") as handle:
                head = handle.read(4096)
            return "fitsnap-json" if b'"Dataset"' in head else "ase"
        kind = _ase_kind(name)
        if kind is not None:
            return kind
    raise ValueError(
        f"cannot tell the format of {path!r}; pass format= one of {list(FORMATS)} "
        "(fitsnap-json: a folder of group folders of *.json files; extxyz: *.xyz/*.extxyz; "
        "ase: OUTCAR, vasprun.xml, .traj or an ASE .db; training-container: a pyiron "
        "TrainingContainer)"
    )


def read_dataset(
    path,
    format: str | None = None,
    level: str | None = None,
    *,
    duplicates: str = "error",
    label_tolerance: Mapping | None = None,
    stress_unit: str | None = None,
    stress_sign: str | None = None,
    index=":",
    keys: Mapping | None = None,
    metadata: Mapping | None = None,
) -> LabelledDataset:
    """Read labelled configurations written by another code (see the module docstring).

    Args:
        path: a FitSNAP JSON folder (or one file), an extended XYZ file or folder, a file or
            folder ASE reads (OUTCAR, vasprun.xml, .traj, an ASE database), or a
            TrainingContainer job or the path of its HDF5 file.
        format: one of :data:`FORMATS`; None guesses from ``path`` (:func:`guess_format`).
        level: name of the one level all labels go to (default
            ``"imported:<folder or file name>"``); must not contain "/".
        duplicates: copies of one structure with different labels: ``"error"`` (default)
            refuses them, ``"first"`` keeps the first copy, ``"drop"`` leaves all out. Copies
            with equal labels are always merged.
        label_tolerance: when copies' labels are equal: largest differences
            ``energy_per_atom`` (eV), ``forces`` (eV/Angstrom), ``stress`` (eV/Angstrom^3);
            defaults 1e-4, 1e-3, 1e-3.
        stress_unit: the unit of the source's stresses, overriding what the source declares
            (e.g. ``"kbar"``); ``"ignore"`` leaves a TrainingContainer's stresses out.
        stress_sign: ``"pressure"`` (positive under compression; FitSNAP's default) or
            ``"ase"`` (positive under tension; the default of the ASE formats).
        index: frames of each ASE-readable file (ASE's ``index``; all by default).
        keys: extxyz/ase: ``info``/``arrays`` keys holding ``energy``, ``forces``,
            ``stress``, ``virial`` or ``group`` (they take precedence over the calculator).
        metadata: extra entries of the dataset's ``metadata`` (the import summary is
            ``metadata["import"]``).

    Returns:
        One :class:`~pyiron_appmlip.datasets.store.LabelledDataset` with one level; every
        configuration ``"train"``; ``group`` and ``generator`` the source's group.

    Raises:
        ValueError: for an unknown or unguessable format, bad arguments, or any bad file or
            field (all of them in one message, each naming the file and field), and for
            copies of one structure with different labels when ``duplicates="error"``.
        FileNotFoundError: if ``path`` does not exist.
        ImportError: for ``"training-container"`` without pyiron_potentialfit.
    """
    if format is None:
        format = guess_format(path)
    if format not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {format!r}")
    if duplicates not in ("error", "first", "drop"):
        raise ValueError(f"duplicates must be 'error', 'first' or 'drop', got {duplicates!r}")
    tolerance = _check_tolerance(label_tolerance)
    if stress_sign is not None:
        _check_sign(stress_sign)
    if stress_unit is not None and not (format == "training-container" and stress_unit == "ignore"):
        _stress_factor(stress_unit)
    problems = _Problems()
    if format == "training-container":
        read = _read_training_container(path, stress_unit, stress_sign, problems)
        root = os.path.abspath(os.fspath(path)) if isinstance(path, str | os.PathLike) else ""
        name = read.source["container"]
    else:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no file or folder at {path!r}")
        root = os.path.abspath(path)
        name = os.path.basename(root.rstrip(os.sep))
        if format == "fitsnap-json":
            read = _read_fitsnap_json(path, stress_unit, stress_sign, problems)
        else:
            read = _read_ase(path, format, index, keys, stress_unit, stress_sign, problems)
    if level is None:
        level = f"imported:{name}"
    if not isinstance(level, str) or not level.strip() or "/" in level:
        raise ValueError(f"level must be a non-empty name without '/', got {level!r}")
    return _assemble(read, format, root, level, duplicates, tolerance, metadata, problems)


def group_summary(dataset: LabelledDataset, level: str | None = None):
    """Per group: configurations, atoms per configuration (min, max), stresses recorded.

    Args:
        dataset: a dataset (e.g. from :func:`read_dataset`).
        level: the level whose stresses are counted (default: the only or first level).

    Returns:
        A pandas DataFrame with the columns ``group``, ``configurations``, ``atoms_min``,
        ``atoms_max``, ``atoms_total``, ``stress_recorded``, one row per group in order of
        first appearance.
    """
    import pandas as pd

    data = dataset.level(level if level is not None else dataset.level_names[0])
    recorded = {
        cid: bool(np.all(np.isfinite(s))) for cid, s in zip(data.ids, data.stress, strict=True)
    }
    rows: dict[str, dict] = {}
    for cid, group, n in zip(dataset.ids, dataset.group, dataset.n_atoms, strict=True):
        row = rows.setdefault(
            group,
            {
                "group": group,
                "configurations": 0,
                "atoms_min": int(n),
                "atoms_max": int(n),
                "atoms_total": 0,
                "stress_recorded": 0,
            },
        )
        row["configurations"] += 1
        row["atoms_min"] = min(row["atoms_min"], int(n))
        row["atoms_max"] = max(row["atoms_max"], int(n))
        row["atoms_total"] += int(n)
        row["stress_recorded"] += int(recorded.get(cid, False))
    return pd.DataFrame(list(rows.values()))
