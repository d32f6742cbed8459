"""AppmlipDescriptors: qSNAP descriptor blocks of a set of structures as a pyiron job.

The blocks (see :mod:`pyiron_appmlip.descriptors`) are computed in parallel over configurations
(worker processes, one LAMMPS instance each) and written as they arrive into an HDF5 block store
in the job's working directory, so that large sets never sit in memory. An interrupted job
resumes with :meth:`AppmlipDescriptors.resume`, computing only the configurations not yet stored.

Every stored block carries a SHA-256 checksum that is checked whenever it is read; a damaged block
is never returned (see :mod:`pyiron_appmlip.descriptors.store`). ``resume()`` on a job of any
status, finished included, verifies the whole store, sets a damaged file aside
(``<store_file>.damaged``) keeping its intact blocks, recomputes exactly the configurations that
are missing or damaged, and reports how many were reused and recomputed (log and ``job.output``).

The store records the descriptor settings it was computed with. Reading it (:meth:`get_store`
and everything built on it) checks them against the job's settings (those of its last run); a
resume checks them against the job's input. A mismatch -- a store file copied from another job,
or input changed after the run -- raises an error naming both, and nothing is deleted: remove the
store file and resume to recompute it with the input settings.

Example::

    job = pr.create.job.AppmlipDescriptors("desc_2j6")
    job.structures = structures          # ASE or pyiron structures
    job.input.twojmax = 6                # or job.use_preset("paper_qsnap")
    job.run()
    for block in job.iter_blocks(): ...

Virial rows: by default (``input.virial`` None) the store keeps every block's six virial rows,
so that any fit or sweep can weight stresses (``stress_weight > 0``) without computing the
descriptors again; a fit with ``stress_weight`` 0 does not fit them (it reports stress errors
where stresses are labelled). They cost no extra LAMMPS work and six rows per configuration in
the store. The block accessors (:meth:`~AppmlipDescriptors.get_blocks`,
:meth:`~AppmlipDescriptors.iter_blocks`, :meth:`~AppmlipDescriptors.iter_chunks`) hand out
``(1 + 3 N, p)`` blocks unless called with ``virial=True`` or the input says
``virial = True``. A job with ``input.virial = False`` (the default of earlier versions) serves
fits without stresses only; for a stress fit set ``job.input.virial = True`` and call
``job.resume()``: the blocks are computed again with the virial rows (the old store is kept as
``<store_file>.without_virial``).

The local worker processes never run the calling script, so a plain Python script that runs the
job needs no ``if __name__ == "__main__":`` guard (see :mod:`pyiron_appmlip.executors`).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from pyiron_base import PythonTemplateJob

from ..descriptors.compute import check_min_distance, compute_to_store
from ..descriptors.settings import (
    DESCRIPTOR_PRESETS,
    QSnapSettings,
    check_hyperparameters,
    check_twojmax,
)
from ..descriptors.store import BlockStore, DamagedStoreError, StoreSettingsError
from ..executors import check_executor
from ..structures.checks import check_structures, checked_structure_arrays
from ..structures.conversion import structures_from_arrays
from ._common import (
    LeftoverSafeSave,
    PlainOutput,
    plain,
    rerun_in_place,
    save_then_set_status,
)
from ._execution import ExecutorMixin
from ._input import (
    CheckedInputJob,
    check_bool,
    check_choice,
    check_integer,
    check_storable_executor,
)

__all__ = ["AppmlipDescriptors"]

BACKENDS = ("lammps", "fitsnap")


class AppmlipDescriptors(
    PlainOutput, LeftoverSafeSave, CheckedInputJob, ExecutorMixin, PythonTemplateJob
):
    """qSNAP descriptor blocks of ``structures`` for one 2Jmax.

    Input (``job.input``):
        structures: the structures as arrays (set with :attr:`structures`: a list of ASE or
            pyiron structures, or one structure). A configuration given twice is kept once,
            with a warning naming it (:func:`pyiron_appmlip.structures.checks.check_structures`).
        twojmax: 2Jmax, an even integer from 2 to 20 (checked by
            :func:`~pyiron_appmlip.descriptors.settings.check_twojmax`, as in
            :class:`QSnapSettings`; above 10 a warning predicts the block width).
        hyperparameters: further :class:`QSnapSettings` fields (rcutfac, radelem, wj,
            elements, ...), checked as :class:`QSnapSettings` checks them. :meth:`use_preset`
            sets ``twojmax`` and these from a named preset.
        backend: "lammps" (default) or "fitsnap".
        executor: where the chunks are computed, the same specs as every job's
            (:mod:`pyiron_appmlip.executors`): None (default) or "local" (a local pool, one
            worker per core), a number of local workers, "serial" (in this process), an
            executorlib dict such as ``{"kind": "slurm_cluster", ...}``; or assign a running
            executor to ``job.executor``. The workers of a local pool import the LAMMPS
            backend once when they start.
        n_processes: deprecated, use ``executor = n``. A number here still means a local pool
            of that many workers when ``executor`` is None or "local" (a DeprecationWarning
            says so at run time); None (default) leaves the choice to ``executor``.
        chunk_size: configurations per task and per store commit.
        virial: the six virial rows, which fits with ``stress_weight > 0`` need. None
            (default): stored, and left out of the blocks the accessors hand out unless they
            are called with ``virial=True``; True: stored and handed out; False: not stored.
        min_distance: refuse structures with two atoms (periodic images included) closer than
            this (a positive number of Angstrom, default 0.5), before anything is computed;
            None: no check. The same rule as the labelling job's.
        store_file: name of the block store, a plain file name (no folder, no ``..``, not
            absolute): the store always lives in the job's working directory.
        progress: show a progress bar.

    Each input is checked when it is set (a ``ValueError`` names the input and its allowed
    values) and again when the job runs.

    Output (``job.output``):
        store_file: name of the block store in the working directory.
        ids: configuration ids, unique, input order.
        n_atoms: number of atoms of each configuration.
        p: block width.
        settings: the resolved QSnapSettings as a dict, elements included.
        virial: whether the six virial rows are stored.
        n_reused: configurations of the last run (or resume) found intact in the store.
        n_recomputed: configurations computed by the last run (missing or damaged before).
        recomputed_ids: their ids.
        damaged_ids: ids whose stored blocks failed their checksum and were recomputed.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.structures = None
        self.input.twojmax = 6
        self.input.hyperparameters = {}
        self.input.backend = "lammps"
        self.input.n_processes = None
        self.input.executor = None
        self.input.chunk_size = 8
        self.input.virial = None
        self.input.min_distance = 0.5
        self.input.store_file = "qsnap_blocks.h5"
        self.input.progress = True

    # -- input --------------------------------------------------------------------------------
    def _input_checks(self) -> dict:
        return {
            "twojmax": check_twojmax,
            "hyperparameters": check_hyperparameters,
            "backend": check_choice("backend", BACKENDS),
            "n_processes": _check_n_processes,
            "executor": check_storable_executor,
            "chunk_size": check_integer("chunk_size", 1, " (configurations per task)"),
            "min_distance": check_min_distance,
            "store_file": _check_store_file,
            "progress": check_bool("progress"),
            "virial": _check_virial,
        }

    @property
    def structures(self) -> list:
        """The input structures as ASE Atoms (set with a list of ASE/pyiron structures)."""
        if self.input.structures is None:
            return []
        return structures_from_arrays(self._structure_arrays())

    @structures.setter
    def structures(self, structures):
        self.input.structures = checked_structure_arrays(structures, "job.structures")

    def _structure_arrays(self) -> dict:
        data = self.input.structures
        return {k: np.asarray(data[k]) for k in data.keys()}

    def use_preset(self, name: str, **overrides) -> None:
        """Set ``input.twojmax`` and ``input.hyperparameters`` from a named descriptor preset.

        Every hyperparameter of the preset is written into the input, so the job records the
        values themselves. ``elements`` and ``element_counts`` already in
        ``input.hyperparameters`` are kept (they describe the chemistry, not the preset).

        Args:
            name: ``"paper_qsnap"`` or ``"fitsnap_linear"`` (see
                :func:`~pyiron_appmlip.descriptors.settings.descriptor_presets`).
            **overrides: :class:`QSnapSettings` fields replacing the preset's values, e.g.
                ``twojmax=4``.

        Raises:
            ValueError: for an unknown preset name (the message lists the names), an unknown
                field or an invalid value; the input is then left unchanged.

        Example::

            job.use_preset("fitsnap_linear", twojmax=4)
        """
        previous = plain(self.input.hyperparameters or {})
        kept = {k: previous[k] for k in ("elements", "element_counts") if k in previous}
        settings = QSnapSettings.preset(name, **{**kept, **overrides})
        values = settings.to_dict()
        keys = (set(DESCRIPTOR_PRESETS[name][0]) | set(overrides) | set(kept)) - {"twojmax"}
        self.input.twojmax = int(settings.twojmax)
        self.input.hyperparameters = {k: values[k] for k in sorted(keys)}

    @property
    def has_virial_rows(self) -> bool:
        """Whether the blocks carry the six virial rows (those of the last run; before a run:
        whether the input asks for them)."""
        if self.output.get("settings") is not None and self.output.get("virial") is not None:
            return bool(self.output.virial)
        return self._virial_input()

    def _virial_input(self) -> bool:
        """Whether the input asks for the virial rows to be stored (None and True do)."""
        return _check_virial(self.input.virial) is not False

    @property
    def settings(self) -> QSnapSettings:
        """The :class:`QSnapSettings` of this job's blocks (of the last run, elements resolved;
        before a run: of the input, elements unresolved unless given)."""
        if self.output.get("settings") is not None:
            return QSnapSettings.from_dict(plain(self.output.settings))
        return self._unresolved_input_settings()

    def _unresolved_input_settings(self) -> QSnapSettings:
        hyper = plain(self.input.hyperparameters or {})
        return QSnapSettings.make(check_twojmax(self.input.twojmax), **hyper)

    def _input_settings(self) -> QSnapSettings:
        """The input's settings with elements resolved from the structures."""
        from ase import Atoms

        settings = self._unresolved_input_settings()
        numbers = np.unique(np.asarray(self.input.structures["numbers"]))
        return settings.for_structures([Atoms(numbers=numbers)])  # one atom per element present

    def _stored_settings(self) -> tuple[QSnapSettings, bool]:
        """Settings and virial flag the store must have when it is read."""
        if self.output.get("settings") is not None:
            virial = self.output.get("virial")
            return self.settings, self._virial_input() if virial is None else bool(virial)
        return self._input_settings(), self._virial_input()

    def _check_store_for_resume(self) -> None:
        """Refuse to resume onto a store computed with other settings than the input's."""
        if not os.path.isfile(self.store_path):
            return
        try:
            store = BlockStore(self.store_path)
        except DamagedStoreError:
            return  # unreadable: set aside and recomputed by the run
        if self._adds_virial_rows(store):
            return  # set aside and recomputed with the virial rows by the run
        store.check_settings(
            self._input_settings(),
            virial=self._virial_input(),
            hint=(
                f"Nothing was changed. To recompute the store with the input's settings, delete "
                f"{store.path} and call resume() again; or set the input back to the store's "
                f"settings."
            ),
        )

    def _adds_virial_rows(self, store: BlockStore) -> bool:
        """Whether ``store`` holds the input's blocks without the virial rows the input asks for
        (a store of a job computed with ``virial = False`` whose input now says True)."""
        if not self._virial_input() or store.metadata.get("virial") is not False:
            return False
        try:
            store.check_settings(self._input_settings(), virial=None)
        except StoreSettingsError:
            return False
        return True

    def _set_aside_store_without_virial(self) -> str | None:
        """Rename a store without the virial rows the input asks for to
        ``<store_file>.without_virial`` (so that the run computes it again); its new path, or
        None if there is nothing to set aside."""
        if not os.path.isfile(self.store_path):
            return None
        try:
            store = BlockStore(self.store_path)
        except (DamagedStoreError, ValueError):
            return None  # handled by compute_to_store
        if not self._adds_virial_rows(store):
            return None
        aside = self.store_path + ".without_virial"
        os.replace(self.store_path, aside)
        self._logger.info(
            f"descriptor store {self.store_path} has no virial rows but the input asks for them: "
            f"set aside as {aside}, every configuration is computed again"
        )
        return aside

    def _validate_input(self):
        for key, check in self._input_checks().items():  # stored values, e.g. hand-edited
            if key in self.input:
                check(self.input[key])
        if self.input.structures is None or len(self.input.structures["n_atoms"]) == 0:
            raise ValueError("structures is empty: set job.structures = [...]")
        check_executor(self.executor)  # also a running executor given to job.executor
        min_distance = check_min_distance(self.input.min_distance)
        if min_distance is not None:
            from ..structures.conversion import as_strings

            ids = as_strings(self._structure_arrays()["ids"])
            check_structures(
                self.structures,
                min_distance,
                ids=ids,
                names=[f"configuration {k} (id {cid})" for k, cid in enumerate(ids)],
                hint="job.input.min_distance = None switches the check off",
            )
        settings = self._unresolved_input_settings()  # validates twojmax and hyperparameters
        if settings.elements is not None:
            settings.for_structures(self.structures)

    def validate_ready_to_run(self):
        self._validate_input()
        super().validate_ready_to_run()

    def _executor_spec(self):
        """The executor of the run: ``job.executor``, or the deprecated ``input.n_processes``
        (a local pool of that many workers) when ``executor`` is None or ``"local"``."""
        spec = self.executor
        n = self.input.get("n_processes")
        if n is None or not (spec is None or (isinstance(spec, str) and spec == "local")):
            return spec
        warnings.warn(
            f"descriptors job {self.job_name!r}: input.n_processes is deprecated, set "
            f"job.input.executor = {int(n)} instead (the same local pool of {int(n)} "
            "workers); input.executor takes every executor spec of pyiron_appmlip.executors",
            DeprecationWarning,
            stacklevel=3,
        )
        return int(n)

    # -- run ----------------------------------------------------------------------------------
    def run_static(self):
        self.status.running = True
        self._validate_input()
        arrays = self._structure_arrays()
        settings = self._input_settings()
        os.makedirs(self.working_directory, exist_ok=True)
        self._set_aside_store_without_virial()
        report = {}
        store = compute_to_store(
            arrays,
            settings,
            self.store_path,
            backend=self.input.backend,
            chunk_size=int(self.input.chunk_size),
            virial=self._virial_input(),
            min_distance=check_min_distance(self.input.min_distance),
            progress=bool(self.input.progress),
            report=report,
            executor=self._executor_spec(),
        )
        self.output.workers = report["workers"]
        ids = list(dict.fromkeys(_decode(i) for i in arrays["ids"]))
        missing = [i for i in ids if i not in store]
        if missing:  # compute_to_store guarantees this; never finish on an incomplete store
            raise RuntimeError(f"block store {store.path} lacks {len(missing)} configurations")
        position = {cid: k for k, cid in enumerate(store.ids)}
        n_atoms = store.n_atoms
        self.output.store_file = str(self.input.store_file)
        self.output.ids = list(ids)
        self.output.n_atoms = np.array([n_atoms[position[i]] for i in ids], dtype=np.int64)
        self.output.p = int(store.n_columns)
        self.output.settings = settings.to_dict()
        self.output.virial = self._virial_input()
        self.output.n_reused = int(report["n_reused"])
        self.output.n_recomputed = int(report["n_computed"])
        self.output.recomputed_ids = [str(i) for i in report["computed_ids"]]
        # as read from the store: bytes of a damaged id that are not UTF-8 are kept as
        # surrogate escapes (and written back as those bytes)
        self.output.damaged_ids = [str(i) for i in report["damaged_ids"]]
        message = (
            f"descriptor store {store.path}: {report['n_reused']} reused, "
            f"{report['n_computed']} recomputed"
        )
        if report["damaged_ids"]:
            message += (
                f" ({len(report['damaged_ids'])} damaged, old file set aside as "
                f"{report['set_aside']})"
            )
        if report["n_unverified"]:
            message += (
                f" ({report['n_unverified']} stored without checksums were not reused, old file "
                f"set aside as {report['set_aside']})"
            )
        self._logger.info(message)
        save_then_set_status(self)

    def resume(self, run_mode: str | None = None):
        """Verify the store and compute what is missing or damaged, whatever the job's status.

        An interrupted (aborted) job continues where it stopped; a finished job has its store
        checked too. Every stored block is verified against its checksum: damaged ones are set
        aside with the old file (``<store_file>.damaged``) and recomputed, blocks of a store
        written without checksums are recomputed, intact ones are reused. The counts are logged
        and stored in ``job.output`` (``n_reused``, ``n_recomputed``, ``recomputed_ids``,
        ``damaged_ids``).

        The store's settings are checked against the input first: a store computed with other
        settings (e.g. copied from another job, or the input changed after the run) is refused
        and left as it is; delete the file to recompute it from scratch.

        Args:
            run_mode: as in ``job.run`` (default: the job's current run mode).

        Raises:
            StoreSettingsError: if the store was computed with other settings than the input's.
        """
        if self.input.structures is not None and len(self.input.structures["n_atoms"]):
            self._check_store_for_resume()
        rerun_in_place(self, run_mode)

    # -- output -------------------------------------------------------------------------------
    @property
    def store_path(self) -> str:
        """Absolute path of the block store, inside the job's working directory."""
        return os.path.join(self.working_directory, _check_store_file(self.input.store_file))

    def get_store(self) -> BlockStore:
        """The block store (readable also while or after a run was interrupted).

        Its blocks are verified against their checksums as they are read.

        Raises:
            StoreSettingsError: if the store holds blocks of other settings than this job's
                (e.g. a store file of another job copied over this one's).
            DamagedStoreError: if the file cannot be read as a block store at all.
        """
        store = BlockStore(self.store_path)
        settings, virial = self._stored_settings()
        store.check_settings(
            settings,
            virial=virial,
            hint=(
                f"Delete {store.path} and call job.resume() to recompute it with this job's "
                f"settings."
            ),
        )
        return store

    @property
    def configuration_ids(self) -> list[str]:
        """Configuration ids of the blocks (unique, input order)."""
        ids = self.output.get("ids")
        if ids is None:
            return self.get_store().ids
        return [_decode(i) for i in ids]

    @property
    def n_atoms(self) -> np.ndarray:
        return np.asarray(self.output.n_atoms)

    @property
    def p(self) -> int:
        """Block width (number of descriptor columns, no constant)."""
        return int(self.output.p)

    def _drop_virial_rows(self, virial) -> bool:
        """Whether the accessors leave the stored virial rows out (see :meth:`iter_blocks`)."""
        if virial is not None and not isinstance(virial, bool | np.bool_):
            raise ValueError(f"virial must be True, False or None, got {virial!r}")
        virial = None if virial is None else bool(virial)
        stored = self.has_virial_rows
        if virial is None:
            return stored and _check_virial(self.input.virial) is not True
        if virial and not stored:
            raise ValueError(
                f"virial=True asks for the six virial rows, but descriptors job "
                f"{self.job_name!r} was computed without them (input.virial False); set "
                "job.input.virial = True and call job.resume() to compute them"
            )
        return stored and not virial

    def iter_blocks(self, ids=None, chunk_size: int = 64, virial: bool | None = None):
        """Yield blocks one at a time, in ``ids`` order (default: :attr:`configuration_ids`).

        Args:
            ids: configuration ids (default: all, input order).
            chunk_size: configurations read from the store at a time.
            virial: True: blocks with their six virial rows, ``(1 + 3 N + 6, p)``; False:
                without, ``(1 + 3 N, p)``; None (default): with them only if
                ``input.virial`` is True.

        Raises:
            ValueError: for ``virial=True`` on a job computed without the virial rows.
        """
        drop = self._drop_virial_rows(virial)
        store = self.get_store()
        for block in store.iter_blocks(self.configuration_ids if ids is None else ids, chunk_size):
            yield block[:-6] if drop else block

    def iter_chunks(self, chunk_size: int = 64, ids=None, virial: bool | None = None):
        """Yield ``(ids, blocks)`` chunks (see :meth:`BlockStore.iter_chunks`); ``virial`` as
        in :meth:`iter_blocks`."""
        drop = self._drop_virial_rows(virial)
        store = self.get_store()
        for chunk_ids, blocks in store.iter_chunks(
            chunk_size, self.configuration_ids if ids is None else ids
        ):
            yield chunk_ids, [b[:-6] for b in blocks] if drop else blocks

    def get_blocks(self, ids=None, virial: bool | None = None) -> list[np.ndarray]:
        """Blocks in memory (for small sets), in ``ids`` order (default: all); ``virial`` as
        in :meth:`iter_blocks`."""
        return list(self.iter_blocks(ids, virial=virial))


