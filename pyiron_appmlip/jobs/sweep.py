"""AppmlipSweep: the paper's factorial study as one pyiron job.

Inputs are references to :class:`AppmlipDescriptors` jobs (one per 2Jmax) and
:class:`AppmlipLabelling` jobs (one per convergence level) plus the grid. The job writes the rows
of every finished unit (one 2Jmax x sampler x repetition) to its working directory as soon as the
unit is done, atomically; a resumed or extended run (:meth:`AppmlipSweep.resume`) reads them back
and computes only what is missing. The final table is stored in the job's HDF5 file together with
the ids of every job used, so ``pr.job_table()`` and the table give the full provenance.
"""

from __future__ import annotations

import glob
import hashlib
import inspect
import json
import os
import warnings

import numpy as np
import pandas as pd
from pyiron_base import PythonTemplateJob

from ..descriptors.settings import QSnapSettings
from ..dft.cost import parse_level_costs
from ..dft.levels import level_label, level_order
from ..executors import check_executor
from ..potential.model import SnapModel
from ..structures.conversion import as_strings
from ..training.costs import assign_dft_costs, dft_costs
from ..training.group_errors import group_error_table, prediction_frame
from ..training.labels import Labels, parse_group_weights, split_by_configuration
from ..training.sweep import (
    SWEEP_SAMPLERS,
    BlockSource,
    SweepGrid,
    run_sweep,
    weights_by_test_id,
)
from ..training.table import (
    COLUMN_NAMES,
    COLUMNS,
    KEY_COLUMNS,
    complete_older_columns,
    energies_apart,
    row_key,
)
from ._common import (
    LeftoverSafeSave,
    PlainOutput,
    job_id_of,
    plain,
    rerun_in_place,
    save_then_set_status,
    table_from_hdf_dict,
    table_to_hdf_dict,
)
from ._execution import ExecutorMixin
from ._fit_input import sweep_input_checks
from ._input import CheckedInputJob

__all__ = ["AppmlipSweep"]

_UNIT_DIR = "sweep_units"
#: Table columns added with stresses, and their values in unit files written before them.
_STRESS_COLUMNS = {
    "stress_weight": 0.0,
    "stress_rmse_train": np.nan,
    "stress_rmse_test": np.nan,
    "stress_rmse_test_truth": np.nan,
}
#: The cost-source column, and its value in unit files and job tables written before it (a run
#: sets it anew for every row, see :func:`~pyiron_appmlip.training.costs.assign_dft_costs`).
_COST_SOURCE_COLUMNS = {"dft_cost_source": "not recorded (stored before cost sources existed)"}
_TEXT_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == "str")


