"""Format ``"fitsnap-json"``: FitSNAP's JSON training files.

Recognised by: a folder with any ``*.json`` file below it (hidden folders skipped), or a
``.json`` file whose first 4 KiB contain ``"Dataset"``.

A folder holds one sub-folder per group (FitSNAP's ``[GROUPS]``), one configuration per
``*.json`` file. A file's first line is a ``#`` comment (or the JSON starts at once); the JSON
is ``{"Dataset": {"Data": [{"NumAtoms", "Lattice" (3x3, rows are cell vectors), "Positions",
"AtomTypes" (symbols), "Energy" (total), "Forces", "Stress" (3x3)}], "LatticeStyle",
"EnergyStyle", ...}}``. The ``*Style`` keys name the units; missing ones are FitSNAP's
``metal`` defaults (Angstrom, eV, eV/Angstrom, bar). A stress that is all zeros (or missing)
means "not recorded" and is stored as NaN. The group is the sub-folder (its path below the
root, for nested folders). A single ``.json`` file may be given too (its group is its folder's
name). ``energy`` is FitSNAP's ``Energy``; ``energy_zero`` is NaN.

Options used: ``stress_unit`` (overrides every file's ``StressStyle``) and ``stress_sign``
(default ``"pressure"``).

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
LAMMPS' frame, with no sign change; ``calculators/lammps_snap.py:367`` turns LAMMPS' descriptor
virials into ``1.6021765e6 * virial / volume`` (eV/A^3 -> bar, no sign change) and
``:379-380`` fits ``Stress[[0,1,2,1,0,0],[0,1,2,2,2,1]] - reference`` where the reference is
the last column of LAMMPS' ``compute snap``, the reference potential's virial pressure in bar
(checked: ZBL Be compressed to a=2.3 A gives +1.66e6 there, equal to LAMMPS' ``pxx``). So the
JSON ``Stress`` must be LAMMPS' pressure tensor: positive under compression, the opposite of
ASE's sign. FitSNAP's VASP scraper (``scrapers/vasp_scraper.py:299,519-528``) copies OUTCAR's
``in kB`` line unchanged with ``StressStyle = "kB"``, and ASE reads the same line with a minus
sign (``ase/io/vasp_parsers/vasp_outcar_parsers.py:89``, ``convert_vasp_outcar_stress``): the
same convention. (FitSNAP's ASE scraper, ``scrapers/ase_funcs.py:91``, copies ASE's stress in
eV/A^3 and ASE's sign, i.e. *not* this convention; it is not used here.)

Units are converted with :data:`~pyiron_appmlip.datasets.formats.common.UNITS`, not FitSNAP's
table. FitSNAP's W-Be example set (``examples/WBe_PRB2019/JSON``) declares ``bar``, but its
equation-of-state stresses match -dE/dV of its energies only when read as kbar (the ratio is
~1e-3 as bar, ~1 as kbar; ``benchmarks/check_import_wbe.py`` prints it): the default follows
the declaration, as FitSNAP does; ``stress_unit="kbar"`` reads them as kbar.
"""

from __future__ import annotations

import json
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
    make_atoms,
    natural_key,
    sha256_hex,
    stress_factor,
    unit_factor,
    voigt,
)

#: The format's name (``read_dataset(..., format=NAME)``).
NAME = "fitsnap-json"
#: One line for error messages and listings.
DESCRIPTION = "a folder of group folders of *.json files (FitSNAP's JSON training files)"

_FITSNAP_STYLES = {  # key -> (quantity, FitSNAP's default when the key is missing)
    "EnergyStyle": ("energy", "metal"),
    "ForcesStyle": ("forces", "metal"),
    "LatticeStyle": ("length", "metal"),
    "PositionsStyle": ("length", "metal"),
    "StressStyle": ("stress", "metal"),
}


def recognise(source: Source) -> bool:
    """A folder with a ``*.json`` file below it, or a ``.json`` file holding a ``"Dataset"``."""
    if source.is_dir:
        return any(name.endswith(".json") for name in source.names)
    return source.name.endswith(".json") and b'"Dataset"' in source.head


def read(path, options: ReadOptions, problems: Problems) -> ReadResult:
    """Read a FitSNAP JSON folder or file (see the module docstring)."""
    return _read_fitsnap_json(
        existing_path(path), options.stress_unit, options.stress_sign, problems
    )


def _reject_constant(name):
    raise ValueError(f"non-finite number {name} in the JSON")


