"""Format ``"paper-hdf"``: the Be data layout of the paper's authors (pandas HDF tables).

Recognised by: a folder holding a ``<prefix>_structures.h5`` file and at least one
``<prefix>_prec_<n>.h5`` file (e.g. ``Be_structures.h5`` and ``Be_prec_1.h5`` ..
``Be_prec_6.h5``, the folder ``data/`` of the authors' repository
github.com/IlgarBaghishov/DFTprecisionMLIP).

Files (each one pandas table written with ``DataFrame.to_hdf``; a file with several keys is
read at the key ``"df"``, a file with one key at that key):

- ``<prefix>_structures.h5``: one row per configuration, column ``ASEatoms`` holding an
  ``ase.Atoms`` (Angstrom). The configuration's number is the table's ``index`` column if it
  has one, else the row label of the table.
- ``<prefix>_prec_<n>.h5``: the labels of precision (convergence) level ``n``, one row per
  labelled configuration: ``index`` (the configuration's number), ``energy`` (total energy,
  eV), ``forces`` (N x 3, or 3N numbers, eV/Angstrom, atoms in the order of the structure) and
  ``stress`` (3 x 3, or 6 Voigt numbers xx yy zz yz xz xy). Rows may come in any order; they are
  joined to the structures by ``index``, as the authors' scripts do after sorting both by it.

Levels: ``<prefix>_prec_<n>.h5`` is the paper's convergence level ``n`` (Table 1), named ``"n"``
as everywhere in the package (:func:`~pyiron_appmlip.dft.levels.level_label`), with the
parameters of :data:`~pyiron_appmlip.dft.levels.PAPER_LEVELS` for ``n`` in 1..6.

Stress: the authors' FitSNAP inputs declare the stress unit ``bar`` and give the stress rows
weight 0, so their stresses are never fitted. They are read as declared: bar, with FitSNAP's
(and LAMMPS') sign, positive under compression, and converted like every other format to
eV/Angstrom^3 with ASE's sign (``-S / 1.6021766208e6``; see :mod:`.fitsnap_json`). The sign and
unit cannot be checked without a stress-fitted model; ``stress_unit=`` and ``stress_sign=``
override them. An all-zero stress counts as not recorded (NaN). The reproduction of the paper
does not use stresses.

Configuration ids: :func:`paper_id` of the configuration's number (``"paper00000000042"`` for
number 42), so they stay the same whatever the row order of the files.

Two ways to read the folder:

- :func:`read_paper_dataset` (what the reproduction uses): every level at once, ids from the
  numbers, configurations without a label at some level reported by an
  :class:`IncompleteLabelsWarning` (counts per level and the first numbers) and left out by
  default, and the train/test subsets of the authors' split (:func:`paper_split`).
- ``read_dataset(folder, format="paper-hdf")`` (the importer registry; one level per dataset,
  as for every format): the finest level found, configuration ids from the structures, all
  configurations ``"train"``.

Options used by the registry's reader: ``stress_unit`` (default ``"bar"``) and
``stress_sign`` (default ``"pressure"``).
"""

from __future__ import annotations

import math
import os
import random
import re
import warnings
from collections.abc import Sequence

import numpy as np

from ...structures.checks import DEFAULT_MIN_DISTANCE, check_structures
from ..store import LabelledDataset, LevelData
from .common import (
    Entry,
    Problems,
    ReadOptions,
    ReadResult,
    Source,
    check_sign,
    existing_path,
    file_sha256,
    manifest_sha256,
    stress_factor,
    voigt,
)

__all__ = [
    "NAME",
    "DESCRIPTION",
    "PAPER_SPLIT_SEED",
    "IncompleteLabelsWarning",
    "find_files",
    "paper_id",
    "paper_split",
    "paper_split_ids",
    "read_paper_dataset",
    "read_tables",
]

#: The format's name (``read_dataset(..., format=NAME)``).
NAME = "paper-hdf"
#: One line for error messages and listings.
DESCRIPTION = (
    "a folder with <prefix>_structures.h5 and <prefix>_prec_<n>.h5 pandas tables (the paper "
    "authors' Be data layout)"
)
#: Seed of the authors' train/test split (``random.seed(58)``).
PAPER_SPLIT_SEED = 58
_STRUCTURES = re.compile(r"^(?P<prefix>.+)_structures\.h5$")
_LEVEL = re.compile(r"^(?P<prefix>.+)_prec_(?P<level>\d+)\.h5$")
_LABEL_COLUMNS = ("index", "energy", "forces", "stress")
_INCOMPLETE = ("drop", "keep")
_SHOWN = 5


