"""The beryllium study dataset: diverse 1-16-atom Be cells labelled with GPAW at several levels.

The dataset shipped with the package (:data:`DATASET_FILE`, read with :func:`load_be_dataset`) was
made by one command::

    python -m pyiron_appmlip.reproduction.be_dataset generate --project be_campaign --parts 2 \\
        --out be_gpaw_levels.h5

``generate`` builds :func:`campaign_structures` (seeded :func:`~pyiron_appmlip.structures.candidates.
diverse_candidates`), splits them into a training pool and a test subset by configuration id
(:func:`~pyiron_appmlip.training.labels.split_by_configuration`), and labels every structure at the
``levels`` and the test subset also at the ``test_levels`` with
:class:`~pyiron_appmlip.jobs.labelling.AppmlipLabelling` jobs named
``be_L<level>_<train|test>_p<part>``, and the ideal hcp cell (:func:`bulk_reference`) at every
level. With ``--parts n`` it runs ``n`` processes, each labelling a cost-balanced share of the
structures (one process per core). Interrupted runs resume: finished calculations are reused.
``--out`` (or the ``export`` command later) collects the finished labels of all those jobs into
one HDF5 file (written to a temporary name and renamed, so a crash never leaves a half-written
file).

Two campaigns are defined (:data:`CAMPAIGNS`, ``--campaign``): ``small`` (200 cells of 1-16
atoms, :data:`DATASET_FILE`) and ``large`` (110 cells of 16-32 atoms from
:func:`~pyiron_appmlip.structures.candidates.supercell_candidates`, levels 1-4 and level 5 on
its test subset, :data:`LARGE_DATASET_FILE`, about 9 core-hours)::

    python -m pyiron_appmlip.reproduction.be_dataset generate --project be_large --campaign large --parts 2 \
        --resume-from pyiron_appmlip/datasets/data/be_gpaw_large.h5 --out be_gpaw_large.h5

A campaign is run level by level, the test subset's dearer ``test_levels`` last, so that an
early stop already has every level of the training pool. ``--resume-from`` continues from a
dataset file written by ``export`` (for instance the shipped partial file, on a machine without
the pyiron project that made it): the labels it holds are not computed again, and ``export
--resume-from`` keeps them and adds the new ones.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np

__all__ = [
    "DATASET_FILE",
    "load_be_dataset",
    "export_campaign",
    "bulk_reference",
    "CAMPAIGN",
    "campaign_structures",
    "campaign_split",
    "estimated_seconds",
    "run_campaign",
    "CAMPAIGNS",
    "LARGE_CAMPAIGN",
    "LARGE_DATASET_FILE",
    "regenerate_command",
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
    "generator": "diverse_candidates",
    "prefix": "be_L",
    "file": "be_gpaw_levels.h5",
    "description": "Beryllium configurations (1-16 atoms)",
}

#: Settings of the campaign of larger cells (16-32 atoms, closer to production training sets).
LARGE_CAMPAIGN = {
    "n_structures": 110,
    "seed": 1,
    "n_atoms": (16, 32),
    "test_fraction": 0.18,
    "split_seed": 0,
    "levels": (1, 2, 3, 4),
    "test_levels": (5,),
    "engine_options": {"symmetry": {"point_group": False, "time_reversal": True}},
    "generator": "supercell_candidates",
    "prefix": "be32_L",
    "file": "be_gpaw_large.h5",
    "description": "Beryllium configurations (16-32 atoms)",
}

#: The campaigns by name (``--campaign``); "small" made the first shipped file.
CAMPAIGNS = {"small": CAMPAIGN, "large": LARGE_CAMPAIGN}

JOB_PREFIX = CAMPAIGN["prefix"]
_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "datasets", "data")
#: The shipped dataset (see the module docstring and :mod:`pyiron_appmlip.datasets.store`).
DATASET_FILE = os.path.join(_DATA, CAMPAIGN["file"])
#: The shipped dataset of larger cells (grows while its campaign runs; see ``export --partial``).
LARGE_DATASET_FILE = os.path.join(_DATA, LARGE_CAMPAIGN["file"])


def regenerate_command(campaign: str = "small") -> str:
    """The command line that makes the dataset file of ``campaign``."""
    extra = "" if campaign == "small" else f" --campaign {campaign}"
    return (
        f"python -m pyiron_appmlip.reproduction.be_dataset generate --project be_campaign{extra} --parts 2 "
        f"--out {CAMPAIGNS[campaign]['file']}"
    )


REGENERATE = regenerate_command("small")


def _campaign(name: str) -> dict:
    if name not in CAMPAIGNS:
        raise ValueError(f"campaign must be one of {sorted(CAMPAIGNS)}, got {name!r}")
    return CAMPAIGNS[name]


def _job_pattern(campaign: str):
    prefix = re.escape(_campaign(campaign)["prefix"])
    return re.compile(rf"^{prefix}(?P<level>\d+)_(?:(?P<subset>train|test)_p\d+|bulk)$")


def load_be_dataset(path: str | None = None, campaign: str = "small"):
    """The Be dataset as a :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.

    Level names are the paper's level numbers as strings ("1" .. "5"). ``metadata["bulk_id"]``
    names the ideal hcp cell (the bulk reference of bulk-shifted energy errors).

    Args:
        path: a dataset file; default the shipped file of ``campaign``.
        campaign: "small" (1-16 atoms) or "large" (16-32 atoms) when ``path`` is not given.
    """
    from ..datasets.store import load_dataset

    return load_dataset(os.path.join(_DATA, _campaign(campaign)["file"]) if path is None else path)


def campaign_structures(
    n_structures: int | None = None, seed: int | None = None, campaign: str = "small"
):
    """The campaign's candidate structures (seeded, so identical on every machine)."""
    from ..structures.candidates import diverse_candidates, supercell_candidates

    settings = _campaign(campaign)
    n = settings["n_structures"] if n_structures is None else n_structures
    seed = settings["seed"] if seed is None else seed
    if settings["generator"] == "supercell_candidates":
        return supercell_candidates(n, element="Be", seed=seed, n_atoms=settings["n_atoms"])
    return diverse_candidates(n, element="Be", seed=seed, max_atoms=settings["max_atoms"])


