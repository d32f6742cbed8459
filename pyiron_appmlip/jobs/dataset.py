"""AppmlipDataset: an imported or given labelled dataset as a pyiron label source.

The job turns labelled data made elsewhere -- a FitSNAP JSON folder, extended XYZ files, VASP
output, an ASE database, a pyiron ``TrainingContainer`` (all read by
:func:`~pyiron_appmlip.datasets.importers.read_dataset`), or a
:class:`~pyiron_appmlip.datasets.store.LabelledDataset` such as the shipped Be dataset -- into a
job that the descriptors, fit and sweep jobs use exactly like an
:class:`~pyiron_appmlip.jobs.labelling.AppmlipLabelling` job::

    data = pr.create.job.AppmlipDataset("wbe")
    data.input.path = "WBe_PRB2019/JSON"         # a file or a folder
    data.input.format = None                     # guessed; or "fitsnap-json", "extxyz", ...
    data.input.options = {"duplicates": "drop", "stress_unit": "kbar"}
    data.run()

    desc = pr.create.job.AppmlipDescriptors("wbe_2j6")
    desc.structures = data.structures
    desc.run()
    fit = pr.create.job.AppmlipFit("wbe_fit")
    fit.set_descriptors(desc)
    fit.add_labels(data)

Storage
    The run writes the whole dataset (structures, every level's labels, the import's
    provenance) to ``dataset.h5`` in the job's working directory with
    :func:`~pyiron_appmlip.datasets.store.write_dataset`, and records the file's SHA-256 in
    ``job.output.dataset_sha256``. Everything the job hands out is read from that file, whose
    checksum is verified when it is read: the job stays valid when the source files are moved
    or deleted, and a file changed or damaged afterwards is refused
    (:class:`DatasetFileError`). ``load_dataset(job.dataset_path)`` reads it outside pyiron.
    A dataset given with ``job.dataset = ...`` is written there when the job is saved.

Levels
    Like a labelling job, the job provides one level by default, :attr:`level_name`: the only
    level of the dataset, or the one ``job.input.level`` names. A dataset with several levels
    (the Be dataset: "1" .. "5") provides all of them: ``job.get_labels(level=3)``, and
    ``sweep.add_labels(job, level=3)`` for each level a sweep uses (one job, several levels).

Input (``job.input``):
    path: the file or folder to import (made absolute when the job is checked before it runs).
    format: one of :data:`~pyiron_appmlip.datasets.importers.FORMATS`, or None to guess it.
    level: for an import, the name of the one level its labels get (default: the importer's,
        ``"imported:<folder or file name>"``; a paper level number becomes ``"3"``); for a
        given dataset, the level :attr:`level_name` provides (None: its only level).
    options: further keyword arguments of ``read_dataset`` (:func:`allowed_options`:
        ``duplicates``, ``label_tolerance``, ``stress_unit``, ``stress_sign``, ``index``,
        ``keys``, ``metadata``).
    min_distance: configurations with two atoms (periodic images included) closer than this
        (Angstrom, default 0.5) are refused, imported or given, naming each with the atoms and
        their distance; None: no check. Configurations given twice are kept once with a
        warning naming them. The rule of every structure set of the package
        (:func:`pyiron_appmlip.structures.checks.check_structures`); set it before
        ``job.dataset = ...``, which checks at once.
    dataset_sha256: set when a dataset given with ``job.dataset = ...`` was saved (the
        checksum of the file written then).

Output (``job.output``):
    dataset_file, dataset_sha256: the dataset file in the working directory and its SHA-256.
    source: ``"import"`` or ``"dataset"``.
    levels: the level names, lowest first; n_labelled, n_stress_recorded: per level.
    ids, n_atoms, configuration_groups: per configuration, in dataset order (ids and groups as
        lists of ``str``; a configuration without a group has ``""``). ``output.groups`` is
        the same list under its older name, kept for existing scripts (``groups`` is also the
        name of a method of pyiron's output container, so the list is stored under the new
        name).
    summary: the import's counts and checksums (``format``, ``root``, ``level``, ``n_files``,
        ``files_sha256`` -- the SHA-256 of the ``sha256sum`` manifest of every file read --,
        ``n_read``, ``n_configurations``, ``n_duplicates_merged``,
        ``n_conflicting_structures``, ``n_left_out``, ``n_stress_recorded``); empty for a
        dataset that was not imported.
    files: ``path`` (absolute, where the file was when it was read) and ``sha256`` of every
        source file.
    provenance: JSON text of everything else (:attr:`AppmlipDataset.provenance`): the input,
        the dataset's metadata and, per level, the level, engine and the importer's source
        description (declared and used units, signs, conversion, each configuration's origin,
        the duplicates found and what was kept).
"""

