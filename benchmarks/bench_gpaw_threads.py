"""GPAW single points with one BLAS thread vs the process default, optionally on a busy machine.

Serial GPAW on small cells does little BLAS work per call; threaded OpenBLAS then mostly spins,
and when another process occupies a core (a second calculation, a descriptor run) it becomes
many times slower. ``run_gpaw`` therefore limits BLAS to one thread per calculation by default.

    .venv/bin/python benchmarks/bench_gpaw_threads.py            # idle machine
    .venv/bin/python benchmarks/bench_gpaw_threads.py --load     # a BLAS-heavy process beside it

Prints wall times and their ratio; asserts nothing. Run it without OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS set, otherwise both variants are single-threaded.
"""

import argparse
import multiprocessing as mp
import os
import time


def _spin(stop):
    """Another BLAS user (threaded OpenBLAS matrix products), like a sweep or a second job."""
    import numpy as np

    a = np.random.default_rng(0).random((800, 800))
    while not stop.is_set():
        a = a @ a
        a /= np.abs(a).max()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--level", type=int, default=3)
    p.add_argument("--load", action="store_true", help="run a BLAS-heavy process meanwhile")
    args = p.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if var in os.environ:
            print(
                f"note: {var}={os.environ[var]} is set; the default-threads variant is limited too"
            )

    from pyiron_appmlip.dft.engines.gpaw import run_gpaw
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    atoms = rattled_strained_cells(12, seed=0)[9]  # an 8-atom cell
    stop = mp.Event()
    load = mp.Process(target=_spin, args=(stop,)) if args.load else None
    if load is not None:
        load.start()
    try:
        times = {}
        for label, threads in (("blas_threads=1", 1), ("process default", None)):
            t = time.perf_counter()
            res = run_gpaw(atoms, args.level, blas_threads=threads)
            times[label] = time.perf_counter() - t
            print(f"{label:16s} {times[label]:8.1f} s  status {res.status}  E {res.energy:.6f} eV")
    finally:
        if load is not None:
            stop.set()
            load.join()
    print(
        f"{len(atoms)}-atom Be cell, level {args.level}, load={'on' if args.load else 'off'}: "
        f"default threads / one thread = {times['process default'] / times['blas_threads=1']:.1f}x"
    )


if __name__ == "__main__":
    main()
