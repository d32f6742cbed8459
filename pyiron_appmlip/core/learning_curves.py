"""Learning curves: test errors against training-set size, summarised over repetitions.

A sweep repeats every sampled subset size several times (seeds). The paper authors summarise
each size by the median and a 16-84 % band (the central 68 %, one standard deviation for a
normal distribution) rather than by mean and extremes; :func:`summarize_repetitions` does both.
:func:`overdetermined_sizes` keeps only subset sizes whose fits have at least as many equations
as coefficients whichever configurations are drawn, and :func:`first_size_within` reads off the
smallest size from which a curve stays within a tolerance.

Plain numpy/pandas; no pyiron.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "CENTERS",
    "summarize_repetitions",
    "overdetermined_sizes",
    "first_size_within",
]

#: Allowed ``center`` of :func:`summarize_repetitions`.
CENTERS = ("median", "mean")


def summarize_repetitions(
    table,
    by: Sequence[str],
    columns: Sequence[str],
    center: str = "median",
    band: tuple[float, float] = (16.0, 84.0),
):
    """One row per group of ``by`` with the center and the band of each of ``columns``.

    Args:
        table: a pandas DataFrame with one row per fit (e.g. sweep rows).
        by: the columns that define a setting (e.g. ``["sampler", "subset_size"]``).
        columns: the error columns to summarise.
        center: "median" (the authors' convention) or "mean".
        band: lower and upper percentiles of the band (default 16 and 84).

    Returns:
        A DataFrame with the ``by`` columns, ``n_repetitions`` and for every column ``c``:
        ``c_center`` (``c_median`` or ``c_mean``), ``c_lo``, ``c_hi`` (the band's percentiles),
        ``c_mean``, ``c_median``, ``c_min`` and ``c_max``.

    Raises:
        ValueError: for an unknown ``center``, a band outside 0..100 or not increasing, or a
            column that the table lacks.
    """
    import pandas as pd

    if center not in CENTERS:
        raise ValueError(f"center must be one of {CENTERS}, got {center!r}")
    lo, hi = (float(b) for b in band)
    if not 0.0 <= lo < hi <= 100.0:
        raise ValueError(f"band must be two percentiles 0 <= lo < hi <= 100, got {band!r}")
    by, columns = list(by), list(columns)
    missing = [c for c in by + columns if c not in table.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; columns: {list(table.columns)}")
    rows = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        row["n_repetitions"] = len(g)
        for c in columns:
            v = g[c].to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            if v.size == 0:
                stats = dict.fromkeys(("lo", "hi", "mean", "median", "min", "max"), np.nan)
            else:
                stats = {
                    "lo": float(np.percentile(v, lo)),
                    "hi": float(np.percentile(v, hi)),
                    "mean": float(v.mean()),
                    "median": float(np.median(v)),
                    "min": float(v.min()),
                    "max": float(v.max()),
                }
            row[f"{c}_center"] = stats[center]
            row.update({f"{c}_{k}": val for k, val in stats.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def overdetermined_sizes(
    sizes: Sequence[int], equations_per_configuration: Sequence[int], n_coefficients: int
) -> list[int]:
    """The subset sizes whose fits are overdetermined for any choice of configurations.

    A size ``s`` is kept when the ``s`` configurations with the fewest equations (energy, force
    and used stress rows) still give at least ``n_coefficients`` equations.

    Args:
        sizes: candidate subset sizes.
        equations_per_configuration: rows per configuration of the pool (1 + 3 N for energy and
            forces).
        n_coefficients: coefficients of the fit (p + 1 with a constant, p without).
    """
    counts = np.sort(np.asarray(equations_per_configuration, dtype=np.int64))
    if counts.size == 0:
        raise ValueError("equations_per_configuration must list the pool's configurations")
    fewest = np.cumsum(counts)
    return [int(s) for s in sizes if 1 <= s <= counts.size and fewest[int(s) - 1] >= n_coefficients]


def first_size_within(sizes: Sequence[int], values: Sequence[float], limit: float) -> int | None:
    """The first size from which every later value is at most ``limit`` (None if never).

    Args:
        sizes: increasing subset sizes.
        values: the curve at those sizes (e.g. median test errors).
        limit: the tolerance (e.g. full-pool error + 1 meV/atom).
    """
    sizes = np.asarray(sizes)
    if sizes.size != len(values):
        raise ValueError(f"sizes and values differ in length: {sizes.size} and {len(values)}")
    if np.any(np.diff(sizes) <= 0):
        raise ValueError(f"sizes must increase, got {sizes.tolist()}")
    within = np.asarray(values, dtype=float) <= limit
    for k in range(sizes.size):
        if within[k:].all():
            return int(sizes[k])
    return None