from __future__ import annotations

import inspect
import json
import os

import numpy as np
from pyiron_base import PythonTemplateJob

from ..datasets.importers import FORMATS, file_sha256, read_dataset
from ..datasets.store import LabelledDataset, load_dataset, write_dataset
from ..dft.levels import level_label
from ..structures.checks import DEFAULT_MIN_DISTANCE, check_min_distance, check_structures
from ..structures.conversion import as_strings, configuration_ids
from ._common import LeftoverSafeSave, PlainOutput, plain, save_then_set_status

__all__ = ["AppmlipDataset", "DatasetFileError", "allowed_options", "DATASET_FILE"]

#: Name of the dataset file in the job's working directory.
DATASET_FILE = "dataset.h5"
# read_dataset's arguments that the job's own input sets
_OWN = ("path", "format", "level", "min_distance")
_SUMMARY_KEYS = (
    "format",
    "root",
    "level",
    "n_files",
    "files_sha256",
    "n_read",
    "n_configurations",
    "n_duplicates_merged",
    "n_conflicting_structures",
    "n_left_out",
    "n_stress_recorded",
)


class DatasetFileError(ValueError):
    """The job's dataset file is missing, or its content is not the one the job recorded."""


def allowed_options() -> list[str]:
    """Keyword arguments of :func:`~pyiron_appmlip.datasets.importers.read_dataset` that
    ``job.input.options`` may set."""
    return [p for p in inspect.signature(read_dataset).parameters if p not in _OWN]


def _check_dataset(dataset, min_distance=None) -> LabelledDataset:
    """Refuse what cannot serve as labels: not a dataset, duplicate or wrong ids, no labels,
    atoms closer than ``min_distance`` (Angstrom; None: not checked)."""
    if not isinstance(dataset, LabelledDataset):
        raise ValueError(
            "dataset must be a LabelledDataset (e.g. read_dataset(...), load_dataset(...) or "
            f"load_be_dataset()), got {type(dataset).__name__}"
        )
    seen: dict[str, int] = {}
    for index, cid in enumerate(dataset.ids):
        if cid in seen:
            raise ValueError(
                f"dataset configurations must be distinct: {seen[cid]} and {index} have the same "
                f"configuration id {cid}"
            )
        seen[cid] = index
    actual = configuration_ids(dataset.structures)
    wrong = [k for k, (a, b) in enumerate(zip(actual, dataset.ids, strict=True)) if a != b]
    if wrong:
        raise ValueError(
            f"dataset ids are not the configuration ids of its structures at positions "
            f"{wrong[:5]} (ids are content hashes: configuration_id(structure))"
        )
    check_structures(
        dataset.structures,
        min_distance,
        ids=actual,
        names=[f"dataset configuration {k} (id {cid})" for k, cid in enumerate(actual)],
        hint="job.input.min_distance = None switches the check off",
    )
    if not any(len(data.ids) for data in dataset.levels.values()):
        raise ValueError("dataset has no labels: every level is empty")
    for name in dataset.levels:
        if "/" in name or not name.strip():
            raise ValueError(f"dataset level names must be non-empty without '/', got {name!r}")
    return dataset