def bulk_reference():
    """The ideal hcp Be primitive cell (2 atoms): the bulk reference of the bulk-shifted errors."""
    from ..structures.candidates import BE_LATTICE, _bulk

    return _bulk("Be", "hcp", False, BE_LATTICE)


def campaign_split(
    ids, test_fraction: float | None = None, seed: int | None = None, campaign: str = "small"
):
    """``(train_ids, test_ids)`` of the campaign (hash-stable split by configuration id)."""
    from ..datasets.labels import split_by_configuration

    settings = _campaign(campaign)
    return split_by_configuration(
        ids,
        test_fraction=settings["test_fraction"] if test_fraction is None else test_fraction,
        seed=settings["split_seed"] if seed is None else seed,
    )


def estimated_seconds(atoms, level) -> float:
    """Rough GPAW run time of one single point on one core (for balancing processes only)."""
    from ..dft.levels import get_level, kmesh

    level = get_level(level)
    n = len(atoms)
    nk = int(np.prod(kmesh(atoms.get_cell(), level.kspacing)))
    work = max(nk / 2.0, 1.0) * n**2 * (level.encut / 300.0) ** 1.5
    return 1.0 + work * (0.016 if n <= 4 else 0.007)


def _parts(structures, ids, test_ids, n_parts, levels, test_levels):
    """Assign structures to ``n_parts`` processes, balancing the estimated total run time."""
    costs = []
    for atoms, cid in zip(structures, ids, strict=True):
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


def _label(pr, name: str, structures, level, engine_options=None):
    """Run (or continue) the campaign's labelling job ``name``.

    Each campaign process runs its calculations one after the other (``executor="serial"``):
    the processes themselves use the cores. Failed calculations are retried once. Finished jobs
    and finished calculations are reused.
    """
    if pr.get_job_id(name) is None:
        job = pr.create.job.AppmlipLabelling(name)
        job.structures = structures
        job.level = level
        job.input.engine_options = dict(
            CAMPAIGN["engine_options"] if engine_options is None else engine_options
        )
        job.input.executor = "serial"
        job.input.progress = False
        job.run()
    else:
        job = pr.load(name)
        if not job.status.finished:
            job.rerun_failed()
    if not job.status.finished:
        job = pr.load(name)
        job.rerun_failed()
    return job


