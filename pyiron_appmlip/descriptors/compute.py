"""Filling a block store: the qSNAP blocks of many structures, computed in parallel chunks.

:func:`compute_to_store` splits the configurations that are not yet in the store into chunks of
``chunk_size``, computes each chunk as one task (:func:`pyiron_appmlip.executors.run_tasks`, one
LAMMPS instance per worker) and appends the blocks to the
:class:`~pyiron_appmlip.descriptors.store.BlockStore` in input order as the chunks complete. The
``executor`` argument takes the same specs as every job (:mod:`pyiron_appmlip.executors`):
``None`` or ``"local"`` (all local cores), a number of local workers, ``"serial"``, an
executorlib dict, or a running :class:`~concurrent.futures.Executor`. The workers of a local
pool import the LAMMPS backend once when they start, and never run the calling script, so a
plain script needs no ``if __name__ == "__main__":`` guard.

Memory: at most ``max_in_flight`` chunks (default twice the workers) are submitted and not yet
written, so the blocks in memory stay bounded however many structures there are.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence

import numpy as np

from ..executors import available_cores, describe_executor, run_tasks, worker_count
from ..structures.checks import check_min_distance
from .store import BlockStore, DamagedStoreError, _as_id

__all__ = [
    "PRELOAD",
    "check_min_distance",
    "compute_to_store",
    "default_n_processes",
]

logger = logging.getLogger("pyiron_appmlip.descriptors.store")

#: Modules every worker of a local pool imports once when it starts (the LAMMPS backend).
PRELOAD = ("pyiron_appmlip.descriptors.lammps_snap",)
#: Chunks in flight when the executor does not say how many workers it has (e.g. executorlib's
#: ``slurm_cluster`` without ``max_workers``).
DEFAULT_MAX_IN_FLIGHT = 64


def default_n_processes() -> int:
    """Cores available to this process (as :func:`pyiron_appmlip.executors.available_cores`)."""
    return available_cores()


def _compute_chunk(arrays: dict, settings_json: str, backend: str, virial: bool, min_dist):
    """One task: the blocks of a chunk of structures (given as structure arrays)."""
    from ..structures.conversion import structures_from_arrays
    from .settings import QSnapSettings

    settings = QSnapSettings.from_json(settings_json)
    atoms_list = structures_from_arrays(arrays)
    labels = [_as_id(i) for i in arrays["ids"]]
    if backend == "lammps":
        from .lammps_snap import compute_block
    elif backend == "fitsnap":
        from .fitsnap import compute_block_fitsnap as compute_block
    else:
        raise ValueError(f"backend must be 'lammps' or 'fitsnap', got {backend!r}")
    return [
        compute_block(a, settings, virial=virial, min_dist=min_dist, label=f"id {lab}")
        for a, lab in zip(atoms_list, labels, strict=True)
    ]


def _slice_arrays(arrays: dict, select: Sequence[int]) -> dict:
    n_atoms = np.asarray(arrays["n_atoms"])
    offsets = np.concatenate([[0], np.cumsum(n_atoms)])
    atom_idx = np.concatenate(
        [np.arange(offsets[k], offsets[k + 1]) for k in select] or [np.zeros(0, dtype=int)]
    )
    return {
        "numbers": np.asarray(arrays["numbers"])[atom_idx],
        "positions": np.asarray(arrays["positions"]).reshape(-1, 3)[atom_idx],
        "n_atoms": n_atoms[list(select)],
        "cells": np.asarray(arrays["cells"]).reshape(-1, 3, 3)[list(select)],
        "pbc": np.asarray(arrays["pbc"]).reshape(-1, 3)[list(select)],
        "ids": np.asarray(arrays["ids"])[list(select)],
    }


def _executor_of(executor, n_processes):
    """The executor spec of a run: ``executor``, or the deprecated ``n_processes`` workers."""
    if n_processes is None:
        return executor
    if isinstance(n_processes, bool) or not isinstance(n_processes, int | np.integer):
        raise ValueError(
            f"n_processes must be a positive integer or None, got {n_processes!r}; "
            "use executor=n instead"
        )
    if int(n_processes) < 1:
        raise ValueError(f"n_processes must be >= 1, got {n_processes}; use executor=n instead")
    warnings.warn(
        "compute_to_store(n_processes=n) is deprecated: use executor=n (a local pool of n "
        "workers), which takes every executor spec of pyiron_appmlip.executors",
        DeprecationWarning,
        stacklevel=3,
    )
    if executor is None or executor == "local":
        return int(n_processes)
    return executor  # an explicit executor wins, as it always did


def compute_to_store(
    structures,
    settings,
    path,
    *,
    backend: str = "lammps",
    n_processes: int | None = None,
    chunk_size: int = 8,
    virial: bool = False,
    min_distance: float | None = 0.5,
    progress: bool = True,
    executor=None,
    report: dict | None = None,
    max_in_flight: int | None = None,
    dtype: str = "float64",
) -> BlockStore:
    """Compute the blocks of ``structures`` into the store at ``path``; return the store.

    Configurations already in the store (by configuration id) are skipped, so calling this again
    after an interruption resumes; duplicate structures are computed once. An existing store is
    first verified (:meth:`BlockStore.repair`): blocks that fail their checksum are set aside
    with the file (``<name>.damaged``) and recomputed, a store without checksums is recomputed
    entirely (``<name>.unverified``), and a file that cannot be read as a block store at all
    is set aside and recomputed. A store written with other settings is refused. Blocks are
    committed in input order as chunks of ``chunk_size`` configurations complete; at most
    ``max_in_flight`` chunks are submitted and not yet committed at a time.

    Args:
        structures: a list of ASE/pyiron structures or a dict from
            :func:`pyiron_appmlip.structures.conversion.structures_to_arrays`.
        settings: :class:`QSnapSettings` (``elements`` inferred from all structures when unset).
        path: the HDF5 file of the :class:`BlockStore` (opened or created).
        backend: ``"lammps"`` or ``"fitsnap"``.
        n_processes: deprecated, use ``executor=n``: a local pool of this many workers (when
            ``executor`` is None or ``"local"``).
        chunk_size: configurations per task and per commit.
        virial: append the six virial rows.
        min_distance: reject structures with two atoms closer than this (Angstrom, a positive
            number); None disables the check.
        progress: show a progress bar.
        executor: where the chunks are computed, an executor spec of
            :mod:`pyiron_appmlip.executors` (default None: a local pool with one worker per
            core, each keeping one LAMMPS instance; ``"serial"`` or 1: in this process) or a
            running :class:`~concurrent.futures.Executor` (left open).
        report: a dict to fill with what happened: ``n_reused`` (input configurations found
            intact in the store), ``n_computed``, ``computed_ids``, ``damaged_ids`` (set aside
            and recomputed), ``n_unverified`` (blocks of an older store, recomputed),
            ``set_aside`` (where the old file went, or None), ``workers`` (where the chunks
            ran, e.g. ``"2 local workers"``).
        max_in_flight: chunks submitted and not yet committed at most (default: twice the
            executor's workers, or 64 where it does not say how many it has).
        dtype: ``"float64"`` (default) or ``"float32"``: how the store keeps the values
            (float32 halves the disk; each value then carries a relative rounding error of at
            most 6e-8). An existing store of the other precision is refused.

    Raises:
        ValueError: for invalid arguments (each named with its allowed values), or an existing
            store written with other settings (delete it or use another path).
    """
    from ..executors import check_executor
    from ..structures.conversion import structures_from_arrays, structures_to_arrays
    from .settings import QSnapSettings

    if backend not in ("lammps", "fitsnap"):
        raise ValueError(f"backend must be 'lammps' or 'fitsnap', got {backend!r}")
    executor = _executor_of(executor, n_processes)
    check_executor(executor)
    if isinstance(structures, dict):
        arrays = structures
    else:
        from ..structures.conversion import to_ase_list

        arrays = structures_to_arrays(to_ase_list(structures))
    n_configs = len(np.asarray(arrays["n_atoms"]))
    if n_configs == 0:
        raise ValueError("structures must be a non-empty list of structures, got an empty list")
    if not isinstance(settings, QSnapSettings):
        settings = QSnapSettings.make(settings)
    if settings.elements is None:
        settings = settings.for_structures(structures_from_arrays(arrays))
    else:
        from ase.data import chemical_symbols

        present = {chemical_symbols[z] for z in np.unique(arrays["numbers"])}
        unknown = sorted(present - set(settings.elements))
        if unknown:
            raise ValueError(
                f"unknown element(s) {unknown}: not in elements {list(settings.elements)}"
            )
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    min_distance = check_min_distance(min_distance)
    if max_in_flight is not None and (
        isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1
    ):
        raise ValueError(
            f"max_in_flight must be a positive integer (chunks submitted and not yet committed) "
            f"or None (twice the workers), got {max_in_flight!r}"
        )

    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    metadata = {"settings": settings.to_dict(), "virial": bool(virial)}
    if dtype == "float32":  # float64 stores keep the metadata they always had
        metadata["dtype"] = "float32"
    report = {} if report is None else report
    report.update(damaged_ids=[], n_unverified=0, set_aside=None)
    path = os.path.abspath(os.fspath(path))
    existed = os.path.exists(path)
    try:
        store = BlockStore.open_or_create(path, settings.n_columns(), metadata, settings)
        store.trim()
        if existed:
            check = store.repair()
            report.update(
                damaged_ids=check["damaged"],
                n_unverified=check["n_unverified"],
                set_aside=check["set_aside"],
            )
    except DamagedStoreError as err:  # the index or the HDF5 structure itself is damaged
        aside = path + ".damaged"
        os.replace(path, aside)
        report.update(set_aside=aside)
        logger.warning("%s; set aside as %s, every configuration is recomputed", err, aside)
        store = BlockStore.create(path, settings.n_columns(), metadata, settings=settings)
    if report["damaged_ids"]:
        logger.warning(
            "block store %s: %d damaged configuration(s) %s set aside (old file: %s) and "
            "recomputed",
            path,
            len(report["damaged_ids"]),
            report["damaged_ids"][:10],
            report["set_aside"],
        )
    if report["n_unverified"]:
        logger.warning(
            "block store %s had no checksums: its %d blocks are recomputed (old file: %s)",
            path,
            report["n_unverified"],
            report["set_aside"],
        )
    done = store.done_ids()
    ids = [_as_id(i) for i in arrays["ids"]]
    todo, seen = [], set(done)
    for k, cid in enumerate(ids):
        if cid not in seen:
            seen.add(cid)
            todo.append(k)
    report.update(
        n_reused=len(set(ids) & done),
        n_computed=len(todo),
        computed_ids=[ids[k] for k in todo],
    )
    chunks = [todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)]
    report["workers"] = describe_executor(executor, max(1, len(chunks)))
    if max_in_flight is None:
        workers = worker_count(executor, len(chunks))
        max_in_flight = DEFAULT_MAX_IN_FLIGHT if workers is None else max(2, 2 * workers)
    args = (settings.to_json(), backend, bool(virial), min_distance)
    tasks = ((k, (_slice_arrays(arrays, chunk), *args)) for k, chunk in enumerate(chunks))

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc=f"qSNAP 2J={settings.twojmax}", disable=not progress)
    try:
        for k, blocks in run_tasks(
            executor,
            _compute_chunk,
            tasks,
            n_tasks=len(chunks),
            ordered=True,
            max_in_flight=max_in_flight,
            preload=PRELOAD if backend == "lammps" else (),
        ):
            chunk = chunks[k]
            store.append_many([ids[j] for j in chunk], blocks, np.asarray(arrays["n_atoms"])[chunk])
            bar.update(len(chunk))
    finally:
        bar.close()
    store.refresh()
    return store
