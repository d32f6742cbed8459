"""Labelling one fixed set of small Be cells with 1 and with all local workers, side by side.

The same AppmlipLabelling job input is run twice in fresh pyiron projects: once with
``job.input.executor = 1`` (the calculations one after the other) and once with the default
(one worker per available core), optionally a third time on the local SLURM through executorlib
(``--slurm``, needs a running SLURM with a partition ``debug``). Prints the wall times, the
speed-up and the largest label difference between the runs on its last line.

    .venv/bin/python benchmarks/bench_labelling_workers.py [--n 12] [--level 2] [--slurm]
"""

import argparse
import os
import tempfile
import time

import numpy as np


def _run(pr, name, structures, level, executor):
    job = pr.create.job.AppmlipLabelling(name)
    job.structures = structures
    job.input.level = level
    job.input.progress = False
    job.input.executor = executor
    t0 = time.perf_counter()
    job.run()
    return time.perf_counter() - t0, job.get_labels(only_finished=False)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=12, help="number of cells (default %(default)s)")
    p.add_argument("--level", type=int, default=2)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--slurm", action="store_true", help="also run on the local SLURM")
    args = p.parse_args()
    root = tempfile.mkdtemp(prefix="bench-labelling-")
    os.environ.setdefault("PYIRONSQLFILE", os.path.join(root, "pyiron.db"))
    os.environ.setdefault("PYIRONPROJECTPATHS", root)
    os.environ.setdefault("PYIRONRESOURCEPATHS", os.path.join(root, "resources"))
    os.environ.setdefault("PYIRONPROJECTCHECKENABLED", "False")
    from pyiron_appmlip import Project
    from pyiron_appmlip.executors import available_cores
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    structures = list(rattled_strained_cells(args.n, seed=args.seed, max_atoms=4))
    runs = {"1 worker": 1, f"{available_cores()} workers": None}
    if args.slurm:
        runs["SLURM (executorlib)"] = {
            "kind": "slurm_cluster",
            "cache_directory": os.path.join(root, "executorlib_cache"),
            "resource_dict": {"cores": 1, "partition": "debug"},
        }
    times, labels = {}, {}
    for k, (name, executor) in enumerate(runs.items()):
        pr = Project(os.path.join(root, f"run{k}"))
        times[name], labels[name] = _run(pr, "labels", structures, args.level, executor)
        print(f"{name:>22}: {times[name]:7.1f} s")
    base = "1 worker"
    diff = 0.0
    for name in runs:
        if name == base:
            continue
        print(f"{name:>22}: speed-up {times[base] / times[name]:.2f}x over 1 worker")
        e0, e1 = np.asarray(labels[base]["energies"]), np.asarray(labels[name]["energies"])
        f0 = np.concatenate([np.ravel(f) for f in labels[base]["forces"]])
        f1 = np.concatenate([np.ravel(f) for f in labels[name]["forces"]])
        diff = max(diff, float(np.max(np.abs(e0 - e1))), float(np.max(np.abs(f0 - f1))))
    print(
        f"{args.n} cells, level {args.level}: speed-up "
        f"{times[base] / times[f'{available_cores()} workers']:.2f}x with all local workers; "
        f"largest label difference {diff:.3g} eV (eV/Angstrom)"
    )


if __name__ == "__main__":
    main()
