"""Pareto analysis: exact non-dominated sets over any number of objectives (all minimised).

Two dominance rules (``dominance``):

- ``"standard"``: a row a dominates a row b when a <= b in every objective and a < b in at least
  one. Rows with identical objective values do not dominate each other, so duplicates on the
  front are all kept.
- ``"strict"``: a dominates b only when a < b in every objective (the paper authors' rule). The
  front is then the weakly non-dominated set; it contains the standard front and also keeps
  rows that tie with a better row in one objective.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "pareto_mask",
    "pareto_front",
    "objective_values",
    "DOMINANCE",
    "preference_scores",
    "preference_reference",
]

#: The dominance rules of :func:`pareto_mask`.
DOMINANCE = ("standard", "strict")


def pareto_mask(values, maximize=None, dominance: str = "standard") -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (n, k).

    Rows containing NaN (a missing value) are never on the front; an infinite value is refused
    (an infinite error would dominate nothing, a minus-infinite one everything). Cost is
    O(n log n + n * front size).

    Args:
        values: array-like (n, k); each column an objective to minimise.
        maximize: optional sequence of k booleans; True flips that objective to be maximised
            (e.g. MLIP throughput in atom-steps per second).
        dominance: "standard" or "strict" (see the module docstring).
    """
    if dominance not in DOMINANCE:
        raise ValueError(f"dominance must be one of {DOMINANCE}, got {dominance!r}")
    try:
        v = np.array(values, dtype=float, copy=True)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"values must be numbers (n rows, k objectives to minimise), got {err}"
        ) from None
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise ValueError(f"values must be a 2-D array (n rows, k objectives), got shape {v.shape}")
    n, k = v.shape
    if k == 0:
        raise ValueError("values must have at least one objective column, got 0")
    if maximize is not None:
        maximize = np.asarray(maximize, dtype=bool)
        if maximize.shape != (k,):
            raise ValueError(
                f"maximize must have one flag per objective ({k}), got {maximize.shape}"
            )
        v[:, maximize] *= -1.0
    infinite = np.flatnonzero(np.isinf(v).any(axis=1))
    if infinite.size:
        raise ValueError(
            f"values must be finite or NaN (missing); rows {infinite[:10].tolist()} hold +-inf "
            "(an error or cost cannot be infinite: drop or fix those rows)"
        )
    mask = np.zeros(n, dtype=bool)
    valid = np.flatnonzero(~np.isnan(v).any(axis=1))
    if valid.size == 0:
        return mask
    # Sorting lexicographically guarantees that no row is dominated by a row after it. Both rules
    # are transitive, so comparing with the rows kept so far is enough.
    order = valid[np.lexsort(v[valid].T[::-1])]
    front = np.empty((0, k))
    kept = []
    for i in order:
        x = v[i]
        if front.shape[0]:
            if dominance == "strict":
                if np.any(np.all(front < x, axis=1)):
                    continue
            elif np.any(np.all(front <= x, axis=1) & np.any(front < x, axis=1)):
                continue
        front = np.vstack([front, x])
        kept.append(i)
    mask[np.asarray(kept, dtype=int)] = True
    return mask


def _as_number(value) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bytes | np.bytes_):
        value = value.decode()
    return float(value)


