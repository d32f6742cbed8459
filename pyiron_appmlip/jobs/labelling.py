"""pyiron jobs that label structures with DFT energies, forces and stresses at a convergence level.

``AppmlipSinglePoint``
    One structure, one level, one engine. Runs :func:`pyiron_appmlip.dft.engines.run_gpaw` (or a
    pyiron ``Vasp`` job through :func:`pyiron_appmlip.dft.engines.vasp.run_vasp`) and stores the
    :class:`~pyiron_appmlip.dft.engines.base.SinglePointResult` in ``job.output``. A failed calculation
    (SCF not converged, engine crash) ends with job status ``aborted`` - visible in
    ``pr.job_table()`` - and ``job.output.status == "failed"``, ``job.output.error`` the reason.

``AppmlipLabelling``
    A set of structures at one level. ``run_static`` creates one ``AppmlipSinglePoint`` child per
    structure in ``job.child_project`` (the sub-project ``<name>_hdf5``; child names
    ``sp_<configuration id>``; ``master_id`` = this job), hands the calculations to an executor
    (``job.input.executor``: by default a local process pool with one worker per core; any spec
    of :mod:`pyiron_appmlip.executors`, e.g. executorlib's SLURM executors), stores each result in
    its child as it completes (only the master writes the database) and collects per
    configuration id: energy, forces, stress, wall time, status, error and child job id. The job ends ``finished`` if every configuration is labelled and
    ``not_converged`` if the run completed but some calculations failed (they are recorded, with
    their reason, and excluded from :meth:`AppmlipLabelling.get_labels`).

Example::

    from pyiron_appmlip import Project
    pr = Project("be_labels")
    job = pr.create.job.AppmlipLabelling("level_2")
    job.structures = structures          # ASE or pyiron structures
    job.level = 2                        # paper level 1..6, a ConvergenceLevel or a dict
    job.engine = "gpaw"                  # or "vasp"
    job.input.engine_options = {"maxiter": 200}
    job.run()
    labels = job.get_labels()            # ids, energies, forces, n_atoms, stress, wall_times
    job.rerun_failed()                   # retries only failed or missing calculations

Resuming and retrying
    A child that finished is never recomputed: it is reused as long as its level and engine match
    the master's. :meth:`AppmlipLabelling.rerun_failed` runs the master again (any status:
    ``not_converged``, ``aborted``, or ``running`` left by a killed process) and recomputes only the
    children that failed, never ran, or were interrupted. Per-configuration engine options (e.g.
    more SCF iterations for one difficult structure) go into ``job.input.engine_options_by_id``
    ``{configuration id: {option: value}}`` before calling it. ``delete_existing_job=True``
    removes the master *and* its children (a fresh start).

Consistency of stored results
    A child's output is written to its HDF5 file before its status becomes ``finished`` in the
    database, and only children whose database status is ``finished`` are reused. A process killed
    while writing leaves a child that is not ``finished``, and it is recomputed. The same holds
    for the master: ``finished``/``not_converged`` are set after its output is complete.

Processes that were killed
    pyiron writes a new job's HDF5 file before the job gets its database entry; ``kill -9`` in
    between leaves a file (truncated, or flagged "already open for write") that h5py refuses to
    open again. Saving a child or a master removes such a file first when no database entry owns
    it, and a child whose database entry has no readable file is removed with its files; both
    are named in a :class:`~pyiron_appmlip.jobs._leftovers.LeftoverWarning`, and the child is
    computed again. A master whose database entry exists but whose own file is damaged cannot be
    loaded by pyiron and is not repaired.

    While a job runs, its process holds the run lock ``appmlip_run.lock`` in the job's working
    directory (process id, host, start time; see :mod:`pyiron_appmlip.jobs._run_lock` for the
    rule). ``job.run()`` on a job with status ``running`` whose lock no live process holds sets
    the status to ``aborted`` and raises a ``RuntimeError`` saying the process is gone and how to
    continue (``job.rerun_failed()`` for a labelling job, ``job.run(delete_existing_job=True)``
    for a single point).

Running a job twice at once
    ``rerun_failed()`` takes the run lock before it changes anything and holds it through a modal
    run (a background or queue run takes it over in ``run_static``). A second
    ``rerun_failed()`` of the same job while a live process holds the lock, from any process,
    raises :class:`~pyiron_appmlip.jobs._run_lock.JobRunningError` naming that process, instead of
    computing the same calculations again. A lock left by a process that is gone is taken over,
    with a warning.

Running on a cluster (queue)
    The master is submitted like any pyiron job (``job.server.queue``, ``job.server.cores``,
    ``job.server.run_time``, then ``job.run()``); its children then run modal inside the
    master's queue job (one allocation for the whole set). The documentation's page "Clusters
    and executors" (``docs/clusters.md``) shows a pysqa ``queue.yaml`` and its submission
    template, and where GPAW and VASP children run inside the allocation.
"""

