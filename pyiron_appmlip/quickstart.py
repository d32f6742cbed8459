"""Quickstart: a small, real application-specific MLIP study of beryllium from scratch.

Run it with ``python -m pyiron_appmlip.quickstart`` (see ``--help``). It builds small rattled and
strained Be cells, labels them with GPAW at two convergence levels, computes qSNAP descriptors
for two 2Jmax values, fits the energy/force-weighted linear model for two weight ratios on a
seeded train/test split and prints test errors against the training level and the higher level.
Every step is a pyiron job in the project, so ``pr.job_table()`` lists them; re-running the
quickstart in the same folder reuses finished jobs.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .dft.levels import level_label

__all__ = ["run_quickstart", "validate_quickstart_input", "format_table", "main"]

DEFAULTS = {
    "n_structures": 30,
    "levels": (1, 3),
    "twojmax": (4, 6),
    "weight_ratios": (150.0, 12.0),
    "seed": 0,
    "test_fraction": 0.25,
}


def validate_quickstart_input(
    structures=None, levels=(1, 3), twojmax=(4, 6), weight_ratios=(150.0, 12.0), n_structures=None
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
    }
    t = table[list(cols)].rename(columns=cols).copy()
    truth = table["truth_level"].iloc[0] if len(table) else "?"
    header = (
        "Test RMSEs: energy in meV/atom (E), forces in meV/Angstrom (F); 'own' = against the "
        f"training level, 'ref' = against level {truth}; 'shifted' removes the mean energy offset."
    )
    return header + "\n" + t.to_string(index=False, float_format=lambda x: f"{x:9.2f}")


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
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"\nquickstart finished in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
