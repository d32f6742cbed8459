"""One triangle per weight against one shared decomposition for all weights.

For one training set (its energy and force R factors with six label columns) and the paper's
six ratios w_E/w_F, times

- the shared :class:`~pyiron_appmlip.core.weight_basis.EnergyWeightBasis` (reference solve,
  SVD, simultaneous diagonalization, then every other weight from the basis),
- one triangle-on-triangle QR per weight and back substitution where the triangular inverse
  proves full rank (:func:`~pyiron_appmlip.core._linalg.proven_full_rank_solve`, what
  ``fit_statistics_weights(factorization="auto")`` does for up to ``TRIANGLE_MAX_WEIGHTS``),
- one triangle-on-triangle QR and truncated SVD (``gelsd``) per weight,

on random full-rank triangles with column scales spanning two decades. The last line gives the
per-weight cost of the triangles as a fraction of the basis and the largest relative
coefficient difference.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_weight_triangles.py --p 496 1596
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg

from pyiron_appmlip.core._linalg import proven_full_rank_solve, truncated_solve
from pyiron_appmlip.core.weight_basis import EnergyWeightBasis, stacked_r

RATIOS = (5.0, 10.0, 12.25, 50.0, 150.0, 300.0)
REFERENCE = 50.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", type=int, nargs="+", default=[496, 1596], help="descriptor columns")
    ap.add_argument("--rcond", type=float, default=1e-10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    line = ""
    for p in args.p:
        n = p + 1 + 6  # coefficients and six label columns
        scales = np.logspace(0, 2, n)
        energy = scipy.linalg.qr(rng.normal(size=(2 * n, n)) * scales, mode="r")[0][:n]
        force = scipy.linalg.qr(rng.normal(size=(4 * n, n)) * scales, mode="r")[0][:n]
        t = time.perf_counter()
        basis = EnergyWeightBasis(
            [energy],
            [force],
            p + 1,
            REFERENCE,
            rcond=args.rcond,
            triangular=True,
            complete="auto",
        )
        shared = {REFERENCE: basis.reference_coefficients}
        shared.update({w: basis.coefficients(w) for w in RATIOS if w != REFERENCE})
        t_basis = time.perf_counter() - t
        t = time.perf_counter()
        triangles, bounds = {}, []
        for w in RATIOS:
            r = stacked_r([w * energy, force], True)
            beta, bound = proven_full_rank_solve(
                r[: p + 1, : p + 1], r[: p + 1, p + 1 :], args.rcond
            )
            triangles[w] = beta
            bounds.append(bound)
        t_triangles = time.perf_counter() - t
        t = time.perf_counter()
        for w in RATIOS:
            r = stacked_r([w * energy, force], True)
            truncated_solve(r[: p + 1, : p + 1], r[: p + 1, p + 1 :], args.rcond)
        t_svd = time.perf_counter() - t
        diff = max(
            np.abs(shared[w] - triangles[w]).max() / np.abs(triangles[w]).max() for w in RATIOS
        )
        print(
            f"p = {p}: {len(RATIOS)} weights: shared basis {t_basis:.3f} s, one triangle per "
            f"weight {t_triangles:.3f} s, one triangle + truncated SVD per weight {t_svd:.3f} s; "
            f"smallest proven s_min/s_max bound {min(bounds):.1e}",
            flush=True,
        )
        line += (
            f"p = {p}: triangles / basis = {t_triangles / t_basis:.2f} "
            f"(break-even at ~{len(RATIOS) * t_basis / t_triangles:.0f} weights), "
            f"largest coefficient difference {diff:.1e}; "
        )
    print(line.rstrip("; "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
