"""Streamed sufficient statistics for the weighted linear fit (the paper's equations 1-3), with
stress rows.

For a configuration m with descriptor block ``X_m`` (shape (1 + 3 N_m, p): total-energy row, then
force rows x, y, z atom by atom; optionally six virial rows after them) the fit matrix gets a
constant per-atom reference-energy column (N_m on the energy row, 0 on force and stress rows).
Written per atom, the energy row is ``[1, X_m[0] / N_m]`` with label ``E_m / N_m`` and the force
rows are ``[0, X_m[1:1 + 3 N_m]]`` with labels ``F_m.ravel()``. With virial rows ``V_m`` (6, p)
and the cell volume ``Omega_m`` the six stress rows are ``[0, -V_m / Omega_m]`` with labels the
stress ``sigma_m`` (Voigt xx, yy, zz, yz, xz, xy, eV/Angstrom^3, ASE's sign). Eq. 1 becomes

    L(beta) = w_E^2 ||A_E beta - y_E||^2 + w_F^2 ||A_F beta - y_F||^2
              + w_S^2 ||A_S beta - y_S||^2,

and with ``w_S = 0`` (the default) it is eq. 1 exactly.

Stress convention (derivation). The virial rows of LAMMPS ``compute snap`` are, per descriptor
column k, LAMMPS' virial of the "potential" ``E = B_k``: ``W_ab = sum_i r_ia f_ib``, which for a
homogeneous strain ``eps`` of cell and positions is ``W_ab = -dE/d eps_ab`` (positive under
compression; LAMMPS' pressure is ``P = W / Omega`` at 0 K). The model energy ``E(beta)`` is
linear in the columns (the constant and element-count columns do not depend on strain), so its
virial is ``V_m @ beta[1:]`` and its ASE stress ``sigma = (1/Omega) dE/d eps = -V_m beta / Omega``.
The stress rows above therefore *predict ASE's stress of the model*: ``A_S @ beta`` is
``model stress`` in eV/Angstrom^3, positive under tension, directly comparable with the stored
labels (tested against finite differences of the model energy on strained cells with LAMMPS
descriptors). Side by side::

                     this package                        FitSNAP (fitsnap3 3.1.0.4)
    stress row       -virial / volume  (eV/A^3)          1.6021765e6 * virial / volume (bar)
    stress label     sigma_ASE (eV/A^3, + = tension)     Stress (bar, LAMMPS pressure sign,
                                                         + = compression = -sigma_ASE)
    components       xx yy zz yz xz xy                   Stress[[0,1,2,1,0,0],[0,1,2,2,2,1]]
    weight           w_S on eV/A^3 residuals             vweight on bar residuals

Both rows and labels differ by the factor -1.6021765e6, so FitSNAP's ``vweight`` is
``w_S = 1.6021765e6 * vweight`` here (its energy and force rows are the same as these, with
``eweight = w_E``, ``fweight = w_F``; see ``fitsnap3lib/calculators/lammps_snap.py``,
``_collect_lammps``: ``vb_sum_temp = 1.6021765e6 * lmp_snap[virial rows] / lmp_volume``).

:class:`SufficientStatistics` keeps, separately for energy rows, force rows and stress rows, the R
factor of the augmented matrix ``[A | y_level_1 | y_level_2 | ...]`` (n = p + 1 + n_levels
columns): for any coefficient vector ``v = [beta, -1]`` restricted to the columns of one level,
``||[A, y_l] v|| = ||R[:, cols] v||``. Stacking ``[w_E R_E; w_F R_F; w_S R_S]`` therefore gives
the weighted problem for any weights and any level in an (at most) 3n x n matrix, and the same
factors give training/testing errors without another pass over the data.

Rows are collected in a bounded buffer and folded into the (n, n) triangle by a Householder
update (LAPACK ``dtpqrt``), so memory is O(n^2) per factor whatever the number of
configurations; the Gram matrix (which squares the condition number) is never formed.

Missing labels: configurations are grouped by partition and by their *label mask* (which of
the declared levels they carry). Each group has its own factors with only its present label
columns. A fit or error evaluation for level ``l`` stacks the factors of every group in the
partition whose mask contains ``l``. With all levels present (the usual case) there is one group
per partition; memory is O(n^2 x number of distinct masks).

Missing stresses are left out row by row: a stress that is None or NaN (a configuration
without a recorded stress, or a block without virial rows) gives no stress rows, and a NaN
component drops only that row. Within a group the stress rows are kept in one R factor per
*stress mask* (the levels at which that row's label is recorded), usually one.

Weight factors: a configuration may carry factors ``(f_E, f_F, f_S)`` (e.g. from its structure
group) that multiply ``w_E``, ``w_F``, ``w_S`` for its rows. They are fixed when the
configuration is added: configurations with the same factors share one group (its R factors
hold the unscaled rows; the factors are applied when the fit stacks them), so every
``(w_E, w_F, w_S)`` still comes from the same statistics, and errors stay plain (unweighted)
RMSEs. All factors 1 (the default) is the single group of before, with bitwise the same fits.

Configuration weights: a configuration added with ``weight=w`` counts as w configurations
(e.g. a test configuration drawn with probability pi carries w = 1 / pi, so that errors of a
small test set estimate those of the pool it was drawn from). Its rows are scaled by sqrt(w)
before they enter the R factors, its row counts by w (:attr:`_StreamedR.weight_seen`) and its
per-atom energy row by w in the column sums, so every RMSE is the weighted mean of the squared
errors (energies per configuration, forces and stresses per component). A fit of a weighted
partition weights its rows the same way. Weight 1 (the default) leaves rows and sums bitwise
unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ._linalg import triangular_update
from .validation import (
    _positive_finite,
    check_block,
    check_factors,
    check_labels,
    check_stress,
    check_subset_size,
    check_volume,
)

__all__ = ["SufficientStatistics", "add_configuration", "iter_checkpoints"]

_FORMAT = "pyiron_appmlip.core.SufficientStatistics"
_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_CHUNK_BYTES = 256 << 20
_UNIT_FACTORS = (1.0, 1.0, 1.0)


def _default_chunk_rows(n_columns: int) -> int:
    return int(max(1024, min(4 * n_columns, _CHUNK_BYTES // (8 * n_columns))))


def _small_chunk_rows(chunk_rows: int, n_columns: int) -> int:
    """Buffer size of the factors that get few rows per configuration (energy, stress)."""
    return min(chunk_rows, max(256, n_columns // 2))


class _StreamedR:
    """R factor (n, n) of all rows seen, plus a buffer of at most ``chunk_rows`` pending rows."""

    __slots__ = ("r", "rows_seen", "extra_weight", "chunk_rows", "_buf", "_filled")

    def __init__(self, n_columns: int, chunk_rows: int):
        self.r = np.zeros((n_columns, n_columns), order="F")
        self.rows_seen = 0
        self.extra_weight = 0.0  # sum of (row weight - 1) over the rows seen
        self.chunk_rows = int(chunk_rows)
        self._buf = None
        self._filled = 0

    def __getstate__(self) -> dict:
        # the row buffer is scratch space of chunk_rows rows (e.g. 8 MB at 2Jmax 6): a pickle
        # (what an executor sends to every task) holds only the rows still pending in it
        pending = None
        if self._buf is not None and self._filled:
            pending = np.array(self._buf[: self._filled], order="F")
        r = self.r
        if not np.tril(r, -1).any():  # an R factor: its upper triangle is all of it
            r = ("upper", r.shape[0], r[np.triu_indices(r.shape[0])])
        return {
            "r": r,
            "rows_seen": self.rows_seen,
            "extra_weight": self.extra_weight,
            "chunk_rows": self.chunk_rows,
            "pending": pending,
        }

    def __setstate__(self, state: dict) -> None:
        r = state["r"]
        if isinstance(r, tuple):  # the packed upper triangle
            _, n, values = r
            r = np.zeros((n, n), order="F")
            r[np.triu_indices(n)] = values
        self.r = r
        self.rows_seen = state["rows_seen"]  # pending rows are counted when taken
        self.extra_weight = state["extra_weight"]
        self.chunk_rows = state["chunk_rows"]
        self._buf, self._filled = None, 0
        pending = state["pending"]
        if pending is not None:
            self._buf = np.empty((self.chunk_rows, self.r.shape[1]), order="F")
            self._buf[: len(pending)] = pending
            self._filled = len(pending)

    @property
    def weight_seen(self) -> float:
        """The rows seen, each counted with its configuration's weight (``rows_seen`` when
        every weight is 1)."""
        return self.rows_seen + self.extra_weight

    def take(self, k: int, weight: float = 1.0) -> np.ndarray:
        """Return a writable (k, n) view for k new rows (k <= chunk_rows); caller fills it
        (rows of a configuration of weight ``weight`` already scaled by its square root)."""
        if self._filled + k > self.chunk_rows:
            self.flush()
        if self._buf is None:
            self._buf = np.empty((self.chunk_rows, self.r.shape[1]), order="F")
        view = self._buf[self._filled : self._filled + k]
        self._filled += k
        self.rows_seen += k
        if weight != 1.0:
            self.extra_weight += (weight - 1.0) * k
        return view

    def flush(self) -> None:
        if self._filled == 0:
            return
        if self._filled == self.chunk_rows:
            triangular_update(self.r, self._buf)  # the buffer is scratch space
        else:
            triangular_update(self.r, np.asfortranarray(self._buf[: self._filled]))
        self._filled = 0

    def used(self) -> np.ndarray:
        """The (n, n) R factor with all pending rows folded in.

        All n rows are returned even when fewer rows were seen: the triangle-on-rectangle
        update places the non-zero rows by column pivots (e.g. the constant column is zero on
        force rows), not in the first ``rows_seen`` rows.
        """
        self.flush()
        return self.r

    def release(self) -> None:
        """Fold pending rows in and free the row buffer (allocated again by :meth:`take`)."""
        self.flush()
        self._buf = None

    def absorb(self, other: _StreamedR) -> None:
        """Add all rows of ``other`` (not modified) to this factor."""
        self.flush()
        triangular_update(self.r, np.array(other.used(), order="F"))
        self.rows_seen += other.rows_seen
        self.extra_weight += other.extra_weight

    def copy(self) -> _StreamedR:
        self.flush()
        new = _StreamedR(self.r.shape[1], self.chunk_rows)
        new.r[...] = self.r
        new.rows_seen = self.rows_seen
        new.extra_weight = self.extra_weight
        return new


class _Group:
    """Factors and counts of the configurations of one partition sharing one label mask and one
    set of weight factors.

    ``stress`` maps a stress mask (per present level: is that row's stress label recorded) to
    the R factor of those stress rows. ``stress_counts`` holds, per present level, the
    configurations with at least one stress row and the number of stress rows;
    ``stress_configs`` counts the configurations with a stress row at any level.
    """

    __slots__ = (
        "mask",
        "factors",
        "label_columns",
        "energy",
        "force",
        "stress",
        "energy_sum",
        "counts",
        "stress_counts",
        "stress_configs",
        "_chunk_rows",
    )

    def __init__(
        self,
        n_descriptors: int,
        levels: Sequence,
        mask: tuple,
        chunk_rows: int,
        factors: tuple = _UNIT_FACTORS,
    ):
        self.mask = mask
        self.factors = tuple(factors)
        present = [lv for lv, m in zip(levels, mask, strict=True) if m]
        self.label_columns = {lv: n_descriptors + 1 + j for j, lv in enumerate(present)}
        n = n_descriptors + 1 + len(present)
        self.energy = _StreamedR(n, _small_chunk_rows(chunk_rows, n))
        self.force = _StreamedR(n, chunk_rows)
        self.stress: dict[tuple, _StreamedR] = {}
        self.energy_sum = np.zeros(n)
        self.counts = np.zeros(3, dtype=np.int64)  # configurations, atoms, force components
        self.stress_counts = np.zeros((len(present), 2), dtype=np.int64)
        self.stress_configs = 0  # configurations with a stress row at any level
        self._chunk_rows = chunk_rows

    def stress_factor(self, smask: tuple) -> _StreamedR:
        part = self.stress.get(smask)
        if part is None:
            n = self.energy.r.shape[1]
            part = self.stress[smask] = _StreamedR(n, _small_chunk_rows(self._chunk_rows, n))
        return part

    def stress_parts(self, level) -> list[_StreamedR]:
        """The stress R factors whose rows have labels at ``level`` (flushed)."""
        j = list(self.label_columns).index(level)
        out = []
        for smask, part in self.stress.items():
            if smask[j]:
                part.flush()
                out.append(part)
        return out

    def flush(self) -> None:
        self.energy.flush()
        self.force.flush()
        for part in self.stress.values():
            part.flush()

    def release(self) -> None:
        self.energy.release()
        self.force.release()
        for part in self.stress.values():
            part.release()

    def copy(self) -> _Group:
        new = object.__new__(_Group)
        new.mask = self.mask
        new.factors = self.factors
        new.label_columns = dict(self.label_columns)
        new.energy = self.energy.copy()
        new.force = self.force.copy()
        new.stress = {k: v.copy() for k, v in self.stress.items()}
        new.energy_sum = self.energy_sum.copy()
        new.counts = self.counts.copy()
        new.stress_counts = self.stress_counts.copy()
        new.stress_configs = self.stress_configs
        new._chunk_rows = self._chunk_rows
        return new


def _check_weight(weight) -> float:
    """A configuration weight: a real number (not a bool or a string), finite and > 0."""
    if isinstance(weight, bool) or not isinstance(weight, int | float | np.integer | np.floating):
        raise ValueError(f"weight must be a finite number > 0, got {weight!r}")
    return _positive_finite(weight, "weight")


def _check_level_name(level) -> None:
    if isinstance(level, bool) or not isinstance(level, int | str):
        raise ValueError(f"levels must be ints or strings, got {level!r}")


class SufficientStatistics:
    """Streamed R factors, counts and sums for weighted fits and errors (see module docstring).

    Memory: per (partition, label mask, weight factors) two (n, n) float64 triangles, n = p + 1
    + n_levels, plus one per stress mask when stresses are added, plus the row buffers.
    Configuration ids (if given) are the only per-configuration state.

    Args:
        n_descriptors: p, the number of descriptor columns of every block (the constant column
            is added here).
        levels: names (int or str) of the label sets, e.g. DFT convergence levels
            ``(1, ..., 6)``. Empty for label-free statistics (leverage scores).
        chunk_rows: maximum number of pending force rows held before they are folded into the
            factor. Default: about 4 n, capped at 256 MiB of buffer.
    """

    def __init__(self, n_descriptors: int, levels: Iterable = (), chunk_rows: int | None = None):
        p = int(n_descriptors)
        if p < 1:
            raise ValueError(f"n_descriptors must be >= 1, got {n_descriptors!r}")
        levels = tuple(levels)
        for lv in levels:
            _check_level_name(lv)
        if len(set(levels)) != len(levels):
            raise ValueError(f"levels must be unique, got {levels!r}")
        self.n_descriptors = p
        self.levels = levels
        n_max = p + 1 + len(levels)
        self.chunk_rows = int(chunk_rows) if chunk_rows is not None else _default_chunk_rows(n_max)
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows!r}")
        self._groups: dict[tuple[str, tuple, tuple], _Group] = {}
        self._ids: dict[str, list] = {}
        self._id_sets: dict[str, set] = {}

    # ------------------------------------------------------------------ adding data
    def add(
        self,
        block,
        labels: Mapping | None = None,
        partition: str = "train",
        config_id: Hashable | None = None,
        n_atoms: int | None = None,
        *,
        virial: bool = False,
        volume: float | None = None,
        factors: Sequence[float] | None = None,
        weight: float = 1.0,
    ) -> None:
        """Add one configuration.

        Args:
            block: (1 + 3 N, p) descriptor rows, or (1 + 3 N + 6, p) with ``virial=True``.
            labels: ``{level: (energy_eV, forces (N, 3))}`` or ``{level: (energy_eV, forces,
                stress)}`` for any subset of :attr:`levels` (None or {} for none). ``stress`` is
                None (not recorded), six numbers (Voigt xx, yy, zz, yz, xz, xy) or a 3x3 tensor,
                in eV/Angstrom^3 with ASE's sign; NaN components are left out.
            partition: e.g. "train" or "test".
            config_id: optional int/str id, recorded per partition; adding an id twice is an
                error.
            n_atoms: N, checked against the number of rows of ``block`` (default: taken from
                them).
            virial: the block ends with the six virial rows (xx, yy, zz, yz, xz, xy, eV, as
                ``compute_qsnap_blocks(..., virial=True)`` returns them).
            volume: the cell volume in Angstrom^3; needed when a stress label is recorded.
            factors: ``(f_E, f_F, f_S)`` multiplying the fit's energy, force and stress weights
                for this configuration's rows (default: all 1). They do not change errors.
            weight: how many configurations this one counts as (a finite number > 0, default
                1), e.g. 1 / pi for a test configuration drawn with probability pi: its
                squared errors enter every RMSE of its partition (and its rows every fit of
                it) w times.

        Raises:
            ValueError: on malformed input, a weight that is not a finite number > 0, a
                recorded stress for a block without virial rows, or a recorded stress without
                ``volume``.
        """
        if not isinstance(partition, str) or not partition:
            raise ValueError(f"partition must be a non-empty string, got {partition!r}")
        virial = bool(virial)
        x, n = check_block(block, self.n_descriptors, n_atoms, virial=virial)
        factors = check_factors(factors)
        weight = _check_weight(weight)
        labels = {} if labels is None else labels
        unknown = [lv for lv in labels if lv not in self.levels]
        if unknown:
            raise ValueError(
                f"labels has level(s) {unknown!r} that are not declared; allowed levels: "
                f"{list(self.levels)!r}"
            )
        present = [lv for lv in self.levels if lv in labels]
        values = []
        stresses = []
        for lv in present:
            item = labels[lv]
            if len(item) not in (2, 3):
                raise ValueError(
                    f"labels[{lv!r}] must be a pair (energy, forces) or a triple "
                    "(energy, forces, stress)"
                )
            values.append(check_labels(item[0], item[1], n, name=f"labels[{lv!r}]"))
            stresses.append(
                check_stress(item[2], name=f"labels[{lv!r}]") if len(item) == 3 else None
            )
        with_stress = any(st is not None for st in stresses)
        if with_stress:
            if not virial:
                raise ValueError(
                    "a stress label needs the block's six virial rows: pass virial=True with a "
                    "(1 + 3 N + 6, p) block (compute_qsnap_blocks(..., virial=True)), or leave "
                    "the stress out (None)"
                )
            if volume is None:
                raise ValueError(
                    "a stress label needs the cell volume (volume=, Angstrom^3) to turn the "
                    "virial rows into stress rows"
                )
            volume = check_volume(volume)
        if config_id is not None:
            if isinstance(config_id, np.integer):
                config_id = int(config_id)
            if not isinstance(config_id, int | str):
                raise ValueError(f"config_id must be an int or str, got {config_id!r}")
            if config_id in self._id_sets.get(partition, ()):
                raise ValueError(
                    f"config_id {config_id!r} was already added to partition {partition!r}"
                )
        mask = tuple(lv in labels for lv in self.levels)
        key = (partition, mask, factors)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(
                self.n_descriptors, self.levels, mask, self.chunk_rows, factors
            )
        p = self.n_descriptors

        row = group.energy.take(1, weight)[0]
        row[0] = 1.0
        row[1 : p + 1] = x[0] / n
        for j, (e, _) in enumerate(values):
            row[p + 1 + j] = e / n
        if weight == 1.0:
            group.energy_sum += row
        else:
            group.energy_sum += weight * row
            row *= np.sqrt(weight)

        n_rows = 3 * n
        start = 0
        while start < n_rows:
            k = min(n_rows - start, group.force.chunk_rows)
            rows = group.force.take(k, weight)
            rows[:, 0] = 0.0
            rows[:, 1 : p + 1] = x[1 + start : 1 + start + k]
            for j, (_, f) in enumerate(values):
                rows[:, p + 1 + j] = f.reshape(-1)[start : start + k]
            if weight != 1.0:
                rows *= np.sqrt(weight)
            start += k
        group.counts += (1, n, n_rows)

        if with_stress:
            self._add_stress_rows(group, x[1 + n_rows :], stresses, volume, weight)
        if config_id is not None:
            self._ids.setdefault(partition, []).append(config_id)
            self._id_sets.setdefault(partition, set()).add(config_id)

    def _add_stress_rows(
        self, group: _Group, virial_rows, stresses, volume: float, weight: float = 1.0
    ) -> None:
        """The stress rows ``[0, -virial / volume]`` of one configuration, row by row into the
        factor of the levels at which that row's label is recorded."""
        p = self.n_descriptors
        recorded = np.array(
            [np.zeros(6, bool) if st is None else np.isfinite(st) for st in stresses]
        )  # (present levels, 6)
        for k in range(6):
            smask = tuple(bool(b) for b in recorded[:, k])
            if not any(smask):
                continue
            row = group.stress_factor(smask).take(1, weight)[0]
            row[0] = 0.0
            row[1 : p + 1] = -virial_rows[k] / volume
            for j, st in enumerate(stresses):
                row[p + 1 + j] = st[k] if smask[j] else 0.0
            if weight != 1.0:
                row *= np.sqrt(weight)
        group.stress_counts[:, 0] += recorded.any(axis=1)
        group.stress_counts[:, 1] += recorded.sum(axis=1)
        group.stress_configs += int(recorded.any())

    def add_many(
        self,
        blocks: Sequence,
        labels: Sequence[Mapping] | None = None,
        partition: str = "train",
        config_ids: Sequence | None = None,
        *,
        virial: bool = False,
        volumes: Sequence | None = None,
        factors: Sequence | None = None,
    ) -> None:
        """Add configurations in order.

        Args:
            blocks: descriptor blocks, as in :meth:`add`.
            labels: per-configuration list of labels, as in :meth:`add`.
            partition: e.g. "train" or "test".
            config_ids: per-configuration list of ids.
            virial: every block ends with six virial rows.
            volumes: per-configuration cell volumes (Angstrom^3), needed with stress labels.
            factors: per-configuration ``(f_E, f_F, f_S)`` weight factors.
        """
        for name, seq in (
            ("labels", labels),
            ("config_ids", config_ids),
            ("volumes", volumes),
            ("factors", factors),
        ):
            if seq is not None and len(seq) != len(blocks):
                raise ValueError(f"{name} has {len(seq)} entries but blocks has {len(blocks)}")
        for i, block in enumerate(blocks):
            self.add(
                block,
                None if labels is None else labels[i],
                partition,
                None if config_ids is None else config_ids[i],
                virial=virial,
                volume=None if volumes is None else volumes[i],
                factors=None if factors is None else factors[i],
            )

    def flush(self) -> None:
        """Fold all pending rows into the factors (done automatically when needed)."""
        for g in self._groups.values():
            g.flush()

    # ------------------------------------------------------------------ queries
    @property
    def partitions(self) -> list[str]:
        """Names of the partitions that hold at least one configuration."""
        return sorted({key[0] for key in self._groups})

    def config_ids(self, partition: str = "train") -> list:
        """Recorded configuration ids of a partition, in insertion order (merges append)."""
        return list(self._ids.get(partition, []))

    def _selected(self, partition: str | None, level) -> Iterator[_Group]:
        for key, g in self._groups.items():
            if partition is not None and key[0] != partition:
                continue
            if level is not None and level not in g.label_columns:
                continue
            yield g

    def _counts(self, partition: str | None, level) -> np.ndarray:
        total = np.zeros(3, dtype=np.int64)
        for g in self._selected(partition, level):
            total += g.counts
        return total

    def n_configs(self, partition: str | None = None, level=None) -> int:
        """Number of configurations (in a partition / with labels at a level; None = all)."""
        return int(self._counts(partition, level)[0])

    def n_atoms(self, partition: str | None = None, level=None) -> int:
        """Number of atoms (same filters as :meth:`n_configs`)."""
        return int(self._counts(partition, level)[1])

    def n_force_components(self, partition: str | None = None, level=None) -> int:
        """Number of force components, 3 x atoms (same filters as :meth:`n_configs`)."""
        return int(self._counts(partition, level)[2])

    def _stress_count(self, partition: str | None, level, column: int) -> int:
        total = 0
        for g in self._selected(partition, level):
            if level is not None:
                total += int(g.stress_counts[list(g.label_columns).index(level), column])
            elif column == 1:
                total += sum(part.rows_seen for part in g.stress.values())
            else:
                total += g.stress_configs
        return total

    def n_stress_configs(self, partition: str | None = None, level=None) -> int:
        """Configurations with at least one recorded stress component (at ``level``; None:
        at any level)."""
        return self._stress_count(partition, level, 0)

    def n_stress_components(self, partition: str | None = None, level=None) -> int:
        """Number of stress rows (recorded Voigt components; same filters as :meth:`n_configs`;
        with ``level=None`` every stored stress row once)."""
        return self._stress_count(partition, level, 1)

    def _resolve_level(self, level):
        if level is None:
            if len(self.levels) != 1:
                raise ValueError(
                    f"level must be given and one of {list(self.levels)!r} (statistics hold "
                    f"{len(self.levels)} levels)"
                )
            return self.levels[0]
        if level not in self.levels:
            raise ValueError(
                f"level {level!r} is not one of the declared levels {list(self.levels)!r}"
            )
        return level

    def _groups_for(self, partition: str, level=None, require_level: bool = False) -> list[_Group]:
        """Flushed groups of ``partition`` (that carry ``level`` if ``require_level``)."""
        if require_level:
            level = self._resolve_level(level)
        groups = [g for key, g in self._groups.items() if key[0] == partition]
        if not groups:
            raise ValueError(
                f"partition {partition!r} has no configurations; partitions with data: "
                f"{self.partitions!r}"
            )
        if require_level:
            groups = [g for g in groups if level in g.label_columns]
            if not groups:
                raise ValueError(
                    f"partition {partition!r} has no configurations with labels at level {level!r}"
                )
        for g in groups:
            g.flush()
        return groups

    def release_buffers(self) -> None:
        """Fold pending rows in and free the row buffers, leaving only the R factors in memory
        (for statistics that are kept but not added to for a while); adding rows allocates
        them again."""
        for g in self._groups.values():
            g.release()

    # ------------------------------------------------------------------ copy / merge / io
    def _empty_like(self) -> SufficientStatistics:
        return SufficientStatistics(self.n_descriptors, self.levels, self.chunk_rows)

    def copy(self) -> SufficientStatistics:
        """Independent deep copy (pending rows are folded in first)."""
        new = self._empty_like()
        new._groups = {k: g.copy() for k, g in self._groups.items()}
        new._ids = {k: list(v) for k, v in self._ids.items()}
        new._id_sets = {k: set(v) for k, v in self._id_sets.items()}
        return new

    def merge(self, other: SufficientStatistics) -> SufficientStatistics:
        """New statistics equal to one accumulator fed with the data of both (any order)."""
        if not isinstance(other, SufficientStatistics):
            raise ValueError(f"other must be a SufficientStatistics, got {type(other).__name__}")
        if other.n_descriptors != self.n_descriptors:
            raise ValueError(
                f"cannot merge statistics with n_descriptors {self.n_descriptors} and "
                f"{other.n_descriptors}"
            )
        if other.levels != self.levels:
            raise ValueError(
                f"cannot merge statistics with levels {self.levels!r} and {other.levels!r}"
            )
        for part, ids in other._id_sets.items():
            common = ids & self._id_sets.get(part, set())
            if common:
                raise ValueError(
                    f"config ids {sorted(map(str, common))[:5]!r} are in both statistics "
                    f"(partition {part!r}); merging would count them twice"
                )
        new = self.copy()
        for key, g in other._groups.items():
            mine = new._groups.get(key)
            if mine is None:
                new._groups[key] = g.copy()
                continue
            mine.energy.absorb(g.energy)
            mine.force.absorb(g.force)
            for smask, part in g.stress.items():
                if smask in mine.stress:
                    mine.stress[smask].absorb(part)
                else:
                    mine.stress[smask] = part.copy()
            mine.energy_sum += g.energy_sum
            mine.counts += g.counts
            mine.stress_counts += g.stress_counts
            mine.stress_configs += g.stress_configs
        for part, ids in other._ids.items():
            new._ids.setdefault(part, []).extend(ids)
            new._id_sets.setdefault(part, set()).update(ids)
        return new

    def to_dict(self) -> dict[str, np.ndarray]:
        """Plain dict of numpy arrays (HDF5-friendly); inverse of :meth:`from_dict`.

        Returns:
            ``meta_json``, a uint8 array holding UTF-8 JSON (format version 2: levels,
            partitions, masks, weight factors, counts, stress masks and counts, ids), and
            ``group_<i>_{energy_r,force_r,energy_sum}`` and ``group_<i>_stress_<k>_r``,
            float64 arrays.
        """
        self.flush()
        groups_meta = []
        out: dict[str, np.ndarray] = {}
        for i, ((part, mask, factors), g) in enumerate(
            sorted(self._groups.items(), key=lambda kv: kv[0])
        ):
            groups_meta.append(
                {
                    "partition": part,
                    "mask": [bool(m) for m in mask],
                    "factors": [float(f) for f in factors],
                    "counts": [int(c) for c in g.counts],
                    "energy_rows": g.energy.rows_seen,
                    "force_rows": g.force.rows_seen,
                    "energy_extra_weight": float(g.energy.extra_weight),
                    "force_extra_weight": float(g.force.extra_weight),
                    "stress": [
                        {
                            "mask": [bool(m) for m in smask],
                            "rows": sp.rows_seen,
                            "extra_weight": float(sp.extra_weight),
                        }
                        for smask, sp in g.stress.items()
                    ],
                    "stress_counts": g.stress_counts.tolist(),
                    "stress_configs": int(g.stress_configs),
                }
            )
            out[f"group_{i}_energy_r"] = np.ascontiguousarray(g.energy.used())
            out[f"group_{i}_force_r"] = np.ascontiguousarray(g.force.used())
            out[f"group_{i}_energy_sum"] = g.energy_sum.copy()
            for k, sp in enumerate(g.stress.values()):
                out[f"group_{i}_stress_{k}_r"] = np.ascontiguousarray(sp.used())
        meta = {
            "format": _FORMAT,
            "version": _VERSION,
            "n_descriptors": self.n_descriptors,
            "levels": list(self.levels),
            "chunk_rows": self.chunk_rows,
            "groups": groups_meta,
            "config_ids": self._ids,
        }
        out["meta_json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8).copy()
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> SufficientStatistics:
        """Rebuild statistics saved with :meth:`to_dict` (format version 2, or version 1:
        without stresses and weight factors)."""
        if "meta_json" not in data:
            raise ValueError(
                "data must contain 'meta_json' (written by SufficientStatistics.to_dict)"
            )
        raw = data["meta_json"]
        if isinstance(raw, str | bytes):
            text = raw if isinstance(raw, str) else raw.decode()
        else:
            text = np.asarray(raw, dtype=np.uint8).tobytes().decode()
        meta = json.loads(text)
        if meta.get("format") != _FORMAT or meta.get("version") not in _READABLE_VERSIONS:
            raise ValueError(
                f"unsupported statistics format {meta.get('format')!r} version "
                f"{meta.get('version')!r}; expected {_FORMAT!r} version "
                f"{' or '.join(map(str, _READABLE_VERSIONS))}"
            )
        new = cls(meta["n_descriptors"], meta["levels"], meta["chunk_rows"])
        for i, gm in enumerate(meta["groups"]):
            mask = tuple(bool(m) for m in gm["mask"])
            factors = check_factors(gm.get("factors"), name=f"group {i} factors")
            g = _Group(new.n_descriptors, new.levels, mask, new.chunk_rows, factors)
            for part, key, rows in (
                (g.energy, "energy", gm["energy_rows"]),
                (g.force, "force", gm["force_rows"]),
            ):
                part.r[...] = np.asarray(data[f"group_{i}_{key}_r"], dtype=float)
                part.rows_seen = int(rows)
                part.extra_weight = float(gm.get(f"{key}_extra_weight", 0.0))
            for k, sm in enumerate(gm.get("stress", [])):
                sp = g.stress_factor(tuple(bool(m) for m in sm["mask"]))
                sp.r[...] = np.asarray(data[f"group_{i}_stress_{k}_r"], dtype=float)
                sp.rows_seen = int(sm["rows"])
                sp.extra_weight = float(sm.get("extra_weight", 0.0))
            if "stress_counts" in gm:
                g.stress_counts[...] = np.asarray(gm["stress_counts"], dtype=np.int64).reshape(
                    g.stress_counts.shape
                )
            g.stress_configs = int(gm.get("stress_configs", 0))
            g.energy_sum[:] = np.asarray(data[f"group_{i}_energy_sum"], dtype=float)
            g.counts[:] = gm["counts"]
            new._groups[(gm["partition"], mask, factors)] = g
        for part, ids in meta["config_ids"].items():
            new._ids[part] = list(ids)
            new._id_sets[part] = set(ids)
        return new

    def __repr__(self) -> str:
        parts = ", ".join(f"{p}: {self.n_configs(p)}" for p in self.partitions)
        return (
            f"SufficientStatistics(n_descriptors={self.n_descriptors}, levels={list(self.levels)!r}, "
            f"configurations={{{parts}}})"
        )


def add_configuration(stats: SufficientStatistics, item, partition: str = "train") -> None:
    """Add one stream item ``(block, labels)``, ``(block, labels, config_id)`` or ``(block,
    labels, config_id, options)`` (see :func:`iter_checkpoints`) to ``stats``; labels of levels
    that ``stats`` does not accumulate are ignored."""
    block, labels = item[0], item[1]
    cid = item[2] if len(item) > 2 else None
    options = item[3] if len(item) > 3 and item[3] is not None else {}
    if labels:
        labels = {lv: labels[lv] for lv in stats.levels if lv in labels}
    stats.add(block, labels, partition, cid, **options)


def iter_checkpoints(
    configurations: Iterable,
    checkpoints: Sequence[int],
    levels: Iterable = (),
    *,
    n_descriptors: int | None = None,
    partition: str = "train",
    chunk_rows: int | None = None,
) -> Iterator[tuple[int, SufficientStatistics]]:
    """One pass over an ordered stream, yielding the statistics of every prefix size asked for.

    The stream is not consumed beyond the largest checkpoint.

    Args:
        configurations: iterable of ``(block, labels)``, ``(block, labels, config_id)`` or
            ``(block, labels, config_id, options)`` in sampling order; labels of levels not in
            ``levels`` are ignored; ``options`` is a mapping of further keywords of
            :meth:`SufficientStatistics.add` (``n_atoms``, ``virial``, ``volume``, ``factors``).
        checkpoints: subset sizes (sorted and de-duplicated here).
        levels: the label levels to accumulate.
        n_descriptors: p (default: taken from the first block).
        partition: the partition the configurations are added to.
        chunk_rows: row buffer size (see :class:`SufficientStatistics`).

    Yields:
        ``(size, statistics)`` where ``statistics`` is the live accumulator after ``size``
        configurations: use it (fit, errors) before advancing, or keep ``statistics.copy()``.

    Raises:
        ValueError: (naming ``subset_size``) when the stream is shorter than a checkpoint.
    """
    sizes = sorted({int(s) for s in checkpoints})
    if not sizes:
        raise ValueError("checkpoints must contain at least one subset size")
    if sizes[0] < 1:
        raise ValueError(f"checkpoints must be positive subset sizes, got {sizes[0]}")
    if hasattr(configurations, "__len__"):
        check_subset_size(sizes[-1], len(configurations))
    stats = None
    count = 0
    idx = 0
    for item in configurations:
        if stats is None:
            p = n_descriptors if n_descriptors is not None else np.shape(item[0])[-1]
            stats = SufficientStatistics(p, levels, chunk_rows)
        add_configuration(stats, item, partition)
        count += 1
        if count == sizes[idx]:
            stats.flush()
            yield count, stats
            idx += 1
            if idx == len(sizes):
                return
    check_subset_size(sizes[idx], count)
