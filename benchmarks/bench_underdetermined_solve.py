"""Benchmark: the truncated solve of an underdetermined subset (fewer equations than
coefficients) on the whole streamed R factor against the same solve on its rows with signal.

An R factor of m < n equations has at most m non-zero rows in exact arithmetic;
``truncated_solve(..., n_equations=m)`` solves those m rows only. Random qSNAP-sized blocks
(column scales 0.1 ... 1e3), 50 atoms per configuration, w_E/w_F = 12.25. Prints both times,
the ranks and the largest relative coefficient difference.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_underdetermined_solve.py P CONFIGS
       (e.g. 4277 10: 2Jmax 10, ten 50-atom configurations = 1,510 equations)
"""

import argparse
import time

import numpy as np

from pyiron_appmlip.core import SufficientStatistics
from pyiron_appmlip.core._linalg import truncated_solve
from pyiron_appmlip.core.fit import stacked_r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("p", type=int, help="descriptor columns (1595 at 2Jmax 8, 4277 at 10)")
    ap.add_argument("configs", type=int, help="configurations of 50 atoms (151 equations each)")
    args = ap.parse_args()
    p, atoms = args.p, 50
    rng = np.random.default_rng(0)
    scales = np.geomspace(0.1, 1e3, p)
    stats = SufficientStatistics(p, [1])
    for _ in range(args.configs):
        block = rng.normal(size=(1 + 3 * atoms, p)) * scales
        stats.add(block, {1: (rng.normal(), rng.normal(size=(atoms, 3)))})
    group = stats._groups_for("train")[0]
    rf = stacked_r([12.25 * group.energy.used(), group.force.used()], triangular=True)
    m = group.energy.rows_seen + group.force.rows_seen
    r11, z = rf[: p + 1, : p + 1], rf[: p + 1, p + 1 :]
    t0 = time.perf_counter()
    full = truncated_solve(r11, z, 1e-10)
    t_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = truncated_solve(r11, z, 1e-10, n_equations=m)
    t_rows = time.perf_counter() - t0
    diff = np.max(np.abs(full[0] - rows[0])) / np.max(np.abs(full[0]))
    print(
        f"p={p}, {m} equations: whole triangle {t_full:.2f} s (rank {full[1]}), its {m} rows "
        f"with signal {t_rows:.2f} s (rank {rows[1]}); ratio {t_full / t_rows:.1f}x; largest "
        f"relative coefficient difference {diff:.1e}"
    )


if __name__ == "__main__":
    main()
