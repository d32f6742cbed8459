"""Quickstart: a small, real application-specific MLIP study of beryllium, in a few minutes.

Run it with ``python -m pyiron_appmlip.quickstart`` (see ``--help``). Two parts:

1. **Live run** (:func:`run_quickstart`): small rattled and strained Be cells are labelled with
   GPAW at two convergence levels, qSNAP descriptors are computed for two 2Jmax values and the
   energy/force-weighted model is fitted for two weight ratios on a seeded train/test split.
   Every step is a pyiron job in the project (``pr.job_table()`` lists them; re-running in the
   same folder reuses finished jobs). The defaults are sized so that every fit has more
   equations than coefficients.
2. **The study on the shipped dataset** (:func:`study_shipped_dataset`): 201 Be cells labelled
   with GPAW at levels 1-5 (shipped with the package). It prints how far each level is from the
   highest, what a high force weight does to models trained on cheap levels, how many
   configurations leverage and random sampling need, a recommendation, and saves the Pareto
   front as a PNG, each with one line saying what it shows. This part is optional
   (``--no-study``): it is the paper's study (:mod:`pyiron_appmlip.reproduction`) on the shipped
   data, while the live run uses only what a study of one's own material uses.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .dft.levels import level_label

__all__ = [
    "run_quickstart",
    "study_shipped_dataset",
    "validate_quickstart_input",
    "format_table",
    "main",
]

DEFAULTS = {
    "n_structures": 30,
    # level 1 (the Gamma point only) gives forces on 1-8-atom cells that no model can fit
    "levels": (2, 3),
    # 2Jmax 2 and 4 have 21 and 121 coefficients: the ~22 training cells of 1-8 atoms give about
    # 290 equations, so both fits are overdetermined (2Jmax 6, 496 coefficients, would not be)
    "twojmax": (2, 4),
    "weight_ratios": (150.0, 12.0),
    "seed": 0,
    "test_fraction": 0.25,
}


def validate_quickstart_input(
    structures=None, levels=(2, 3), twojmax=(2, 4), weight_ratios=(150.0, 12.0), n_structures=None
):
    """Check every argument before anything expensive runs.

    Args:
        structures: the structures given to :func:`run_quickstart`, or None.
        levels: convergence levels (paper presets 1..6 or ConvergenceLevel objects).
        twojmax: qSNAP 2Jmax value(s) (even positive integers).
        weight_ratios: energy/force weight ratio(s) w_E/w_F.
        n_structures: number of structures to generate (integer >= 2), or None.

    Returns:
        ``(levels, resolved ConvergenceLevels, twojmax list, weight ratios list)``.

    Raises:
        ValueError: naming the parameter.
    """
    from .dft.levels import get_level

    if structures is not None and len(list(structures)) == 0:
        raise ValueError("structures must be a non-empty list of structures, got an empty list")
    if n_structures is not None and (
        not isinstance(n_structures, int | np.integer) or n_structures < 2
    ):
        raise ValueError(f"n_structures must be an integer >= 2, got {n_structures!r}")
    levels = list(levels)
    if len(levels) == 0:
        raise ValueError(
            "levels must name at least one convergence level (1..6 or a ConvergenceLevel)"
        )
    resolved = [get_level(lv) for lv in levels]
    twojmax = [twojmax] if np.isscalar(twojmax) else list(twojmax)
    if len(twojmax) == 0:
        raise ValueError(
            "twojmax must contain at least one even positive integer, got an empty list"
        )
    for t in twojmax:
        if not isinstance(t, int | np.integer) or t <= 0 or t % 2:
            raise ValueError(
                f"twojmax must be even positive integers (e.g. 4, 6, 8, 10), got {t!r}"
            )
    weight_ratios = [weight_ratios] if np.isscalar(weight_ratios) else list(weight_ratios)
    if len(weight_ratios) == 0:
        raise ValueError("weight_ratios must contain at least one positive number w_E/w_F")
    for w in weight_ratios:
        if not np.isscalar(w) or not np.isfinite(w) or w <= 0:
            raise ValueError(f"weight_ratios must be positive finite numbers w_E/w_F, got {w!r}")
    return levels, resolved, twojmax, [float(w) for w in weight_ratios]


def _get_or_run(pr, job_type, name, configure, log):
    """Load a finished job of that name, continue an unfinished one, or create and run it.

    An interrupted, aborted or partly failed run keeps what it finished. Returns the job.
    """
    t0 = time.time()
    if pr.get_job_id(name) is not None:
        job = pr.load(name)
        if job.status.finished:
            log(f"  {name}: finished earlier, reused")
            return job
        restart = getattr(job, "rerun_failed", None) or getattr(job, "resume", None)
        if restart is not None:
            log(f"  {name}: {job.status} earlier, continued")
            restart()
            job = pr.load(name)
            log(f"  {name}: {job.status} in {time.time() - t0:.1f} s")
            return job
        job.remove()
    job = getattr(pr.create.job, job_type)(name)
    configure(job)
    job.run()
    job = pr.load(name)
    log(f"  {name}: {job.status} in {time.time() - t0:.1f} s")
    return job


def run_quickstart(
    project="appmlip_quickstart",
    structures=None,
    n_structures: int = DEFAULTS["n_structures"],
    levels=DEFAULTS["levels"],
    twojmax=DEFAULTS["twojmax"],
    weight_ratios=DEFAULTS["weight_ratios"],
    seed: int = DEFAULTS["seed"],
    test_fraction: float = DEFAULTS["test_fraction"],
    engine: str = "gpaw",
    verbose: bool = True,
):
    """Run the quickstart study and return the table of errors as a pandas DataFrame.

    Args:
        project: a pyiron Project or a path for one.
        structures: list of ASE/pyiron structures; default: ``n_structures`` rattled and
            strained Be cells of 1-8 atoms generated with ``seed``.
        n_structures: number of structures to generate when ``structures`` is None.
        levels: convergence levels to label at (paper presets 1..6 or ConvergenceLevel
            objects); the last one is the reference ("truth") the test errors are also measured
            against.
        twojmax: qSNAP 2Jmax values (even positive integers).
        weight_ratios: energy/force weight ratios w_E/w_F (force weight 1).
        seed: seed of the structure generator and the train/test split.
        test_fraction: fraction of configurations held out for testing.
        engine: DFT engine, "gpaw" (runs anywhere) or "vasp" (needs a configured VASP).
        verbose: print progress and the table.

    Returns:
        The table of errors (pandas DataFrame), one row per fit.
    """
    import pandas as pd

    from . import Project
    from .structures.candidates import rattled_strained_cells
    from .structures.conversion import to_ase_list

    levels, resolved, twojmax, weight_ratios = validate_quickstart_input(
        structures, levels, twojmax, weight_ratios, n_structures if structures is None else None
    )
    log = print if verbose else (lambda *a, **k: None)
    pr = project if hasattr(project, "create") else Project(str(project))
    if structures is None:
        structures = rattled_strained_cells(n_structures, element="Be", seed=seed)
    structures = to_ase_list(structures)
    log(
        f"pyiron_appmlip quickstart in {pr.path}: {len(structures)} structures "
        f"({sum(len(s) for s in structures)} atoms), levels {[level_label(lv) for lv in levels]}, "
        f"2Jmax {twojmax}, w_E/w_F {weight_ratios}"
    )

    label_jobs = {}
    for level in levels:
        name = f"labels_level_{level_label(level)}"
        log(f"DFT ({engine}) at level {level_label(level)}:")

        def configure(job, level=level):
            job.structures = structures
            job.input.level = level if isinstance(level, int | np.integer) else level.to_dict()
            job.input.engine = engine

        label_jobs[level] = _get_or_run(pr, "AppmlipLabelling", name, configure, log)
        workers = label_jobs[level].output.get("workers")
        log(f"  ran on {workers}" if workers else "  every calculation was done earlier")

    desc_jobs = {}
    for t in twojmax:
        name = f"descriptors_2j{t}"
        log(f"qSNAP descriptors, 2Jmax = {t}:")

        def configure(job, t=t):
            job.structures = structures
            job.input.twojmax = int(t)

        desc_jobs[t] = _get_or_run(pr, "AppmlipDescriptors", name, configure, log)

    tables = []
    for t in twojmax:
        name = f"fit_2j{t}"
        log(f"Weighted fits, 2Jmax = {t}:")

        def configure(job, t=t):
            job.set_descriptors(desc_jobs[t])
            for level, lj in label_jobs.items():
                job.add_labels(lj, level=level_label(level))
            job.weights = weight_ratios
            job.input.truth_level = level_label(levels[-1])
            job.input.test_fraction = float(test_fraction)
            job.input.split_seed = int(seed)

        tables.append(_get_or_run(pr, "AppmlipFit", name, configure, log).get_table())
    table = pd.concat(tables, ignore_index=True)
    log("")
    log(
        "What it shows: test errors of the live fits, against the training level ('own') and "
        "against the highest level ('ref'); 'rank' is the numerical rank of each fit, equal to "
        "the number of coefficients when the training data determine them all."
    )
    log(format_table(table))
    log("")
    log(f"Jobs in the project database ({pr.path}):")
    log(pr.job_table()[["id", "status", "job", "hamilton"]].to_string(index=False))
    return table


def format_table(table) -> str:
    """Human-readable table of test RMSEs (meV/atom, meV/Angstrom)."""
    cols = {
        "twojmax": "2Jmax",
        "train_level": "level",
        "weight_ratio": "wE/wF",
        "subset_size": "n_train",
        "n_test": "n_test",
        "energy_rmse_test": "E test own",
        "force_rmse_test": "F test own",
        "energy_rmse_test_truth": "E test ref",
        "energy_rmse_test_truth_shifted": "E ref shifted",
        "force_rmse_test_truth": "F test ref",
        "rank": "rank",
    }
    t = table[[c for c in cols if c in table.columns]].rename(columns=cols).copy()
    truth = table["truth_level"].iloc[0] if len(table) else "?"
    header = (
        "Test RMSEs: energy in meV/atom (E), forces in meV/Angstrom (F); 'own' = against the "
        f"training level, 'ref' = against level {truth}; 'shifted' removes the mean energy offset."
    )
    return header + "\n" + t.to_string(index=False, float_format=lambda x: f"{x:9.2f}")


def _levels_table(dataset) -> str:
    from .study.level_comparison import compare_dataset_levels

    t3 = compare_dataset_levels(dataset)
    cols = {
        "level": "level",
        "n_configs": "configs",
        "energy_unshifted": "E",
        "energy_bulk_shifted": "E bulk-shifted",
        "energy_mean_shifted": "E mean-shifted",
        "force": "F",
    }
    return (
        t3[list(cols)]
        .rename(columns=cols)
        .to_string(index=False, float_format=lambda x: f"{x:9.2f}")
    )


def study_shipped_dataset(
    out_dir: str = ".",
    twojmax: int = 4,
    repetitions: int = 20,
    executor="serial",
    log=print,
) -> dict:
    """The paper's story on the shipped GPAW dataset, each table with one line on what it shows.

    Args:
        out_dir: folder for the Pareto figure (``quickstart_pareto.png``).
        twojmax: 2Jmax of the models (4: 121 coefficients, determined by the ~24-configuration
            subsets and up).
        repetitions: repetitions per sampler and subset size of the learning curves and the
            front (the paper authors used 50).
        executor: where the sweep units run (:mod:`pyiron_appmlip.executors`).
        log: function called with every printed line.

    Returns:
        ``{"table3", "result" (a like-for-like SourceResult), "recommendation", "figure"}``.
    """
    import os

    import pandas as pd

    # The shipped Be dataset and the paper authors' conventions belong to the paper's
    # reproduction: this optional part alone uses them (``--no-study`` skips it).
    from .reproduction.be_dataset import load_be_dataset
    from .reproduction.like_for_like import StudyConventions, measure_dataset
    from .study.plots import plot_pareto
    from .study.recommend import recommend

    dataset = load_be_dataset()
    truth = dataset.level_names[-1]
    log("")
    log(
        f"The study on the shipped dataset ({len(dataset.ids)} Be cells of 1-16 atoms, GPAW "
        f"levels {', '.join(dataset.level_names)}; errors in meV/atom (E) and meV/Angstrom (F)):"
    )
    log("")
    log(
        f"1. DFT levels: RMS difference of each level from level {truth} on the test cells. "
        "Energies converge slowly with the level, forces fast (paper Table 3)."
    )
    log(_levels_table(dataset))
    conv = StudyConventions(repetitions=repetitions, front_repetitions=repetitions, n_sizes=7)
    result = measure_dataset(
        dataset, twojmax, conv, name="GPAW small", executor=executor, progress=None
    )
    rows = result.rows
    whole = rows[rows["sampler"] == "all"]
    pick = whole[whole["weight_ratio"].isin([150.0, 5.0])].sort_values(
        ["train_level", "weight_ratio"], ascending=[True, False]
    )
    table = pick[
        ["train_level", "weight_ratio", "energy_rmse_test_truth", "force_rmse_test_truth", "rank"]
    ].rename(
        columns={
            "train_level": "level",
            "weight_ratio": "wE/wF",
            "energy_rmse_test_truth": f"E vs {truth}",
            "force_rmse_test_truth": f"F vs {truth}",
        }
    )
    lower = [
        lv
        for lv, g in pick.groupby("train_level")
        if g[g["weight_ratio"] == 5.0]["force_rmse_test_truth"].iloc[0]
        < g[g["weight_ratio"] == 150.0]["force_rmse_test_truth"].iloc[0]
    ]
    log("")
    log(
        f"2. Force weighting: models of 2Jmax {twojmax} ({result.info['n_coefficients']} "
        f"coefficients) trained on the whole pool ({result.info['pool']} cells) of each level at "
        f"a high energy weight (150) and a high force weight (5), tested against level {truth}. "
        f"Weighting forces lowers the force error at level(s) {', '.join(lower) or 'none'}."
    )
    log(table.to_string(index=False, float_format=lambda x: f"{x:9.2f}"))
    needed = result.needed[["sampler", "energy_median", "force_median"]].copy()
    for c in ("energy_median", "force_median"):
        needed[c] = ["never" if v is None or pd.isna(v) else str(int(v)) for v in result.needed[c]]
    log("")
    log(
        f"3. Leverage vs random sampling: training cells each sampler needs until its median "
        f"test error ({repetitions} repetitions, each size drawn afresh) stays within 1 meV/atom "
        f"(E) and 10 meV/Angstrom (F) of the whole pool's; 'never' = not below "
        f"{max(result.info['sizes'])} cells."
    )
    log(needed.rename(columns={"energy_median": "E", "force_median": "F"}).to_string(index=False))
    choice = recommend(rows[rows["sampler"].isin(["leverage", "all"])], preference=0.5)
    log("")
    log(
        "4. Recommendation: the model on the Pareto front of DFT cost, energy and force error "
        "that balances both errors (preference 0.5), with what it costs."
    )
    log(choice.summary())
    os.makedirs(out_dir, exist_ok=True)
    figure = os.path.join(os.path.abspath(out_dir), "quickstart_pareto.png")
    plot_pareto(rows[rows["sampler"] == "leverage"], path=figure)
    log("")
    log(
        f"5. Pareto front (energy vs force test error, colour = DFT cost, marker = level): {figure}"
    )
    return {"table3": table, "result": result, "recommendation": choice, "figure": figure}


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.quickstart", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--project",
        default="appmlip_quickstart",
        help="pyiron project folder (default: %(default)s)",
    )
    p.add_argument("--n-structures", type=int, default=DEFAULTS["n_structures"])
    p.add_argument("--levels", type=int, nargs="+", default=list(DEFAULTS["levels"]))
    p.add_argument("--twojmax", type=int, nargs="+", default=list(DEFAULTS["twojmax"]))
    p.add_argument(
        "--weight-ratios", type=float, nargs="+", default=list(DEFAULTS["weight_ratios"])
    )
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--engine", default="gpaw", choices=["gpaw", "vasp"])
    p.add_argument("--no-study", action="store_true", help="skip the study on the shipped dataset")
    args = p.parse_args(argv)
    t0 = time.time()
    try:
        run_quickstart(
            project=args.project,
            n_structures=args.n_structures,
            levels=args.levels,
            twojmax=args.twojmax,
            weight_ratios=args.weight_ratios,
            seed=args.seed,
            engine=args.engine,
        )
        if not args.no_study:
            study_shipped_dataset(out_dir=args.project)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"\nquickstart finished in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
