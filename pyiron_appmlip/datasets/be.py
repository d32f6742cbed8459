"""The beryllium study dataset: diverse 1-16-atom Be cells labelled with GPAW at several levels.

The dataset shipped with the package (:data:`DATASET_FILE`, read with :func:`load_be_dataset`) was
made by one command::

    python -m pyiron_appmlip.datasets.be generate --project be_campaign --parts 2
    python -m pyiron_appmlip.datasets.be export --project be_campaign --out be_dataset.h5

``generate`` builds :func:`campaign_structures` (seeded :func:`~pyiron_appmlip.candidates.
diverse_candidates`), splits them into a training pool and a test subset by configuration id
(:func:`~pyiron_appmlip.training.split_by_configuration`), and labels every structure at the
``levels`` and the test subset also at the ``test_levels`` with
:class:`~pyiron_appmlip.jobs.labelling.AppmlipLabelling` jobs named ``be_L<level>_<train|test>_p<part>``.
With ``--parts n`` it starts ``n`` processes, each labelling a cost-balanced share of the
structures (one process per core). Interrupted runs resume: finished calculations are reused.
``export`` collects the finished labels of all those jobs into one HDF5 file (written to a
temporary name and renamed, so a crash never leaves a half-written file).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

__all__ = [
    "CAMPAIGN",
    "campaign_structures",
    "campaign_split",
    "estimated_seconds",
    "run_campaign",
]

#: Settings of the shipped dataset's campaign.
CAMPAIGN = {
    "n_structures": 200,
    "seed": 0,
    "max_atoms": 16,
    "test_fraction": 0.12,
    "split_seed": 0,
    "levels": (1, 2, 3, 4),
    "test_levels": (5,),
    # k and -k are equivalent for a spin-unpolarised calculation without spin-orbit coupling:
    # time-reversal symmetry halves the k-points and leaves energies and forces unchanged.
    "engine_options": {"symmetry": {"point_group": False, "time_reversal": True}},
}

JOB_PREFIX = "be_L"


def campaign_structures(n_structures: int | None = None, seed: int | None = None):
    """The campaign's candidate structures (seeded, so identical on every machine)."""
    from ..candidates import diverse_candidates

    return diverse_candidates(
        CAMPAIGN["n_structures"] if n_structures is None else n_structures,
        element="Be",
        seed=CAMPAIGN["seed"] if seed is None else seed,
        max_atoms=CAMPAIGN["max_atoms"],
    )


def campaign_split(ids, test_fraction: float | None = None, seed: int | None = None):
    """``(train_ids, test_ids)`` of the campaign (hash-stable split by configuration id)."""
    from ..training import split_by_configuration

    return split_by_configuration(
        ids,
        test_fraction=CAMPAIGN["test_fraction"] if test_fraction is None else test_fraction,
        seed=CAMPAIGN["split_seed"] if seed is None else seed,
    )


def estimated_seconds(atoms, level) -> float:
    """Rough GPAW run time of one single point on one core (for balancing processes only)."""
    from ..levels import get_level, kmesh

    level = get_level(level)
    n = len(atoms)
    nk = int(np.prod(kmesh(atoms.get_cell(), level.kspacing)))
    work = max(nk / 2.0, 1.0) * n**2 * (level.encut / 300.0) ** 1.5
    return 1.0 + work * (0.016 if n <= 4 else 0.007)


def _parts(structures, test_ids, n_parts, levels, test_levels):
    """Assign structures to ``n_parts`` processes, balancing the estimated total run time."""
    from ..structures import configuration_id

    costs = []
    for atoms in structures:
        cid = configuration_id(atoms)
        cost = sum(estimated_seconds(atoms, lv) for lv in levels)
        if cid in test_ids:
            cost += sum(estimated_seconds(atoms, lv) for lv in test_levels)
        costs.append(cost)
    load = np.zeros(n_parts)
    owner = np.empty(len(structures), dtype=int)
    for i in np.argsort(costs)[::-1]:
        k = int(np.argmin(load))
        owner[i] = k
        load[k] += costs[i]
    return owner, load