from __future__ import annotations

import contextlib
import io
import os

import numpy as np
from pyiron_base import PythonTemplateJob

from ..dft.engines import ENGINES, check_engine, check_engine_options
from ..dft.engines.base import SinglePointResult, failed_result, format_exception
from ..dft.engines.gpaw import check_setups, run_gpaw
from ..dft.levels import ConvergenceLevel, get_level, level_label
from ..executors import check_executor, describe_executor, run_tasks
from ..structures.checks import (
    DEFAULT_MIN_DISTANCE,
    check_min_distance,
    check_structures,
    checked_structure_arrays,
)
from ..structures.conversion import (
    as_strings,
    structures_from_arrays,
    structures_to_arrays,
    to_ase,
)
from ._common import (
    RUN_LOCK_NAME,
    JobRunningError,
    LeftoverSafeSave,
    PlainOutput,
    process_gone_message,
    remove_job_files,
    rerun_in_place,
    run_lock,
    run_lock_holder,
    save_new_job,
    save_then_set_status,
)
from ._execution import ExecutorMixin

__all__ = [
    "AppmlipSinglePoint",
    "AppmlipLabelling",
    "compare_levels",
    "CHILD_PREFIX",
    "JobRunningError",
    "RUN_LOCK_NAME",
    "check_structure",
]

#: Child job names are ``CHILD_PREFIX + configuration id``.
CHILD_PREFIX = "sp_"
_GPAW_LOG = "gpaw.txt"


def _progress_bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, desc=desc, unit="calc")


def _level_to_input(level):
    """Validate ``level`` and return what is stored in ``job.input.level`` (int or dict)."""
    resolved = get_level(level)  # raises a ValueError naming `level` for unknown levels
    if isinstance(level, int | np.integer) and not isinstance(level, bool):
        return int(level)
    return resolved.to_dict()


def _builtin(container):
    """Plain Python objects (dicts, lists, arrays) from a pyiron DataContainer or a dict."""
    return container.to_builtin() if hasattr(container, "to_builtin") else container


def _engine_options(options) -> dict:
    if options is None:
        return {}
    options = _builtin(options)
    if not isinstance(options, dict):
        raise ValueError(
            f"engine_options must be a dict of engine keyword arguments, got {options!r}"
        )
    return options


def check_structure(atoms, min_distance=DEFAULT_MIN_DISTANCE, label: str = "structure") -> None:
    """Refuse a structure the DFT engines cannot label meaningfully.

    The checks, before any calculation runs:

    - periodic in all directions: GPAW's plane-wave mode and VASP treat every cell as periodic
      (GPAW with ``pbc=False`` computes the periodic system and only drops the stress), so a slab
      or a cluster must be given as a periodic cell with vacuum;
    - a cell of non-zero volume (three independent cell vectors);
    - no two atoms, periodic images included, closer than ``min_distance`` (Angstrom): the
      package's rule for every set of structures (:func:`pyiron_appmlip.structures.checks.
      check_structures`, default :data:`~pyiron_appmlip.structures.checks.DEFAULT_MIN_DISTANCE`).
      Overlapping atoms give energies of tens of eV that would pass as labels.

    Args:
        atoms: ASE structure.
        min_distance: smallest allowed interatomic distance, a positive number of Angstrom;
            None switches the distance check off (as for the descriptors job).
        label: how the structure is named in error messages.

    Raises:
        ValueError: naming ``label`` and the problem.
    """
    threshold = check_min_distance(min_distance)
    pbc = [bool(p) for p in atoms.get_pbc()]
    if not all(pbc):
        raise ValueError(
            f"{label} is not periodic in all directions (pbc={pbc}): the plane-wave engines "
            f"(GPAW PW mode, VASP) compute every cell as periodic; give slabs and clusters as "
            f"periodic cells with vacuum (pbc=True)"
        )
    cell = np.asarray(atoms.get_cell(), dtype=float)
    volume = abs(float(np.linalg.det(cell)))
    if volume < 1e-10 * max(float(np.abs(cell).max()), 1.0) ** 3:
        raise ValueError(
            f"{label}: cell has zero volume ({volume:.3g} Angstrom^3, cell {cell.tolist()}); "
            f"the engines need three linearly independent cell vectors"
        )
    if threshold is not None and len(atoms) > 0:
        check_structures(
            [atoms],
            threshold,
            ids=["-"],
            names=[label],
            hint="job.input.min_distance = None switches the check off",
        )


class _LevelAndEngine:
    """``level`` and ``engine`` of a DFT job's input, validated when set."""

    @property
    def level(self) -> ConvergenceLevel:
        return get_level(_builtin(self.input.level))

    @level.setter
    def level(self, level):
        self.input.level = _level_to_input(level)

    @property
    def engine(self) -> str:
        return self.input.engine

    @engine.setter
    def engine(self, engine):
        self.input.engine = check_engine(engine)


