"""What every dataset format shares: units, checks, the duplicate rule and provenance.

A format's reader (see :mod:`pyiron_appmlip.datasets.formats`) turns its files into
:class:`Entry` objects already in this package's units -- eV, Angstrom, eV/Angstrom and
eV/Angstrom^3 with ASE's sign (positive under tension), Voigt order xx yy zz yz xz xy -- and
returns them as a :class:`ReadResult`. :func:`assemble` then applies the one rule for copies of
one structure (:func:`~pyiron_appmlip.structures.conversion.configuration_id`, see
``duplicates`` below) and builds the :class:`~pyiron_appmlip.datasets.store.LabelledDataset`
with its provenance.

Units: :data:`UNITS` maps unit names (case, spaces, ``_``, ``-``, ``^`` and ``*`` ignored;
``/`` read as ``per``) to the factor to eV, Angstrom, eV/Angstrom or eV/Angstrom^3 (CODATA
2014 via ASE, not FitSNAP's own table); a unit name it does not know is an error.
``stress_unit=`` overrides the declared stress unit of every file and ``stress_sign=`` the sign
convention (``"pressure"``: positive under compression; ``"ase"``: positive under tension).

Structures follow the package's rule (:mod:`pyiron_appmlip.structures.checks`): a
configuration with two atoms closer than ``min_distance`` (default 0.5 Angstrom, periodic
images included) is refused, naming its file, the atoms and their distance; and a
configuration is kept once. Duplicates: copies of one structure whose labels agree within
``label_tolerance`` (default: 1e-4 eV/atom, 1e-3 eV/Angstrom, 1e-3 eV/Angstrom^3) are merged:
the first (in natural order of file and frame) is kept, the others are counted and listed.
Copies whose labels differ are refused (``duplicates="error"``, default), or the first is kept
(``"first"``) or all of them are left out (``"drop"``); every case is listed, and merged or
left-out copies are named in a
:class:`~pyiron_appmlip.structures.checks.DuplicateStructuresWarning`.

Provenance: ``dataset.metadata["import"]`` holds the format, the root, the level, the number of
files and ``files_sha256``, the SHA-256 of the manifest ``"<sha256>  <path>\\n"`` of every file
read, sorted by path (for a FitSNAP folder: ``cd <root>; find . -name '*.json' | sed
's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum``), and counts.
``dataset.levels[level].source`` holds the source's declared units, the units and signs used,
the conversion, the SHA-256 of every file by path relative to the root, each configuration's
origin (``path``, ``path@frame`` or ``path@id=<row>``) and the duplicate list. Nothing is
returned half-way: every file is checked first, and any problem raises one ``ValueError``
naming the files and fields (the first 20, and how many more).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ...core.units import EV_PER_A3_TO_BAR
from ...structures.checks import DEFAULT_MIN_DISTANCE, check_structures, warn_duplicates
from ..store import LabelledDataset, LevelData

__all__ = [
    "UNITS",
    "SIGNS",
    "DEFAULT_TOLERANCE",
    "VOIGT",
    "Source",
    "ReadOptions",
    "Entry",
    "ReadResult",
    "Problems",
    "BadField",
    "natural_key",
    "sha256_hex",
    "file_sha256",
    "manifest_sha256",
    "existing_path",
    "unit_factor",
    "check_sign",
    "stress_factor",
    "check_options",
    "check_tolerance",
    "as_array",
    "as_number",
    "voigt",
    "make_atoms",
    "assemble",
]

#: Index pairs giving xx yy zz yz xz xy of a 3x3 tensor.
VOIGT = ([0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1])
_MAX_PROBLEMS = 20
#: Largest label differences of copies of one structure that still count as equal: eV/atom,
#: eV/Angstrom, eV/Angstrom^3.
DEFAULT_TOLERANCE = {"energy_per_atom": 1e-4, "forces": 1e-3, "stress": 1e-3}
#: Stress sign conventions -> factor to ASE's sign (positive under tension).
SIGNS = {"ase": 1.0, "pressure": -1.0}


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


# --------------------------------------------------------------------------------------------
# what a format's reader gets and returns


class Source:
    """What a format's ``recognise`` function looks at.

    Attributes:
        given: the object passed to :func:`~pyiron_appmlip.datasets.formats.read_dataset`.
        path: ``given`` as a string if it is a path (``str`` or ``os.PathLike``), else None.
        is_dir, is_file: whether ``path`` is an existing folder or file.
    """

    def __init__(self, given):
        self.given = given
        self.path = os.fspath(given) if isinstance(given, str | os.PathLike) else None
        self.is_dir = self.path is not None and os.path.isdir(self.path)
        self.is_file = self.path is not None and os.path.isfile(self.path)

    @property
    def name(self) -> str:
        """The file name of a file (empty for anything else)."""
        return os.path.basename(self.path) if self.is_file else ""

    @cached_property
    def names(self) -> list[str]:
        """File names below a folder (hidden folders skipped), or ``[name]`` for a file."""
        if self.is_file:
            return [self.name]
        found = []
        if self.is_dir:
            for _, dirs, names in os.walk(self.path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.extend(names)
        return found

    @cached_property
    def head(self) -> bytes:
        """The first 4096 bytes of a file (empty for anything else)."""
        if not self.is_file:
            return b""
        with open(self.path, "rb") as handle:
            return handle.read(4096)


@dataclass
class ReadOptions:
    """The reading options of :func:`~pyiron_appmlip.datasets.formats.read_dataset` a format
    may use (each format's docstring says which it uses).

    Attributes:
        stress_unit: the unit of the source's stresses overriding what the source declares
            (a key of ``UNITS["stress"]``), or None.
        stress_sign: ``"ase"``, ``"pressure"`` or None (the format's default).
        index: frames of each ASE-readable file (ASE's ``index``).
        keys: ``info``/``arrays`` keys that hold ``energy``, ``forces``, ``stress``,
            ``virial`` or ``group``.
    """

    stress_unit: str | None = None
    stress_sign: str | None = None
    index: object = ":"
    keys: Mapping | None = None


@dataclass
class Entry:
    """One labelled configuration, in eV, Angstrom, eV/Angstrom, eV/Angstrom^3 (ASE's sign).

    Attributes:
        origin: path relative to the root, with ``@frame`` or ``@id=<row>`` for files holding
            several configurations.
        group: the kind of structure (a FitSNAP group, an extxyz ``config_type``, ...).
        atoms: ``ase.Atoms`` without calculator.
        energy: total (free) energy, eV.
        energy_zero: the sigma -> 0 energy where the source tells it apart, else NaN (eV).
        forces: (number of atoms, 3) eV/Angstrom.
        stress: (6,) Voigt, eV/Angstrom^3, ASE's sign; NaN if not recorded.
        cid: the configuration id, set by :func:`assemble`.
    """

    origin: str
    group: str
    atoms: object
    energy: float
    energy_zero: float
    forces: np.ndarray
    stress: np.ndarray
    cid: str = ""


@dataclass
class ReadResult:
    """What a format's ``read`` function returns.

    Attributes:
        entries: the :class:`Entry` objects, in natural order of file and frame.
        files: path relative to the root -> SHA-256 of every file read.
        source: the format's description of what it read: declared and used units and signs,
            the conversion, ... (stored in the level's ``source``).
        engine: the code that made the labels, if known (``"vasp"``), else ``"unknown"``.
        name: the name of the default level ``"imported:<name>"``; None uses the file or
            folder name.
    """

    entries: list
    files: dict
    source: dict
    engine: str = "unknown"
    name: str | None = field(default=None)


class Problems(list):
    """Problems found while reading, raised together at the end."""

    def add(self, where: str, message: str) -> None:
        """Record that ``where`` (a file, with frame or row) has the problem ``message``."""
        self.append(f"{where}: {message}")

    def raise_if_any(self, what: str) -> None:
        """Raise one ``ValueError`` listing the first 20 problems, if there are any."""
        if not self:
            return
        shown = "\n  ".join(self[:_MAX_PROBLEMS])
        more = f"\n  ... and {len(self) - _MAX_PROBLEMS} more" if len(self) > _MAX_PROBLEMS else ""
        raise ValueError(
            f"{len(self)} problem(s) in {what}; nothing was imported:\n  {shown}{more}"
        )


class BadField(Exception):
    """One field of one entry is unusable (the message names the field)."""


# --------------------------------------------------------------------------------------------
# files and checksums


def natural_key(text: str):
    """Sort key that orders ``a2`` before ``a10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def sha256_hex(data: bytes) -> str:
    """SHA-256 (hex) of ``data``."""
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
    return sha256_hex(text.encode())


def existing_path(path) -> str:
    """``path`` as a string; ``FileNotFoundError`` if nothing is there."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no file or folder at {path!r}")
    return path


# --------------------------------------------------------------------------------------------
# units, signs and options


def unit_factor(quantity: str, unit, where: str, problems: Problems, field: str):
    """The factor of ``unit`` (a ``quantity`` of :data:`UNITS`), or None after recording the
    unknown unit in ``problems``."""
    key = _unit_key(unit) if isinstance(unit, str) else None
    if key not in UNITS[quantity]:
        problems.add(
            where,
            f"field {field!r} names the unit {unit!r}, which this importer does not know "
            f"(known {quantity} units: {sorted(UNITS[quantity])})",
        )
        return None
    return UNITS[quantity][key]


def check_sign(stress_sign) -> float:
    """The factor of ``stress_sign`` to ASE's sign; ``ValueError`` for anything else."""
    if stress_sign not in SIGNS:
        raise ValueError(
            f"stress_sign must be 'ase' (positive under tension) or 'pressure' (positive under "
            f"compression), got {stress_sign!r}"
        )
    return SIGNS[stress_sign]


def stress_factor(stress_unit):
    """The factor of ``stress_unit`` to eV/Angstrom^3 (None for None); ``ValueError`` for an
    unknown unit."""
    if stress_unit is None:
        return None
    key = _unit_key(stress_unit) if isinstance(stress_unit, str) else None
    if key not in UNITS["stress"]:
        raise ValueError(
            f"stress_unit must be one of {sorted(UNITS['stress'])} (or 'ignore'), "
            f"got {stress_unit!r}"
        )
    return UNITS["stress"][key]


def check_options(options: ReadOptions) -> None:
    """Refuse an unknown ``stress_sign`` or ``stress_unit`` before any file is read."""
    if options.stress_sign is not None:
        check_sign(options.stress_sign)
    if options.stress_unit is not None:
        stress_factor(options.stress_unit)


def check_tolerance(label_tolerance) -> dict:
    """:data:`DEFAULT_TOLERANCE` updated with ``label_tolerance``; unknown keys are refused."""
    tolerance = dict(DEFAULT_TOLERANCE)
    if label_tolerance is not None:
        unknown = sorted(set(label_tolerance) - set(tolerance))
        if unknown:
            raise ValueError(
                f"label_tolerance may set {sorted(tolerance)} (eV/atom, eV/Angstrom, "
                f"eV/Angstrom^3), got {unknown}"
            )
        tolerance.update({k: float(v) for k, v in label_tolerance.items()})
    return tolerance


# --------------------------------------------------------------------------------------------
# values


def as_array(value, field: str, shape: tuple, expected: str) -> np.ndarray:
    """A finite float array of ``shape``, or :class:`BadField` naming the field."""
    if isinstance(value, bool) or value is None:
        raise BadField(f"field {field!r} is {value!r}, expected numbers of shape {expected}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise BadField(f"field {field!r} is not an array of numbers of shape {expected}") from None
    if arr.shape != shape:
        raise BadField(f"field {field!r} has shape {arr.shape}, expected {expected} = {shape}")
    if not np.all(np.isfinite(arr)):
        raise BadField(f"field {field!r} has non-finite values")
    return arr


def as_number(value, field: str) -> float:
    """A finite float, or :class:`BadField` naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise BadField(f"field {field!r} is {value!r}, expected a number")
    if not math.isfinite(float(value)):
        raise BadField(f"field {field!r} is {value!r}, expected a finite number")
    return float(value)


def voigt(tensor: np.ndarray) -> np.ndarray:
    """xx yy zz yz xz xy of a 3x3 tensor."""
    return np.asarray(tensor, dtype=float)[VOIGT]


def make_atoms(symbols, positions, cell, pbc):
    """An ``ase.Atoms`` without calculator (Angstrom)."""
    from ase import Atoms

    return Atoms(symbols=symbols, positions=positions, cell=cell, pbc=pbc)


# --------------------------------------------------------------------------------------------
# duplicates and the dataset


def _difference(a: Entry, b: Entry) -> dict:
    n = len(a.atoms)
    both = np.isfinite(a.stress) & np.isfinite(b.stress)
    return {
        "energy_per_atom": abs(a.energy - b.energy) / n,
        "forces": float(np.max(np.abs(a.forces - b.forces))),
        "stress": float(np.max(np.abs(a.stress[both] - b.stress[both]))) if both.any() else None,
    }


def _within(diff: dict, tolerance: Mapping) -> bool:
    return all(diff[k] is None or diff[k] <= tolerance[k] for k in tolerance)


def assemble(
    read: ReadResult,
    fmt,
    root,
    level,
    duplicates,
    tolerance,
    metadata,
    problems,
    min_distance=DEFAULT_MIN_DISTANCE,
) -> LabelledDataset:
    """One dataset with one level ``level`` from what a format read (see the module docstring
    for the duplicate rule and the provenance); raises the collected ``problems``, and refuses
    configurations with atoms closer than ``min_distance`` (Angstrom; None: no check)."""
    from ...structures.conversion import configuration_id

    by_id: dict[str, list[Entry]] = {}
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
    check_structures(
        [e.atoms for e in kept],
        min_distance,
        ids=[e.cid for e in kept],
        names=[f"{os.path.join(root, e.origin)} (id {e.cid})" for e in kept],
        hint="min_distance=None (job.input.min_distance of an AppmlipDataset job) switches the "
        "check off",
    )
    where = f"{fmt} data at {root}"
    for labels, action in (
        ("agree", "labels equal within label_tolerance: the first copy is kept"),
        ("differ", f"labels differ: duplicates={duplicates!r} "),
    ):
        copies = {r["id"]: r["copies"] for r in report if r["labels"] == labels}
        if labels == "differ":
            action += "keeps the first copy" if duplicates == "first" else "leaves every copy out"
        warn_duplicates(copies, where, action, stacklevel=4)
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
