"""The DFT cost of training sets: per configuration from measured times or a given cost, and
which of the two every level's cost comes from.

A fit table's ``dft_seconds`` is the sum of its training configurations' costs and
``dft_cost_source`` names where they come from, per training level:

- ``"measured wall time"`` or ``"measured CPU time"``: the labels' recorded times
  (:attr:`~pyiron_appmlip.training.labels.Labels.wall_times`, their clock
  :attr:`~pyiron_appmlip.training.labels.Labels.cost_clock`);
- ``"given: 3 s per atom"`` (or per configuration, or a cost model): a
  :class:`~pyiron_appmlip.dft.cost.LevelCost` given for the level. A given cost wins over
  measured times, and the source then says how many measured times it overrides;
- ``"unknown: ..."``: no time is recorded for any training configuration of the level and no
  cost is given. Such configurations count as 0 s, so every training set of that level costs 0 s;
  the source says so (and :func:`~pyiron_appmlip.study.recommend.recommend` notes it).

Where only some training configurations of a level have a recorded time, the others count as
0 s and the source says how many.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.multi_fidelity import training_cost
from ..dft.cost import LevelCost, parse_level_costs
from ..dft.levels import level_label
from .table import energies_apart

__all__ = [
    "DftCost",
    "dft_costs",
    "assign_dft_costs",
    "row_dft_cost",
    "UNKNOWN_COST",
    "cost_is_unknown",
]

#: How ``dft_cost_source`` begins where a level's DFT cost is not known.
UNKNOWN_COST = "unknown"
_CLOCK_NAMES = {"wall": "wall time", "cpu": "CPU time"}


def cost_is_unknown(source: str) -> bool:
    """Whether a ``dft_cost_source`` says that the level's cost is not known (counted as 0 s)."""
    return str(source).startswith(UNKNOWN_COST)


@dataclass(frozen=True)
class DftCost:
    """The DFT cost of one level's training configurations.

    Attributes:
        seconds: ``{configuration id: seconds}``, NaN where not known.
        source: where the seconds come from (see the module docstring).
    """

    seconds: Mapping
    source: str

    def total(self, ids: Iterable[str]) -> float:
        """Seconds of the configurations ``ids`` (those without a known cost count as 0 s)."""
        values = [self.seconds.get(str(i), np.nan) for i in ids]
        return float(np.nansum(values)) if values else 0.0


def _level_cost(labels, ids: Sequence[str], given: LevelCost | None, name: str) -> DftCost:
    times = np.array([labels.wall_times.get(i, np.nan) for i in ids], dtype=float)
    measured = int(np.isfinite(times).sum())
    clock = _CLOCK_NAMES[labels.cost_clock]
    n = len(ids)
    if given is not None:
        n_atoms = np.array([len(labels.forces[i]) for i in ids], dtype=float)
        n_kpoints = None
        if given.needs_kpoints:
            known = labels.n_kpoints or {}
            lacking = [i for i in ids if i not in known]
            if lacking:
                raise ValueError(
                    f"{name}: the cost model depends on the number of k-points "
                    f"(kpoint_exponent {given.model.kpoint_exponent:g}), which the labels do "
                    f"not record for {len(lacking)} of {n} training configurations (e.g. "
                    f"{lacking[0]}); give {{'per_atom': s}} or {{'per_configuration': s}}, or a "
                    "model with kpoint_exponent 0"
                )
            n_kpoints = np.array([known[i] for i in ids], dtype=float)
        seconds = given.predict(n_atoms, n_kpoints) if n else np.zeros(0)
        source = given.describe()
        if measured:
            source += f"; overrides the measured {clock} of {measured} of {n} configurations"
        return DftCost(dict(zip(ids, (float(s) for s in seconds), strict=True)), source)
    seconds = dict(zip(ids, (float(t) for t in times), strict=True))
    if measured == 0:
        return DftCost(
            seconds,
            f"{UNKNOWN_COST}: no DFT time recorded for this level, counted as 0 s "
            "(give level_costs)",
        )
    if measured < n:
        return DftCost(
            seconds,
            f"measured {clock} of {measured} of {n} configurations; the other {n - measured} "
            "have none and count as 0 s (give level_costs)",
        )
    return DftCost(seconds, f"measured {clock}")