def _array_digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _write_unit(folder: str, unit: tuple, rows: list[dict], context: str = "") -> str:
    """Store one unit's rows atomically (temporary file, then rename).

    The file records the unit's ``context`` (the hash of everything its rows depend on, see
    :meth:`AppmlipSweep._contexts`) and a SHA-256 checksum of its arrays, both checked when the
    file is read back.
    """
    os.makedirs(folder, exist_ok=True)
    twojmax, sampler, rep = unit
    tag = hashlib.sha1(repr(sorted(row_key(r) for r in rows)).encode()).hexdigest()[:10]
    path = os.path.join(folder, f"unit_2j{twojmax}_{sampler}_r{rep}_{context[:12]}_{tag}.npz")
    tmp = path + ".tmp.npz"
    scalars = pd.DataFrame([{c: r[c] for c in COLUMN_NAMES if c in r} for r in rows])
    arrays = {f"col__{c}": scalars[c].to_numpy() for c in scalars.columns}
    for c in _TEXT_COLUMNS:
        if c in scalars:
            arrays[f"col__{c}"] = scalars[c].astype(str).to_numpy().astype("U")
    arrays["coefficients"] = (
        np.array([r["coefficients"] for r in rows]) if rows else np.zeros((0, 0))
    )
    # the subsets of one unit are prefixes of one sampling order: store the longest one
    longest = max((r["training_ids"] for r in rows), key=len, default=())
    arrays["training_order"] = np.array(list(longest), dtype="U")
    arrays["context"] = np.array(context, dtype="U")
    checksum = _array_digest(arrays)
    np.savez(tmp, checksum=np.array(checksum, dtype="U"), **arrays)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _read_unit(path: str) -> tuple[str, list[dict]]:
    """``(context, rows)`` of one unit file; a ValueError naming the file if it is damaged."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as err:  # BadZipFile, EOFError, OSError, ValueError, zlib.error ...
        raise ValueError(
            f"sweep unit file {path} is unreadable ({type(err).__name__}: {err})"
        ) from None
    stored = str(arrays.pop("checksum", ""))
    if not stored or stored != _array_digest(arrays):
        raise ValueError(f"sweep unit file {path} fails its checksum (damaged or edited)")
    context = str(arrays["context"])
    cols = {k[5:]: v for k, v in arrays.items() if k.startswith("col__")}
    n_rows = len(arrays["coefficients"])
    # unit files written before stresses or cost sources
    for c, default in {**_STRESS_COLUMNS, **_COST_SOURCE_COLUMNS}.items():
        if c not in cols and n_rows:
            cols[c] = np.full(n_rows, default)
    complete_older_columns(cols, n_rows)  # unit files written before multi-fidelity fits
    missing = [c for c in COLUMN_NAMES if c not in cols and c != "descriptors_job"]
    if missing:
        raise ValueError(f"sweep unit file {path} lacks the columns {missing}")
    order = [str(i) for i in arrays["training_order"]]
    rows = []
    for i in range(len(arrays["coefficients"])):
        row = {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in cols.items()}
        row["coefficients"] = arrays["coefficients"][i]
        size = int(row["subset_size"])
        if energies_apart(row.get("train_level", "")):  # and the energies after the subset
            size += int(row.get("n_energy", 0))
        row["training_ids"] = tuple(order[:size])
        rows.append(row)
    return context, rows


def _read_units(folder: str, contexts: dict[int, str], log=None) -> tuple[list[dict], dict]:
    """Rows of the unit files in ``folder`` whose context matches ``contexts[2Jmax]``.

    Damaged files are renamed to ``<name>.damaged`` (never used, recomputed by the caller);
    files of another context (other seeds, split, labels, descriptors ...) are left in place
    and ignored. Returns the rows and a report of what was reused, ignored and set aside.
    """
    log = log or (lambda msg: None)
    rows, report = [], {"reused_files": 0, "reused_rows": 0, "other_context_files": 0}
    report["damaged_files"] = []
    for path in sorted(glob.glob(os.path.join(folder, "unit_*.npz"))):
        if path.endswith(".tmp.npz"):
            continue
        try:
            context, unit_rows = _read_unit(path)
        except ValueError as err:
            log(f"{err}; set aside as {os.path.basename(path)}.damaged and recomputed")
            os.replace(path, path + ".damaged")
            report["damaged_files"].append(os.path.basename(path))
            continue
        twojmax = int(os.path.basename(path).split("_")[1][2:])
        if contexts.get(twojmax) != context:
            report["other_context_files"] += 1
            continue
        rows.extend(unit_rows)
        report["reused_files"] += 1
        report["reused_rows"] += len(unit_rows)
    return rows, report


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _labels_digest(labels: Labels) -> str:
    h = hashlib.sha256()
    for cid in sorted(labels.energies):
        h.update(cid.encode())
        h.update(np.float64(labels.energies[cid]).tobytes())
        h.update(np.ascontiguousarray(labels.forces[cid], dtype=np.float64).tobytes())
        h.update(np.float64(labels.wall_times.get(cid, np.nan)).tobytes())
        # stresses, volumes and groups only where present: digests of labels without them
        # stay those of before
        stress = labels.stress(cid)
        if stress is not None:
            h.update(b"stress" + np.ascontiguousarray(stress, dtype=np.float64).tobytes())
            h.update(np.float64((labels.volumes or {}).get(cid, np.nan)).tobytes())
        if labels.groups and cid in labels.groups:
            h.update(b"group" + labels.groups[cid].encode())
    return h.hexdigest()


class AppmlipSweep(
    PlainOutput, LeftoverSafeSave, CheckedInputJob, ExecutorMixin, PythonTemplateJob
):
    """Factorial sweep over level x subset size x weight x 2Jmax x sampler x repetition.

    Set up with :meth:`add_descriptors` (one descriptors job per 2Jmax) and :meth:`add_labels`
    (one labelling or dataset job per level), then the grid in ``job.input``. Every input below
    is checked when it is set (``job.input.test_fraction = 1.5`` raises a ``ValueError`` naming
    the input and its allowed values) and again when the job runs.

    Input (``job.input``; default in brackets):
        descriptors_jobs: ``{2Jmax: descriptors job id}``, set with :meth:`add_descriptors`
            [``{}``].
        labelling_jobs: ``{level label: job id}`` (or a list of ids whose labels are merged by
            configuration), set with :meth:`add_labels` [``{}``]. The run checks that each job
            provides the level it is filed under.
        train_levels: the levels to train on (numbers 1-6, level names or ConvergenceLevels,
            stored as their labels) [None: every level with a labelling job].
        truth_level: the reference level of the ``*_test_truth`` errors [None: the highest
            level with a labelling job].
        subset_sizes: training subset sizes, positive integers no larger than the training
            pool [``[10, 20]``].
        weights: the energy/force weights of the fits, numbers w_E/w_F (w_F = 1) or
            ``(w_E, w_F)`` pairs, positive; stored as pairs [``[[150.0, 1.0], [12.0, 1.0]]``].
            w_E multiplies per-atom energy residuals (eV/atom), w_F force-component residuals
            (eV/Angstrom); without stresses and ridge only their ratio matters.
        samplers: how the subsets are drawn, one or more of ``"leverage"``,
            ``"block_leverage"``, ``"random"``, the label-free selectors ``"maxvol"``,
            ``"d_optimal"``, ``"cur"``, ``"fps"``, ``"entropy"``
            (:mod:`pyiron_appmlip.core.selectors`) and ``"all"`` (the whole training pool)
            [``["leverage", "block_leverage", "random"]``].
        repetitions: independent sampling orders per sampler, an integer >= 1 [1]; the
            deterministic selectors ``"maxvol"``, ``"d_optimal"`` and ``"cur"`` run once.
        seed: root seed of the sampling orders, an integer >= 0 [0].
        leverage_weights: the ``(w_E, w_F)`` pair whose weighted design matrix gives the
            leverage scores and weighs the rows of the ``"d_optimal"`` selector [None: the
            first pair of ``weights``].
        test_fraction: fraction of the configurations held out for testing, ``0 <= f < 1``
            [0.25]. Of n configurations ``round(f * n)`` are held out, at least one and at most
            n - 1; a positive fraction that rounds to none still holds out one, with a warning.
            ``0`` holds out none: every configuration trains, the test-error columns of the
            table are NaN (``n_test`` 0), ``output.has_test_set`` is False and the run warns.
        split_seed: seed of the split by configuration id, an integer [0].
        test_ids: the test configurations by id, instead of a random split (``test_fraction``
            and ``split_seed`` are then not used), e.g. a pilot's reference-level test set
            (:class:`~pyiron_appmlip.planning.pilot.PilotDesign`); every id must be one of the
            descriptors jobs' configurations [None: split at random].
        test_weights: one weight per id of ``test_ids`` (finite, > 0): how many configurations
            each test configuration stands for, e.g. a pilot's
            :attr:`~pyiron_appmlip.planning.pilot.PilotDesign.test_weights` of a test set drawn
            by leverage; the table's test RMSEs are then weighted means of the squared errors
            (energies per configuration, forces per component) [None: each counts once].
        ridge: ridge term, ``ridge * ||beta||^2`` (descriptor coefficients, not the reference
            energy) added to the weighted squared residuals; finite, >= 0 [0.0].
        stress_weight: weight w_S of the stress rows, on stress residuals in eV/Angstrom^3
            (ASE's sign), finite, >= 0 [0.0: stresses are not fitted, their errors are still
            reported where the descriptors have virial rows]. FitSNAP's ``vweight`` (on bar) is
            ``stress_weight / 1.6021765e6``. Uses the virial rows descriptors jobs store by
            default, the labels' stresses and the cell volumes.
        level_pairs: ``[energy_level, force_level]`` pairs of multi-fidelity fits, energies
            from the first level and forces (and stresses) from the second [``[]``]; see
            :class:`~pyiron_appmlip.training.sweep.SweepGrid`. Rows: ``model_kind``
            "level_pair", ``train_level`` "E<a>+F<b>".
        delta_pairs: ``[low_level, high_level]`` pairs of Delta models (a fit to the low level
            plus a correction to ``high - low``) [``[]``]. Rows: ``model_kind`` "delta",
            ``train_level`` "<low>+delta(<high>)".
        energy_sizes: sizes of the energy subsets of level pairs and of the correction sets of
            Delta models, the first n configurations of each training subset [``[]``: the whole
            subset].
        energy_draw: ``"nested"`` (a level pair's energies on the first ``energy_sizes``
            configurations of each subset) or ``"apart"`` (on as many configurations after it
            in its sampling order) ["nested"].
        delta_twojmax: the 2Jmax of the Delta models' corrections (at most the descriptors'),
            the sum being one potential at the descriptors' 2Jmax [None: the same 2Jmax].
        group_weights: ``{group: (energy, force, stress) factors}`` multiplying w_E, w_F and w_S
            for the configurations of a group (groups come with dataset jobs), finite, >= 0
            [``{}``].
        reference_potential: a fixed potential subtracted from every label before the fits and
            written into the exported model (set with :attr:`reference_potential`, a
            :class:`~pyiron_appmlip.potential.reference.ReferencePotential`; stored as JSON)
            [None].
        level_costs: the DFT cost of levels whose labels have no recorded times (imported
            data), ``{level: {"per_configuration": seconds}}``, ``{level: {"per_atom":
            seconds}}`` or ``{level: {"model": cost_model.to_dict()}}`` (a
            :class:`~pyiron_appmlip.dft.cost.CostModel`) [``{}``]; a given cost wins over
            recorded times, and the table's ``dft_cost_source`` names the source of every
            level's cost (:mod:`pyiron_appmlip.training.costs`). Changing it recomputes no fit:
            the next :meth:`resume` only sets the costs anew.
        atom_steps_per_second: ``{2Jmax: measured LAMMPS MD throughput}`` in atom-steps per
            second, copied into the table [``{}``]; or ``measure_evaluation_cost = True`` to
            measure it with LAMMPS [False].
        executor: where the sweep units run, a storable spec (:mod:`pyiron_appmlip.executors`:
            None or ``"local"`` for all local cores, ``"serial"``, a number of local workers,
            or ``{"kind": ..., ...}`` for executorlib) [None]; a running executor goes to
            ``job.executor``.

    Output: :meth:`get_table` (one row per fit, columns
    :data:`pyiron_appmlip.training.table.COLUMNS`), :meth:`get_model` (a
    :class:`~pyiron_appmlip.potential.model.SnapModel` of any row, with its descriptor settings,
    ready for export), :meth:`get_coefficients`, :meth:`get_group_errors` (FitSNAP's error
    table of any row: per configuration group, training and test), the split (``train_ids``,
    ``test_ids``, ``has_test_set``), the descriptor settings per 2Jmax and the provenance.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        with self.input.unchecked():  # the defaults (AppmlipFit replaces the samplers)
            self.input.descriptors_jobs = {}
            self.input.labelling_jobs = {}
            self.input.train_levels = None
            self.input.truth_level = None
            self.input.subset_sizes = [10, 20]
            self.input.weights = [[150.0, 1.0], [12.0, 1.0]]
            self.input.samplers = ["leverage", "block_leverage", "random"]
            self.input.repetitions = 1
            self.input.seed = 0
            self.input.leverage_weights = None
            self.input.test_fraction = 0.25
            self.input.split_seed = 0
            self.input.test_ids = None
            self.input.test_weights = None
            self.input.ridge = 0.0
            self.input.atom_steps_per_second = {}
            self.input.measure_evaluation_cost = False
            self.input.executor = None
            self.input.reference_potential = None
            self.input.stress_weight = 0.0
            self.input.group_weights = {}
            self.input.level_costs = {}
            self.input.level_pairs = []
            self.input.delta_pairs = []
            self.input.energy_sizes = []
            self.input.delta_twojmax = None
            self.input.energy_draw = "nested"

    # -- input helpers ------------------------------------------------------------------------
    def _source(self, job, method: str):
        """The job ``job`` (object, id or name) names, loaded from this project."""
        if not (hasattr(job, "job_id") or isinstance(job, int | np.integer | str)):
            raise ValueError(
                f"{method}() takes a job (the job object, its id or its name), got "
                f"{type(job).__name__} {job!r:.80}"
            )
        job_id = job_id_of(job, self.project)
        source = self.project.load(job_id)
        if source is None:
            raise ValueError(f"{method}(): no job with id {job_id} in project {self.project.path}")
        return job_id, source

    def _descriptor_source(self, job, method: str) -> tuple[int, int]:
        """``(job id, 2Jmax)`` of a descriptors job; anything else is refused, naming it."""
        job_id, source = self._source(job, method)
        if not (hasattr(type(source), "get_store") and hasattr(type(source), "iter_blocks")):
            hint = (
                "; it holds labels: pass it to add_labels()"
                if hasattr(type(source), "get_labels")
                else ""
            )
            raise ValueError(
                f"{method}() takes an AppmlipDescriptors job (qSNAP descriptor blocks of one "
                f"2Jmax), got job {source.job_name!r} (id {job_id}) of type "
                f"{type(source).__name__}{hint}"
            )
        return job_id, int(source.input.twojmax)

    def add_descriptors(self, job, twojmax: int | None = None):
        """Use descriptor ``job`` (object, id or name) for its 2Jmax.

        ``twojmax``, if given, must be the job's own 2Jmax (a check, not an override).

        Raises:
            ValueError: for anything but an ``AppmlipDescriptors`` job (naming what was given),
                or a ``twojmax`` that is not the job's.
        """
        job_id, own = self._descriptor_source(job, "add_descriptors")
        if twojmax is not None and int(twojmax) != own:
            raise ValueError(
                f"twojmax={twojmax!r} differs from the descriptors job's own 2Jmax {own}; "
                "omit twojmax or pass the job of that 2Jmax"
            )
        self.input.descriptors_jobs[str(own)] = job_id

    def add_labels(self, job, level=None, merge: bool = False):
        """Use labelling ``job`` (object, id or name) for its level.

        Args:
            job: the labelling job, or an :class:`~pyiron_appmlip.jobs.dataset.AppmlipDataset`
                job (labels imported or given as a dataset).
            level: if given, must name the job's own level (any spelling of it: ``3``,
                ``PAPER_LEVELS[3]``, ``"3"``); the labels are stored under
                :func:`~pyiron_appmlip.dft.levels.level_label` of it. A job that provides
                several levels (a dataset job: its ``level_names``) gives the one ``level``
                names, by default its ``level_name``; add it once per level used.
            merge: a level has one labelling job; with ``merge=True`` a further job of the same
                level is added to it, and their labels are merged by configuration id (a
                configuration labelled differently by two jobs is refused when the sweep runs).

        Raises:
            ValueError: for anything but an ``AppmlipLabelling`` or ``AppmlipDataset`` job
                (naming what was given), if ``level`` is not the job's level, or the level
                already has another job and ``merge`` is False.
        """
        job_id, source = self._source(job, "add_labels")
        if not (hasattr(type(source), "get_labels") and hasattr(type(source), "level_name")):
            hint = (
                "; it holds descriptors: pass it to add_descriptors() (set_descriptors() of a fit)"
                if hasattr(type(source), "iter_blocks")
                else ""
            )
            raise ValueError(
                "add_labels() takes a label source, an AppmlipLabelling job (DFT labels of one "
                f"level) or an AppmlipDataset job, got job {source.job_name!r} (id {job_id}) of "
                f"type {type(source).__name__}{hint}"
            )
        if _provides_levels(source) and level is not None:
            own = level_label(level)
            provided = _provided_levels(source)
            if own not in provided:
                raise ValueError(
                    f"level={level!r} (label {own!r}) is not a level of job "
                    f"{source.job_name!r}; its levels: {provided}"
                )
        else:
            own = level_label(source.level_name)
        if level is not None and level_label(level) != own:
            raise ValueError(
                f"level={level!r} (label {level_label(level)!r}) differs from the labelling "
                f"job's own level {own!r}; omit level or pass the job of that level"
            )
        present = _job_list(self.input.labelling_jobs.get(own))
        if present and job_id not in present and not merge:
            raise ValueError(
                f"level {own!r} already has the labelling job(s) {present}; pass merge=True to "
                "merge the labels of both jobs by configuration id"
            )
        jobs = present + [job_id] if job_id not in present else present
        self.input.labelling_jobs[own] = jobs[0] if len(jobs) == 1 else jobs

    def _levels(self):
        return sorted(self.input.labelling_jobs, key=level_order)

    def grid(self) -> SweepGrid:
        """The validated :class:`SweepGrid` of the current input."""
        if not self.input.labelling_jobs:
            raise ValueError(
                "labelling_jobs is empty: call job.add_labels(labelling_job) per level"
            )
        levels = self._levels()
        train = self.input.train_levels
        train = levels if train is None else [level_label(v) for v in train]
        for lv in train:
            if lv not in self.input.labelling_jobs:
                raise ValueError(
                    f"train level {lv!r} has no labelling job; levels with jobs: {levels}"
                )
        lw = self.input.leverage_weights
        return SweepGrid(
            train_levels=train,
            subset_sizes=list(self.input.subset_sizes or []),
            weights=[w if np.isscalar(w) else tuple(w) for w in self.input.weights],
            samplers=list(self.input.samplers),
            repetitions=int(self.input.repetitions),
            seed=int(self.input.seed),
            leverage_weights=None if lw is None else tuple(lw),
            stress_weight=self.input.get("stress_weight") or 0.0,
            level_pairs=[tuple(p) for p in self.input.get("level_pairs") or []],
            delta_pairs=[tuple(p) for p in self.input.get("delta_pairs") or []],
            energy_sizes=list(self.input.get("energy_sizes") or []),
            delta_twojmax=self.input.get("delta_twojmax"),
            energy_draw=self.input.get("energy_draw") or "nested",
        )

    def _group_weights(self) -> dict:
        return parse_group_weights(plain(self.input.get("group_weights") or {}))

    def _level_costs(self) -> dict:
        """The given DFT costs per level, checked (``job.input.level_costs``)."""
        return parse_level_costs(
            plain(self.input.get("level_costs") or {}), levels=self._levels(), name="level_costs"
        )

    def _truth(self):
        levels = self._levels()
        truth = self.input.truth_level
        truth = levels[-1] if truth is None else level_label(truth)
        if truth not in self.input.labelling_jobs:
            raise ValueError(
                f"truth_level {truth!r} has no labelling job; levels with jobs: {levels}"
            )
        return truth

    def _input_checks(self) -> dict:
        return sweep_input_checks()

    def _check_stored_input(self):
        """The checks of assignment, run on the stored values (e.g. a hand-edited HDF5 file)."""
        for key, check in self._input_checks().items():
            if key in self.input:
                check(self.input[key])

    def _validate_input(self):
        self._check_stored_input()
        if not self.input.descriptors_jobs:
            raise ValueError(
                "descriptors_jobs is empty: call job.add_descriptors(descriptor_job) per 2Jmax"
            )
        for s in self.input.samplers:
            if s not in SWEEP_SAMPLERS:
                raise ValueError(f"sampler must be one of {SWEEP_SAMPLERS}, got {s!r}")
        grid = self.grid()
        self._group_weights()
        costs = self._level_costs()
        if costs:  # stored in their plain form (a CostModel object is not HDF5 data)
            self.input.level_costs = {lv: c.to_spec() for lv, c in costs.items()}
        self._truth()
        self._check_executor()
        if grid.stress_weight > 0:
            self._check_virial_rows(grid.stress_weight)

    def _check_virial_rows(self, stress_weight: float) -> None:
        """Refuse a stress fit on descriptors jobs whose blocks lack the six virial rows, with
        the way to add them."""
        without = []
        for t, job_id in sorted(self.input.descriptors_jobs.items(), key=lambda kv: int(kv[0])):
            job = self.project.load(int(job_id))
            if job is not None and not job.has_virial_rows:
                without.append(f"{job.job_name!r} (id {int(job_id)}, 2Jmax {int(t)})")
        if without:
            raise ValueError(
                f"stress_weight={stress_weight} fits stresses, which needs the six virial rows "
                f"in the descriptor blocks, but the descriptors job(s) {', '.join(without)} "
                "were computed without them (input.virial False). Add them with "
                "job.input.virial = True and job.resume() on each of these jobs (the blocks "
                "are computed again with the virial rows), or set stress_weight to 0"
            )

    def _check_executor(self):
        check_executor(self.executor)

    def validate_ready_to_run(self):
        self._validate_input()
        super().validate_ready_to_run()

    # -- run ----------------------------------------------------------------------------------
    @property
    def unit_folder(self) -> str:
        return os.path.join(self.working_directory, _UNIT_DIR)

    def run_static(self):
        self.status.running = True
        self._validate_input()
        grid = self.grid()
        truth = self._truth()
        levels_needed = list(dict.fromkeys([*grid.pool_levels, truth]))
        labels = {}
        for lv in levels_needed:
            labels[lv] = self._load_labels(lv)
        reference = self.reference_potential
        if reference is not None:  # fit what the reference potential leaves
            structures = self._structures_by_id(levels_needed)
            labels = {lv: reference.subtract(lab, structures) for lv, lab in labels.items()}
        sources, desc_ids, settings, content = {}, {}, {}, {}
        for t, job_id in self.input.descriptors_jobs.items():
            desc_job = self.project.load(int(job_id))
            store = desc_job.get_store()
            # only the job's own configurations, whatever else the store file may hold
            sources[int(t)] = JobBlocks(store, desc_job.configuration_ids)
            sources[int(t)].settings = desc_job.settings
            desc_ids[int(t)] = int(job_id)
            settings[str(int(t))] = desc_job.settings.to_json()
            content[int(t)] = store.content_digest()
        all_ids = sorted(set().union(*(set(s.ids) for s in sources.values())))
        given = self.input.get("test_ids")
        test_weights = None
        if given is not None:  # an explicit test set (e.g. a pilot's reference-level set)
            given = [str(i) for i in given]
            unknown = sorted(set(given) - set(all_ids))
            if unknown:
                raise ValueError(
                    f"test_ids names {len(unknown)} configuration(s) the descriptors jobs do not "
                    f"have, e.g. {unknown[:3]}; give ids of their configurations "
                    "(desc_job.configuration_ids)"
                )
            chosen = set(given)
            train_ids = [i for i in all_ids if i not in chosen]
            test_ids = [i for i in all_ids if i in chosen]
            weights = self.input.get("test_weights")
            if weights is not None:  # one per given id, in its order
                test_weights = weights_by_test_id(list(weights), given)
        elif self.input.get("test_weights") is not None:
            raise ValueError(
                "test_weights needs test_ids (the weights are one per given test id); set "
                "test_ids or leave test_weights None"
            )
        else:
            train_ids, test_ids = split_by_configuration(
                all_ids, float(self.input.test_fraction), int(self.input.split_seed)
            )
        if not test_ids:
            message = (
                f"{self.job_name}: test_fraction = 0, no configuration is held out: all "
                f"{len(train_ids)} configurations are training configurations. The table's "
                "test-error columns (*_test, *_test_truth) are NaN and n_test is 0; its *_train "
                "columns are errors on the training configurations"
            )
            self._logger.info(message)
            warnings.warn(message, UserWarning, stacklevel=2)
        aps = {int(k): float(v) for k, v in plain(self.input.atom_steps_per_second or {}).items()}
        if self.input.measure_evaluation_cost:
            from ..potential.evaluation_cost import measure_evaluation_cost

            for t in sources:
                if t not in aps:
                    aps[t] = float(measure_evaluation_cost(twojmax=t)["atom_steps_per_second"])
            self.input.atom_steps_per_second = {str(k): v for k, v in aps.items()}

        contexts = self._contexts(
            grid, truth, labels, desc_ids, settings, aps, train_ids, test_ids, content, test_weights
        )
        folder = self.unit_folder
        log = self._logger.info
        previous, report = _read_units(folder, contexts, log=log)
        # the given costs of the levels used (other levels' costs are checked, not used)
        level_costs = {lv: c for lv, c in self._level_costs().items() if lv in labels}
        join: dict = {}
        done = [row_key(r) for r in previous]
        new_rows = run_sweep(
            sources,
            labels,
            train_ids,
            test_ids,
            grid,
            truth,
            done=done,
            on_unit_done=lambda unit, rows: (
                _write_unit(folder, unit, rows, contexts[int(unit[0])]) if rows else None
            ),
            atom_steps_per_second=aps,
            ridge=float(self.input.ridge),
            progress=log,
            join_report=join,
            executor=self.executor,
            group_weights=self._group_weights(),
            level_costs=level_costs,
            test_weights=test_weights,
        )
        # the rows read back get the costs of the current labels and level_costs
        assign_dft_costs(previous, dft_costs(labels, train_ids, grid.pool_levels, level_costs))
        report["computed_rows"] = len(new_rows)
        log(
            f"sweep rows: {report['reused_rows']} reused from {report['reused_files']} unit "
            f"files, {len(new_rows)} computed; {report['other_context_files']} unit files of "
            f"other inputs ignored, {len(report['damaged_files'])} damaged set aside"
        )
        self._store_table(previous + new_rows, grid, desc_ids)
        self.output.resume_report = report
        self.output.join_report = {
            str(t): {k: ([str(x) for x in v] if isinstance(v, list) else v) for k, v in r.items()}
            for t, r in join.items()
        }
        self.output.train_ids = [str(i) for i in train_ids]
        self.output.test_ids = [str(i) for i in test_ids]
        self.output.has_test_set = bool(test_ids)
        if test_weights is not None:
            self.output.test_weights = [test_weights[str(i)] for i in test_ids]
        self.output.grid = grid.to_dict()
        self.output.descriptor_settings = settings
        self.output.ridge = float(self.input.ridge)
        self.output.reference_potential = self.input.get("reference_potential") or ""
        self.output.group_weights = {k: list(v) for k, v in self._group_weights().items()}
        self.output.provenance = {
            "descriptors_jobs": {str(k): v for k, v in desc_ids.items()},
            "labelling_jobs": {k: _job_list(v) for k, v in self.input.labelling_jobs.items()},
        }
        self._store_grade(labels, grid, desc_ids)
        save_then_set_status(self)

    def _store_grade(self, labels, grid, desc_ids) -> None:
        """Store what the models' extrapolation grades need (a sweep stores nothing: its
        ``get_model(row, grade=True)`` computes a grade when asked)."""

    @property
    def reference_potential(self):
        """The :class:`~pyiron_appmlip.potential.reference.ReferencePotential` subtracted from
        every label before the fits (None: none); the models carry it into their export."""
        text = self.input.get("reference_potential")
        if not text:
            return None
        from ..potential.reference import ReferencePotential

        return ReferencePotential.from_json(text)

    @reference_potential.setter
    def reference_potential(self, value):
        if value is None:
            self.input.reference_potential = None
            return
        from ..potential.reference import ReferencePotential

        if not isinstance(value, ReferencePotential):
            raise ValueError(
                "reference_potential must be a ReferencePotential (e.g. "
                f"ReferencePotential.zbl(('Be',))) or None, got {value!r}"
            )
        self.input.reference_potential = value.to_json()

    def _structures_by_id(self, levels) -> dict:
        out = {}
        for lv in levels:
            for job_id in _job_list(self.input.labelling_jobs[lv]):
                job = self.project.load(job_id)
                out.update(zip(job.configuration_ids, job.structures, strict=True))
        return out

    def _load_labels(self, level: str) -> Labels:
        """The labels of ``level``: one job's, or several jobs' merged by configuration id."""
        job_ids = _job_list(self.input.labelling_jobs[level])
        energies, forces, wall, source = {}, {}, {}, {}
        stresses, volumes, groups, kpoints = {}, {}, {}, {}
        for job_id in job_ids:
            job = self.project.load(job_id)
            _check_level_of(job, level, job_id)
            if _provides_levels(job):
                data = job.get_labels(only_finished=True, level=level)
            else:
                data = job.get_labels(only_finished=True)
            job_groups = data.get("groups")
            if job_groups is not None:  # "" is no group
                job_groups = [g if g else None for g in job_groups]
            stress = data.get("stresses", data.get("stress"))
            if stress is not None and not np.isfinite(np.asarray(stress, dtype=float)).any():
                stress = None
            lab = Labels.from_arrays(
                data["ids"],
                data["energies"],
                data["forces"],
                data["wall_times"],
                job_id=job_id,
                stresses=None if stress is None else list(np.asarray(stress, dtype=float)),
                volumes=None if stress is None else _volumes(job, data["ids"]),
                groups=job_groups,
                n_kpoints=data.get("n_kpoints"),
            )
            for cid, e in lab.energies.items():
                if cid in energies:
                    same = abs(energies[cid] - e) <= 1e-8 * max(1.0, abs(e)) and np.allclose(
                        forces[cid], lab.forces[cid], rtol=0, atol=1e-8
                    )
                    if not same:
                        raise ValueError(
                            f"level {level!r}: configuration {cid} is labelled differently by "
                            f"labelling jobs {source[cid]} and {job_id} "
                            f"({energies[cid]!r} vs {e!r} eV); remove one of them"
                        )
                    continue
                energies[cid], forces[cid] = e, lab.forces[cid]
                wall[cid], source[cid] = lab.wall_times.get(cid, np.nan), job_id
                if lab.stress(cid) is not None:
                    stresses[cid], volumes[cid] = lab.stress(cid), lab.volumes[cid]
                if lab.groups and cid in lab.groups:
                    groups[cid] = lab.groups[cid]
                if lab.n_kpoints and cid in lab.n_kpoints:
                    kpoints[cid] = lab.n_kpoints[cid]
        return Labels(
            energies,
            forces,
            wall,
            job_id=job_ids[0] if len(job_ids) == 1 else None,
            stresses=stresses or None,
            volumes=volumes or None,
            groups=groups or None,
            n_kpoints=kpoints or None,
        )

    def _contexts(
        self,
        grid,
        truth,
        labels,
        desc_ids,
        settings,
        aps,
        train_ids,
        test_ids,
        content=None,
        test_weights=None,
    ):
        """Per 2Jmax, the hash of everything a unit's rows depend on.

        A stored unit is reused only if its context is the current one: the descriptors job and
        its settings, the content of every label set used, the split, the training levels and
        truth level, the seed, the leverage weights, the ridge term and the MD throughput. The
        subset sizes, weights and repetitions are not part of it: each row is identified within
        the context by its key (:func:`~pyiron_appmlip.training.table.row_key`).
        """
        common = {
            "format": 2,
            "train_levels": list(grid.train_levels),
            "truth_level": truth,
            "labels": {lv: _labels_digest(lab) for lv, lab in sorted(labels.items())},
            "labelling_jobs": {
                lv: _job_list(self.input.labelling_jobs[lv]) for lv in sorted(labels)
            },
            "split": _digest([list(train_ids), list(test_ids)]),
            "seed": int(grid.seed),
            "leverage_weights": [float(w) for w in grid.leverage_weights],
            "ridge": float(self.input.ridge),
            "reference_potential": self.input.get("reference_potential") or None,
        }
        # only when not the default, so that earlier runs' contexts stay valid
        if grid.stress_weight:
            common["stress_weight"] = float(grid.stress_weight)
        if test_weights is not None:
            common["test_weights"] = [test_weights[str(i)] for i in test_ids]
        if grid.pool_levels != grid.train_levels:  # the pool needs labels at more levels
            common["pool_levels"] = list(grid.pool_levels)
        group_weights = self._group_weights()
        if group_weights:
            common["group_weights"] = {k: list(v) for k, v in sorted(group_weights.items())}
        return {
            int(t): _digest(
                {
                    **common,
                    "twojmax": int(t),
                    "descriptors_job": int(desc_ids[t]),
                    "settings": settings[str(int(t))],
                    "descriptors_content": (content or {}).get(int(t)),
                    "atom_steps_per_second": aps.get(int(t)),
                }
            )
            for t in desc_ids
        }

    def _store_table(self, rows, grid, desc_ids):
        # keep the rows of the current grid only (an earlier, larger grid's rows stay on disk)
        wanted = {(t, s, r) for t, s, r in grid.units(desc_ids)}
        rows = [
            r
            for r in rows
            if (int(r["twojmax"]), str(r["sampler"]), int(r["repetition"])) in wanted
            and (str(r["train_level"]), int(r.get("n_energy", r["subset_size"])))
            in grid.row_specs(int(r["subset_size"]))
            and (r["sampler"] == "all" or int(r["subset_size"]) in grid.subset_sizes)
            and any(
                abs(float(r["energy_weight"]) - w[0]) < 1e-12
                and abs(float(r["force_weight"]) - w[1]) < 1e-12
                for w in grid.weights
            )
        ]
        rows.sort(key=row_key)
        for r in rows:
            r["descriptors_job"] = desc_ids[int(r["twojmax"])]
        table = pd.DataFrame([{c: r[c] for c in COLUMN_NAMES} for r in rows], columns=COLUMN_NAMES)
        self.output.table = table_to_hdf_dict(table)
        # coefficients differ in length between 2Jmax values: one array per 2Jmax
        self.output.coefficients = {
            str(t): np.array([r["coefficients"] for r in rows if int(r["twojmax"]) == t])
            for t in sorted({int(r["twojmax"]) for r in rows})
        }
        # the training subsets: per unit its longest sampling-order prefix (subsets are prefixes)
        orders = {}
        for r in rows:
            key = _unit_key(r)
            if len(r["training_ids"]) > len(orders.get(key, ())):
                orders[key] = r["training_ids"]
        self.output.training_orders = {k: [str(i) for i in v] for k, v in orders.items()}

    def resume(self, run_mode: str | None = None):
        """Continue an interrupted sweep, or compute the cells added to the grid since the last
        run (change ``job.input`` first). Finished units are read back, never recomputed."""
        rerun_in_place(self, run_mode)

    # -- output -------------------------------------------------------------------------------
    def get_table(self) -> pd.DataFrame:
        """The sweep table (one row per fit) as a DataFrame, columns in the order of
        :data:`~pyiron_appmlip.training.table.COLUMNS` (also for jobs loaded from a file
        written before the column order was recorded).

        Errors in meV/atom (energy), meV/Angstrom (forces) and GPa (stress). Without a test set
        (``test_fraction = 0``) the test-error columns (``*_test``, ``*_test_truth``) are NaN
        and ``n_test`` is 0: only the ``*_train`` columns hold errors, on the training
        configurations.
        """
        table = table_from_hdf_dict(self.output.table, columns=COLUMN_NAMES)
        added = {**_STRESS_COLUMNS, **_COST_SOURCE_COLUMNS}
        missing = [c for c in COLUMN_NAMES if c not in table.columns]
        if missing and len(table.columns):  # a table stored before these columns existed
            for c in missing:
                if c in added:
                    table[c] = added[c]
            filled = complete_older_columns({c: table[c] for c in table.columns}, len(table))
            for c in missing:
                if c in filled:
                    table[c] = filled[c]
            table = table[[c for c in COLUMN_NAMES if c in table.columns]]
        return table

    def get_group_errors(self, row=0, test_level=None) -> pd.DataFrame:
        """FitSNAP's error table of one fitted model: errors per configuration group.

        The model's predictions are rebuilt from the blocks of its descriptors job (read one
        configuration at a time) and the labels of this job's labelling jobs (minus the
        reference potential, as in the fit). See
        :func:`~pyiron_appmlip.training.group_errors.group_error_table` for the columns and
        what "weighted" means: the weights are the row's ``energy_weight``, ``force_weight``
        and ``stress_weight`` times the group factors of ``job.input.group_weights``.

        Args:
            row: a row index of :meth:`get_table`, or a row itself (as for :meth:`get_model`).
            test_level: the labels the test configurations are compared with: None (default)
                the row's training level (the table's ``*_test`` columns), or any level with a
                labelling job here, e.g. the row's ``truth_level`` (the ``*_test_truth``
                columns). The training configurations are always compared with the training
                level.

        Returns:
            A DataFrame with the columns ``partition``, ``level`` (the level of the labels the
            rows compare with), then ``group``, ``quantity``, ``unit``, ``n_config``,
            ``n_rows``, ``mae``, ``rmse``, ``n_weighted_rows``, ``weighted_mae``,
            ``weighted_rmse``, ``weighted_unit``. Energies in meV/atom, forces in
            meV/Angstrom, stresses in GPa; configurations without a group form the group
            ``"(no group)"`` and ``"*ALL"`` rows cover every group. The training rows cover
            the model's training subset, the test rows the test configurations with labels at
            ``test_level`` and the truth level (none if the test partition is empty).
            ``table.attrs`` holds the row index, 2Jmax, the levels and the weights.
        """
        table = self.get_table()
        index = self._row_index(table, row)
        r = table.iloc[index]
        model = self.get_model(index)
        train_level, truth = str(r["train_level"]), str(r["truth_level"])
        kind = str(r.get("model_kind", "single"))
        # a level pair compares energies with its energy level and forces with its force
        # level; a Delta model compares both with its high level (the level it models)
        own = {
            "single": (train_level, train_level),
            "level_pair": (str(r.get("energy_level")), str(r.get("force_level"))),
            "delta": (str(r.get("energy_level")), str(r.get("energy_level"))),
        }[kind]
        test = train_level if test_level is None else level_label(test_level)
        if test != train_level and test not in self.input.labelling_jobs:
            raise ValueError(
                f"test_level {test_level!r} (label {test!r}) has no labelling job in this job; "
                f"levels: {self._levels()}"
            )
        levels = list(dict.fromkeys([*own, truth] + ([test] if test != train_level else [])))
        labels = {lv: self._load_labels(lv) for lv in levels}
        reference = self._fitted_reference()
        if reference is not None:
            structures = self._structures_by_id(levels)
            labels = {lv: reference.subtract(lab, structures) for lv, lab in labels.items()}
        if kind != "single" or train_level not in labels:
            labels[train_level] = _mixed_labels(labels[own[0]], labels[own[1]])
            levels.append(train_level)
        groups: dict = {}
        for lv in levels:
            for cid, name in (labels[lv].groups or {}).items():
                groups.setdefault(cid, name)
        desc_job = self.project.load(int(r["descriptors_job"]))
        source = JobBlocks(desc_job.get_store(), desc_job.configuration_ids)
        known = set(source.ids) & labels[truth].ids & labels[test].ids
        test_ids = [
            i for i in as_strings(np.asarray(self.output.get("test_ids", []))) if i in known
        ]
        stored = self.output.get("group_weights")
        options = {
            "energy_weight": float(r["energy_weight"]),
            "force_weight": float(r["force_weight"]),
            "stress_weight": float(r["stress_weight"]),
            "group_weights": plain(stored) if stored is not None else self._group_weights(),
            "groups": groups,
        }
        frames = []
        for partition, ids, level in (
            ("train", list(model.training_ids), train_level),
            ("test", test_ids, test),
        ):
            pairs = zip(ids, source.iter_blocks(ids), strict=True)
            frame = prediction_frame(model.coefficients, pairs, labels[level], partition, **options)
            frames.append(frame)
        out = group_error_table(pd.concat(frames, ignore_index=True))
        out.insert(1, "level", [train_level if p == "train" else test for p in out["partition"]])
        out.attrs = {
            "row": index,
            "twojmax": int(r["twojmax"]),
            "train_level": train_level,
            "test_level": test,
            "truth_level": truth,
            "energy_weight": options["energy_weight"],
            "force_weight": options["force_weight"],
            "stress_weight": options["stress_weight"],
        }
        return out

    def get_coefficients(self, index=0) -> np.ndarray:
        """Coefficients (constant first) of row ``index`` of :meth:`get_table` (or of a row)."""
        table = self.get_table()
        return self._coefficients(table, self._row_index(table, index))

    def _coefficients(self, table: pd.DataFrame, index: int) -> np.ndarray:
        t = int(table["twojmax"].iloc[index])
        same = np.flatnonzero(table["twojmax"].to_numpy() == t)
        return np.asarray(self.output.coefficients[str(t)])[int(np.searchsorted(same, index))]

    def get_model(self, row=0, grade: bool | None = None) -> SnapModel:
        """The fitted model of one table row, with the descriptor settings it was fitted on.

        Args:
            row: a row index of :meth:`get_table`, or a row itself (a pandas Series or a dict
                with the key columns, e.g. ``table.loc[i]`` or a row of ``recommend``'s output).
            grade: attach the leverage extrapolation grade of the row's fit
                (:attr:`SnapModel.grade <pyiron_appmlip.potential.model.SnapModel.grade>`).
                None (default): where the job stored what it needs (an
                :class:`~pyiron_appmlip.jobs.fit.AppmlipFit` does); True: also compute it
                otherwise, from the descriptor blocks of the row's training configurations and
                their per-atom rows (a LAMMPS run over the training structures); False: never.

        Returns:
            A :class:`~pyiron_appmlip.potential.model.SnapModel`; ``model.write_lammps(folder)``
            and ``model.potential_dataframe(folder)`` export it for LAMMPS and pyiron.

        Raises:
            ValueError: naming ``row`` or ``grade`` for values they do not allow.
        """
        if not (grade is None or isinstance(grade, bool | np.bool_)):
            raise ValueError(f"grade must be None, True or False, got {grade!r}")
        table = self.get_table()
        index = self._row_index(table, row)
        r = table.iloc[index]
        t = str(int(r["twojmax"]))
        stored = self.output.get("descriptor_settings")
        if stored is not None and t in stored:
            settings = QSnapSettings.from_json(_text(stored[t]))
        else:  # a job written before the settings were stored: ask its descriptors job
            settings = self.project.load(int(r["descriptors_job"])).settings
        orders = self.output.get("training_orders") or {}
        order = orders.get(_unit_key(r))
        ids = [] if order is None else as_strings(np.asarray(order))
        model = SnapModel(
            coefficients=self._coefficients(table, index),
            settings=settings,
            energy_weight=float(r["energy_weight"]),
            force_weight=float(r["force_weight"]),
            train_level=str(r["train_level"]),
            training_ids=tuple(ids[: int(r["subset_size"])]),
            ridge=float(self.output.get("ridge", self.input.ridge)),
            rank=int(r["rank"]),
            sampler=str(r["sampler"]),
            job_id=self.job_id,
            reference=self._fitted_reference(),
        )
        if grade is False:
            return model
        stored = self.output.get("grade")
        if stored is not None:
            from ._grade import grade_from_output

            found = grade_from_output(
                stored, model.energy_weight, model.force_weight, model.ridge, model.training_ids
            )
            if found is not None:
                return model.with_grade(found)
        if grade:
            return self._computed_grade(model, r)
        return model

    def _computed_grade(self, model: SnapModel, r) -> SnapModel:
        """``model`` with the leverage grade of its fit, from its training configurations."""
        from ..training.sweep import _group_factors

        ids = list(model.training_ids)
        if not ids:
            raise ValueError(
                "grade: the row's training configurations are not recorded in this job; "
                "attach a grade with model.with_leverage_grade(training_structures)"
            )
        desc_job = self.project.load(int(r["descriptors_job"]))
        by_id = dict(zip(desc_job.configuration_ids, desc_job.structures, strict=True))
        structures = [by_id[i] for i in ids]
        group_weights = self._group_weights()
        factors = None
        if group_weights:
            level = str(r["train_level"])
            labels = {level: self._load_labels(level)}
            factors_of = _group_factors(labels, [level], group_weights)
            factors = [tuple(factors_of.get(i, (1.0, 1.0, 1.0))) for i in ids]
        blocks = desc_job.get_store().iter_blocks(ids)
        return model.with_leverage_grade(structures, blocks=blocks, factors=factors)

    def _fitted_reference(self):
        """The reference potential the stored fits were made on top of (None if none)."""
        from ..potential.reference import ReferencePotential

        text = self.output.get("reference_potential", self.input.get("reference_potential"))
        return ReferencePotential.from_json(text) if text else None

    @staticmethod
    def _row_index(table: pd.DataFrame, row) -> int:
        if isinstance(row, int | np.integer) and not isinstance(row, bool):
            if not -len(table) <= int(row) < len(table):
                raise ValueError(f"row must be an index in [0, {len(table)}), got {row!r}")
            return int(row) % len(table)
        if hasattr(row, "to_dict"):
            row = row.to_dict()
        if not isinstance(row, dict):
            raise ValueError(f"row must be a row index or a table row, got {type(row).__name__}")
        missing = [c for c in KEY_COLUMNS if c not in row and c != "n_energy"]
        if missing:
            raise ValueError(f"row lacks the key columns {missing} (needed: {list(KEY_COLUMNS)})")
        keys = [row_key(r) for r in table[list(KEY_COLUMNS)].to_dict("records")]
        try:
            return keys.index(row_key(row))
        except ValueError:
            raise ValueError(f"no row of this job has the key {row_key(row)}") from None


