"""A chunked HDF5 store of descriptor blocks, written as they are computed, every block checksummed.

File layout (h5py), format 2:

* ``rows`` (R, p) float64 (or float32 when ``metadata["dtype"]`` is ``"float32"``), chunked
  and extendable: the blocks' rows, concatenated;
* ``offsets``, ``n_rows``, ``n_atoms`` (M,) int64 and ``ids`` (M,) fixed-width bytes: per
  configuration, its first row, row count, atom count and configuration id;
* ``sha256`` (M,) 64-character hex: per configuration, the SHA-256 of its id, atom count, block
  shape and block values (:func:`block_digest`);
* ``committed`` (2,) int64: the number of complete configurations and of their rows;
* attributes: ``format_version`` (2), ``n_columns``, ``metadata`` (JSON: the qSNAP settings
  as a dict and ``virial``) and ``qsnap_settings`` (``QSnapSettings.to_json()``).

Precision: a store created with ``metadata={"dtype": "float32", ...}`` keeps every value
rounded to float32 (half the disk; relative rounding error at most 2**-24, about 6e-8, per
value) and hands blocks back as float64; its checksums are of the rounded values. Without that
key a store is float64, as always.

Settings: :meth:`BlockStore.check_settings` compares the stored descriptor settings, column count
and virial flag with expected ones and raises :class:`StoreSettingsError` (naming both) on any
difference; ``AppmlipDescriptors`` calls it whenever its store is opened for reading or resuming,
so blocks of another 2Jmax (a store file copied from another job, or settings changed after the
run) are never read as this job's.

Integrity: every block is checked against its SHA-256 whenever it is read (:meth:`BlockStore.
iter_chunks` and everything built on it), so random bytes written into the file, or one value
changed through h5py, are detected; a damaged block is never returned. The error
(:class:`DamagedStoreError`) names the file, the read chunk and the damaged configuration ids.
The checksum is kept per configuration (not per HDF5 chunk), so that a damaged file costs the
recomputation of exactly the configurations whose bytes were hit; it lives in a dataset rather
than in attributes because an HDF5 object header holds at most 64 KiB of attributes.
:meth:`BlockStore.verify` checks every block; :meth:`BlockStore.repair` sets a damaged file aside
(renamed to ``<name>.damaged``) and writes a new store holding only the verified blocks.
:func:`~pyiron_appmlip.descriptors.compute.compute_to_store` does both before computing what is
missing, so running it again (or ``AppmlipDescriptors.resume()``) repairs a store.

Stores written before checksums existed (format 1, no ``sha256`` dataset) stay readable: opening
one logs a warning that its blocks are unverified. ``compute_to_store`` never reuses their
blocks: it sets such a file aside as ``<name>.unverified`` and recomputes it in format 2.

Appending writes rows and per-configuration entries, flushes, then raises ``committed`` and
flushes again. Only the first ``committed`` configurations exist for readers; anything after them
(left by a process killed mid-append) is cut off when the store is next opened for appending. The
file is open only inside each operation, so a killed process leaves it closed.

Filling a store from structures (in parallel, in input order, skipping configurations already
stored and verified) is :func:`pyiron_appmlip.descriptors.compute.compute_to_store`; its old
names here (``compute_to_store``, ``check_min_distance``, ``default_n_processes``) still work
and warn with their new place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

__all__ = [
    "BlockStore",
    "DamagedStoreError",
    "StoreSettingsError",
    "block_digest",
]

FORMAT_VERSION = 2
_ID_DTYPE = "S64"
_SHA_DTYPE = "S64"
_INDEX = ("offsets", "n_rows", "n_atoms", "ids")

logger = logging.getLogger(__name__)
_warned_unverified: set[str] = set()


_DTYPES = {"float64": "f8", "float32": "f4"}


def _check_dtype(dtype) -> str:
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {tuple(_DTYPES)}, got {dtype!r}")
    return dtype


def _as_id(value) -> str:
    return value.decode() if isinstance(value, bytes | np.bytes_) else str(value)


def _stored_id(value) -> str:
    """An id as read from the file; bytes that are not UTF-8 (damage) are kept, escaped."""
    return bytes(value).decode("utf-8", "surrogateescape")


def block_digest(config_id, n_atoms: int, block: np.ndarray) -> str:
    """SHA-256 (hex) of one stored configuration: its id, atom count, block shape and values.

    Args:
        config_id: the configuration id.
        n_atoms: its number of atoms.
        block: its (rows, n_columns) block; hashed as little-endian float64.

    Returns:
        The 64-character hex digest stored in the ``sha256`` dataset.
    """
    b = np.ascontiguousarray(block, dtype="<f8")
    h = hashlib.sha256()
    h.update(_as_id(config_id).encode("utf-8", "surrogateescape"))
    h.update(b"\0")
    h.update(np.array([int(n_atoms), *b.shape], dtype="<i8").tobytes())
    h.update(b.tobytes())
    return h.hexdigest()


class DamagedStoreError(ValueError):
    """A block store whose bytes fail their checks (checksums, index, HDF5 structure).

    Attributes:
        path: the store file.
        ids: the damaged configuration ids (empty when the index itself is unreadable).
        positions: their entries (0-based) in the store.
    """

    def __init__(self, message: str, path: str, ids=(), positions=()):
        super().__init__(message)
        self.path = path
        self.ids = list(ids)
        self.positions = [int(k) for k in positions]


class StoreSettingsError(ValueError):
    """A block store computed with other descriptor settings than the ones expected."""


_REPAIR_HINT = (
    "Damaged blocks are never returned. AppmlipDescriptors.resume() (or compute_to_store on the "
    "same file) sets the file aside and recomputes them; BlockStore.verify() lists all of them."
)


class BlockStore:
    """Blocks by configuration id in one HDF5 file (see module docstring).

    ``BlockStore(path)`` opens an existing store; :meth:`create` makes a new one and
    :meth:`open_or_create` does either (checking ``n_columns`` and ``metadata`` match).

    Attributes:
        path: absolute path of the file.
        n_columns: block width p.
        metadata: the JSON metadata given at creation (e.g. qSNAP settings and ``virial``).
        settings_json: the stored ``QSnapSettings.to_json()``, or None if the store has none.
        format_version: 2 for stores with checksums, 1 for older ones (unverified).
        dtype: ``"float64"`` or ``"float32"``, how the rows are stored (``metadata["dtype"]``,
            default float64); blocks are always returned as float64.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        DamagedStoreError: if the file cannot be read as HDF5 (e.g. its header was overwritten).
        ValueError: if it is an HDF5 file but not a block store.
    """

    def __init__(self, path):
        import h5py

        self.path = os.path.abspath(os.fspath(path))
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"no block store at {self.path}")
        if not os.path.isfile(self.path):
            raise ValueError(f"{self.path} is not a block store (not a regular file)")
        try:
            f = h5py.File(self.path, "r")
        except OSError as err:
            raise DamagedStoreError(
                f"the block store {self.path} is damaged: it cannot be opened as an HDF5 file "
                f"({err}). {_REPAIR_HINT}",
                self.path,
            ) from err
        with f:
            if "committed" not in f or "rows" not in f:
                raise ValueError(f"{self.path} is not a block store")
            try:
                self.n_columns = int(f.attrs["n_columns"])
                self.metadata = json.loads(f.attrs.get("metadata", "{}"))
                self.has_checksums = "sha256" in f
                stored = f.attrs.get("qsnap_settings")
            except (OSError, KeyError, ValueError) as err:
                raise DamagedStoreError(
                    f"the block store {self.path} is damaged: its attributes cannot be read "
                    f"({err}). {_REPAIR_HINT}",
                    self.path,
                ) from err
            self.format_version = int(f.attrs.get("format_version", 1 + self.has_checksums))
        self.dtype = _check_dtype(self.metadata.get("dtype", "float64"))
        if stored is None and isinstance(self.metadata.get("settings"), dict):
            stored = json.dumps(self.metadata["settings"], sort_keys=True)  # older stores
        self.settings_json = None if stored is None else str(stored)
        self._index = None
        if not self.has_checksums and self.path not in _warned_unverified:
            _warned_unverified.add(self.path)
            logger.warning(
                "block store %s has no checksums (written by an older pyiron_appmlip): its "
                "blocks are read unverified. Run AppmlipDescriptors.resume() (or "
                "compute_to_store on it) to recompute it in the checksummed format.",
                self.path,
            )

    # -- creation -----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path,
        n_columns: int,
        metadata: dict | None = None,
        chunk_rows: int | None = None,
        settings=None,
    ) -> BlockStore:
        """A new, empty store (an existing file at ``path`` is replaced).

        Args:
            path: the HDF5 file.
            n_columns: block width p (> 0).
            metadata: JSON-serialisable description (compared by :meth:`open_or_create`);
                ``{"dtype": "float32"}`` in it stores the rows as float32 (default float64).
            chunk_rows: rows per HDF5 chunk of ``rows`` (default: about 1 MiB chunks).
            settings: the :class:`~pyiron_appmlip.descriptors.settings.QSnapSettings` of the
                blocks (or their JSON), stored for :meth:`check_settings`; its column count must
                be ``n_columns``.
        """
        import h5py

        n_columns = int(n_columns)
        if n_columns <= 0:
            raise ValueError(f"n_columns must be positive, got {n_columns}")
        dtype = _check_dtype((metadata or {}).get("dtype", "float64"))
        settings_json = None if settings is None else _settings_json(settings)
        if settings_json is not None:
            from .settings import QSnapSettings

            width = QSnapSettings.from_json(settings_json).n_columns()
            if width != n_columns:
                raise ValueError(f"settings give {width} columns, not n_columns {n_columns}")
        if chunk_rows is None:  # ~1 MiB chunks
            chunk_rows = max(1, min(4096, (1 << 20) // (8 * n_columns)))
        path = os.path.abspath(os.fspath(path))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".creating"
        with h5py.File(tmp, "w") as f:
            f.create_dataset(
                "rows", shape=(0, n_columns), maxshape=(None, n_columns), dtype=_DTYPES[dtype],
                chunks=(int(chunk_rows), n_columns),
            )  # fmt: skip
            for name in ("offsets", "n_rows", "n_atoms"):
                f.create_dataset(name, shape=(0,), maxshape=(None,), dtype="i8", chunks=(1024,))
            f.create_dataset("ids", shape=(0,), maxshape=(None,), dtype=_ID_DTYPE, chunks=(1024,))
            f.create_dataset(
                "sha256", shape=(0,), maxshape=(None,), dtype=_SHA_DTYPE, chunks=(1024,)
            )
            f.create_dataset("committed", data=np.zeros(2, dtype=np.int64))
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["n_columns"] = n_columns
            f.attrs["metadata"] = json.dumps(metadata or {}, sort_keys=True)
            if settings_json is not None:
                f.attrs["qsnap_settings"] = settings_json
        os.replace(tmp, path)  # the store appears complete or not at all
        return cls(path)

    @classmethod
    def open_or_create(
        cls, path, n_columns: int, metadata: dict | None = None, settings=None
    ) -> BlockStore:
        """Open the store at ``path`` if it exists (it must match), else create it.

        Args:
            path: the HDF5 file.
            n_columns: block width p.
            metadata: as in :meth:`create`; an existing store's must be equal.
            settings: as in :meth:`create`; an existing store's must be equal
                (:meth:`check_settings`).

        Raises:
            StoreSettingsError: if the existing store was written with other settings.
            ValueError: if its ``n_columns`` or ``metadata`` differ.
        """
        if not os.path.exists(path):
            return cls.create(path, n_columns, metadata, settings=settings)
        store = cls(path)
        if settings is not None:
            store.check_settings(
                settings,
                virial=(metadata or {}).get("virial"),
                hint="Use another path, or delete the file to recompute it.",
            )
        metadata = json.loads(json.dumps(metadata or {}, sort_keys=True))
        if store.n_columns != int(n_columns) or store.metadata != metadata:
            raise ValueError(
                f"the block store at {store.path} was written with other settings "
                f"(n_columns {store.n_columns}, metadata {store.metadata}); requested "
                f"n_columns {n_columns}, metadata {metadata}. Use another path or delete it."
            )
        return store

    def check_settings(self, settings, virial: bool | None = None, hint: str = "") -> None:
        """Raise unless the blocks were computed with ``settings`` (and the ``virial`` flag).

        Compared: the stored ``QSnapSettings.to_json()`` (elements included), the column count
        and, if given, whether the six virial rows are stored.

        Args:
            settings: the expected :class:`~pyiron_appmlip.descriptors.settings.QSnapSettings`
                (or its JSON), with elements resolved.
            virial: the expected virial flag, or None to skip that comparison.
            hint: what to do about a mismatch (appended to the message).

        Raises:
            StoreSettingsError: naming the store's and the expected settings.
        """
        from .settings import QSnapSettings

        want = _settings_json(settings)
        want_columns = QSnapSettings.from_json(want).n_columns()
        try:
            have = None if self.settings_json is None else _settings_json(self.settings_json)
        except (TypeError, ValueError):  # not parseable as settings: reported as they are
            have = self.settings_json
        have_virial = self.metadata.get("virial")
        if (
            have == want
            and self.n_columns == want_columns
            and (virial is None or have_virial is None or bool(have_virial) == bool(virial))
        ):
            return
        store = f"settings {have}, n_columns {self.n_columns}, virial {have_virial}"
        expected = f"settings {want}, n_columns {want_columns}"
        if virial is not None:
            expected += f", virial {bool(virial)}"
        raise StoreSettingsError(
            f"the block store {self.path} was written with other settings than expected, so "
            f"its blocks are not used. Store: {store}. Expected: {expected}."
            + (f" {hint}" if hint else "")
        )

    # -- index --------------------------------------------------------------------------------
    def _read_index(self, f=None):
        import h5py

        if f is None:
            with h5py.File(self.path, "r") as f:
                return self._read_index(f)
        try:
            n, r = (int(v) for v in f["committed"][:])
            sizes = {name: f[name].shape[0] for name in _INDEX}
            if self.has_checksums:
                sizes["sha256"] = f["sha256"].shape[0]
            if not (0 <= n <= min(sizes.values()) and 0 <= r <= f["rows"].shape[0]):
                raise DamagedStoreError(
                    f"the block store {self.path} is damaged: its commit record says {n} "
                    f"configurations in {r} rows, but the file holds {min(sizes.values())} "
                    f"index entries and {f['rows'].shape[0]} rows. {_REPAIR_HINT}",
                    self.path,
                )
            ids = [_stored_id(v) for v in f["ids"][:n]]
            index = {
                "ids": ids,
                "offsets": f["offsets"][:n],
                "n_rows": f["n_rows"][:n],
                "n_atoms": f["n_atoms"][:n],
                "sha256": (
                    [bytes(v).decode("ascii", "replace") for v in f["sha256"][:n]]
                    if self.has_checksums
                    else None
                ),
                "n_committed_rows": r,
                "position": {cid: k for k, cid in enumerate(ids)},
            }
        except OSError as err:
            raise DamagedStoreError(
                f"the block store {self.path} is damaged: its index cannot be read ({err}). "
                f"{_REPAIR_HINT}",
                self.path,
            ) from err
        self._index = index
        return index

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
        """Atoms per configuration, store order."""
        return np.array(self._idx["n_atoms"])

    @property
    def n_rows(self) -> np.ndarray:
        """Rows per block, store order."""
        return np.array(self._idx["n_rows"])

    def content_digest(self) -> str:
        """SHA-256 over the stored ids and their per-configuration checksums, in store order.

        It changes whenever any stored block, id or the order changes, so it identifies the
        content a fit used. A store without checksums (format 1) is identified by its ids, size
        and modification time instead.
        """
        h = hashlib.sha256()
        idx = self._idx
        for cid in idx["ids"]:
            h.update(str(cid).encode())
        if idx.get("sha256"):
            for digest in idx["sha256"]:
                h.update(str(digest).encode())
        else:
            stat = os.stat(self.path)
            h.update(f"unverified:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return h.hexdigest()

    def done_ids(self) -> set[str]:
        """Ids already stored (for resuming; :meth:`verify` tells whether they are intact)."""
        return set(self._idx["ids"])

    # -- writing ------------------------------------------------------------------------------
    def append(self, config_id, block, n_atoms: int | None = None) -> None:
        """Append one configuration's block (committed when this returns)."""
        self.append_many([config_id], [block], None if n_atoms is None else [n_atoms])

    def append_many(
        self, ids: Sequence, blocks: Sequence, n_atoms: Sequence[int] | None = None
    ) -> None:
        """Append several blocks in one commit, each with its checksum.

        Args:
            ids: configuration ids, unique and not yet stored.
            blocks: one (1 + 3N [+ 6], n_columns) block per id.
            n_atoms: atoms per configuration; default: ``(rows - 1) // 3``.

        Raises:
            ValueError: for bad shapes, repeated or already stored ids, or a store written
                without checksums (format 1), which is never extended.
        """
        import h5py

        if not self.has_checksums:
            raise ValueError(
                f"the block store {self.path} has no checksums (older format) and is not "
                "extended; recompute it (compute_to_store sets it aside and starts anew)"
            )
        ids = [_as_id(i) for i in ids]
        if len(ids) != len(blocks):
            raise ValueError(f"got {len(ids)} ids for {len(blocks)} blocks")
        if not ids:
            return
        if len(set(ids)) != len(ids):
            raise ValueError("ids must be unique")
        blocks = [np.asarray(b, dtype=float) for b in blocks]
        if self.dtype == "float32":  # the checksum is of the values as stored
            blocks = [b.astype(np.float32).astype(np.float64) for b in blocks]
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
        digests = [
            block_digest(cid, n, b).encode() for cid, n, b in zip(ids, n_atoms, blocks, strict=True)
        ]
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
                ("sha256", np.array(digests, dtype=_SHA_DTYPE)),
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
        index["sha256"].extend(d.decode() for d in digests)
        index["n_committed_rows"] = r + int(n_rows.sum())
        for name, values in (("offsets", offsets), ("n_rows", n_rows), ("n_atoms", n_atoms)):
            index[name] = np.concatenate([index[name], values])
        self._index = index

    @staticmethod
    def _commit(f, n_configurations: int, n_rows: int) -> None:
        f["committed"][:] = np.array([n_configurations, n_rows], dtype=np.int64)
        f.flush()

    def trim(self) -> None:
        """Cut off anything after the committed configurations (left by an interrupted append).

        Raises:
            DamagedStoreError: if the commit record or the file structure is damaged (nothing is
                written then).
        """
        self._read_index()  # checks the commit record against the datasets' sizes
        try:
            self._trim()
        except OSError as err:
            raise DamagedStoreError(
                f"the block store {self.path} is damaged: it cannot be trimmed ({err}). "
                f"{_REPAIR_HINT}",
                self.path,
            ) from err
        self._index = None

    def _trim(self) -> None:
        """:meth:`trim` without the checks."""
        import h5py

        names = (*_INDEX, "sha256")
        with h5py.File(self.path, "r") as f:  # an intact file is not opened for writing
            m, r = (int(v) for v in f["committed"][:])
            if f["rows"].shape[0] == r and all(
                f[name].shape[0] == m for name in names if name in f
            ):
                return
        with h5py.File(self.path, "a") as f:
            m, r = (int(v) for v in f["committed"][:])
            if f["rows"].shape[0] != r:
                f["rows"].resize((r, self.n_columns))
            for name in names:
                if name in f and f[name].shape[0] != m:
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
                raise KeyError(
                    f"configuration {key!r} is not in the store {self.path} (if it should be, "
                    "the store is incomplete or damaged: AppmlipDescriptors.resume() or "
                    "compute_to_store computes what is missing)"
                )
            out.append(idx["position"][key])
        return out

    def _read_entries(self, rows, chunk: list[int]) -> tuple[dict, dict]:
        """Blocks of the entries ``chunk`` (positions) that pass their checks.

        Returns:
            ``(blocks, damaged)``: position -> block for the intact entries, position -> reason
            for the others.
        """
        idx = self._idx
        offsets, n_rows, r = idx["offsets"], idx["n_rows"], idx["n_committed_rows"]
        damaged, bounds = {}, {}
        for k in chunk:
            lo, n = int(offsets[k]), int(n_rows[k])
            if lo < 0 or n < 4 or lo + n > r:
                damaged[k] = "its index entry points outside the stored rows"
            else:
                bounds[k] = (lo, lo + n)
        blocks = {}
        todo = list(dict.fromkeys(bounds))
        if todo:
            lo = min(bounds[k][0] for k in todo)
            hi = max(bounds[k][1] for k in todo)
            try:
                if hi - lo == sum(bounds[k][1] - bounds[k][0] for k in todo):  # adjacent
                    slab = rows[lo:hi]
                    for k in todo:
                        blocks[k] = slab[bounds[k][0] - lo : bounds[k][1] - lo].copy()
                else:
                    for k in todo:
                        blocks[k] = rows[bounds[k][0] : bounds[k][1]]
            except OSError:  # an unreadable HDF5 chunk: find the entries it affects
                blocks = {}
                for k in todo:
                    try:
                        blocks[k] = rows[bounds[k][0] : bounds[k][1]]
                    except OSError as err:
                        damaged[k] = f"its rows cannot be read ({err})"
        for k, block in blocks.items():
            if block.dtype != np.float64:  # a float32 store: handed back as float64
                blocks[k] = block.astype(np.float64)
        digests = idx["sha256"]
        if digests is not None:
            for k, block in list(blocks.items()):
                if block_digest(idx["ids"][k], idx["n_atoms"][k], block) != digests[k]:
                    damaged[k] = "its SHA-256 checksum does not match"
                    del blocks[k]
        return blocks, damaged

    def _damage_message(self, damaged: dict, where: str) -> str:
        idx = self._idx
        parts = []
        for k in sorted(damaged):
            lo, n = int(idx["offsets"][k]), int(idx["n_rows"][k])
            parts.append(f"{idx['ids'][k]!r} (entry {k}, rows {lo}..{lo + n - 1}): {damaged[k]}")
        return (
            f"the block store {self.path} is damaged: {where} holds {len(damaged)} damaged "
            f"configuration(s): " + "; ".join(parts) + f". {_REPAIR_HINT}"
        )

    def iter_chunks(
        self, chunk_size: int = 64, ids: Iterable | None = None
    ) -> Iterator[tuple[list[str], list[np.ndarray]]]:
        """Yield ``(ids, blocks)`` for up to ``chunk_size`` configurations at a time.

        Each chunk is read with one contiguous read when its configurations are adjacent in the
        file, and every block is checked against its checksum before the chunk is yielded.

        Args:
            chunk_size: configurations per chunk (>= 1).
            ids: which configurations, in that order (default: all, in store order).

        Yields:
            ``(ids, blocks)`` of one chunk.

        Raises:
            DamagedStoreError: for a chunk with a damaged block, naming the file, the chunk
                (its number in this read) and the damaged configuration ids; the chunks
                before it were intact.
        """
        import h5py

        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        positions = self._positions(None if ids is None else list(ids))
        all_ids = self._idx["ids"]
        with h5py.File(self.path, "r") as f:
            rows = f["rows"]
            for c, start in enumerate(range(0, len(positions), int(chunk_size))):
                chunk = positions[start : start + int(chunk_size)]
                blocks, damaged = self._read_entries(rows, chunk)
                if damaged:
                    where = (
                        f"chunk {c} of this read (configurations {start}..{start + len(chunk) - 1}"
                        f" of {len(positions)} requested)"
                    )
                    raise DamagedStoreError(
                        self._damage_message(damaged, where),
                        self.path,
                        [all_ids[k] for k in sorted(damaged)],
                        sorted(damaged),
                    )
                seen: set[int] = set()
                out = []
                for k in chunk:  # an id asked for twice gets its own copy
                    out.append(blocks[k].copy() if k in seen else blocks[k])
                    seen.add(k)
                yield [all_ids[k] for k in chunk], out

    def iter_blocks(
        self, ids: Iterable | None = None, chunk_size: int = 64
    ) -> Iterator[np.ndarray]:
        """Yield blocks one at a time (``ids`` order, default store order), each verified."""
        for _, blocks in self.iter_chunks(chunk_size, ids):
            yield from blocks

    def get_blocks(self, ids: Iterable | None = None) -> list[np.ndarray]:
        """All requested blocks in memory (for small sets), each verified."""
        return list(self.iter_blocks(ids))

    def get_block(self, config_id) -> np.ndarray:
        """The verified block of one configuration."""
        return self.get_blocks([config_id])[0]

    # -- integrity ----------------------------------------------------------------------------
    def verify(self, chunk_size: int = 64) -> dict:
        """Check every committed block against its checksum and index entry.

        Args:
            chunk_size: configurations read at a time.

        Returns:
            A dict with ``path``, ``n_configurations``, ``n_verified`` (blocks that pass),
            ``n_unverified`` (blocks of a store without checksums, which cannot be checked),
            ``damaged`` (ids of the blocks that fail, store order), ``damaged_positions`` and
            ``reasons`` (one per damaged block).

        Raises:
            DamagedStoreError: if the index itself cannot be read.
        """
        import h5py

        idx = self._read_index()
        n = len(idx["ids"])
        damaged = {}
        with h5py.File(self.path, "r") as f:
            rows = f["rows"]
            for start in range(0, n, max(1, int(chunk_size))):
                _, bad = self._read_entries(rows, list(range(start, min(n, start + chunk_size))))
                damaged.update(bad)
        keys = sorted(damaged)
        checked = self.has_checksums
        return {
            "path": self.path,
            "n_configurations": n,
            "n_verified": n - len(keys) if checked else 0,
            "n_unverified": 0 if checked else n - len(keys),
            "damaged": [idx["ids"][k] for k in keys],
            "damaged_positions": keys,
            "reasons": [damaged[k] for k in keys],
        }

    def repair(self) -> dict:
        """Verify the store; set a damaged or unverified file aside and keep the intact blocks.

        When a block fails its check, the file is renamed to ``<name>.damaged`` and a new store
        holding the verified blocks (same order, same settings) takes its place; the damaged
        configurations are then simply missing and are recomputed by
        :func:`~pyiron_appmlip.descriptors.compute.compute_to_store`.
        A store without checksums (older format) is renamed to ``<name>.unverified`` and
        replaced by an empty store. An intact store is left untouched.

        Returns:
            The :meth:`verify` report plus ``set_aside``: the path the old file was moved to,
            or None.
        """
        import h5py

        report = self.verify()
        report["set_aside"] = None
        if self.has_checksums and not report["damaged"]:
            return report
        aside = self.path + (".damaged" if self.has_checksums else ".unverified")
        bad = set(report["damaged_positions"])
        keep = (
            [k for k in range(report["n_configurations"]) if k not in bad]
            if self.has_checksums
            else []
        )
        with h5py.File(self.path, "r") as f:
            chunk_rows = f["rows"].chunks[0]
            attrs = {k: v for k, v in f.attrs.items()}
        tmp = self.path + ".repairing"
        new = BlockStore.create(
            tmp, self.n_columns, self.metadata, chunk_rows=chunk_rows, settings=self.settings_json
        )
        with h5py.File(tmp, "a") as f:
            for k, v in attrs.items():
                if k not in f.attrs:
                    f.attrs[k] = v
        idx = self._idx
        with h5py.File(self.path, "r") as f:
            rows = f["rows"]
            for start in range(0, len(keep), 256):
                part = keep[start : start + 256]
                blocks, bad = self._read_entries(rows, part)
                part = [k for k in part if k not in bad]  # (changed since verify: skip too)
                new.append_many(
                    [idx["ids"][k] for k in part],
                    [blocks[k] for k in part],
                    [int(idx["n_atoms"][k]) for k in part],
                )
        os.replace(self.path, aside)
        os.replace(tmp, self.path)
        self.__init__(self.path)
        report["set_aside"] = aside
        return report


def _settings_json(settings) -> str:
    """Canonical ``QSnapSettings.to_json()`` of settings given as an object, dict or JSON."""
    from .settings import QSnapSettings

    if isinstance(settings, str):
        settings = QSnapSettings.from_json(settings)
    elif not isinstance(settings, QSnapSettings):
        settings = QSnapSettings.make(settings)
    return settings.to_json()


# -- names that moved ---------------------------------------------------------------------------
_MOVED = {
    "compute_to_store": "pyiron_appmlip.descriptors.compute",
    "check_min_distance": "pyiron_appmlip.descriptors.compute",
    "default_n_processes": "pyiron_appmlip.descriptors.compute",
}


def __getattr__(name):
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(
            f"pyiron_appmlip.descriptors.store.{name} has moved to {_MOVED[name]}.{name}; "
            "import it from there (this module holds only the block store)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