#: Seconds ``run_static`` waits for the run lock (the hand-off from a caller that submitted the
#: job to a background process).
_LOCK_WAIT = 30.0


class _RunGuards(PlainOutput, LeftoverSafeSave):
    """Saving over files of killed processes, and ``run`` of a job whose process is gone."""

    def _how_to_continue(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _run_if_running(self):
        """``run`` of a job with status ``running``: refuse clearly if its process is gone."""
        if run_lock_holder(self) is None:
            self.status.aborted = True
            self.project_hdf5["status"] = self.status.string
            raise RuntimeError(process_gone_message(self, self._how_to_continue()))
        super()._run_if_running()


class AppmlipSinglePoint(_RunGuards, _LevelAndEngine, PythonTemplateJob):
    """One DFT single point of one structure at one convergence level.

    Input: ``structure`` (set with ``job.structure = atoms``; stored as arrays), ``level`` (int
    1..6 or a ConvergenceLevel dict), ``engine`` ("gpaw" | "vasp"), ``engine_options`` (dict:
    ``maxiter`` and further ``gpaw.calculator.GPAW`` keywords, or for VASP ``maxiter``, ``ediff``,
    ``cores``, ``executable_version``), ``min_distance`` (Angstrom, default 0.5, None: no
    check; see :func:`check_structure`, which is applied before the calculation).

    Output: the fields of :class:`~pyiron_appmlip.dft.engines.base.SinglePointResult` (``status``,
    ``energy``, ``energy_zero``, ``forces``, ``stress``, ``wall_time``, ``n_kpoints``, ``kmesh``,
    ``n_scf_iterations``, ``converged``, ``engine``, ``engine_version``, ``pseudopotentials``,
    ``level``, ``error``); missing values of a failed calculation are NaN. ``job.result`` returns
    the record. A failed calculation ends with job status ``aborted``.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.structure = None
        self.input.level = 1
        self.input.engine = "gpaw"
        self.input.engine_options = {}
        self.input.min_distance = DEFAULT_MIN_DISTANCE

    # -- input ---------------------------------------------------------------------------------
    @property
    def structure(self):
        """The structure as ASE Atoms (None if not set)."""
        if self.input.structure is None:
            return None
        return structures_from_arrays(_builtin(self.input.structure))[0]

    @structure.setter
    def structure(self, structure):
        self.input.structure = structures_to_arrays([to_ase(structure)])

    @property
    def configuration_id(self) -> str | None:
        if self.input.structure is None:
            return None
        return as_strings(_builtin(self.input.structure)["ids"])[0]

    def validate_ready_to_run(self):
        if self.input.structure is None:
            raise ValueError("structure is not set: job.structure = atoms")
        check_structure(
            self.structure,
            self.input.get("min_distance", DEFAULT_MIN_DISTANCE),
            f"structure (id {self.configuration_id})",
        )
        engine = check_engine(self.input.engine)
        level = get_level(_builtin(self.input.level))
        check_engine_options(engine, self.input.engine_options, "engine_options")
        if engine == "gpaw":
            check_setups(self.structure.get_chemical_symbols(), level.xc)
        super().validate_ready_to_run()

    # -- run -----------------------------------------------------------------------------------
    def _calculate(self) -> SinglePointResult:
        atoms = self.structure
        level = get_level(_builtin(self.input.level))
        engine = check_engine(self.input.engine)
        options = _engine_options(self.input.engine_options)
        if engine == "gpaw":
            os.makedirs(self.working_directory, exist_ok=True)
            return run_gpaw(
                atoms, level, txt=os.path.join(self.working_directory, _GPAW_LOG), **options
            )
        from ..dft.engines.vasp import run_vasp

        return run_vasp(
            atoms,
            level,
            project=self.project.open(self.job_name + "_hdf5"),
            job_name="vasp",
            master_id=self.job_id,
            **options,
        )

    def _how_to_continue(self) -> str:
        again = "job.run(delete_existing_job=True) runs it again"
        if self.master_id is None:
            return again[0].upper() + again[1:] + "."
        return (
            f"Its labelling job (id {self.master_id}) continues it: "
            f"pr.load({self.master_id}).rerun_failed(); or {again} alone."
        )

    def run_static(self):
        with run_lock(self, wait=_LOCK_WAIT):
            self._run_locked()

    def _run_locked(self):
        self.status.running = True
        try:
            result = self._calculate()
        except Exception as exc:
            # set-up errors (unknown engine, missing setups, ...) are stored and raised
            self.output.update(
                failed_result(str(self.input.engine), format_exception(exc)).to_dict()
            )
            save_then_set_status(self, "aborted")
            raise
        self.output.update(result.to_dict())
        save_then_set_status(self, "finished" if result.ok else "aborted")

    # -- output --------------------------------------------------------------------------------
    @property
    def result(self) -> SinglePointResult | None:
        """The stored :class:`SinglePointResult` (None before the job ran)."""
        data = _builtin(self.output)
        if "status" not in data:
            return None
        return SinglePointResult.from_dict(data)


def _estimated_cost(atoms, level) -> float:
    """A relative cost of a single point (k-points x atoms^2), to order the calculations."""
    from ..dft.levels import kmesh

    return float(np.prod(kmesh(atoms.get_cell(), level.kspacing))) * len(atoms) ** 2


#: Engine options that do not change a converged result (a finished calculation is reused when
#: only these differ): SCF iteration limit, threads, cores, executable version.
RESULT_NEUTRAL_OPTIONS = ("maxiter", "blas_threads", "cores", "executable_version")


def _result_options(options: dict) -> dict:
    return {k: v for k, v in options.items() if k not in RESULT_NEUTRAL_OPTIONS}


def single_point_task(engine, arrays, level, options, txt) -> dict:
    """One DFT single point as a plain function: the task a labelling job's executor runs.

    Args:
        engine: ``"gpaw"``.
        arrays: one structure as :func:`~pyiron_appmlip.structures.conversion.structures_to_arrays`.
        level: the level as a dict (:meth:`ConvergenceLevel.to_dict`).
        options: engine options (checked by the job before submission).
        txt: path of the engine's log file.

    Returns:
        :meth:`SinglePointResult.to_dict` of the result; a calculation that raises gives a
        failed record with the reason, never an exception.
    """
    atoms = structures_from_arrays(arrays)[0]
    try:
        if engine != "gpaw":
            raise ValueError(f"single_point_task runs the gpaw engine only, got {engine!r}")
        result = run_gpaw(atoms, level, txt=txt, **options)
    except Exception as exc:  # a record of the failure, like a failed SCF
        result = failed_result(engine, format_exception(exc), n_atoms=len(atoms), level=level)
    return result.to_dict()


class AppmlipLabelling(ExecutorMixin, _RunGuards, _LevelAndEngine, PythonTemplateJob):
    """DFT labels (energy, forces, stress) of a set of structures at one convergence level.

    Input (``job.input``):
        structures: set with ``job.structures = [...]`` (a list of ASE or pyiron structures,
            or one structure; stored as arrays with configuration ids). A configuration given
            twice is kept once, with a warning naming it
            (:func:`pyiron_appmlip.structures.checks.check_structures`).
        level: paper level 1..6 (stored as int) or a ConvergenceLevel (stored as dict);
            ``job.level = ...`` validates.
        engine: ``"gpaw"`` (default) or ``"vasp"``; ``job.engine = ...`` validates.
        engine_options: dict passed to every calculation (e.g. ``{"maxiter": 100}``); its keys
            are checked against the engine before anything runs
            (:func:`pyiron_appmlip.dft.engines.allowed_engine_options`: the keywords of
            ``gpaw.calculator.GPAW`` but ``txt``, plus ``blas_threads``; for VASP ``maxiter``,
            ``ediff``, ``cores``, ``executable_version``).
        engine_options_by_id: ``{configuration id: dict}`` updating ``engine_options`` for single
            configurations (e.g. to retry a hard case with more iterations); checked likewise.
        min_distance: structures with two atoms (periodic images included) closer than this
            (Angstrom) are refused before anything runs; default
            :data:`~pyiron_appmlip.descriptors.lammps_snap.DEFAULT_MIN_DISTANCE` (0.5), the rule
            of the descriptors job; None switches the check off. Cells that are not periodic in
            all directions or have zero volume are refused as well (see :func:`check_structure`).

    Output (``job.output``), one entry per configuration in input order: ``ids``, ``status``
    ("finished" | "failed" | "missing"), ``error``, ``energy``, ``energy_zero`` (eV; NaN if
    failed), ``n_atoms``, ``forces`` (all configurations' (N, 3) stacked: shape (sum N, 3),
    eV/Angstrom), ``stress`` (M, 6) eV/Angstrom^3 ASE sign, ``wall_time`` (s), ``n_kpoints``,
    ``kmesh`` (M, 3), ``n_scf_iterations``, ``child_id``, ``engine_version``; plus ``engine``,
    ``level`` (dict), ``n_finished``, ``n_failed``, ``dft_seconds`` (sum of wall times).

    See the module docstring for resuming, retrying and running on a queue.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.structures = None
        self.input.level = 1
        self.input.engine = "gpaw"
        self.input.engine_options = {}
        self.input.engine_options_by_id = {}
        self.input.min_distance = DEFAULT_MIN_DISTANCE
        self.input.progress = True
        self.input.executor = None

    # -- input ---------------------------------------------------------------------------------
    @property
    def structures(self) -> list:
        """The structures as a list of ASE Atoms (empty if not set)."""
        if self.input.structures is None:
            return []
        return structures_from_arrays(_builtin(self.input.structures))

    @structures.setter
    def structures(self, structures):
        self.input.structures = checked_structure_arrays(structures, "job.structures")

    @property
    def configuration_ids(self) -> list[str]:
        """Configuration ids of the input structures, in order."""
        if self.input.structures is None:
            return []
        return as_strings(_builtin(self.input.structures)["ids"])

    @property
    def level_name(self) -> str:
        """ "3" for paper level 3, else the level's name or its parameters."""
        return level_label(_builtin(self.input.level))

    @property
    def child_project(self):
        """The sub-project holding the child single-point jobs (``<job name>_hdf5``)."""
        return self.project.open(self.job_name + "_hdf5")

    def child_name(self, configuration_id: str) -> str:
        return CHILD_PREFIX + configuration_id

    def _validate_input(self):
        if self.input.structures is None or len(self.configuration_ids) == 0:
            raise ValueError("structures is empty: set job.structures = [...] before running")
        engine = self.input.engine
        if not isinstance(engine, str) or engine.lower() not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
        level = get_level(_builtin(self.input.level))
        check_engine_options(engine, self.input.engine_options, "engine_options")
        by_id = _engine_options(self.input.engine_options_by_id)
        unknown = sorted(set(by_id) - set(self.configuration_ids))
        if unknown:
            raise ValueError(
                f"engine_options_by_id has configuration ids {unknown} that are not among the "
                f"structures' ids"
            )
        for cid, options in by_id.items():
            check_engine_options(engine, options, f"engine_options_by_id[{cid!r}]")
        if engine.lower() == "gpaw":
            numbers = _builtin(self.input.structures)["numbers"]
            from ase.data import chemical_symbols

            check_setups([chemical_symbols[int(z)] for z in set(np.asarray(numbers))], level.xc)
        min_distance = self.input.get("min_distance", DEFAULT_MIN_DISTANCE)
        for index, (cid, atoms) in enumerate(
            zip(self.configuration_ids, self.structures, strict=True)
        ):
            check_structure(atoms, min_distance, f"configuration {index} (id {cid})")
        check_executor(self.executor)

    def validate_ready_to_run(self):
        self._validate_input()
        super().validate_ready_to_run()

    # -- run -----------------------------------------------------------------------------------
    def _how_to_continue(self) -> str:
        return (
            "job.rerun_failed() continues it: finished calculations are reused, the others are "
            "computed."
        )

    def run_static(self):
        with run_lock(self, wait=_LOCK_WAIT):
            self._run_locked()

    def _run_locked(self):
        self.status.running = True
        try:
            self._validate_input()
            records, child_ids = self._label_all()
        except Exception as exc:
            self.output.run_error = format_exception(exc)
            save_then_set_status(self, "aborted")
            raise
        self._store_output(records, child_ids)
        save_then_set_status(self, "finished" if all(r.ok for r in records) else "not_converged")

    def _options_for(self, cid: str) -> dict:
        options = dict(_engine_options(self.input.engine_options))
        options.update(_engine_options(self.input.engine_options_by_id).get(cid, {}))
        return options

    def _reusable(self, child_pr, name: str, level: ConvergenceLevel, engine: str, options=None):
        """Return the finished child ``name`` if everything its result depends on matches, else
        None: the structure (the child's name is its configuration id), the level's parameters,
        the engine and the engine options that change a converged result (all but
        :data:`RESULT_NEUTRAL_OPTIONS`).

        A child that exists but is not reusable (failed, interrupted, other level or options) is
        removed.
        """
        if child_pr.get_job_id(name) is None:
            return None
        try:
            child = child_pr.load(name)
            if (
                child.status.finished
                and child.output["status"] == "finished"
                and check_engine(child.input.engine) == engine
                and get_level(_builtin(child.input.level)).same_parameters(level)
                and (
                    options is None
                    or _result_options(_engine_options(child.input.engine_options))
                    == _result_options(options)
                )
            ):
                return child
            child.remove(_protect_childs=False)
        except Exception as exc:
            # unreadable child (HDF5 file missing, truncated or left open by a killed process):
            # drop its database entry and files by hand
            remove_job_files(
                child_pr, name, f"its stored data cannot be read ({format_exception(exc)})"
            )
        return None

    def _new_child(self, child_pr, name, cid, atoms, engine):
        child = child_pr.create_job(AppmlipSinglePoint, name)
        child.structure = atoms
        child.input.level = _builtin(self.input.level)
        child.input.engine = engine
        child.input.engine_options = self._options_for(cid)
        child.input.min_distance = self.input.get("min_distance", DEFAULT_MIN_DISTANCE)
        child.master_id = self.job_id
        child.server.run_mode.modal = True
        return child

    def _label_all(self):
        """Label every configuration: reuse finished children, compute the others as tasks.

        The master alone writes the database: it saves each new child, submits the plain
        function :func:`single_point_task` to the executor, and stores each result in its child
        as it completes. VASP calculations run through pyiron's ``Vasp`` job, which writes the
        database itself, so they run here one after the other (their own run mode decides where
        VASP runs).
        """
        level = get_level(_builtin(self.input.level))
        engine = check_engine(self.input.engine)
        child_pr = self.child_project
        structures = self.structures
        ids = self.configuration_ids
        records: list = [None] * len(ids)
        child_ids = [-1] * len(ids)
        bar = _progress_bar(
            len(structures),
            f"DFT {engine} level {self.level_name}",
            bool(self.input.get("progress", True)),
        )
        quiet = contextlib.redirect_stdout(io.StringIO()) if bar is not None else None
        todo, children = [], {}
        n_reused = 0
        for k, (cid, atoms) in enumerate(zip(ids, structures, strict=True)):
            name = self.child_name(cid)
            child = self._reusable(child_pr, name, level, engine, self._options_for(cid))
            if child is not None:
                n_reused += 1
                records[k] = child.result or failed_result(
                    engine, "child job has no output", n_atoms=len(atoms), level=level.to_dict()
                )
                child_ids[k] = int(child.job_id)
                if bar is not None:
                    bar.update(1)
                continue
            child = self._new_child(child_pr, name, cid, atoms, engine)
            if engine != "gpaw":
                records[k], child_ids[k] = self._run_child(child, atoms, level, engine, quiet)
                if bar is not None:
                    bar.update(1)
                continue
            todo.append((k, cid, atoms, child))
        # the dearest calculations first, so that no worker idles behind a long last one
        todo.sort(key=lambda item: -_estimated_cost(item[2], level))

        def submissions():
            """Save each child just before its calculation is handed to the executor."""
            for k, cid, atoms, child in todo:
                with quiet if quiet is not None else contextlib.nullcontext():
                    save_new_job(child)  # an executor thread may be forking at this moment
                child.status.submitted = True  # the master stores its result when it returns
                os.makedirs(child.working_directory, exist_ok=True)
                children[k] = child
                child_ids[k] = int(child.job_id)
                yield (
                    k,
                    (
                        engine,
                        structures_to_arrays([atoms]),
                        level.to_dict(),
                        self._options_for(cid),
                        os.path.join(child.working_directory, _GPAW_LOG),
                    ),
                )

        self.output.n_reused = n_reused
        self.output.n_computed = len(ids) - n_reused
        self._logger.info(
            f"{n_reused} finished calculations reused, {len(ids) - n_reused} to compute"
        )
        if todo:
            executor = self.executor
            where = describe_executor(executor, len(todo))
            self._logger.info(f"{len(todo)} {engine} calculations on {where}")
            self.output.workers = where
            for k, outcome in run_tasks(
                executor,
                single_point_task,
                submissions(),
                return_exceptions=True,
                n_tasks=len(todo),
            ):
                if isinstance(outcome, BaseException):
                    record = failed_result(
                        engine,
                        f"the calculation task did not return: {format_exception(outcome)}",
                        n_atoms=len(structures[k]),
                        level=level.to_dict(),
                    )
                else:
                    record = SinglePointResult.from_dict(outcome)
                child = children[k]
                child.output.update(record.to_dict())
                save_then_set_status(child, "finished" if record.ok else "aborted")
                records[k] = record
                if bar is not None:
                    bar.set_postfix_str(f"{len(structures[k])} atoms")
                    bar.update(1)
        if bar is not None:
            bar.close()
        return records, child_ids

    def _run_child(self, child, atoms, level, engine, quiet):
        """Run one child in this process (the VASP path); a record and the child's id."""
        try:
            with quiet if quiet is not None else contextlib.nullcontext():
                child.run()
        except Exception as exc:
            record = failed_result(
                engine, format_exception(exc), n_atoms=len(atoms), level=level.to_dict()
            )
            return record, -1 if child.job_id is None else int(child.job_id)
        record = child.result or failed_result(
            engine, "child job has no output", n_atoms=len(atoms), level=level.to_dict()
        )
        return record, int(child.job_id)

    def _store_output(self, records, child_ids):
        n_atoms = np.asarray(_builtin(self.input.structures)["n_atoms"], dtype=np.int64)
        forces = [
            r.forces if r.forces is not None else np.full((n, 3), np.nan)
            for r, n in zip(records, n_atoms, strict=True)
        ]
        out = self.output
        out.ids = self.configuration_ids
        out.status = [r.status for r in records]
        out.error = [r.error for r in records]
        out.energy = np.array([np.nan if r.energy is None else r.energy for r in records])
        out.energy_zero = np.array(
            [np.nan if r.energy_zero is None else r.energy_zero for r in records]
        )
        out.n_atoms = n_atoms
        out.forces = np.concatenate(forces).reshape(-1, 3)
        out.stress = np.array(
            [np.full(6, np.nan) if r.stress is None else r.stress for r in records]
        ).reshape(-1, 6)
        out.wall_time = np.array([r.wall_time for r in records], dtype=float)
        out.cpu_time = np.array([r.cpu_time for r in records], dtype=float)
        out.n_kpoints = np.array([r.n_kpoints for r in records], dtype=np.int64)
        out.kmesh = np.array([r.kmesh for r in records], dtype=np.int64).reshape(-1, 3)
        out.n_scf_iterations = np.array([r.n_scf_iterations for r in records], dtype=np.int64)
        out.child_id = np.array(child_ids, dtype=np.int64)
        out.engine_version = [r.engine_version for r in records]
        out.pseudopotentials = [r.pseudopotentials for r in records]
        out.engine = check_engine(self.input.engine)
        out.level = get_level(_builtin(self.input.level)).to_dict()
        out.n_finished = int(sum(r.ok for r in records))
        out.n_failed = int(sum(not r.ok for r in records))
        out.dft_seconds = float(np.nansum(out.wall_time))
        out.run_error = ""

    def rerun_failed(self, run_mode: str | None = None):
        """Run again, recomputing only calculations that failed, never ran or were interrupted.

        Works from any status (``not_converged``, ``aborted``, a ``running`` left by a killed
        process, ``finished``). Finished children are reused, never recomputed. Input changes made
        before the call (e.g. ``engine_options_by_id``) are saved first.

        Args:
            run_mode: as in ``job.run`` (default: the job's current run mode).

        Raises:
            JobRunningError: another live process runs this job (a ``RuntimeError`` naming its
                process id and host); nothing is changed and nothing is computed twice.
        """
        if self.job_id is None:
            rerun_in_place(self, run_mode)
            return
        with run_lock(self):  # held through a modal run; a background run takes it over
            rerun_in_place(self, run_mode)

    # -- output --------------------------------------------------------------------------------
    def _output_arrays(self) -> dict:
        data = _builtin(self.output)
        if "ids" not in data:
            raise ValueError(
                f"job {self.job_name!r} has no labels yet (status {self.status}); run it first"
            )
        return data

    def get_records(self) -> dict[str, SinglePointResult]:
        """``{configuration id: SinglePointResult}`` for every configuration (failed ones too)."""
        return self._records(self._output_arrays())

    @staticmethod
    def _records(data: dict) -> dict[str, SinglePointResult]:
        offsets = np.concatenate([[0], np.cumsum(data["n_atoms"])])
        records = {}
        for m, cid in enumerate(as_strings(data["ids"])):
            records[cid] = SinglePointResult.from_dict(
                {
                    "status": data["status"][m],
                    "engine": data["engine"],
                    "engine_version": data["engine_version"][m],
                    "n_atoms": int(data["n_atoms"][m]),
                    "energy": data["energy"][m],
                    "energy_zero": data["energy_zero"][m],
                    "forces": data["forces"][offsets[m] : offsets[m + 1]],
                    "stress": data["stress"][m],
                    "wall_time": data["wall_time"][m],
                    # jobs written before CPU times were recorded have none
                    "cpu_time": data["cpu_time"][m] if "cpu_time" in data else float("nan"),
                    "n_kpoints": data["n_kpoints"][m],
                    "kmesh": tuple(data["kmesh"][m]),
                    "n_scf_iterations": data["n_scf_iterations"][m],
                    "converged": data["status"][m] == "finished",
                    "pseudopotentials": data["pseudopotentials"][m],
                    "level": data["level"],
                    "error": data["error"][m],
                }
            )
        return records

    def get_labels(self, only_finished: bool = True) -> dict:
        """The labels as plain arrays.

        Returns a dict with ``ids`` (list of str), ``energies`` (M,) eV (free energy),
        ``energies_zero`` (M,) eV (sigma->0), ``forces`` (list of (N_m, 3) eV/Angstrom),
        ``n_atoms`` (M,), ``stress`` (M, 6) eV/Angstrom^3 (ASE sign), ``wall_times`` (M,) s,
        ``n_kpoints`` (M,), ``kmesh`` (M, 3), ``status`` (list), ``child_ids`` (M,), and
        ``level`` (dict), ``engine``. With ``only_finished`` (default) failed calculations are
        left out.
        """
        data = self._output_arrays()
        status = as_strings(data["status"])
        keep = np.array(
            [s == "finished" for s in status] if only_finished else [True] * len(status)
        )
        n_atoms = np.asarray(data["n_atoms"], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(n_atoms)])
        forces = np.asarray(data["forces"], dtype=float).reshape(-1, 3)
        index = np.flatnonzero(keep)
        return {
            "ids": [as_strings(data["ids"])[i] for i in index],
            "energies": np.asarray(data["energy"], dtype=float)[index],
            "energies_zero": np.asarray(data["energy_zero"], dtype=float)[index],
            "forces": [forces[offsets[i] : offsets[i + 1]] for i in index],
            "n_atoms": n_atoms[index],
            "stress": np.asarray(data["stress"], dtype=float).reshape(-1, 6)[index],
            "wall_times": np.asarray(data["wall_time"], dtype=float)[index],
            "n_kpoints": np.asarray(data["n_kpoints"], dtype=np.int64)[index],
            "kmesh": np.asarray(data["kmesh"], dtype=np.int64).reshape(-1, 3)[index],
            "status": [status[i] for i in index],
            "child_ids": np.asarray(data["child_id"], dtype=np.int64)[index],
            "level": dict(data["level"]),
            "engine": data["engine"],
        }

    def finished_calculations(self) -> list[tuple[str, SinglePointResult, int]]:
        """``(configuration id, record, child job id)`` of every finished calculation, in input
        order, also while the job is still running or after it was interrupted (then read from
        the finished child jobs). Failed or missing calculations are left out."""
        if self.status.finished or self.status.not_converged:
            data = self._output_arrays()
            records = self._records(data)  # in input order, as the child ids
            return [
                (cid, record, int(child_id))
                for (cid, record), child_id in zip(records.items(), data["child_id"], strict=True)
                if record.ok
            ]
        out = []
        child_pr = self.child_project
        for cid in self.configuration_ids:
            name = self.child_name(cid)
            if child_pr.get_job_id(name) is None:
                continue
            try:
                child = child_pr.load(name)
                record = child.result if child.status.finished else None
            except Exception:  # a half-written child is not data
                record = None
            if record is not None and record.ok:
                out.append((cid, record, int(child.job_id)))
        return out

    @property
    def failed(self) -> dict[str, str]:
        """``{configuration id: error}`` of the calculations that failed."""
        data = self._output_arrays()
        return {
            cid: err
            for cid, st, err in zip(
                as_strings(data["ids"]),
                as_strings(data["status"]),
                as_strings(data["error"]),
                strict=True,
            )
            if st != "finished"
        }

    def get_table(self):
        """One row per configuration: id, status, energy, n_atoms, wall time, k-points, error."""
        import pandas as pd

        data = self._output_arrays()
        return pd.DataFrame(
            {
                "id": as_strings(data["ids"]),
                "status": as_strings(data["status"]),
                "energy": np.asarray(data["energy"], dtype=float),
                "n_atoms": np.asarray(data["n_atoms"], dtype=np.int64),
                "wall_time": np.asarray(data["wall_time"], dtype=float),
                "n_kpoints": np.asarray(data["n_kpoints"], dtype=np.int64),
                "n_scf_iterations": np.asarray(data["n_scf_iterations"], dtype=np.int64),
                "child_id": np.asarray(data["child_id"], dtype=np.int64),
                "error": as_strings(data["error"]),
            }
        )

    def compare_to(self, reference, bulk_id=None):
        """Paper Table 3 row: this job's labels against ``reference`` (see :func:`compare_levels`)."""
        return compare_levels(self, reference, bulk_id=bulk_id)