class IncompleteLabelsWarning(UserWarning):
    """Some configurations have no label at some level (the message gives counts and ids)."""


def paper_id(index) -> str:
    """The configuration id of the authors' configuration number ``index`` (16 characters)."""
    return f"paper{int(index):011d}"


def paper_split(
    n: int, seed: int = PAPER_SPLIT_SEED, train_fraction: float = 0.5
) -> tuple[list[int], list[int]]:
    """The authors' train/test split of ``n`` configurations.

    Their scripts shuffle the positions ``0 .. n-1`` (of the configurations sorted by number)
    with Python's ``random`` module seeded with 58 and take the first ``int(n * 0.5)`` of the
    shuffled list for training, the rest for testing. The global ``random`` state is left as
    it was.

    Args:
        n: number of configurations (positions in increasing configuration number).
        seed: the seed of ``random.seed`` (the authors': 58).
        train_fraction: share of the training part, in (0, 1).

    Returns:
        ``(train, test)``: positions in the shuffled order (the order of the authors'
        training rows, e.g. of their ``df_leverage.csv``).

    Raises:
        ValueError: for ``n`` not a non-negative integer or ``train_fraction`` outside (0, 1).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(train_fraction, bool) or not 0.0 < float(train_fraction) < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    idx = list(range(int(n)))
    random.Random(seed).shuffle(idx)  # the same sequence as random.seed(seed); shuffle(idx)
    n_train = int(int(n) * float(train_fraction))
    return idx[:n_train], idx[n_train:]


def paper_split_ids(dataset: LabelledDataset) -> tuple[list[str], list[str]]:
    """``(train ids, test ids)`` of a dataset from :func:`read_paper_dataset`, in the authors'
    shuffled order (row i of their training tables is ``train[i]``).

    Raises:
        ValueError: if the dataset does not record the authors' split.
    """
    split = dataset.metadata.get("paper_split")
    if not split:
        raise ValueError(
            "dataset must come from read_paper_dataset (its metadata has no 'paper_split')"
        )
    return list(split["train"]), list(split["test"])


# -- files -------------------------------------------------------------------------------------


def find_files(folder) -> tuple[str, dict[int, str]]:
    """``(structures file, {level: labels file})`` of a folder in the authors' layout.

    Raises:
        FileNotFoundError: if the folder does not exist.
        ValueError: if it has no ``*_structures.h5`` file, several, or no
            ``<prefix>_prec_<n>.h5`` file of the same prefix.
    """
    folder = existing_path(folder)
    if not os.path.isdir(folder):
        raise ValueError(f"the paper-hdf format reads a folder, got the file {folder!r}")
    names = sorted(os.listdir(folder))
    structures = [m for m in map(_STRUCTURES.match, names) if m]
    if len(structures) != 1:
        found = [m.group(0) for m in structures]
        raise ValueError(
            f"a paper-hdf folder holds exactly one <prefix>_structures.h5 file; {folder!r} has "
            f"{found or 'none'}"
        )
    prefix = structures[0].group("prefix")
    levels = {}
    for m in map(_LEVEL.match, names):
        if m and m.group("prefix") == prefix:
            levels[int(m.group("level"))] = os.path.join(folder, m.group(0))
    if not levels:
        raise ValueError(
            f"no {prefix}_prec_<n>.h5 label files in {folder!r} beside {structures[0].group(0)}"
        )
    return os.path.join(folder, structures[0].group(0)), dict(sorted(levels.items()))


def _read_table(path: str):
    import pandas as pd

    with pd.HDFStore(path, mode="r") as store:
        keys = [k.lstrip("/") for k in store.keys()]
    if not keys:
        raise ValueError(f"{path}: no pandas table in the file")
    key = keys[0] if len(keys) == 1 else "df"
    if key not in keys:
        raise ValueError(f"{path}: several tables {keys} and none called 'df'")
    return pd.read_hdf(path, key=key)


def read_tables(folder):
    """The authors' tables as pandas DataFrames: ``(structures, {level: labels})``."""
    structures_path, level_paths = find_files(folder)
    return _read_table(structures_path), {lv: _read_table(p) for lv, p in level_paths.items()}


