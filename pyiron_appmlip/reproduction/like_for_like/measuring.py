"""Measuring a source the like-for-like way: learning-curve and front summaries of sweep rows
(:func:`curve_summary`, :func:`front_summary`), the sweep on a labelled dataset
(:func:`measure_dataset`) and the application-specific front with the MD cost of each 2Jmax
(:func:`application_front`).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from ..dataset_inputs import dataset_blocks, dataset_labels
from .conventions import (
    COSTS,
    CURVE_SAMPLERS,
    DOMINANCE,
    ERRORS,
    MIN_TEST,
    SWEEP_WEIGHTS,
    SourceResult,
    StudyConventions,
)


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

    from ...core.learning_curves import first_size_within, summarize_repetitions

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
    from ...core.learning_curves import summarize_repetitions
    from ...core.pareto import pareto_front

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
    from ...core.learning_curves import overdetermined_sizes

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
    from ...core.fit import LinearModel

    energies, forces = LinearModel(np.asarray(coefficients, dtype=float)).predict(
        [blocks[i] for i in test]
    )
    n = np.array([len(f) for f in forces])
    return 1000.0 * (energies - np.array([labels.energies[i] for i in test])) / n


def _levels_below(names, truth) -> list[str]:
    """The levels of ``names`` below ``truth`` (``[truth]`` if none: train and test on it)."""
    from ...dft.levels import level_order

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

    from ...training.labels import split_by_configuration
    from ...training.sweep import InMemoryBlocks, SweepGrid, row_key, run_sweep

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
    if reference is not None:
        say(f"reference potential subtracted: {reference}")
    labels = dataset_labels(dataset, [*train_levels, truth], pool + test, reference)
    if blocks is None:
        say(f"descriptors 2Jmax={twojmax} ({len(pool) + len(test)} structures)")
        blocks = dataset_blocks(dataset, pool + test, twojmax)
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
    from ...potential.evaluation_cost import measure_evaluation_cost

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

    from ...core.learning_curves import summarize_repetitions
    from ...core.pareto import pareto_front

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
