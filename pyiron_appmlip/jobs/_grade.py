"""The extrapolation grade of a fit job's models (see :mod:`pyiron_appmlip.core.extrapolation`).

A fit job stores, under ``output.grade``, the label-free statistics of its training
configurations (their energy and force R factors, with the group weight factors) and, for
every weight pair, the thresholds calibrated on the training atoms (LAMMPS ``compute
sna/atom``). ``get_model(row)`` rebuilds the leverage grade of the row's weights from them.
Stress rows are left out of the grade (they would only lower it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.extrapolation import ExtrapolationGrade, leverage_grade_from_statistics
from ..core.statistics import SufficientStatistics

__all__ = ["training_grade_output", "grade_from_output"]


def training_grade_output(
    desc_job, ids: Sequence[str], weights: Sequence, ridge: float, factors_of: Mapping
) -> dict:
    """What a fit job stores for the grades of its models.

    The blocks and the per-atom rows of the training configurations are read one at a time.

    Args:
        desc_job: the descriptors job of the fit.
        ids: the training configuration ids.
        weights: the (w_E, w_F) pairs of the fits.
        ridge: the fits' ridge term.
        factors_of: ``{configuration id: (f_E, f_F, f_S)}`` group weight factors.

    Returns:
        ``{"statistics": SufficientStatistics.to_dict(), "weights": (k, 2), "thresholds":
        (k, 3), "training_max": (k,)}``, plain arrays.
    """
    from ..descriptors.per_atom import iter_per_atom_rows

    ids = list(ids)
    by_id = dict(zip(desc_job.configuration_ids, desc_job.structures, strict=True))
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(
            f"the descriptors job {desc_job.job_name} lacks training configuration(s) {missing[:3]}"
        )
    structures = [by_id[i] for i in ids]
    settings = desc_job.settings
    stats = SufficientStatistics(settings.n_columns())
    blocks = desc_job.get_store().iter_blocks(ids)
    for cid, atoms, block in zip(ids, structures, blocks, strict=True):
        factors = factors_of.get(cid)
        stats.add(
            np.asarray(block)[: 1 + 3 * len(atoms)],
            config_id=cid,
            factors=None if factors is None else tuple(factors),
        )
    grades = [
        leverage_grade_from_statistics(
            stats, float(w_e), float(w_f), ridge=float(ridge), thresholds=(1.0, 1.0, 1.0)
        )
        for w_e, w_f in weights
    ]
    training_max = np.zeros(len(grades))
    for rows in iter_per_atom_rows(structures, settings, min_distance=None):
        for k, grade in enumerate(grades):
            training_max[k] = max(training_max[k], float(grade.per_atom(rows).max()))
    thresholds = [
        g.calibrated(t).thresholds.as_tuple() for g, t in zip(grades, training_max, strict=True)
    ]
    return {
        "statistics": stats.to_dict(),
        "weights": np.array([[float(w_e), float(w_f)] for w_e, w_f in weights]),
        "thresholds": np.array(thresholds),
        "training_max": training_max,
    }


def grade_from_output(
    stored: Mapping, energy_weight: float, force_weight: float, ridge: float, ids=None
) -> ExtrapolationGrade | None:
    """The leverage grade of the fit with these weights from ``training_grade_output``'s
    dict; None if the weights are not among the stored ones or ``ids`` (a model's training
    ids) differ from the configurations of the stored statistics."""
    if hasattr(stored, "to_builtin"):
        stored = stored.to_builtin()
    weights = np.asarray(stored["weights"], dtype=float).reshape(-1, 2)
    match = np.flatnonzero(
        (np.abs(weights[:, 0] - energy_weight) < 1e-12)
        & (np.abs(weights[:, 1] - force_weight) < 1e-12)
    )
    if not match.size:
        return None
    stats = SufficientStatistics.from_dict(dict(stored["statistics"]))
    if ids is not None and set(map(str, ids)) != set(map(str, stats.config_ids("train"))):
        return None
    i = int(match[0])
    grade = leverage_grade_from_statistics(
        stats,
        energy_weight,
        force_weight,
        ridge=ridge,
        thresholds=np.asarray(stored["thresholds"], dtype=float)[i],
    )
    training_max = float(np.asarray(stored["training_max"], dtype=float)[i])
    return dataclasses.replace(grade, training_max=training_max)