def _mixed_labels(energy: Labels, force: Labels) -> Labels:
    """Labels with the energies of ``energy`` and the forces and stresses of ``force`` (the
    labels a multi-fidelity fit is compared with)."""
    import dataclasses

    ids = set(energy.energies) & set(force.forces)
    return dataclasses.replace(
        force,
        energies={i: e for i, e in energy.energies.items() if i in ids},
        forces={i: f for i, f in force.forces.items() if i in ids},
    )


class JobBlocks(BlockSource):
    """The blocks of a descriptors job's own configurations in its store (picklable)."""

    def __init__(self, store, configuration_ids):
        allowed = set(configuration_ids)
        self.store = store
        self.ids = [i for i in store.ids if i in allowed]

    def iter_blocks(self, ids):
        return self.store.iter_blocks(ids)


def _volumes(labelling_job, ids) -> list[float]:
    """Cell volumes (Angstrom^3) of the labelling job's structures with ``ids``."""
    by_id = {
        cid: abs(float(np.linalg.det(np.asarray(atoms.get_cell(), dtype=float))))
        for cid, atoms in zip(
            labelling_job.configuration_ids, labelling_job.structures, strict=True
        )
    }
    return [by_id.get(cid, np.nan) for cid in ids]


def _check_level_of(job, level: str, job_id: int) -> None:
    """Raise a ValueError unless label source ``job`` provides ``level`` (its own level, or one
    of a dataset job's levels): ``labelling_jobs`` edited by hand may name a job of another
    level, whose labels would be reported under the wrong level."""
    if job is None:
        raise ValueError(f"labelling_jobs[{level!r}] = {job_id}: no job with that id exists")
    provided = _provided_levels(job)
    if level not in provided:
        which = f"level {provided[0]!r}" if len(provided) == 1 else f"the levels {provided}"
        raise ValueError(
            f"labelling_jobs[{level!r}] = {job_id}: job {job.job_name!r} provides {which}, not "
            f"level {level!r}; its labels would be reported as level {level!r}. Name each level's "
            "job with job.add_labels(labelling_job) (or labelling_jobs[<its level>] = <its id>)"
        )


def _provided_levels(job) -> list[str]:
    """The level labels a label source job provides: a dataset job's ``level_names``, a
    labelling job's own level."""
    if _provides_levels(job):
        return [level_label(name) for name in job.level_names]
    return [level_label(job.level_name)]


def _provides_levels(job) -> bool:
    """Whether a label source job provides several levels (its ``get_labels`` takes
    ``level=``, as :class:`~pyiron_appmlip.jobs.dataset.AppmlipDataset`'s does)."""
    return "level" in inspect.signature(job.get_labels).parameters


def _job_list(value) -> list[int]:
    """A level's labelling job id(s) as a list (one id, or several merged ones)."""
    if value is None:
        return []
    value = plain(value)
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


def _unit_key(row) -> str:
    return f"2j{int(row['twojmax'])}_{row['sampler']}_r{int(row['repetition'])}"


def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.item() if value.shape == () else value
    return value.decode() if isinstance(value, bytes) else str(value)