def _numbers(table, path: str, problems: Problems) -> list[int] | None:
    values = table["index"].to_numpy() if "index" in table.columns else table.index.to_numpy()
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            if isinstance(v, float | np.floating) and float(v).is_integer():
                v = int(v)
            else:
                problems.add(path, f"field 'index' holds {v!r}, expected integers")
                return None
        out.append(int(v))
    seen, dups = set(), []
    for v in out:
        if v in seen:
            dups.append(v)
        seen.add(v)
    if dups:
        problems.add(path, f"field 'index' repeats the numbers {sorted(set(dups))[:_SHOWN]}")
        return None
    return out


def _structures(table, path: str, problems: Problems) -> dict[int, object]:
    from ase import Atoms

    if "ASEatoms" not in table.columns:
        problems.add(path, f"column 'ASEatoms' missing (columns {list(table.columns)})")
        return {}
    numbers = _numbers(table, path, problems)
    if numbers is None:
        return {}
    out = {}
    for number, atoms in zip(numbers, table["ASEatoms"], strict=True):
        if not isinstance(atoms, Atoms) or len(atoms) == 0:
            problems.add(f"{path}@index={number}", "field 'ASEatoms' is not a non-empty ase.Atoms")
            continue
        plain = Atoms(
            numbers=atoms.get_atomic_numbers(),
            positions=atoms.get_positions(),
            cell=np.asarray(atoms.get_cell()),
            pbc=atoms.get_pbc(),
        )
        out[number] = plain
    return out


def _label_rows(table, path, structures, unit, sign, problems) -> dict[int, tuple]:
    """``{number: (energy, forces, stress)}`` of one level's table, converted."""
    missing = [c for c in _LABEL_COLUMNS if c not in table.columns]
    if missing:
        problems.add(path, f"columns {missing} missing (columns {list(table.columns)})")
        return {}
    numbers = _numbers(table, path, problems)
    if numbers is None:
        return {}
    out = {}
    unknown = []
    for number, energy, forces, stress in zip(
        numbers, table["energy"], table["forces"], table["stress"], strict=True
    ):
        where = f"{path}@index={number}"
        if number not in structures:
            unknown.append(number)
            continue
        n = len(structures[number])
        try:
            e = float(energy)
        except (TypeError, ValueError):
            problems.add(where, f"field 'energy' is {energy!r}, expected a number")
            continue
        f = np.asarray(forces, dtype=float) if forces is not None else np.zeros(0)
        if f.size != 3 * n:
            problems.add(where, f"field 'forces' has {f.size} numbers, expected 3 x {n} atoms")
            continue
        if not (math.isfinite(e) and np.all(np.isfinite(f))):
            problems.add(where, "fields 'energy'/'forces' hold non-finite numbers")
            continue
        s = np.full(6, np.nan)
        if stress is not None and unit is not None:
            t = np.asarray(stress, dtype=float)
            if t.size == 9:
                t = voigt(t.reshape(3, 3))
            elif t.size != 6:
                problems.add(where, f"field 'stress' has {t.size} numbers, expected 9 or 6")
                continue
            if np.any(t != 0.0):
                s = sign * unit * t.reshape(6)
        out[number] = (e, f.reshape(n, 3), s)
    if unknown:
        problems.add(
            path,
            f"{len(unknown)} label rows name configurations the structures file lacks "
            f"(index {sorted(unknown)[:_SHOWN]})",
        )
    return out


def _units(stress_unit, stress_sign) -> tuple[float | None, float]:
    unit = None if stress_unit == "ignore" else stress_factor(stress_unit or "bar")
    return unit, check_sign(stress_sign or "pressure")


# -- the registry's reader (one level) ---------------------------------------------------------


def recognise(source: Source) -> bool:
    """A folder with one ``<prefix>_structures.h5`` and a ``<prefix>_prec_<n>.h5`` file."""
    if not source.is_dir:
        return False
    try:
        names = os.listdir(source.path)
    except OSError:
        return False
    prefixes = {m.group("prefix") for m in map(_STRUCTURES.match, names) if m}
    return any(m and m.group("prefix") in prefixes for m in map(_LEVEL.match, names))


def check_options(options: ReadOptions) -> None:
    """Refuse an unknown ``stress_unit`` or ``stress_sign`` before any file is read."""
    if options.stress_unit != "ignore":
        stress_factor(options.stress_unit)
    if options.stress_sign is not None:
        check_sign(options.stress_sign)