def run_campaign(
    project_path: str,
    part: int = 0,
    n_parts: int = 1,
    n_structures: int | None = None,
    levels=None,
    test_levels=None,
    log=print,
    campaign: str = "small",
    resume_from: str | None = None,
):
    """Label this process's share of the campaign in the pyiron project at ``project_path``.

    Runs one :class:`AppmlipLabelling` job per subset and level (:func:`job_name`): the test
    subset at ``levels``, then the training pool at ``levels``, then the test subset at the
    dearer ``test_levels``, so that a campaign stopped early already has every level of the
    training pool.
    Finished jobs and finished calculations are reused; failed calculations are retried once.

    Args:
        project_path: the pyiron project folder.
        part: this process's share, 0..n_parts - 1.
        n_parts: number of processes the structures are split over (cost-balanced).
        n_structures: number of campaign structures (default: ``CAMPAIGN["n_structures"]``).
        levels: levels of all structures (default: ``CAMPAIGN["levels"]``).
        test_levels: further levels of the test subset (default: ``CAMPAIGN["test_levels"]``).
        log: function called with progress messages.
        campaign: a name of :data:`CAMPAIGNS`.
        resume_from: a dataset file written by :func:`export_campaign` (e.g. the committed
            partial export): configurations it labels at a level with the same parameters are
            not computed again, so a fresh machine continues where another one stopped.
    """
    from .. import Project
    from ..structures.conversion import configuration_id

    settings = _campaign(campaign)
    levels = tuple(settings["levels"] if levels is None else levels)
    test_levels = tuple(settings["test_levels"] if test_levels is None else test_levels)
    if not 0 <= part < n_parts:
        raise ValueError(f"part must be in 0..{n_parts - 1} for n_parts={n_parts}, got {part!r}")
    structures = campaign_structures(n_structures, campaign=campaign)
    ids = [configuration_id(a) for a in structures]
    test_ids = set(campaign_split(ids, campaign=campaign)[1])
    owner, load = _parts(structures, ids, test_ids, n_parts, levels, test_levels)
    mine = [(a, cid) for a, cid, k in zip(structures, ids, owner, strict=True) if k == part]
    mine_test = [a for a, cid in mine if cid in test_ids]
    mine_train = [a for a, cid in mine if cid not in test_ids]
    log(
        f"part {part}/{n_parts}: {len(mine)} structures ({len(mine_test)} test), "
        f"estimated {load[part] / 3600:.2f} core-hours"
    )
    done = _labelled_in(resume_from, levels + test_levels)
    pr = Project(project_path)
    plan = [("test", lv, mine_test) for lv in levels]
    plan += [("train", lv, mine_train) for lv in levels]
    plan += [("test", lv, mine_test) for lv in test_levels]
    for subset, level, todo in plan:
        name = job_name(subset, level, part, campaign)
        if pr.get_job_id(name) is None:
            known = done.get(str(level), set())
            todo = [a for a in todo if configuration_id(a) not in known]
        if not todo:
            continue
        t0 = time.time()
        job = _label(pr, name, todo, level, settings["engine_options"])
        log(
            f"part {part}: {name} {job.status} ({len(todo)} structures, {time.time() - t0:.0f} s)",
        )


def _labelled_in(path, levels) -> dict:
    """``{level name: configuration ids}`` labelled in the dataset file ``path`` (or nothing).

    Raises:
        ValueError: a level of the file has other parameters than the campaign's level.
    """
    if path is None:
        return {}
    from ..datasets.store import load_dataset
    from ..dft.levels import ConvergenceLevel, get_level

    dataset = load_dataset(path)
    out = {}
    for level in levels:
        name = str(level)
        if name not in dataset.levels:
            continue
        stored = ConvergenceLevel.from_dict(dataset.levels[name].level)
        if not stored.same_parameters(get_level(level)):
            raise ValueError(
                f"resume_from={path!r}: its level {name!r} has other parameters ({stored}) than "
                f"the campaign's level {get_level(level)}; it cannot be continued"
            )
        out[name] = set(dataset.levels[name].ids)
    return out


