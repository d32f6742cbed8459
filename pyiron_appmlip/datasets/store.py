"""A labelled dataset in one compact HDF5 file: structures plus DFT labels at several levels.

File layout (all arrays; energies in eV, forces in eV/Angstrom, stresses in eV/Angstrom^3 with
ASE's sign convention, wall times in seconds of one core)::

    /                       attrs: format, description, units, metadata (JSON)
    /structures/ids         (M,) configuration ids (16 hex characters)
    /structures/numbers     (sum N,) atomic numbers
    /structures/positions   (sum N, 3) Angstrom
    /structures/n_atoms     (M,)
    /structures/cells       (M, 3, 3) Angstrom
    /structures/pbc         (M, 3)
    /structures/subset      (M,) "train" or "test"
    /structures/generator   (M,) how the structure was made (e.g. "crystal", "slab")
    /structures/group       (M,) group in the source the structure came from ("" if none)
    /levels/<name>/         attrs: level (JSON of the ConvergenceLevel), engine, engine_version
        ids (K,)            configurations labelled at this level (a subset of /structures/ids)
        energy (K,)         free energy (force-consistent), eV
        energy_zero (K,)    sigma -> 0 extrapolated energy, eV
        forces (sum N, 3)   in the order of ids
        stress (K, 6)       Voigt order xx yy zz yz xz xy
        wall_time (K,)      seconds
        cpu_time (K,)       CPU seconds of the calculation, NaN where not recorded (files
                            written before it existed load with NaN)
        n_kpoints, n_scf_iterations (K,), kmesh (K, 3)
        job_id (K,)         id of the labelling job in the generating pyiron project
        child_id (K,)       id of the single-point child job that ran the calculation
        source              JSON: where imported labels came from (source units, files and
                            their SHA-256); "{}" for labels computed by this package

Files written before ``group`` and ``source`` existed load with empty groups and sources.

Only finished calculations are stored: a failed one is never data. :func:`write_dataset` writes
to a temporary file and renames it, so a crash never leaves a half-written dataset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..dft.levels import level_order
from ..structures.checks import DEFAULT_MIN_DISTANCE
from ..structures.conversion import as_strings

__all__ = [
    "LabelledDataset",
    "LevelData",
    "write_dataset",
    "load_dataset",
    "merge_datasets",
    "select_configurations",
]

FORMAT = "pyiron_appmlip.labelled_dataset/1"
UNITS = {
    "energy": "eV",
    "forces": "eV/Angstrom",
    "stress": "eV/Angstrom^3 (ASE sign: positive = tensile)",
    "positions": "Angstrom",
    "wall_time": "s (one core)",
    "cpu_time": "s (CPU of the calculating process)",
}
_LEVEL_ARRAYS = (
    "energy",
    "energy_zero",
    "stress",
    "wall_time",
    "cpu_time",
    "n_kpoints",
    "n_scf_iterations",
    "kmesh",
    "job_id",
    "child_id",
)


COST_CLOCKS = ("auto", "cpu", "wall")


@dataclass
class LevelData:
    """The labels of one convergence level (finished calculations only).

    ``source`` describes imported labels (format, source units and their conversion, files and
    their SHA-256, see :mod:`pyiron_appmlip.datasets.importers`); it is empty for labels this
    package computed.
    """

    name: str
    level: dict
    engine: str
    engine_version: str
    ids: list[str]
    energy: np.ndarray
    energy_zero: np.ndarray
    forces: list[np.ndarray]
    stress: np.ndarray
    wall_time: np.ndarray
    n_kpoints: np.ndarray
    n_scf_iterations: np.ndarray
    kmesh: np.ndarray
    job_id: np.ndarray
    child_id: np.ndarray
    source: dict = field(default_factory=dict)
    cpu_time: np.ndarray | None = None

    def __post_init__(self):
        k = len(self.ids)
        if self.cpu_time is None:  # not recorded (imported labels, files written before it)
            self.cpu_time = np.full(k, np.nan)
        self.cpu_time = np.asarray(self.cpu_time, dtype=float)
        if len(set(self.ids)) != k:
            raise ValueError(f"level {self.name!r}: configuration ids must be unique")
        for key in _LEVEL_ARRAYS + ("forces",):
            if len(getattr(self, key)) != k:
                raise ValueError(
                    f"level {self.name!r}: {key} has {len(getattr(self, key))} entries for "
                    f"{k} configuration ids"
                )
        self._index = {cid: i for i, cid in enumerate(self.ids)}

    def index(self, configuration_id: str) -> int:
        return self._index[configuration_id]

    def cost_clock(self, clock: str = "auto") -> str:
        """Which recorded time :meth:`cost_seconds` returns: ``"cpu"`` or ``"wall"``.

        ``"auto"`` is ``"cpu"`` when the CPU time is recorded for every calculation of the level
        (it does not grow when other work shares the cores, the wall time does), else ``"wall"``.
        """
        if clock not in COST_CLOCKS:
            raise ValueError(f"clock must be one of {COST_CLOCKS}, got {clock!r}")
        if clock != "auto":
            return clock
        recorded = len(self.ids) > 0 and bool(np.isfinite(self.cpu_time).all())
        return "cpu" if recorded else "wall"

    def cost_seconds(self, clock: str = "auto") -> np.ndarray:
        """The DFT cost of each calculation in seconds, by :meth:`cost_clock`."""
        return self.cpu_time if self.cost_clock(clock) == "cpu" else self.wall_time

    def labels(self, ids: Sequence[str] | None = None, clock: str = "auto"):
        """A :class:`~pyiron_appmlip.datasets.labels.Labels` of these (or all) configurations.

        Its ``wall_times`` are the calculations' cost by :meth:`cost_seconds` (``clock``), its
        ``cost_clock`` names that clock, and its ``n_kpoints`` are the recorded k-point counts.
        """
        from .labels import Labels

        cost = self.cost_seconds(clock)
        ids = self.ids if ids is None else [i for i in ids if i in self._index]
        rows = [self._index[i] for i in ids]
        job_ids = sorted(set(int(j) for j in self.job_id[rows]))
        return Labels.from_arrays(
            ids,
            self.energy[rows],
            [self.forces[r] for r in rows],
            wall_times=cost[rows],
            job_id=job_ids[0] if len(job_ids) == 1 else None,
            cost_clock=self.cost_clock(clock),
            n_kpoints=np.asarray(self.n_kpoints, dtype=np.int64)[rows],
        )


@dataclass
class LabelledDataset:
    """Structures with DFT labels at several convergence levels, joined by configuration id.

    ``group`` names, per configuration, the group of the source it was imported from (e.g. a
    FitSNAP group folder); it defaults to empty strings.

    A configuration id given more than once is kept once (the first copy, with a
    :class:`~pyiron_appmlip.structures.checks.DuplicateStructuresWarning` naming it), as
    everywhere in the package (:func:`pyiron_appmlip.structures.checks.check_structures`);
    copies placed in different subsets are refused. Overlapping atoms are refused when the
    dataset is written (:func:`write_dataset`) or given to an ``AppmlipDataset`` job.
    """

    ids: list[str]
    structures: list
    subset: list[str]
    generator: list[str]
    levels: dict[str, LevelData]
    metadata: dict = field(default_factory=dict)
    group: list[str] = field(default_factory=list)

    def __post_init__(self):
        m = len(self.ids)
        if len(self.group) == 0:
            self.group = [""] * m
        for key in ("structures", "subset", "generator", "group"):
            if len(getattr(self, key)) != m:
                raise ValueError(f"{key} has {len(getattr(self, key))} entries for {m} ids")
        if len(set(self.ids)) < m:
            self._drop_duplicates()
            m = len(self.ids)
        bad = sorted(set(self.subset) - {"train", "test"})
        if bad:
            raise ValueError(f"subset entries must be 'train' or 'test', got {bad}")
        known = set(self.ids)
        for name, data in self.levels.items():
            unknown = sorted(set(data.ids) - known)
            if unknown:
                raise ValueError(f"level {name!r} labels unknown configurations {unknown[:3]}")
        self._position: dict[str, int] = {}
        for k, cid in enumerate(self.ids):
            self._position.setdefault(cid, k)

    def _drop_duplicates(self) -> None:
        from ..structures.checks import check_structures

        ids = [str(i) for i in self.ids]
        first: dict[str, int] = {}
        for k, cid in enumerate(ids):
            k0 = first.setdefault(cid, k)
            if self.subset[k] != self.subset[k0]:
                raise ValueError(
                    f"configuration {cid} is given twice, at positions {k0} ({self.subset[k0]!r}) "
                    f"and {k} ({self.subset[k]!r}): one configuration cannot be in both subsets"
                )
        kept = check_structures(self.structures, None, ids=ids, what="LabelledDataset ids")
        for key in ("ids", "structures", "subset", "generator", "group"):
            values = getattr(self, key)
            setattr(self, key, [values[k] for k in kept])

    @property
    def train_ids(self) -> list[str]:
        return [i for i, s in zip(self.ids, self.subset, strict=True) if s == "train"]

    @property
    def test_ids(self) -> list[str]:
        return [i for i, s in zip(self.ids, self.subset, strict=True) if s == "test"]

    @property
    def level_names(self) -> list[str]:
        """Level names, lowest (paper) level first."""
        return sorted(self.levels, key=level_order)

    @property
    def n_atoms(self) -> np.ndarray:
        return np.array([len(a) for a in self.structures], dtype=np.int64)

    def structure(self, configuration_id: str):
        if configuration_id not in self._position:
            raise ValueError(f"configuration {configuration_id!r} is not in the dataset")
        return self.structures[self._position[configuration_id]]

    def labels(self, level, ids: Sequence[str] | None = None, clock: str = "auto"):
        """:class:`~pyiron_appmlip.datasets.labels.Labels` of ``level`` (a name or paper level).

        ``clock`` chooses the recorded time taken as each calculation's cost
        (:meth:`LevelData.cost_clock`).
        """
        return self.level(level).labels(ids, clock=clock)

    def level(self, level) -> LevelData:
        key = str(level)
        if key not in self.levels:
            raise ValueError(f"level must be one of {self.level_names}, got {level!r}")
        return self.levels[key]

    def common_ids(self, levels, ids: Sequence[str] | None = None) -> list[str]:
        """Configurations (in dataset order) labelled at every one of ``levels``."""
        sets = [set(self.level(lv).ids) for lv in levels]
        pool = self.ids if ids is None else list(ids)
        return [i for i in pool if all(i in s for s in sets)]

    def table(self):
        """One row per (configuration, level): energy per atom, wall time, k-points, job ids."""
        import pandas as pd

        n_atoms = dict(zip(self.ids, self.n_atoms, strict=True))
        subset = dict(zip(self.ids, self.subset, strict=True))
        generator = dict(zip(self.ids, self.generator, strict=True))
        rows = []
        for name in self.level_names:
            data = self.levels[name]
            for k, cid in enumerate(data.ids):
                rows.append(
                    {
                        "id": cid,
                        "level": name,
                        "subset": subset[cid],
                        "generator": generator[cid],
                        "n_atoms": int(n_atoms[cid]),
                        "energy_per_atom": float(data.energy[k] / n_atoms[cid]),
                        "wall_time": float(data.wall_time[k]),
                        "cpu_time": float(data.cpu_time[k]),
                        "n_kpoints": int(data.n_kpoints[k]),
                        "job_id": int(data.job_id[k]),
                        "child_id": int(data.child_id[k]),
                    }
                )
        return pd.DataFrame(rows)


def write_dataset(
    path: str,
    dataset: LabelledDataset,
    description: str = "",
    *,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
) -> str:
    """Write ``dataset`` to ``path`` (HDF5) atomically; returns the path.

    Args:
        path: the file to write (replaced if it exists).
        dataset: the dataset.
        description: stored as the file's ``description`` attribute.
        min_distance: configurations with two atoms (periodic images included) closer than
            this (Angstrom, default 0.5) are refused, naming each with the atoms and their
            distance; None: no check (:func:`pyiron_appmlip.structures.checks.check_structures`).

    Raises:
        ValueError: for ids that are not the structures' configuration ids, or overlapping
            atoms.
    """

    from ..structures.checks import check_structures
    from ..structures.conversion import structures_to_arrays

    arrays = structures_to_arrays(dataset.structures)
    stored_ids = as_strings(arrays["ids"])
    if stored_ids != list(dataset.ids):
        bad = [i for i, (a, b) in enumerate(zip(stored_ids, dataset.ids, strict=True)) if a != b]
        raise ValueError(
            f"dataset ids do not match their structures' configuration ids at positions {bad[:5]}"
        )
    check_structures(
        dataset.structures,
        min_distance,
        ids=stored_ids,
        names=[f"configuration {k} (id {cid})" for k, cid in enumerate(stored_ids)],
        hint="write_dataset(..., min_distance=None) switches the check off",
    )
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        _write(tmp, arrays, dataset, description)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, path)
    return path


def _write(tmp, arrays, dataset, description):
    import h5py

    string = h5py.string_dtype()
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["description"] = description
        f.attrs["units"] = json.dumps(UNITS)
        f.attrs["metadata"] = json.dumps(dataset.metadata, sort_keys=True, default=str)
        g = f.create_group("structures")
        for key, value in arrays.items():
            g.create_dataset(key, data=value, compression="gzip")
        g.create_dataset("subset", data=np.array(dataset.subset, dtype=object), dtype=string)
        g.create_dataset("generator", data=np.array(dataset.generator, dtype=object), dtype=string)
        g.create_dataset("group", data=np.array(dataset.group, dtype=object), dtype=string)
        levels = f.create_group("levels")
        for name in dataset.level_names:
            data = dataset.levels[name]
            h = levels.create_group(name)
            h.attrs["level"] = json.dumps(data.level, sort_keys=True)
            h.attrs["engine"] = data.engine
            h.attrs["engine_version"] = data.engine_version
            h.create_dataset("ids", data=np.array(data.ids, dtype="S16"))
            for key in _LEVEL_ARRAYS:
                h.create_dataset(key, data=np.asarray(getattr(data, key)), compression="gzip")
            forces = np.concatenate(data.forces).reshape(-1, 3) if data.forces else np.zeros((0, 3))
            h.create_dataset("forces", data=forces, compression="gzip")
            # a dataset, not an attribute: a list of many source files outgrows HDF5's 64 KiB
            h.create_dataset("source", data=json.dumps(data.source, sort_keys=True), dtype=string)


def load_dataset(path: str) -> LabelledDataset:
    """Read a dataset written by :func:`write_dataset`."""
    import h5py

    from ..structures.conversion import structures_from_arrays

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no dataset file at {path!r}")
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(
                f"{path!r} is not a labelled dataset of format {FORMAT!r} "
                f"(format attribute {f.attrs.get('format')!r})"
            )
        g = f["structures"]
        arrays = {key: g[key][()] for key in ("numbers", "positions", "n_atoms", "cells", "pbc")}
        ids = as_strings(g["ids"][()])
        structures = structures_from_arrays(arrays)
        n_atoms = dict(zip(ids, arrays["n_atoms"], strict=True))
        levels = {}
        for name, h in f["levels"].items():
            lid = as_strings(h["ids"][()])
            counts = np.array([n_atoms[i] for i in lid], dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(counts)])
            forces = h["forces"][()]
            levels[name] = LevelData(
                name=name,
                level=json.loads(h.attrs["level"]),
                engine=str(h.attrs["engine"]),
                engine_version=str(h.attrs["engine_version"]),
                ids=lid,
                forces=[forces[offsets[k] : offsets[k + 1]] for k in range(len(lid))],
                **{key: h[key][()] for key in _LEVEL_ARRAYS if key in h},
                source=json.loads(h["source"].asstr()[()]) if "source" in h else {},
            )
        return LabelledDataset(
            ids=ids,
            structures=structures,
            subset=as_strings(g["subset"][()]),
            generator=as_strings(g["generator"][()]),
            levels=levels,
            metadata=json.loads(f.attrs["metadata"]),
            group=as_strings(g["group"][()]) if "group" in g else [],
        )


def dataset_from_labelling_jobs(
    jobs: Mapping[str, Sequence],
    test_ids: Sequence[str],
    generator: Mapping[str, str] | None = None,
    metadata: Mapping | None = None,
) -> LabelledDataset:
    """Collect finished labels from pyiron ``AppmlipLabelling`` jobs into a dataset.

    Structures come from the jobs' inputs (joined by configuration id); failed calculations are
    left out, and a job that has not finished contributes the calculations it finished
    (:meth:`~pyiron_appmlip.jobs.labelling.AppmlipLabelling.finished_calculations`); a
    configuration labelled twice at one level keeps its first finished label.

    Args:
        jobs: maps a level name (e.g. ``"3"``) to the labelling jobs of that level.
        test_ids: configuration ids of the test subset; all others are "train".
        generator: maps configuration ids to how they were made (default: empty strings).
        metadata: stored as the dataset's ``metadata``.
    """
    structures: dict[str, object] = {}
    generator = dict(generator or {})
    levels = {}
    for name, job_list in jobs.items():
        acc = {key: [] for key in _LEVEL_ARRAYS + ("ids", "forces")}
        level_dict, engine, versions = None, None, set()
        for job in job_list:
            for atoms, cid in zip(job.structures, job.configuration_ids, strict=True):
                structures.setdefault(cid, atoms)
            for cid, record, child_id in job.finished_calculations():
                if cid in acc["ids"]:
                    continue
                level_dict, engine = record.level, record.engine
                acc["ids"].append(cid)
                acc["energy"].append(record.energy)
                acc["energy_zero"].append(record.energy_zero)
                acc["forces"].append(np.asarray(record.forces, dtype=float).reshape(-1, 3))
                acc["stress"].append(np.asarray(record.stress, dtype=float).reshape(6))
                acc["wall_time"].append(record.wall_time)
                acc["cpu_time"].append(getattr(record, "cpu_time", float("nan")))
                acc["n_kpoints"].append(record.n_kpoints)
                acc["n_scf_iterations"].append(record.n_scf_iterations)
                acc["kmesh"].append(record.kmesh)
                acc["job_id"].append(int(job.job_id))
                acc["child_id"].append(int(child_id))
                versions.add(record.engine_version)
        if level_dict is None:
            continue
        levels[name] = LevelData(
            name=name,
            level=dict(level_dict),
            engine=str(engine),
            engine_version=",".join(sorted(versions)),
            ids=acc["ids"],
            energy=np.asarray(acc["energy"], dtype=float),
            energy_zero=np.asarray(acc["energy_zero"], dtype=float),
            forces=acc["forces"],
            stress=np.asarray(acc["stress"], dtype=float).reshape(-1, 6),
            wall_time=np.asarray(acc["wall_time"], dtype=float),
            cpu_time=np.asarray(acc["cpu_time"], dtype=float),
            n_kpoints=np.asarray(acc["n_kpoints"], dtype=np.int64),
            n_scf_iterations=np.asarray(acc["n_scf_iterations"], dtype=np.int64),
            kmesh=np.asarray(acc["kmesh"], dtype=np.int64).reshape(-1, 3),
            job_id=np.asarray(acc["job_id"], dtype=np.int64),
            child_id=np.asarray(acc["child_id"], dtype=np.int64),
        )
    test = set(test_ids)
    ids = sorted(structures)
    return LabelledDataset(
        ids=ids,
        structures=[structures[i] for i in ids],
        subset=["test" if i in test else "train" for i in ids],
        generator=[str(generator.get(i, "")) for i in ids],
        levels=levels,
        metadata=dict(metadata or {}),
    )


def _same_level(a: Mapping, b: Mapping) -> bool:
    from ..dft.levels import ConvergenceLevel

    return ConvergenceLevel.from_dict(a).same_parameters(ConvergenceLevel.from_dict(b))


def merge_datasets(first: LabelledDataset, second: LabelledDataset, metadata=None):
    """The union of two datasets, joined by configuration id.

    A configuration labelled at one level in both keeps the label of ``first``. Levels of the
    same name must have the same parameters (k-spacing, cut-off, smearing, functional) and the
    same engine, and a configuration must be in the same subset in both: anything else raises
    a ValueError naming the level or the configuration.

    Args:
        first: the dataset whose labels win (e.g. a shipped file a campaign continues).
        second: the dataset added to it (e.g. the labels computed since).
        metadata: metadata of the result (default: ``second``'s, else ``first``'s).
    """
    in_first = set(first.ids)
    ids = list(first.ids) + [i for i in second.ids if i not in in_first]
    info = {}
    for ds in (second, first):  # first wins
        for k, cid in enumerate(ds.ids):
            info[cid] = (ds.structures[k], ds.subset[k], ds.generator[k], ds.group[k])
    for k, cid in enumerate(second.ids):
        if cid in in_first and second.subset[k] != info[cid][1]:
            raise ValueError(
                f"configuration {cid} is {info[cid][1]!r} in the first dataset and "
                f"{second.subset[k]!r} in the second; the datasets use different splits"
            )
    levels = {}
    for name in sorted(set(first.levels) | set(second.levels), key=level_order):
        parts = [ds.levels[name] for ds in (first, second) if name in ds.levels]
        if len(parts) == 2:
            a, b = parts
            if a.engine != b.engine or not _same_level(a.level, b.level):
                raise ValueError(
                    f"level {name!r} differs between the datasets: {a.engine} {a.level} and "
                    f"{b.engine} {b.level}; only labels of the same level can be merged"
                )
        rows = []  # (LevelData, index)
        seen = set()
        for data in parts:
            for k, cid in enumerate(data.ids):
                if cid not in seen:
                    seen.add(cid)
                    rows.append((data, k))
        versions = sorted({v for d in parts for v in d.engine_version.split(",") if v})
        sources = [d.source for d in parts if d.source]
        levels[name] = LevelData(
            name=name,
            level=dict(parts[0].level),
            engine=parts[0].engine,
            engine_version=",".join(versions),
            ids=[d.ids[k] for d, k in rows],
            forces=[d.forces[k] for d, k in rows],
            source=sources[0] if len(sources) == 1 else ({"merged": sources} if sources else {}),
            **{
                key: np.asarray([getattr(d, key)[k] for d, k in rows]).reshape(
                    (len(rows),) + np.shape(getattr(parts[0], key))[1:]
                )
                for key in _LEVEL_ARRAYS
            },
        )
    return LabelledDataset(
        ids=ids,
        structures=[info[i][0] for i in ids],
        subset=[info[i][1] for i in ids],
        generator=[info[i][2] for i in ids],
        group=[info[i][3] for i in ids],
        levels=levels,
        metadata=dict(metadata if metadata is not None else (second.metadata or first.metadata)),
    )


def select_configurations(dataset: LabelledDataset, ids: Sequence[str], metadata=None):
    """The part of ``dataset`` with the configurations ``ids`` (in the dataset's order).

    Args:
        dataset: the dataset.
        ids: configuration ids to keep; an id the dataset lacks raises a ValueError.
        metadata: metadata of the result (default: the dataset's).
    """
    keep = set(ids)
    unknown = sorted(keep - set(dataset.ids))
    if unknown:
        raise ValueError(f"ids names configurations the dataset lacks, e.g. {unknown[:3]}")
    rows = [k for k, cid in enumerate(dataset.ids) if cid in keep]
    levels = {}
    for name, data in dataset.levels.items():
        sel = [k for k, cid in enumerate(data.ids) if cid in keep]
        if not sel:
            continue
        levels[name] = LevelData(
            name=data.name,
            level=dict(data.level),
            engine=data.engine,
            engine_version=data.engine_version,
            ids=[data.ids[k] for k in sel],
            forces=[data.forces[k] for k in sel],
            source=dict(data.source),
            **{key: np.asarray(getattr(data, key))[sel] for key in _LEVEL_ARRAYS},
        )
    return LabelledDataset(
        ids=[dataset.ids[k] for k in rows],
        structures=[dataset.structures[k] for k in rows],
        subset=[dataset.subset[k] for k in rows],
        generator=[dataset.generator[k] for k in rows],
        group=[dataset.group[k] for k in rows],
        levels=levels,
        metadata=dict(dataset.metadata if metadata is None else metadata),
    )
