"""Labelled data written by other codes, read as one dataset with one level.

:func:`read_dataset` reads a FitSNAP JSON folder, extended XYZ files, anything ASE reads with
a calculator attached (VASP OUTCAR or vasprun.xml, an ASE database) or a pyiron_potentialfit
``TrainingContainer``, converts the labels to this package's units (eV, eV/Angstrom,
eV/Angstrom^3 with ASE's sign, Voigt order xx yy zz yz xz xy) and stores all of them under one
level whose name says where they came from (default ``"imported:<folder or file name>"``)::

    from pyiron_appmlip.datasets.importers import read_dataset
    from pyiron_appmlip.datasets.store import write_dataset

    ds = read_dataset("WBe_PRB2019/JSON", duplicates="drop")
    write_dataset("wbe.h5", ds)

The formats, one module each (its docstring describes the files, the units and signs it
assumes, and the options it uses), in the order :func:`guess_format` tries them:

- ``"paper-hdf"`` (:mod:`.paper_hdf`): the paper authors' Be layout, a folder of pandas HDF
  tables ``<prefix>_structures.h5`` and ``<prefix>_prec_<n>.h5`` (the registry reads its finest
  level; :func:`.paper_hdf.read_paper_dataset` reads every level with the authors' split).
- ``"fitsnap-json"`` (:mod:`.fitsnap_json`): FitSNAP's JSON files, a folder of group folders
  of ``*.json`` files, or one file.
- ``"extxyz"`` (:mod:`.extxyz`): extended XYZ files, or a folder of them.
- ``"ase"`` (:mod:`.ase_files`): VASP ``OUTCAR``/``vasprun.xml``, ASE trajectories and ASE
  databases (``.db``, ``.json``), or a folder of them.
- ``"training-container"`` (:mod:`.training_container`): a pyiron_potentialfit
  ``TrainingContainer`` job, or the path of its HDF5 file.

:data:`REGISTRY` maps each name to its :class:`DatasetFormat`; :data:`FORMATS` lists the names.

What every format shares (:mod:`.common`): the unit table, the stress sign conventions, the
package's rule for structures (overlapping atoms refused, ``min_distance``; a configuration
kept once, :mod:`pyiron_appmlip.structures.checks`), the rule for copies of one structure
with different labels (``duplicates``, ``label_tolerance``) and the provenance
recorded in ``dataset.metadata["import"]`` and ``dataset.levels[level].source``. Energies:
``energy`` is the free (force-consistent) energy where the source tells it apart, with
``energy_zero`` the sigma -> 0 value; elsewhere ``energy_zero`` is NaN. Wall times, k-points
and SCF iterations are unknown (NaN, -1); ``job_id`` and ``child_id`` are -1. Every
configuration is ``"train"`` (none of these formats marks a test set; the package splits by
configuration id later), and its ``generator`` is its group (the kind of structure, for
per-kind error tables).

Adding a format
    Write one module in this package that defines

    - ``NAME``: the format's name, as users pass it to ``format=``;
    - ``DESCRIPTION``: one line saying what it reads (shown when a format cannot be told);
    - ``recognise(source) -> bool``: whether a :class:`~.common.Source` (the object given, and
      for a path whether it is a file or folder, its file names and a file's first bytes) is
      in this format (formats earlier in :data:`REGISTRY` are asked first, so a later one
      may claim more broadly, as ``"ase"`` claims every ``.json`` file FitSNAP's does not);
    - ``read(path, options, problems) -> ReadResult``: the reader. It gets the object given
      and the :class:`~.common.ReadOptions`, returns a :class:`~.common.ReadResult` of
      :class:`~.common.Entry` objects already converted to eV, Angstrom, eV/Angstrom and
      eV/Angstrom^3 (ASE's sign), adds each bad file or field to ``problems`` (a
      :class:`~.common.Problems`) instead of raising, and raises ``FileNotFoundError`` for a
      missing path (:func:`~.common.existing_path`);
    - optionally ``check_options(options)``, run before any file is read (default:
      :func:`~.common.check_options`);

    and add the module to the ``_registry(...)`` line below, in the place where its
    ``recognise`` should be tried. Duplicates, provenance and the dataset are then handled by
    :func:`read_dataset`; the unit test of the registry checks the new entry.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ...structures.checks import DEFAULT_MIN_DISTANCE, check_min_distance
from ..store import LabelledDataset
from . import ase_files, common, extxyz, fitsnap_json, paper_hdf, training_container
from .common import (
    UNITS,
    Problems,
    ReadOptions,
    ReadResult,
    Source,
    assemble,
    check_tolerance,
    file_sha256,
    manifest_sha256,
)

__all__ = [
    "FORMATS",
    "REGISTRY",
    "UNITS",
    "DatasetFormat",
    "read_dataset",
    "guess_format",
    "get_format",
    "group_summary",
    "manifest_sha256",
    "file_sha256",
]

_DUPLICATES = ("error", "first", "drop")


@dataclass(frozen=True)
class DatasetFormat:
    """One registered format of :func:`read_dataset`.

    Attributes:
        name: the name users pass as ``format=``.
        description: one line saying what the format reads.
        recognise: ``recognise(source) -> bool`` for a :class:`~.common.Source`.
        read: ``read(path, options, problems) -> ReadResult``.
        check_options: ``check_options(options)``, raising ``ValueError`` for an option value
            this format cannot use.
        module: the module that defines the format.
    """

    name: str
    description: str
    recognise: Callable[[Source], bool]
    read: Callable[[object, ReadOptions, Problems], ReadResult]
    check_options: Callable[[ReadOptions], None]
    module: str

    @classmethod
    def from_module(cls, module: ModuleType) -> DatasetFormat:
        """The format a module defines (see "Adding a format" in the package docstring)."""
        return cls(
            name=module.NAME,
            description=module.DESCRIPTION,
            recognise=module.recognise,
            read=module.read,
            check_options=getattr(module, "check_options", common.check_options),
            module=module.__name__,
        )


def _registry(*modules: ModuleType) -> dict[str, DatasetFormat]:
    formats = [DatasetFormat.from_module(m) for m in modules]
    names = [f.name for f in formats]
    if len(set(names)) != len(names):
        raise RuntimeError(f"dataset format names must be unique, got {names}")
    return {f.name: f for f in formats}


#: Registered formats by name, in the order :func:`guess_format` tries them.
REGISTRY: Mapping[str, DatasetFormat] = _registry(
    paper_hdf, fitsnap_json, extxyz, ase_files, training_container
)
#: Names of the formats :func:`read_dataset` reads.
FORMATS = tuple(REGISTRY)


def _listing() -> str:
    return "; ".join(f"{f.name}: {f.description}" for f in REGISTRY.values())


def get_format(name: str) -> DatasetFormat:
    """The registered format called ``name``.

    Raises:
        ValueError: for a name that is not registered, listing the registered names.
    """
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"format must be one of {list(REGISTRY)}, got {name!r} ({_listing()})")
    return REGISTRY[name]


def guess_format(path) -> str:
    """The format :func:`read_dataset` would read ``path`` as.

    Each registered format's ``recognise`` is asked in the order of :data:`REGISTRY`; the first
    that recognises ``path`` wins. So a folder with ``*.json`` files below it is
    ``"fitsnap-json"``, one with ``*.xyz`` or ``*.extxyz`` files ``"extxyz"``, one with
    OUTCAR/vasprun.xml/.traj/.db files ``"ase"``; a ``.xyz``/``.extxyz`` file is ``"extxyz"``,
    a ``.db`` file, ``OUTCAR*``, ``vasprun*.xml`` or ``.traj`` ``"ase"``, a ``.json`` file
    ``"fitsnap-json"`` if it holds a FitSNAP ``"Dataset"``, else ``"ase"`` (an ASE JSON
    database); an object with ``to_pandas`` (a TrainingContainer) is ``"training-container"``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the format cannot be told, listing the formats.
    """
    source = Source(path)
    if source.path is not None and not os.path.exists(source.path):
        raise FileNotFoundError(f"no file or folder at {source.path!r}")
    for fmt in REGISTRY.values():
        if fmt.recognise(source):
            return fmt.name
    raise ValueError(
        f"cannot tell the format of {path!r}; pass format= one of {list(REGISTRY)} ({_listing()})"
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
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
) -> LabelledDataset:
    """Read labelled configurations written by another code (see the package docstring).

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
        min_distance: configurations with two atoms (periodic images included) closer than
            this (Angstrom, default 0.5) are refused, naming the file, the atoms and their
            distance; None: no check. The rule of every structure set of the package
            (:func:`pyiron_appmlip.structures.checks.check_structures`).

    Returns:
        One :class:`~pyiron_appmlip.datasets.store.LabelledDataset` with one level; every
        configuration ``"train"``; ``group`` and ``generator`` the source's group.

    Raises:
        ValueError: for an unknown or unguessable format (listing the registered names), bad
            arguments, or any bad file or field (all of them in one message, each naming the
            file and field), for copies of one structure with different labels when
            ``duplicates="error"``, and for configurations with atoms closer than
            ``min_distance``.
        FileNotFoundError: if ``path`` does not exist.
        ImportError: for ``"training-container"`` without pyiron_potentialfit.

    Warns:
        DuplicateStructuresWarning: when copies of one structure were merged or left out,
            naming each configuration id and the files of its copies.
    """
    fmt = get_format(guess_format(path) if format is None else format)
    if duplicates not in _DUPLICATES:
        raise ValueError(f"duplicates must be 'error', 'first' or 'drop', got {duplicates!r}")
    min_distance = check_min_distance(min_distance)
    tolerance = check_tolerance(label_tolerance)
    options = ReadOptions(stress_unit=stress_unit, stress_sign=stress_sign, index=index, keys=keys)
    fmt.check_options(options)
    problems = Problems()
    read = fmt.read(path, options, problems)
    root = os.path.abspath(os.fspath(path)) if isinstance(path, str | os.PathLike) else ""
    name = read.name if read.name is not None else os.path.basename(root.rstrip(os.sep))
    if level is None:
        level = f"imported:{name}"
    if not isinstance(level, str) or not level.strip() or "/" in level:
        raise ValueError(f"level must be a non-empty name without '/', got {level!r}")
    return assemble(
        read, fmt.name, root, level, duplicates, tolerance, metadata, problems, min_distance
    )


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
