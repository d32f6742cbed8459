"""Benchmark: peak memory and time of the streamed statistics at 2Jmax = 10 size.

Synthetic qSNAP-like blocks (see ``bench_core_sweep.py``; p = 4277 at 2Jmax = 10) are generated
on the fly, one configuration at a time, and never stored. They are accumulated with labels at 6
levels into :class:`pyiron_appmlip.core.SufficientStatistics`; then one weighted fit per level
(one shared QR + SVD) and the training errors from the statistics. ``--leverage`` adds the
label-free leverage scores (a second generation pass). Peak RSS from ``resource.getrusage``.

Usage: python benchmarks/bench_core_memory.py [--configs 10000] [--atoms 50] [--twojmax 10]
       [--test-fraction 0.0] [--chunk-rows N] [--leverage]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_core_sweep import K_OF_TWOJMAX, LEVELS, SyntheticQSNAP  # noqa: E402

from pyiron_appmlip.core import (  # noqa: E402
    LeverageProjector,
    SufficientStatistics,
    fit_statistics_levels,
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
    ap.add_argument("--energy-weight", type=float, default=12.25)
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

    t0 = time.perf_counter()
    models = fit_statistics_levels(stats, args.energy_weight, 1.0)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    errs = {lv: statistics_errors(stats, m.coefficients, lv, "train") for lv, m in models.items()}
    t_err = time.perf_counter() - t0
    print(
        f"fit (all {len(LEVELS)} levels, one QR + SVD, rank {models[LEVELS[0]].rank}): "
        f"{t_fit:.1f} s; training errors: {t_err:.2f} s"
    )
    for lv, e in errs.items():
        line = f"  level {lv}: train E {e.energy_rmse:8.3f} meV/atom, F {e.force_rmse:8.2f} meV/A"
        if n_test:
            t = statistics_errors(stats, models[lv].coefficients, 6, "test")
            line += f"; test vs level 6: E {t.energy_rmse:8.3f}, F {t.force_rmse:8.2f}"
        print(line)

    if args.leverage:
        t0 = time.perf_counter()
        proj = LeverageProjector(stats, args.energy_weight, 1.0)
        regular, block = proj.scores(gen.configuration(i)[0] for i in range(n_train))
        print(
            f"leverage (second pass incl. generation): {time.perf_counter() - t0:.1f} s, "
            f"sum of block leverage {block.sum():.3f} = rank {proj.rank}"
        )
    print(f"peak RSS: {peak_rss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