def _check_n_processes(value):
    """``n_processes`` (deprecated, use ``executor``): None or a positive integer."""
    if value is None:
        return None
    return check_integer(
        "n_processes",
        1,
        " (local worker processes; deprecated, use input.executor = n) or None (input.executor "
        "decides)",
    )(value)


def _check_store_file(name) -> str:
    """``store_file`` if it is a plain file name, else a ValueError naming the allowed values."""
    ok = (
        isinstance(name, str)
        and name.strip() == name
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and not os.path.isabs(name)
    )
    if not ok:
        raise ValueError(
            f"store_file must be a plain file name inside the job's working directory, such as "
            f"'qsnap_blocks.h5' (no folder, no '..', not an absolute path), got {name!r}"
        )
    return name


def _check_virial(value) -> bool | None:
    """``input.virial`` as None, True or False, else a ValueError naming the allowed values."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_ | int | np.integer) and value in (0, 1):
        return bool(value)  # the job's HDF5 file may give a stored bool back as 0 or 1
    raise ValueError(
        f"virial must be None (default: virial rows stored, left out by get_blocks unless "
        f"asked for), True (stored and handed out) or False (not stored), got {value!r}"
    )


def _decode(value) -> str:
    return value.decode() if isinstance(value, bytes | np.bytes_) else str(value)