def run_campaign(
    project_path: str,
    part: int = 0,
    n_parts: int = 1,
    n_structures: int | None = None,
    levels=None,
    test_levels=None,
    log=print,
):
    """Label this process's share of the campaign in the pyiron project at ``project_path``.

    Runs one :class:`AppmlipLabelling` job per subset and level (:func:`job_name`): first the
    test subset at ``levels`` and ``test_levels``, then the training pool at ``levels``. Finished jobs and finished calculations are reused; failed calculations are retried once.
    """
    from .. import Project
    from ..structures import configuration_id

    levels = tuple(CAMPAIGN["levels"] if levels is None else levels)
    test_levels = tuple(CAMPAIGN["test_levels"] if test_levels is None else test_levels)
    if not 0 <= part < n_parts:
        raise ValueError(f"part must be in 0..{n_parts - 1} for n_parts={n_parts}, got {part!r}")
    structures = campaign_structures(n_structures)
    ids = [configuration_id(a) for a in structures]
    _, test_ids = campaign_split(ids)
    test_ids = set(test_ids)
    owner, load = _parts(structures, test_ids, n_parts, levels, test_levels)
    mine = [a for a, k in zip(structures, owner, strict=True) if k == part]
    mine_ids = [configuration_id(a) for a in mine]
    order = sorted(range(len(mine)), key=lambda i: (mine_ids[i] not in test_ids, i))
    mine = [mine[i] for i in order]
    mine_test = [a for a in mine if configuration_id(a) in test_ids]
    log(
        f"part {part}/{n_parts}: {len(mine)} structures ({len(mine_test)} test), "
        f"estimated {load[part] / 3600:.2f} core-hours"
    )
    pr = Project(project_path)
    mine_train = [a for a in mine if configuration_id(a) not in test_ids]
    # the test subset first (all levels, so the reference level exists early), then the pool
    plan = [("test", lv, mine_test) for lv in levels + test_levels]
    plan += [("train", lv, mine_train) for lv in levels]
    for subset, level, todo in plan:
        if not todo:
            continue
        name = job_name(subset, level, part)
        t0 = time.time()
        job = pr.load(name) if pr.get_job_id(name) is not None else None
        if job is None:
            job = pr.create.job.AppmlipLabelling(name)
            job.structures = todo
            job.level = level
            job.input.engine_options = dict(CAMPAIGN["engine_options"])
            job.input.progress = False
            job.run()
        elif not job.status.finished:
            job.rerun_failed()
        if not job.status.finished:
            job = pr.load(name)
            job.rerun_failed()
        log(
            f"part {part}: {name} {job.status} ({len(todo)} structures, {time.time() - t0:.0f} s)",
        )


def job_name(subset: str, level: int, part: int) -> str:
    """Name of the campaign's labelling job for ``subset`` ("train"/"test"), level and part."""
    return f"{JOB_PREFIX}{level}_{subset}_p{part}"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.datasets.be", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="label the campaign's structures with GPAW")
    gen.add_argument("--project", required=True, help="pyiron project folder")
    gen.add_argument("--parts", type=int, default=1, help="number of processes (one per core)")
    gen.add_argument("--part", type=int, default=None, help=argparse.SUPPRESS)
    gen.add_argument("--n-structures", type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == "generate":
        if args.parts < 1:
            raise SystemExit(f"--parts must be a positive integer, got {args.parts}")
        if args.part is not None or args.parts == 1:
            run_campaign(args.project, args.part or 0, args.parts, args.n_structures)
            return 0
        procs = []
        for k in range(args.parts):
            cmd = [
                sys.executable,
                "-m",
                "pyiron_appmlip.datasets.be",
                "generate",
                "--project",
                args.project,
                "--parts",
                str(args.parts),
                "--part",
                str(k),
            ]
            if args.n_structures is not None:
                cmd += ["--n-structures", str(args.n_structures)]
            procs.append(subprocess.Popen(cmd, env=dict(os.environ)))
            time.sleep(10.0)  # the first process creates the project and its database rows
        codes = [p.wait() for p in procs]
        return max(codes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