def read(path, options: ReadOptions, problems: Problems) -> ReadResult:
    """The finest level of a paper-hdf folder as one level (see the module docstring)."""
    structures_path, level_paths = find_files(path)
    level = max(level_paths)
    unit, sign = _units(options.stress_unit, options.stress_sign)
    structures = _structures(_read_table(structures_path), structures_path, problems)
    rows = _label_rows(
        _read_table(level_paths[level]), level_paths[level], structures, unit, sign, problems
    )
    base = os.path.basename(level_paths[level])
    entries = [
        Entry(f"{base}@index={k}", "", structures[k], e, math.nan, f, s)
        for k, (e, f, s) in sorted(rows.items())
    ]
    files = {os.path.basename(p): file_sha256(p) for p in (structures_path, level_paths[level])}
    source = _source_info(unit, sign, options.stress_unit, options.stress_sign)
    source["level_file"] = base
    return ReadResult(entries, files, source, engine="vasp", name=f"paper level {level}")


def _source_info(unit, sign, stress_unit, stress_sign) -> dict:
    return {
        "stress_unit": "ignored" if unit is None else (stress_unit or "bar (declared)"),
        "stress_sign": stress_sign or "pressure",
        "conversion": (
            "energy eV (total), forces eV/Angstrom, positions Angstrom: as stored; stress: "
            "Voigt (xx yy zz yz xz xy), times the factor of its unit to eV/Angstrom^3 (bar: "
            "1/1.6021766208e6), times -1 for the pressure sign; all-zero stress is NaN"
        ),
    }


# -- every level at once -----------------------------------------------------------------------