def _pick_level(names: list[str], level, job_name: str) -> str:
    """The one of ``names`` that ``level`` names (any spelling of it), or the only one."""
    if level is None:
        if len(names) == 1:
            return names[0]
        raise ValueError(
            f"dataset job {job_name!r} provides the levels {names}: set job.input.level, or "
            "pass level= (get_labels(level=...), add_labels(job, level=...))"
        )
    label = level_label(level)
    for name in names:
        if level_label(name) == label:
            return name
    raise ValueError(
        f"level {level!r} (label {label!r}) is not a level of dataset job {job_name!r}; its "
        f"levels: {names}"
    )


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


class _GroupsAlias(list):
    """The groups of the configurations (``output.configuration_groups``) under their older
    name ``output.groups``, a list of ``str``. Calling it lists the output's nested
    containers, as the method of pyiron's output container of that name does."""

    def __init__(self, values, container):
        super().__init__(values)
        self._container = container

    def __call__(self):
        return type(self._container).groups(self._container)


class AppmlipDataset(PlainOutput, LeftoverSafeSave, PythonTemplateJob):
    """Labelled configurations made elsewhere, as a label source (see the module docstring).

    Set ``job.input.path`` (with ``format``, ``level`` and ``options``) to import files, or
    ``job.dataset = <LabelledDataset>``. After :meth:`run`: :attr:`structures`,
    :attr:`configuration_ids`, :attr:`level_name`, :attr:`level_names`, :meth:`get_labels`
    (the keys of :meth:`AppmlipLabelling.get_labels
    <pyiron_appmlip.jobs.labelling.AppmlipLabelling.get_labels>` plus ``groups``),
    :meth:`get_table`, :attr:`provenance` and :attr:`dataset`.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.path = None
        self.input.format = None
        self.input.level = None
        self.input.options = {}
        self.input.min_distance = DEFAULT_MIN_DISTANCE
        self.input.dataset_sha256 = None
        self._pending = None  # a dataset given before the job was saved
        self._cache = None  # (file key, dataset) of the last verified read

    # -- input --------------------------------------------------------------------------------
    @property
    def dataset(self) -> LabelledDataset | None:
        """The dataset: after the run read from the job's file (checksum verified), before it
        the one given (None if none)."""
        if self.output.get("dataset_sha256") is not None:
            return self._read_file(str(self.output.dataset_sha256))
        return self._pending

    @dataset.setter
    def dataset(self, dataset):
        if self.job_id is not None:
            raise ValueError(
                f"job {self.job_name!r} was saved already; give the dataset to a new job"
            )
        self._pending = _check_dataset(dataset, self._min_distance())

    def _options(self) -> dict:
        options = plain(self.input.options) if self.input.options is not None else {}
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict of read_dataset arguments, got {options!r}")
        return options

    def _min_distance(self) -> float | None:
        return check_min_distance(self.input.get("min_distance", DEFAULT_MIN_DISTANCE))

    def _given(self) -> bool:
        return self._pending is not None or self.input.get("dataset_sha256") is not None

    def _validate_input(self):
        path = self.input.path
        self._min_distance()
        if self._given():
            if path is not None:
                raise ValueError(
                    "give either job.input.path (files to import) or job.dataset, not both"
                )
            if self.input.format is not None or self._options():
                raise ValueError(
                    "format and options are arguments of the import; a dataset given with "
                    "job.dataset takes neither"
                )
            if self._pending is not None and self.input.level is not None:
                _pick_level(self._pending.level_names, self.input.level, self.job_name)
            return
        if path is None:
            raise ValueError(
                "nothing to import: set job.input.path (a file or folder) or job.dataset"
            )
        if not isinstance(path, str | os.PathLike):
            raise ValueError(f"path must be the path of a file or folder, got {path!r}")
        if not os.path.exists(path):
            raise FileNotFoundError(f"no file or folder at {os.fspath(path)!r}")
        fmt = self.input.format
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f"format must be one of {list(FORMATS)} or None, got {fmt!r}")
        allowed = allowed_options()
        unknown = sorted(set(self._options()) - set(allowed))
        if unknown:
            raise ValueError(
                f"options has unknown keys {unknown}; allowed: {allowed} (path, format, level "
                "and min_distance are the job's own input)"
            )
        if self.input.level is not None:
            name = level_label(self.input.level)
            if "/" in name:
                raise ValueError(f"level must be a name without '/', got {self.input.level!r}")

    def validate_ready_to_run(self):
        self._validate_input()
        if self.input.path is not None:
            self.input.path = os.path.abspath(os.fspath(self.input.path))
        super().validate_ready_to_run()

    def save(self):
        """Save the job; a dataset given with ``job.dataset`` is written to its file first."""
        if self._pending is not None and self.job_id is None:
            os.makedirs(self.working_directory, exist_ok=True)
            write_dataset(
                self.dataset_path,
                self._pending,
                self._description("given"),
                min_distance=self._min_distance(),
            )
            self.input.dataset_sha256 = file_sha256(self.dataset_path)
        return super().save()

    # -- run ----------------------------------------------------------------------------------
    def _description(self, how: str) -> str:
        return f"labelled dataset of pyiron job {self.job_name!r} ({how})"

    def run_static(self):
        self.status.running = True
        try:
            self._validate_input()
            dataset, source = self._read_source()
            if self.input.level is not None:
                _pick_level(dataset.level_names, self.input.level, self.job_name)
            sha = self.input.dataset_sha256 if source == "dataset" else None
            if sha is None:
                os.makedirs(self.working_directory, exist_ok=True)
                # the structures were checked when read (read_dataset's min_distance)
                write_dataset(
                    self.dataset_path, dataset, self._description(source), min_distance=None
                )
                sha = file_sha256(self.dataset_path)
            self._store_output(dataset, source, sha)
        except Exception as exc:
            self.output.run_error = f"{type(exc).__name__}: {exc}"
            save_then_set_status(self, "aborted")
            raise
        save_then_set_status(self)

    def _read_source(self) -> tuple[LabelledDataset, str]:
        if self.input.get("dataset_sha256") is not None:
            return _check_dataset(self._read_file(str(self.input.dataset_sha256))), "dataset"
        level = None if self.input.level is None else level_label(self.input.level)
        dataset = read_dataset(
            self.input.path,
            format=self.input.format,
            level=level,
            min_distance=self._min_distance(),
            **self._options(),
        )
        return _check_dataset(dataset), "import"

    def _store_output(self, dataset: LabelledDataset, source: str, sha: str) -> None:
        out = self.output
        names = dataset.level_names
        out.dataset_file = DATASET_FILE
        out.dataset_sha256 = sha
        out.source = source
        out.levels = list(names)
        out.ids = [str(cid) for cid in dataset.ids]
        out.n_atoms = np.asarray(dataset.n_atoms, dtype=np.int64)
        out.configuration_groups = [str(g) for g in dataset.group]
        out.n_labelled = np.array([len(dataset.levels[n].ids) for n in names], dtype=np.int64)
        out.n_stress_recorded = np.array(
            [int(np.all(np.isfinite(dataset.levels[n].stress), axis=1).sum()) for n in names],
            dtype=np.int64,
        )
        summary = dict(dataset.metadata.get("import", {}))
        out.summary = {k: summary[k] for k in _SUMMARY_KEYS if k in summary}
        paths, hashes = [], []
        for name in names:
            level_source = dataset.levels[name].source
            root = level_source.get("root", "")
            for rel, digest in sorted(level_source.get("files", {}).items()):
                paths.append(os.path.join(root, rel) if root else rel)
                hashes.append(digest)
        out.files = {"path": paths, "sha256": hashes}
        provenance = {
            "source": source,
            "input": {
                "path": self.input.path,
                "format": self.input.format,
                "level": plain(self.input.level),
                "options": self._options(),
                "min_distance": self._min_distance(),
            },
            "metadata": dataset.metadata,
            "levels": {
                name: {
                    "level": dataset.levels[name].level,
                    "engine": dataset.levels[name].engine,
                    "engine_version": dataset.levels[name].engine_version,
                    "source": dataset.levels[name].source,
                }
                for name in names
            },
        }
        out.provenance = json.dumps(provenance, sort_keys=True, default=_json_default)
        out.run_error = ""
        self._set_groups_alias()

    def _set_groups_alias(self) -> None:
        """``output.groups``: ``output.configuration_groups`` under its older name."""
        groups = self.output.get("configuration_groups")
        if groups is not None:
            object.__setattr__(self.output, "groups", _GroupsAlias(groups, self.output))

    def from_hdf(self, hdf=None, group_name=None):
        """Load the job (see pyiron's ``from_hdf``); ``output.groups`` is set as after the run."""
        super().from_hdf(hdf=hdf, group_name=group_name)
        self._set_groups_alias()

    # -- the dataset file ---------------------------------------------------------------------
    @property
    def dataset_path(self) -> str:
        """Absolute path of the job's dataset file (in its working directory)."""
        return os.path.join(self.working_directory, DATASET_FILE)

    def _read_file(self, sha: str) -> LabelledDataset:
        """The dataset file, refused unless its SHA-256 is ``sha``; read once per change."""
        path = self.dataset_path
        if not os.path.isfile(path):
            raise DatasetFileError(
                f"dataset job {self.job_name!r} (id {self.job_id}) has no dataset file at {path}: "
                "it was moved or deleted; import the source again in a new job"
            )
        stat = os.stat(path)
        key = (path, stat.st_size, stat.st_mtime_ns, sha)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        actual = file_sha256(path)
        if actual != sha:
            raise DatasetFileError(
                f"dataset file {path} of job {self.job_name!r} has SHA-256 {actual}, but the job "
                f"recorded {sha}: it was changed or damaged after the job wrote it"
            )
        dataset = load_dataset(path)
        self._cache = (key, dataset)
        return dataset

    def verify(self) -> str:
        """Check the dataset file against the recorded SHA-256; returns the checksum.

        Raises:
            DatasetFileError: if the file is missing or its content changed.
        """
        sha = self.output.get("dataset_sha256") or self.input.get("dataset_sha256")
        if sha is None:
            raise ValueError(f"job {self.job_name!r} has no dataset file yet; run it first")
        self._cache = None
        self._read_file(str(sha))
        return str(sha)

    def _finished_dataset(self) -> LabelledDataset:
        if self.output.get("dataset_sha256") is None:
            raise ValueError(
                f"dataset job {self.job_name!r} has no dataset yet (status {self.status}); run it "
                "first"
            )
        return self._read_file(str(self.output.dataset_sha256))

    # -- the interface of a labelling job -----------------------------------------------------
    @property
    def structures(self) -> list:
        """The structures as ASE Atoms, in dataset order (copies; empty before the run unless a
        dataset was given)."""
        if self.output.get("dataset_sha256") is None:
            return [] if self._pending is None else [a.copy() for a in self._pending.structures]
        return [a.copy() for a in self._finished_dataset().structures]

    @property
    def configuration_ids(self) -> list[str]:
        """Configuration ids of :attr:`structures`, in order."""
        ids = self.output.get("ids")
        if ids is not None:
            return as_strings(ids)
        return [] if self._pending is None else list(self._pending.ids)

    @property
    def level_names(self) -> list[str]:
        """Every level the job provides, lowest (paper) level first."""
        levels = self.output.get("levels")
        if levels is not None:
            return as_strings(levels)
        if self._pending is not None:
            return list(self._pending.level_names)
        if self.input.path is not None and self.input.level is not None:
            return [level_label(self.input.level)]
        raise ValueError(
            f"the levels of dataset job {self.job_name!r} are known once it ran (or set "
            "job.input.level to name the imported level)"
        )

    @property
    def level_name(self) -> str:
        """The level this job provides by default: the dataset's only level, or the one
        ``job.input.level`` names (as :func:`~pyiron_appmlip.dft.levels.level_label`)."""
        return level_label(_pick_level(self.level_names, self.input.level, self.job_name))

    def get_labels(self, only_finished: bool = True, level=None) -> dict:
        """The labels of one level as plain arrays, like a labelling job's.

        Args:
            only_finished: accepted for the labelling job's signature; a dataset holds finished
                calculations only, so it changes nothing.
            level: the level (any spelling: ``3``, ``"3"``, ``PAPER_LEVELS[3]``, the name);
                default :attr:`level_name`.

        Returns:
            A dict with, per configuration labelled at that level in dataset order: ``ids``,
            ``energies`` (eV), ``energies_zero`` (eV, NaN if unknown), ``forces`` (list of
            (N, 3) eV/Angstrom), ``n_atoms``, ``stress`` ((M, 6) eV/Angstrom^3, ASE's sign,
            Voigt xx yy zz yz xz xy, NaN where not recorded), ``wall_times`` (s, NaN if
            unknown), ``n_kpoints`` and ``kmesh`` (-1 if unknown), ``status`` (all
            ``"finished"``), ``child_ids`` (the single-point jobs in the project that made the
            dataset, -1 for imported labels), ``groups`` (the source's group, "" for none),
            ``subset`` ("train"/"test" as the dataset marks them; the fit and sweep jobs make
            their own split by configuration id); and ``level`` (dict), ``engine``.
        """
        dataset = self._finished_dataset()
        names = dataset.level_names
        name = _pick_level(names, self.input.level if level is None else level, self.job_name)
        data = dataset.levels[name]
        row = {cid: k for k, cid in enumerate(data.ids)}
        picked = [(m, row[cid]) for m, cid in enumerate(dataset.ids) if cid in row]
        positions = [m for m, _ in picked]
        rows = [k for _, k in picked]
        return {
            "ids": [dataset.ids[m] for m in positions],
            "energies": np.asarray(data.energy, dtype=float)[rows],
            "energies_zero": np.asarray(data.energy_zero, dtype=float)[rows],
            "forces": [np.asarray(data.forces[k], dtype=float).reshape(-1, 3) for k in rows],
            "n_atoms": np.asarray(dataset.n_atoms, dtype=np.int64)[positions],
            "stress": np.asarray(data.stress, dtype=float).reshape(-1, 6)[rows],
            "wall_times": np.asarray(data.wall_time, dtype=float)[rows],
            "n_kpoints": np.asarray(data.n_kpoints, dtype=np.int64)[rows],
            "kmesh": np.asarray(data.kmesh, dtype=np.int64).reshape(-1, 3)[rows],
            "status": ["finished"] * len(rows),
            "child_ids": np.asarray(data.child_id, dtype=np.int64)[rows],
            "groups": [dataset.group[m] for m in positions],
            "subset": [dataset.subset[m] for m in positions],
            "level": dict(data.level),
            "engine": data.engine,
        }

    # -- output -------------------------------------------------------------------------------
    @property
    def provenance(self) -> dict:
        """Where the data came from (``job.output.provenance`` as a dict; see the module
        docstring)."""
        text = self.output.get("provenance")
        if text is None:
            raise ValueError(f"dataset job {self.job_name!r} has no output yet; run it first")
        return json.loads(text)

    def get_table(self, level=None):
        """One row per configuration labelled at ``level`` (default :attr:`level_name`): id,
        group, subset, n_atoms, energy_per_atom (eV), stress_recorded, wall_time, origin (where
        the importer read it, "" for a dataset that was not imported)."""
        import pandas as pd

        labels = self.get_labels(level=level)
        name = _pick_level(
            self.level_names, self.input.level if level is None else level, self.job_name
        )
        origin = self.provenance["levels"][name]["source"].get("origin", {})
        return pd.DataFrame(
            {
                "id": labels["ids"],
                "group": labels["groups"],
                "subset": labels["subset"],
                "n_atoms": labels["n_atoms"],
                "energy_per_atom": labels["energies"] / labels["n_atoms"],
                "stress_recorded": np.all(np.isfinite(labels["stress"]), axis=1),
                "wall_time": labels["wall_times"],
                "origin": [origin.get(cid, "") for cid in labels["ids"]],
            }
        )