def run_bulk_reference(
    project_path: str,
    levels=None,
    log=print,
    campaign: str = "small",
    resume_from: str | None = None,
):
    """Label :func:`bulk_reference` at every campaign level (jobs ``<prefix><level>_bulk``)."""
    from .. import Project
    from ..structures.conversion import configuration_id

    settings = _campaign(campaign)
    levels = settings["levels"] + settings["test_levels"] if levels is None else tuple(levels)
    done = _labelled_in(resume_from, levels)
    bulk_id = configuration_id(bulk_reference())
    pr = Project(project_path)
    for level in levels:
        name = f"{settings['prefix']}{level}_bulk"
        if pr.get_job_id(name) is None and bulk_id in done.get(str(level), set()):
            continue
        job = _label(pr, name, [bulk_reference()], level, settings["engine_options"])
        log(f"{name} {job.status}")


def export_campaign(
    project_path: str,
    out: str,
    n_structures: int | None = None,
    partial: bool = False,
    log=print,
    campaign: str = "small",
    resume_from: str | None = None,
):
    """Collect the finished labels of the campaign's jobs in ``project_path`` into ``out``.

    Args:
        project_path: the pyiron project folder of the campaign.
        out: path of the HDF5 dataset file.
        n_structures: number of campaign structures (default: ``CAMPAIGN["n_structures"]``).
        partial: unfinished jobs are reported and left out, or with ``partial=True`` contribute
            the calculations they finished so far (a running campaign can be exported;
            ``generate`` reuses every finished calculation when it runs again).
        log: function called with progress messages.
        campaign: a name of :data:`CAMPAIGNS`.
        resume_from: the dataset file the campaign continued (see :func:`run_campaign`); its
            labels are kept and the jobs' labels added (:func:`~pyiron_appmlip.datasets.store.
            merge_datasets`). ``out`` may be the same file.

    Returns:
        The dataset.
    """
    import datetime

    from .. import Project
    from ..datasets.importers import file_sha256
    from ..datasets.store import (
        dataset_from_labelling_jobs,
        load_dataset,
        merge_datasets,
        write_dataset,
    )
    from ..structures.conversion import configuration_id

    settings = _campaign(campaign)
    pattern = _job_pattern(campaign)
    pr = Project(project_path)
    table = pr.job_table(recursive=False)
    jobs: dict[str, list] = {}
    for name in sorted(table["job"]):
        match = pattern.match(name)
        if match is None:
            continue
        job = pr.load(name)
        if not job.status.finished:
            if not partial:
                log(f"{name}: status {job.status}, left out (run generate again to finish it)")
                continue
            log(f"{name}: status {job.status}, its finished calculations are included")
        jobs.setdefault(match["level"], []).append(job)
    if not jobs and resume_from is None:
        raise ValueError(
            f"no finished campaign jobs ({settings['prefix']}<level>_...) in project "
            f"{project_path!r}"
        )
    structures = campaign_structures(n_structures, campaign=campaign)
    ids = [configuration_id(a) for a in structures]
    _, test_ids = campaign_split(ids, campaign=campaign)
    bulk = bulk_reference()
    bulk_id = configuration_id(bulk)
    generator = {i: str(a.info.get("generator", "")) for i, a in zip(ids, structures, strict=True)}
    generator[bulk_id] = "bulk_reference"
    base = None if resume_from is None else load_dataset(resume_from)
    if jobs:
        first = jobs[min(jobs, key=int)][0]
        pseudopotentials = sorted({r.pseudopotentials for r in first.get_records().values()})
    else:
        pseudopotentials = list(base.metadata.get("pseudopotentials", []))
    metadata = {
        "element": "Be",
        "campaign": {
            **{k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
            "n_structures": len(structures),
        },
        "bulk_id": bulk_id,
        "engine": "gpaw",
        "pseudopotentials": pseudopotentials,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "regenerate": regenerate_command(campaign),
        "jobs": {lv: [[j.job_name, int(j.job_id)] for j in js] for lv, js in jobs.items()},
    }
    if base is not None:
        metadata["continues"] = {
            "file": os.path.basename(resume_from),
            "sha256": file_sha256(resume_from),
            "jobs": base.metadata.get("jobs", {}),
            "continues": base.metadata.get("continues"),
        }
    dataset = dataset_from_labelling_jobs(
        jobs, test_ids=list(test_ids) + [bulk_id], generator=generator, metadata=metadata
    )
    if base is not None:
        dataset = merge_datasets(base, dataset, metadata=metadata)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    write_dataset(
        out,
        dataset,
        description=(
            f"{settings['description']} labelled with GPAW (PBE, plane waves, "
            "Methfessel-Paxton 0.2 eV) at the paper's convergence levels by pyiron_appmlip."
        ),
    )
    counts = ", ".join(f"level {k}: {len(v.ids)}" for k, v in sorted(dataset.levels.items()))
    log(f"wrote {out}: {len(dataset.ids)} configurations ({counts})")
    return dataset


def job_name(subset: str, level: int, part: int, campaign: str = "small") -> str:
    """Name of the campaign's labelling job for ``subset`` ("train"/"test"), level and part."""
    return f"{_campaign(campaign)['prefix']}{level}_{subset}_p{part}"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.reproduction.be_dataset",
        description=__doc__.split("\n\n")[0],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="label the campaign's structures with GPAW")
    gen.add_argument("--project", required=True, help="pyiron project folder")
    gen.add_argument("--parts", type=int, default=1, help="number of processes (one per core)")
    gen.add_argument("--part", type=int, default=None, help=argparse.SUPPRESS)
    gen.add_argument("--n-structures", type=int, default=None)
    gen.add_argument("--campaign", choices=sorted(CAMPAIGNS), default="small")
    gen.add_argument(
        "--resume-from",
        default=None,
        help="a dataset file of this campaign (e.g. the shipped partial export): its labels "
        "are not computed again",
    )
    gen.add_argument(
        "--out", default=None, help="write the dataset file when every part has finished"
    )
    exp = sub.add_parser("export", help="write the finished labels to one HDF5 file")
    exp.add_argument("--project", required=True, help="pyiron project folder of generate")
    exp.add_argument("--out", required=True, help="output HDF5 file")
    exp.add_argument("--n-structures", type=int, default=None)
    exp.add_argument("--campaign", choices=sorted(CAMPAIGNS), default="small")
    exp.add_argument(
        "--resume-from",
        default=None,
        help="the dataset file generate continued (kept and added to)",
    )
    exp.add_argument(
        "--partial",
        action="store_true",
        help="include the finished calculations of jobs that have not finished",
    )
    args = parser.parse_args(argv)
    if args.command == "export":
        export_campaign(
            args.project,
            args.out,
            args.n_structures,
            partial=args.partial,
            campaign=args.campaign,
            resume_from=args.resume_from,
        )
        return 0
    if args.command == "generate":
        if args.parts < 1:
            raise SystemExit(f"--parts must be a positive integer, got {args.parts}")
        if args.part is not None:
            run_campaign(
                args.project,
                args.part,
                args.parts,
                args.n_structures,
                campaign=args.campaign,
                resume_from=args.resume_from,
            )
            return 0
        from .. import Project

        Project(args.project)  # create the project (and database tables) before the processes
        procs = []
        for k in range(1, args.parts):
            cmd = [sys.executable, "-m", "pyiron_appmlip.reproduction.be_dataset", "generate"]
            cmd += ["--project", args.project, "--parts", str(args.parts), "--part", str(k)]
            cmd += ["--campaign", args.campaign]
            if args.resume_from is not None:
                cmd += ["--resume-from", args.resume_from]
            if args.n_structures is not None:
                cmd += ["--n-structures", str(args.n_structures)]
            procs.append(subprocess.Popen(cmd, env=dict(os.environ)))
        # the 2-atom bulk reference first: a partial export then has it at every level
        run_bulk_reference(args.project, campaign=args.campaign, resume_from=args.resume_from)
        run_campaign(
            args.project,
            0,
            args.parts,
            args.n_structures,
            campaign=args.campaign,
            resume_from=args.resume_from,
        )
        codes = [p.wait() for p in procs]
        if max(codes, default=0) != 0:
            return max(codes)
        if args.out is not None:
            export_campaign(
                args.project,
                args.out,
                args.n_structures,
                campaign=args.campaign,
                resume_from=args.resume_from,
            )
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
