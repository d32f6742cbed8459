"""A chunked HDF5 store of descriptor blocks, written as they are computed.

File layout (h5py):

* ``rows`` (R, p) float64, chunked and extendable: the blocks' rows, concatenated;
* ``offsets``, ``n_rows``, ``n_atoms`` (M,) int64 and ``ids`` (M,) fixed-width bytes: per
  configuration, its first row, row count, atom count and configuration id;
* ``committed`` (2,) int64: the number of complete configurations and of their rows;
* attributes: ``n_columns``, ``metadata`` (JSON, e.g. the qSNAP settings).

Appending writes rows and per-configuration entries, flushes, then raises ``committed`` and
flushes again. Only the first ``committed`` configurations exist for readers; anything after them
(left by a process killed mid-append) is cut off when the store is next opened for appending. The
file is open only inside each operation, so a killed process leaves it closed.

:func:`compute_to_store` fills a store from structures in parallel (processes, one LAMMPS instance
each), in input order, skipping configurations already stored (resume after an interruption).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

__all__ = ["BlockStore", "compute_to_store", "default_n_processes"]

_ID_DTYPE = "S64"


def _as_id(value) -> str:
    return value.decode() if isinstance(value, bytes | np.bytes_) else str(value)


class BlockStore:
    """Blocks by configuration id in one HDF5 file (see module docstring).

    ``BlockStore(path)`` opens an existing store; :meth:`create` makes a new one and
    :meth:`open_or_create` does either (checking ``n_columns`` and ``metadata`` match).
    """

    def __init__(self, path):
        import h5py

        self.path = os.path.abspath(os.fspath(path))
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"no block store at {self.path}")
        with h5py.File(self.path, "r") as f:
            if "committed" not in f or "rows" not in f:
                raise ValueError(f"{self.path} is not a block store")
            self.n_columns = int(f.attrs["n_columns"])
            self.metadata = json.loads(f.attrs.get("metadata", "{}"))
        self._index = None

    # -- creation -----------------------------------------------------------------------------
    @classmethod
    def create(
        cls, path, n_columns: int, metadata: dict | None = None, chunk_rows: int | None = None
    ) -> BlockStore:
        """A new, empty store (an existing file at ``path`` is replaced)."""
        import h5py

        n_columns = int(n_columns)
        if n_columns <= 0:
            raise ValueError(f"n_columns must be positive, got {n_columns}")
        if chunk_rows is None:  # ~1 MiB chunks
            chunk_rows = max(1, min(4096, (1 << 20) // (8 * n_columns)))
        path = os.path.abspath(os.fspath(path))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".creating"
        with h5py.File(tmp, "w") as f:
            f.create_dataset(
                "rows", shape=(0, n_columns), maxshape=(None, n_columns), dtype="f8",
                chunks=(int(chunk_rows), n_columns),
            )  # fmt: skip
            for name in ("offsets", "n_rows", "n_atoms"):
                f.create_dataset(name, shape=(0,), maxshape=(None,), dtype="i8", chunks=(1024,))
            f.create_dataset("ids", shape=(0,), maxshape=(None,), dtype=_ID_DTYPE, chunks=(1024,))
            f.create_dataset("committed", data=np.zeros(2, dtype=np.int64))
            f.attrs["n_columns"] = n_columns
            f.attrs["metadata"] = json.dumps(metadata or {}, sort_keys=True)
        os.replace(tmp, path)  # the store appears complete or not at all
        return cls(path)

    @classmethod
    def open_or_create(cls, path, n_columns: int, metadata: dict | None = None) -> BlockStore:
        """Open the store at ``path`` if it exists (it must match), else create it."""
        if not os.path.exists(path):
            return cls.create(path, n_columns, metadata)
        store = cls(path)
        metadata = json.loads(json.dumps(metadata or {}, sort_keys=True))
        if store.n_columns != int(n_columns) or store.metadata != metadata:
            raise ValueError(
                f"the block store at {store.path} was written with other settings "
                f"(n_columns {store.n_columns}, metadata {store.metadata}); requested "
                f"n_columns {n_columns}, metadata {metadata}. Use another path or delete it."
            )
        return store

    # -- index --------------------------------------------------------------------------------
    def _read_index(self, f=None):
        import h5py

        if f is None:
            with h5py.File(self.path, "r") as f:
                return self._read_index(f)
        n, _ = (int(v) for v in f["committed"][:])
        ids = [_as_id(v) for v in f["ids"][:n]]
        self._index = {
            "ids": ids,
            "offsets": f["offsets"][:n],
            "n_rows": f["n_rows"][:n],
            "n_atoms": f["n_atoms"][:n],
            "position": {cid: k for k, cid in enumerate(ids)},
        }
        return self._index

    @property
    def _idx(self):
        return self._index if self._index is not None else self._read_index()

    def refresh(self) -> None:
        """Re-read the index (after another object or process appended)."""
        self._read_index()

    def __len__(self) -> int:
        return len(self._idx["ids"])

    def __contains__(self, config_id) -> bool:
        return _as_id(config_id) in self._idx["position"]

    @property
    def ids(self) -> list[str]:
        """Configuration ids of the complete configurations, in store order."""
        return list(self._idx["ids"])

    @property
    def n_atoms(self) -> np.ndarray:
        return np.array(self._idx["n_atoms"])

    @property
    def n_rows(self) -> np.ndarray:
        return np.array(self._idx["n_rows"])

    def done_ids(self) -> set[str]:
        """Ids already stored (for resuming)."""
        return set(self._idx["ids"])

    # -- writing ------------------------------------------------------------------------------
    def append(self, config_id, block, n_atoms: int | None = None) -> None:
        """Append one configuration's block (committed when this returns)."""
        self.append_many([config_id], [block], None if n_atoms is None else [n_atoms])

    def append_many(
        self, ids: Sequence, blocks: Sequence, n_atoms: Sequence[int] | None = None
    ) -> None:
        """Append several blocks in one commit.

        Args:
            ids: configuration ids, unique and not yet stored.
            blocks: one (1 + 3N [+ 6], n_columns) block per id.
            n_atoms: atoms per configuration; default: ``(rows - 1) // 3``.
        """
        import h5py

        ids = [_as_id(i) for i in ids]
        if len(ids) != len(blocks):
            raise ValueError(f"got {len(ids)} ids for {len(blocks)} blocks")
        if not ids:
            return
        if len(set(ids)) != len(ids):
            raise ValueError("ids must be unique")
        blocks = [np.asarray(b, dtype=float) for b in blocks]
        for cid, b in zip(ids, blocks, strict=True):
            if b.ndim != 2 or b.shape[1] != self.n_columns or b.shape[0] < 4:
                raise ValueError(
                    f"block of {cid!r} has shape {b.shape}, expected (1 + 3N [+ 6], "
                    f"{self.n_columns})"
                )
            if len(cid.encode()) > int(_ID_DTYPE[1:]):
                raise ValueError(f"configuration id {cid!r} is longer than {_ID_DTYPE[1:]} bytes")
        if n_atoms is None:
            n_atoms = [(b.shape[0] - 1) // 3 for b in blocks]
        n_atoms = np.asarray(n_atoms, dtype=np.int64)
        n_rows = np.array([b.shape[0] for b in blocks], dtype=np.int64)
        with h5py.File(self.path, "a") as f:
            m, r = (int(v) for v in f["committed"][:])
            index = self._index
            if index is None or len(index["ids"]) != m:  # written by someone else meanwhile
                index = self._read_index(f)
            dup = [i for i in ids if i in index["position"]]
            if dup:
                raise ValueError(f"configuration(s) already stored: {dup[:5]}")
            k = len(ids)
            offsets = r + np.concatenate([[0], np.cumsum(n_rows)[:-1]])
            rows = f["rows"]
            rows.resize((r + int(n_rows.sum()), self.n_columns))
            rows[r:] = np.concatenate(blocks, axis=0)
            for name, values in (
                ("offsets", offsets),
                ("n_rows", n_rows),
                ("n_atoms", n_atoms),
                ("ids", np.array([i.encode() for i in ids], dtype=_ID_DTYPE)),
            ):
                f[name].resize((m + k,))
                f[name][m:] = values
            f.flush()
            self._index = None
            self._commit(f, m + k, r + int(n_rows.sum()))
        # extend the in-memory index instead of re-reading it
        for j, cid in enumerate(ids):
            index["position"][cid] = m + j
        index["ids"].extend(ids)
        for name, values in (("offsets", offsets), ("n_rows", n_rows), ("n_atoms", n_atoms)):
            index[name] = np.concatenate([index[name], values])
        self._index = index

    @staticmethod
    def _commit(f, n_configurations: int, n_rows: int) -> None:
        f["committed"][:] = np.array([n_configurations, n_rows], dtype=np.int64)
        f.flush()

    def trim(self) -> None:
        """Cut off anything after the committed configurations (left by an interrupted append)."""
        import h5py

        with h5py.File(self.path, "a") as f:
            m, r = (int(v) for v in f["committed"][:])
            if f["rows"].shape[0] != r:
                f["rows"].resize((r, self.n_columns))
            for name in ("offsets", "n_rows", "n_atoms", "ids"):
                if f[name].shape[0] != m:
                    f[name].resize((m,))
        self._index = None

    # -- reading ------------------------------------------------------------------------------
    def _positions(self, ids) -> list[int]:
        idx = self._idx
        if ids is None:
            return list(range(len(idx["ids"])))
        if isinstance(ids, str | bytes):
            ids = [ids]
        out = []
        for cid in ids:
            key = _as_id(cid)
            if key not in idx["position"]:
                raise KeyError(f"configuration {key!r} is not in the store {self.path}")
            out.append(idx["position"][key])
        return out

    def iter_chunks(
        self, chunk_size: int = 64, ids: Iterable | None = None
    ) -> Iterator[tuple[list[str], list[np.ndarray]]]:
        """Yield ``(ids, blocks)`` for up to ``chunk_size`` configurations at a time.

        Each chunk is read with one contiguous read when its configurations are adjacent in the
        file.

        Args:
            chunk_size: configurations per chunk (>= 1).
            ids: which configurations, in that order (default: all, in store order).

        Yields:
            ``(ids, blocks)`` of one chunk.
        """
        import h5py

        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        positions = self._positions(None if ids is None else list(ids))
        idx = self._idx
        offsets, n_rows, all_ids = idx["offsets"], idx["n_rows"], idx["ids"]
        with h5py.File(self.path, "r") as f:
            rows = f["rows"]
            for start in range(0, len(positions), int(chunk_size)):
                chunk = positions[start : start + int(chunk_size)]
                lo = int(min(offsets[k] for k in chunk))
                hi = int(max(offsets[k] + n_rows[k] for k in chunk))
                if hi - lo == int(sum(n_rows[k] for k in chunk)):
                    slab = rows[lo:hi]
                    blocks = [
                        slab[offsets[k] - lo : offsets[k] - lo + n_rows[k]].copy() for k in chunk
                    ]
                else:
                    blocks = [rows[offsets[k] : offsets[k] + n_rows[k]] for k in chunk]
                yield [all_ids[k] for k in chunk], blocks

    def iter_blocks(
        self, ids: Iterable | None = None, chunk_size: int = 64
    ) -> Iterator[np.ndarray]:
        """Yield blocks one at a time (``ids`` order, default store order)."""
        for _, blocks in self.iter_chunks(chunk_size, ids):
            yield from blocks

    def get_blocks(self, ids: Iterable | None = None) -> list[np.ndarray]:
        """All requested blocks in memory (for small sets)."""
        return list(self.iter_blocks(ids))

    def get_block(self, config_id) -> np.ndarray:
        return self.get_blocks([config_id])[0]


# -- parallel filling ---------------------------------------------------------------------------
def default_n_processes() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _compute_chunk(arrays: dict, settings_json: str, backend: str, virial: bool, min_dist):
    """Worker: blocks of a chunk of structures (given as structure arrays)."""
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


def _executor(n_processes: int):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        # Workers fork from a server that has imported the descriptor code once.
        ctx.set_forkserver_preload(["pyiron_appmlip.descriptors.lammps_snap"])
    return ProcessPoolExecutor(max_workers=n_processes, mp_context=ctx)


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
) -> BlockStore:
    """Compute the blocks of ``structures`` into the store at ``path``; return the store.

    Configurations already in the store (by configuration id) are skipped, so calling this again
    after an interruption resumes; duplicate structures are computed once. Blocks are committed
    in input order as chunks of ``chunk_size`` configurations complete; at most about
    ``2 * n_processes`` chunks are in memory at a time.

    Worker processes are started with ``forkserver`` (``spawn`` where that is unavailable), which
    re-imports the main module: a script that calls this with ``n_processes > 1`` needs the usual
    ``if __name__ == "__main__":`` guard. Notebooks and pyiron's own job runners need nothing.

    Args:
        structures: a list of ASE/pyiron structures or a dict from
            :func:`pyiron_appmlip.structures.conversion.structures_to_arrays`.
        settings: :class:`QSnapSettings` (``elements`` inferred from all structures when unset).
        path: the HDF5 file of the :class:`BlockStore` (opened or created).
        backend: ``"lammps"`` or ``"fitsnap"``.
        n_processes: worker processes (default: all cores), each keeping one LAMMPS instance;
            1 computes in this process.
        chunk_size: configurations per chunk.
        virial: append the six virial rows.
        min_distance: reject structures with two atoms closer than this (Angstrom); None
            disables.
        progress: show a progress bar.
        executor: an existing ``concurrent.futures`` executor to use instead of a new process
            pool.
    """
    from ..structures.conversion import structures_from_arrays, structures_to_arrays
    from .settings import QSnapSettings

    if backend not in ("lammps", "fitsnap"):
        raise ValueError(f"backend must be 'lammps' or 'fitsnap', got {backend!r}")
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
    n_processes = default_n_processes() if n_processes is None else int(n_processes)
    if n_processes < 1:
        raise ValueError(f"n_processes must be >= 1, got {n_processes}")

    metadata = {"settings": settings.to_dict(), "virial": bool(virial)}
    store = BlockStore.open_or_create(path, settings.n_columns(), metadata)
    store.trim()
    done = store.done_ids()
    ids = [_as_id(i) for i in arrays["ids"]]
    todo, seen = [], set(done)
    for k, cid in enumerate(ids):
        if cid not in seen:
            seen.add(cid)
            todo.append(k)
    chunks = [todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)]
    args = (settings.to_json(), backend, bool(virial), min_distance)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc=f"qSNAP 2J={settings.twojmax}", disable=not progress)
    try:

        def commit(chunk, blocks):
            n_atoms = np.asarray(arrays["n_atoms"])[chunk]
            store.append_many([ids[k] for k in chunk], blocks, n_atoms)
            bar.update(len(chunk))

        if executor is None and (n_processes == 1 or len(chunks) <= 1):
            for chunk in chunks:
                commit(chunk, _compute_chunk(_slice_arrays(arrays, chunk), *args))
        else:
            own = executor is None
            pool = _executor(min(n_processes, len(chunks))) if own else executor
            try:
                _run_ordered(pool, chunks, arrays, args, commit, max(2, 2 * n_processes))
            finally:
                if own:
                    pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    store.refresh()
    return store


def _run_ordered(pool, chunks, arrays, args, commit, max_in_flight):
    """Submit chunks with at most ``max_in_flight`` pending; commit results in chunk order."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = {}  # chunk index -> future
    next_submit = next_commit = 0
    while next_commit < len(chunks):
        while next_submit < len(chunks) and len(pending) < max_in_flight:
            chunk = chunks[next_submit]
            pending[next_submit] = pool.submit(_compute_chunk, _slice_arrays(arrays, chunk), *args)
            next_submit += 1
        head = pending[next_commit]
        if not head.done():
            wait(list(pending.values()), return_when=FIRST_COMPLETED)
        # Raise a worker's error as soon as it is known, not only when its turn comes.
        for fut in pending.values():
            if fut.done() and fut.exception() is not None:
                for other in pending.values():
                    other.cancel()
                raise fut.exception()
        while next_commit in pending and pending[next_commit].done():
            commit(chunks[next_commit], pending.pop(next_commit).result())
            next_commit += 1