def objective_values(table, objectives, what: str = "pareto_front") -> np.ndarray:
    """The ``objectives`` columns of a DataFrame as an (n, k) float array, checked.

    Columns of numbers (or of text that reads as numbers, e.g. from a file) are taken; missing
    values (None, NaN) stay NaN.

    Args:
        table: the pandas DataFrame.
        objectives: column names.
        what: the caller's name, for the messages.

    Raises:
        ValueError: for objectives that are not a list of column names, a column the table
            lacks, or a column holding text that is not a number (naming the column, the row
            and the value, and listing the table's numeric columns).
    """
    if isinstance(objectives, str) or not all(isinstance(c, str) for c in objectives):
        raise ValueError(
            f"objectives must be a list of column names, e.g. [{objectives!r}], got {objectives!r}"
        )
    objectives = list(objectives)
    if len(objectives) == 0:
        raise ValueError("objectives must name at least one column")
    missing = [c for c in objectives if c not in table.columns]
    if missing:
        raise ValueError(
            f"objectives {missing} are not columns of the table; columns: {list(table.columns)}"
        )
    out = np.empty((len(table), len(objectives)))
    for k, name in enumerate(objectives):
        column = table[name].to_numpy()
        try:
            out[:, k] = column.astype(float)
            continue
        except (TypeError, ValueError):
            pass
        for row, value in enumerate(column):
            try:
                out[row, k] = _as_number(value)
            except (TypeError, ValueError):
                numeric = [
                    c
                    for c in table.columns
                    if np.issubdtype(np.asarray(table[c]).dtype, np.number)
                    and not np.issubdtype(np.asarray(table[c]).dtype, np.bool_)
                ]
                raise ValueError(
                    f"{what}: objective {name!r} holds {type(value).__name__} "
                    f"{value!r:.40} (row {table.index[row]!r}), not a number; objectives are "
                    f"numeric columns to minimise, e.g. {numeric}"
                ) from None
    return out


def pareto_front(table, objectives, maximize=None, dominance: str = "standard"):
    """Rows of a pandas DataFrame that are Pareto-optimal in the named ``objectives`` columns.

    Args:
        table: the pandas DataFrame.
        objectives: column names, e.g. ``["energy_rmse_test_truth", "force_rmse_test_truth"]``
            (2-D) or with ``"dft_seconds"`` added (3-D).
        maximize: as in :func:`pareto_mask`.
        dominance: as in :func:`pareto_mask`.

    Returns:
        The sub-table (original index kept), sorted by the first objective. Rows with a NaN
        objective are never on the front.

    Raises:
        ValueError: for objectives that are not numeric columns of the table, naming them
            (:func:`objective_values`), test-error objectives of a table whose fits had no
            test set (``n_test`` 0 in every row, the columns all NaN), and as
            :func:`pareto_mask`.
    """
    values = objective_values(table, objectives, "pareto_front")
    objectives = list(objectives)
    test_columns = [c for c in objectives if "_rmse_test" in c]
    if test_columns and "n_test" in table.columns and len(table):
        if (table["n_test"].to_numpy() == 0).all() and table[test_columns].isna().all().all():
            raise ValueError(
                f"objectives {test_columns} are test errors, but no fit of this table has a test "
                "set (test_fraction = 0, n_test 0): those columns are NaN. Run the fits with "
                "test_fraction > 0, or name training-error columns (e.g. energy_rmse_train)"
            )
    mask = pareto_mask(values, maximize=maximize, dominance=dominance)
    order = np.lexsort(values[mask].T[::-1])  # by the first objective, ties by the next ones
    return table[mask].iloc[order]


def preference_reference(values) -> float:
    """The error a preference score is relative to: the smallest of ``values`` (or, where that
    is zero or nearly so, their span, so that scores stay finite)."""
    v = np.asarray(values, dtype=float)
    lo, hi = float(np.min(v)), float(np.max(v))
    if lo > 1e-6 * hi:
        return lo
    span = hi - lo
    return span if span > 0 else 1.0


def preference_scores(
    energy, force, preference: float, energy_reference=None, force_reference=None
) -> np.ndarray:
    """Preference-weighted relative excess over the best error of each kind (lower is better):
    ``preference * (E / E_ref - 1) + (1 - preference) * (F / F_ref - 1)``.

    One percent more force error then costs as much as ``(1 - preference) / preference``
    percent more energy error; ``preference`` 0 ranks by forces only, 1 by energies only.

    Args:
        energy: energy errors of the candidates.
        force: force errors of the candidates.
        preference: in [0, 1].
        energy_reference: ``E_ref`` (default: :func:`preference_reference` of ``energy``).
        force_reference: ``F_ref`` (default: :func:`preference_reference` of ``force``).
    """
    e = np.asarray(energy, dtype=float)
    f = np.asarray(force, dtype=float)
    e_ref = preference_reference(e) if energy_reference is None else float(energy_reference)
    f_ref = preference_reference(f) if force_reference is None else float(force_reference)
    return preference * (e / e_ref - 1.0) + (1.0 - preference) * (f / f_ref - 1.0)