def read_paper_dataset(
    folder,
    levels: Sequence[int] | None = None,
    *,
    incomplete: str = "drop",
    stress_unit: str | None = None,
    stress_sign: str | None = None,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
    split_seed: int = PAPER_SPLIT_SEED,
) -> LabelledDataset:
    """Read a folder in the authors' layout with every level (see the module docstring).

    The configurations are sorted by their number; those labelled at every level read are
    split like the authors' scripts do (:func:`paper_split` of their count, 50/50, seed 58):
    ``subset`` is ``"train"`` or ``"test"`` and ``metadata["paper_split"]`` lists both
    parts' ids in the authors' shuffled order (:func:`paper_split_ids`).

    Args:
        folder: the folder with ``<prefix>_structures.h5`` and ``<prefix>_prec_<n>.h5``.
        levels: level numbers to read (default: every ``_prec_<n>`` file found).
        incomplete: configurations without a label at some level read: ``"drop"`` (default)
            leaves them out; ``"keep"`` keeps them with the labels they have, in neither part
            of the split (their ``subset`` is ``"test"``, and they are not in
            ``metadata["paper_split"]``). Either way an :class:`IncompleteLabelsWarning` names
            how many lack each level and their first numbers.
        stress_unit: unit of the stored stresses (default ``"bar"``, as the authors declare;
            ``"ignore"`` leaves them out).
        stress_sign: ``"pressure"`` (default, FitSNAP's) or ``"ase"``.
        min_distance: configurations with atoms closer than this (Angstrom) are refused;
            None: no check.
        split_seed: seed of the split (the authors': 58).

    Returns:
        A :class:`~pyiron_appmlip.datasets.store.LabelledDataset` with levels ``"1"`` ..
        ``"6"`` (those read), ids :func:`paper_id` of the numbers, ``group`` and
        ``generator`` ``"paper"``, no DFT times (NaN); ``metadata["import"]`` summarises what
        was read (files and their SHA-256, counts, the incomplete configurations).

    Raises:
        FileNotFoundError: if the folder does not exist.
        ValueError: for a bad argument (naming it and the allowed values), a missing level
            file, a missing column, a repeated or non-integer ``index``, labels of
            configurations the structures file lacks, labels whose shape does not match the
            structure, or atoms closer than ``min_distance`` (all problems in one message).
    """
    from ...dft.levels import PAPER_LEVELS

    if incomplete not in _INCOMPLETE:
        raise ValueError(f"incomplete must be one of {_INCOMPLETE}, got {incomplete!r}")
    unit, sign = _units(stress_unit, stress_sign)
    structures_path, level_paths = find_files(folder)
    if levels is None:
        levels = list(level_paths)
    wanted = []
    for lv in levels:
        if isinstance(lv, bool) or not isinstance(lv, int | np.integer) or lv < 1:
            raise ValueError(f"levels must be positive level numbers, got {list(levels)!r}")
        if int(lv) not in level_paths:
            raise ValueError(
                f"levels: no labels file for level {lv} in {folder!r}; found levels "
                f"{list(level_paths)}"
            )
        wanted.append(int(lv))
    wanted = sorted(set(wanted))
    if not wanted:
        raise ValueError("levels must name at least one level")
    problems = Problems()
    structures = _structures(_read_table(structures_path), structures_path, problems)
    per_level = {
        lv: _label_rows(_read_table(level_paths[lv]), level_paths[lv], structures, unit, sign,
                        problems)
        for lv in wanted
    }  # fmt: skip
    problems.raise_if_any(f"paper-hdf data at {os.path.abspath(folder)}")
    numbers = sorted(structures)
    labelled = [k for k in numbers if any(k in rows for rows in per_level.values())]
    complete = [k for k in labelled if all(k in rows for rows in per_level.values())]
    missing = {lv: [k for k in labelled if k not in rows] for lv, rows in per_level.items()}
    unlabelled = [k for k in numbers if k not in labelled]
    report = {
        str(lv): {"count": len(v), "first_index": v[:_SHOWN]} for lv, v in missing.items() if v
    }
    if report or unlabelled:
        parts = [f"level {lv}: {r['count']} (index {r['first_index']})" for lv, r in report.items()]
        if unlabelled:
            parts.append(f"no level at all: {len(unlabelled)} (index {unlabelled[:_SHOWN]})")
        action = "left out" if incomplete == "drop" else "kept outside the train/test split"
        warnings.warn(
            f"{len(labelled) - len(complete) + len(unlabelled)} of {len(numbers)} configurations "
            f"in {folder} lack labels at some level read ({'; '.join(parts)}); {action}",
            IncompleteLabelsWarning,
            stacklevel=2,
        )
    kept = complete if incomplete == "drop" else labelled
    train_pos, test_pos = paper_split(len(complete), split_seed)
    train = [paper_id(complete[p]) for p in train_pos]
    test = [paper_id(complete[p]) for p in test_pos]
    in_train = set(train)
    ids = [paper_id(k) for k in kept]
    atoms = [structures[k] for k in kept]
    check_structures(
        atoms,
        min_distance,
        ids=ids,
        names=[f"{structures_path}@index={k}" for k in kept],
        hint="min_distance=None switches the check off",
    )
    level_data = {}
    for lv in wanted:
        rows = per_level[lv]
        have = [k for k in kept if k in rows]
        m = len(have)
        preset = PAPER_LEVELS.get(lv)
        level_data[str(lv)] = LevelData(
            name=str(lv),
            level=preset.to_dict() if preset is not None else {"name": f"level {lv}"},
            engine="vasp",
            engine_version="",
            ids=[paper_id(k) for k in have],
            energy=np.array([rows[k][0] for k in have], dtype=float),
            energy_zero=np.full(m, np.nan),
            forces=[rows[k][1] for k in have],
            stress=np.array([rows[k][2] for k in have], dtype=float).reshape(m, 6),
            wall_time=np.full(m, np.nan),
            n_kpoints=np.full(m, -1, dtype=np.int64),
            n_scf_iterations=np.full(m, -1, dtype=np.int64),
            kmesh=np.full((m, 3), -1, dtype=np.int64),
            job_id=np.full(m, -1, dtype=np.int64),
            child_id=np.full(m, -1, dtype=np.int64),
            source={
                "format": NAME,
                "root": os.path.abspath(folder),
                "file": os.path.basename(level_paths[lv]),
                **_source_info(unit, sign, stress_unit, stress_sign),
            },
        )
    files = {
        os.path.basename(p): file_sha256(p)
        for p in (structures_path, *(level_paths[lv] for lv in wanted))
    }
    summary = {
        "format": NAME,
        "root": os.path.abspath(folder),
        "levels": [str(lv) for lv in wanted],
        "files": files,
        "files_sha256": manifest_sha256(files),
        "n_structures": len(numbers),
        "n_complete": len(complete),
        "n_configurations": len(kept),
        "incomplete": report,
        "unlabelled": {"count": len(unlabelled), "first_index": unlabelled[:_SHOWN]},
        "incomplete_policy": incomplete,
    }
    return LabelledDataset(
        ids=ids,
        structures=atoms,
        subset=["train" if i in in_train else "test" for i in ids],
        generator=["paper"] * len(ids),
        levels=level_data,
        metadata={
            "import": summary,
            "paper_split": {"seed": int(split_seed), "train": train, "test": test},
        },
        group=["paper"] * len(ids),
    )
