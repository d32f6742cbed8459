"""Measuring the paper's findings on a labelled dataset.

Everything here computes from a :class:`~pyiron_appmlip.datasets.store.LabelledDataset` and returns
plain data: :func:`measure_findings` the tables (:class:`Findings`), :func:`observe` the facts read
off them (:class:`Observations`). Nothing here knows the paper's numbers or writes Markdown; that
is :mod:`pyiron_appmlip.reproduction.findings_render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dataset_inputs import dataset_blocks

__all__ = [
    "FindingsSettings",
    "Findings",
    "Observations",
    "measure_findings",
    "table3",
    "dataset_summary",
    "falls_monotonically",
    "levels_raised_by_bulk_shift",
    "weight_rows",
    "observe",
]


@dataclass
class FindingsSettings:
    """What the findings are computed for (defaults: the shipped report's settings).

    Attributes:
        twojmax: 2Jmax values of the sweep.
        twojmax_tables: The 2Jmax of Tables 4/5 and Fig. 6 (default 4: its 120 qSNAP descriptors
            are determined by a few hundred configurations about as well as the paper's 4186 of
            2Jmax 10 by its 10 000; 2Jmax 6 has 495).
        weights: w_E/w_F ratios of the weight sweep (Fig. 4).
        high_energy_weight: The high-energy-weight ratio of Tables 4/5 (one of ``weights``).
        high_force_weight: The high-force-weight ratio of Tables 4/5 (one of ``weights``).
        subset_sizes: Training-subset sizes of the learning curves (the full pool is added).
        repetitions: Sampling repetitions (seeds) per sampler.
        seed: Root seed.
        curve_level: Training level of the learning curves and of the leverage scores (default:
            the highest training level, as the paper's Fig. 6).
        curve_weight: w_E/w_F of the learning curves and of the leverage scores (default:
            ``high_energy_weight``, as the paper's Fig. 6).
        tolerance: meV/atom; a subset is "within tolerance" of the full pool when its mean test
            energy error exceeds the full pool's by at most this (the paper's Fig. 6 criterion).
        relative_tolerance: The same criterion as a fraction of the full-pool error (for errors far
            above 1 meV/atom).
        train_levels: Levels to train on (default: all but ``truth_level``).
        truth_level: Reference level of the test errors (default: the highest).

    Raises:
        ValueError: If ``twojmax_tables`` is not in ``twojmax``, a Tables 4/5 weight is not in
            ``weights`` or ``tolerance`` is not positive.
    """

    twojmax: tuple = (2, 4, 6)
    twojmax_tables: int = 4
    weights: tuple = (300.0, 150.0, 50.0, 12.25, 12.0, 10.0, 5.0)
    high_energy_weight: float = 150.0
    high_force_weight: float = 12.0
    subset_sizes: tuple = (4, 6, 8, 10, 15, 20, 30, 40, 60, 80, 120)
    repetitions: int = 10
    seed: int = 0
    curve_level: str | None = None
    curve_weight: float | None = None
    tolerance: float = 1.0
    relative_tolerance: float = 0.1
    train_levels: tuple | None = None
    truth_level: str | None = None

    def __post_init__(self):
        if self.twojmax_tables not in self.twojmax:
            raise ValueError(
                f"twojmax_tables must be one of twojmax {list(self.twojmax)}, "
                f"got {self.twojmax_tables!r}"
            )
        for name in ("high_energy_weight", "high_force_weight"):
            if getattr(self, name) not in self.weights:
                raise ValueError(
                    f"{name} must be one of weights {list(self.weights)}, got {getattr(self, name)!r}"
                )
        if not self.tolerance > 0:
            raise ValueError(
                f"tolerance must be a positive number in meV/atom, got {self.tolerance!r}"
            )


@dataclass
class Findings:
    """Measured tables (pandas DataFrames) and the settings and data they came from.

    Attributes:
        settings: The :class:`FindingsSettings` used.
        table3: :func:`table3` of the dataset.
        weight_table: Whole-pool models at ``twojmax_tables``: train/test errors per training
            level and weight ratio (Tables 4/5, Fig. 4).
        learning_curves: Mean/min/max test errors per sampler and subset size (Fig. 6).
        subsets_needed: Smallest subset staying within the tolerances, per sampler and error.
        pareto: The sweep rows on the Pareto front of DFT cost and test errors (Fig. 7).
        pareto_levels: Training levels on the front, over all models (``"all"``) and per 2Jmax.
        sweep: Every sweep row (coefficients dropped).
        by_generator: Whole-pool test errors per kind of structure.
        dataset_summary: :func:`dataset_summary` of the dataset, plus ``n_train_pool``,
            ``n_test``, ``truth_level``, ``train_levels`` and ``n_descriptors`` per 2Jmax.
    """

    settings: FindingsSettings
    table3: object
    weight_table: object
    learning_curves: object
    subsets_needed: object
    pareto: object
    pareto_levels: dict
    sweep: object
    by_generator: object = None
    dataset_summary: dict = field(default_factory=dict)


@dataclass
class Observations:
    """Facts read off measured :class:`Findings` (ours only; the paper's are in paper_values).

    Attributes:
        table3_falls_monotonically: Whether the unshifted DFT energy difference falls with every
            level.
        levels_raised_by_bulk_shift: Levels whose energy difference grows by bulk shifting.
        force_weighting: Per training level: ``{"level", "force_lower", "energy_shifted_lower"}``,
            whether the high force weight lowers the force / shifted energy test error against
            the truth compared with the high energy weight.
        sampling_savings: Per criterion (``"absolute"``, ``"relative"``) and leverage sampler:
            ``{"criterion", "sampler", "subset", "random_subset"}`` (own-level energy error;
            ``None`` where a curve never stays within the criterion).
        pareto_counts: Number of models on the whole front per training level.
        levels_on_front: Training levels on the whole front, in level order.
        model_error: The highest training level's model at the high force weight:
            ``{"level", "own_energy_rmse", "dft_mean_shifted", "worst_kind"}``; ``worst_kind``
            is ``None`` or ``{"generator", "n_test", "energy_rmse"}``.
    """

    table3_falls_monotonically: bool
    levels_raised_by_bulk_shift: list
    force_weighting: list
    sampling_savings: list
    pareto_counts: dict
    levels_on_front: list
    model_error: dict


def table3(dataset, truth_level=None, levels=None, bulk_id=None):
    """Paper Table 3 on ``dataset``: every level against ``truth_level``.

    The same as :func:`~pyiron_appmlip.study.level_comparison.compare_dataset_levels`, which
    documents the arguments and the returned DataFrame (meV/atom, meV/Angstrom).
    """
    from ..study.level_comparison import compare_dataset_levels

    return compare_dataset_levels(dataset, truth_level, levels, bulk_id)


def dataset_summary(dataset) -> dict:
    """Size and DFT cost of a labelled dataset.

    Args:
        dataset: A :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.

    Returns:
        ``n_configurations``, ``levels``, ``n_atoms_range`` ([min, max]), and per level
        ``n_calculations``, ``core_seconds`` (summed wall time), ``mean_seconds_per_configuration``,
        ``cpu_seconds`` (summed CPU time where recorded, else None), ``n_cpu_recorded`` and
        ``engine_version``; ``encut_range_ev`` ([min, max] plane-wave cut-off over the levels,
        ``None`` if no level has one).
    """
    names = dataset.level_names
    encuts = [
        float(dataset.level(lv).level["encut"])
        for lv in names
        if (dataset.level(lv).level or {}).get("encut") is not None
    ]
    return {
        "n_configurations": len(dataset.ids),
        "levels": names,
        "n_atoms_range": [int(dataset.n_atoms.min()), int(dataset.n_atoms.max())],
        "n_calculations": {lv: len(dataset.level(lv).ids) for lv in names},
        "core_seconds": {lv: float(np.sum(dataset.level(lv).wall_time)) for lv in names},
        "mean_seconds_per_configuration": {
            lv: float(np.mean(dataset.level(lv).wall_time)) for lv in names
        },
        "cpu_seconds": {
            lv: float(np.nansum(dataset.level(lv).cpu_time))
            if np.isfinite(dataset.level(lv).cpu_time).any()
            else None
            for lv in names
        },
        "n_cpu_recorded": {lv: int(np.isfinite(dataset.level(lv).cpu_time).sum()) for lv in names},
        "engine_version": {lv: dataset.level(lv).engine_version for lv in names},
        "encut_range_ev": [min(encuts), max(encuts)] if encuts else None,
    }


def _first_staying_within(sizes, errors, limit):
    """The first size from which every later mean error is at most ``limit`` (None if never)."""
    within = np.asarray(errors) <= limit
    for k in range(len(sizes)):
        if within[k:].all():
            return int(sizes[k])
    return None


def _subsets_needed(curves, full, tolerance, relative_tolerance):
    """Smallest subset size from which the mean test energy error stays within ``tolerance``
    (meV/atom) and within ``relative_tolerance`` (fraction) of the full pool's, per (sampler,
    error)."""
    import pandas as pd

    rows = []
    for sampler, g in curves.groupby("sampler"):
        g = g.sort_values("subset_size")
        sizes = g["subset_size"].to_numpy()
        for col in ("energy_rmse_test", "energy_rmse_test_truth"):
            target = float(full[col])
            errors = g[col + "_mean"].to_numpy()
            rows.append(
                {
                    "sampler": sampler,
                    "error": col,
                    "full_pool_error": target,
                    "stays_within_from": _first_staying_within(sizes, errors, target + tolerance),
                    "stays_within_relative_from": _first_staying_within(
                        sizes, errors, target * (1.0 + relative_tolerance)
                    ),
                }
            )
    return pd.DataFrame(rows)


def _errors_by_generator(dataset, blocks, labels, test_ids, truth, full_pool_rows):
    """Test energy/force RMSE against ``truth`` per kind of structure, for the whole-pool models
    of ``full_pool_rows`` (sweep rows with their coefficients)."""
    import pandas as pd

    from ..core import LinearModel

    kind = dict(zip(dataset.ids, dataset.generator, strict=True))
    ref = labels[truth]
    rows = []
    for row in full_pool_rows:
        model = LinearModel(coefficients=row["coefficients"])
        for g in sorted({kind[i] for i in test_ids}):
            ids = [i for i in test_ids if kind[i] == g]
            e, f = model.rmse(
                [blocks[i] for i in ids],
                [ref.energies[i] for i in ids],
                [ref.forces[i] for i in ids],
            )
            rows.append(
                {
                    "generator": g,
                    "n_test": len(ids),
                    "train_level": row["train_level"],
                    "weight_ratio": row["weight_ratio"],
                    "energy_rmse_test_truth": e,
                    "force_rmse_test_truth": f,
                }
            )
    return pd.DataFrame(rows)


_WEIGHT_TABLE_COLUMNS = [
    "train_level",
    "weight_ratio",
    "energy_rmse_test_truth",
    "energy_rmse_test_truth_shifted",
    "force_rmse_test_truth",
    "energy_rmse_test",
    "force_rmse_test",
    "energy_rmse_train",
    "force_rmse_train",
]


def _weight_table(sweep, twojmax):
    full = sweep[sweep["sampler"] == "all"]
    wt = full[full["twojmax"] == twojmax].copy()
    return wt[_WEIGHT_TABLE_COLUMNS].sort_values(
        ["train_level", "weight_ratio"], ascending=[True, False]
    )


def _learning_curves(sweep, settings, curve_level, curve_weight):
    """Fig. 6: mean/min/max over seeds per sampler and size, and the subsets needed."""
    sub = sweep[
        (sweep["twojmax"] == settings.twojmax_tables)
        & (sweep["train_level"] == curve_level)
        & np.isclose(sweep["weight_ratio"], curve_weight)
    ]
    cols = ["energy_rmse_test", "energy_rmse_test_truth", "force_rmse_test"]
    sampled = sub[sub["sampler"] != "all"]
    curves = sampled.groupby(["sampler", "subset_size"])[cols].agg(["mean", "min", "max"])
    curves.columns = [f"{a}_{b}" for a, b in curves.columns]
    curves = curves.reset_index()
    full_row = sub[sub["sampler"] == "all"].iloc[0]
    needed = _subsets_needed(curves, full_row, settings.tolerance, settings.relative_tolerance)
    return curves, needed


def _pareto(sweep, twojmax_values):
    """Fig. 7: front over DFT cost and test errors against the truth, over all 2Jmax and each."""
    from ..core.pareto import pareto_front

    objectives = ["dft_seconds", "energy_rmse_test_truth", "force_rmse_test_truth"]
    front = pareto_front(sweep, objectives)
    levels = {
        "all": sorted(front["train_level"].unique(), key=int),
        **{
            f"2Jmax={t}": sorted(
                pareto_front(sweep[sweep["twojmax"] == t], objectives)["train_level"].unique(),
                key=int,
            )
            for t in twojmax_values
        },
    }
    return front, levels


def measure_findings(dataset, settings: FindingsSettings | None = None, progress=None) -> Findings:
    """Compute all findings on ``dataset``.

    Table 3 of the DFT levels; then, for every 2Jmax, qSNAP descriptors (LAMMPS) and the sweep
    (:func:`pyiron_appmlip.training.sweep.run_sweep`) of every training level, weight and
    leverage-sampled size plus the whole pool; at ``twojmax_tables`` also the learning curves of
    all samplers and seeds and the errors by kind of structure.

    Args:
        dataset: A :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.
        settings: What to compute (default: :class:`FindingsSettings`).
        progress: Optional callable receiving one message per step.

    Returns:
        The :class:`Findings`.
    """
    import pandas as pd

    from ..training.sweep import InMemoryBlocks, SweepGrid, row_key, run_sweep

    settings = FindingsSettings() if settings is None else settings
    say = progress or (lambda msg: None)
    names = dataset.level_names
    truth = str(settings.truth_level or names[-1])
    train_levels = [str(v) for v in (settings.train_levels or [n for n in names if n != truth])]
    curve_level = str(settings.curve_level or train_levels[-1])
    curve_weight = float(settings.curve_weight or settings.high_energy_weight)
    say("Table 3")
    t3 = table3(dataset, truth_level=truth, levels=[lv for lv in names if lv != truth])

    train_pool = dataset.common_ids(train_levels, dataset.train_ids)
    test_ids = dataset.common_ids([truth], dataset.test_ids)
    labels = {lv: dataset.labels(lv) for lv in train_levels + [truth]}
    pool = len(train_pool)
    sizes = sorted({int(s) for s in settings.subset_sizes if s < pool} | {pool})

    # Two grids on the same descriptors and sampling orders: (a) every level, weight and size with
    # leverage sampling and the whole pool, for every 2Jmax (Tables 4/5, Figs. 4/7); (b) the
    # learning curves (Fig. 6): all samplers and seeds at one 2Jmax, level and weight. Together
    # they are the factorial sweep's cells the findings read, at a fraction of its cost.
    def grids(p):
        """The two grids at p descriptor columns, with only overdetermined subset sizes."""
        from ..core.learning_curves import overdetermined_sizes

        rows = [1 + 3 * len(dataset.structure(i)) for i in train_pool]
        ok = [s for s in overdetermined_sizes(sizes, rows, p + 1) if s < pool] + [pool]
        return study_grid(ok), curves_grid_of(ok)

    def study_grid(sizes):
        return SweepGrid(
            train_levels=train_levels,
            subset_sizes=sizes,
            weights=list(settings.weights),
            samplers=("leverage", "all"),
            repetitions=1,
            seed=settings.seed,
            leverage_weights=(curve_weight, 1.0),
        )

    def curves_grid_of(sizes):
        return SweepGrid(
            train_levels=[curve_level],
            subset_sizes=sizes,
            weights=[curve_weight],
            samplers=("leverage", "block_leverage", "random", "all"),
            repetitions=settings.repetitions,
            seed=settings.seed,
            leverage_weights=(curve_weight, 1.0),
        )

    rows, n_descriptors, by_generator = [], {}, None
    for t in settings.twojmax:
        say(f"descriptors 2Jmax={t} ({len(train_pool) + len(test_ids)} structures)")
        blocks = dataset_blocks(dataset, train_pool + test_ids, t)
        n_descriptors[int(t)] = int(next(iter(blocks.values())).shape[1])
        study, curves_grid = grids(n_descriptors[int(t)])
        source = {int(t): InMemoryBlocks(blocks)}
        say(f"sweep 2Jmax={t}")
        new = run_sweep(source, labels, train_pool, test_ids, study, truth)
        if int(t) == int(settings.twojmax_tables):
            say(f"learning curves 2Jmax={t}")
            done = {row_key(r) for r in new}
            new += run_sweep(source, labels, train_pool, test_ids, curves_grid, truth, done=done)
            ratios = (settings.high_energy_weight, settings.high_force_weight)
            full_pool_rows = [
                r
                for r in new
                if r["sampler"] == "all"
                and r["train_level"] == train_levels[-1]
                and any(np.isclose(r["weight_ratio"], w) for w in ratios)
            ]
            by_generator = _errors_by_generator(
                dataset, blocks, labels, test_ids, truth, full_pool_rows
            )
        rows += new
    sweep = pd.DataFrame(rows).drop(columns=["coefficients"])
    sweep["train_level"] = sweep["train_level"].astype(str)

    curves, needed = _learning_curves(sweep, settings, curve_level, curve_weight)
    front, pareto_levels = _pareto(sweep, settings.twojmax)
    summary = dataset_summary(dataset)
    summary.update(
        n_train_pool=pool,
        n_test=len(test_ids),
        truth_level=truth,
        train_levels=train_levels,
        n_descriptors=n_descriptors,
    )
    return Findings(
        settings=settings,
        table3=t3,
        weight_table=_weight_table(sweep, settings.twojmax_tables),
        learning_curves=curves,
        subsets_needed=needed,
        pareto=front,
        pareto_levels=pareto_levels,
        sweep=sweep,
        by_generator=by_generator,
        dataset_summary=summary,
    )


# -- observations ------------------------------------------------------------------------------
def falls_monotonically(values) -> bool:
    """Whether every value is smaller than the one before.

    Args:
        values: Numbers in level order.

    Returns:
        True if the sequence strictly decreases.
    """
    return bool(np.all(np.diff(np.asarray(values, dtype=float)) < 0))


def levels_raised_by_bulk_shift(levels, unshifted, bulk_shifted) -> list:
    """The levels whose bulk-shifted energy difference is larger than the unshifted one.

    Args:
        levels: Level names or numbers.
        unshifted: Unshifted energy differences, one per level.
        bulk_shifted: Bulk-shifted energy differences, one per level.

    Returns:
        The levels, in the given order.
    """
    return [
        lv for lv, u, b in zip(levels, unshifted, bulk_shifted, strict=True) if float(b) > float(u)
    ]


def weight_rows(findings: Findings, ratio):
    """The whole-pool weight-table rows of one weight ratio, indexed by training level.

    Args:
        findings: Measured findings.
        ratio: A w_E/w_F ratio of the sweep.

    Returns:
        A DataFrame indexed by ``train_level``.
    """
    wt = findings.weight_table
    return wt[np.isclose(wt["weight_ratio"], ratio)].set_index("train_level")


def _force_weighting(findings: Findings) -> list:
    s = findings.settings
    hi_e = weight_rows(findings, s.high_energy_weight)
    hi_f = weight_rows(findings, s.high_force_weight)
    rows = []
    for lv in hi_e.index:
        rows.append(
            {
                "level": lv,
                "force_lower": bool(
                    hi_f.loc[lv, "force_rmse_test_truth"] < hi_e.loc[lv, "force_rmse_test_truth"]
                ),
                "energy_shifted_lower": bool(
                    hi_f.loc[lv, "energy_rmse_test_truth_shifted"]
                    < hi_e.loc[lv, "energy_rmse_test_truth_shifted"]
                ),
            }
        )
    return rows


def _finite_size(value):
    return None if value is None or not np.isfinite(value) else int(value)


def _sampling_savings(findings: Findings) -> list:
    need = findings.subsets_needed
    own = need[need["error"] == "energy_rmse_test"].set_index("sampler")
    rows = []
    for criterion, column in (
        ("absolute", "stays_within_from"),
        ("relative", "stays_within_relative_from"),
    ):
        for sampler in ("leverage", "block_leverage"):
            rows.append(
                {
                    "criterion": criterion,
                    "sampler": sampler,
                    "subset": _finite_size(own[column].get(sampler)),
                    "random_subset": _finite_size(own[column].get("random")),
                }
            )
    return rows


def _model_error(findings: Findings) -> dict:
    s, d = findings.settings, findings.dataset_summary
    level = d["train_levels"][-1]
    own = float(weight_rows(findings, s.high_force_weight).loc[level, "energy_rmse_test"])
    t3 = findings.table3.set_index("level")
    dft = float(t3.loc[level, "energy_mean_shifted"]) if level in t3.index else float("nan")
    worst = None
    bg = findings.by_generator
    if bg is not None and len(bg):
        g = bg[np.isclose(bg["weight_ratio"], s.high_force_weight)]
        top = g.sort_values("energy_rmse_test_truth").iloc[-1]
        worst = {
            "generator": str(top["generator"]),
            "n_test": int(top["n_test"]),
            "energy_rmse": float(top["energy_rmse_test_truth"]),
        }
    return {"level": level, "own_energy_rmse": own, "dft_mean_shifted": dft, "worst_kind": worst}


def observe(findings: Findings) -> Observations:
    """Read the facts the report states off measured findings.

    Args:
        findings: Measured findings (:func:`measure_findings`).

    Returns:
        The :class:`Observations`.
    """
    t3 = findings.table3
    counts = findings.pareto.groupby("train_level").size()
    return Observations(
        table3_falls_monotonically=falls_monotonically(t3["energy_unshifted"]),
        levels_raised_by_bulk_shift=levels_raised_by_bulk_shift(
            t3["level"], t3["energy_unshifted"], t3["energy_bulk_shifted"]
        ),
        force_weighting=_force_weighting(findings),
        sampling_savings=_sampling_savings(findings),
        pareto_counts={str(k): int(v) for k, v in counts.items()},
        levels_on_front=sorted(findings.pareto_levels["all"], key=int),
        model_error=_model_error(findings),
    )
