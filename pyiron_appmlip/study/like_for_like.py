"""Figs. 6 and 7 like for like: one set of conventions for the paper authors' published tables,
the package's GPAW datasets and an imported dataset (e.g. the Be part of the W-Be SNAP set).

The paper authors summarise their sweeps in a particular way (their README and notebooks,
described in the README of their results tables). :class:`StudyConventions` holds those choices
as options, and the same functions are applied to every source:

* **learning curves** (Fig. 6): regular leverage, block leverage and random sampling at one
  level and weight; each subset size drawn afresh per repetition (``draws="independent"``);
  50 repetitions summarised by the median and a 16-84 % band; only sizes whose fits are
  overdetermined whichever configurations are drawn. :func:`curve_summary` reads off how many
  configurations each sampler needs until its median (or mean) test error stays within a
  tolerance of the whole pool's (1 meV/atom for energies, 10 meV/Angstrom for forces);
* **Pareto fronts** (Fig. 7): leverage-sampled models of every training level, size and weight
  (5, 10, 12.25, 50, 150, 300), the median over repetitions per setting, and the front over DFT
  cost and the test errors against the reference level. The DFT cost is taken both as the
  measured time of the chosen configurations (their CPU time where the level records it for
  every calculation, else their wall time) and as the level's mean time per
  configuration times N (how the paper's Table 1 is used); the front is taken with the standard
  dominance rule and with the authors' strict one (:mod:`pyiron_appmlip.core.pareto`).
  :func:`front_summary` lists the levels on each front.

Sources: :func:`load_paper_tables` reads the authors' ``results.csv`` files (from a path the user
gives; they are not shipped) into sweep-like rows; :func:`measure_dataset` runs the sweep
(:func:`~pyiron_appmlip.training.sweep.run_sweep`) on a
:class:`~pyiron_appmlip.datasets.store.LabelledDataset` with the conventions. The command line
(:func:`main`) writes the side-by-side Markdown report.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from dataclasses import asdict, dataclass, field, replace

import numpy as np

__all__ = [
    "StudyConventions",
    "PaperTables",
    "SourceResult",
    "load_paper_tables",
    "paper_source",
    "curve_summary",
    "front_summary",
    "measure_dataset",
    "render_report",
    "render_sections",
    "collect_results",
    "default_levels",
    "application_front",
    "md_throughput",
    "application_sections",
    "paper_statements",
    "dataset_cost_lines",
    "main",
]

SAMPLER_NAMES = {"Random": "random", "Leverage": "leverage", "Block Leverage": "block_leverage"}
CURVE_SAMPLERS = ("leverage", "block_leverage", "random")
ERRORS = ("energy_rmse_test_truth", "force_rmse_test_truth")
COSTS = ("dft_seconds", "dft_seconds_mean_x_n")
DOMINANCE = ("standard", "strict")
#: Groups of the W-Be set left out of the study: the 256-atom defect cells' energies per atom
#: spread by up to 3.7 eV/atom within one group (-3.3 to +0.4 eV/atom), far beyond any defect
#: formation energy, and FitSNAP's published fit of that set weights the energies of the defect
#: and liquid groups 40 to 12,000 times less than those of the MD snapshots.
WBE_EXCLUDED_GROUPS = ("Defect_*", "Liquids")
#: Fewest test configurations of a default reference level (:func:`measure_dataset`).
MIN_TEST = 10
#: Version of what a cached :class:`SourceResult` holds (part of the cache key).
RESULT_FORMAT = 2
#: w_E/w_F of the weight sweep on the whole pool (Fig. 4; the authors' 2D_pareto table's values).
SWEEP_WEIGHTS = (
    0.01,
    0.1,
    1.0,
    5.0,
    10.0,
    12.25,
    20.0,
    50.0,
    100.0,
    150.0,
    200.0,
    300.0,
    500.0,
    750.0,
    1000.0,
    1500.0,
    2000.0,
)


@dataclass
class StudyConventions:
    """How learning curves and Pareto fronts are drawn and summarised (defaults: the authors').

    Attributes:
        repetitions: repetitions per sampler and size of the learning curves (>= 1; the authors
            used 50).
        front_repetitions: repetitions of the leverage-sampled models of the Pareto front.
        draws: "independent" (every size drawn afresh, as the authors) or "nested".
        center: "median" (the authors) or "mean" of the repetitions.
        band: percentiles of the spread band.
        weights: w_E/w_F ratios of the front (the authors' six).
        curve_weight: w_E/w_F of the learning curves and of the leverage scores.
        energy_tolerance: meV/atom above the whole pool's energy error (Fig. 6 criterion).
        force_tolerance: meV/Angstrom above the whole pool's force error (Fig. 6 criterion).
        relative_tolerance: the same criterion as a fraction of the whole pool's error (for
            errors far above the absolute tolerances).
        fit_convention: "package" or "authors" (no constant column, ``lstsq`` cond 1e-13); see
            :data:`~pyiron_appmlip.training.sweep.FIT_CONVENTIONS`.
        test_fraction: ``None`` keeps the dataset's own train/test split; a number re-splits by
            configuration id (0.5: the authors' halves).
        n_sizes: number of subset sizes of our own sweeps (geometric, overdetermined ones only).
        seed: root seed of the sampling orders and of a re-split.
        front_range: ``(energy factor, force factor)``: the levels on the front are also listed
            for the models whose median errors are at most these factors times the best
            median errors on the front (a figure's drawn range; the paper gives its ranges
            only graphically).
    """

    repetitions: int = 50
    front_repetitions: int = 50
    draws: str = "independent"
    center: str = "median"
    band: tuple = (16.0, 84.0)
    weights: tuple = (5.0, 10.0, 12.25, 50.0, 150.0, 300.0)
    curve_weight: float = 150.0
    energy_tolerance: float = 1.0
    force_tolerance: float = 10.0
    relative_tolerance: float = 0.1
    fit_convention: str = "package"
    test_fraction: float | None = None
    n_sizes: int = 9
    seed: int = 0
    front_range: tuple = (3.0, 1.3)

    def __post_init__(self):
        from ..core.learning_curves import CENTERS
        from ..training.sweep import DRAWS, FIT_CONVENTIONS

        for name in ("repetitions", "front_repetitions", "n_sizes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.draws not in DRAWS:
            raise ValueError(f"draws must be one of {DRAWS}, got {self.draws!r}")
        if self.center not in CENTERS:
            raise ValueError(f"center must be one of {CENTERS}, got {self.center!r}")
        if self.fit_convention not in FIT_CONVENTIONS:
            raise ValueError(
                f"fit_convention must be one of {tuple(FIT_CONVENTIONS)}, got "
                f"{self.fit_convention!r}"
            )
        if self.test_fraction is not None and not 0.0 < self.test_fraction < 1.0:
            raise ValueError(
                f"test_fraction must be None (the dataset's split) or in (0, 1), got "
                f"{self.test_fraction!r}"
            )
        for name in ("energy_tolerance", "force_tolerance", "relative_tolerance"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.curve_weight not in self.weights:
            raise ValueError(
                f"curve_weight must be one of weights {list(self.weights)}, got "
                f"{self.curve_weight!r}"
            )


@dataclass
class PaperTables:
    """The authors' published results as sweep-like rows (errors in meV/atom, meV/Angstrom).

    Attributes:
        sampling: ``sampling_methods_comparison``: level 6, w_E/w_F 150, three samplers.
        pareto: ``3D_pareto``: leverage subsets x weights x training levels.
        weights: ``2D_pareto``: the whole training pool, every weight and level.
        path: the folder they were read from.
    """

    sampling: object
    pareto: object
    weights: object
    path: str


@dataclass
class SourceResult:
    """Everything the report prints about one source.

    Attributes:
        name: short name of the source (a report column).
        description: one line on what the source is.
        twojmax: 2Jmax of the models.
        curves: :func:`curve_summary` curves.
        needed: :func:`curve_summary` sizes needed per sampler.
        fronts: :func:`front_summary` of the front rows.
        full: whole-pool test errors ``{"energy", "force"}`` at the curve setting.
        info: pool and test sizes, levels, coefficients, repetitions, etc.
        rows: the rows of the front (leverage-sampled and whole-pool models of every level
            and weight) for further use; for our datasets with their ranks.
        weight_sweep: whole-pool models of every training level at :data:`SWEEP_WEIGHTS`:
            ``train_level``, ``weight_ratio`` and the test errors against the reference level.
    """

    name: str
    description: str
    twojmax: int
    curves: object
    needed: object
    fronts: dict
    full: dict
    info: dict = field(default_factory=dict)
    rows: object = None
    weight_sweep: object = None


# -- the authors' tables -----------------------------------------------------------------------
def _read_csv(path):
    import pandas as pd

    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} is missing: paper_results must be the folder holding the authors' "
            "2D_pareto/, 3D_pareto/<N>/ and sampling_methods_comparison/<N>/ results.csv files"
        )
    return pd.read_csv(path, index_col=0)


def _level_costs():
    from ..dft.levels import PAPER_LEVELS

    return {str(k): float(v.paper_seconds) for k, v in PAPER_LEVELS.items()}


def load_paper_tables(path: str) -> PaperTables:
    """Read the paper authors' ``results.csv`` files into sweep-like rows.

    Repetitions are numbered in file order: in ``3D_pareto`` one repetition is one leverage draw
    with all weights and levels fitted on it (36 rows), in ``sampling_methods_comparison`` the
    rows of one sampler in order. Errors are converted from eV to meV. ``dft_seconds_mean_x_n``
    is the paper's Table 1 mean time per configuration of the training level times N.

    Args:
        path: the folder with ``2D_pareto``, ``3D_pareto`` and ``sampling_methods_comparison``.

    Raises:
        FileNotFoundError: naming the first missing file.
        ValueError: if a table does not have the expected columns.
    """
    import pandas as pd

    cost = _level_costs()
    weights = _read_csv(os.path.join(path, "2D_pareto", "results.csv"))
    pareto_parts, sampling_parts = [], []
    for folder in sorted(glob.glob(os.path.join(path, "3D_pareto", "*", "results.csv"))):
        t = _read_csv(folder)
        per_draw = t["Energy Weight"].nunique() * t["Train Precision"].nunique()
        t = t.assign(repetition=np.arange(len(t)) // per_draw)
        pareto_parts.append(t)
    for folder in sorted(
        glob.glob(os.path.join(path, "sampling_methods_comparison", "*", "*.csv"))
    ):
        t = _read_csv(folder)
        t = t.assign(repetition=t.groupby("Sampling Method").cumcount())
        sampling_parts.append(t)
    if not pareto_parts or not sampling_parts:
        raise FileNotFoundError(
            f"{path} has no 3D_pareto/<N>/results.csv or sampling_methods_comparison/<N>/"
            "results.csv files"
        )
    own, truth = "(train precision)", "(6th precision)"

    def errors(t, suffix_own, suffix_truth, prefix="Testing"):
        try:
            return {
                "energy_rmse_test": 1e3 * t[f"{prefix} Energy RMSE {suffix_own}"].to_numpy(),
                "force_rmse_test": 1e3 * t[f"{prefix} Force RMSE {suffix_own}"].to_numpy(),
                "energy_rmse_test_truth": 1e3
                * t[f"{prefix} Energy RMSE {suffix_truth}"].to_numpy(),
                "force_rmse_test_truth": 1e3 * t[f"{prefix} Force RMSE {suffix_truth}"].to_numpy(),
            }
        except KeyError as err:
            raise ValueError(f"an authors' table lacks the column {err}") from None

    w = pd.DataFrame(
        {
            "sampler": "all",
            "subset_size": 9990,
            "repetition": 0,
            "twojmax": weights["2Jmax"].astype(int).to_numpy(),
            "weight_ratio": weights["Energy Weight"].astype(float).to_numpy(),
            "train_level": weights["Train Precision"].astype(int).astype(str).to_numpy(),
            "truth_level": "6",
            **errors(weights, own, truth),
        }
    )
    p = pd.concat(pareto_parts, ignore_index=True)
    pareto = pd.DataFrame(
        {
            "sampler": "leverage",
            "subset_size": p["Subsample size"].astype(int).to_numpy(),
            "repetition": p["repetition"].to_numpy(),
            "twojmax": p["2Jmax"].astype(int).to_numpy(),
            "weight_ratio": p["Energy Weight"].astype(float).to_numpy(),
            "train_level": p["Train Precision"].astype(int).astype(str).to_numpy(),
            "truth_level": "6",
            **errors(p, own, truth),
        }
    )
    pareto["dft_seconds_mean_x_n"] = pareto["train_level"].map(cost) * pareto["subset_size"]
    pareto["dft_seconds"] = np.nan  # the authors' tables hold no measured times
    s = pd.concat(sampling_parts, ignore_index=True)
    unknown = sorted(set(s["Sampling Method"]) - set(SAMPLER_NAMES))
    if unknown:
        raise ValueError(f"unknown sampling methods {unknown} in the authors' tables")
    sampling = pd.DataFrame(
        {
            "sampler": s["Sampling Method"].map(SAMPLER_NAMES).to_numpy(),
            "subset_size": s["Subsample size"].astype(int).to_numpy(),
            "repetition": s["repetition"].to_numpy(),
            "twojmax": s["2Jmax"].astype(int).to_numpy(),
            "weight_ratio": s["Energy Weight"].astype(float).to_numpy(),
            "train_level": s["Train Precision"].astype(int).astype(str).to_numpy(),
            "truth_level": s["Error Precision"].astype(int).astype(str).to_numpy(),
            "energy_rmse_test_truth": 1e3 * s["Testing Energy RMSE"].to_numpy(),
            "force_rmse_test_truth": 1e3 * s["Testing Force RMSE"].to_numpy(),
        }
    )
    return PaperTables(sampling=sampling, pareto=pareto, weights=w, path=os.path.abspath(path))


def paper_source(tables: PaperTables, conventions: StudyConventions | None = None) -> SourceResult:
    """The authors' tables summarised with ``conventions`` (their own by default)."""
    conv = StudyConventions() if conventions is None else conventions
    s = tables.sampling
    level, weight = s["train_level"].iloc[0], float(s["weight_ratio"].iloc[0])
    full_row = tables.weights[
        (tables.weights["train_level"] == level)
        & np.isclose(tables.weights["weight_ratio"], weight)
    ]
    full = {
        "energy": float(full_row["energy_rmse_test_truth"].iloc[0]),
        "force": float(full_row["force_rmse_test_truth"].iloc[0]),
    }
    curves, needed = curve_summary(s, full, conv)
    fronts = front_summary(tables.pareto, conv, costs=("dft_seconds_mean_x_n",))
    return SourceResult(
        name="authors' tables",
        description=(
            "the paper authors' published results (Be, VASP levels 1-6, 9,990 training and "
            "9,990 test configurations, 2Jmax 6)"
        ),
        twojmax=int(s["twojmax"].iloc[0]),
        curves=curves,
        needed=needed,
        fronts=fronts,
        full=full,
        info={
            "pool": 9990,
            "test": 9990,
            "curve_level": level,
            "truth_level": "6",
            "curve_weight": weight,
            "repetitions": int(s.groupby(["sampler", "subset_size"]).size().min()),
            "front_repetitions": int(
                tables.pareto.groupby("subset_size")["repetition"].nunique().min()
            ),
            "sizes": sorted(int(v) for v in s["subset_size"].unique()),
            "front_sizes": sorted(int(v) for v in tables.pareto["subset_size"].unique()),
            "levels": sorted(tables.pareto["train_level"].unique(), key=int),
            "n_coefficients": None,
        },
        rows=tables.pareto,
        weight_sweep=tables.weights,
    )


# -- summaries ---------------------------------------------------------------------------------
def curve_summary(rows, full: dict, conventions: StudyConventions | None = None):
    """Learning curves and the configurations each sampler needs.

    Args:
        rows: sweep-like rows of one level and weight: ``sampler``, ``subset_size`` and the
            test errors against the reference level (one row per repetition).
        full: the whole pool's errors ``{"energy": meV/atom, "force": meV/Angstrom}``.
        conventions: the :class:`StudyConventions`.

    Returns:
        ``(curves, needed)``: ``curves`` one row per sampler and size with the center, band,
        mean, median, min and max of both errors; ``needed`` one row per sampler with the
        smallest size from which the median (``*_median``) and the mean (``*_mean``) energy and
        force errors stay within the tolerances of the whole pool (None where never), and the
        ratio of random sampling's size to it (``*_vs_random``; NaN where either is None);
        ``*_median_rel`` the same by median within ``relative_tolerance`` of the whole pool.
    """
    import pandas as pd

    from ..core.learning_curves import first_size_within, summarize_repetitions

    conv = StudyConventions() if conventions is None else conventions
    sampled = rows[rows["sampler"].isin(CURVE_SAMPLERS)]
    curves = summarize_repetitions(
        sampled, ["sampler", "subset_size"], list(ERRORS), center=conv.center, band=conv.band
    )
    limits = {
        "energy": full["energy"] + conv.energy_tolerance,
        "force": full["force"] + conv.force_tolerance,
    }
    relative = {k: full[k] * (1.0 + conv.relative_tolerance) for k in ("energy", "force")}
    out = []
    for sampler in CURVE_SAMPLERS:
        g = curves[curves["sampler"] == sampler].sort_values("subset_size")
        if g.empty:
            continue
        row = {"sampler": sampler, "largest_size": int(g["subset_size"].max())}
        for kind, col in zip(("energy", "force"), ERRORS, strict=True):
            for how in ("median", "mean"):
                row[f"{kind}_{how}"] = first_size_within(
                    g["subset_size"].to_numpy(), g[f"{col}_{how}"].to_numpy(), limits[kind]
                )
            row[f"{kind}_median_rel"] = first_size_within(
                g["subset_size"].to_numpy(), g[f"{col}_median"].to_numpy(), relative[kind]
            )
        out.append(row)
    needed = pd.DataFrame(out)
    base = needed.set_index("sampler")
    for kind in ("energy", "force"):
        for how in ("median", "mean", "median_rel"):
            key = f"{kind}_{how}"
            rnd = base[key].get("random") if "random" in base.index else None
            needed[f"{key}_vs_random"] = [
                float(rnd) / float(v) if rnd is not None and v is not None and v > 0 else np.nan
                for v in needed[key]
            ]
    return curves, needed


def front_summary(rows, conventions: StudyConventions | None = None, costs=COSTS, clip=None):
    """Pareto fronts of the median models per setting, for every cost and dominance rule.

    Args:
        rows: leverage-sampled sweep-like rows with ``twojmax``, ``subset_size``,
            ``weight_ratio``, ``train_level``, the test errors against the reference level and
            the cost columns.
        conventions: the :class:`StudyConventions` (center and weights).
        costs: cost columns to use (each its own front); columns missing or all NaN are
            skipped.
        clip: ``(energy_max, force_max)`` in meV/atom and meV/Angstrom: also report the levels
            on the front within that error range; default: ``conventions.front_range`` times
            the best median errors on the front.

    Returns:
        A dict keyed by ``(cost, dominance)``; each value a dict
        ``{"levels": [...], "counts": {level: n}, "front": DataFrame,``
        ``"range": (energy_max, force_max), "range_counts": {level: n}, "n_settings": n}``.
    """
    from ..core.learning_curves import summarize_repetitions
    from ..core.pareto import pareto_front

    conv = StudyConventions() if conventions is None else conventions
    rows = rows[rows["weight_ratio"].apply(lambda w: any(np.isclose(w, conv.weights)))]
    keys = ["twojmax", "subset_size", "weight_ratio", "train_level"]
    columns = [c for c in (*ERRORS, *costs) if c in rows.columns]
    med = summarize_repetitions(rows, keys, columns, center=conv.center, band=conv.band)
    out = {}
    for cost in costs:
        col = f"{cost}_center"
        if col not in med.columns or med[col].isna().all():
            continue
        objectives = [col, f"{ERRORS[0]}_center", f"{ERRORS[1]}_center"]
        for rule in DOMINANCE:
            front = pareto_front(med, objectives, dominance=rule)
            counts = front["train_level"].value_counts().to_dict()
            levels = sorted(counts, key=lambda v: int(v) if str(v).isdigit() else v)
            bounds = clip
            if bounds is None:
                bounds = (
                    conv.front_range[0] * float(front[objectives[1]].min()),
                    conv.front_range[1] * float(front[objectives[2]].min()),
                )
            inside = front[
                (front[objectives[1]] <= bounds[0]) & (front[objectives[2]] <= bounds[1])
            ]
            clipped = inside["train_level"].value_counts().to_dict()
            out[(cost, rule)] = {
                "levels": levels,
                "counts": {str(k): int(v) for k, v in counts.items()},
                "front": front,
                "range": tuple(float(b) for b in bounds),
                "range_counts": {str(k): int(v) for k, v in clipped.items()},
                "n_settings": len(med),
            }
    return out


# -- our datasets ------------------------------------------------------------------------------
def _sizes(pool_rows: list[int], n_coefficients: int, n_sizes: int) -> list[int]:
    from ..core.learning_curves import overdetermined_sizes

    pool = len(pool_rows)
    if pool == 0:
        raise ValueError(
            "the training pool is empty: no training configuration is labelled at every "
            "training level"
        )
    ok = overdetermined_sizes(range(1, pool + 1), pool_rows, n_coefficients)
    if not ok:
        raise ValueError(
            f"no subset of the {pool} pool configurations is overdetermined for "
            f"{n_coefficients} coefficients ({sum(pool_rows)} equations in the whole pool)"
        )
    lo = ok[0]
    grid = np.unique(np.round(np.geomspace(lo, pool, n_sizes + 1)).astype(int))
    return [int(s) for s in grid if s < pool]


#: A test configuration is an outlier of the energy error if its error exceeds this many times
#: the median absolute error of the test set (see :func:`energy_error_concentration`).
OUTLIER_FACTOR = 10.0


def energy_error_concentration(errors, groups=None, factor: float = OUTLIER_FACTOR) -> dict:
    """How much of an energy RMSE a few configurations carry.

    An RMSE over configurations is dominated by the largest errors; a model that extrapolates
    badly on a handful of test configurations (e.g. the most compressed cells of an equation
    of state, outside the training pool's range) has a test RMSE that says little about the
    others. Outliers are the configurations whose absolute error exceeds ``factor`` times the
    median absolute error.

    Args:
        errors: per-configuration energy errors (meV/atom).
        groups: per-configuration group names (optional).
        factor: outlier threshold in units of the median absolute error.

    Returns:
        ``{"count", "share", "rmse", "rmse_without", "groups"}``: the number of outliers, their
        share of the sum of squared errors, the RMSE of all, the RMSE of the others, and
        ``{group: count}`` of the outliers.
    """
    e = np.abs(np.asarray(errors, dtype=float))
    if e.size == 0:
        nan = float("nan")
        return {"count": 0, "share": 0.0, "rmse": nan, "rmse_without": nan, "groups": {}}
    out = e > factor * np.median(e)
    total = float(np.sum(e**2))
    rest = e[~out]
    names = {}
    if groups is not None:
        for g in np.asarray(groups, dtype=object)[out]:
            names[str(g)] = names.get(str(g), 0) + 1
    return {
        "count": int(out.sum()),
        "share": float(np.sum(e[out] ** 2) / total) if total > 0 else 0.0,
        "rmse": float(np.sqrt(total / e.size)),
        "rmse_without": float(np.sqrt(np.mean(rest**2))) if rest.size else float("nan"),
        "groups": dict(sorted(names.items(), key=lambda kv: -kv[1])),
    }


def _test_energy_errors(coefficients, blocks, labels, test) -> np.ndarray:
    """Energy errors (meV/atom) of a model (coefficients constant first) on the test
    configurations, from their blocks."""
    from ..core.fit import LinearModel

    energies, forces = LinearModel(np.asarray(coefficients, dtype=float)).predict(
        [blocks[i] for i in test]
    )
    n = np.array([len(f) for f in forces])
    return 1000.0 * (energies - np.array([labels.energies[i] for i in test])) / n


def _levels_below(names, truth) -> list[str]:
    """The levels of ``names`` below ``truth`` (``[truth]`` if none: train and test on it)."""
    from ..dft.levels import level_order

    return [n for n in names if level_order(n) < level_order(truth)] or [truth]


def default_levels(dataset, test_ids=None) -> tuple[str, list[str]]:
    """``(reference level, training levels)`` of :func:`measure_dataset` by default.

    The reference is the highest level with at least :data:`MIN_TEST` test configurations (a
    campaign still running may have its highest level on a few only), else the highest; the
    training levels are those below it (a dataset with one level trains and tests on it).
    """
    names = dataset.level_names
    test_ids = dataset.test_ids if test_ids is None else test_ids
    enough = [n for n in names if len(dataset.common_ids([n], test_ids)) >= MIN_TEST]
    truth = enough[-1] if enough else names[-1]
    return truth, _levels_below(names, truth)


def measure_dataset(
    dataset,
    twojmax: int,
    conventions: StudyConventions | None = None,
    *,
    name: str = "dataset",
    description: str = "",
    train_levels=None,
    truth_level=None,
    curve_level=None,
    blocks: dict | None = None,
    executor="serial",
    progress=None,
    reference=None,
) -> SourceResult:
    """The learning curves and Pareto fronts of a labelled dataset with ``conventions``.

    Args:
        dataset: a :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.
        twojmax: 2Jmax of the qSNAP models (descriptors computed with LAMMPS unless
            ``blocks`` are given).
        conventions: the :class:`StudyConventions`.
        name: the report column of this source.
        description: one line on the source.
        train_levels: training levels (default: the levels below the reference; a dataset
            with one level trains and tests on it).
        truth_level: reference level of the test errors (default: the highest level with at
            least :data:`MIN_TEST` test configurations).
        curve_level: training level of the learning curves (default: the highest training
            level).
        blocks: ``{configuration id: block}`` at this 2Jmax, if already computed.
        executor: where the sweep units run (:mod:`pyiron_appmlip.executors`).
        progress: optional callable receiving messages.
        reference: a :class:`~pyiron_appmlip.potential.reference.ReferencePotential`
            subtracted from the labels before fitting (errors are the same with or without it,
            as the reference is added back to every prediction).
    """
    import pandas as pd

    from ..training.labels import split_by_configuration
    from ..training.sweep import InMemoryBlocks, SweepGrid, row_key, run_sweep

    conv = StudyConventions() if conventions is None else conventions
    say = progress or (lambda m: None)
    names = dataset.level_names
    if conv.test_fraction is None:
        train_ids, test_ids = dataset.train_ids, dataset.test_ids
    else:
        train_ids, test_ids = split_by_configuration(
            dataset.ids, test_fraction=conv.test_fraction, seed=conv.seed
        )
    truth = str(default_levels(dataset, test_ids)[0] if truth_level is None else truth_level)
    if train_levels is None:
        train_levels = _levels_below(names, truth)
    train_levels = [str(v) for v in train_levels]
    curve_level = str(curve_level or train_levels[-1])
    pool = dataset.common_ids(train_levels, train_ids)
    test = dataset.common_ids([truth], test_ids)
    labels = {lv: dataset.labels(lv) for lv in dict.fromkeys([*train_levels, truth])}
    if reference is not None:
        say(f"reference potential subtracted: {reference}")
        structures = {i: dataset.structure(i) for i in pool + test}
        labels = {
            lv: reference.subtract(dataset.labels(lv, pool + test), structures) for lv in labels
        }
    if blocks is None:
        from ..descriptors import compute_qsnap_blocks

        say(f"descriptors 2Jmax={twojmax} ({len(pool) + len(test)} structures)")
        blocks = dict(
            zip(
                pool + test,
                compute_qsnap_blocks([dataset.structure(i) for i in pool + test], twojmax),
                strict=True,
            )
        )
    p = int(next(iter(blocks.values())).shape[1])
    n_coefficients = p + 1 if conv.fit_convention == "package" else p
    pool_rows = [1 + 3 * len(dataset.structure(i)) for i in pool]
    sizes = _sizes(pool_rows, n_coefficients, conv.n_sizes)
    source = {int(twojmax): InMemoryBlocks(blocks)}
    common = {
        "subset_sizes": sizes,
        "draws": conv.draws,
        "fit_convention": conv.fit_convention,
        "seed": conv.seed,
        "leverage_weights": (conv.curve_weight, 1.0),
    }
    say(f"learning curves 2Jmax={twojmax}: sizes {sizes}, {conv.repetitions} repetitions")
    curve_grid = SweepGrid(
        [curve_level],
        weights=[conv.curve_weight],
        samplers=(*CURVE_SAMPLERS, "all"),
        repetitions=conv.repetitions,
        **common,
    )
    curve_rows = run_sweep(source, labels, pool, test, curve_grid, truth, executor=executor)
    say(f"Pareto front 2Jmax={twojmax}: {conv.front_repetitions} repetitions")
    front_grid = SweepGrid(
        train_levels,
        weights=list(conv.weights),
        samplers=("leverage", "all"),
        repetitions=conv.front_repetitions,
        **common,
    )
    # the front's cells at the curve level and weight are the curves' leverage rows: reused
    done = {row_key(r) for r in curve_rows}
    front_rows = run_sweep(
        source, labels, pool, test, front_grid, truth, executor=executor, done=done
    )
    front_rows += [
        r
        for r in curve_rows
        if r["sampler"] == "all"
        or (r["sampler"] == "leverage" and r["repetition"] < conv.front_repetitions)
    ]
    say(f"weight sweep 2Jmax={twojmax}: {len(SWEEP_WEIGHTS)} weights on the whole pool")
    sweep_grid = SweepGrid(
        train_levels,
        [],
        weights=list(SWEEP_WEIGHTS),
        samplers=["all"],
        **{k: v for k, v in common.items() if k != "subset_sizes"},
    )
    done = {row_key(r) for r in front_rows}
    sweep_rows = [r for r in front_rows if r["sampler"] == "all"]
    sweep_rows += run_sweep(
        source, labels, pool, test, sweep_grid, truth, executor=executor, done=done
    )
    weight_sweep = pd.DataFrame(sweep_rows).drop(columns=["coefficients", "training_ids"])
    weight_sweep = weight_sweep[
        weight_sweep["weight_ratio"].apply(lambda w: any(np.isclose(w, SWEEP_WEIGHTS)))
    ].sort_values(["train_level", "weight_ratio"])
    curves_df = pd.DataFrame(curve_rows).drop(columns=["coefficients", "training_ids"])
    front_df = pd.DataFrame(front_rows).drop(columns=["coefficients", "training_ids"])
    costs = {lv: dataset.level(lv).cost_seconds() for lv in train_levels}
    mean_seconds = {
        lv: float(np.nanmean(c)) if np.isfinite(c).any() else np.nan for lv, c in costs.items()
    }
    front_df["dft_seconds_mean_x_n"] = (
        front_df["train_level"].map(mean_seconds) * front_df["subset_size"]
    )
    if not np.isfinite(front_df["dft_seconds_mean_x_n"]).any():
        front_df["dft_seconds"] = np.nan  # imported labels: no wall times
    whole_row = next(r for r in curve_rows if r["sampler"] == "all")
    # the source's group, else the generator that made the structure (our own datasets)
    group_of = {
        i: g or k for i, g, k in zip(dataset.ids, dataset.group, dataset.generator, strict=True)
    }
    concentration = energy_error_concentration(
        _test_energy_errors(whole_row["coefficients"], blocks, labels[truth], test),
        [group_of.get(i, "") for i in test],
    )
    whole = curves_df[curves_df["sampler"] == "all"].iloc[0]
    full = {
        "energy": float(whole["energy_rmse_test_truth"]),
        "force": float(whole["force_rmse_test_truth"]),
    }
    curves, needed = curve_summary(curves_df, full, conv)
    fronts = front_summary(front_df[front_df["sampler"] == "leverage"], conv)
    return SourceResult(
        name=name,
        description=description,
        twojmax=int(twojmax),
        curves=curves,
        needed=needed,
        fronts=fronts,
        full=full,
        info={
            "pool": len(pool),
            "test": len(test),
            "curve_level": curve_level,
            "truth_level": truth,
            "curve_weight": conv.curve_weight,
            "repetitions": conv.repetitions,
            "front_repetitions": conv.front_repetitions,
            "sizes": sizes,
            "front_sizes": sizes,
            "levels": train_levels,
            "n_coefficients": n_coefficients,
            "min_rank": int(
                min(curves_df["rank"].min(), front_df["rank"].min(), weight_sweep["rank"].min())
            ),
            "conventions": asdict(conv),
            "energy_outliers": concentration,
        },
        rows=front_df,
        weight_sweep=weight_sweep,
    )


def md_throughput(twojmax_values, n_steps: int = 100) -> dict:
    """Measured LAMMPS MD throughput (atom-steps per second) of qSNAP per 2Jmax.

    128-atom hcp Be, random coefficients (the cost does not depend on their values), one core:
    :func:`~pyiron_appmlip.potential.evaluation_cost.measure_evaluation_cost`.
    """
    from ..potential.evaluation_cost import measure_evaluation_cost

    return {
        int(t): float(
            measure_evaluation_cost(twojmax=int(t), n_steps=n_steps)["atom_steps_per_second"]
        )
        for t in twojmax_values
    }


def application_front(
    results: list[SourceResult],
    atom_steps_per_second: dict,
    conventions: StudyConventions | None = None,
    preference: float = 0.5,
):
    """The application-specific front of one dataset over 2Jmax: energy error, force error,
    MLIP MD cost and DFT cost (or the number of configurations where no times are known).

    Args:
        results: :func:`measure_dataset` results of one dataset at several 2Jmax.
        atom_steps_per_second: measured MD throughput per 2Jmax (:func:`md_throughput`).
        conventions: the :class:`StudyConventions` (center).
        preference: in [0, 1]; weight of the energy error in the choice (0: forces only).

    Returns:
        ``(front, choice, cost_column)``: the front's models (median over repetitions per
        setting) with ``md_microseconds_per_atom_step`` and ``score``; the front model with
        the lowest ``preference * (E / E_min - 1) + (1 - preference) * (F / F_min - 1)``; the
        DFT cost column used.
    """
    import pandas as pd

    from ..core.learning_curves import summarize_repetitions
    from ..core.pareto import pareto_front

    conv = StudyConventions() if conventions is None else conventions
    if not 0.0 <= preference <= 1.0:
        raise ValueError(f"preference must be in [0, 1], got {preference!r}")
    rows = pd.concat([r.rows for r in results], ignore_index=True)
    missing = sorted(set(int(t) for t in rows["twojmax"]) - set(atom_steps_per_second))
    if missing:
        raise ValueError(f"atom_steps_per_second lacks the 2Jmax values {missing}")
    rows = rows.assign(
        md_microseconds_per_atom_step=[1e6 / atom_steps_per_second[int(t)] for t in rows["twojmax"]]
    )
    cost = (
        "dft_seconds_mean_x_n"
        if "dft_seconds_mean_x_n" in rows and np.isfinite(rows["dft_seconds_mean_x_n"]).any()
        else "subset_size"
    )
    keys = ["twojmax", "subset_size", "weight_ratio", "train_level"]
    columns = [*ERRORS, "md_microseconds_per_atom_step"] + ([cost] if cost not in keys else [])
    med = summarize_repetitions(rows, keys, columns, center=conv.center, band=conv.band)
    if cost == "subset_size":
        med["subset_size_center"] = med["subset_size"].astype(float)
    objectives = [f"{c}_center" for c in (*ERRORS, "md_microseconds_per_atom_step", cost)]
    front = pareto_front(med, objectives).copy()
    e, f = front[objectives[0]], front[objectives[1]]
    front["score"] = preference * (e / e.min() - 1.0) + (1.0 - preference) * (f / f.min() - 1.0)
    front = front.sort_values("score")
    return front, front.iloc[0], cost


def _section_application(name: str, front, choice, cost: str) -> list[str]:
    cost_name = "DFT core-seconds (mean x N)" if cost != "subset_size" else "configurations"
    lines = [
        f"### The application-specific front: {name}",
        "",
        "Models on the front of energy error, force error, MLIP MD cost (measured with LAMMPS, "
        f"128-atom hcp Be, one core) and {cost_name}; medians over repetitions per setting. Per "
        "2Jmax: how many front models, their best errors and the MD cost.",
        "",
        "| 2Jmax | models on the front | best energy RMSE | best force RMSE | MD cost (us/atom-step) "
        f"| fewest {cost_name} |",
        "|---|---|---|---|---|---|",
    ]
    c = f"{cost}_center"
    for t, g in front.groupby("twojmax"):
        lines.append(
            f"| {t} | {len(g)} | {g['energy_rmse_test_truth_center'].min():.2f} | "
            f"{g['force_rmse_test_truth_center'].min():.1f} | "
            f"{g['md_microseconds_per_atom_step_center'].iloc[0]:.1f} | {g[c].min():,.0f} |"
        )
    lines += [
        "",
        f"Recommended (equal weight on energy and force errors): 2Jmax {int(choice['twojmax'])}, "
        f"level {choice['train_level']}, w_E/w_F = {choice['weight_ratio']:g}, "
        f"{int(choice['subset_size']):,} configurations: energy "
        f"{choice['energy_rmse_test_truth_center']:.2f} meV/atom, force "
        f"{choice['force_rmse_test_truth_center']:.1f} meV/Angstrom, MD cost "
        f"{choice['md_microseconds_per_atom_step_center']:.1f} us/atom-step.",
        "",
    ]
    return lines


# -- report ------------------------------------------------------------------------------------
def _n(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "never"
    return f"{int(value):,}"


def _ratio(value) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.1f}x"


def _section_curves(results: list[SourceResult], conv: StudyConventions) -> list[str]:
    lines = [
        "## Fig. 6: how many configurations each sampler needs",
        "",
        f"Each source's learning curves at w_E/w_F = {conv.curve_weight:g}: every subset size "
        f"drawn {'afresh' if conv.draws == 'independent' else 'as a prefix of one order'} per "
        f"repetition, summarised by the {conv.center} and the "
        f"{conv.band[0]:g}-{conv.band[1]:g} % band. A sampler needs N configurations when its "
        f"{conv.center} (or mean) test error stays, from N on, within {conv.energy_tolerance:g} "
        f"meV/atom (energies) or {conv.force_tolerance:g} meV/Angstrom (forces) of the whole "
        f"pool's (the authors' criterion), or within {100 * conv.relative_tolerance:g} % of it "
        "(for errors far above those tolerances). 'never' means not within the sizes drawn. "
        "Sizes start where even the configurations with the fewest atoms give as many equations "
        "as coefficients; a fit can still have a lower numerical rank when its configurations "
        "are symmetric (zero forces) or alike, and the smallest rank is listed.",
        "",
    ]
    header = "| | " + " | ".join(r.name for r in results) + " |"
    lines += [header, "|---" * (len(results) + 1) + "|"]

    def info_row(label, fn):
        return f"| {label} | " + " | ".join(fn(r) for r in results) + " |"

    lines.append(info_row("2Jmax", lambda r: str(r.twojmax)))
    lines.append(
        info_row("pool / test configurations", lambda r: f"{r.info['pool']:,} / {r.info['test']:,}")
    )
    lines.append(
        info_row(
            "level trained / tested", lambda r: f"{r.info['curve_level']} / {r.info['truth_level']}"
        )
    )
    lines.append(info_row("repetitions per size", lambda r: str(r.info["repetitions"])))
    lines.append(
        info_row(
            "coefficients / smallest numerical rank of any fit",
            lambda r: (
                f"{r.info['n_coefficients']} / {r.info['min_rank']}"
                if r.info.get("n_coefficients")
                else "-"
            ),
        )
    )
    lines.append(
        info_row("sizes", lambda r: f"{min(r.info['sizes']):,} - {max(r.info['sizes']):,}")
    )
    lines.append(
        info_row(
            "whole pool: energy / force test RMSE",
            lambda r: f"{r.full['energy']:.2f} / {r.full['force']:.1f}",
        )
    )

    def outliers(r):
        c = r.info.get("energy_outliers")
        if not c:
            return "-"
        if not c["count"]:
            return "none"
        where = ", ".join(f"{g or 'no group'} {n}" for g, n in list(c["groups"].items())[:3])
        return (
            f"{c['count']} ({where}) carry {100 * c['share']:.0f} % of the squared error; "
            f"the others {c['rmse_without']:.2f}"
        )

    lines.append(
        info_row(
            f"whole pool: test configurations with energy errors above {OUTLIER_FACTOR:g}x the "
            "median (meV/atom)",
            outliers,
        )
    )
    for kind, unit in (("energy", "meV/atom"), ("force", "meV/Angstrom")):
        for sampler in CURVE_SAMPLERS:
            for how in ("median", "mean", "median_rel"):

                def cell(r, sampler=sampler, key=f"{kind}_{how}"):
                    g = r.needed[r.needed["sampler"] == sampler]
                    if g.empty:
                        return "-"
                    v = g.iloc[0][key]
                    ratio = g.iloc[0][f"{key}_vs_random"]
                    if sampler == "random" or not np.isfinite(ratio):
                        extra = ""
                    elif ratio >= 1.0:
                        extra = f" ({_ratio(ratio)} fewer than random)"
                    else:
                        extra = f" ({_ratio(1.0 / ratio)} more than random)"
                    return _n(
                        None if v is None or (isinstance(v, float) and np.isnan(v)) else v
                    ) + (extra if np.isfinite(ratio) else "")

                what = (
                    f"by median, within {100 * conv.relative_tolerance:g} %"
                    if how == "median_rel"
                    else f"by {how}"
                )
                lines.append(info_row(f"{kind} ({unit}), {sampler}, {what}", cell))
    lines.append("")
    return lines


def _section_weights(results: list[SourceResult]) -> list[str]:
    lines = [
        "## Fig. 4: the weight sweep on the whole training pool",
        "",
        "Models trained on each source's whole pool at every w_E/w_F of "
        f"{', '.join(f'{w:g}' for w in SWEEP_WEIGHTS)}, tested against the source's reference "
        "level. Per training level: the ratio with the lowest energy and the lowest force error, "
        "and the energy and force errors at a high energy weight (300) and a high force weight "
        "(5).",
        "",
        "| source | level | lowest energy RMSE (at w_E/w_F) | lowest force RMSE (at w_E/w_F) "
        "| energy at 300 / 5 | force at 300 / 5 |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        t = r.weight_sweep
        if t is None or len(t) == 0:
            continue
        for lv in sorted(
            t["train_level"].unique(), key=lambda v: int(v) if str(v).isdigit() else 0
        ):
            g = t[t["train_level"] == lv]
            e, f = g["energy_rmse_test_truth"], g["force_rmse_test_truth"]
            at = {w: g[np.isclose(g["weight_ratio"], w)] for w in (300.0, 5.0)}
            if any(len(v) == 0 for v in at.values()):
                continue
            lines.append(
                f"| {r.name} | {lv} | {e.min():.2f} ({g['weight_ratio'][e.idxmin()]:g}) | "
                f"{f.min():.1f} ({g['weight_ratio'][f.idxmin()]:g}) | "
                f"{at[300.0]['energy_rmse_test_truth'].iloc[0]:.2f} / "
                f"{at[5.0]['energy_rmse_test_truth'].iloc[0]:.2f} | "
                f"{at[300.0]['force_rmse_test_truth'].iloc[0]:.1f} / "
                f"{at[5.0]['force_rmse_test_truth'].iloc[0]:.1f} |"
            )
    return lines + [""]


def _section_fronts(results: list[SourceResult], conv: StudyConventions) -> list[str]:
    lines = [
        "## Fig. 7: training levels on the Pareto front",
        "",
        "The front over DFT cost, test energy error and test force error (against each "
        f"source's reference level) of the {conv.center} leverage-sampled model per setting "
        "(level, size, weight), with the standard dominance rule and with the authors' strict "
        "one (a model is dominated only by one better in all three objectives). DFT cost as the "
        "measured time of the chosen configurations (their CPU time where the level records it "
        "for every calculation, else their wall time) and as the level's mean time per "
        "configuration times N; the authors' tables give only the latter (with the paper's "
        "Table 1 times). Counts are models on the front per level. The drawn range keeps the "
        f"front's models with errors at most {conv.front_range[0]:g} times (energy) and "
        f"{conv.front_range[1]:g} times (force) the best on the front; the paper draws a "
        "range like this but gives it only graphically.",
        "",
    ]
    header = "| | " + " | ".join(r.name for r in results) + " |"
    lines += [header, "|---" * (len(results) + 1) + "|"]
    lines.append(
        "| levels trained | " + " | ".join(", ".join(r.info["levels"]) for r in results) + " |"
    )

    def whole(f):
        return (
            ", ".join(f"{lv} ({f['counts'][lv]})" for lv in f["levels"])
            + f" of {f['n_settings']} settings"
        )

    def drawn(f):
        counts = f["range_counts"]
        levels = sorted(counts, key=lambda v: int(v) if str(v).isdigit() else v)
        return (", ".join(f"{lv} ({counts[lv]})" for lv in levels) or "none") + (
            f" (energy <= {f['range'][0]:.1f}, force <= {f['range'][1]:.0f})"
        )

    for cost in COSTS:
        label = "measured time" if cost == "dft_seconds" else "mean time x N"
        for rule in DOMINANCE:
            for suffix, cell, missing in (
                ("", whole, "no such cost"),
                (", drawn range", drawn, "-"),
            ):
                cells = [
                    missing if r.fronts.get((cost, rule)) is None else cell(r.fronts[(cost, rule)])
                    for r in results
                ]
                lines.append(f"| {label}, {rule} rule{suffix} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def paper_statements(paper: SourceResult) -> list[dict]:
    """What the paper states about Figs. 6 and 7, checked against the authors' own tables.

    Args:
        paper: :func:`paper_source` of the authors' tables.

    Returns:
        One dict per statement: ``statement`` (our wording, with the paper's reference),
        ``tables`` (what the tables give) and ``follows`` ("yes", "no" or "partly").
    """
    from . import paper_values as pv

    fig4, fig6, fig7 = pv.FIG_4, pv.FIG_6, pv.FIG_7
    n = paper.needed.set_index("sampler")
    out = []
    ws = paper.weight_sweep
    if ws is not None and len(ws):
        for key, what in (
            ("levels_energy_error_rises_with_energy_weight", "rises with the energy weight"),
            ("levels_energy_overfit_at_high_energy_weight", "rises again at the highest weights"),
        ):
            levels = [str(v) for v in fig4[key]]
            cells, verdicts = [], []
            for lv in levels:
                g = ws[ws["train_level"] == lv].sort_values("weight_ratio")
                if g.empty:
                    continue
                e = g["energy_rmse_test_truth"].to_numpy()
                w = g["weight_ratio"].to_numpy()
                best = int(np.argmin(e))
                up = e[-1] > 1.02 * e[best]
                if key == "levels_energy_error_rises_with_energy_weight":
                    # rising from the force-weighted end on: yes; only past an interior minimum: partly
                    verdicts.append(
                        "yes" if up and best <= len(e) // 3 else ("partly" if up else "no")
                    )
                else:
                    verdicts.append("yes" if up and 0 < best < len(e) - 1 else "no")
                cells.append(
                    f"level {lv}: {e[0]:.2f} at {w[0]:g}, lowest {e[best]:.2f} at {w[best]:g}, "
                    f"{e[-1]:.2f} at {w[-1]:g}"
                )
            out.append(
                {
                    "statement": f"for training levels {', '.join(levels)} the energy error "
                    f"against the highest level {what} ({fig4['ref']}, 2Jmax {fig4['two_jmax']})",
                    "tables": "; ".join(cells) + f" (2Jmax {paper.twojmax}, whole pool)",
                    "follows": "yes"
                    if verdicts and all(v == "yes" for v in verdicts)
                    else ("no" if all(v == "no" for v in verdicts) else "partly"),
                }
            )

    def ratio(sampler, key):
        v = n.loc[sampler, f"{key}_vs_random"] if sampler in n.index else np.nan
        return float(v) if np.isfinite(v) else None

    want = float(fig6["energy_cost_reduction_vs_random"])
    got = {how: ratio("leverage", f"energy_{how}") for how in ("median", "mean")}
    out.append(
        {
            "statement": f"leverage sampling needs about {want:g}x fewer configurations than "
            f"random for energies within {fig6['energy_tolerance_to_full_set_mev_per_atom']:g} "
            f"meV/atom of the whole set ({fig6['ref']}, 2Jmax {fig6['two_jmax']})",
            "tables": f"{_ratio(got['median'])} by median, {_ratio(got['mean'])} by mean "
            f"(2Jmax {paper.twojmax}; sizes up to {max(paper.info['sizes']):,})",
            "follows": "yes"
            if all(v is not None and v >= want / 1.5 for v in got.values())
            else (
                "partly" if any(v is not None and v >= want / 1.5 for v in got.values()) else "no"
            ),
        }
    )
    lo, hi = fig6["force_configuration_reduction_vs_random"]
    best = {
        how: max(
            (ratio(s, f"force_{how}") or 0.0 for s in ("leverage", "block_leverage")), default=0.0
        )
        for how in ("median", "mean")
    }
    out.append(
        {
            "statement": f"for forces within {fig6['force_tolerance_to_limit_mev_per_angstrom']:g} "
            f"meV/Angstrom of the limit, leverage sampling needs {lo}-{hi}x fewer configurations "
            f"than random ({fig6['ref']})",
            "tables": f"best leverage sampler {_ratio(best['median'])} by median, "
            f"{_ratio(best['mean'])} by mean",
            "follows": "yes"
            if all(v >= lo * 0.75 for v in best.values())
            else ("partly" if any(v >= lo * 0.75 for v in best.values()) else "no"),
        }
    )
    for kind, claim in (("energy", fig6["better_for_energy"]), ("force", fig6["better_for_force"])):
        sizes = {
            s: n.loc[s, f"{kind}_median"] for s in ("leverage", "block_leverage") if s in n.index
        }
        finite = {s: v for s, v in sizes.items() if v is not None and np.isfinite(v)}
        winner = min(finite, key=finite.get) if finite else None
        name = "leverage" if claim == "regular" else "block_leverage"
        tie = len(set(finite.values())) == 1 and len(finite) == 2
        out.append(
            {
                "statement": f"{claim} leverage is the better sampler for {kind} errors "
                f"({fig6['ref']})",
                "tables": ", ".join(f"{s} {_n(v)}" for s, v in sizes.items())
                + " configurations (median)",
                "follows": "partly" if tie else ("yes" if winner == name else "no"),
            }
        )
    front = paper.fronts.get(("dft_seconds_mean_x_n", "standard"))
    if front is not None:
        absent = [str(v) for v in fig7["levels_absent_from_front"]]
        on_whole = [lv for lv in absent if lv in front["counts"]]
        in_range = [lv for lv in absent if lv in front["range_counts"]]
        cheap = front["front"][front["front"]["train_level"].isin(on_whole)]
        out.append(
            {
                "statement": f"levels {', '.join(absent)} are not on the Pareto front "
                f"({fig7['ref']})",
                "tables": (
                    f"on the whole 3-D front: levels {', '.join(on_whole)} with "
                    f"{len(cheap)} models, the cheapest ones, with energy errors of "
                    f"{cheap['energy_rmse_test_truth_center'].min():.0f}-"
                    f"{cheap['energy_rmse_test_truth_center'].max():.0f} meV/atom"
                    if on_whole
                    else "absent from the whole 3-D front"
                )
                + (
                    f"; in the drawn range: levels {', '.join(in_range)}"
                    if in_range
                    else "; absent from the drawn range"
                ),
                "follows": "partly" if on_whole and not in_range else ("no" if in_range else "yes"),
            }
        )
        top = str(max(int(v) for v in front["counts"]))
        share = front["counts"].get(top, 0) / max(1, sum(front["counts"].values()))
        best_e = front["front"]["energy_rmse_test_truth_center"].min()
        top_rows = front["front"][front["front"]["train_level"] == top]
        out.append(
            {
                "statement": f"the highest level ({top}) is mostly absent from the front, except "
                f"at the edge of the lowest errors ({fig7['ref']})",
                "tables": f"{front['counts'].get(top, 0)} of {sum(front['counts'].values())} "
                f"front models ({100 * share:.0f} %), energy errors "
                f"{top_rows['energy_rmse_test_truth_center'].min():.1f}-"
                f"{top_rows['energy_rmse_test_truth_center'].max():.1f} meV/atom (best on the "
                f"front {best_e:.1f})"
                if len(top_rows)
                else "absent",
                "follows": "yes" if share < 0.2 else "partly",
            }
        )
    return out


def _section_statements(paper: SourceResult) -> list[str]:
    lines = [
        "## The paper's statements against the authors' own tables",
        "",
        "Each statement in our words; 'tables' is what the authors' published results give "
        "with the conventions above. The tables are for 2Jmax 6 only; where the paper's figure "
        "is for another 2Jmax the comparison is the nearest one possible.",
        "",
        "| statement | tables | follows |",
        "|---|---|---|",
    ]
    lines += [
        f"| {d['statement']} | {d['tables']} | {d['follows']} |" for d in paper_statements(paper)
    ]
    return lines + [""]


def dataset_cost_lines(dataset, name: str) -> list[str]:
    """A Markdown table of a dataset's DFT cost: calculations and core-hours per level."""
    from .findings_measure import dataset_summary

    d = dataset_summary(dataset)
    lines = [
        f"{name}: {d['n_configurations']} configurations of {d['n_atoms_range'][0]}-"
        f"{d['n_atoms_range'][1]} atoms ({len(dataset.train_ids)} training pool, "
        f"{len(dataset.test_ids)} test); wall time on one core, and the calculations' own CPU "
        "time where it was recorded (wall time grows when other work shares the cores, CPU "
        "time does not). The Pareto fronts take the CPU time as the cost of a level that "
        "records it for every calculation, else the wall time (last column):",
        "",
        "| level | calculations | mean per configuration (s) | total (core-hours) "
        "| CPU time recorded for | CPU core-hours of those | cost on the fronts |",
        "|---|---|---|---|---|---|---|",
    ]

    def cpu(lv):
        return "-" if d["cpu_seconds"][lv] is None else f"{d['cpu_seconds'][lv] / 3600:.2f}"

    for lv in d["levels"]:
        lines.append(
            f"| {lv} | {d['n_calculations'][lv]} | "
            f"{d['mean_seconds_per_configuration'][lv]:.1f} | {d['core_seconds'][lv] / 3600:.2f} "
            f"| {d['n_cpu_recorded'][lv]} | {cpu(lv)} | {dataset.level(lv).cost_clock()} |"
        )
    total = sum(d["core_seconds"].values()) / 3600
    cpu_total = sum(v for v in d["cpu_seconds"].values() if v is not None) / 3600
    lines.append(
        f"| all | {sum(d['n_calculations'].values())} | | {total:.2f} | "
        f"{sum(d['n_cpu_recorded'].values())} | {cpu_total:.2f} | |"
    )
    return lines + [""]


def application_sections(results: list[SourceResult], conventions, atom_steps_per_second=None):
    """The application-specific front of every one of our datasets over its 2Jmax values
    (MD throughput measured with :func:`md_throughput` unless given)."""
    groups: dict[str, list] = {}
    for r in results:
        if r.name != "authors' tables":
            groups.setdefault(r.name.split(", 2Jmax")[0], []).append(r)
    if not groups:
        return []
    twojmax = sorted({r.twojmax for g in groups.values() for r in g})
    aps = dict(atom_steps_per_second or md_throughput(twojmax))
    lines = []
    for name, group in groups.items():
        front, choice, cost = application_front(group, aps, conventions)
        lines += _section_application(name, front, choice, cost)
    return lines


def render_sections(
    results: list[SourceResult], conventions: StudyConventions, applications=None
) -> list[str]:
    """The report's sections (without a title): sources, Fig. 6, Fig. 7 (with
    ``applications``, lines of :func:`application_sections`, after it) and, with the authors'
    tables among the sources, their statements checked."""
    lines = ["Sources:", ""]
    lines += [f"- **{r.name}**: {r.description}" for r in results]
    lines += [""]
    lines += _section_weights(results)
    lines += _section_curves(results, conventions)
    lines += _section_fronts(results, conventions)
    lines += list(applications or [])
    for r in results:
        if r.name == "authors' tables":
            lines += _section_statements(r)
    return lines


def render_report(
    results: list[SourceResult],
    conventions: StudyConventions,
    command: str = "",
    applications=None,
):
    """The Markdown report of the sources side by side (see :func:`render_sections`)."""
    lines = [
        "# Figs. 6 and 7 like for like",
        "",
        "Regenerate with:",
        "",
        f"    {command}" if command else "    python -m pyiron_appmlip.study.like_for_like --help",
        "",
    ]
    lines += render_sections(results, conventions, applications)
    return "\n".join(lines) + "\n"


def code_digest() -> str:
    """SHA-256 of the package's Python sources: part of every cache key, so that a result
    computed by other code (an edited checkout keeps its version string) is not reused."""
    import hashlib

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        h.update(os.path.relpath(path, root).encode())
        with open(path, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def _cached(cache_dir, key: dict, compute):
    """``compute()``, stored in ``cache_dir`` under a hash of ``key`` and reused only for an equal
    key (the dataset file's SHA-256, 2Jmax, conventions, package version and
    :func:`code_digest` are in it)."""
    import hashlib
    import json
    import pickle

    if cache_dir is None:
        return compute()
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    path = os.path.join(cache_dir, f"{digest}.pkl")
    if os.path.exists(path):
        try:
            with open(path, "rb") as fh:
                stored_key, result = pickle.load(fh)
            if stored_key == text:
                return result
        except Exception as err:  # a damaged cache file is recomputed
            print(f"cache file {path} unreadable ({err}); recomputing", file=sys.stderr)
    result = compute()
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        pickle.dump((text, result), fh)
    os.replace(tmp, path)
    return result


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.study.like_for_like", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--paper-results", default=None, help="folder of the authors' tables")
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        help="a labelled dataset file, or 'small' / 'large' for the shipped GPAW files "
        "(repeatable)",
    )
    parser.add_argument(
        "--wbe",
        default=None,
        help="the W-Be SNAP set's Be configurations (FitSNAP JSON folder, from FitSNAP's "
        "examples/WBe_PRB2019/JSON); split 50/50 by configuration id",
    )
    parser.add_argument("--twojmax", type=int, nargs="+", default=[4])
    parser.add_argument("--repetitions", type=int, default=StudyConventions.repetitions)
    parser.add_argument("--front-repetitions", type=int, default=StudyConventions.front_repetitions)
    parser.add_argument(
        "--source-twojmax",
        nargs="+",
        default=None,
        metavar="SOURCE=2J,2J",
        help="2Jmax values of one source instead of --twojmax, e.g. wbe=4,6,8 large=4,6,8 "
        "(sources: wbe, small, large or a --dataset file as given)",
    )
    parser.add_argument(
        "--repetitions-at",
        nargs="+",
        default=None,
        metavar="2JMAX=N",
        help="at most N repetitions at that 2Jmax (e.g. 8=10 for the dear 2Jmax 8 models)",
    )
    parser.add_argument("--executor", default="serial", help="'serial', 'local' or a worker count")
    parser.add_argument("--cache", default=None, help="folder of cached results (reused if equal)")
    parser.add_argument("--out", default=None, help="Markdown report (default: print)")
    return parser


def _check_repetitions_at(repetitions_at) -> dict:
    """``{2Jmax: repetitions}`` with positive integers, else a ValueError naming the parameter."""
    out = {}
    for t, n in (repetitions_at or {}).items():
        ok = all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in (t, n)
        )
        if not ok:
            raise ValueError(
                "repetitions_at must map 2Jmax values to positive repetition counts, e.g. "
                f"{{8: 10}}; got {repetitions_at!r}"
            )
        out[int(t)] = int(n)
    return out


def parse_repetitions_at(items) -> dict:
    """``["8=10", ...]`` (the command-line form) as ``{8: 10, ...}``."""
    out = {}
    for item in items or ():
        left, sep, right = str(item).partition("=")
        if not sep or not left.strip().isdigit() or not right.strip().isdigit():
            raise ValueError(f"--repetitions-at takes 2JMAX=N pairs such as 8=10, got {item!r}")
        out[int(left)] = int(right)
    return _check_repetitions_at(out)


def parse_twojmax_of(items) -> dict:
    """``["wbe=4,6,8", ...]`` (the command-line form) as ``{"wbe": [4, 6, 8], ...}``."""
    out = {}
    for item in items or ():
        name, sep, values = str(item).partition("=")
        parts = [v.strip() for v in values.split(",")]
        if not sep or not name.strip() or not all(v.isdigit() for v in parts):
            raise ValueError(
                f"--source-twojmax takes SOURCE=2J,2J pairs such as wbe=4,6,8, got {item!r}"
            )
        out[name.strip()] = [int(v) for v in parts]
    return out


def collect_results(
    paper_results: str | None = None,
    datasets=(),
    wbe: str | None = None,
    twojmax_values=(4,),
    conventions: StudyConventions | None = None,
    cache: str | None = None,
    executor="serial",
    progress=None,
    authors_fit: bool = False,
    twojmax_of: dict | None = None,
    repetitions_at: dict | None = None,
) -> list[SourceResult]:
    """Every source's :class:`SourceResult`, computed or taken from ``cache``.

    Args:
        paper_results: folder of the authors' tables (None: left out).
        datasets: labelled dataset files, or "small" / "large" for the shipped GPAW files.
        wbe: the W-Be SNAP set's Be-only FitSNAP JSON folder (None: left out); imported with
            :func:`~pyiron_appmlip.datasets.importers.read_dataset` and split in halves.
        twojmax_values: 2Jmax values of our sources (the authors' tables are 2Jmax 6).
        conventions: the :class:`StudyConventions`.
        cache: folder of cached results: a result is reused only if the source's files
            (SHA-256), 2Jmax, conventions, package version and package sources
            (:func:`code_digest`) are the same.
        executor: where the sweep units run.
        progress: optional callable receiving messages.
        authors_fit: also analyse the first of ``datasets`` with the authors' fit (no
            constant column, ``lstsq`` cond 1e-13), as a column of its own.
        twojmax_of: ``{source: 2Jmax values}`` for sources with values of their own (default:
            ``twojmax_values``); a source is named as given (``"small"``, ``"large"``, a file)
            or ``"wbe"``, e.g. ``{"wbe": [4, 6, 8]}``: at 2Jmax 8 (1,596 coefficients) only a
            pool with enough equations in its smallest subsets has a learning curve.
        repetitions_at: ``{2Jmax: n}``: at most ``n`` repetitions (curves and fronts) at that
            2Jmax, for the dear models; every column of the report states its repetitions.
    """
    from .. import __version__
    from ..datasets.be import _DATA, CAMPAIGNS, load_be_dataset
    from ..datasets.importers import file_sha256

    conv = StudyConventions() if conventions is None else conventions
    say = progress or (lambda m: None)
    repetitions_at = _check_repetitions_at(repetitions_at)
    twojmax_of = dict(twojmax_of or {})
    known = [*datasets, *(["wbe"] if wbe else [])]
    unknown = sorted(set(twojmax_of) - set(known))
    if unknown:
        raise ValueError(
            f"twojmax_of names sources {unknown} that are not given; the sources are {known}"
        )
    results = []
    if paper_results:
        results.append(paper_source(load_paper_tables(paper_results), conv))
    sources = []
    for spec in datasets:
        if spec in CAMPAIGNS:
            path = os.path.join(_DATA, CAMPAIGNS[spec]["file"])
            sources.append(
                (
                    f"GPAW {spec}",
                    spec,
                    path,
                    lambda spec=spec: load_be_dataset(campaign=spec),
                    conv,
                    f"the shipped GPAW dataset '{spec}' ({CAMPAIGNS[spec]['description']}; "
                    "trained on the levels below the reference level, see the tables)",
                )
            )
        else:
            from ..datasets.store import load_dataset

            sources.append(
                (
                    os.path.basename(spec),
                    spec,
                    spec,
                    lambda spec=spec: load_dataset(spec),
                    conv,
                    spec,
                )
            )
    if authors_fit and sources:
        name, spec, path, load, source_conv, description = sources[0]
        sources.insert(
            1,
            (
                f"{name} (authors' fit)",
                spec,
                path,
                load,
                replace(source_conv, fit_convention="authors"),
                description + "; fitted as the authors: no constant column, lstsq cond 1e-13",
            ),
        )
    if wbe:

        def load_wbe():
            import fnmatch

            from ..datasets.importers import read_dataset
            from ..datasets.store import select_configurations

            ds = read_dataset(wbe, duplicates="drop", stress_unit="kbar")
            keep = [
                i
                for i, g in zip(ds.ids, ds.group, strict=True)
                if not any(fnmatch.fnmatchcase(g, pat) for pat in WBE_EXCLUDED_GROUPS)
            ]
            return select_configurations(ds, keep)

        sources.append(
            (
                "W-Be (Be part)",
                "wbe",
                wbe,
                load_wbe,
                replace(conv, test_fraction=0.5),
                "VASP (PBE) labels of the Be-only groups of the W-Be SNAP training set (Wood et "
                "al., Phys. Rev. B 99, 184305 (2019); FitSNAP examples/WBe_PRB2019) without the "
                f"groups {', '.join(WBE_EXCLUDED_GROUPS)} (their energies per atom spread by up "
                "to 3.7 eV/atom within a group, and FitSNAP's own fit nearly ignores them); one "
                "DFT level, halves split by configuration id, ZBL reference (zbl 4.0 4.8, as in "
                "FitSNAP's fit of that set) subtracted before fitting",
            )
        )
    references = {"W-Be (Be part)": "zbl 4.0 4.8"}
    code = code_digest() if cache else None
    for name, spec, path, load, source_conv, description in sources:
        if os.path.isdir(path):
            digest = sorted(
                (os.path.relpath(f, path), file_sha256(f))
                for f in glob.glob(os.path.join(path, "**", "*"), recursive=True)
                if os.path.isfile(f)
            )
        else:
            digest = file_sha256(path)
        loaded = []
        for twojmax in twojmax_of.get(spec, twojmax_values):
            conv_at = source_conv
            if int(twojmax) in repetitions_at:
                n = repetitions_at[int(twojmax)]
                conv_at = replace(
                    source_conv,
                    repetitions=min(source_conv.repetitions, n),
                    front_repetitions=min(source_conv.front_repetitions, n),
                )
            key = {
                "source": digest,
                "twojmax": int(twojmax),
                "conventions": asdict(conv_at),
                "version": __version__,
                "code": code,
                "reference": references.get(name),
                "excluded": list(WBE_EXCLUDED_GROUPS) if name.startswith("W-Be") else None,
                "format": RESULT_FORMAT,
            }

            def compute(
                twojmax=twojmax,
                load=load,
                conv=conv_at,
                text=description,
                loaded=loaded,
                name=name,
            ):
                from ..potential.reference import ReferencePotential

                if not loaded:
                    loaded.append(load())
                ref = references.get(name)
                return measure_dataset(
                    loaded[0],
                    int(twojmax),
                    conv,
                    name=f"{name}, 2Jmax {twojmax}",
                    description=text,
                    executor=executor,
                    progress=say,
                    reference=None
                    if ref is None
                    else ReferencePotential.zbl(("Be",), *map(float, ref.split()[1:])),
                )

            say(f"{name} 2Jmax {twojmax}")
            result = _cached(cache, key, compute)
            result.description = description  # the text is not part of what was computed
            results.append(result)
    return results


def main(argv=None) -> int:
    """Write the side-by-side report of the sources named on the command line."""
    args = _parser().parse_args(argv)
    executor = int(args.executor) if str(args.executor).isdigit() else args.executor
    conv = StudyConventions(repetitions=args.repetitions, front_repetitions=args.front_repetitions)
    results = collect_results(
        args.paper_results,
        args.dataset,
        args.wbe,
        args.twojmax,
        conv,
        cache=args.cache,
        executor=executor,
        progress=lambda m: print(m, file=sys.stderr, flush=True),
        twojmax_of=parse_twojmax_of(args.source_twojmax),
        repetitions_at=parse_repetitions_at(args.repetitions_at),
    )
    command = "python -m pyiron_appmlip.study.like_for_like " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = render_report(
        results, conv, command=command, applications=application_sections(results, conv)
    )
    if args.out:
        tmp = f"{args.out}.tmp{os.getpid()}"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, args.out)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    # run the package module's main, so that cached results pickle the package's classes
    from pyiron_appmlip.study.like_for_like import main as _main

    sys.exit(_main())
