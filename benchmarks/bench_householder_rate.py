"""Benchmark: the rate of the streamed R-factor update against a matrix product, on one core.

Every configuration added to a :class:`~pyiron_appmlip.core.SufficientStatistics` costs a
Householder update of its force rows into the (n, n) R factor (LAPACK ``dtpqrt``, 2 m n^2 flops
for m rows), which is most of a sweep's streamed time. This prints the update's rate for one
pass of ``--rows`` rows (1,000 configurations x 150 force rows by default) in chunks of several
sizes and LAPACK block sizes, beside the rate of a matrix product (``dgemm``, 2 m n^2 flops for
``A^T A``) on the same rows: how close the update is to what the machine's BLAS does.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_householder_rate.py [--n 503] [--rows 150000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.linalg import blas, lapack

from pyiron_appmlip.core._linalg import _block_size
from pyiron_appmlip.core.statistics import _default_chunk_rows


def update_pass(data: np.ndarray, chunk: int, nb: int) -> float:
    n = data.shape[1]
    r = np.zeros((n, n), order="F")
    t0 = time.perf_counter()
    for start in range(0, data.shape[0], chunk):
        b = np.asfortranarray(data[start : start + chunk])
        r = lapack.dtpqrt(0, nb, r, b, overwrite_a=1, overwrite_b=1)[0]
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=503, help="columns (503: 2Jmax 6 with 6 levels)")
    ap.add_argument("--rows", type=int, default=150_000)
    args = ap.parse_args()
    n, m = args.n, args.rows
    data = np.asfortranarray(np.random.default_rng(0).standard_normal((m, n)))
    flops = 2.0 * m * n * n
    print(f"n = {n}, {m} rows; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    sample = data[: min(m, 20_000)]
    t0 = time.perf_counter()
    blas.dgemm(1.0, sample, sample, trans_a=1)
    t = time.perf_counter() - t0
    gemm = 2.0 * sample.shape[0] * n * n / t / 1e9
    print(f"dgemm A^T A: {gemm:.1f} Gflop/s")
    default = (_default_chunk_rows(n), _block_size(n))
    best = 0.0
    for chunk in sorted({1000, 2000, 4000, 8000, default[0]}):
        for nb in sorted({16, 32, 64, default[1]}):
            t = update_pass(data, chunk, nb)
            rate = flops / t / 1e9
            best = max(best, rate)
            mark = "  (the package's default)" if (chunk, nb) == default else ""
            print(
                f"dtpqrt chunk {chunk:5d} rows, block {nb:3d}: {t:.2f} s, {rate:.1f} Gflop/s{mark}"
            )
    t = update_pass(data, *default)
    print(
        f"default update {flops / t / 1e9:.1f} Gflop/s = {flops / t / 1e9 / gemm:.0%} of dgemm; "
        f"best {best:.1f} Gflop/s"
    )


if __name__ == "__main__":
    main()