def _read_fitsnap_json(root: str, stress_unit, stress_sign, problems: Problems) -> ReadResult:
    from ase.data import atomic_numbers

    stress_override = stress_factor(stress_unit)
    sign = check_sign("pressure" if stress_sign is None else stress_sign)
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
    files.sort(key=natural_key)
    entries, hashes = [], {}
    declared = {key: set() for key in _FITSNAP_STYLES}
    not_recorded = 0
    for rel in files:
        full = os.path.join(base, rel)
        with open(full, "rb") as handle:
            raw = handle.read()
        hashes[rel] = sha256_hex(raw)
        try:
            entry, styles, recorded = _fitsnap_entry(
                raw, rel, root_group, atomic_numbers, stress_override, sign, full, problems
            )
        except BadField as exc:
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
        source["skipped_files"] = sorted(skipped, key=natural_key)
    return ReadResult(entries, hashes, source)


def _fitsnap_entry(raw, rel, root_group, atomic_numbers, stress_override, sign, full, problems):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadField(f"is not UTF-8 text ({exc})") from None
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        first, _, rest = text.partition("\n")
        if not first.lstrip().startswith("#"):
            raise BadField("the first line is neither a '#' comment nor the start of the JSON")
        text = rest
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise BadField(f"is not valid JSON after the comment line ({exc})") from None
    if not isinstance(data, dict) or set(data) != {"Dataset"}:
        raise BadField("field 'Dataset' missing: the JSON must be one object {'Dataset': {...}}")
    dataset = data["Dataset"]
    if not isinstance(dataset, dict) or not isinstance(dataset.get("Data"), list):
        raise BadField("field 'Data' missing or not a list in 'Dataset'")
    if len(dataset["Data"]) != 1:
        raise BadField(
            f"field 'Data' has {len(dataset['Data'])} configurations, FitSNAP reads exactly "
            "one per file"
        )
    config = dataset["Data"][0]
    if not isinstance(config, dict):
        raise BadField("field 'Data' holds a non-object")
    styles, factors = {}, {}
    for key, (quantity, default) in _FITSNAP_STYLES.items():
        value = dataset.get(key, config.get(key, default))
        if key in dataset or key in config:
            styles[key] = value
        factors[key] = unit_factor(quantity, value, full, problems, key)
    atom_style = dataset.get("AtomTypeStyle", "chemicalsymbol")
    if atom_style != "chemicalsymbol":
        raise BadField(f"field 'AtomTypeStyle' is {atom_style!r}, only 'chemicalsymbol' is read")
    if any(f is None for f in factors.values()):
        return None, styles, True  # the unit problem is recorded already
    for key in ("NumAtoms", "Lattice", "Positions", "AtomTypes", "Energy", "Forces"):
        if key not in config:
            raise BadField(f"field {key!r} missing")
    n = config["NumAtoms"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise BadField(f"field 'NumAtoms' is {n!r}, expected a positive integer")
    cell = as_array(config["Lattice"], "Lattice", (3, 3), "(3, 3)")
    if abs(np.linalg.det(cell)) < 1e-12:
        raise BadField("field 'Lattice' has zero volume")
    positions = as_array(config["Positions"], "Positions", (n, 3), "(NumAtoms, 3)")
    types = config["AtomTypes"]
    if not isinstance(types, list) or len(types) != n:
        count = len(types) if isinstance(types, list) else type(types).__name__
        raise BadField(f"field 'AtomTypes' has {count} entries, expected NumAtoms = {n}")
    unknown = sorted({str(t) for t in types if not isinstance(t, str) or t not in atomic_numbers})
    if unknown:
        raise BadField(f"field 'AtomTypes' has unknown chemical symbols {unknown[:5]}")
    energy = as_number(config["Energy"], "Energy")
    forces = as_array(config["Forces"], "Forces", (n, 3), "(NumAtoms, 3)")
    stress = np.full(6, np.nan)
    recorded = False
    if config.get("Stress") is not None:
        tensor = as_array(config["Stress"], "Stress", (3, 3), "(3, 3)")
        if np.any(tensor != 0.0):
            unit = factors["StressStyle"] if stress_override is None else stress_override
            stress = sign * unit * voigt(tensor)
            recorded = True
    length = factors["LatticeStyle"]
    atoms = make_atoms(types, positions * factors["PositionsStyle"], cell * length, True)
    folder = os.path.dirname(rel)
    entry = Entry(
        origin=rel,
        group=folder if folder else root_group,
        atoms=atoms,
        energy=energy * factors["EnergyStyle"],
        energy_zero=math.nan,
        forces=forces * factors["ForcesStyle"],
        stress=stress,
    )
    return entry, styles, recorded
