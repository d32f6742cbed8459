"""Errors of one fitted model per configuration group, the way FitSNAP reports them.

Two steps, both without pyiron:

1. :func:`prediction_frame` streams descriptor blocks (one configuration at a time) and writes
   one row per fitted quantity: the prediction, the label and the weight the fit gave that row.
   Only these numbers are kept, never the fit matrix.
2. :func:`group_error_table` turns such rows into the table: per partition (``"train"``,
   ``"test"``), group and quantity the counts, MAE and RMSE, and the weighted MAE and RMSE, plus
   one ``"*ALL"`` row per partition and quantity over every group.

The rows of step 1 (a pandas DataFrame, :data:`PREDICTION_COLUMNS`):

==============  ==========================================================================
partition       ``"train"`` or ``"test"``
group           the configuration's group (:data:`NO_GROUP` for configurations without one)
quantity        ``"energy"`` (one row per configuration: the energy per atom), ``"force"``
                (one row per Cartesian force component) or ``"stress"`` (one row per recorded
                Voigt component xx, yy, zz, yz, xz, xy)
configuration   the configuration id
prediction      the model's value: eV/atom, eV/Angstrom or eV/Angstrom^3 (ASE's sign)
label           the DFT value, in the same unit
weight          the weight of the row in the fit: ``w_E f_E``, ``w_F f_F`` or ``w_S f_S`` with
                the group's weight factors ``f`` (1 for groups without factors)
==============  ==========================================================================

Weighted errors are those of FitSNAP's ``error`` output (``fitsnap3lib/solvers/solver.py``,
``_ncount_mae_rmse_rsq_unweighted_and_weighted``): the weighted residual of a row is
``weight * (prediction - label)`` with the residual in the fit's units (eV/atom, eV/Angstrom,
eV/Angstrom^3), i.e. the residual of the weighted least-squares problem the fit solved
(its loss is ``sum(weighted residual^2)``); the weighted MAE is the mean of its absolute value
over all rows, and the weighted RMSE the root of the sum of its squares over the number of rows
with a non-zero weight (``n_weighted_rows``). FitSNAP's energy and force weights
(``eweight``, ``fweight``) are ``w_E``, ``w_F`` here, and its stress weight ``vweight`` on bar is
``w_S / 1.6021765e6`` on eV/Angstrom^3 (:mod:`pyiron_appmlip.core.statistics`), so a fit with the
same weights gives FitSNAP's weighted numbers. Test rows are weighted as the fit would weight
them were they in the training set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..core.units import EV_PER_A3_TO_GPA, MEV_PER_EV
from .labels import Labels, parse_group_weights

__all__ = [
    "ALL_GROUPS",
    "NO_GROUP",
    "PARTITIONS",
    "QUANTITIES",
    "PREDICTION_COLUMNS",
    "ERROR_COLUMNS",
    "prediction_frame",
    "group_error_table",
]

#: Group name of the rows over every group of a partition (FitSNAP's name).
ALL_GROUPS = "*ALL"
#: Group name of the configurations without a group.
NO_GROUP = "(no group)"
PARTITIONS = ("train", "test")
QUANTITIES = ("energy", "force", "stress")
#: The columns of :func:`prediction_frame`'s rows (see the module docstring).
PREDICTION_COLUMNS = (
    "partition",
    "group",
    "quantity",
    "configuration",
    "prediction",
    "label",
    "weight",
)
#: The columns of :func:`group_error_table`.
ERROR_COLUMNS = (
    "partition",
    "group",
    "quantity",
    "unit",
    "n_config",
    "n_rows",
    "mae",
    "rmse",
    "n_weighted_rows",
    "weighted_mae",
    "weighted_rmse",
    "weighted_unit",
)
#: Per quantity: the unit of ``mae`` and ``rmse``, the factor from the fit's unit to it, and the
#: unit of the weighted errors.
_UNITS = {
    "energy": ("meV/atom", MEV_PER_EV, "w x eV/atom"),
    "force": ("meV/Angstrom", MEV_PER_EV, "w x eV/Angstrom"),
    "stress": ("GPa", EV_PER_A3_TO_GPA, "w x eV/Angstrom^3"),
}


def prediction_frame(
    coefficients,
    blocks: Iterable,
    labels: Labels,
    partition: str,
    *,
    energy_weight: float = 1.0,
    force_weight: float = 1.0,
    stress_weight: float = 0.0,
    group_weights: Mapping | None = None,
    groups: Mapping | None = None,
):
    """Predictions, labels and fit weights of configurations, one row per fitted quantity.

    Blocks are read one at a time; only the rows of the result are kept.

    Args:
        coefficients: (p + 1,) the model's coefficients, per-atom reference energy (eV) first.
        blocks: ``(configuration id, descriptor block)`` pairs; a block has 1 + 3 N rows
            (energy, forces) or 1 + 3 N + 6 with the virial rows, N the atoms of its labels.
        labels: the labels the model is compared with (energies, forces, and stresses with cell
            volumes where recorded).
        partition: ``"train"`` or ``"test"``, written to every row.
        energy_weight: w_E of the fit.
        force_weight: w_F of the fit.
        stress_weight: w_S of the fit (on eV/Angstrom^3).
        group_weights: ``{group: (f_E, f_F, f_S)}`` weight factors of the fit, as
            :func:`~pyiron_appmlip.training.labels.parse_group_weights` takes them.
        groups: ``{configuration id: group}``; default ``labels.groups``. Configurations in
            neither are in the group :data:`NO_GROUP`.

    Returns:
        A DataFrame with the columns :data:`PREDICTION_COLUMNS`. Stress rows are written where
        the block has virial rows and the labels a recorded stress (a NaN component is left
        out).

    Raises:
        ValueError: an unknown partition, a configuration without labels, a block whose row
            count fits neither 1 + 3 N nor 1 + 3 N + 6, a recorded stress without a cell
            volume, or coefficients that do not match the blocks.
    """
    import pandas as pd

    if partition not in PARTITIONS:
        raise ValueError(f"partition must be one of {PARTITIONS}, got {partition!r}")
    c = np.asarray(coefficients, dtype=float).ravel()
    factors = parse_group_weights(group_weights)
    group_of = dict(labels.groups or {}) if groups is None else dict(groups)
    columns: dict[str, list] = {k: [] for k in PREDICTION_COLUMNS}
    for cid, block in blocks:
        cid = str(cid)
        if cid not in labels.energies:
            raise ValueError(f"configuration {cid} has no labels to compare the model with")
        x = np.asarray(block, dtype=float)
        if x.ndim != 2 or x.shape[1] + 1 != c.size:
            raise ValueError(
                f"configuration {cid}: its block has shape {x.shape}, but the model has "
                f"{c.size} coefficients (p + 1 with p descriptor columns)"
            )
        forces = np.asarray(labels.forces[cid], dtype=float).reshape(-1)
        n = forces.size // 3
        if x.shape[0] not in (1 + 3 * n, 1 + 3 * n + 6):
            raise ValueError(
                f"configuration {cid}: its descriptor block has {x.shape[0]} rows, but its "
                f"labels have {n} atoms (1 + 3 N = {1 + 3 * n} rows, or {1 + 3 * n + 6} with "
                "virial rows)"
            )
        group = group_of.get(cid) or NO_GROUP
        f_e, f_f, f_s = factors.get(group, (1.0, 1.0, 1.0))
        predicted = x @ c[1:]
        parts = [
            ("energy", [(n * c[0] + predicted[0]) / n], [labels.energies[cid] / n],
             energy_weight * f_e),
            ("force", predicted[1 : 1 + 3 * n], forces, force_weight * f_f),
        ]  # fmt: skip
        stress = labels.stress(cid)
        if x.shape[0] == 1 + 3 * n + 6 and stress is not None:
            volume = (labels.volumes or {}).get(cid)
            if volume is None or not np.isfinite(volume) or volume <= 0:
                raise ValueError(
                    f"configuration {cid} has a recorded stress but no cell volume in its "
                    "labels (Labels.volumes); its stress prediction needs it"
                )
            keep = np.isfinite(stress)
            parts.append(
                ("stress", (-predicted[1 + 3 * n :] / volume)[keep], stress[keep],
                 stress_weight * f_s)
            )  # fmt: skip
        for quantity, prediction, label, weight in parts:
            k = len(label)
            columns["partition"] += [partition] * k
            columns["group"] += [group] * k
            columns["quantity"] += [quantity] * k
            columns["configuration"] += [cid] * k
            columns["prediction"] += [float(v) for v in prediction]
            columns["label"] += [float(v) for v in label]
            columns["weight"] += [float(weight)] * k
    frame = pd.DataFrame(columns, columns=list(PREDICTION_COLUMNS))
    return frame.astype({"prediction": float, "label": float, "weight": float})


def _errors(part) -> dict:
    """Counts, MAE and RMSE, weighted and not, of one partition, group and quantity."""
    unit, scale, weighted_unit = _UNITS[part["quantity"].iloc[0]]
    residual = part["prediction"].to_numpy(dtype=float) - part["label"].to_numpy(dtype=float)
    weight = part["weight"].to_numpy(dtype=float)
    weighted = weight * residual
    n_rows = residual.size
    n_weighted = int(np.count_nonzero(weight))
    return {
        "unit": unit,
        "n_config": int(part["configuration"].nunique()),
        "n_rows": int(n_rows),
        "mae": scale * float(np.mean(np.abs(residual))),
        "rmse": scale * float(np.sqrt(np.mean(residual**2))),
        "n_weighted_rows": n_weighted,
        "weighted_mae": float(np.mean(np.abs(weighted))),
        "weighted_rmse": float(np.sqrt(np.sum(weighted**2) / n_weighted))
        if n_weighted
        else float("nan"),
        "weighted_unit": weighted_unit,
    }


def group_error_table(frame):
    """The per-group error table of a model from its prediction rows.

    Args:
        frame: a DataFrame with the columns :data:`PREDICTION_COLUMNS` (e.g. from
            :func:`prediction_frame`, the training and test rows concatenated).

    Returns:
        A DataFrame with the columns :data:`ERROR_COLUMNS`, one row per partition, group and
        quantity that has rows, plus a :data:`ALL_GROUPS` row per partition and quantity over
        every group; sorted by partition (train, test), group (``"*ALL"`` first, then by name,
        :data:`NO_GROUP` last) and quantity (energy, force, stress).

        - ``n_config``: configurations with rows of that quantity; ``n_rows``: the rows (one
          per configuration for energies, 3 N for forces, the recorded components for
          stresses). Over the groups both add up to the ``"*ALL"`` row.
        - ``mae``, ``rmse``: of ``prediction - label`` in ``unit``: meV/atom (energy per atom),
          meV/Angstrom (force components), GPa (stress components), the units of the fit
          table's ``*_rmse_*`` columns; the ``"*ALL"`` RMSEs are those columns.
        - ``n_weighted_rows``, ``weighted_mae``, ``weighted_rmse``: FitSNAP's weighted errors
          (see the module docstring), in ``weighted_unit``: the row's weight times the
          residual in eV/atom, eV/Angstrom or eV/Angstrom^3. ``weighted_rmse`` is NaN where
          every weight is 0.

    Raises:
        ValueError: missing columns, an unknown partition or quantity, or non-finite values.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame of prediction rows, got {type(frame)}")
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"frame lacks the column(s) {missing}; prediction rows need {list(PREDICTION_COLUMNS)}"
        )
    for name, allowed in (("partition", PARTITIONS), ("quantity", QUANTITIES)):
        unknown = sorted(set(frame[name]) - set(allowed))
        if unknown:
            raise ValueError(f"{name} must be one of {allowed}, got {unknown}")
    values = frame[["prediction", "label", "weight"]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("prediction, label and weight must be finite numbers in every row")
    rows = []
    for partition in PARTITIONS:
        of_partition = frame[frame["partition"] == partition]
        if of_partition.empty:
            continue
        names = sorted(set(of_partition["group"].astype(str)) - {NO_GROUP})
        if (of_partition["group"].astype(str) == NO_GROUP).any():
            names.append(NO_GROUP)
        for group in [ALL_GROUPS, *names]:
            selected = (
                of_partition
                if group == ALL_GROUPS
                else of_partition[of_partition["group"].astype(str) == group]
            )
            for quantity in QUANTITIES:
                part = selected[selected["quantity"] == quantity]
                if len(part):
                    rows.append(
                        {"partition": partition, "group": group, "quantity": quantity}
                        | _errors(part)
                    )
    return pd.DataFrame(rows, columns=list(ERROR_COLUMNS))
