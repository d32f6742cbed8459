"""Benchmark: peak memory and time of the streamed statistics at 2Jmax = 10 size.

Synthetic qSNAP-like blocks (see ``bench_core_sweep.py``; p = 4277 at 2Jmax = 10) are generated
on the fly, one configuration at a time, and never stored. They are accumulated with labels at 6
levels into :class:`pyiron_appmlip.core.SufficientStatistics`; then the fits of all 6 levels at
the paper's 6 weight ratios, once from one shared decomposition (``fit_statistics_weights``,
``--factorization``) and once with one QR + SVD per weight (``fit_statistics_levels``, the
method before), and the training errors from the statistics. ``--leverage`` adds the label-free
leverage scores of all 6 weights (a second generation pass). Peak RSS from
``resource.getrusage``. The last line: peak RSS, the time ratio per-weight / shared and the
largest training RMSE difference between the two.

Usage: python benchmarks/bench_core_memory.py [--configs 10000] [--atoms 50] [--twojmax 10]
       [--test-fraction 0.0] [--chunk-rows N] [--leverage] [--factorization auto|shared]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_core_sweep import (  # noqa: E402
    K_OF_TWOJMAX,
    LEVELS,
    RATIOS,
    SyntheticQSNAP,
)

from pyiron_appmlip.core import (  # noqa: E402
    SharedLeverageProjector,
    SufficientStatistics,
    fit_statistics_levels,
    fit_statistics_weights,
    statistics_errors,
)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def current_rss_gib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--configs", type=int, default=10000)
    ap.add_argument("--atoms", type=int, default=50)
    ap.add_argument("--twojmax", type=int, default=10, choices=sorted(K_OF_TWOJMAX))
    ap.add_argument("--test-fraction", type=float, default=0.0)
    ap.add_argument("--chunk-rows", type=int, default=None)
    ap.add_argument("--factorization", choices=("auto", "shared"), default="shared")
    ap.add_argument("--leverage", action="store_true", help="also compute leverage scores")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    gen = SyntheticQSNAP(args.twojmax, args.atoms, args.seed)
    p = gen.p
    n_test = int(round(args.test_fraction * args.configs))
    n_train = args.configs - n_test
    stats = SufficientStatistics(p, LEVELS, chunk_rows=args.chunk_rows)
    n = p + 1 + len(LEVELS)
    print(
        f"{args.configs} configurations x {args.atoms} atoms, 2Jmax={args.twojmax}, p={p}, "
        f"{len(LEVELS)} levels -> augmented columns n={n}; one (n, n) factor = "
        f"{8 * n * n / 2**30:.2f} GiB; force chunk {stats.chunk_rows} rows; "
        f"train {n_train}, test {n_test}",
        flush=True,
    )
    t_gen = t_add = 0.0
    t0 = time.perf_counter()
    step = max(1, args.configs // 10)
    for i in range(args.configs):
        t1 = time.perf_counter()
        block, labels = gen.configuration(i)
        t2 = time.perf_counter()
        stats.add(block, labels, "train" if i < n_train else "test", config_id=i)
        t_add += time.perf_counter() - t2
        t_gen += t2 - t1
        del block, labels
        if (i + 1) % step == 0:
            print(
                f"  {i + 1:6d} configurations: {time.perf_counter() - t0:7.1f} s, "
                f"RSS {current_rss_gib():.2f} GiB",
                flush=True,
            )
    t2 = time.perf_counter()
    stats.flush()
    t_add += time.perf_counter() - t2
    print(
        f"accumulation: {t_add:.1f} s (+ generation {t_gen:.1f} s), "
        f"{stats.n_force_components()} force rows, peak RSS so far {peak_rss_gib():.2f} GiB",
        flush=True,
    )

    weights = [(r, 1.0) for r in RATIOS]
    t0 = time.perf_counter()
    shared = fit_statistics_weights(stats, weights, factorization=args.factorization)
    t_shared = time.perf_counter() - t0
    print(
        f"fits of {len(weights)} weights x {len(LEVELS)} levels from one decomposition "
        f"({args.factorization}, rank {shared[weights[0]][LEVELS[0]].rank}): {t_shared:.1f} s, "
        f"peak RSS so far {peak_rss_gib():.2f} GiB",
        flush=True,
    )
    t0 = time.perf_counter()
    per_weight = {w: fit_statistics_levels(stats, *w) for w in weights}
    t_per_weight = time.perf_counter() - t0
    print(
        f"the same fits with one QR + SVD per weight: {t_per_weight:.1f} s "
        f"(ranks {[per_weight[w][LEVELS[0]].rank for w in weights]})",
        flush=True,
    )
    t0 = time.perf_counter()
    max_diff = 0.0
    for w in weights:
        for lv in LEVELS:
            a = statistics_errors(stats, shared[w][lv].coefficients, lv, "train")
            b = statistics_errors(stats, per_weight[w][lv].coefficients, lv, "train")
            max_diff = max(max_diff, abs(a.energy_rmse - b.energy_rmse))
            max_diff = max(max_diff, abs(a.force_rmse - b.force_rmse))
    t_err = time.perf_counter() - t0
    print(f"training errors of {2 * len(weights) * len(LEVELS)} fits: {t_err:.2f} s")
    for lv in LEVELS:
        e = statistics_errors(stats, shared[weights[2]][lv].coefficients, lv, "train")
        line = f"  level {lv} (w_E/w_F {weights[2][0]:g}): train E {e.energy_rmse:8.3f} meV/atom, "
        line += f"F {e.force_rmse:8.2f} meV/A"
        if n_test:
            t = statistics_errors(stats, shared[weights[2]][lv].coefficients, 6, "test")
            line += f"; test vs level 6: E {t.energy_rmse:8.3f}, F {t.force_rmse:8.2f}"
        print(line)

    if args.leverage:
        t0 = time.perf_counter()
        proj = SharedLeverageProjector(stats, weights, factorization=args.factorization)
        scores = proj.scores(gen.configuration(i)[0] for i in range(n_train))
        block = scores[weights[2]][1]
        print(
            f"leverage of {len(weights)} weights (one decomposition, second pass incl. "
            f"generation): {time.perf_counter() - t0:.1f} s, sum of block leverage "
            f"{block.sum():.3f} = rank {proj.rank}"
        )
    print(
        f"{args.configs} configurations: peak RSS {peak_rss_gib():.2f} GiB; fits per weight / "
        f"shared: {t_per_weight / t_shared:.1f}x ({t_per_weight:.1f} s / {t_shared:.1f} s); "
        f"largest training RMSE difference {max_diff:.2e} meV"
    )


if __name__ == "__main__":
    main()