def compare_levels(job_a, job_b, bulk_id=None):
    """RMS differences of labelling ``job_a`` relative to the reference labelling ``job_b``.

    Uses the configurations finished in both jobs (in ``job_a``'s order) and
    :func:`pyiron_appmlip.core.comparison.compare_levels`: energies in meV/atom (unshifted,
    bulk-shifted by configuration ``bulk_id``, mean-shifted), forces in meV/Angstrom.

    Raises:
        ValueError: no configuration is finished in both jobs, atom counts differ, or
            ``bulk_id`` is not among the common configurations.
    """
    from ..core.comparison import compare_levels as _compare

    a = job_a.get_labels(only_finished=True)
    b = job_b.get_labels(only_finished=True)
    index_b = {cid: i for i, cid in enumerate(b["ids"])}
    common = [(i, index_b[cid]) for i, cid in enumerate(a["ids"]) if cid in index_b]
    if not common:
        raise ValueError(
            f"jobs {job_a.job_name!r} and {job_b.job_name!r} have no finished configuration in "
            f"common"
        )
    ids = [a["ids"][i] for i, _ in common]
    if bulk_id is not None and bulk_id not in ids:
        raise ValueError(
            f"bulk_id {bulk_id!r} is not among the {len(ids)} configurations finished in both jobs"
        )
    for i, j in common:
        if a["n_atoms"][i] != b["n_atoms"][j]:
            raise ValueError(f"configuration {a['ids'][i]} has different atom counts in the jobs")
    return _compare(
        [a["energies"][i] for i, _ in common],
        [a["forces"][i] for i, _ in common],
        [b["energies"][j] for _, j in common],
        [b["forces"][j] for _, j in common],
        bulk_id=bulk_id,
        config_ids=ids if bulk_id is not None else None,
    )