def dft_costs(
    labels: Mapping,
    train_ids: Sequence[str],
    levels: Sequence | None = None,
    level_costs: Mapping | None = None,
) -> dict[str, DftCost]:
    """The DFT cost of every training configuration per level, and its source.

    Args:
        labels: level -> :class:`~pyiron_appmlip.training.labels.Labels`.
        train_ids: the training partition; a level's counts in the source are over its
            configurations with labels at that level.
        levels: the levels to cost (default: every level of ``labels``).
        level_costs: given costs per level
            (:func:`~pyiron_appmlip.dft.cost.parse_level_costs`): they win over measured
            times. A level not in ``labels`` is refused.

    Returns:
        ``{level label: DftCost}``.

    Raises:
        ValueError: naming ``level_costs``, for a malformed cost, a level without labels, or a
            cost model that needs k-point counts the labels do not have.
    """
    labels = {level_label(k): v for k, v in labels.items()}
    given = parse_level_costs(level_costs, levels=list(labels))
    levels = list(labels) if levels is None else [level_label(lv) for lv in levels]
    out = {}
    for lv in levels:
        ids = [str(i) for i in train_ids if str(i) in labels[lv].energies]
        out[lv] = _level_cost(labels[lv], ids, given.get(lv), f"level_costs[{lv!r}]")
    return out


def row_dft_cost(
    kind: str, energy_level, force_level, ids, n_energy: int, costs, energy_ids=None
) -> tuple:
    """``(dft_seconds, dft_cost_source)`` of one fit: every (configuration, level) calculation
    its training set needs, once (:func:`~pyiron_appmlip.core.multi_fidelity.training_cost`).

    A single-level fit needs its level on the training subset ``ids``; a level pair
    (``kind`` "level_pair") ``force_level`` on ``ids`` and ``energy_level`` on their first
    ``n_energy``; a Delta model (``kind`` "delta", energy level = the high one, force level =
    the low one) the low level on ``ids`` and the high one on the first ``n_energy``.

    Args:
        kind: "single", "level_pair" or "delta".
        energy_level: label of the energy level.
        force_level: label of the force level.
        ids: the training subset, in sampling order.
        n_energy: the size of the energy (correction) subset.
        costs: ``{level label: DftCost}`` (:func:`dft_costs`).
        energy_ids: the energy configurations when they are not the first ``n_energy`` of
            ``ids`` (a level pair whose energies lie apart from its training subset).
    """
    ids = [str(i) for i in ids]
    energy_set = ids[: int(n_energy)] if energy_ids is None else [str(i) for i in energy_ids]
    if kind == "single":
        cost = costs[str(force_level)]
        return cost.total(ids), cost.source
    energy, force = costs[str(energy_level)], costs[str(force_level)]

    def seconds(cid, level):
        value = costs[level].seconds.get(cid, np.nan)
        return 0.0 if value != value else float(value)

    total = training_cost([(ids, str(force_level)), (energy_set, str(energy_level))], seconds)
    if energy.source == force.source:
        return total, force.source
    return total, f"{force_level}: {force.source}; {energy_level}: {energy.source}"


def assign_dft_costs(rows: Iterable[dict], costs: Mapping[str, DftCost]) -> None:
    """Set ``dft_seconds`` and ``dft_cost_source`` of fit-table rows from their
    ``training_ids``, ``train_level`` and, for multi-fidelity rows, ``model_kind``,
    ``energy_level``, ``force_level`` and ``n_energy`` (in place)."""
    for row in rows:
        kind = row.get("model_kind", "single")
        level = str(row["train_level"])
        ids = list(row["training_ids"])
        n_energy = int(row.get("n_energy", len(ids)))
        energy_ids = None
        if energies_apart(level):  # training_ids: the subset, then its energy configurations
            size = int(row.get("subset_size", len(ids) - n_energy))
            ids, energy_ids = ids[:size], ids[size : size + n_energy]
        row["dft_seconds"], row["dft_cost_source"] = row_dft_cost(
            kind,
            row.get("energy_level", level) if kind != "single" else level,
            row.get("force_level", level) if kind != "single" else level,
            ids,
            n_energy,
            costs,
            energy_ids=energy_ids,
        )
